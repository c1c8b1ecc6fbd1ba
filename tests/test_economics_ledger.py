"""The economics ledger: a hand-computed job from escrow to close, each rule's refusals, JSON."""

import json

import pytest

from pot.economics import (
    CHALLENGE_WINDOW_BLOCKS,
    Accept,
    AmountError,
    CloseJob,
    DoubleSlashError,
    Emit,
    Event,
    FinalizeRound,
    FundJob,
    Join,
    Ledger,
    LedgerError,
    Offence,
    OpenJob,
    ProveFraud,
    Reject,
    ReleaseSlash,
    SlashStatus,
    Submit,
    UpholdAppeal,
    event_from_json,
    event_to_json,
)
from pot.errors import MalformedInputError

F, P = b"\xf0" * 48, b"\xee" * 48  # funder, block producer
A, B, C = b"\x0a" * 48, b"\x0b" * 48, b"\x0c" * 48  # trainers
J, K = b"\x01" * 32, b"\x02" * 32  # jobs
INVALID, LATE = Offence.INVALID_PROOF, Offence.MISSED_DEADLINE


def genesis() -> Ledger:
    """F holds 1_000_000 wei, A, B and C 10_000 each; 1_030_000 in all."""
    return Ledger.genesis({F: 1_000_000, A: 10_000, B: 10_000, C: 10_000})


def apply_all(ledger: Ledger, events: list[Event]) -> Ledger:
    """Apply ``events`` in order and return the ledger."""
    for event in events:
        ledger.apply(event)
    return ledger


def advance_to(ledger: Ledger, block: int) -> None:
    """Emit zero-reward blocks until the ledger is at ``block``."""
    for height in range(ledger.height + 1, block + 1):
        ledger.apply(Emit(height, P, 0))


def staked_job() -> Ledger:
    """J escrows 500_000 at 100_000 a round; A, B, C stake 10_000, 5_000, 8_000; block 1 pays
    1_000_000, of which 50_000 goes to J (the only job)."""
    return apply_all(
        genesis(),
        [
            OpenJob(J, F, 500_000, 100_000),
            Join(J, A, 10_000),
            Join(J, B, 5_000),
            Join(J, C, 8_000),
            Emit(1, P, 1_000_000),
            Submit(J, 0, A),
            Submit(J, 0, B),
            Submit(J, 0, C),
        ],
    )


def test_a_job_from_escrow_to_close_hand_computed() -> None:
    ledger = staked_job()
    assert ledger.jobs[J].pool_wei == 50_000
    assert ledger.balances_wei[P] == 950_000

    # round 0: A full quality on 100 samples (1_000_000), B half (500_000), C invalid proof
    apply_all(ledger, [Accept(J, 0, A, 100, 10_000), Accept(J, 0, B, 100, 5_000)])
    ledger.apply(Reject(J, 0, C, INVALID))
    assert ledger.jobs[J].stakes_wei[C] == 7_200  # 8_000 - 800
    assert ledger.slashes[(J, 0, C)].release_block == 1 + CHALLENGE_WINDOW_BLOCKS

    # round pool 50_000 + draw 100_000 = 150_000 -> A 2/3, B 1/3
    ledger.apply(FinalizeRound(J, 0))
    assert ledger.balances_wei[A] == 100_000
    assert ledger.balances_wei[B] == 5_000 + 50_000
    assert ledger.balances_wei[C] == 2_000
    assert (ledger.jobs[J].escrow_wei, ledger.jobs[J].pool_wei, ledger.jobs[J].round) == (
        400_000,
        0,
        1,
    )

    # the slash becomes final only once the window has passed
    advance_to(ledger, CHALLENGE_WINDOW_BLOCKS)
    with pytest.raises(LedgerError, match="open until block 7201"):
        ledger.apply(ReleaseSlash(J, 0, C))
    advance_to(ledger, CHALLENGE_WINDOW_BLOCKS + 1)
    ledger.apply(ReleaseSlash(J, 0, C))
    assert ledger.insurance_fund_wei == 800

    # round 1: A alone earns the round's 100_000 draw; fraud is proven afterwards
    apply_all(ledger, [Submit(J, 1, A), Accept(J, 1, A, 10, 10_000), FinalizeRound(J, 1)])
    assert ledger.balances_wei[A] == 200_000
    assert ledger.rewards_wei[(J, 1, A)] == 100_000
    ledger.apply(ProveFraud(J, 1, A))
    # claim 100_000, capped at half the fund: 400 to F; A's stake loses 10% (1_000), pending
    assert ledger.insurance_fund_wei == 400
    assert ledger.balances_wei[F] == 500_400
    assert ledger.jobs[J].stakes_wei[A] == 9_000
    assert ledger.slashes[(J, 1, A)].status is SlashStatus.PENDING
    with pytest.raises(DoubleSlashError):
        ledger.apply(ProveFraud(J, 1, A))
    with pytest.raises(LedgerError, match="not appealable"):
        ledger.apply(UpholdAppeal(J, 1, A))

    ledger.apply(CloseJob(J))
    assert ledger.balances_wei == {
        F: 500_400 + 300_000,
        P: 950_000,
        A: 200_000 + 9_000,
        B: 55_000 + 5_000,
        C: 2_000 + 7_200,
    }
    assert (ledger.training_pool_wei, ledger.insurance_fund_wei) == (0, 400)
    assert ledger.total_wei() == 1_030_000 + 1_000_000


