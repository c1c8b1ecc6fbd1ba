"""Appeals and fraud proofs: the executor re-verifies a judged bundle and moves the money.

The verifier here is :func:`~test_chain_support.verdict_table_verifier` over a table the test
revises between a submission's verdict and the appeal or fraud call. That models a verifier that
was wrong at the first verdict and fixed since (a validator-side fault that rejected an honest
trainer, or a soundness bug that let a fabricated bundle through); the executor's rules are what
is tested, not a proof. Expected amounts are worked out by hand from ``docs/economics.md``
sections 3 and 4.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_chain_support import (
    CALLER,
    CALLER_BALANCE_WEI,
    STAKE_WEI,
    TRAINER_BALANCE_WEI,
    Chain,
    Scenario,
    assert_reverts,
    open_job,
    pubkey,
    verdict_table_verifier,
)

from pot.chain.errors import (
    AlreadyClaimedError,
    AppealRejectedError,
    AppealWindowError,
    BundleMismatchError,
    BundleTooLargeError,
    FraudNotProvenError,
    HeightError,
    NoPendingSlashError,
    NoRewardError,
    NoSubmissionError,
    NotAcceptedError,
    NotAppealableError,
    NotFinalizedError,
    NoVerifierError,
    StateError,
    UnknownJobError,
    UnknownTrainerError,
    VerifierFaultError,
)
from pot.chain.executor import MAX_BUNDLE_BYTES, Executor
from pot.chain.fixed_types import U64, Bytes32
from pot.chain.hooks import SubmissionContext
from pot.chain.settler import economics_settle
from pot.chain.store import ClaimRow, SlashRow, Store
from pot.chain.tx import address_of
from pot.economics.constants import CHALLENGE_WINDOW_BLOCKS
from pot.verdict import Verdict

BUNDLE = b"bundle"  # what Scenario.prove_all sends; its keccak256 is the recorded bundle_hash
SLASH_WEI = STAKE_WEI // 10  # SLASH_BPS = 1_000 of a 1 ETH stake
CLAIMANT = address_of(pubkey(22))
ACCEPTED = Verdict(True, "ok", 10)
REJECTED = Verdict(False, "proof_invalid", 0)

Table = dict[tuple[int, bytes], Verdict]


def job_with_verdicts(
    path: Path, verdicts: list[Verdict | None], escrow: int = 1000, total_rounds: int = 2,
    absent: int = 0,
) -> tuple[Scenario, Table]:
    """A job settled by pot's economics whose round 0 is played and finalized.

    Trainer ``i`` gets ``verdicts[i]`` in round 0 (``None``: it never proves, so it is slashed
    for a missed deadline); ``absent`` more trainers join but never submit. Returns the scenario
    and the verdict table its verifier reads, for the test to revise.
    """
    table: Table = {
        (0, bytes(pubkey(i))): v for i, v in enumerate(verdicts) if v is not None
    }
    s = open_job(
        path, trainers=len(verdicts) + absent, verify=verdict_table_verifier(table),
        escrow=escrow, executor_kwargs={"settle": economics_settle}, total_rounds=total_rounds,
        min_participants=1,
    )
    s.submit_all(0, [pubkey(i) for i in range(len(verdicts))])
    s.reveal(0)
    s.prove_all(0, [pubkey(i) for i, v in enumerate(verdicts) if v is not None])
    s.executor.finalize_round(s.job_id, 0, s.after_proof_deadline(0))
    return s, table


def release_at_window_end(s: Scenario, index: int) -> int:
    """Release trainer ``index``'s round-0 slash at its release height; return that height."""
    slash = s.store.slash(s.job_id, U64(0), pubkey(index))
    assert slash is not None
    s.height = int(slash.release_height)
    s.executor.release_slash(s.job_id, 0, pubkey(index), s.height)
    return s.height


def conserved(s: Scenario) -> bool:
    return s.store.total_wei() == s.store.economics().supply


