"""Robust aggregation rules, vectorised: multi-Krum, coordinate-wise median, trimmed mean, and
centered clipping.

Each rule returns the aggregate *and* its evidence (the trainers it selected or clipped and every
trainer's score), so validators can publish and compare what they replayed. All arithmetic is
integer: squared distances are exact (see :func:`pot.aggregation.fixedpoint.gram`), ties between
trainers break by trainer id, and divisions round half to even. Coordinate-wise rules process the
updates in blocks of a few thousand coordinates, so their working memory is ``O(n * block)`` on
top of the inputs, and sparse updates are expanded one block at a time.

:mod:`pot.aggregation.reference` holds the readable twins and the sources of each rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pot.aggregation.fedavg import Term, add_weighted, as_term, weighted_mean
from pot.aggregation.fixedpoint import (
    GRAM_BLOCK_COLUMNS,
    SORT_BLOCK_COLUMNS,
    div_round_half_even,
    gram,
    scale_to_norm,
    squared_norm,
)
from pot.aggregation.params import (
    RULE_CENTERED_CLIPPING,
    RULE_MEDIAN,
    RULE_MULTI_KRUM,
    RULE_TRIMMED_MEAN,
    centered_clipping_evidence_params,
    check_centered_clipping,
    check_multi_krum,
    check_trimmed_mean,
)
from pot.aggregation.updates import (
    Evidence,
    Update,
    Vector,
    canonical,
    dense,
    fill_block,
    make_evidence,
)


def multi_krum(
    updates: Sequence[Update], num_byzantine: int, num_selected: int
) -> tuple[NDArray[np.int64], Evidence]:
    """Multi-Krum: FedAvg over the ``m`` updates with the lowest Krum scores.

    The Krum score of update ``i`` is the sum of its squared L2 distances to its ``n - f - 2``
    nearest other updates (Blanchard et al. 2017). Scores tie-break by trainer id. The selected
    updates are averaged with their verified samples as weights.

    Parameters
    ----------
    updates
        The round's updates (dense or sparse), any order.
    num_byzantine
        ``f``; needs ``n > 2f + 2``.
    num_selected
        ``m``, with ``1 <= m <= n - f``; ``m = 1`` is Krum.

    Returns
    -------
    tuple[NDArray[np.int64], Evidence]
        The aggregate, shape ``(d,)``, and evidence with the Krum scores (exact ints) and the
        selection.

    Raises
    ------
    AggregationError
        If a precondition fails or an update is out of range.
    """
    ordered, dim = canonical(updates)
    n = len(ordered)
    check_multi_krum(n, num_byzantine, num_selected)
    distance = pairwise_squared_distances([u.vector for u in ordered], dim)
    nearest = n - num_byzantine - 2
    scores = [sum(sorted(row[:i] + row[i + 1 :])[:nearest]) for i, row in enumerate(distance)]
    ranking = sorted(range(n), key=lambda i: (scores[i], ordered[i].trainer_id))
    selected = sorted(ranking[:num_selected])
    terms: list[Term] = [as_term(ordered[i].vector) for i in selected]
    result = weighted_mean(ordered, terms, [ordered[i].samples for i in selected], dim)
    return result, make_evidence(
        RULE_MULTI_KRUM,
        {"num_byzantine": num_byzantine, "num_selected": num_selected},
        ordered,
        scores,
        selected,
        [],
        result,
    )


def pairwise_squared_distances(vectors: Sequence[Vector], dim: int) -> list[list[int]]:
    """Exact squared L2 distances between all pairs of vectors.

    Parameters
    ----------
    vectors
        ``n`` dense or sparse vectors of length ``dim`` within ``MAX_ABS_VALUE``.
    dim
        Their length.

    Returns
    -------
    list[list[int]]
        ``n x n``, entry ``[i][j] = |v_i - v_j|^2`` as Python ints (fixed-point units squared).

    Notes
    -----
    ``|v_i - v_j|^2 = G_ii + G_jj - 2 G_ij`` with ``G`` the exact Gram matrix, summed over blocks
    of ``GRAM_BLOCK_COLUMNS`` coordinates. Each block is first translated by its first row
    (distances do not change), which keeps values small and usually lets one float64 product be
    exact.
    """
    n = len(vectors)
    total = np.zeros((n, n), dtype=np.int64).astype(object)
    scratch = np.empty((n, min(GRAM_BLOCK_COLUMNS, dim)), dtype=np.int64)
    for start in range(0, dim, GRAM_BLOCK_COLUMNS):
        block = fill_block(vectors, start, min(start + GRAM_BLOCK_COLUMNS, dim), scratch)
        np.subtract(block, block[0].copy(), out=block)
        total += gram(block)
    g = total.tolist()
    return [[g[i][i] + g[j][j] - 2 * g[i][j] for j in range(n)] for i in range(n)]


def coordinate_median(updates: Sequence[Update]) -> tuple[NDArray[np.int64], Evidence]:
    """Coordinate-wise median; for even ``n`` the mean of the two middle values, rounded.

    It is the trimmed mean with ``b = (n - 1) // 2``.

    Parameters
    ----------
    updates
        The round's updates (dense or sparse), any order; weights are not used.

    Returns
    -------
    tuple[NDArray[np.int64], Evidence]
        The median, shape ``(d,)``; evidence scores count, per trainer, the coordinates where its
        value lies strictly below the lower middle value or strictly above the upper one.

    Raises
    ------
    AggregationError
        If an update is out of range.
    """
    ordered, dim = canonical(updates)
    result, scores = _trim(ordered, dim, (len(ordered) - 1) // 2)
    return result, make_evidence(
        RULE_MEDIAN,
        {},
        ordered,
        scores,
        range(len(ordered)),
        [],
        result,
    )


def trimmed_mean(updates: Sequence[Update], num_trimmed: int) -> tuple[NDArray[np.int64], Evidence]:
    """Coordinate-wise trimmed mean: drop the ``b`` lowest and highest values, average the rest.

    Parameters
    ----------
    updates
        The round's updates (dense or sparse), any order; weights are not used.
    num_trimmed
        ``b``; needs ``n > 2b``.

    Returns
    -------
    tuple[NDArray[np.int64], Evidence]
        The trimmed mean, shape ``(d,)``; evidence scores count, per trainer, the coordinates where
        its value lies strictly outside ``[sorted[b], sorted[n - 1 - b]]``.

    Raises
    ------
    AggregationError
        If the precondition fails or an update is out of range.
    """
    ordered, dim = canonical(updates)
    check_trimmed_mean(len(ordered), num_trimmed)
    result, scores = _trim(ordered, dim, num_trimmed)
    return result, make_evidence(
        RULE_TRIMMED_MEAN,
        {"num_trimmed": num_trimmed},
        ordered,
        scores,
        range(len(ordered)),
        [],
        result,
    )


def _trim(
    ordered: Sequence[Update], dim: int, num_trimmed: int
) -> tuple[NDArray[np.int64], list[int]]:
    """Trimmed mean of each coordinate and each trainer's count of trimmed coordinates."""
    n = len(ordered)
    vectors = [u.vector for u in ordered]
    kept = n - 2 * num_trimmed
    result = np.empty(dim, dtype=np.int64)
    scores = np.zeros(n, dtype=np.int64)
    scratch = np.empty((n, min(SORT_BLOCK_COLUMNS, dim)), dtype=np.int64)
    for start in range(0, dim, SORT_BLOCK_COLUMNS):
        stop = min(start + SORT_BLOCK_COLUMNS, dim)
        block = fill_block(vectors, start, stop, scratch)  # (n, c)
        # (c, n), each coordinate's values in a row: a copy even where block.T is contiguous
        # already (c == 1), since the sort below runs in place and block is read again.
        columns = block.T.copy()
        columns.sort(axis=1)
        low, high = columns[:, num_trimmed], columns[:, n - 1 - num_trimmed]
        middle = columns[:, num_trimmed : n - num_trimmed].sum(axis=1)  # |sum| <= n * 2**31
        result[start:stop] = div_round_half_even(middle, kept)
        scores += ((block < low) | (block > high)).sum(axis=1)
    return result, [int(s) for s in scores]


