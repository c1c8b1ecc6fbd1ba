"""Reference implementations of the aggregation rules, in plain Python ints.

Each function reads like the rule's definition: lists of Python ints, exact sums, and
``round(Fraction(num, den))`` for every division (Python rounds a Fraction half to even). They are
slow and meant for tests, fixtures and readers; :mod:`pot.aggregation.fedavg` and
:mod:`pot.aggregation.robust` are the vectorised twins with the same signatures, tested against
these on generated inputs. Both return ``(aggregate, evidence)`` with the aggregate as a 1-D
``int64`` array in fixed-point units.

Sources: FedAvg, McMahan et al. 2017 (AISTATS), "Communication-Efficient Learning of Deep Networks
from Decentralized Data"; Krum and multi-Krum, Blanchard et al. 2017 (NeurIPS), "Machine Learning
with Adversaries: Byzantine Tolerant Gradient Descent"; coordinate-wise median and trimmed mean,
Yin et al. 2018 (ICML), "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates";
centered clipping, Karimireddy, He and Jaggi 2021 (ICML), "Learning from History for Byzantine
Robust Optimization".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from pot.aggregation.params import (
    RULE_CENTERED_CLIPPING,
    RULE_FEDAVG,
    RULE_MEDIAN,
    RULE_MULTI_KRUM,
    RULE_TRIMMED_MEAN,
    centered_clipping_evidence_params,
    check_centered_clipping,
    check_clip_norm,
    check_multi_krum,
    check_trimmed_mean,
)
from pot.aggregation.updates import Evidence, Update, canonical, dense, make_evidence


def fedavg(updates: Sequence[Update], clip_norm: int = 0) -> tuple[NDArray[np.int64], Evidence]:
    """FedAvg, read literally: ``round(sum_i s_i * x_i / sum_i s_i)`` per coordinate.

    Twin of :func:`pot.aggregation.fedavg.fedavg`: same parameters, results and errors.
    """
    check_clip_norm(clip_norm)
    ordered, _ = canonical(updates)
    vectors = [_ints(u) for u in ordered]
    clipped = []
    if clip_norm:
        for i, x in enumerate(vectors):
            if _norm2(x) > clip_norm**2:
                vectors[i] = _shrink(x, clip_norm)
                clipped.append(i)
    weights = [u.samples for u in ordered]
    result = _array(_weighted_mean(vectors, weights))
    n = len(ordered)
    return result, make_evidence(
        RULE_FEDAVG,
        {"clip_norm": clip_norm},
        ordered,
        weights,
        range(n),
        clipped,
        result,
    )


def multi_krum(
    updates: Sequence[Update], num_byzantine: int, num_selected: int
) -> tuple[NDArray[np.int64], Evidence]:
    """Multi-Krum, read literally: all pairwise distances, then each row's nearest ``n - f - 2``.

    Twin of :func:`pot.aggregation.robust.multi_krum`: same parameters, results and errors.
    """
    ordered, _ = canonical(updates)
    n = len(ordered)
    check_multi_krum(n, num_byzantine, num_selected)
    vectors = [_ints(u) for u in ordered]
    distance = [
        [sum((a - b) ** 2 for a, b in zip(x, y, strict=True)) for y in vectors] for x in vectors
    ]
    nearest = n - num_byzantine - 2
    scores = [sum(sorted(distance[i][j] for j in range(n) if j != i)[:nearest]) for i in range(n)]
    ranking = sorted(range(n), key=lambda i: (scores[i], ordered[i].trainer_id))
    selected = sorted(ranking[:num_selected])
    result = _array(
        _weighted_mean([vectors[i] for i in selected], [ordered[i].samples for i in selected])
    )
    params: dict[str, int | str] = {"num_byzantine": num_byzantine, "num_selected": num_selected}
    return result, make_evidence(
        RULE_MULTI_KRUM,
        params,
        ordered,
        scores,
        selected,
        [],
        result,
    )


def coordinate_median(updates: Sequence[Update]) -> tuple[NDArray[np.int64], Evidence]:
    """Coordinate-wise median, read literally: sort each coordinate, take the middle (or two).

    Twin of :func:`pot.aggregation.robust.coordinate_median`: same parameters, results and errors.
    """
    ordered, dim = canonical(updates)
    n = len(ordered)
    vectors = [_ints(u) for u in ordered]
    median = []
    scores = [0] * n
    for j in range(dim):
        column = sorted(x[j] for x in vectors)
        low, high = column[(n - 1) // 2], column[n // 2]
        median.append(round(Fraction(low + high, 2)))
        for i, x in enumerate(vectors):
            scores[i] += x[j] < low or x[j] > high
    result = _array(median)
    return result, make_evidence(
        RULE_MEDIAN,
        {},
        ordered,
        scores,
        range(n),
        [],
        result,
    )


def trimmed_mean(updates: Sequence[Update], num_trimmed: int) -> tuple[NDArray[np.int64], Evidence]:
    """Trimmed mean, read literally: sort each coordinate, drop ``b`` at each end, average.

    Twin of :func:`pot.aggregation.robust.trimmed_mean`: same parameters, results and errors.
    """
    ordered, dim = canonical(updates)
    n = len(ordered)
    check_trimmed_mean(n, num_trimmed)
    vectors = [_ints(u) for u in ordered]
    mean = []
    scores = [0] * n
    for j in range(dim):
        column = sorted(x[j] for x in vectors)
        kept = column[num_trimmed : n - num_trimmed]
        mean.append(round(Fraction(sum(kept), len(kept))))
        for i, x in enumerate(vectors):
            scores[i] += x[j] < kept[0] or x[j] > kept[-1]
    result = _array(mean)
    return result, make_evidence(
        RULE_TRIMMED_MEAN,
        {"num_trimmed": num_trimmed},
        ordered,
        scores,
        range(n),
        [],
        result,
    )


def centered_clipping(
    updates: Sequence[Update],
    tau: int,
    iterations: int = 1,
    center: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.int64], Evidence]:
    """Centered clipping, read literally: ``v <- v + mean_s(clip_tau(x_i - v))``, ``L`` times.

    Twin of :func:`pot.aggregation.robust.centered_clipping`: same parameters, results and errors.
    Karimireddy et al. weight trainers uniformly; pot weights them by verified samples.
    """
    ordered, dim = canonical(updates)
    check_centered_clipping(tau, iterations, center, dim)
    vectors = [_ints(u) for u in ordered]
    weights = [u.samples for u in ordered]
    v = [0] * dim if center is None else [int(c) for c in center.tolist()]
    scores: list[int] = []
    clipped: list[int] = []
    for _ in range(iterations):
        differences = [[a - b for a, b in zip(x, v, strict=True)] for x in vectors]
        scores = [_norm2(e) for e in differences]
        clipped = [i for i, s in enumerate(scores) if s > tau**2]
        for i in clipped:
            differences[i] = _shrink(differences[i], tau)
        step = _weighted_mean(differences, weights)
        v = [a + b for a, b in zip(v, step, strict=True)]
    result = _array(v)
    return result, make_evidence(
        RULE_CENTERED_CLIPPING,
        centered_clipping_evidence_params(tau, iterations, center),
        ordered,
        scores,
        range(len(ordered)),
        clipped,
        result,
    )


def _ints(u: Update) -> list[int]:
    return [int(x) for x in dense(u.vector).tolist()]


def _array(values: list[int]) -> NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


def _norm2(x: list[int]) -> int:
    return sum(a * a for a in x)


def _shrink(x: list[int], bound: int) -> list[int]:
    """Scale ``x`` by ``bound / r``, ``r = ceil(sqrt(|x|^2))``, rounding each coordinate."""
    r = math.isqrt(_norm2(x) - 1) + 1
    return [round(Fraction(a * bound, r)) for a in x]


def _weighted_mean(vectors: list[list[int]], weights: list[int]) -> list[int]:
    total = sum(weights)
    return [
        round(Fraction(sum(w * x[j] for x, w in zip(vectors, weights, strict=True)), total))
        for j in range(len(vectors[0]))
    ]
