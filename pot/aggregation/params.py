"""Rule ids, rule names, rule parameters and their preconditions.

A job's hyperparams choose the aggregation rule by id and give its integer parameters; this module
holds pot's one table of rules (:class:`AggregationRule`: id, name, evidence score) and the checks
both implementations (reference and vectorised) run before any work, so they reject the same inputs
with the same messages. The chain (:mod:`pot.chain.hyperparams`), the node, Flower and the command
lines all take the rules from here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pot.aggregation.errors import AggregationError
from pot.aggregation.fixedpoint import MAX_ABS_VALUE, MAX_CLIP_NORM, commit_vector, peak_abs


class AggregationRule(enum.IntEnum):
    """The aggregation rules of pot, by the id a job's hyperparams carry (one byte).

    ``FEDAVG`` and ``MEDIAN`` take no parameter (``rule_param`` = 0). ``MULTI_KRUM`` takes ``f``,
    the number of Byzantine trainers tolerated (>= 1). ``TRIMMED_MEAN`` takes the number of values
    trimmed from each end per coordinate (>= 1). ``CENTERED_CLIPPING`` takes the clip radius in Q16
    fixed point (>= 1). A rule's name (:attr:`label`) is its member name in lower case with
    hyphens, e.g. ``"multi-krum"``.
    """

    FEDAVG = 0
    MULTI_KRUM = 1
    MEDIAN = 2
    TRIMMED_MEAN = 3
    CENTERED_CLIPPING = 4

    @property
    def label(self) -> str:
        """The rule's name, as published in evidence and taken by ``--rule`` (``"multi-krum"``)."""
        return self.name.lower().replace("_", "-")


RULE_FEDAVG = AggregationRule.FEDAVG.value
RULE_MULTI_KRUM = AggregationRule.MULTI_KRUM.value
RULE_MEDIAN = AggregationRule.MEDIAN.value
RULE_TRIMMED_MEAN = AggregationRule.TRIMMED_MEAN.value
RULE_CENTERED_CLIPPING = AggregationRule.CENTERED_CLIPPING.value
"""The rule ids as plain ints (the aggregation functions take ``rule_id: int``)."""

RULE_NAMES: dict[int, str] = {rule.value: rule.label for rule in AggregationRule}
"""Rule id to rule name, as published in evidence."""
RULE_BY_NAME: dict[str, AggregationRule] = {rule.label: rule for rule in AggregationRule}
"""Rule name to rule, for the command lines' ``--rule`` (``pot simulate``, ``pot chain request``)."""

MAX_CC_ITERATIONS = 64
"""Most centered-clipping iterations one aggregation may run (iterations)."""

SCORE_SAMPLES = "verified samples (the FedAvg weight)"
SCORE_KRUM = (
    "sum of squared L2 distances to the n - f - 2 nearest other updates (fixed-point units squared)"
)
SCORE_TRIMMED = "coordinates at which the value fell outside the kept order statistics (count)"
SCORE_CENTER = "squared L2 distance to the center of the last iteration (fixed-point units squared)"

RULE_SCORES = {
    RULE_FEDAVG: SCORE_SAMPLES,
    RULE_MULTI_KRUM: SCORE_KRUM,
    RULE_MEDIAN: SCORE_TRIMMED,
    RULE_TRIMMED_MEAN: SCORE_TRIMMED,
    RULE_CENTERED_CLIPPING: SCORE_CENTER,
}
"""Rule id to what its evidence scores measure."""


