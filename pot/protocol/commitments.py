"""Commitments to tensors, datasets and SGD trajectories, and the step-to-batch rule.

The ezkl step circuit commits to each weight tensor and each batch tensor with one KZG point, which
:func:`pot.tensors.tensor_digest` reduces to a BN254 scalar field element (a *tensor digest*).
This module turns those field elements into 32-byte keccak256 commitments, and the commitments into
the two Merkle roots of the protocol:

* ``weights_commitment(h) = keccak256(DOMAIN_WEIGHTS ‖ be32(h_0) ‖ ... ‖ be32(h_{n-1}))`` over the
  tensor digests of a model's weight tensors, in the model's parameter order;
* ``batch_commitment(h) = keccak256(DOMAIN_BATCH ‖ be32(h_0) ‖ ...)`` over those of one batch's
  tensors (inputs, then labels);
* the dataset commitment is the root of the dataset tree over a trainer's batch commitments;
* the trajectory commitment is the root of the trajectory tree over the T+1 leaves
  ``(t, commit(W_t), commit(batch_t))``; the last leaf, t = T, has no batch and carries
  :data:`NO_BATCH_COMMITMENT` (32 zero bytes).

Step t uses dataset batch ``t mod N`` (:func:`batch_index`).

Source: docs/protocol.md, sections "Tensor commitments", "Batch schedule" and "Trajectory".
"""

from __future__ import annotations

from collections.abc import Sequence

from pot.protocol.domains import DOMAIN_BATCH, DOMAIN_WEIGHTS, tagged_hash
from pot.protocol.encoding import (
    BYTES32_BYTES,
    UINT64_MAX,
    field_element_bytes,
    require_length,
    uint64_bytes,
)
from pot.protocol.errors import EncodingError, MerkleError
from pot.protocol.merkle import DATASET_TREE, TRAJECTORY_TREE, merkle_root

NO_BATCH_COMMITMENT = bytes(BYTES32_BYTES)
"""The batch commitment of the last trajectory leaf (t = T), which starts no step: 32 zero bytes."""


def _tensor_commitment(tag: bytes, hashes: Sequence[int], what: str) -> bytes:
    if len(hashes) == 0:
        raise EncodingError(f"a {what} commitment needs at least one tensor hash")
    encoded = [field_element_bytes(h, f"{what} tensor hash {i}") for i, h in enumerate(hashes)]
    return tagged_hash(tag, *encoded)


def weights_commitment(hashes: Sequence[int]) -> bytes:
    """Commit to a model's weights from the tensor digests of its tensors.

    Parameters
    ----------
    hashes
        One BN254 scalar field element per weight tensor, in the model's parameter order;
        at least one.

    Returns
    -------
    bytes
        32 bytes: ``keccak256(DOMAIN_WEIGHTS ‖ be32(hashes[0]) ‖ ... )``.

    Raises
    ------
    EncodingError
        If ``hashes`` is empty or an element is not an int in ``[0, r)``.
    """
    return _tensor_commitment(DOMAIN_WEIGHTS, hashes, "weights")


def batch_commitment(hashes: Sequence[int]) -> bytes:
    """Commit to one batch from the tensor digests of its tensors (inputs, then labels).

    Returns
    -------
    bytes
        32 bytes: ``keccak256(DOMAIN_BATCH ‖ be32(hashes[0]) ‖ ... )``.

    Raises
    ------
    EncodingError
        If ``hashes`` is empty or an element is not an int in ``[0, r)``.
    """
    return _tensor_commitment(DOMAIN_BATCH, hashes, "batch")


def batch_index(t: int, n_batches: int) -> int:
    """Return the dataset batch that step ``t`` trains on: ``t mod n_batches``.

    Parameters
    ----------
    t
        The step, ``0 <= t < 2**64``.
    n_batches
        N, the number of batches in the trainer's committed dataset, ``>= 1``.

    Raises
    ------
    MerkleError
        If ``n_batches < 1``.
    EncodingError
        If ``t`` is not an unsigned 64-bit integer.
    """
    uint64_bytes(t, "step index")
    if isinstance(n_batches, bool) or not isinstance(n_batches, int) or n_batches < 1:
        raise MerkleError("a dataset needs at least one batch")
    return t % n_batches