# -- appeal --------------------------------------------------------------------------------------


def test_an_upheld_appeal_voids_the_slash_and_restores_the_stake_of_an_open_job(
    tmp_path: Path,
) -> None:
    s, table = job_with_verdicts(tmp_path / "state.db", [REJECTED, ACCEPTED])
    verify = s.executor._verify
    assert verify is not None
    first_context = verify.contexts[0]  # type: ignore[attr-defined]
    settlement = s.store.round(s.job_id, U64(0)).settlement  # type: ignore[union-attr]
    assert s.store.trainer(s.job_id, pubkey(0)).stake == STAKE_WEI - SLASH_WEI  # type: ignore[union-attr]

    table[(0, bytes(pubkey(0)))] = Verdict(True, "ok", 7)  # the validator-side fault is fixed
    receipt = s.executor.appeal(s.job_id, 0, pubkey(0), BUNDLE, s.height)

    assert receipt.claim == ClaimRow(
        round=U64(0), trainer=pubkey(0), kind="appeal", claimant=pubkey(0), reason="ok",
        verified_samples=U64(7), claim_wei=SLASH_WEI, paid_wei=SLASH_WEI, payee=pubkey(0),
        credited_to="stake", height=U64(s.height),
    )
    assert receipt.slash.status == "voided"
    assert s.store.slash(s.job_id, U64(0), pubkey(0)) == receipt.slash
    assert s.store.claim(s.job_id, U64(0), pubkey(0)) == receipt.claim
    assert receipt.state_root == s.store.state_root() == s.store.recompute_state_root()
    trainer = s.store.trainer(s.job_id, pubkey(0))
    assert trainer is not None and (trainer.stake, trainer.rewards) == (STAKE_WEI, 0)
    assert s.store.balance(pubkey(0)) == TRAINER_BALANCE_WEI - STAKE_WEI
    # The verifier judged the appeal with the context of the original verdict.
    assert verify.contexts[-1] == first_context  # type: ignore[attr-defined]
    # The round is not reopened: the verdict, the model and the settlement stand.
    sub = s.store.submission(s.job_id, U64(0), pubkey(0))
    assert sub is not None and (sub.verdict, sub.reason) == ("rejected", "proof_invalid")
    assert s.store.round(s.job_id, U64(0)).settlement == settlement  # type: ignore[union-attr]
    assert conserved(s)
    # Voided is final: no second appeal, no release.
    assert_reverts(
        s.store, NoPendingSlashError, "its slash was voided",
        lambda: s.executor.appeal(s.job_id, 0, pubkey(0), BUNDLE, s.height),
    )
    assert_reverts(
        s.store, NoPendingSlashError, "no pending slash",
        lambda: s.executor.release_slash(
            s.job_id, 0, pubkey(0), s.height + CHALLENGE_WINDOW_BLOCKS
        ),
    )


def test_an_appeal_after_the_job_ended_returns_the_slash_to_the_balance(tmp_path: Path) -> None:
    s, table = job_with_verdicts(tmp_path / "state.db", [REJECTED, ACCEPTED], total_rounds=1)
    assert s.store.job(s.job_id).status == "completed"  # type: ignore[union-attr]
    assert s.store.balance(pubkey(0)) == TRAINER_BALANCE_WEI - SLASH_WEI

    table[(0, bytes(pubkey(0)))] = ACCEPTED
    last = s.height + CHALLENGE_WINDOW_BLOCKS - 1  # the last height of the window
    receipt = s.executor.appeal(s.job_id, 0, pubkey(0), BUNDLE, last)

    assert receipt.claim.credited_to == "balance"
    assert s.store.balance(pubkey(0)) == TRAINER_BALANCE_WEI
    assert s.store.trainer(s.job_id, pubkey(0)).stake == 0  # type: ignore[union-attr]
    assert conserved(s)