def test_upheld_appeal_returns_the_whole_slash_and_the_offence_stays_recorded() -> None:
    ledger = staked_job()
    ledger.apply(Reject(J, 0, C, LATE))
    ledger.apply(UpholdAppeal(J, 0, C))
    assert ledger.jobs[J].stakes_wei[C] == 8_000
    assert ledger.slashes[(J, 0, C)].status is SlashStatus.VOIDED
    with pytest.raises(LedgerError, match="no pending slash"):
        ledger.apply(ReleaseSlash(J, 0, C))
    with pytest.raises(LedgerError, match="no pending slash"):
        ledger.apply(UpholdAppeal(J, 0, C))


def test_appeal_after_the_window_is_refused() -> None:
    ledger = staked_job()
    ledger.apply(Reject(J, 0, C, INVALID))
    advance_to(ledger, 1 + CHALLENGE_WINDOW_BLOCKS)
    with pytest.raises(LedgerError, match="window closed at block 7201"):
        ledger.apply(UpholdAppeal(J, 0, C))


def test_appeal_after_the_job_closed_pays_the_balance() -> None:
    ledger = staked_job()
    ledger.apply(Reject(J, 0, C, INVALID))
    apply_all(ledger, [Reject(J, 0, A, LATE), Reject(J, 0, B, LATE)])
    apply_all(ledger, [FinalizeRound(J, 0), CloseJob(J)])
    assert ledger.balances_wei[C] == 2_000 + 7_200
    ledger.apply(UpholdAppeal(J, 0, C))
    assert ledger.balances_wei[C] == 10_000


def test_a_round_nobody_earned_keeps_escrow_and_carries_the_pool() -> None:
    ledger = staked_job()
    apply_all(ledger, [Accept(J, 0, A, 100, 0), Reject(J, 0, B, LATE), Reject(J, 0, C, LATE)])
    ledger.apply(FinalizeRound(J, 0))
    assert (ledger.jobs[J].escrow_wei, ledger.jobs[J].pool_wei) == (500_000, 50_000)
    assert ledger.rewards_wei[(J, 0, A)] == 0