def scheduled_batch(round_number: int, steps: int, t: int, n_batches: int) -> int:
    """Return the batch step ``t`` of round ``round_number`` trains on: ``(round * T + t) mod N``.

    Counting steps across rounds walks a trainer through its whole committed dataset over the job
    instead of repeating the first ``T`` batches every round.

    Raises
    ------
    MerkleError, EncodingError
        As :func:`batch_index`.
    """
    return batch_index(round_number * steps + t, n_batches)


def trajectory_leaf(t: int, w_commit: bytes, b_commit: bytes) -> bytes:
    """Encode trajectory leaf t: ``uint64_be(t) ‖ w_commit ‖ b_commit`` (72 bytes).

    Parameters
    ----------
    t
        The step, ``0 <= t <= T``.
    w_commit
        :func:`weights_commitment` of W_t, the weights before step t (after step t - 1).
    b_commit
        :func:`batch_commitment` of the batch step t trains on, or :data:`NO_BATCH_COMMITMENT`
        for the last leaf (t = T).

    Raises
    ------
    EncodingError
        If ``t`` is not an unsigned 64-bit integer or a commitment is not 32 bytes.
    """
    return b"".join(
        (
            uint64_bytes(t, "step index"),
            require_length(w_commit, BYTES32_BYTES, "weights commitment"),
            require_length(b_commit, BYTES32_BYTES, "batch commitment"),
        )
    )


def trajectory_leaves(
    weight_commits: Sequence[bytes], step_batch_commits: Sequence[bytes]
) -> list[bytes]:
    """Return the T+1 leaves of a round's trajectory tree.

    Parameters
    ----------
    weight_commits
        T+1 weights commitments, of W_0 (the global model) through W_T.
    step_batch_commits
        T batch commitments; entry t is the batch step t trains on, the dataset's batch
        :func:`batch_index` ``(t, N)``.

    Returns
    -------
    list of bytes
        ``trajectory_leaf(t, weight_commits[t], step_batch_commits[t])`` for t < T, then
        ``trajectory_leaf(T, weight_commits[T], NO_BATCH_COMMITMENT)``.

    Raises
    ------
    MerkleError
        If the counts are not T+1 and T, or T + 1 exceeds 2**64 - 1.
    EncodingError
        If a commitment is not 32 bytes.
    """
    n_steps = len(step_batch_commits)
    if len(weight_commits) != n_steps + 1:
        raise MerkleError(
            f"a trajectory of {n_steps} steps needs {n_steps + 1} weights commitments, "
            f"got {len(weight_commits)}"
        )
    if n_steps + 1 > UINT64_MAX:
        raise MerkleError("a trajectory has at most 2**64 - 2 steps")
    batches = [*step_batch_commits, NO_BATCH_COMMITMENT]
    pairs = zip(weight_commits, batches, strict=True)
    return [trajectory_leaf(t, w, b) for t, (w, b) in enumerate(pairs)]


def trajectory_root(weight_commits: Sequence[bytes], step_batch_commits: Sequence[bytes]) -> bytes:
    """Return the trajectory commitment: the trajectory tree root over :func:`trajectory_leaves`.

    Raises
    ------
    MerkleError, EncodingError
        As :func:`trajectory_leaves`.
    """
    return merkle_root(TRAJECTORY_TREE, trajectory_leaves(weight_commits, step_batch_commits))


def dataset_root(batch_commits: Sequence[bytes]) -> bytes:
    """Return the dataset commitment: the dataset tree root over the batch commitments in order.

    Raises
    ------
    MerkleError
        If there are no batches.
    EncodingError
        If a commitment is not 32 bytes.
    """
    return merkle_root(DATASET_TREE, batch_commits)
