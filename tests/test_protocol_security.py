"""Exact detection probability of fabricated steps, and the least challenge reaching a target."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pot.protocol.errors import SecurityParameterError
from pot.protocol.security import (
    detection_probability,
    format_probability,
    min_samples,
    parse_probability,
)


def test_small_case_by_hand():
    # T=4, m=1, k=2: 3 of the 6 pairs avoid the fabricated step.
    assert detection_probability(4, 1, 2) == Fraction(1, 2)
    # T=10, m=3, k=2: 1 - C(7,2)/C(10,2) = 1 - 21/45
    assert detection_probability(10, 3, 2) == Fraction(8, 15)


@given(st.integers(1, 8), st.data())
def test_probability_matches_enumeration(n_steps, data):
    m = data.draw(st.integers(0, n_steps))
    k = data.draw(st.integers(0, n_steps))
    subsets = list(combinations(range(n_steps), k))
    caught = sum(1 for s in subsets if any(i < m for i in s))  # steps 0..m-1 are fabricated
    assert detection_probability(n_steps, m, k) == Fraction(caught, len(subsets))


def test_edge_cases():
    assert detection_probability(100, 0, 50) == 0
    assert detection_probability(100, 5, 0) == 0
    assert detection_probability(100, 5, 96) == 1
    assert detection_probability(100, 5, 95) < 1


@given(st.integers(1, 300), st.data())
def test_min_samples_is_the_smallest_reaching_the_target(n_steps, data):
    m = data.draw(st.integers(1, n_steps))
    target = Fraction(data.draw(st.integers(1, 1000)), 1000)
    k = min_samples(n_steps, m, target)
    assert detection_probability(n_steps, m, k) >= target
    assert k == 1 or detection_probability(n_steps, m, k - 1) < target


def test_min_samples_known_values():
    assert min_samples(100, 5, Fraction(99, 100)) == 59
    assert min_samples(100, 1, Fraction(1)) == 100
    # Sampling without replacement needs fewer than the 44 that (9/10)**k < 1/100 gives.
    assert min_samples(1000, 100, Fraction(99, 100)) == 43


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 0, 0), "step count must satisfy T >= 1"),
        ((5, 6, 1), "fabricated count must satisfy 0 <= m <= T, got m=6, T=5"),
        ((5, -1, 1), "fabricated count must satisfy 0 <= m <= T, got m=-1, T=5"),
        ((5, 1, 6), "sample count must satisfy 0 <= k <= T, got k=6, T=5"),
        ((5, 1, 2.0), "sample count k must be an int, got float"),
        ((True, 1, 1), "step count T must be an int, got bool"),
    ],
)
def test_detection_probability_rejects_bad_parameters(args, message):
    with pytest.raises(SecurityParameterError) as info:
        detection_probability(*args)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (10, 0, Fraction(1, 2)),
            "no number of samples detects a trainer that fabricated no step (m = 0)",
        ),
        ((10, 1, Fraction(0)), "target must satisfy 0 < target <= 1"),
        ((10, 1, Fraction(11, 10)), "target must satisfy 0 < target <= 1"),
        ((10, 1, 0.99), "target must be a Fraction or an int, got float"),
    ],
)
def test_min_samples_rejects_bad_parameters(args, message):
    with pytest.raises(SecurityParameterError) as info:
        min_samples(*args)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.99", Fraction(99, 100)),
        ("1", Fraction(1)),
        ("1.0", Fraction(1)),
        ("99/100", Fraction(99, 100)),
        ("0.999999", Fraction(999999, 1000000)),
        ("2/3", Fraction(2, 3)),
    ],
)
def test_parse_probability_is_exact(text, value):
    assert parse_probability(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "a probability must satisfy 0 < p <= 1"),
        ("0/5", "a probability must satisfy 0 < p <= 1"),
        ("1.5", "a probability must satisfy 0 < p <= 1"),
        ("3/2", "a probability must satisfy 0 < p <= 1"),
        ("1/0", "a probability's denominator must not be 0"),
        ("1e-2", "a probability must be a decimal like 0.99 or a fraction like 99/100"),
        (" 0.9", "a probability must be a decimal like 0.99 or a fraction like 99/100"),
        (".9", "a probability must be a decimal like 0.99 or a fraction like 99/100"),
        ("-0.5", "a probability must be a decimal like 0.99 or a fraction like 99/100"),
        ("nan", "a probability must be a decimal like 0.99 or a fraction like 99/100"),
    ],
)
def test_parse_probability_rejects_other_text(text, message):
    with pytest.raises(SecurityParameterError) as info:
        parse_probability(text)
    assert str(info.value) == message


def test_format_probability_rounds_down():
    assert format_probability(Fraction(2, 3)) == "0.666666"
    assert format_probability(Fraction(1)) == "1.000000"
    assert format_probability(Fraction(0)) == "0.000000"
    assert format_probability(Fraction(999_9999, 1000_0000)) == "0.999999"
    assert format_probability(Fraction(1, 3), places=2) == "0.33"