def test_emission_follows_escrow_and_waits_when_no_job_is_open() -> None:
    ledger = genesis()
    ledger.apply(Emit(1, P, 1_000))  # pool 50, no job: carried
    assert ledger.training_pool_wei == 50
    apply_all(ledger, [OpenJob(J, F, 300, 1), OpenJob(K, F, 100, 1)])
    ledger.apply(Emit(2, P, 1_010))  # pool 50 + 50 = 100 by 3:1 -> 75, 25
    assert (ledger.jobs[J].pool_wei, ledger.jobs[K].pool_wei, ledger.training_pool_wei) == (
        75,
        25,
        0,
    )
    ledger.apply(FundJob(K, 200))  # now 300:300
    ledger.apply(Emit(3, P, 100))  # pool 5 -> 2 and 2, 1 carried
    assert (ledger.jobs[J].pool_wei, ledger.jobs[K].pool_wei, ledger.training_pool_wei) == (
        77,
        27,
        1,
    )
    ledger.apply(CloseJob(K))  # K's accrued pool goes back to the training pool
    assert ledger.training_pool_wei == 28
    assert ledger.balances_wei[P] == 950 + 960 + 95
    assert ledger.total_wei() == 1_030_000 + 1_000 + 1_010 + 100


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([Emit(2, P, 1)], "expected block 1"),
        ([OpenJob(J, F, 1, 1), OpenJob(J, F, 1, 1)], "already exists"),
        ([OpenJob(J, F, 2_000_000, 1)], "holds 1000000 wei"),
        ([FundJob(J, 1)], "does not exist"),
        ([OpenJob(J, F, 1, 1), Join(J, A, 0)], "must be positive"),
        ([OpenJob(J, F, 1, 1), Join(J, A, 10_001)], "holds 10000 wei"),
        ([OpenJob(J, F, 1, 1), Join(J, A, 1), Join(J, A, 1)], "already joined"),
        ([OpenJob(J, F, 1, 1), Submit(J, 0, A)], "has not joined"),
        ([OpenJob(J, F, 1, 1), Join(J, A, 1), Submit(J, 1, A)], "in round 0, not 1"),
        ([OpenJob(J, F, 1, 1), Join(J, A, 1), Submit(J, 0, A), Submit(J, 0, A)], "already"),
        ([OpenJob(J, F, 1, 1), Join(J, A, 1), Accept(J, 0, A, 1, 1)], "no unjudged bundle"),
        ([OpenJob(J, F, 1, 1), Join(J, A, 1), Submit(J, 0, A), FinalizeRound(J, 0)], "unjudged"),
        ([OpenJob(J, F, 1, 1), Join(J, A, 1), Submit(J, 0, A), CloseJob(J)], "finalise it"),
        ([OpenJob(J, F, 1, 1), CloseJob(J), Join(J, A, 1)], "is closed"),
        ([OpenJob(J, F, 1, 1), ProveFraud(J, 0, A)], "no rewarded bundle"),
        ([OpenJob(J, F, 1, 1), ReleaseSlash(J, 0, A)], "no pending slash"),
    ],
)
def test_rule_breaking_event_is_refused_and_changes_nothing(
    events: list[Event], message: str
) -> None:
    ledger = apply_all(genesis(), events[:-1])
    before = ledger.to_json()
    with pytest.raises(LedgerError, match=message):
        ledger.apply(events[-1])
    assert ledger.to_json() == before


def test_same_offence_is_never_slashed_twice() -> None:
    ledger = staked_job()
    ledger.apply(Reject(J, 0, C, INVALID))
    before = ledger.to_json()
    with pytest.raises(LedgerError, match="no unjudged bundle"):
        ledger.apply(Reject(J, 0, C, LATE))
    assert ledger.to_json() == before


def test_overflowing_credit_is_refused_and_changes_nothing() -> None:
    ledger = Ledger.genesis({F: 2**256 - 10})
    before = ledger.to_json()
    with pytest.raises(AmountError):
        ledger.apply(Emit(1, F, 100))
    assert ledger.to_json() == before


def test_genesis_refuses_bad_ids_and_amounts() -> None:
    with pytest.raises(Exception, match="48 bytes"):
        Ledger.genesis({b"\x01" * 20: 1})
    with pytest.raises(AmountError):
        Ledger.genesis({A: 2**255, B: 2**255})


# --- JSON ------------------------------------------------------------------------------


def test_ledger_json_round_trips_and_is_canonical() -> None:
    ledger = staked_job()
    apply_all(ledger, [Accept(J, 0, A, 100, 10_000), Reject(J, 0, C, INVALID)])
    text = ledger.to_json()
    assert " " not in text
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    again = Ledger.from_json(text)
    assert again == ledger
    assert again.to_json() == text
    obj = json.loads(text)
    assert obj["jobs"]["0x" + "01" * 32]["stakes_wei"]["0x" + "0c" * 48] == 7_200
    assert obj["slashes"] == [
        {
            "job": "0x" + "01" * 32,
            "round": 0,
            "trainer": "0x" + "0c" * 48,
            "offence": "invalid_proof",
            "amount_wei": 800,
            "release_block": 7201,
            "status": "pending",
        }
    ]


