"""The incentive check: exact detection probability, expected value, smallest k and stake."""

from fractions import Fraction
from itertools import combinations
from math import comb
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pot.economics import (
    AmountError,
    ParameterError,
    detection_probability,
    incentive_check,
    min_k_for_target,
    min_stake,
    slash_amount,
)


@st.composite
def steps(draw: st.DrawFn, max_T: int = 60, min_m: int = 1) -> tuple[int, int, int]:
    """Draw (T, m, k) with 1 <= T <= max_T, min_m <= m <= T and 0 <= k <= T."""
    T = draw(st.integers(1, max_T))
    return T, draw(st.integers(min_m, T)), draw(st.integers(0, T))


def test_detection_probability_hand_computed() -> None:
    # 1 - C(8, 3) / C(10, 3) = 1 - 56/120 = 8/15
    assert detection_probability(10, 2, 3) == Fraction(8, 15)
    # one fabricated step, ten samples of a hundred: 1 - C(99, 10)/C(100, 10) = 10/100
    assert detection_probability(100, 1, 10) == Fraction(1, 10)
    # more samples than honest steps: detection is certain, C(2, 3) = 0
    assert detection_probability(5, 3, 3) == 1
    assert detection_probability(7, 0, 4) == 0
    assert detection_probability(7, 4, 0) == 0
    assert type(detection_probability(10, 2, 3)) is Fraction


@pytest.mark.parametrize(
    ("T", "m", "k"), [(0, 0, 0), (5, 6, 1), (5, 1, 6), (5, -1, 1), (5, 1, 1.0)]
)
def test_detection_probability_refuses_bad_steps(T: int, m: int, k: Any) -> None:
    with pytest.raises(ParameterError):
        detection_probability(T, m, k)


@given(steps(max_T=8, min_m=0))
def test_detection_probability_matches_enumerating_every_sample(t: tuple[int, int, int]) -> None:
    T, m, k = t
    samples = list(combinations(range(T), k))
    hits = sum(1 for sample in samples if any(step < m for step in sample))
    assert detection_probability(T, m, k) == Fraction(hits, len(samples))


@given(steps(max_T=400, min_m=0))
def test_detection_probability_is_the_issue_formula(t: tuple[int, int, int]) -> None:
    T, m, k = t
    assert detection_probability(T, m, k) == 1 - Fraction(comb(T - m, k), comb(T, k))


@given(steps())
def test_detection_probability_grows_with_k_and_m(t: tuple[int, int, int]) -> None:
    T, m, k = t
    p = detection_probability(T, m, k)
    if k < T:
        assert detection_probability(T, m, k + 1) >= p
    if m < T:
        assert detection_probability(T, m + 1, k) >= p


def test_min_k_for_target_hand_computed() -> None:
    assert min_k_for_target(1_000, 1, Fraction(1, 2)) == 500
    # p(10, 2, 2) = 1 - 28/45 = 17/45 < 8/15 = p(10, 2, 3)
    assert min_k_for_target(10, 2, Fraction(8, 15)) == 3
    assert min_k_for_target(10, 2, Fraction(0)) == 0
    assert min_k_for_target(10, 2, 1) == 9  # C(8, 9) = 0, C(8, 8) = 1


@given(steps(), st.fractions(0, 1))
def test_min_k_for_target_is_the_smallest(t: tuple[int, int, int], target: Fraction) -> None:
    T, m, _ = t
    k = min_k_for_target(T, m, target)
    assert detection_probability(T, m, k) >= target
    if k > 0:
        assert detection_probability(T, m, k - 1) < target


@pytest.mark.parametrize(
    ("m", "target"), [(1, 0.5), (1, Fraction(3, 2)), (1, Fraction(-1, 2)), (0, Fraction(1, 9))]
)
def test_min_k_for_target_refuses_floats_and_unreachable_targets(m: int, target: Any) -> None:
    with pytest.raises(ParameterError):
        min_k_for_target(10, m, target)


def test_incentive_check_hand_computed() -> None:
    # p = 10/1000; S = 10% of 10 ETH = 1 ETH; EV = 0.99 R - 0.01 S = 0.98 ETH > 0
    r = incentive_check(1_000, 10, 1, 10**18, 10 * 10**18)
    assert r.slash_wei == 10**18
    assert r.detection_probability == Fraction(1, 100)
    assert r.expected_value_wei == Fraction(98 * 10**16)
    assert not r.unprofitable
    assert r.min_k == 500  # p >= R / (R + S) = 1/2
    assert r.min_stake_wei == 990 * 10**18  # S >= 0.99/0.01 R = 99 ETH; stake = 10 S
    assert r.to_json_obj()["detection_probability"] == "1/100"
    assert r.to_json_obj()["expected_value_wei"] == "980000000000000000/1"


def test_incentive_check_break_even_counts_as_unprofitable() -> None:
    # p = 50/100, S = 100: EV = 50 - 50 = 0
    r = incentive_check(100, 50, 1, 100, 1_000)
    assert r.expected_value_wei == 0
    assert r.unprofitable
    assert (r.min_k, r.min_stake_wei) == (50, 1_000)


def test_incentive_check_without_samples_has_no_deterring_stake() -> None:
    r = incentive_check(100, 0, 5, 100, 10**30)
    assert r.detection_probability == 0
    assert r.expected_value_wei == 100
    assert not r.unprofitable
    assert r.min_stake_wei is None
    with pytest.raises(ParameterError):
        min_stake(100, 0, 5, 100)


def test_incentive_check_refuses_bad_parameters() -> None:
    with pytest.raises(ParameterError):
        incentive_check(100, 5, 0, 100, 100)
    with pytest.raises(AmountError):
        incentive_check(100, 5, 1, -1, 100)
    with pytest.raises(AmountError):
        incentive_check(100, 5, 1, 1, 2**256)


@given(steps(), st.integers(0, 10**24), st.integers(0, 10**26))
def test_incentive_check_verdict_and_minima_agree(
    t: tuple[int, int, int], reward: int, stake: int
) -> None:
    T, m, k = t
    r = incentive_check(T, k, m, reward, stake)
    p = r.detection_probability
    assert r.unprofitable == ((1 - p) * reward <= p * slash_amount(stake))
    at_min_k = incentive_check(T, r.min_k, m, reward, stake)
    assert at_min_k.unprofitable
    if r.min_k > 0:
        assert not incentive_check(T, r.min_k - 1, m, reward, stake).unprofitable
    if r.min_stake_wei is not None:
        assert min_stake(T, k, m, reward) == r.min_stake_wei
        assert incentive_check(T, k, m, reward, r.min_stake_wei).unprofitable
        if r.min_stake_wei > 0:
            assert not incentive_check(T, k, m, reward, r.min_stake_wei - 1).unprofitable