def test_an_appeal_the_verifier_rejects_again_changes_nothing(tmp_path: Path) -> None:
    s, table = job_with_verdicts(tmp_path / "state.db", [REJECTED, ACCEPTED])
    assert_reverts(
        s.store, AppealRejectedError, r"rejects the bundle .* again \(proof_invalid\)",
        lambda: s.executor.appeal(s.job_id, 0, pubkey(0), BUNDLE, s.height),
    )
    table[(0, bytes(pubkey(0)))] = Verdict(False, "challenge_mismatch", 0)
    assert_reverts(
        s.store, AppealRejectedError, "challenge_mismatch",
        lambda: s.executor.appeal(s.job_id, 0, pubkey(0), BUNDLE, s.height),
    )


def test_each_appeal_rule_has_its_error_and_changes_nothing(tmp_path: Path) -> None:
    s, table = job_with_verdicts(tmp_path / "state.db", [REJECTED, ACCEPTED, None])
    table[(0, bytes(pubkey(0)))] = ACCEPTED  # an appeal of trainer 0 would now be upheld
    release = s.height + CHALLENGE_WINDOW_BLOCKS
    ex, h = s.executor, s.height

    def crashes(bundle: bytes, context: SubmissionContext) -> Verdict:
        raise RuntimeError("the validator's own bug")

    def breaks_contract(bundle: bytes, context: SubmissionContext) -> Verdict:
        return Verdict(True, "ok", 0)  # accepted with no verified samples

    cases = [
        (NoVerifierError, "no verifier", Chain(Executor(s.store)).appeal),
        (VerifierFaultError, r"appealed bundle: the verifier failed \(RuntimeError",
         Chain(Executor(s.store, verify=crashes)).appeal),
        (VerifierFaultError, r"appealed bundle: the verifier returned something that is not a valid verdict",
         Chain(Executor(s.store, verify=breaks_contract)).appeal),
    ]
    for error, match, call in cases:
        assert_reverts(s.store, error, match, lambda c=call: c(s.job_id, 0, pubkey(0), BUNDLE, h))
    assert_reverts(
        s.store, BundleTooLargeError, "the cap is",
        lambda: ex.appeal(s.job_id, 0, pubkey(0), b"\x00" * (MAX_BUNDLE_BYTES + 1), h),
    )
    assert_reverts(
        s.store, BundleMismatchError, "the bundle judged in round 0 was 0x",
        lambda: ex.appeal(s.job_id, 0, pubkey(0), b"another bundle", h),
    )
    assert_reverts(
        s.store, UnknownJobError, "no job",
        lambda: ex.appeal(Bytes32(b"\x09" * 32), 0, pubkey(0), BUNDLE, h),
    )
    assert_reverts(
        s.store, UnknownTrainerError, "did not join",
        lambda: ex.appeal(s.job_id, 0, pubkey(7), BUNDLE, h),
    )
    assert_reverts(
        s.store, HeightError, "below the last committed height",
        lambda: ex.appeal(s.job_id, 0, pubkey(0), BUNDLE, h - 1),
    )
    assert_reverts(
        s.store, NoPendingSlashError, "has no pending slash in round 0$",
        lambda: ex.appeal(s.job_id, 0, pubkey(1), BUNDLE, h),
    )
    assert_reverts(
        s.store, NotAppealableError, "the missed_deadline slash .* cannot be appealed",
        lambda: ex.appeal(s.job_id, 0, pubkey(2), BUNDLE, h),
    )
    assert_reverts(
        s.store, AppealWindowError, f"open to appeal until height {release - 1}; the call is at "
        f"{release}", lambda: ex.appeal(s.job_id, 0, pubkey(0), BUNDLE, release),
    )
    ex.appeal(s.job_id, 0, pubkey(0), BUNDLE, release - 1)  # and still upheld inside the window


# -- prove_fraud ---------------------------------------------------------------------------------


