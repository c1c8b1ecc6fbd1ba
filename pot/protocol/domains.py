"""Domain tags: the one table of prefixes that separates every keccak256 hash of the protocol.

Every hash the protocol computes, except the draw words of the challenge (which hash an already
tagged seed) and the signing digest (a JSON object, whose first byte is ``{``), is
``keccak256(TAG ‖ payload)`` where ``TAG`` is one of the constants below. A tag is its ASCII name
right-padded with zero bytes to exactly :data:`DOMAIN_TAG_BYTES` bytes, so no tag is a prefix of
another and a hex dump shows which hash it is. The table is checked when the module loads.

Source: docs/protocol.md, section "Domain tags".
"""

from __future__ import annotations

from eth_hash.auto import keccak as _keccak

DOMAIN_TAG_BYTES = 32
"""Width of every domain tag, in bytes."""


def _tag(name: str) -> bytes:
    raw = name.encode("ascii")
    if not 0 < len(raw) <= DOMAIN_TAG_BYTES:
        raise AssertionError(f"domain tag name {name!r} must have 1 to {DOMAIN_TAG_BYTES} bytes")
    return raw.ljust(DOMAIN_TAG_BYTES, b"\x00")


DOMAIN_WEIGHTS = _tag("pot/v1/weights")
"""Prefix of :func:`pot.protocol.commitments.weights_commitment`."""
DOMAIN_BATCH = _tag("pot/v1/batch")
"""Prefix of :func:`pot.protocol.commitments.batch_commitment`."""
DOMAIN_TENSOR = _tag("pot/v1/tensor")
"""Prefix of :func:`pot.tensors.tensor_digest` (a tensor's KZG point to a field element)."""
DOMAIN_DATASET_LEAF = _tag("pot/v1/dataset/leaf")
"""Prefix of a leaf hash of the dataset tree."""
DOMAIN_DATASET_NODE = _tag("pot/v1/dataset/node")
"""Prefix of an inner node hash of the dataset tree."""
DOMAIN_DATASET_ROOT = _tag("pot/v1/dataset/root")
"""Prefix of the root of the dataset tree (binds the leaf count)."""
DOMAIN_TRAJECTORY_LEAF = _tag("pot/v1/trajectory/leaf")
"""Prefix of a leaf hash of the trajectory tree."""
DOMAIN_TRAJECTORY_NODE = _tag("pot/v1/trajectory/node")
"""Prefix of an inner node hash of the trajectory tree."""
DOMAIN_TRAJECTORY_ROOT = _tag("pot/v1/trajectory/root")
"""Prefix of the root of the trajectory tree (binds the leaf count)."""
DOMAIN_CHALLENGE_SEED = _tag("pot/v1/challenge/seed")
"""Prefix of the challenge seed."""

ALL_DOMAINS: dict[str, bytes] = {
    "DOMAIN_WEIGHTS": DOMAIN_WEIGHTS,
    "DOMAIN_BATCH": DOMAIN_BATCH,
    "DOMAIN_TENSOR": DOMAIN_TENSOR,
    "DOMAIN_DATASET_LEAF": DOMAIN_DATASET_LEAF,
    "DOMAIN_DATASET_NODE": DOMAIN_DATASET_NODE,
    "DOMAIN_DATASET_ROOT": DOMAIN_DATASET_ROOT,
    "DOMAIN_TRAJECTORY_LEAF": DOMAIN_TRAJECTORY_LEAF,
    "DOMAIN_TRAJECTORY_NODE": DOMAIN_TRAJECTORY_NODE,
    "DOMAIN_TRAJECTORY_ROOT": DOMAIN_TRAJECTORY_ROOT,
    "DOMAIN_CHALLENGE_SEED": DOMAIN_CHALLENGE_SEED,
}
"""Every tag by constant name, for documentation and test vectors."""
_TAGS = frozenset(ALL_DOMAINS.values())


def _check_table() -> None:
    if len(_TAGS) != len(ALL_DOMAINS):
        raise AssertionError("domain tags must be distinct")
    for name, tag in ALL_DOMAINS.items():
        if len(tag) != DOMAIN_TAG_BYTES:
            raise AssertionError(f"{name} must be {DOMAIN_TAG_BYTES} bytes")
        if tag[0] == ord("{"):
            raise AssertionError(f"{name} must not start like a JSON object")


_check_table()


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data`` (Ethereum's keccak256, not SHA3-256)."""
    return bytes(_keccak(data))


def tagged_hash(tag: bytes, *parts: bytes) -> bytes:
    """Return ``keccak256(tag ‖ parts[0] ‖ parts[1] ‖ ...)`` for a tag of :data:`ALL_DOMAINS`.

    Raises
    ------
    ValueError
        If ``tag`` is not one of the protocol's domain tags (a programming error).
    """
    if tag not in _TAGS:
        raise ValueError("tagged_hash needs one of the protocol's domain tags")
    return keccak256(b"".join((tag, *parts)))