def centered_clipping(
    updates: Sequence[Update],
    tau: int,
    iterations: int = 1,
    center: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.int64], Evidence]:
    """Centered clipping (Karimireddy, He and Jaggi 2021), weighted by verified samples.

    Each iteration computes ``v <- v + round(sum_i s_i * clip(x_i - v) / sum_i s_i)`` where
    ``clip(e)`` scales ``e`` down to norm ``tau`` when ``|e| > tau``
    (:func:`pot.aggregation.fixedpoint.scale_to_norm`). Every clipped difference keeps its sign
    and does not grow, so each new center is a rounded convex combination of values within
    ``MAX_ABS_VALUE`` and stays within it.

    Parameters
    ----------
    updates
        The round's updates (dense or sparse), any order.
    tau
        Clipping radius (fixed-point units of L2 norm).
    iterations
        Number of iterations ``L``.
    center
        Starting center, shape ``(d,)`` (the previous aggregate, from the chain); ``None`` is zero.

    Returns
    -------
    tuple[NDArray[np.int64], Evidence]
        The last center, shape ``(d,)``; evidence scores are squared distances to the center of the
        last iteration, and ``clipped`` lists the trainers clipped in it.

    Raises
    ------
    AggregationError
        If a parameter or an update is out of range.
    """
    ordered, dim = canonical(updates)
    check_centered_clipping(tau, iterations, center, dim)
    weights = [u.samples for u in ordered]
    v = np.zeros(dim, dtype=np.int64) if center is None else center.copy()
    scores: list[int] = []
    clipped: list[int] = []
    total = np.empty(dim, dtype=np.int64)
    scratch = np.empty(dim, dtype=np.int64)
    for _ in range(iterations):
        scores, clipped = [], []
        total[:] = 0
        for i, u in enumerate(ordered):
            difference = dense(u.vector) - v  # |difference| <= 2 * MAX_ABS_VALUE
            sq_norm = squared_norm(difference)
            scores.append(sq_norm)
            if sq_norm > tau**2:
                difference = scale_to_norm(difference, tau, sq_norm)  # now |.| <= tau
                clipped.append(i)
            add_weighted(total, difference, weights[i], scratch)
        v += div_round_half_even(total, sum(weights))
    return v, make_evidence(
        RULE_CENTERED_CLIPPING,
        centered_clipping_evidence_params(tau, iterations, center),
        ordered,
        scores,
        range(len(ordered)),
        clipped,
        v,
    )
