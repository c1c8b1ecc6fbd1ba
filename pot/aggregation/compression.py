"""Compressed updates: top-k sparsification with error feedback, int8 quantisation, wire format.

A trainer sends only the ``k`` largest coordinates of its update plus what it held back before
(Deep Gradient Compression: Lin et al. 2018, ICLR, "Deep Gradient Compression: Reducing the
Communication Bandwidth for Distributed Training"). The values it sends are int8 codes times one
integer step. What was not sent, including the quantisation error, stays in the trainer's residual
and is added to its next update (error feedback). DGC's momentum correction, local clipping and
warm-up are left to the trainer's optimiser. Everything here is integer and deterministic.

Wire format (version 1, big-endian)
-----------------------------------
======  ===========  ========================================================================
offset  size         field
======  ===========  ========================================================================
0       1            version, ``SPARSE_VERSION`` = 1
1       4            dim, uint32: the model's number of coordinates
5       4            count, uint32: number of entries, at most the job's ``k``
9       4            step, uint32: ``1 <= step <= MAX_STEP`` (fixed-point units per code unit)
13      4 * count    indices, uint32 each, strictly increasing, each ``< dim``
13+4c   count        codes, int8 each, in ``[-127, -1]`` or ``[1, 127]``
======  ===========  ========================================================================

The message is exactly ``13 + 5 * count`` bytes and means ``x[indices[e]] = codes[e] * step``,
zero elsewhere. Increasing indices and nonzero codes make the encoding of a sparse vector unique for
its step. Its commitment is ``keccak256`` of the bytes (:func:`sparse_commitment`).
"""

from __future__ import annotations

import struct

import numpy as np
from eth_hash.auto import keccak
from numpy.typing import NDArray

from pot.aggregation.errors import AggregationError, MalformedUpdateError
from pot.aggregation.fixedpoint import MAX_ABS_VALUE, div_round_half_even, peak_abs
from pot.aggregation.updates import INT8_CODE_MAX, MAX_STEP, SparseUpdate

SPARSE_VERSION = 1
"""Version byte of the wire format."""
HEADER_FORMAT = ">BIII"
"""version u8, dim u32, count u32, step u32."""
HEADER_BYTES = struct.calcsize(HEADER_FORMAT)
"""Size of the header (bytes)."""
INDEX_BYTES = 4
"""Size of one index (bytes)."""
CODE_BYTES = 1
"""Size of one code (bytes)."""
ENTRY_BYTES = INDEX_BYTES + CODE_BYTES
"""Size of one entry (bytes)."""

if HEADER_BYTES != 13:
    raise AssertionError(f"sparse header must be 13 bytes, struct gives {HEADER_BYTES}")


