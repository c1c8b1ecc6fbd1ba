"""Merkle trees: hand-computed roots, inclusion paths that verify, and every tamper that fails."""

from __future__ import annotations

import pytest
from Crypto.Hash import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from pot.protocol.errors import EncodingError, MerkleError
from pot.protocol.merkle import (
    DATASET_TREE,
    TRAJECTORY_TREE,
    leaf_hash,
    merkle_path,
    merkle_root,
    node_hash,
    path_length,
    verify_path,
)

# The tags spelled out, not imported: a change to the module's table must fail these tests.
LEAF = b"pot/v1/dataset/leaf".ljust(32, b"\x00")
NODE = b"pot/v1/dataset/node".ljust(32, b"\x00")
ROOT = b"pot/v1/dataset/root".ljust(32, b"\x00")
A, B, C = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32


def k256(data: bytes) -> bytes:
    """keccak256 through pycryptodome directly, not through the module under test."""
    return keccak.new(digest_bits=256, data=data).digest()


def u64(n: int) -> bytes:
    return n.to_bytes(8, "big")


def test_three_leaf_root_promotes_the_odd_leaf_and_binds_the_count():
    top = k256(NODE + k256(NODE + k256(LEAF + A) + k256(LEAF + B)) + k256(LEAF + C))
    expected = k256(ROOT + u64(3) + top)
    assert merkle_root(DATASET_TREE, [A, B, C]) == expected
    assert expected.hex() == "8079b8d5159acf2896dfa186a4007baaf9fddd6d7b7c8a99fb214aa837dee874"


def test_three_leaf_paths_by_hand():
    assert merkle_path(DATASET_TREE, [A, B, C], 0) == [k256(LEAF + B), k256(LEAF + C)]
    assert merkle_path(DATASET_TREE, [A, B, C], 1) == [k256(LEAF + A), k256(LEAF + C)]
    promoted_sibling = k256(NODE + k256(LEAF + A) + k256(LEAF + B))
    assert merkle_path(DATASET_TREE, [A, B, C], 2) == [promoted_sibling]


def test_single_leaf_tree_has_an_empty_path():
    root = merkle_root(DATASET_TREE, [A])
    assert root == k256(ROOT + u64(1) + k256(LEAF + A))
    assert merkle_path(DATASET_TREE, [A], 0) == []
    assert verify_path(DATASET_TREE, root, A, 0, 1, [])


def test_duplicating_the_last_leaf_changes_the_root():
    # CVE-2012-2459: with duplicate-last pairing [a, b, c] and [a, b, c, c] share a root.
    assert merkle_root(DATASET_TREE, [A, B, C]) != merkle_root(DATASET_TREE, [A, B, C, C])


def test_inner_nodes_cannot_pose_as_leaves():
    level1 = [node_hash(DATASET_TREE, leaf_hash(DATASET_TREE, A), leaf_hash(DATASET_TREE, B))]
    level1.append(node_hash(DATASET_TREE, leaf_hash(DATASET_TREE, C), leaf_hash(DATASET_TREE, A)))
    assert merkle_root(DATASET_TREE, level1) != merkle_root(DATASET_TREE, [A, B, C, A])


def test_trees_are_domain_separated():
    assert leaf_hash(DATASET_TREE, A) != k256(b"pot/v1/trajectory/leaf".ljust(32, b"\x00") + A)
    assert node_hash(DATASET_TREE, A, B) != node_hash(TRAJECTORY_TREE, A, B)
    leaf = bytes(72)
    assert leaf_hash(TRAJECTORY_TREE, leaf) == k256(
        b"pot/v1/trajectory/leaf".ljust(32, b"\x00") + leaf
    )


@pytest.mark.parametrize(
    ("n_leaves", "lengths"),
    [
        (1, [0]),
        (2, [1, 1]),
        (3, [2, 2, 1]),
        (5, [3, 3, 3, 3, 1]),
        (6, [3, 3, 3, 3, 2, 2]),
        (7, [3, 3, 3, 3, 3, 3, 2]),
        (8, [3] * 8),
    ],
)
def test_path_length_skips_levels_where_the_node_is_promoted(n_leaves, lengths):
    assert [path_length(n_leaves, i) for i in range(n_leaves)] == lengths


