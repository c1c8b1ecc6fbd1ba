"""The incentive check: does sampling k of T steps, with this stake, make fabrication unprofitable?

A trainer fabricates m of its T committed steps; the challenge samples k distinct steps uniformly.
The fabrication is detected when a sampled step is fabricated (hypergeometric, exact)::

    p(T, m, k) = 1 - C(T - m, k) / C(T, k)

Payoff model (conservative): undetected, the cheater keeps the whole round reward R, as if every
step had been free; detected, the bundle is rejected (no reward) and S = slash_amount(stake) is
taken. Then::

    EV = (1 - p) * R - p * S          (wei, exact rational)

and cheating is unprofitable when EV <= 0, that is when ``p >= R / (R + S)``. Crediting the cheater
with the whole reward over-states its gain, so parameters that pass here also pass any model that
charges it for the steps it did compute. Since p grows with m, the weakest cheat, m = 1
(p = k / T), is the one to check for a job's parameters.

Every decision here uses :class:`fractions.Fraction`; no float is involved.
"""

from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Any

from pot.economics.amounts import check_uint64, check_wei
from pot.economics.constants import BPS_DENOMINATOR, SLASH_BPS, UINT256_MAX_WEI
from pot.economics.errors import ParameterError
from pot.economics.slashing import slash_amount


@dataclass(frozen=True)
class IncentiveReport:
    """The incentive check of one job's parameters against fabricating m of T steps.

    Attributes
    ----------
    T, k, m
        Committed steps, sampled steps, fabricated steps.
    reward_per_round_wei, stake_wei
        The round reward R and the trainer's stake (wei).
    slash_wei
        ``slash_amount(stake_wei)``: what detection costs beyond the lost reward (wei).
    detection_probability
        ``p(T, m, k)``.
    expected_value_wei
        ``(1 - p) * R - p * slash_wei`` (wei, exact).
    unprofitable
        ``expected_value_wei <= 0``.
    min_k
        Smallest k in ``[0, T]`` that makes fabricating m steps unprofitable at this stake.
    min_stake_wei
        Smallest stake (wei) that makes it unprofitable at this k; None when none does (k = 0, or
        the stake would exceed uint256).
    """

    T: int
    k: int
    m: int
    reward_per_round_wei: int
    stake_wei: int
    slash_wei: int
    detection_probability: Fraction
    expected_value_wei: Fraction
    unprofitable: bool
    min_k: int
    min_stake_wei: int | None

    def to_json_obj(self) -> dict[str, Any]:
        """Return the report as JSON-ready values: ints, bools, None, and fractions as "n/d"."""
        return {
            "T": self.T,
            "k": self.k,
            "m": self.m,
            "reward_per_round_wei": self.reward_per_round_wei,
            "stake_wei": self.stake_wei,
            "slash_wei": self.slash_wei,
            "detection_probability": _fraction_text(self.detection_probability),
            "expected_value_wei": _fraction_text(self.expected_value_wei),
            "unprofitable": self.unprofitable,
            "min_k": self.min_k,
            "min_stake_wei": self.min_stake_wei,
        }


def _fraction_text(value: Fraction) -> str:
    """Return ``value`` as ``"numerator/denominator"`` in lowest terms."""
    return f"{value.numerator}/{value.denominator}"


def _check_steps(T: int, m: int, k: int) -> None:
    """Raise :class:`ParameterError` unless ``T >= 1``, ``0 <= m <= T`` and ``0 <= k <= T``."""
    check_uint64(T, "T (committed steps)")
    check_uint64(m, "m (fabricated steps)")
    check_uint64(k, "k (sampled steps)")
    if T < 1:
        raise ParameterError("T (committed steps) must be at least 1")
    if m > T:
        raise ParameterError(f"m (fabricated steps) must not exceed T: {m} > {T}")
    if k > T:
        raise ParameterError(f"k (sampled steps) must not exceed T: {k} > {T}")


def detection_probability(T: int, m: int, k: int) -> Fraction:
    """Return the exact probability that k of T steps, sampled without replacement, hit one of m.

    Parameters
    ----------
    T
        Committed steps.
    m
        Fabricated steps, ``0 <= m <= T``.
    k
        Sampled steps, ``0 <= k <= T``.

    Returns
    -------
    Fraction
        ``1 - C(T - m, k) / C(T, k)``, in ``[0, 1]``. It is computed through the equal ratio
        ``C(T - k, m) / C(T, m)`` when ``m < k``, so that the binomials stay small.

    Raises
    ------
    ParameterError
        ``T < 1``, or m or k is negative or exceeds T.
    """
    _check_steps(T, m, k)
    # C(T-m, k) / C(T, k) = (T-m)! (T-k)! / ((T-m-k)! T!) = C(T-k, m) / C(T, m)
    if m < k:
        return 1 - Fraction(comb(T - k, m), comb(T, m))
    return 1 - Fraction(comb(T - m, k), comb(T, k))


