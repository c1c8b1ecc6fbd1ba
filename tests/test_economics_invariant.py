"""The ledger's invariant over random event sequences: only emission changes the total.

Each example draws a genesis and a sequence of events. The events are drawn from the ledger's
current state (mostly valid: existing jobs, joined trainers, the current round, pending slashes,
rewarded bundles) with a share of arbitrary ones, so that both paths are exercised. After every
event:

- applied: the total of balances, pools, escrow, stakes, pending slashes and the fund, summed
  here from the canonical JSON, equals the genesis total plus the block rewards emitted so far;
- refused (a :class:`pot.economics.EconomicsError`): the canonical JSON is unchanged.

Every drawn event round-trips through JSON; at the end the ledger does too, and replaying the
applied events from the genesis gives the same JSON, byte for byte.
"""

from typing import Any

import hypothesis
from hypothesis import given, settings
from hypothesis import strategies as st

from pot.economics import (
    CHALLENGE_WINDOW_BLOCKS,
    EVENT_TYPES,
    Accept,
    CloseJob,
    EconomicsError,
    Emit,
    Event,
    FinalizeRound,
    FundJob,
    Join,
    Ledger,
    Offence,
    OpenJob,
    ProveFraud,
    Reject,
    ReleaseSlash,
    SlashStatus,
    SubmissionStatus,
    Submit,
    UpholdAppeal,
    event_from_obj,
    event_to_obj,
)

WINDOW = CHALLENGE_WINDOW_BLOCKS
ACCOUNTS = [bytes([n]) * 48 for n in (0xA1, 0xA2, 0xA3, 0xA4)]
JOBS = [bytes([n]) * 32 for n in (0x01, 0x02)]
account = st.sampled_from(ACCOUNTS)
kinds = st.sampled_from(sorted(EVENT_TYPES))

wei = st.one_of(st.integers(0, 10**6), st.integers(0, 10**24))


def total_from_json(obj: dict[str, Any]) -> int:
    """Sum every holding of a ledger's JSON object (wei), independently of Ledger.total_wei."""
    jobs = obj["jobs"].values()
    return (
        sum(obj["balances_wei"].values())
        + obj["training_pool_wei"]
        + obj["insurance_fund_wei"]
        + sum(j["escrow_wei"] + j["pool_wei"] + sum(j["stakes_wei"].values()) for j in jobs)
        + sum(s["amount_wei"] for s in obj["slashes"] if s["status"] == "pending")
    )


def pick(data: st.DataObject, likely: list[Any], anything: st.SearchStrategy[Any]) -> Any:
    """Draw from ``likely`` (when it has members) four times in five, else from ``anything``."""
    if likely and data.draw(st.integers(0, 4)) > 0:
        return data.draw(st.sampled_from(likely))
    return data.draw(anything)


def candidates(ledger: Ledger) -> dict[str, list[Any]]:
    """Return, per event kind, the (job, ...) targets the ledger's state makes valid."""
    open_jobs = sorted(j for j, job in ledger.jobs.items() if job.open)
    waiting = sorted(
        (j, ledger.jobs[j].round, t)
        for j in open_jobs
        for t, s in ledger.jobs[j].submissions.items()
        if s.status is SubmissionStatus.SUBMITTED
    )
    busy = {j for j, _, _ in waiting}
    pending = sorted(k for k, s in ledger.slashes.items() if s.status is SlashStatus.PENDING)
    return {
        "open_job": [j for j in JOBS if j not in ledger.jobs],
        "fund_job": open_jobs,
        "join": open_jobs,
        "submit": [
            (j, ledger.jobs[j].round, t)
            for j in open_jobs
            for t in sorted(ledger.jobs[j].stakes_wei)
            if t not in ledger.jobs[j].submissions
        ],
        "accept": waiting,
        "reject": waiting,
        "finalize_round": [(j, ledger.jobs[j].round) for j in open_jobs if j not in busy],
        "close_job": [  # after a few rounds, so that jobs live long enough to pay and slash
            j for j in open_jobs if ledger.jobs[j].round >= 3 and not ledger.jobs[j].submissions
        ],
        "prove_fraud": sorted(k for k in ledger.rewards_wei if k not in ledger.slashes),
        "release_slash": [k for k in pending if ledger.height >= ledger.slashes[k].release_block],
        "uphold_appeal": [
            k
            for k in pending
            if ledger.height < ledger.slashes[k].release_block
            and ledger.slashes[k].offence is not Offence.FRAUD
        ],
    }


