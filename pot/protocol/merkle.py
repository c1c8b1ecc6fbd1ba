"""Domain-separated binary Merkle trees over keccak256, with inclusion paths.

The protocol has two trees, each with its own three domain tags: the *dataset* tree (leaves are a
trainer's batch commitments, in dataset order) and the *trajectory* tree (leaves are
:func:`pot.protocol.commitments.trajectory_leaf` encodings, one per step). A tree over
``n >= 1`` leaves ``x_0 .. x_{n-1}`` is::

    level 0     h_i = keccak256(LEAF_TAG ‖ x_i)
    level j+1   pair the nodes of level j left to right:
                node = keccak256(NODE_TAG ‖ left ‖ right)
                an unpaired last node is promoted unchanged (never duplicated)
    top         the single node of the last level (h_0 when n == 1)
    root        keccak256(ROOT_TAG ‖ uint64_be(n) ‖ top)

Promoting the odd node, instead of pairing it with itself, avoids the ambiguity of
CVE-2012-2459, where ``[a, b, c]`` and ``[a, b, c, c]`` share a root. Binding ``n`` in the root
fixes the shape of the tree, so an inclusion path needs no direction bits: the side of each
sibling, and which levels have none, follow from the leaf index and ``n``. Distinct leaf and node
tags keep a leaf from posing as an inner node (second-preimage attack), and distinct tags per
tree keep a dataset root from being accepted as a trajectory root.

Source: docs/protocol.md, section "Merkle trees".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pot.protocol.domains import (
    DOMAIN_DATASET_LEAF,
    DOMAIN_DATASET_NODE,
    DOMAIN_DATASET_ROOT,
    DOMAIN_TRAJECTORY_LEAF,
    DOMAIN_TRAJECTORY_NODE,
    DOMAIN_TRAJECTORY_ROOT,
    tagged_hash,
)
from pot.protocol.encoding import (
    BYTES32_BYTES,
    UINT64_BYTES,
    UINT64_MAX,
    require_length,
    uint64_bytes,
)
from pot.protocol.errors import MerkleError

NODE_BYTES = BYTES32_BYTES
"""Width of a leaf hash, inner node, sibling in a path, and root."""
DATASET_LEAF_BYTES = BYTES32_BYTES
"""A dataset leaf is one batch commitment."""
TRAJECTORY_LEAF_BYTES = UINT64_BYTES + 2 * BYTES32_BYTES
"""A trajectory leaf is ``uint64_be(t) ‖ weights commitment ‖ batch commitment`` (72 bytes)."""


@dataclass(frozen=True)
class TreeDomain:
    """The tags and leaf width that make one kind of tree distinct from every other."""

    name: str
    leaf_tag: bytes
    node_tag: bytes
    root_tag: bytes
    leaf_bytes: int


DATASET_TREE = TreeDomain(
    "dataset", DOMAIN_DATASET_LEAF, DOMAIN_DATASET_NODE, DOMAIN_DATASET_ROOT, DATASET_LEAF_BYTES
)
"""The tree over a trainer's batch commitments; its root is the dataset commitment."""
TRAJECTORY_TREE = TreeDomain(
    "trajectory",
    DOMAIN_TRAJECTORY_LEAF,
    DOMAIN_TRAJECTORY_NODE,
    DOMAIN_TRAJECTORY_ROOT,
    TRAJECTORY_LEAF_BYTES,
)
"""The tree over the T+1 trajectory leaves of a round; its root is the trajectory commitment."""


def leaf_hash(tree: TreeDomain, leaf: bytes) -> bytes:
    """Return ``keccak256(tree.leaf_tag ‖ leaf)``.

    Raises
    ------
    EncodingError
        If ``leaf`` is not ``tree.leaf_bytes`` bytes.
    """
    require_length(leaf, tree.leaf_bytes, f"{tree.name} leaf")
    return tagged_hash(tree.leaf_tag, leaf)


def node_hash(tree: TreeDomain, left: bytes, right: bytes) -> bytes:
    """Return ``keccak256(tree.node_tag ‖ left ‖ right)`` for two 32-byte children."""
    return tagged_hash(tree.node_tag, left, right)


def _root_from_top(tree: TreeDomain, n_leaves: int, top: bytes) -> bytes:
    return tagged_hash(tree.root_tag, uint64_bytes(n_leaves, "leaf count"), top)


def _check_leaf_count(n_leaves: int, what: str) -> None:
    if isinstance(n_leaves, bool) or not isinstance(n_leaves, int):
        raise MerkleError(f"{what} leaf count must be an int")
    if n_leaves < 1:
        raise MerkleError(f"a {what} tree needs at least one leaf")
    if n_leaves > UINT64_MAX:
        raise MerkleError(f"a {what} tree has at most 2**64 - 1 leaves")


def _check_index(index: int, n_leaves: int, what: str) -> None:
    if isinstance(index, bool) or not isinstance(index, int):
        raise MerkleError(f"{what} leaf index must be an int")
    if not 0 <= index < n_leaves:
        raise MerkleError(f"{what} leaf index {index} is out of range for {n_leaves} leaves")


