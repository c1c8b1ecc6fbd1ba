"""The pure economics rules: constants, amounts, emission, rewards, slashing, insurance.

Expected values are computed by hand in the comments; properties check that no wei is lost.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pot.economics import (
    BPS_DENOMINATOR,
    CHALLENGE_WINDOW_BLOCKS,
    SLASH_BPS,
    TRAINING_POOL_BPS,
    UINT256_MAX_WEI,
    AmountError,
    ConstantsError,
    ParameterError,
    check_wei,
    constants,
    contribution,
    emit_block,
    insurance_payout,
    mul_bps,
    pro_rata,
    release_block,
    round_rewards,
    settle_round,
    slash_amount,
)

A, B, C = b"\x0a" * 48, b"\x0b" * 48, b"\x0c" * 48
J1, J2, J3 = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32

amounts = st.integers(0, 2**128)
weights = st.dictionaries(st.binary(min_size=48, max_size=48), st.integers(0, 2**64), max_size=6)


# --- constants -------------------------------------------------------------------------


def test_constants_table_has_the_issue_values() -> None:
    assert (TRAINING_POOL_BPS, SLASH_BPS, BPS_DENOMINATOR) == (500, 1_000, 10_000)
    assert UINT256_MAX_WEI == 2**256 - 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLASH_BPS", 0),
        ("SLASH_BPS", BPS_DENOMINATOR + 1),
        ("TRAINING_POOL_BPS", -1),
        ("QUALITY_FULL_BPS", 5_000),
        ("CHALLENGE_WINDOW_BLOCKS", 0),
        ("UINT256_MAX_WEI", 2**255),
    ],
)
def test_inconsistent_constants_table_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: int
) -> None:
    constants._check_constants()
    monkeypatch.setattr(constants, name, value)
    with pytest.raises(ConstantsError):
        constants._check_constants()


# --- amounts ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 2**256, True, 1.0, "1", None])
def test_check_wei_refuses_non_uint256(bad: object) -> None:
    with pytest.raises(AmountError):
        check_wei(bad, "x")


def test_check_wei_accepts_the_uint256_bounds() -> None:
    assert check_wei(0, "x") == 0
    assert check_wei(2**256 - 1, "x") == 2**256 - 1


def test_mul_bps_rounds_down() -> None:
    assert mul_bps(19_999, 500) == 999  # 999.95
    assert mul_bps(10_000, 10_000) == 10_000
    with pytest.raises(ParameterError):
        mul_bps(1, 10_001)


def test_pro_rata_with_no_weight_keeps_everything_as_remainder() -> None:
    assert pro_rata(77, {}) == ({}, 77)
    assert pro_rata(77, {B: 0, A: 0}) == ({A: 0, B: 0}, 77)


def test_pro_rata_refuses_negative_weight() -> None:
    with pytest.raises(ParameterError):
        pro_rata(10, {A: -1, B: 2})


@given(amounts, weights)
def test_pro_rata_loses_no_wei_and_leaves_less_than_one_wei_per_id(
    total: int, w: dict[bytes, int]
) -> None:
    shares, remainder = pro_rata(total, w)
    assert sum(shares.values()) + remainder == total
    assert list(shares) == sorted(w)
    if sum(w.values()) > 0:
        assert 0 <= remainder < sum(1 for v in w.values() if v > 0)
        for i, share in shares.items():  # share is floor(total * w_i / W)
            assert share * sum(w.values()) <= total * w[i] < (share + 1) * sum(w.values())


# --- emission --------------------------------------------------------------------------


def test_emission_splits_pool_by_escrow() -> None:
    # pool = 1_000_000 * 500 / 10_000 = 50_000; A: 50_000 * 300/400, B: 50_000 * 100/400
    e = emit_block(1_000_000, {J1: 300, J2: 100})
    assert (e.producer_wei, e.job_shares_wei, e.carry_wei) == (
        950_000,
        {J1: 37_500, J2: 12_500},
        0,
    )


def test_emission_floors_and_carries_the_remainder() -> None:
    # pool = floor(1_999 * 0.05) = 99, producer keeps 1_900; 99 + carry 2 = 101 over three
    # equal jobs: 33 each, 2 carried
    e = emit_block(1_999, {J3: 1, J1: 1, J2: 1}, carry_wei=2)
    assert e.producer_wei == 1_900
    assert e.job_shares_wei == {J1: 33, J2: 33, J3: 33}
    assert list(e.job_shares_wei) == [J1, J2, J3]
    assert e.carry_wei == 2


def test_emission_without_escrowed_jobs_carries_the_whole_pool() -> None:
    assert emit_block(100, {}, carry_wei=7).carry_wei == 12  # 7 + 5
    e = emit_block(100, {J1: 0}, carry_wei=7)
    assert (e.producer_wei, e.job_shares_wei, e.carry_wei) == (95, {J1: 0}, 12)


def test_emission_refuses_negative_and_overflowing_amounts() -> None:
    with pytest.raises(AmountError):
        emit_block(-1, {})
    with pytest.raises(AmountError):
        emit_block(1, {J1: -5})
    with pytest.raises(AmountError):
        emit_block(10**6, {}, carry_wei=UINT256_MAX_WEI)


@given(amounts, st.dictionaries(st.binary(min_size=32, max_size=32), amounts), amounts)
def test_emission_accounts_for_every_wei(
    reward: int, escrows: dict[bytes, int], carry: int
) -> None:
    e = emit_block(reward, escrows, carry)
    assert e.producer_wei + sum(e.job_shares_wei.values()) + e.carry_wei == reward + carry
    assert e.producer_wei == reward - reward * TRAINING_POOL_BPS // BPS_DENOMINATOR


# --- rewards ---------------------------------------------------------------------------


def test_contribution_is_samples_times_quality() -> None:
    assert contribution(100, 10_000) == 1_000_000
    assert contribution(100, 5_000) == 500_000
    assert contribution(300, 0) == 0
    with pytest.raises(ParameterError):
        contribution(1, 10_001)
    with pytest.raises(ParameterError):
        contribution(-1, 10)


def test_round_rewards_hand_computed() -> None:
    # 1_000 over 1:2 -> 333.3 and 666.6 -> 333, 666, remainder 1
    assert round_rewards(1_000, {B: 2, A: 1}) == ({A: 333, B: 666}, 1)
    # quality weights: A full on 100 samples, B half on 100, C excluded by the robust rule
    contributions = {A: contribution(100, 10_000), B: contribution(100, 5_000), C: 0}
    assert round_rewards(999, contributions) == ({A: 666, B: 333, C: 0}, 0)


def test_round_without_contribution_carries_the_pool() -> None:
    assert round_rewards(500, {}) == ({}, 500)
    assert round_rewards(500, {A: 0}) == ({A: 0}, 500)


def test_settle_round_draws_at_most_the_escrow() -> None:
    # pool 10 + draw min(100, 50) = 60 over three equal trainers
    s = settle_round(10, 50, 100, {A: 1, B: 1, C: 1})
    assert (s.payouts_wei, s.escrow_draw_wei, s.carry_wei) == ({A: 20, B: 20, C: 20}, 50, 0)
    # pool 10 + draw 100 = 110 over 1:2 -> 36.6, 73.3 -> 36, 73, carry 1
    s = settle_round(10, 500, 100, {A: 1, B: 2})
    assert (s.payouts_wei, s.escrow_draw_wei, s.carry_wei) == ({A: 36, B: 73}, 100, 1)


def test_settle_round_nobody_earned_leaves_escrow_alone() -> None:
    s = settle_round(10, 500, 100, {A: 0})
    assert (s.payouts_wei, s.escrow_draw_wei, s.carry_wei) == ({A: 0}, 0, 10)


@given(amounts, amounts, amounts, weights)
def test_settle_round_accounts_for_every_wei(
    pool: int, escrow: int, per_round: int, w: dict[bytes, int]
) -> None:
    s = settle_round(pool, escrow, per_round, w)
    assert sum(s.payouts_wei.values()) + s.carry_wei == pool + s.escrow_draw_wei
    assert s.escrow_draw_wei <= min(escrow, per_round)


# --- slashing and insurance ------------------------------------------------------------


def test_slash_amount_is_ten_percent_rounded_down() -> None:
    assert slash_amount(1_000) == 100
    assert slash_amount(1_009) == 100
    assert slash_amount(9) == 0
    assert slash_amount(10**18) == 10**17
    with pytest.raises(AmountError):
        slash_amount(-10)


def test_release_block_is_offence_block_plus_window() -> None:
    assert release_block(10) == 10 + CHALLENGE_WINDOW_BLOCKS
    with pytest.raises(ParameterError):
        release_block(-1)
    with pytest.raises(ParameterError):
        release_block(2**64 - 1)


def test_insurance_payout_is_claim_capped_at_half_the_fund() -> None:
    assert insurance_payout(1_000, 300) == 300
    assert insurance_payout(1_000, 800) == 500
    assert insurance_payout(1_001, 800) == 500  # floor(500.5)
    assert insurance_payout(0, 5) == 0
    with pytest.raises(AmountError):
        insurance_payout(10, -1)
