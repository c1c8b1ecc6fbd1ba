"""The fixed-point layer: rounding rule, conversions, and the exact integer kernels."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pot.aggregation.errors import AggregationError
from pot.aggregation.fixedpoint import (
    FLOAT64_EXACT_INT,
    FRAC_BITS,
    MAX_ABS_VALUE,
    ceil_sqrt,
    div_round_half_even,
    from_fixed,
    gram,
    peak_abs,
    scale_to_norm,
    squared_norm,
    to_fixed,
)

DIFF = 2 * MAX_ABS_VALUE  # largest |x - y| the kernels accept
diffs = st.integers(-DIFF, DIFF)


def test_default_scale_is_the_circuits_scale_13() -> None:
    assert FRAC_BITS == 13
    assert to_fixed([1.0]).tolist() == [8192]
    assert to_fixed([1.0], frac_bits=4).tolist() == [16]


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(5, 2, 2), (7, 2, 4), (-5, 2, -2), (-7, 2, -4), (1, 3, 0), (2, 3, 1), (-2, 3, -1), (6, 4, 2)],
)
def test_ties_round_to_even_and_others_to_nearest(num: int, den: int, expected: int) -> None:
    assert div_round_half_even(np.array([num], dtype=np.int64), den).tolist() == [expected]


@given(st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=20), st.integers(1, 2**40))
def test_division_matches_python_fraction_rounding(nums: list[int], den: int) -> None:
    got = div_round_half_even(np.array(nums, dtype=np.int64), den).tolist()
    assert got == [round(Fraction(n, den)) for n in nums]


def test_to_fixed_rounds_half_to_even_like_the_integer_rule() -> None:
    halves = np.array([0.5, 1.5, 2.5, -0.5, -1.5]) / 2**FRAC_BITS
    assert to_fixed(halves).tolist() == [0, 2, 2, 0, -2]


def test_from_fixed_inverts_to_fixed_on_the_grid() -> None:
    v = np.array([-MAX_ABS_VALUE, -1, 0, 1, 12345, MAX_ABS_VALUE], dtype=np.int64)
    assert np.array_equal(to_fixed(from_fixed(v)), v)


@pytest.mark.parametrize("bad", [[np.nan], [np.inf], [2.0**18]])
def test_to_fixed_rejects_non_finite_and_out_of_range(bad: list[float]) -> None:
    with pytest.raises(AggregationError, match="to_fixed"):
        to_fixed(bad)


def test_to_fixed_rejects_a_scale_beyond_the_table() -> None:
    with pytest.raises(AggregationError, match="frac_bits must be in"):
        to_fixed([1.0], frac_bits=31)


def test_peak_abs_is_exact_at_int64_minimum() -> None:
    assert peak_abs(np.array([np.iinfo(np.int64).min], dtype=np.int64)) == 2**63


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 15, 16, 17, 2**62 + 1])
def test_ceil_sqrt_is_the_least_root_not_below(n: int) -> None:
    r = ceil_sqrt(n)
    assert r * r >= n
    assert r == 0 or (r - 1) * (r - 1) < n


@given(st.lists(diffs, max_size=40))
def test_squared_norm_is_exact_on_both_paths(values: list[int]) -> None:
    # Large values take the limb path, small ones the single dot product.
    assert squared_norm(np.array(values, dtype=np.int64)) == sum(v * v for v in values)


@pytest.mark.parametrize(
    "values",
    [[3_037_000_500], [DIFF, DIFF], [2**31, 2**31, -(2**31), 2**31]],  # squares sum past 2**63
)
def test_squared_norm_switches_to_limbs_just_past_int64(values: list[int]) -> None:
    assert sum(v * v for v in values) > 2**63 - 1
    assert squared_norm(np.array(values, dtype=np.int64)) == sum(v * v for v in values)


def test_squared_norm_limb_path_at_the_extremes() -> None:
    v = np.full(1000, -DIFF, dtype=np.int64)
    v[::2] = DIFF
    assert squared_norm(v) == 1000 * DIFF**2  # about 2**74: far beyond int64


@settings(deadline=None)  # the first call loads threadpoolctl
@given(st.lists(st.lists(diffs, min_size=3, max_size=3), min_size=1, max_size=6))
def test_gram_is_exact_on_the_limb_path(rows: list[list[int]]) -> None:
    block = np.array(rows, dtype=np.int64)
    expected = [[sum(a * b for a, b in zip(x, y, strict=True)) for y in rows] for x in rows]
    assert gram(block).tolist() == expected


def test_gram_is_exact_at_the_float64_boundary_of_the_single_product() -> None:
    # c * peak**2 just at 2**53: the single float64 product must still be exact.
    c = 8
    peak = int(np.sqrt(FLOAT64_EXACT_INT // c))
    assert c * peak * peak <= FLOAT64_EXACT_INT
    block = np.array([[peak] * c, [peak - 1] * (c - 1) + [-peak]], dtype=np.int64)
    rows = block.tolist()
    expected = [[sum(a * b for a, b in zip(x, y, strict=True)) for y in rows] for x in rows]
    assert gram(block).tolist() == expected


@given(
    st.lists(st.integers(-MAX_ABS_VALUE, MAX_ABS_VALUE), min_size=1, max_size=30),
    st.integers(1, 2**31 - 1),
)
def test_scale_to_norm_never_grows_a_coordinate_and_meets_the_bound(
    values: list[int], bound: int
) -> None:
    v = np.array(values, dtype=np.int64)
    sq = squared_norm(v)
    if sq <= bound * bound:
        return
    scaled = scale_to_norm(v, bound, sq).tolist()
    assert all(abs(s) <= abs(x) and s * x >= 0 for s, x in zip(scaled, values, strict=True))
    # rounding adds at most 1/2 per coordinate: |scaled| <= bound + sqrt(d) / 2
    assert math.sqrt(sum(s * s for s in scaled)) <= bound + math.sqrt(len(values)) / 2 + 1e-6