def _levels(tree: TreeDomain, leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Return every level of the tree, leaf hashes first, the single top node last."""
    _check_leaf_count(len(leaves), tree.name)
    level = [leaf_hash(tree, leaf) for leaf in leaves]
    levels = [level]
    while len(level) > 1:
        paired = [node_hash(tree, level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2 == 1:
            paired.append(level[-1])  # promote the unpaired last node unchanged
        level = paired
        levels.append(level)
    return levels


def merkle_root(tree: TreeDomain, leaves: Sequence[bytes]) -> bytes:
    """Return the root of the tree over ``leaves``.

    Parameters
    ----------
    tree
        :data:`DATASET_TREE` or :data:`TRAJECTORY_TREE`.
    leaves
        The ``n >= 1`` raw leaves, each ``tree.leaf_bytes`` bytes, in order.

    Returns
    -------
    bytes
        32 bytes: ``keccak256(ROOT_TAG ‖ uint64_be(n) ‖ top)``.

    Raises
    ------
    MerkleError
        If there are no leaves.
    EncodingError
        If a leaf has the wrong length.
    """
    levels = _levels(tree, leaves)
    return _root_from_top(tree, len(leaves), levels[-1][0])


def path_length(n_leaves: int, index: int) -> int:
    """Return how many siblings the inclusion path of leaf ``index`` among ``n_leaves`` has.

    It counts the levels at which the node on the way up is not the promoted unpaired last node:
    at most ``ceil(log2(n_leaves))``.

    Raises
    ------
    MerkleError
        If ``n_leaves < 1`` or ``index`` is not in ``[0, n_leaves)``.
    """
    _check_leaf_count(n_leaves, "Merkle")
    _check_index(index, n_leaves, "Merkle")
    count = 0
    position, width = index, n_leaves
    while width > 1:
        if position ^ 1 < width:
            count += 1
        position //= 2
        width = (width + 1) // 2
    return count


def merkle_path(tree: TreeDomain, leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Return the inclusion path of leaf ``index``: its siblings from the leaf level upward.

    A level at which the node on the way up is the promoted unpaired last node contributes no
    sibling, so the path has :func:`path_length` entries.

    Parameters
    ----------
    tree
        :data:`DATASET_TREE` or :data:`TRAJECTORY_TREE`.
    leaves
        The ``n >= 1`` raw leaves, as for :func:`merkle_root`.
    index
        The leaf, ``0 <= index < n``.

    Returns
    -------
    list of bytes
        The 32-byte siblings, bottom level first.

    Raises
    ------
    MerkleError
        If there are no leaves or ``index`` is out of range.
    EncodingError
        If a leaf has the wrong length.
    """
    _check_leaf_count(len(leaves), tree.name)
    _check_index(index, len(leaves), tree.name)
    path = []
    position = index
    for level in _levels(tree, leaves)[:-1]:
        if position ^ 1 < len(level):
            path.append(level[position ^ 1])
        position //= 2
    return path


def verify_path(
    tree: TreeDomain,
    root: bytes,
    leaf: bytes,
    index: int,
    n_leaves: int,
    path: Sequence[bytes],
) -> bool:
    """Return whether ``leaf`` is leaf ``index`` of a tree of ``n_leaves`` leaves with ``root``.

    Parameters
    ----------
    tree
        :data:`DATASET_TREE` or :data:`TRAJECTORY_TREE`.
    root
        The claimed 32-byte root.
    leaf
        The raw leaf, ``tree.leaf_bytes`` bytes.
    index
        Its position, ``0 <= index < n_leaves``.
    n_leaves
        The leaf count the root binds, ``>= 1``.
    path
        The siblings as returned by :func:`merkle_path`, each 32 bytes.

    Returns
    -------
    bool
        True if the recomputed root equals ``root``; False otherwise.

    Raises
    ------
    MerkleError
        If ``n_leaves`` or ``index`` is out of range, or ``path`` does not have
        ``path_length(n_leaves, index)`` entries: the path is ill-formed, not merely wrong.
    EncodingError
        If ``root``, ``leaf`` or a sibling has the wrong length.
    """
    require_length(root, NODE_BYTES, f"{tree.name} root")
    node = leaf_hash(tree, leaf)
    _check_leaf_count(n_leaves, tree.name)
    _check_index(index, n_leaves, tree.name)
    expected = path_length(n_leaves, index)
    if len(path) != expected:
        raise MerkleError(
            f"the path of {tree.name} leaf {index} of {n_leaves} must have {expected} "
            f"siblings, got {len(path)}"
        )
    siblings = iter(path)
    position, width = index, n_leaves
    while width > 1:
        if position ^ 1 < width:
            sibling = require_length(next(siblings), NODE_BYTES, f"{tree.name} path sibling")
            node = node_hash(tree, node, sibling) if position % 2 == 0 else node_hash(tree, sibling, node)
        position //= 2
        width = (width + 1) // 2
    return _root_from_top(tree, n_leaves, node) == root
