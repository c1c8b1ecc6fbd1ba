"""The money of the chain: escrow, stakes, emission, settled rounds, slashes and the insurance fund.

The executor here settles with pot's economics (:func:`pot.chain.settler.economics_settle`);
the verdicts come from a table (see ``test_chain_support``), so each test chooses who is accepted,
rejected or silent and checks where every wei goes. Expected amounts are worked out by hand from
the rules in ``docs/economics.md``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from test_chain_support import (
    CALLER,
    CALLER_BALANCE_WEI,
    DATASET_COMMITMENT,
    STAKE_WEI,
    TRAINER_BALANCE_WEI,
    Scenario,
    assert_reverts,
    make_calldata,
    open_job,
    pubkey,
    verdict_table_verifier,
)

from pot.chain.errors import (
    ChallengeWindowError,
    EmissionError,
    FundError,
    InsufficientBalanceError,
    JobClosedError,
    JoinError,
    NoPendingSlashError,
    VerifierFaultError,
)
from pot.chain.fixed_types import U64, Bytes48
from pot.chain.hooks import job_aggregate
from pot.chain.settler import economics_settle
from pot.chain.store import Store
from pot.chain.tx import address_of
from pot.economics.constants import CHALLENGE_WINDOW_BLOCKS
from pot.verdict import Verdict

PRODUCER = address_of(pubkey(21))
SLASH_WEI = STAKE_WEI // 10  # SLASH_BPS = 1_000 of a 1 ETH stake


def economics_job(
    path: Path, table: dict[tuple[int, bytes], Verdict], escrow: int = 1000, trainers: int = 3,
    **kwargs: Any,
) -> Scenario:
    """A job settled by pot's economics, with verdicts from ``table``."""
    executor_kwargs = {"settle": economics_settle, **kwargs.pop("executor_kwargs", {})}
    return open_job(
        path, trainers=trainers, verify=verdict_table_verifier(table), escrow=escrow,
        executor_kwargs=executor_kwargs, **kwargs,
    )


def accept(*samples: int) -> dict[tuple[int, bytes], Verdict]:
    """Round-0 table accepting trainer i with ``samples[i]`` verified samples."""
    return {(0, bytes(pubkey(i))): Verdict(True, "ok", n) for i, n in enumerate(samples)}


def play(s: Scenario, number: int, provers: list[int] | None = None) -> None:
    """Submit every trainer, reveal, prove ``provers`` (default all), move past the deadline."""
    s.submit_all(number)
    s.reveal(number)
    s.prove_all(number, [pubkey(i) for i in provers] if provers is not None else None)
    s.after_proof_deadline(number)


# -- escrow and stakes ---------------------------------------------------------------------------


