"""Fixed-point FedAvg (McMahan et al. 2017), vectorised.

The aggregate is ``round(sum_i s_i * x_i / sum_i s_i)`` per coordinate, where ``s_i`` is trainer
``i``'s *verified* sample count and the rounding is half to even
(:func:`pot.aggregation.fixedpoint.div_round_half_even`). The numerator is accumulated in ``int64``:
with ``sum_i s_i <= MAX_TOTAL_SAMPLES`` and ``|x_ij| <= MAX_ABS_VALUE`` every partial sum is below
``2**62``, so it is exact and independent of the order of the terms. Optional norm clipping scales
each update whose L2 norm exceeds ``clip_norm`` down to it first
(:func:`pot.aggregation.fixedpoint.scale_to_norm`).

Sparse updates are added at their indices only, so a top-k compressed round costs ``O(n * k)`` on
top of the ``O(d)`` output. :func:`pot.aggregation.reference.fedavg` is the readable twin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pot.aggregation.fixedpoint import (
    MAX_ABS_VALUE,
    SUM_BLOCK_COLUMNS,
    div_round_half_even,
    scale_to_norm,
    squared_norm,
)
from pot.aggregation.params import RULE_FEDAVG, check_clip_norm
from pot.aggregation.updates import (
    Evidence,
    SparseUpdate,
    Update,
    Vector,
    canonical,
    make_evidence,
    raise_out_of_range,
)

Term = NDArray[np.int64] | tuple[NDArray[np.int64], NDArray[np.int64]]
"""A dense vector, or a sparse one as ``(indices, values)`` with unique indices."""


def fedavg(updates: Sequence[Update], clip_norm: int = 0) -> tuple[NDArray[np.int64], Evidence]:
    """FedAvg: the average of the updates weighted by verified samples.

    Parameters
    ----------
    updates
        The round's updates (dense or sparse), any order.
    clip_norm
        If positive, each update whose L2 norm exceeds it is first scaled down to it
        (fixed-point units).

    Returns
    -------
    tuple[NDArray[np.int64], Evidence]
        The aggregate, shape ``(d,)``, fixed-point units; evidence scores are the verified samples,
        ``clipped`` lists the clipped trainers.

    Raises
    ------
    AggregationError
        If an update or ``clip_norm`` is out of range.
    """
    check_clip_norm(clip_norm)
    # Norms need in-range values first; without clipping the range check runs inside the sum.
    ordered, dim = canonical(updates, check_values=bool(clip_norm))
    clipped = []
    terms: list[Term] = []
    for i, u in enumerate(ordered):
        term = as_term(u.vector)
        values = term[1] if isinstance(term, tuple) else term
        sq_norm = squared_norm(values) if clip_norm else 0
        if sq_norm > clip_norm**2:
            values = scale_to_norm(values, clip_norm, sq_norm)
            term = (term[0], values) if isinstance(term, tuple) else values
            clipped.append(i)
        terms.append(term)
    weights = [u.samples for u in ordered]
    result = weighted_mean(ordered, terms, weights, dim)
    return result, make_evidence(
        RULE_FEDAVG,
        {"clip_norm": clip_norm},
        ordered,
        weights,
        range(len(ordered)),
        clipped,
        result,
    )


def as_term(v: Vector) -> Term:
    """A dense vector as it is; a sparse one as ``(indices, codes * step)``."""
    return (v.indices, v.values) if isinstance(v, SparseUpdate) else v


def weighted_mean(
    ordered: Sequence[Update], terms: Sequence[Term], weights: Sequence[int], dim: int
) -> NDArray[np.int64]:
    """``round(sum_i w_i * t_i / sum_i w_i)`` per coordinate, half to even.

    Parameters
    ----------
    ordered
        The round's canonical updates, to name the trainer if a value is out of range.
    terms
        Dense ``int64`` vectors of length ``dim`` or sparse ``(indices, values)`` pairs (the
        updates' values, or their clipped versions); sparse values within ``MAX_ABS_VALUE``.
    weights
        Positive ints with ``sum(weights) <= MAX_TOTAL_SAMPLES``.
    dim
        Length of the vectors.

    Returns
    -------
    NDArray[np.int64]
        Shape ``(dim,)``.

    Raises
    ------
    AggregationError
        If a dense term has a coordinate beyond ``MAX_ABS_VALUE``, naming the first such trainer.
    """
    total = weighted_sum(terms, weights, dim)
    if total is None:
        raise_out_of_range(ordered)
    return div_round_half_even(total, sum(weights))


def weighted_sum(
    terms: Sequence[Term], weights: Sequence[int], dim: int
) -> NDArray[np.int64] | None:
    """``sum_i w_i * t_i`` per coordinate, range-checking dense terms on the way.

    The sum runs block by block (``SUM_BLOCK_COLUMNS``): each update's slice is range-checked,
    scaled and added while the block of the sum stays in cache, so every update is read from
    memory once. With ``sum(weights) <= MAX_TOTAL_SAMPLES`` and every value in range, no partial
    sum leaves ``int64``.

    Returns
    -------
    NDArray[np.int64] | None
        Shape ``(dim,)``; ``None`` as soon as a dense term has a value out of range (the partial
        sum is then meaningless).
    """
    total = np.zeros(dim, dtype=np.int64)
    dense_terms: list[tuple[NDArray[np.int64], np.int64]] = []
    for term, weight in zip(terms, weights, strict=True):
        if isinstance(term, tuple):
            indices, values = term
            total[indices] += values * np.int64(weight)  # indices are unique: no update is lost
        else:
            dense_terms.append((term, np.int64(weight)))
    scratch = np.empty(min(SUM_BLOCK_COLUMNS, dim), dtype=np.int64)
    for start in range(0, dim, SUM_BLOCK_COLUMNS):
        stop = min(start + SUM_BLOCK_COLUMNS, dim)
        block, work = total[start:stop], scratch[: stop - start]
        for vector, w in dense_terms:
            part = vector[start:stop]
            if part.max() > MAX_ABS_VALUE or part.min() < -MAX_ABS_VALUE:
                return None
            np.multiply(part, w, out=work)
            block += work
    return total


def add_weighted(
    total: NDArray[np.int64], term: Term, weight: int, scratch: NDArray[np.int64]
) -> None:
    """Add ``weight * term`` to ``total`` in place (``scratch``: a work array of ``total``'s shape).

    The caller keeps ``sum(weights) * MAX_ABS_VALUE`` within ``int64``; then no sum wraps.
    """
    if isinstance(term, tuple):
        indices, values = term
        total[indices] += values * np.int64(weight)  # indices are unique: no update is lost
    else:
        np.multiply(term, np.int64(weight), out=scratch)
        total += scratch