def _deterrence_target(reward_per_round_wei: int, slash_wei: int) -> Fraction:
    """Return the detection probability from which on ``EV <= 0``: ``R / (R + S)``, or 0."""
    if reward_per_round_wei + slash_wei == 0:
        return Fraction(0)
    return Fraction(reward_per_round_wei, reward_per_round_wei + slash_wei)


def min_k_for_target(T: int, m: int, target: Fraction | int) -> int:
    """Return the smallest k with ``detection_probability(T, m, k) >= target``.

    Parameters
    ----------
    T
        Committed steps.
    m
        Fabricated steps, ``0 <= m <= T``.
    target
        Wanted detection probability, an exact rational (or int) in ``[0, 1]``; floats are refused.

    Returns
    -------
    int
        The smallest k in ``[0, T]`` (the probability grows with k; found by bisection).

    Raises
    ------
    ParameterError
        Bad T or m, a target that is not a rational in ``[0, 1]``, or a positive target with
        ``m = 0`` (nothing to detect).
    """
    _check_steps(T, m, 0)
    if not isinstance(target, Fraction | int) or isinstance(target, bool):
        raise ParameterError(f"target must be a Fraction, got {type(target).__name__}")
    if not 0 <= target <= 1:
        raise ParameterError(f"target must lie in [0, 1], got {target}")
    if target > 0 and m == 0:
        raise ParameterError("no k detects m = 0 fabricated steps with positive probability")
    low, high = 0, T  # p(T, m, T) = 1 for m >= 1, so high always meets the target
    while low < high:
        mid = (low + high) // 2
        if detection_probability(T, m, mid) >= target:
            high = mid
        else:
            low = mid + 1
    return low


def _min_stake_or_none(p: Fraction, reward_per_round_wei: int) -> int | None:
    """Return the smallest stake with ``p * slash_amount(stake) >= (1 - p) * R``, or None."""
    if p == 0:
        return None
    # slash >= (1 - p) R / p, and slash is an integer, so slash >= ceil of it
    slash_needed = -(-(p.denominator - p.numerator) * reward_per_round_wei // p.numerator)
    # floor(stake * SLASH_BPS / D) >= n  <=>  stake >= ceil(n * D / SLASH_BPS)
    stake = -(-slash_needed * BPS_DENOMINATOR // SLASH_BPS)
    return stake if stake <= UINT256_MAX_WEI else None


def min_stake(T: int, k: int, m: int, reward_per_round_wei: int) -> int:
    """Return the smallest stake that makes fabricating m of T steps unprofitable at this k.

    Parameters
    ----------
    T, k, m
        Committed, sampled and fabricated steps.
    reward_per_round_wei
        The round reward R (wei).

    Returns
    -------
    int
        The smallest stake (wei) with ``(1 - p) * R - p * slash_amount(stake) <= 0``.

    Raises
    ------
    ParameterError
        Bad T, k or m, or no uint256 stake suffices (for example k = 0 or m = 0 with R > 0).
    AmountError
        ``reward_per_round_wei`` is not a uint256 amount.
    """
    check_wei(reward_per_round_wei, "reward per round")
    stake = _min_stake_or_none(detection_probability(T, m, k), reward_per_round_wei)
    if stake is None:
        raise ParameterError(
            f"no uint256 stake deters fabricating m = {m} of T = {T} steps with k = {k} samples"
        )
    return stake


def incentive_check(
    T: int, k: int, m: int, reward_per_round_wei: int, stake_wei: int
) -> IncentiveReport:
    """Check whether a job's parameters make fabricating m of T steps unprofitable.

    Parameters
    ----------
    T
        Committed steps per round.
    k
        Sampled (challenged) steps per round.
    m
        Fabricated steps, ``1 <= m <= T``; m = 1 is the weakest cheat and the one to check.
    reward_per_round_wei
        The round reward R a bundle can earn (wei).
    stake_wei
        The trainer's stake in the job (wei).

    Returns
    -------
    IncentiveReport
        Detection probability, expected value, the verdict, and the smallest k and stake that
        make the cheat unprofitable.

    Raises
    ------
    ParameterError
        ``T < 1``, ``m`` outside ``[1, T]`` or ``k`` outside ``[0, T]``.
    AmountError
        An amount is not a uint256 amount of wei.
    """
    _check_steps(T, m, k)
    if m < 1:
        raise ParameterError("m (fabricated steps) must be at least 1 for an incentive check")
    check_wei(reward_per_round_wei, "reward per round")
    slash_wei = slash_amount(stake_wei)
    p = detection_probability(T, m, k)
    expected = (1 - p) * reward_per_round_wei - p * slash_wei
    return IncentiveReport(
        T=T,
        k=k,
        m=m,
        reward_per_round_wei=reward_per_round_wei,
        stake_wei=stake_wei,
        slash_wei=slash_wei,
        detection_probability=p,
        expected_value_wei=expected,
        unprofitable=expected <= 0,
        min_k=min_k_for_target(T, m, _deterrence_target(reward_per_round_wei, slash_wei)),
        min_stake_wei=_min_stake_or_none(p, reward_per_round_wei),
    )