def test_request_escrows_its_value_from_the_caller(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db", escrow=1234)
    assert s.store.balance(CALLER) == CALLER_BALANCE_WEI - 1234
    funds = s.store.funds(s.job_id)
    assert (funds.escrow, funds.pool, funds.funded) == (1234, 0, 1234)
    assert_reverts(
        s.store, InsufficientBalanceError, f"needs 2 wei; {address_of(pubkey(23)).to_hex()} holds 0",
        lambda: s.executor.train_request(address_of(pubkey(23)), 0, make_calldata(), 10**6, 12, 2),
    )


def test_fund_adds_escrow_from_the_requester_only(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db", escrow=10)
    s.executor.fund(s.job_id, CALLER, 5, 12)
    funds = s.store.funds(s.job_id)
    assert (funds.escrow, funds.funded) == (15, 15)
    assert s.store.balance(CALLER) == CALLER_BALANCE_WEI - 15
    assert_reverts(
        s.store, FundError, "only the job's requester",
        lambda: s.executor.fund(s.job_id, PRODUCER, 5, 12),
    )
    assert_reverts(
        s.store, FundError, "must be positive", lambda: s.executor.fund(s.job_id, CALLER, 0, 12)
    )
    assert_reverts(
        s.store, InsufficientBalanceError, "the deposit needs",
        lambda: s.executor.fund(s.job_id, CALLER, CALLER_BALANCE_WEI, 12),
    )


def test_join_moves_the_stake_out_of_the_trainer_balance(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db")
    assert s.store.balance(pubkey(0)) == TRAINER_BALANCE_WEI - STAKE_WEI
    assert_reverts(
        s.store, JoinError, "stake is zero",
        lambda: s.executor.join(s.job_id, pubkey(5), 0, DATASET_COMMITMENT, 1, 12),
    )
    assert_reverts(
        s.store, InsufficientBalanceError, "the stake needs",
        lambda: s.executor.join(
            s.job_id, pubkey(5), TRAINER_BALANCE_WEI + 1, DATASET_COMMITMENT, 1, 12
        ),
    )


# -- emission ------------------------------------------------------------------------------------


def test_emission_splits_the_training_pool_by_escrow(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db", escrow=1)
    second = s.executor.train_request(CALLER, 1, make_calldata(), 10**6, 11, 3).job_id
    reward = 1_000_003
    receipt = s.executor.emit(PRODUCER, reward, 12)
    # pool = floor(1_000_003 * 500 / 10_000) = 50_000; escrows 1 : 3 -> 12_500 and 37_500.
    assert receipt.producer_wei == reward - 50_000
    assert receipt.job_shares_wei == {s.job_id: 12_500, second: 37_500}
    assert receipt.carry_wei == 0
    assert s.store.balance(PRODUCER) == reward - 50_000
    assert s.store.funds(second).pool == s.store.funds(second).emitted == 37_500
    genesis = CALLER_BALANCE_WEI + 10 * TRAINER_BALANCE_WEI
    assert s.store.economics().supply == genesis + reward == s.store.total_wei()


def test_emission_carries_the_floor_and_refuses_a_repeated_height(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db", escrow=1)
    s.executor.train_request(CALLER, 1, make_calldata(), 10**6, 11, 2)
    # pool = floor(100 * 500 / 10_000) = 5; escrows 1 : 2 -> 1 and 3, carry 1.
    receipt = s.executor.emit(PRODUCER, 100, 12)
    assert (receipt.producer_wei, sorted(receipt.job_shares_wei.values()), receipt.carry_wei) == (
        95, [1, 3], 1,
    )
    assert s.store.economics().training_pool_carry == 1
    assert_reverts(
        s.store, EmissionError, "emitted at height 12", lambda: s.executor.emit(PRODUCER, 1, 12)
    )


def test_emission_without_funded_jobs_is_carried_whole(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "state.db", 1)
    from pot.chain.executor import Executor

    receipt = Executor(store).emit(PRODUCER, 10_000, 1)
    assert (receipt.producer_wei, receipt.job_shares_wei, receipt.carry_wei) == (9_500, {}, 500)
    assert store.economics().supply == 10_000 == store.total_wei()


# -- settled rounds ------------------------------------------------------------------------------


def test_rewards_are_proportional_to_verified_samples(tmp_path: Path) -> None:
    s = economics_job(tmp_path / "state.db", accept(30, 10), escrow=1001, trainers=2)
    s.executor.emit(PRODUCER, 1000, s.height)  # pool share: floor(1000 * 5%) = 50
    before = [s.store.balance(pubkey(i)) for i in range(2)]
    play(s, 0)
    receipt = s.executor.finalize_round(s.job_id, 0, s.height)
    # two rounds: draw floor(1001 / 2) = 500; round pool 550 split 30 : 10 -> 412, 137, carry 1.
    assert receipt.settlement == {
        "pool_wei": 50, "escrow_draw_wei": 500, "carry_wei": 1, "close": None,
        "rewards": {pubkey(0).to_hex(): 412, pubkey(1).to_hex(): 137}, "slashes": {},
    }
    assert [s.store.balance(pubkey(i)) - before[i] for i in range(2)] == [412, 137]
    funds = s.store.funds(s.job_id)
    assert (funds.escrow, funds.pool) == (501, 1)
    trainer = s.store.trainer(s.job_id, pubkey(0))
    assert trainer is not None and trainer.rewards == 412


def test_an_update_excluded_by_the_aggregator_earns_nothing(tmp_path: Path) -> None:
    def exclude_trainer_1(updates, rule, param):  # type: ignore[no-untyped-def]
        weights, info = job_aggregate(updates, rule, param)
        return weights, {**info, "excluded": [pubkey(1).to_hex()]}

    s = economics_job(
        tmp_path / "state.db", accept(30, 10), escrow=1000, trainers=2, total_rounds=1,
        min_participants=1, executor_kwargs={"aggregate": exclude_trainer_1},
    )
    play(s, 0)
    receipt = s.executor.finalize_round(s.job_id, 0, s.height)
    assert receipt.settlement["rewards"] == {pubkey(0).to_hex(): 1000, pubkey(1).to_hex(): 0}


def test_offenders_are_slashed_but_validator_faults_and_absence_are_not(tmp_path: Path) -> None:
    table = {
        (0, bytes(pubkey(0))): Verdict(False, "proof_invalid", 0),
        (0, bytes(pubkey(1))): Verdict(True, "ok", 10),
        (0, bytes(pubkey(2))): Verdict(True, "ok", 10),
        (0, bytes(pubkey(3))): Verdict(True, "ok", 10),
    }
    crash = {"on": True}

    def verifier_crash(bundle, context):  # type: ignore[no-untyped-def]
        if context.trainer == pubkey(3) and crash["on"]:
            raise RuntimeError("the validator's own bug")
        return verdict_table_verifier(table)(bundle, context)

    s = open_job(
        tmp_path / "state.db", trainers=6, verify=verifier_crash, escrow=1000,
        executor_kwargs={"settle": economics_settle},
    )
    s.submit_all(0, [pubkey(i) for i in range(5)])  # trainer 5 is absent
    s.reveal(0)
    s.prove_all(0, [pubkey(i) for i in range(3)])  # trainer 4 never proves
    # The validator's crash on trainer 3's bundle records nothing; the retry is judged.
    with pytest.raises(VerifierFaultError):
        s.executor.submit_proof(s.job_id, 0, pubkey(3), b"bundle", s.height)
    assert s.store.submission(s.job_id, U64(0), pubkey(3)).verdict is None  # type: ignore[union-attr]
    crash["on"] = False
    s.prove_all(0, [pubkey(3)])
    receipt = s.executor.finalize_round(s.job_id, 0, s.after_proof_deadline(0))
    assert receipt.settlement["slashes"] == {
        pubkey(0).to_hex(): SLASH_WEI, pubkey(4).to_hex(): SLASH_WEI,
    }
    slashes = {(x.trainer, x.offence, x.status) for x in s.store.slashes(s.job_id)}
    assert slashes == {
        (pubkey(0), "invalid_proof", "pending"), (pubkey(4), "missed_deadline", "pending"),
    }
    stakes = {i: s.store.trainer(s.job_id, pubkey(i)).stake for i in range(6)}  # type: ignore[union-attr]
    assert stakes == {0: STAKE_WEI - SLASH_WEI, 1: STAKE_WEI, 2: STAKE_WEI, 3: STAKE_WEI,
                      4: STAKE_WEI - SLASH_WEI, 5: STAKE_WEI}


def test_a_slash_reaches_the_insurance_fund_after_its_window_and_only_once(tmp_path: Path) -> None:
    table = {**accept(0, 10, 10), (0, bytes(pubkey(0))): Verdict(False, "proof_invalid", 0)}
    s = economics_job(tmp_path / "state.db", table)
    play(s, 0)
    s.executor.finalize_round(s.job_id, 0, s.height)
    release = s.height + CHALLENGE_WINDOW_BLOCKS
    assert_reverts(
        s.store, ChallengeWindowError, f"until height {release - 1}",
        lambda: s.executor.release_slash(s.job_id, 0, pubkey(0), release - 1),
    )
    assert_reverts(
        s.store, NoPendingSlashError, "no pending slash",
        lambda: s.executor.release_slash(s.job_id, 0, pubkey(1), release),
    )
    s.executor.release_slash(s.job_id, 0, pubkey(0), release)
    assert s.store.economics().insurance_fund == SLASH_WEI
    slash = s.store.slash(s.job_id, U64(0), pubkey(0))
    assert slash is not None and slash.status == "released"
    assert_reverts(
        s.store, NoPendingSlashError, "no pending slash",
        lambda: s.executor.release_slash(s.job_id, 0, pubkey(0), release + 1),
    )
    assert s.store.total_wei() == s.store.economics().supply


def test_a_completed_job_returns_stakes_escrow_and_pool(tmp_path: Path) -> None:
    table = {**accept(0, 10, 10), (0, bytes(pubkey(0))): Verdict(False, "proof_invalid", 0)}
    s = economics_job(tmp_path / "state.db", table, escrow=1001, total_rounds=1)
    s.executor.emit(PRODUCER, 1000, s.height)  # pool share 50
    caller_before = s.store.balance(CALLER)
    play(s, 0)
    receipt = s.executor.finalize_round(s.job_id, 0, s.height)
    assert receipt.job_status == "completed"
    # one round left: draw all 1001; pool 1051 split 1 : 1 -> 525 each, carry 1 -> training pool.
    assert receipt.settlement["rewards"] == {pubkey(1).to_hex(): 525, pubkey(2).to_hex(): 525}
    assert receipt.settlement["close"] == {
        "stakes_returned": {
            pubkey(0).to_hex(): STAKE_WEI - SLASH_WEI, pubkey(1).to_hex(): STAKE_WEI,
            pubkey(2).to_hex(): STAKE_WEI,
        },
        "escrow_refund_wei": 0, "pool_to_training_pool_wei": 1,
    }
    assert s.store.balance(CALLER) == caller_before
    assert s.store.balance(pubkey(1)) == TRAINER_BALANCE_WEI + 525
    assert s.store.balance(pubkey(0)) == TRAINER_BALANCE_WEI - SLASH_WEI
    assert s.store.economics().training_pool_carry == 1
    funds = s.store.funds(s.job_id)
    assert (funds.escrow, funds.pool) == (0, 0)


def test_a_failed_round_pays_nothing_and_refunds_the_escrow(tmp_path: Path) -> None:
    s = economics_job(tmp_path / "state.db", accept(10), escrow=1000)
    play(s, 0, provers=[0])
    receipt = s.executor.finalize_round(s.job_id, 0, s.height)
    assert (receipt.outcome, receipt.job_status) == ("failed", "failed")
    assert receipt.settlement["rewards"] == {}
    assert receipt.settlement["escrow_draw_wei"] == 0
    assert receipt.settlement["close"]["escrow_refund_wei"] == 1000
    assert set(receipt.settlement["slashes"]) == {pubkey(1).to_hex(), pubkey(2).to_hex()}
    assert s.store.balance(CALLER) == CALLER_BALANCE_WEI
    assert_reverts(
        s.store, JobClosedError, "is failed", lambda: s.executor.fund(s.job_id, CALLER, 1, s.height)
    )


# -- the invariant -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_only_emission_changes_the_total(tmp_path: Path, seed: int) -> None:
    """Random jobs through every call that moves wei, appeals and fraud proofs included.

    After each round some slashed rejections are appealed and some rewarded bundles are shown to
    be frauds; before each such call the test revises the verifier's table for that submission
    (the verifier was fixed), so the appeal is upheld or the fraud proven. Frauds are proven again
    once the released slashes have funded the insurance.
    """
    rng = random.Random(seed)
    table = {
        (r, bytes(pubkey(i))): rng.choice(
            [Verdict(True, "ok", rng.randint(1, 50)), Verdict(False, "proof_invalid", 0)]
        )
        for r in range(2) for i in range(4)
    }
    s = economics_job(
        tmp_path / "state.db", table, escrow=rng.randint(0, 10**6), trainers=4,
        min_participants=1,
    )
    supply = s.store.economics().supply
    assert s.store.total_wei() == supply
    emitted_at = -1
    done = {"appeal": 0, "fraud": 0}

    def check(minted: int = 0) -> None:
        nonlocal supply
        supply += minted
        assert s.store.economics().supply == supply
        assert s.store.total_wei() == supply

    def claim(number: int, chance: float) -> None:
        for slash in s.store.slashes(s.job_id):
            if (slash.round, slash.offence, slash.status) == (number, "invalid_proof", "pending") \
                    and rng.random() < chance:
                table[(number, bytes(slash.trainer))] = Verdict(True, "ok", 1)
                s.executor.appeal(s.job_id, number, slash.trainer, b"bundle", s.height)
                done["appeal"] += 1
                check()
        rnd = s.store.round(s.job_id, U64(number))
        if rnd is None or rnd.status != "finalized":
            return
        for key in (rnd.settlement or {})["rewards"]:
            trainer = Bytes48.from_hex(key)
            if s.store.claim(s.job_id, U64(number), trainer) is None and rng.random() < chance:
                table[(number, bytes(trainer))] = Verdict(False, "proof_invalid", 0)
                s.executor.prove_fraud(s.job_id, number, trainer, b"bundle", PRODUCER, s.height)
                done["fraud"] += 1
                check()

    for number in range(2):
        if s.store.job(s.job_id).status != "open":  # type: ignore[union-attr]
            break
        s.submit_all(number)
        check()
        if s.height > emitted_at:
            reward = rng.randint(0, 10**7)
            s.executor.emit(PRODUCER, reward, s.height)
            emitted_at = s.height
            check(reward)
        s.reveal(number)
        provers = [k for k in s.trainers if rng.random() < 0.8]
        s.prove_all(number, provers)
        check()
        s.executor.finalize_round(s.job_id, number, s.after_proof_deadline(number))
        check()
        claim(number, 0.5)
    pending = [x for x in s.store.slashes(s.job_id) if x.status == "pending"]
    for slash in sorted(pending, key=lambda x: int(x.release_height)):
        s.height = max(s.height, int(slash.release_height))
        s.executor.release_slash(s.job_id, int(slash.round), slash.trainer, s.height)
        check()
    for number in range(2):
        claim(number, 1.0)  # the fund may hold released slashes now
    assert done["appeal"] > 0 and done["fraud"] > 0  # each seed exercises both
    assert s.store.job(s.job_id).status != "open"  # type: ignore[union-attr]
    funds = s.store.funds(s.job_id)
    assert (funds.escrow, funds.pool) == (0, 0)  # all paid out or returned
