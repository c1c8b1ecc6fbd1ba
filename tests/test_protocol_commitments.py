"""Tensor, dataset and trajectory commitments, and the step-to-batch rule."""

from __future__ import annotations

import pytest
from Crypto.Hash import keccak
from hypothesis import given
from hypothesis import strategies as st

from pot.protocol.commitments import (
    NO_BATCH_COMMITMENT,
    batch_commitment,
    batch_index,
    dataset_root,
    trajectory_leaf,
    trajectory_leaves,
    trajectory_root,
    weights_commitment,
)
from pot.protocol.errors import EncodingError, MerkleError
from pot.protocol.merkle import DATASET_TREE, TRAJECTORY_TREE, merkle_root

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
WEIGHTS = b"pot/v1/weights".ljust(32, b"\x00")
BATCH = b"pot/v1/batch".ljust(32, b"\x00")


def k256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def be32(x: int) -> bytes:
    return x.to_bytes(32, "big")


def test_weights_commitment_by_hand():
    expected = k256(WEIGHTS + be32(1) + be32(2))
    assert weights_commitment([1, 2]) == expected
    assert expected.hex() == "733752566be070aea0174889ebfa595f003a51c04698f72854ae594a4a6db202"


def test_batch_commitment_by_hand_and_distinct_from_weights():
    assert batch_commitment([1, 2]) == k256(BATCH + be32(1) + be32(2))
    assert batch_commitment([1, 2]) != weights_commitment([1, 2])


def test_largest_field_element_is_accepted():
    assert weights_commitment([R - 1]) == k256(WEIGHTS + be32(R - 1))


@given(st.lists(st.integers(0, R - 1), min_size=2, max_size=6, unique=True))
def test_tensor_order_matters(hashes):
    assert weights_commitment(hashes) != weights_commitment(hashes[::-1])


@pytest.mark.parametrize(
    ("hashes", "message"),
    [
        ([], "a weights commitment needs at least one tensor hash"),
        ([1, R], "weights tensor hash 1 must satisfy 0 <= x < r (the BN254 scalar order)"),
        ([-1], "weights tensor hash 0 must satisfy 0 <= x < r (the BN254 scalar order)"),
        ([True], "weights tensor hash 0 must be an int, got bool"),
        (["0x1"], "weights tensor hash 0 must be an int, got str"),
    ],
)
def test_weights_commitment_rejects_non_canonical_hashes(hashes, message):
    with pytest.raises(EncodingError) as info:
        weights_commitment(hashes)
    assert str(info.value) == message


def test_batch_index_cycles_through_the_dataset():
    assert [batch_index(t, 3) for t in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert batch_index(2**64 - 1, 10) == 5
    with pytest.raises(MerkleError) as info:
        batch_index(0, 0)
    assert str(info.value) == "a dataset needs at least one batch"
    with pytest.raises(EncodingError):
        batch_index(-1, 3)


def test_trajectory_leaf_layout():
    w, b = b"\xaa" * 32, b"\xbb" * 32
    assert trajectory_leaf(258, w, b) == b"\x00" * 6 + b"\x01\x02" + w + b
    assert trajectory_leaf(2**64 - 1, w, b)[:8] == b"\xff" * 8
    with pytest.raises(EncodingError):
        trajectory_leaf(2**64, w, b)
    with pytest.raises(EncodingError) as info:
        trajectory_leaf(0, w, b[:31])
    assert str(info.value) == "batch commitment must be 32 bytes, got 31"


def test_trajectory_leaves_end_with_a_leaf_without_batch():
    ws = [bytes([i]) * 32 for i in range(1, 4)]
    bs = [b"\xb0" * 32, b"\xb1" * 32]
    leaves = trajectory_leaves(ws, bs)
    assert leaves == [
        trajectory_leaf(0, ws[0], bs[0]),
        trajectory_leaf(1, ws[1], bs[1]),
        trajectory_leaf(2, ws[2], NO_BATCH_COMMITMENT),
    ]
    assert leaves[-1][-32:] == bytes(32)
    assert trajectory_root(ws, bs) == merkle_root(TRAJECTORY_TREE, leaves)


def test_trajectory_of_no_steps_is_one_leaf():
    assert trajectory_leaves([b"\x01" * 32], []) == [
        trajectory_leaf(0, b"\x01" * 32, NO_BATCH_COMMITMENT)
    ]


def test_trajectory_needs_one_more_weights_than_batches():
    with pytest.raises(MerkleError) as info:
        trajectory_leaves([bytes(32)] * 2, [bytes(32)] * 2)
    assert str(info.value) == "a trajectory of 2 steps needs 3 weights commitments, got 2"


def test_dataset_root_is_the_dataset_tree_root():
    batches = [batch_commitment([i]) for i in range(5)]
    assert dataset_root(batches) == merkle_root(DATASET_TREE, batches)
    with pytest.raises(MerkleError):
        dataset_root([])