def draw_event(data: st.DataObject, ledger: Ledger) -> Event:
    """Draw the next event: mostly one the ledger's state makes valid, sometimes any event."""
    targets = candidates(ledger)
    kind = pick(data, ["emit", *(k for k, v in targets.items() if v)], kinds)
    job = st.sampled_from(JOBS)
    key = st.tuples(job, st.integers(0, 3), account)
    if kind == "emit":
        block = pick(data, [ledger.height + 1], st.integers(0, ledger.height + 2))
        return Emit(block, data.draw(account), data.draw(wei))
    if kind == "open_job":
        new_job = pick(data, targets[kind], job)
        return OpenJob(new_job, data.draw(account), data.draw(wei), data.draw(wei))
    if kind == "fund_job":
        return FundJob(pick(data, targets[kind], job), data.draw(wei))
    if kind == "join":
        trainer = data.draw(account)
        balance = ledger.balances_wei.get(trainer, 0)
        stake = pick(data, [balance, balance // 2 + 1], wei)
        return Join(pick(data, targets[kind], job), trainer, stake)
    if kind == "submit":
        return Submit(*pick(data, targets[kind], key))
    if kind == "accept":
        quality = data.draw(st.sampled_from([0, 5_000, 10_000]) | st.integers(0, 10_000))
        samples = data.draw(st.integers(0, 10**4))
        job_id, rnd, trainer = pick(data, targets[kind], key)
        return Accept(job_id, rnd, trainer, samples, quality)
    if kind == "reject":
        offence = data.draw(st.sampled_from([Offence.INVALID_PROOF, Offence.MISSED_DEADLINE]))
        job_id, rnd, trainer = pick(data, targets[kind], key)
        return Reject(job_id, rnd, trainer, offence)
    if kind == "finalize_round":
        return FinalizeRound(*pick(data, targets[kind], st.tuples(job, st.integers(0, 3))))
    if kind == "close_job":
        return CloseJob(pick(data, targets[kind], job))
    job_id, rnd, trainer = pick(data, targets[kind], key)
    if kind == "prove_fraud":
        return ProveFraud(job_id, rnd, trainer)
    if kind == "release_slash":
        return ReleaseSlash(job_id, rnd, trainer)
    return UpholdAppeal(job_id, rnd, trainer)


@settings(max_examples=120, deadline=None)
@given(st.lists(wei, min_size=len(ACCOUNTS), max_size=len(ACCOUNTS)), st.data())
def test_only_emission_changes_the_total(amounts: list[int], data: st.DataObject) -> None:
    balances = dict(zip(ACCOUNTS, amounts, strict=True))
    ledger = Ledger.genesis(balances)
    expected_total = sum(balances.values())
    applied: list[Event] = []
    waited = False
    for _ in range(data.draw(st.integers(1, 50))):
        pending = any(s.status is SlashStatus.PENDING for s in ledger.slashes.values())
        if pending and not waited and data.draw(st.integers(0, 3)) == 0:
            waited = True  # once: a challenge window of empty blocks, so that slashes release
            run = [Emit(ledger.height + i, ACCOUNTS[0], 0) for i in range(1, WINDOW + 1)]
            for empty_block in run:
                ledger.apply(empty_block)
            applied.extend(run)
            assert ledger.total_wei() == expected_total
            continue
        event = draw_event(data, ledger)
        assert event_from_obj(event_to_obj(event)) == event
        before = ledger.to_json()
        try:
            ledger.apply(event)
        except EconomicsError:
            assert ledger.to_json() == before
            continue
        applied.append(event)
        hypothesis.event(f"applied {event.KIND}")
        if isinstance(event, Emit):
            expected_total += event.block_reward_wei
        assert total_from_json(ledger.to_obj()) == ledger.total_wei() == expected_total

    text = ledger.to_json()
    assert Ledger.from_json(text) == ledger
    replayed = Ledger.genesis(balances)
    for done in applied:
        replayed.apply(done)
    assert replayed.to_json() == text