def escape_with_a_funded_insurance(
    path: Path, escrow: int, total_rounds: int = 2
) -> tuple[Scenario, Table, int]:
    """Round 0: trainer 0 rejected and slashed, trainers 1 and 2 accepted and rewarded; trainer
    0's slash is released, so the fund holds ``SLASH_WEI``. Returns the reward of trainer 1."""
    s, table = job_with_verdicts(
        path, [REJECTED, Verdict(True, "ok", 30), Verdict(True, "ok", 10)], escrow=escrow,
        total_rounds=total_rounds,
    )
    release_at_window_end(s, 0)
    assert s.store.economics().insurance_fund == SLASH_WEI
    rewards = s.store.round(s.job_id, U64(0)).settlement["rewards"]  # type: ignore[union-attr]
    return s, table, rewards[pubkey(1).to_hex()]


@pytest.mark.parametrize(
    ("escrow", "capped"), [(2000, False), (4 * 10**17, True)], ids=["claim", "cap"]
)
def test_a_proven_fraud_reimburses_the_requester_and_slashes_the_stake(
    tmp_path: Path, escrow: int, capped: bool
) -> None:
    s, table, reward = escape_with_a_funded_insurance(tmp_path / "state.db", escrow)
    # Two rounds: round 0 draws floor(escrow / 2), split 30 : 10 -> trainer 1 gets 3/4 of it.
    assert reward == escrow // 2 * 3 // 4
    cap = SLASH_WEI // 2  # INSURANCE_CLAIM_CAP_BPS = 5_000 of the fund
    payout = cap if capped else reward
    assert (reward > cap) == capped
    requester = s.store.balance(CALLER)
    tally = s.store.trainer(s.job_id, pubkey(1)).rewards  # type: ignore[union-attr]

    table[(0, bytes(pubkey(1)))] = Verdict(False, "proof_invalid", 0)  # the soundness bug is fixed
    receipt = s.executor.prove_fraud(s.job_id, 0, pubkey(1), BUNDLE, CLAIMANT, s.height)

    assert receipt.claim == ClaimRow(
        round=U64(0), trainer=pubkey(1), kind="fraud", claimant=CLAIMANT, reason="proof_invalid",
        verified_samples=U64(0), claim_wei=reward, paid_wei=payout, payee=CALLER,
        credited_to="balance", height=U64(s.height),
    )
    assert receipt.slash == SlashRow(
        round=U64(0), trainer=pubkey(1), offence="fraud", amount=SLASH_WEI,
        slash_height=U64(s.height), release_height=U64(s.height + CHALLENGE_WINDOW_BLOCKS),
        status="pending",
    )
    assert s.store.balance(CALLER) == requester + payout
    assert s.store.economics().insurance_fund == SLASH_WEI - payout
    assert s.store.balance(CLAIMANT) == 0
    trainer = s.store.trainer(s.job_id, pubkey(1))
    assert trainer is not None and (trainer.stake, trainer.rewards) == (STAKE_WEI - SLASH_WEI, tally)
    sub = s.store.submission(s.job_id, U64(0), pubkey(1))
    assert sub is not None and sub.verdict == "accepted"
    assert receipt.state_root == s.store.state_root() == s.store.recompute_state_root()
    assert conserved(s)

    assert_reverts(
        s.store, AlreadyClaimedError, f"was proven at height {s.height}",
        lambda: s.executor.prove_fraud(s.job_id, 0, pubkey(1), BUNDLE, CLAIMANT, s.height),
    )
    assert_reverts(
        s.store, NotAppealableError, "the fraud slash .* cannot be appealed",
        lambda: s.executor.appeal(s.job_id, 0, pubkey(1), BUNDLE, s.height),
    )
    # The fraud slash reaches the fund after its window, like any slash.
    s.executor.release_slash(s.job_id, 0, pubkey(1), s.height + CHALLENGE_WINDOW_BLOCKS)
    assert s.store.economics().insurance_fund == 2 * SLASH_WEI - payout
    assert conserved(s)