def test_every_event_kind_round_trips_through_json() -> None:
    events: list[Event] = [
        Emit(1, P, 2**256 - 1),
        OpenJob(J, F, 5, 1),
        FundJob(J, 1),
        Join(J, A, 3),
        Submit(J, 0, A),
        Accept(J, 0, A, 2**64 - 1, 10_000),
        Reject(J, 0, A, LATE),
        FinalizeRound(J, 0),
        UpholdAppeal(J, 0, A),
        ReleaseSlash(J, 0, A),
        ProveFraud(J, 0, A),
        CloseJob(J),
    ]
    for event in events:
        text = event_to_json(event)
        assert event_from_json(text) == event
    assert event_to_json(Reject(J, 3, A, LATE)) == (
        '{"job":"0x' + "01" * 32 + '","kind":"reject","offence":"missed_deadline",'
        '"round":3,"trainer":"0x' + "0a" * 48 + '"}'
    )


@pytest.mark.parametrize(
    "text",
    [
        "{",
        '{"kind":"emit","block":1,"producer":"0x' + "ee" * 48 + '","block_reward_wei":1.5}',
        '{"kind":"emit","block":1,"producer":"0x' + "EE" * 48 + '","block_reward_wei":1}',
        '{"kind":"emit","block":1,"producer":"0x' + "ee" * 20 + '","block_reward_wei":1}',
        '{"kind":"emit","block":-1,"producer":"0x' + "ee" * 48 + '","block_reward_wei":1}',
        '{"kind":"emit","block":1,"producer":"0x' + "ee" * 48 + '","block_reward_wei":true}',
        '{"kind":"emit","block":1,"producer":"0x' + "ee" * 48 + '"}',
        '{"kind":"emit","block":1,"producer":"0x' + "ee" * 48 + '","block_reward_wei":1,"x":1}',
        '{"kind":"mint","block":1}',
        '{"kind":["emit"]}',
        '{"kind":"reject","job":"0x'
        + "01" * 32
        + '","round":0,"trainer":"0x'
        + "0a" * 48
        + '","offence":"fraud"}',
        '{"kind":"accept","job":"0x'
        + "01" * 32
        + '","round":0,"trainer":"0x'
        + "0a" * 48
        + '","verified_samples":1,"quality_bps":10001}',
    ],
)
def test_malformed_event_json_is_refused(text: str) -> None:
    with pytest.raises(MalformedInputError):
        event_from_json(text)


def test_malformed_ledger_json_is_refused() -> None:
    ledger = staked_job()
    ledger.apply(Reject(J, 0, C, INVALID))
    good = json.loads(ledger.to_json())

    def refused(obj: object) -> None:
        with pytest.raises(MalformedInputError):
            Ledger.from_json(json.dumps(obj))

    refused({**good, "extra": 1})
    refused({k: v for k, v in good.items() if k != "height"})
    refused({**good, "slashes": good["slashes"] * 2})  # the same offence twice
    refused({**good, "training_pool_wei": 2**256 - 1})  # the total overflows
    refused({**good, "jobs": {"0x01": good["jobs"]["0x" + "01" * 32]}})
    job_hex = "0x" + "01" * 32
    job = good["jobs"][job_hex]
    refused({**good, "jobs": {job_hex: {**job, "open": 1}}})
    refused({**good, "slashes": [{**good["slashes"][0], "status": "lost"}]})
    # parts that parse but do not agree with one another
    refused({**good, "slashes": [{**good["slashes"][0], "job": "0x" + "02" * 32}]})
    refused({**good, "slashes": [{**good["slashes"][0], "round": 1}]})
    reward = {"job": job_hex, "round": 0, "trainer": "0x" + "0a" * 48, "amount_wei": 1}
    refused({**good, "rewards": [reward]})  # round 0 is not finalised yet
    refused({**good, "jobs": {job_hex: {**job, "open": False}}})  # closed, but holds wei
    stranger = {"0x" + "0d" * 48: {"status": "submitted", "verified_samples": 0, "quality_bps": 0}}
    refused({**good, "jobs": {job_hex: {**job, "submissions": stranger}}})
    waiting = {"0x" + "0a" * 48: {"status": "submitted", "verified_samples": 5, "quality_bps": 0}}
    refused({**good, "jobs": {job_hex: {**job, "submissions": waiting}}})