@dataclass(frozen=True, eq=False)
class AggregationParams:
    """The integer parameters of the rules, as a job's hyperparams give them.

    Each rule reads only its own fields; the others are ignored.

    Attributes
    ----------
    clip_norm
        FedAvg: clip each update to this L2 norm before averaging (fixed-point units); 0 = off.
    num_byzantine
        Multi-Krum: ``f``, the number of Byzantine trainers tolerated.
    num_selected
        Multi-Krum: ``m``, how many lowest-scored updates are averaged (``m = 1`` is Krum).
    num_trimmed
        Trimmed mean: ``b``, values dropped at each end of every coordinate.
    tau
        Centered clipping: radius (fixed-point units of L2 norm).
    iterations
        Centered clipping: number of clipping iterations ``L``.
    center
        Centered clipping: starting center, shape ``(d,)`` ``int64`` (the previous round's
        aggregate, from the chain); ``None`` means the zero vector.
    """

    clip_norm: int = 0
    num_byzantine: int = 0
    num_selected: int = 0
    num_trimmed: int = 0
    tau: int = 0
    iterations: int = 1
    center: NDArray[np.int64] | None = None


def check_clip_norm(clip_norm: int) -> None:
    """Raise :class:`AggregationError` unless ``0 <= clip_norm <= MAX_CLIP_NORM``."""
    if not 0 <= clip_norm <= MAX_CLIP_NORM:
        raise AggregationError(
            f"fedavg clip_norm must be 0 (off) or in [1, {MAX_CLIP_NORM}], got {clip_norm}"
        )


def check_multi_krum(n: int, num_byzantine: int, num_selected: int) -> None:
    """Check multi-Krum's preconditions (Blanchard et al. 2017).

    Raises
    ------
    AggregationError
        Unless ``f >= 0``, ``n > 2f + 2`` and ``1 <= m <= n - f``.
    """
    if num_byzantine < 0:
        raise AggregationError(f"multi-krum needs f >= 0, got f={num_byzantine}")
    if n <= 2 * num_byzantine + 2:
        raise AggregationError(f"multi-krum needs n > 2f + 2 (n={n}, f={num_byzantine})")
    if not 1 <= num_selected <= n - num_byzantine:
        raise AggregationError(
            f"multi-krum needs 1 <= m <= n - f (n={n}, f={num_byzantine}, m={num_selected})"
        )


def check_trimmed_mean(n: int, num_trimmed: int) -> None:
    """Raise :class:`AggregationError` unless ``0 <= b`` and ``n > 2b``."""
    if num_trimmed < 0 or n <= 2 * num_trimmed:
        raise AggregationError(f"trimmed mean needs 0 <= b and n > 2b (n={n}, b={num_trimmed})")


def check_centered_clipping(
    tau: int, iterations: int, center: NDArray[np.int64] | None, dim: int
) -> None:
    """Check centered clipping's parameters.

    Raises
    ------
    AggregationError
        Unless ``1 <= tau <= MAX_CLIP_NORM``, ``1 <= iterations <= MAX_CC_ITERATIONS``, and
        ``center`` is ``None`` or a 1-D ``int64`` array of length ``dim`` within
        ``MAX_ABS_VALUE``.
    """
    if not 1 <= tau <= MAX_CLIP_NORM:
        raise AggregationError(f"centered clipping needs 1 <= tau <= {MAX_CLIP_NORM}, got {tau}")
    if not 1 <= iterations <= MAX_CC_ITERATIONS:
        raise AggregationError(
            f"centered clipping needs 1 <= iterations <= {MAX_CC_ITERATIONS}, got {iterations}"
        )
    if center is None:
        return
    if center.dtype != np.int64 or center.shape != (dim,):
        raise AggregationError(f"centered clipping center must be int64 of shape ({dim},)")
    if peak_abs(center) > MAX_ABS_VALUE:
        raise AggregationError(
            f"centered clipping center has a coordinate beyond MAX_ABS_VALUE={MAX_ABS_VALUE}"
        )


def centered_clipping_evidence_params(
    tau: int, iterations: int, center: NDArray[np.int64] | None
) -> dict[str, int | str]:
    """Centered clipping's parameters as evidence: the center as the hex of its commitment."""
    return {
        "tau": tau,
        "iterations": iterations,
        "center": "" if center is None else commit_vector(center).hex(),
    }