def quantise_int8(values: NDArray[np.int64]) -> tuple[NDArray[np.int8], int]:
    """Quantise fixed-point values to int8 codes with one integer step.

    Parameters
    ----------
    values
        Shape ``(c,)``, ``int64``, ``|values| <= INT8_CODE_MAX * MAX_STEP``.

    Returns
    -------
    tuple[NDArray[np.int8], int]
        ``codes = round(values / step)`` (half to even), shape ``(c,)``, in ``[-127, 127]``, and
        ``step = max(1, ceil(max|values| / 127))``. Each value is off by at most ``step / 2``.

    Raises
    ------
    AggregationError
        If a value is too large for any step up to ``MAX_STEP``.
    """
    peak = peak_abs(values)
    if peak > INT8_CODE_MAX * MAX_STEP:
        raise AggregationError(
            f"cannot quantise: |value| {peak} exceeds {INT8_CODE_MAX} * MAX_STEP = "
            f"{INT8_CODE_MAX * MAX_STEP}"
        )
    step = max(1, -(-peak // INT8_CODE_MAX))
    return div_round_half_even(values, step).astype(np.int8), step


def top_k_indices(values: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    """Indices of the ``k`` nonzero values of largest magnitude, ties to the lower index.

    Parameters
    ----------
    values
        Shape ``(d,)``, ``int64``, ``|values| < 2**62``.
    k
        How many to keep, ``k >= 1``.

    Returns
    -------
    NDArray[np.int64]
        Increasing indices; fewer than ``k`` when fewer than ``k`` values are nonzero.
    """
    magnitude = np.abs(values)
    nonzero = np.flatnonzero(magnitude)
    if nonzero.size <= k:
        return nonzero.astype(np.int64)
    d = magnitude.size
    threshold = np.partition(magnitude, d - k)[d - k]  # the k-th largest magnitude, > 0
    above = np.flatnonzero(magnitude > threshold)
    tied = np.flatnonzero(magnitude == threshold)[: k - above.size]
    return np.sort(np.concatenate([above, tied])).astype(np.int64)


def topk_compress(
    update: NDArray[np.int64], residual: NDArray[np.int64], k: int
) -> tuple[SparseUpdate, NDArray[np.int64]]:
    """Top-k sparsification with error feedback (trainer side).

    Parameters
    ----------
    update
        This round's update, shape ``(d,)``, ``int64`` (fixed-point units).
    residual
        What earlier rounds held back, shape ``(d,)`` (zeros in the first round).
    k
        Most entries to send, ``1 <= k <= d``.

    Returns
    -------
    tuple[SparseUpdate, NDArray[np.int64]]
        The sparse update to send: the ``k`` largest coordinates of ``update + residual``,
        quantised by :func:`quantise_int8`, without the entries whose code is 0. And the new
        residual, ``update + residual - sent``, shape ``(d,)``, to keep for the next round.

    Raises
    ------
    AggregationError
        If shapes or ``k`` are wrong, or ``update + residual`` leaves ``MAX_ABS_VALUE``.
    """
    if update.dtype != np.int64 or residual.dtype != np.int64 or update.ndim != 1:
        raise AggregationError("topk_compress needs int64 update and residual of one shape (d,)")
    if residual.shape != update.shape:
        raise AggregationError("topk_compress needs int64 update and residual of one shape (d,)")
    dim = update.shape[0]
    if not 1 <= k <= dim:
        raise AggregationError(f"top-k needs 1 <= k <= d (k={k}, d={dim})")
    accumulated = update + residual
    if peak_abs(accumulated) > MAX_ABS_VALUE:
        raise AggregationError(
            f"update + residual has a coordinate beyond MAX_ABS_VALUE={MAX_ABS_VALUE}"
        )
    indices = top_k_indices(accumulated, k)
    codes, step = quantise_int8(accumulated[indices])
    kept = codes != 0
    sent = SparseUpdate(dim=dim, indices=indices[kept], codes=codes[kept], step=step)
    new_residual = accumulated
    new_residual[sent.indices] -= sent.values
    return sent, new_residual


def encode_sparse(update: SparseUpdate) -> bytes:
    """Serialise a sparse update in the wire format (see the module docstring).

    Parameters
    ----------
    update
        A valid :class:`SparseUpdate` (validated when it was built).

    Returns
    -------
    bytes
        ``13 + 5 * count`` bytes.
    """
    header = struct.pack(
        HEADER_FORMAT, SPARSE_VERSION, update.dim, update.indices.size, update.step
    )
    return header + update.indices.astype(">u4").tobytes() + update.codes.tobytes()


def decode_sparse(data: bytes, dim: int, k: int) -> SparseUpdate:
    """Parse and check a sparse update from the wire.

    Parameters
    ----------
    data
        The message.
    dim
        The job's model dimension.
    k
        The job's declared ``k``, ``1 <= k <= dim``.

    Returns
    -------
    SparseUpdate
        The update, ready for any aggregation rule.

    Raises
    ------
    AggregationError
        If ``dim`` or ``k`` are out of range (a caller's error, not the message's).
    MalformedUpdateError
        With one message per rule, checked in this order: too short for the header, unknown
        version, wrong dimension, too many entries for ``k``, wrong length for the count, step out
        of range, then per entry: index out of range, duplicate index, decreasing index, bad code.
    """
    if not 1 <= k <= dim:
        raise AggregationError(f"decode_sparse needs 1 <= k <= dim (k={k}, dim={dim})")
    if len(data) < HEADER_BYTES:
        raise MalformedUpdateError(
            f"sparse update too short: {len(data)} bytes, the header alone is {HEADER_BYTES}"
        )
    version, declared_dim, count, step = struct.unpack_from(HEADER_FORMAT, data, 0)
    if version != SPARSE_VERSION:
        raise MalformedUpdateError(
            f"unknown sparse format version {version}, expected {SPARSE_VERSION}"
        )
    if declared_dim != dim:
        raise MalformedUpdateError(
            f"wrong dimension: header says {declared_dim}, the job has {dim}"
        )
    if count > k:
        raise MalformedUpdateError(f"too many entries: count {count} exceeds k={k}")
    expected = HEADER_BYTES + ENTRY_BYTES * count
    if len(data) != expected:
        raise MalformedUpdateError(
            f"wrong length: {len(data)} bytes, count {count} needs {expected}"
        )
    indices = np.frombuffer(data, dtype=">u4", count=count, offset=HEADER_BYTES)
    codes = np.frombuffer(
        data, dtype=np.int8, count=count, offset=HEADER_BYTES + INDEX_BYTES * count
    )
    return SparseUpdate(dim=dim, indices=indices.astype(np.int64), codes=codes.copy(), step=step)


def sparse_commitment(data: bytes) -> bytes:
    """The commitment to a sparse update's wire bytes: ``keccak256(data)``, 32 bytes."""
    return bytes(keccak(data))