def test_fraud_after_the_job_ended_pays_but_slashes_nothing(tmp_path: Path) -> None:
    s, table, reward = escape_with_a_funded_insurance(tmp_path / "state.db", 1000, total_rounds=1)
    assert s.store.job(s.job_id).status == "completed"  # type: ignore[union-attr]
    requester = s.store.balance(CALLER)
    balance = s.store.balance(pubkey(1))
    table[(0, bytes(pubkey(1)))] = REJECTED
    receipt = s.executor.prove_fraud(s.job_id, 0, pubkey(1), BUNDLE, pubkey(0), s.height)
    assert (receipt.claim.claim_wei, receipt.claim.paid_wei) == (reward, reward)
    assert receipt.claim.claimant == address_of(pubkey(0))  # any account may show it, a trainer too
    assert receipt.slash.amount == 0  # the stakes went back when the job ended
    assert s.store.balance(CALLER) == requester + reward
    assert s.store.balance(pubkey(1)) == balance
    assert conserved(s)
    assert_reverts(
        s.store, AlreadyClaimedError, "was proven",
        lambda: s.executor.prove_fraud(s.job_id, 0, pubkey(1), BUNDLE, CLAIMANT, s.height),
    )


def test_fraud_with_an_empty_fund_pays_nothing_but_still_slashes(tmp_path: Path) -> None:
    s, table = job_with_verdicts(tmp_path / "state.db", [ACCEPTED, ACCEPTED])
    assert s.store.economics().insurance_fund == 0
    table[(0, bytes(pubkey(0)))] = REJECTED
    receipt = s.executor.prove_fraud(s.job_id, 0, pubkey(0), BUNDLE, CLAIMANT, s.height)
    assert receipt.claim.claim_wei == 250 and receipt.claim.paid_wei == 0
    assert s.store.balance(CALLER) == CALLER_BALANCE_WEI - 1000
    assert receipt.slash.amount == SLASH_WEI
    assert conserved(s)


def test_each_fraud_rule_has_its_error_and_changes_nothing(tmp_path: Path) -> None:
    s, table = job_with_verdicts(
        tmp_path / "state.db", [REJECTED, ACCEPTED, None, ACCEPTED], total_rounds=2, absent=1
    )
    s.submit_all(1, [pubkey(1)])  # round 1 is open, trainer 1 submitted in it
    ex, h = s.executor, s.height

    def crashes(bundle: bytes, context: SubmissionContext) -> Verdict:
        raise RuntimeError("the validator's own bug")

    def fraud(executor: Chain, trainer: int = 1, number: int = 0, bundle: bytes = BUNDLE,
              claimant: bytes = CLAIMANT, height: int = h) -> object:
        return lambda: executor.prove_fraud(
            s.job_id, number, pubkey(trainer), bundle, claimant, height  # type: ignore[arg-type]
        )

    assert_reverts(s.store, FraudNotProvenError, "accepts the bundle", fraud(ex))
    table[(0, bytes(pubkey(1)))] = REJECTED  # from here on, trainer 1's fraud would be proven
    assert_reverts(s.store, NoVerifierError, "no verifier", fraud(Chain(Executor(s.store))))
    assert_reverts(
        s.store, VerifierFaultError, r"accused bundle: the verifier failed \(RuntimeError",
        fraud(Chain(Executor(s.store, verify=crashes))),
    )
    assert_reverts(
        s.store, BundleTooLargeError, "the cap is", fraud(ex, bundle=b"\x00" * (MAX_BUNDLE_BYTES + 1))
    )
    assert_reverts(s.store, UnknownTrainerError, "did not join", fraud(ex, trainer=7))
    assert_reverts(s.store, HeightError, "below the last committed", fraud(ex, height=h - 1))
    assert_reverts(s.store, NotFinalizedError, "round 1 of job .* is open", fraud(ex, number=1))
    assert_reverts(s.store, NotFinalizedError, "round 2 of job .* is not opened", fraud(ex, number=2))
    assert_reverts(s.store, NoSubmissionError, "did not submit in round 0", fraud(ex, trainer=4))
    assert_reverts(s.store, NotAcceptedError, "was rejected", fraud(ex, trainer=0))
    assert_reverts(s.store, NotAcceptedError, "was never judged", fraud(ex, trainer=2))
    assert_reverts(
        s.store, BundleMismatchError, "the bundle judged in round 0", fraud(ex, bundle=b"other")
    )
    ex.prove_fraud(s.job_id, 0, pubkey(1), BUNDLE, CLAIMANT, h)  # and proven as it stands


