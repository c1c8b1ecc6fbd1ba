"""The committed ``economics`` fixtures: the ledger's invariant, hand-computed rounds, the encoding,
and that each refused case is refused at its last event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_fixtures_support import COMMITTED, copy_committed, load, rehash, write

from pot.errors import PotError
from pot.fixtures.check import check_fixtures
from pot.fixtures.economics import A, B, C, F, P, replay

CASES = load(COMMITTED / "economics.json")
VALID = {n: c for n, c in CASES.items() if "expected" in c}
REFUSED = {n: c for n, c in CASES.items() if "expected_error" in c}


def total(state: dict[str, Any]) -> int:
    """Every wei a fixture state holds, summed from its JSON (pending slashes included)."""
    jobs = sum(int(j["escrow_wei"]) + int(j["pool_wei"]) + sum(map(int, j["stakes_wei"].values()))
               for j in state["jobs"].values())
    pending = sum(int(s["amount_wei"]) for s in state["slashes"] if s["status"] == "pending")
    return (sum(map(int, state["balances_wei"].values())) + int(state["training_pool_wei"])
            + int(state["insurance_fund_wei"]) + jobs + pending)


def hexid(account: bytes) -> str:
    return "0x" + account.hex()


def test_only_emission_changes_the_total_by_exactly_the_block_rewards() -> None:
    assert len(VALID) >= 12
    for name, case in VALID.items():
        minted = sum(int(e["block_reward_wei"]) for e in case["input"]["events"] if e["kind"] == "emit")
        final = case["expected"]["ledger"]
        assert total(final) == int(case["expected"]["total_wei"]), name
        assert total(final) == total(case["input"]["ledger"]) + minted, name


def test_a_round_is_paid_by_contribution_as_computed_by_hand() -> None:
    final = CASES["round_paid_by_contribution"]["expected"]["ledger"]
    # pool 50,000 + draw 100,000 = 150,000; A 100 x 10,000, B 100 x 5,000: 2:1; C slashed 800
    assert final["balances_wei"][hexid(A)] == "100000"
    assert final["balances_wei"][hexid(B)] == "55000"
    assert final["balances_wei"][hexid(C)] == "2000"
    assert final["balances_wei"][hexid(P)] == "950000"
    assert [(s["amount_wei"], s["release_block"], s["status"]) for s in final["slashes"]] == [
        ("800", "7201", "pending")]
    nobody = CASES["round_nobody_earned_keeps_the_escrow"]["expected"]["ledger"]
    (job,) = nobody["jobs"].values()
    assert (job["escrow_wei"], job["pool_wei"]) == ("500000", "50000")


def test_the_insurance_fund_pays_a_fraud_claim_up_to_half_of_itself() -> None:
    capped = CASES["fraud_claim_capped_at_half_the_fund"]
    before = int(capped["input"]["ledger"]["insurance_fund_wei"])
    after = capped["expected"]["ledger"]
    assert (before, after["insurance_fund_wei"]) == (800, "400")
    assert after["balances_wei"][hexid(F)] == str(500_000 + 400)
    below = CASES["fraud_claim_below_the_cap"]["expected"]["ledger"]
    assert below["insurance_fund_wei"] == str(1_000 - 10)


def test_each_refused_case_is_refused_at_its_last_event_only() -> None:
    assert len(REFUSED) >= 30
    for name, case in REFUSED.items():
        events = case["input"]["events"]
        if events:
            replay({"ledger": case["input"]["ledger"], "events": events[:-1]}, COMMITTED)
        with pytest.raises(PotError) as refused:
            replay(case["input"], COMMITTED)
        assert type(refused.value).__name__ == case["expected_error"], name
    names = {c["expected_error"] for c in REFUSED.values()}
    assert names == {"LedgerError", "DoubleSlashError", "AmountError", "ParameterError",
                     "MalformedInputError"}


def integers_outside_quality(value: Any, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in integers_outside_quality(v, k)]
    if isinstance(value, list):
        return [w for v in value for w in integers_outside_quality(v, key)]
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return [key] if is_int and key != "quality_bps" else []


def test_every_integer_but_quality_bps_is_a_decimal_string() -> None:
    for name, case in CASES.items():
        content = {k: v for k, v in case.items() if k != "_info"}
        assert integers_outside_quality(content) == [], name
    big = CASES["amounts_beyond_2_pow_64"]["expected"]["ledger"]
    assert int(big["balances_wei"][hexid(P)]) == 2**254 + 12_345 - (2**254 + 12_345) * 500 // 10_000 + (
        2**250 - 2**250 * 500 // 10_000)


def test_every_event_kind_appears_in_a_valid_case() -> None:
    kinds = {e["kind"] for c in VALID.values() for e in c["input"]["events"]}
    assert kinds == {"emit", "open_job", "fund_job", "join", "submit", "accept", "reject",
                     "finalize_round", "uphold_appeal", "release_slash", "prove_fraud", "close_job"}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"block_reward_wei": 1000003}, "input.events[0].block_reward_wei must be a decimal string, not "
                                        "a JSON number"),
        ({"block_reward_wei": "01000003"}, "input.events[0].block_reward_wei must be a decimal string "
                                           "without leading zeros"),
        ({"block_reward_wei": "1" * 79}, "input.events[0].block_reward_wei has more than 78 digits"),
    ],
)
def test_a_misencoded_integer_fails_its_case_as_malformed(tmp_path: Path, change: dict[str, Any],
                                                         why: str) -> None:
    path, cases = copy_committed("economics", tmp_path)
    cases["emission_without_jobs_is_carried"]["input"]["events"][0].update(change)
    rehash(cases["emission_without_jobs_is_carried"])
    write(path, cases)
    report = check_fixtures([path])
    assert [f.line() for f in report.failures] == [
        f"FAIL economics/emission_without_jobs_is_carried: malformed input: {why}"]


def test_a_wrong_final_balance_fails_naming_the_account(tmp_path: Path) -> None:
    path, cases = copy_committed("economics", tmp_path)
    cases["round_paid_by_contribution"]["expected"]["ledger"]["balances_wei"][hexid(A)] = "100001"
    rehash(cases["round_paid_by_contribution"])
    write(path, cases)
    (failure,) = check_fixtures([path]).failures
    assert failure.reason == (f'expected.ledger.balances_wei.{hexid(A)}: the fixture has "100001", '
                              'the library gives "100000"')
