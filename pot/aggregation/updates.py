"""The values that aggregation consumes: trainer updates, dense or sparse, and their evidence.

An :class:`Update` pairs a trainer id (``bytes``: a 48-byte BLS public key, a 32-byte id) with its
vector of fixed-point values and its *verified* sample count, the weight FedAvg uses. The vector is
either a dense 1-D ``int64`` array or a :class:`SparseUpdate` straight off the wire (see
:mod:`pot.aggregation.compression`); every rule accepts both, so compressed updates never need to be
expanded by the caller.

:func:`canonical` validates a round's updates and sorts them by trainer id (lexicographic bytes).
Every rule starts with it, so inputs may arrive in any order, and every tie between trainers is
broken by that order. :func:`make_evidence` builds the JSON-serialisable record each rule returns
beside its aggregate.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NoReturn, TypedDict

import numpy as np
from numpy.typing import NDArray

from pot.aggregation.errors import AggregationError, MalformedUpdateError
from pot.aggregation.fixedpoint import (
    MAX_ABS_VALUE,
    MAX_DIM,
    MAX_TOTAL_SAMPLES,
    commit_vector,
    peak_abs,
)
from pot.aggregation.params import RULE_NAMES, RULE_SCORES

INT8_CODE_MAX = 127
"""Largest magnitude of an int8 code; -128 is excluded so the code range is symmetric."""
MAX_STEP = MAX_ABS_VALUE // INT8_CODE_MAX
"""Largest int8 quantisation step (fixed-point units per code unit), so ``|code * step|`` is at
most ``MAX_ABS_VALUE``."""


@dataclass(frozen=True, eq=False)
class SparseUpdate:
    """A sparse update with int8-quantised values: ``x[indices[e]] = codes[e] * step``.

    Attributes
    ----------
    dim
        Length of the dense vector it stands for, ``1 <= dim <= MAX_DIM``.
    indices
        Shape ``(count,)``, ``int64``, strictly increasing, each in ``[0, dim)``.
    codes
        Shape ``(count,)``, ``int8``, each in ``[-127, -1]`` or ``[1, 127]``: a zero code carries
        nothing and is not stored, so one sparse vector has one encoding.
    step
        Quantisation step, ``1 <= step <= MAX_STEP`` (fixed-point units per code unit).

    Raises
    ------
    MalformedUpdateError
        On construction, if any of the rules above is broken; the message names the first
        offending entry.
    """

    dim: int
    indices: NDArray[np.int64]
    codes: NDArray[np.int8]
    step: int

    def __post_init__(self) -> None:
        check_sparse(self.dim, self.indices, self.codes, self.step)

    @property
    def values(self) -> NDArray[np.int64]:
        """The fixed-point values at ``indices``: ``codes * step``, shape ``(count,)``."""
        return self.codes.astype(np.int64) * np.int64(self.step)

    def to_dense(self) -> NDArray[np.int64]:
        """The dense vector, shape ``(dim,)``, ``int64``, zero outside ``indices``."""
        dense = np.zeros(self.dim, dtype=np.int64)
        dense[self.indices] = self.values
        return dense


def check_sparse(dim: int, indices: NDArray[np.int64], codes: NDArray[np.int8], step: int) -> None:
    """Check the rules of :class:`SparseUpdate`.

    Raises
    ------
    MalformedUpdateError
        With one message per rule: dimension, step, dtypes, lengths, then the first entry that has
        an out-of-range index, a duplicate index, a decreasing index, or a bad code.
    """
    if not 1 <= dim <= MAX_DIM:
        raise MalformedUpdateError(f"sparse update dim must be in [1, {MAX_DIM}], got {dim}")
    if not 1 <= step <= MAX_STEP:
        raise MalformedUpdateError(f"sparse update step must be in [1, {MAX_STEP}], got {step}")
    if indices.dtype != np.int64 or codes.dtype != np.int8:
        raise MalformedUpdateError(
            f"sparse update needs int64 indices and int8 codes, got {indices.dtype} and "
            f"{codes.dtype}"
        )
    if indices.ndim != 1 or codes.ndim != 1 or indices.shape != codes.shape:
        raise MalformedUpdateError(f"wrong length: {indices.shape} indices for {codes.shape} codes")
    if indices.size == 0:
        return
    previous = np.concatenate([np.array([-1], dtype=np.int64), indices[:-1]])
    faults = (
        ((indices < 0) | (indices >= dim), "index out of range: {value} not in [0, {dim})"),
        (indices == previous, "duplicate index {value}"),
        (indices < previous, "indices not strictly increasing: {value} after {prev}"),
        ((codes == 0) | (codes == -128), "code {code} not in [-127, -1] or [1, 127]"),
    )
    firsts = [(int(np.argmax(mask)), order) for order, (mask, _) in enumerate(faults) if mask.any()]
    if firsts:
        position, order = min(firsts)  # the earliest entry; at one entry, the earliest rule
        message = faults[order][1].format(
            value=int(indices[position]),
            dim=dim,
            prev=int(previous[position]),
            code=int(codes[position]),
        )
        raise MalformedUpdateError(f"sparse entry {position}: {message}")


Vector = NDArray[np.int64] | SparseUpdate
"""An update's values: a dense ``int64`` vector or a :class:`SparseUpdate`."""