distinct_leaves = st.lists(
    st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True
)


@given(distinct_leaves, st.data())
def test_every_path_verifies(leaves, data):
    index = data.draw(st.integers(0, len(leaves) - 1))
    root = merkle_root(DATASET_TREE, leaves)
    path = merkle_path(DATASET_TREE, leaves, index)
    assert len(path) == path_length(len(leaves), index)
    assert verify_path(DATASET_TREE, root, leaves[index], index, len(leaves), path)


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@given(distinct_leaves, st.data())
def test_any_bit_flip_fails(leaves, data):
    n = len(leaves)
    index = data.draw(st.integers(0, n - 1))
    root = merkle_root(DATASET_TREE, leaves)
    path = merkle_path(DATASET_TREE, leaves, index)
    bit = data.draw(st.integers(0, 255))
    assert not verify_path(DATASET_TREE, flip(root, bit), leaves[index], index, n, path)
    assert not verify_path(DATASET_TREE, root, flip(leaves[index], bit), index, n, path)
    if path:
        at = data.draw(st.integers(0, len(path) - 1))
        tampered = [*path[:at], flip(path[at], bit), *path[at + 1 :]]
        assert not verify_path(DATASET_TREE, root, leaves[index], index, n, tampered)


def accepts(root: bytes, leaf: bytes, index: int, n_leaves: int, path: list[bytes]) -> bool:
    """Whether verify_path accepts; a path of the wrong shape for the claim is rejected."""
    try:
        return verify_path(DATASET_TREE, root, leaf, index, n_leaves, path)
    except MerkleError:
        return False


@settings(max_examples=50)
@given(distinct_leaves.filter(lambda xs: len(xs) > 1), st.data())
def test_a_path_does_not_verify_at_another_index_or_leaf_count(leaves, data):
    n = len(leaves)
    index = data.draw(st.integers(0, n - 1))
    other = data.draw(st.integers(0, n - 1).filter(lambda j: j != index))
    root = merkle_root(DATASET_TREE, leaves)
    path = merkle_path(DATASET_TREE, leaves, index)
    for claim in [
        (other, n),
        (index, data.draw(st.integers(index + 1, 64).filter(lambda m: m != n))),
    ]:
        assert not accepts(root, leaves[index], *claim, path)


def test_trajectory_tree_checks_its_leaf_width():
    with pytest.raises(EncodingError) as info:
        merkle_root(TRAJECTORY_TREE, [bytes(32)])
    assert str(info.value) == "trajectory leaf must be 72 bytes, got 32"


def test_empty_tree_is_rejected():
    with pytest.raises(MerkleError) as info:
        merkle_root(DATASET_TREE, [])
    assert str(info.value) == "a dataset tree needs at least one leaf"
    with pytest.raises(MerkleError) as info:
        merkle_path(DATASET_TREE, [], 0)
    assert str(info.value) == "a dataset tree needs at least one leaf"


def test_path_index_out_of_range_is_rejected():
    with pytest.raises(MerkleError) as info:
        merkle_path(DATASET_TREE, [A, B, C], 3)
    assert str(info.value) == "dataset leaf index 3 is out of range for 3 leaves"


def test_verify_path_rejects_ill_formed_paths():
    root = merkle_root(DATASET_TREE, [A, B, C])
    path = merkle_path(DATASET_TREE, [A, B, C], 2)
    with pytest.raises(MerkleError) as info:
        verify_path(DATASET_TREE, root, C, 2, 3, [*path, path[0]])
    assert str(info.value) == "the path of dataset leaf 2 of 3 must have 1 siblings, got 2"
    with pytest.raises(MerkleError):
        verify_path(DATASET_TREE, root, C, 3, 3, path)
    with pytest.raises(MerkleError):
        verify_path(DATASET_TREE, root, C, 0, 0, [])
    with pytest.raises(EncodingError):
        verify_path(DATASET_TREE, root, C, 2, 3, [path[0][:31]])
    with pytest.raises(EncodingError):
        verify_path(DATASET_TREE, root[:31], C, 2, 3, path)
    with pytest.raises(EncodingError):
        verify_path(DATASET_TREE, root, C + b"\x00", 2, 3, path)