def test_fraud_in_a_failed_round_is_refused(tmp_path: Path) -> None:
    # The job needs 2 accepted updates and gets 1: its round 0 fails and pays nobody.
    t: Table = {(0, bytes(pubkey(0))): ACCEPTED}
    f = open_job(
        tmp_path / "failed.db", trainers=2, verify=verdict_table_verifier(t),
        executor_kwargs={"settle": economics_settle}, min_participants=2,
    )
    f.submit_all(0)
    f.reveal(0)
    f.prove_all(0, [pubkey(0)])
    f.executor.finalize_round(f.job_id, 0, f.after_proof_deadline(0))
    t[(0, bytes(pubkey(0)))] = REJECTED
    assert_reverts(
        f.store, NotFinalizedError, "is failed",
        lambda: f.executor.prove_fraud(f.job_id, 0, pubkey(0), BUNDLE, CLAIMANT, f.height),
    )


def test_fraud_on_a_round_whose_settler_paid_nobody_has_no_claim(tmp_path: Path) -> None:
    table: Table = {(0, bytes(pubkey(0))): ACCEPTED}
    s = open_job(  # the default settler, no_payments: its settlements record no rewards
        tmp_path / "state.db", trainers=1, verify=verdict_table_verifier(table),
        min_participants=1,
    )
    s.submit_all(0)
    s.reveal(0)
    s.prove_all(0)
    s.executor.finalize_round(s.job_id, 0, s.after_proof_deadline(0))
    table[(0, bytes(pubkey(0)))] = REJECTED
    assert_reverts(
        s.store, NoRewardError, "records no reward",
        lambda: s.executor.prove_fraud(s.job_id, 0, pubkey(0), BUNDLE, CLAIMANT, s.height),
    )


# -- export and import ---------------------------------------------------------------------------


def test_claims_travel_in_the_export_and_import_checks_them_against_the_slashes(
    tmp_path: Path,
) -> None:
    s, table, _ = escape_with_a_funded_insurance(tmp_path / "state.db", 1000)
    table[(0, bytes(pubkey(1)))] = REJECTED
    s.executor.prove_fraud(s.job_id, 0, pubkey(1), BUNDLE, CLAIMANT, s.height)
    export = s.store.export()
    claims = export["jobs"][s.job_id.to_hex()]["claims"]
    assert claims["0"][pubkey(1).to_hex()]["kind"] == "fraud"
    assert claims["0"][pubkey(1).to_hex()]["payee"] == CALLER.to_hex()
    copy = Store.import_state(tmp_path / "copy.db", export)
    assert copy.state_root() == s.store.state_root()
    assert copy.claims(s.job_id) == s.store.claims(s.job_id)

    orphan = s.store.export()
    del orphan["jobs"][s.job_id.to_hex()]["slashes"]["0"][pubkey(1).to_hex()]
    with pytest.raises(StateError, match=r"the fraud claim on 0x[0-9a-f]{96} in round 0 has no slash"):
        Store.import_state(tmp_path / "orphan.db", orphan)
    unclaimed = s.store.export()
    del unclaimed["jobs"][s.job_id.to_hex()]["claims"]["0"]
    with pytest.raises(
        StateError, match=r"a pending fraud slash of 0x[0-9a-f]{96} in round 0 with claim none"
    ):
        Store.import_state(tmp_path / "unclaimed.db", unclaimed)
    assert not (tmp_path / "orphan.db").exists() and not (tmp_path / "unclaimed.db").exists()
