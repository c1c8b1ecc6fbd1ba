"""The committed ``economics`` fixtures: the chain's money rules called as the chain calls them,
hand-computed values, conservation of every split, the encoding, and the refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_fixtures_support import COMMITTED, copy_committed, load, rehash, write

from pot.errors import PotError
from pot.fixtures.check import check_fixtures
from pot.fixtures.economics import RULES, A, B, C, replay

CASES = load(COMMITTED / "economics.json")
VALID = {n: c for n, c in CASES.items() if "expected" in c}
REFUSED = {n: c for n, c in CASES.items() if "expected_error" in c}


def hexid(account: bytes) -> str:
    return "0x" + account.hex()


def test_every_rule_the_chain_calls_has_a_valid_case() -> None:
    assert {c["input"]["rule"] for c in VALID.values()} == set(RULES) == {
        "emit_block", "settle", "slash", "insurance_payout"}


def test_every_emission_split_conserves_the_reward_and_the_carry() -> None:
    emissions = [c for c in VALID.values() if c["input"]["rule"] == "emit_block"]
    assert len(emissions) >= 4
    for case in emissions:
        given = int(case["input"]["block_reward_wei"]) + int(case["input"]["carry_wei"])
        out = case["expected"]
        shares = sum(map(int, out["job_shares_wei"].values()))
        assert int(out["producer_wei"]) + shares + int(out["carry_wei"]) == given


def test_every_settled_round_pays_at_most_its_pool_and_draw() -> None:
    for case in (c for c in VALID.values() if c["input"]["rule"] == "settle"):
        paid = sum(map(int, case["expected"]["rewards_wei"].values()))
        available = int(case["input"]["pool_wei"]) + int(case["expected"]["escrow_draw_wei"])
        assert paid <= available
        assert int(case["expected"]["escrow_draw_wei"]) <= int(case["input"]["escrow_wei"])


def test_a_round_is_paid_by_verified_samples_as_computed_by_hand() -> None:
    out = CASES["round_paid_by_verified_samples"]["expected"]
    # pool 50,000 + draw 500,000 // 5 = 150,000; A 200 samples, B 100: 2:1; C slashed 10 % of 8,000
    assert out == {"rewards_wei": {hexid(A): "100000", hexid(B): "50000"},
                   "slashes_wei": {hexid(C): "800"}, "escrow_draw_wei": "100000"}
    nobody = CASES["round_nobody_earned_keeps_the_escrow"]["expected"]
    assert nobody["escrow_draw_wei"] == "0"


def test_the_insurance_fund_pays_a_fraud_claim_up_to_half_of_itself() -> None:
    assert CASES["insurance_claim_capped_at_half_the_fund"]["expected"] == {"payout_wei": "400"}
    assert CASES["insurance_claim_below_the_cap"]["expected"] == {"payout_wei": "10"}


def test_each_refused_case_is_refused_with_its_error() -> None:
    assert len(REFUSED) >= 3
    for name, case in REFUSED.items():
        with pytest.raises(PotError) as refused:
            replay(case["input"], COMMITTED)
        assert type(refused.value).__name__ == case["expected_error"], name
    assert {c["expected_error"] for c in REFUSED.values()} == {"AmountError", "ParameterError"}


def plain_integers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [w for v in value.values() for w in plain_integers(v)]
    if isinstance(value, list):
        return [w for v in value for w in plain_integers(v)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def test_every_integer_is_a_decimal_string() -> None:
    for name, case in CASES.items():
        content = {k: v for k, v in case.items() if k != "_info"}
        assert plain_integers(content) == [], name
    big = CASES["emission_amounts_beyond_2_pow_64"]["expected"]
    reward = 2**254 + 12_345
    assert int(big["producer_wei"]) == reward - reward * 500 // 10_000


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"block_reward_wei": 1000003}, "input.block_reward_wei must be a decimal string without "
                                        "leading zeros"),
        ({"block_reward_wei": "01000003"}, "input.block_reward_wei must be a decimal string without "
                                           "leading zeros"),
        ({"block_reward_wei": str(2**256)}, "input.block_reward_wei must be an unsigned 256-bit integer"),
        ({"rule": "mint"}, "input.rule must be one of emit_block, settle, slash, insurance_payout"),
        ({"height": "1"}, "input has unknown keys: height"),
    ],
)
def test_a_misencoded_input_fails_its_case_as_malformed(tmp_path: Path, change: dict[str, Any],
                                                        why: str) -> None:
    path, cases = copy_committed("economics", tmp_path)
    cases["emission_without_jobs_is_carried"]["input"].update(change)
    rehash(cases["emission_without_jobs_is_carried"])
    write(path, cases)
    report = check_fixtures([path])
    assert [f.line() for f in report.failures] == [
        f"FAIL economics/emission_without_jobs_is_carried: malformed input: {why}"]


def test_a_wrong_reward_fails_naming_the_trainer(tmp_path: Path) -> None:
    path, cases = copy_committed("economics", tmp_path)
    cases["round_paid_by_verified_samples"]["expected"]["rewards_wei"][hexid(A)] = "100001"
    rehash(cases["round_paid_by_verified_samples"])
    write(path, cases)
    (failure,) = check_fixtures([path]).failures
    assert failure.reason == (f'expected.rewards_wei.{hexid(A)}: the fixture has "100001", '
                              'the library gives "100000"')