@dataclass(frozen=True, eq=False)
class Update:
    """One trainer's contribution to a round.

    Attributes
    ----------
    trainer_id
        Non-empty bytes; trainers are ordered, and ties broken, by these bytes.
    vector
        Dense shape ``(d,)`` ``int64`` with ``|x_j| <= MAX_ABS_VALUE``, or a :class:`SparseUpdate`.
    samples
        The *verified* number of samples behind the update (a positive int), never a
        self-reported one. It is FedAvg's weight.
    """

    trainer_id: bytes
    vector: Vector
    samples: int


def dimension(vector: Vector) -> int:
    """Number of coordinates of a dense or sparse vector."""
    return vector.dim if isinstance(vector, SparseUpdate) else int(vector.shape[0])


def dense(vector: Vector) -> NDArray[np.int64]:
    """A dense ``int64`` view or copy of ``vector``, shape ``(d,)``."""
    return vector.to_dense() if isinstance(vector, SparseUpdate) else vector


def canonical(
    updates: Sequence[Update], *, check_values: bool = True
) -> tuple[tuple[Update, ...], int]:
    """Validate a round's updates and sort them by trainer id.

    Parameters
    ----------
    updates
        The round's updates, in any order.
    check_values
        Check every dense coordinate against ``MAX_ABS_VALUE`` (two passes over the data). A rule
        that fuses this check into its own pass, as FedAvg does, sets it to False and calls
        :func:`raise_out_of_range` when its check fails.

    Returns
    -------
    tuple[tuple[Update, ...], int]
        The updates sorted by ``trainer_id`` (lexicographic bytes) and their common dimension.

    Raises
    ------
    AggregationError
        If there is no update; a trainer id is not non-empty bytes or repeats; a sample count is not
        a positive int or their sum exceeds ``MAX_TOTAL_SAMPLES``; a dense vector is not 1-D
        ``int64`` or has a coordinate beyond ``MAX_ABS_VALUE``; or dimensions differ or exceed
        ``MAX_DIM``.
    """
    if not updates:
        raise AggregationError("aggregation needs at least one update")
    ordered = tuple(sorted(updates, key=lambda u: _checked_id(u.trainer_id)))
    for before, after in itertools.pairwise(ordered):
        if before.trainer_id == after.trainer_id:
            raise AggregationError(f"trainer id {after.trainer_id.hex()} appears twice")
    total = 0
    for u in ordered:
        if type(u.samples) is not int or u.samples < 1:
            raise AggregationError(
                f"verified samples must be a positive int, got {u.samples!r} for trainer "
                f"{u.trainer_id.hex()}"
            )
        total += u.samples
        _check_shape(u)
    if total > MAX_TOTAL_SAMPLES:
        raise AggregationError(
            f"total verified samples {total} exceeds MAX_TOTAL_SAMPLES={MAX_TOTAL_SAMPLES}"
        )
    dims = {dimension(u.vector) for u in ordered}
    if len(dims) != 1:
        raise AggregationError(f"updates must share one dimension, got {sorted(dims)}")
    dim = dims.pop()
    if not 1 <= dim <= MAX_DIM:
        raise AggregationError(f"update dimension must be in [1, {MAX_DIM}], got {dim}")
    if check_values:
        check_values_in_range(ordered)
    return ordered, dim


def check_values_in_range(ordered: Sequence[Update]) -> None:
    """Raise :class:`AggregationError` naming the first dense update beyond ``MAX_ABS_VALUE``."""
    for u in ordered:
        if not isinstance(u.vector, SparseUpdate) and peak_abs(u.vector) > MAX_ABS_VALUE:
            raise AggregationError(
                f"update of trainer {u.trainer_id.hex()} has a coordinate beyond "
                f"MAX_ABS_VALUE={MAX_ABS_VALUE}"
            )


def raise_out_of_range(ordered: Sequence[Update]) -> NoReturn:
    """After a fused range check failed: raise the same error :func:`canonical` would have."""
    check_values_in_range(ordered)
    raise AssertionError("a fused range check failed, yet every update is within MAX_ABS_VALUE")


def _checked_id(trainer_id: object) -> bytes:
    if not isinstance(trainer_id, bytes) or not trainer_id:
        raise AggregationError(f"trainer id must be non-empty bytes, got {trainer_id!r}")
    return trainer_id


def _check_shape(u: Update) -> None:
    v = u.vector
    if isinstance(v, SparseUpdate):
        return  # checked on construction, values included
    if not isinstance(v, np.ndarray) or v.dtype != np.int64 or v.ndim != 1:
        raise AggregationError(
            f"update of trainer {u.trainer_id.hex()} must be a 1-D int64 array or a SparseUpdate"
        )


def fill_block(
    vectors: Sequence[Vector], start: int, stop: int, out: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Copy coordinates ``[start, stop)`` of each vector into the rows of ``out``.

    Parameters
    ----------
    vectors
        ``n`` dense or sparse vectors of one dimension ``d``.
    start, stop
        ``0 <= start <= stop <= d``.
    out
        Shape ``(n, c)`` with ``c >= stop - start``; reused between blocks to bound memory.

    Returns
    -------
    NDArray[np.int64]
        ``out[:, :stop - start]``, row ``i`` holding ``vectors[i][start:stop]``.
    """
    width = stop - start
    block = out[:, :width]
    for row, v in zip(block, vectors, strict=False):
        if isinstance(v, SparseUpdate):
            first, last = np.searchsorted(v.indices, (start, stop))
            row[:] = 0
            row[v.indices[first:last] - start] = v.codes[first:last].astype(np.int64) * v.step
        else:
            row[:] = v[start:stop]
    return block


class Evidence(TypedDict):
    """What a rule publishes beside its aggregate, so validators can compare replays.

    Every field is a plain int, a string, or a list of them: ``json.dumps`` takes it as it is.
    """

    rule_id: int
    """The rule's id (see :mod:`pot.aggregation.rules`)."""
    rule: str
    """The rule's name."""
    params: dict[str, int | str]
    """The parameters the rule used (ints; a vector parameter as the hex of its commitment)."""
    trainers: list[str]
    """Trainer ids in canonical order (hex)."""
    samples: list[int]
    """Verified sample counts, aligned with ``trainers``."""
    score: str
    """What ``scores`` measure, in words with units."""
    scores: list[int]
    """Each trainer's score, aligned with ``trainers``."""
    selected: list[str]
    """Trainers whose update entered the aggregate (hex, canonical order)."""
    clipped: list[str]
    """Trainers whose update was scaled down before it entered the aggregate (hex)."""
    aggregate: str
    """Hex of :func:`commit_vector` of the aggregate."""


def make_evidence(
    rule_id: int,
    params: dict[str, int | str],
    updates: Sequence[Update],
    scores: Sequence[int],
    selected: Iterable[int],
    clipped: Iterable[int],
    aggregate: NDArray[np.int64],
) -> Evidence:
    """Assemble an :class:`Evidence` record.

    Parameters
    ----------
    rule_id, params
        As in :class:`Evidence`; the rule's name and score description come from the rule tables.
    updates
        The canonical (sorted) updates.
    scores
        One int per update, in canonical order.
    selected, clipped
        Positions in ``updates``, in any order.
    aggregate
        The rule's result, shape ``(d,)``.

    Returns
    -------
    Evidence
        With positions turned into hex ids in canonical order.
    """
    return Evidence(
        rule_id=rule_id,
        rule=RULE_NAMES[rule_id],
        params=dict(params),
        trainers=[u.trainer_id.hex() for u in updates],
        samples=[u.samples for u in updates],
        score=RULE_SCORES[rule_id],
        scores=[int(s) for s in scores],
        selected=[updates[i].trainer_id.hex() for i in sorted(selected)],
        clipped=[updates[i].trainer_id.hex() for i in sorted(clipped)],
        aggregate=commit_vector(aggregate).hex(),
    )
