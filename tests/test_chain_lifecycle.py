"""The job lifecycle: join, submit, beacon, submit_proof, finalize_round, and their reverts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_chain_support import (
    BEACON,
    CHAIN_ID,
    DATASET_COMMITMENT,
    MODEL_ID,
    SPEC_ID,
    STAKE_WEI,
    TRAJECTORY_ROOT,
    VALIDATOR_KEY_INDEX,
    Chain,
    Scenario,
    accept_all,
    assert_reverts,
    open_job,
    payload_of,
    pubkey,
    secret,
    verdict_table_verifier,
)

import pot.chain.executor as executor_module
from pot.chain.errors import (
    AlreadyJoinedError,
    AlreadyJudgedError,
    AlreadySubmittedError,
    BadSignatureError,
    BeaconError,
    BundleTooLargeError,
    DeadlineError,
    FinalizeError,
    HeightError,
    JobClosedError,
    JobFullError,
    JoinError,
    NonceReplayError,
    NoSubmissionError,
    NoVerifierError,
    RevealError,
    RoundError,
    SubmissionError,
    UnknownJobError,
    UnknownTrainerError,
    VerifierFaultError,
)
from pot.chain.executor import Executor
from pot.chain.fixed_types import U64, U256, Bytes32, Bytes48
from pot.chain.hooks import (
    SettlementInput,
    SettlementOutput,
    SubmissionContext,
    Verdict,
    job_aggregate,
    weights_commitment,
)
from pot.chain.tx import Tx, encode_args, sign_reveal
from pot.errors import EvmError, MalformedInputError, VerifierError
from pot.protocol.challenge import round_beacon


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    return open_job(tmp_path / "state.db")


def play_round(s: Scenario, number: int) -> None:
    """Submit, reveal and prove every trainer of round ``number``."""
    s.submit_all(number)
    s.reveal(number)
    s.prove_all(number)


# -- join ----------------------------------------------------------------------------------------


def test_join_records_the_trainer(scenario: Scenario) -> None:
    row = scenario.store.trainer(scenario.job_id, pubkey(0))
    assert row is not None
    assert (row.stake, row.rewards, row.num_samples) == (STAKE_WEI, 0, 100)
    assert row.dataset_commitment == DATASET_COMMITMENT


def test_join_unknown_job_is_rejected(scenario: Scenario) -> None:
    assert_reverts(
        scenario.store, UnknownJobError, "no job",
        lambda: scenario.executor.join(
            Bytes32(b"\x09" * 32), pubkey(5), 1, DATASET_COMMITMENT, 1, 12
        ),
    )


def test_join_after_round_zero_opens_is_rejected(scenario: Scenario) -> None:
    assert_reverts(
        scenario.store, DeadlineError, "joins closed at height 14; the call is at 15",
        lambda: scenario.executor.join(scenario.job_id, pubkey(5), 1, DATASET_COMMITMENT, 1, 15),
    )


def test_join_twice_is_rejected(scenario: Scenario) -> None:
    assert_reverts(
        scenario.store, AlreadyJoinedError, "already joined",
        lambda: scenario.executor.join(scenario.job_id, pubkey(0), 1, DATASET_COMMITMENT, 1, 12),
    )


@pytest.mark.parametrize(
    ("commitment", "samples", "match"),
    [(b"\x00" * 32, 1, "dataset commitment is zero"), (b"\x04" * 32, 0, "num_samples 0")],
)
def test_join_with_bad_dataset_is_rejected(
    scenario: Scenario, commitment: bytes, samples: int, match: str
) -> None:
    assert_reverts(
        scenario.store, JoinError, match,
        lambda: scenario.executor.join(
            scenario.job_id, pubkey(5), 1, Bytes32(commitment), samples, 12
        ),
    )


@pytest.mark.parametrize(
    "key",
    [
        b"\x00" * 48,  # no compression flag
        bytes([0xC0]) + b"\x00" * 47,  # the point at infinity: a valid encoding, not a valid key
        bytes([0x9F]) + b"\xff" * 47,  # x above the field modulus
    ],
    ids=["no-flag", "infinity", "x-too-large"],
)
def test_join_from_an_invalid_bls_key_is_refused_as_unsigned(
    scenario: Scenario, key: bytes
) -> None:
    args = encode_args(
        "join", (scenario.job_id, 1, DATASET_COMMITMENT, 1, secret(0).scalar.to_bytes(96, "big"))
    )
    tx = Tx(U64(CHAIN_ID), Bytes48(key), U64(0), "join", args, b"\xc0" + b"\x00" * 95)
    assert_reverts(
        scenario.store, BadSignatureError, "does not verify under its sender",
        lambda: scenario.executor.apply(tx, 12),
    )


def test_join_beyond_the_trainer_cap_is_rejected(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor_module, "MAX_TRAINERS_PER_JOB", 3)
    assert_reverts(
        scenario.store, JobFullError, "holds 3 trainers",
        lambda: scenario.executor.join(scenario.job_id, pubkey(5), 1, DATASET_COMMITMENT, 1, 12),
    )


def test_call_older_than_the_head_is_rejected(scenario: Scenario) -> None:
    assert_reverts(
        scenario.store, HeightError, "below the last committed height 11",
        lambda: scenario.executor.join(scenario.job_id, pubkey(5), 1, DATASET_COMMITMENT, 1, 10),
    )


# -- submit --------------------------------------------------------------------------------------


def _submit(s: Scenario, **overrides: object) -> None:
    payload = payload_of([1, 2, 3, 4])
    args: dict[str, object] = {
        "job_id": s.job_id, "round_number": 0, "trainer": pubkey(0),
        "trajectory_root": TRAJECTORY_ROOT, "steps": 8,
        "update_commitment": weights_commitment(payload), "payload": payload, "height": 15,
    }
    args.update(overrides)
    s.executor.submit(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"height": 14}, DeadlineError, r"heights \[15, 20\]; the call is at 14"),
        ({"height": 21}, DeadlineError, r"heights \[15, 20\]; the call is at 21"),
        ({"round_number": 1}, RoundError, "round 1 is not the job's current round 0"),
        ({"trainer": pubkey(7)}, UnknownTrainerError, "did not join"),
        ({"trajectory_root": Bytes32(b"\x00" * 32)}, SubmissionError, "trajectory root is zero"),
        ({"steps": 7}, SubmissionError, "has 7 steps; the job's steps_per_round is 8"),
        ({"payload": payload_of([1, 2, 3])}, SubmissionError, "payload is 24 bytes"),
        (
            {"update_commitment": Bytes32(b"\x01" * 32)},
            SubmissionError, "not the update commitment",
        ),
    ],
    ids=["early", "late", "round", "stranger", "zero-root", "steps", "length", "commitment"],
)
def test_invalid_submission_is_rejected(
    scenario: Scenario, overrides: dict[str, object], error: type[Exception], match: str
) -> None:
    assert_reverts(scenario.store, error, match, lambda: _submit(scenario, **overrides))


def test_second_submission_in_a_round_is_rejected(scenario: Scenario) -> None:
    _submit(scenario)
    assert_reverts(
        scenario.store, AlreadySubmittedError, "already submitted", lambda: _submit(scenario)
    )


# -- beacon --------------------------------------------------------------------------------------


def test_a_block_before_the_beacon_height_fixes_no_beacon(scenario: Scenario) -> None:
    receipt = scenario.executor.beacon(scenario.job_id, 0, BEACON, 20)  # the submit deadline
    rnd = scenario.store.round(scenario.job_id, U64(0))
    assert rnd is not None and rnd.beacon is None and receipt.beacons == {}
    assert scenario.store.randao() == (receipt.mix, U64(20))


def test_the_first_block_after_the_deadline_fixes_the_beacon_from_the_mix(
    scenario: Scenario,
) -> None:
    receipt = scenario.executor.beacon(scenario.job_id, 0, BEACON, 21)
    expected = Bytes32(round_beacon(CHAIN_ID, bytes(scenario.job_id), 0, bytes(receipt.mix)))
    assert receipt.beacons == {scenario.job_id: (U64(0), expected)}
    scenario.executor.beacon(scenario.job_id, 0, BEACON, 22)
    rnd = scenario.store.round(scenario.job_id, U64(0))
    assert rnd is not None and (rnd.beacon, rnd.beacon_height) == (expected, U64(21))


def test_a_reveal_not_by_the_scheduled_producer_or_twice_is_refused(scenario: Scenario) -> None:
    executor = scenario.executor.inner
    assert_reverts(
        scenario.store, RevealError, "not a signature of its producer",
        lambda: executor.reveal(sign_reveal(secret(0), CHAIN_ID, 21), 21),
    )
    reveal_21 = sign_reveal(secret(VALIDATOR_KEY_INDEX), CHAIN_ID, 21)
    assert_reverts(
        scenario.store, RevealError, "not a signature of its producer",
        lambda: executor.reveal(reveal_21, 22),
    )
    executor.reveal(reveal_21, 21)
    assert_reverts(
        scenario.store, RevealError, "block 21 revealed already",
        lambda: executor.reveal(reveal_21, 21),
    )


# -- submit_proof --------------------------------------------------------------------------------


def _beacon(s: Scenario, number: int) -> Bytes32:
    rnd = s.store.round(s.job_id, U64(number))
    assert rnd is not None and rnd.beacon is not None
    return rnd.beacon


def test_verifier_sees_the_full_submission_context(tmp_path: Path) -> None:
    verify = verdict_table_verifier({})
    s = open_job(tmp_path / "state.db", verify=verify)
    s.submit_all(0, [pubkey(1)])
    s.reveal(0)
    s.prove_all(0, [pubkey(1)])
    (context,) = verify.contexts  # type: ignore[attr-defined]
    assert context == SubmissionContext(
        job_id=s.job_id, round=U64(0), trainer=pubkey(1), trajectory_root=TRAJECTORY_ROOT,
        steps=context.steps, beacon=_beacon(s, 0), samples_per_round=context.samples_per_round,
        update_commitment=weights_commitment(s.payloads[(0, bytes(pubkey(1)))]),
        dataset_commitment=DATASET_COMMITMENT, global_model_commitment=MODEL_ID,
        model_spec_id=SPEC_ID, hyperparams=context.hyperparams,
    )
    assert (context.steps, context.samples_per_round) == (8, 2)


def test_verdicts_from_the_table_are_recorded(tmp_path: Path) -> None:
    table = {
        (0, bytes(pubkey(0))): Verdict(True, "ok", 30),
        (0, bytes(pubkey(1))): Verdict(False, "bad_signature", 0),
    }
    s = open_job(tmp_path / "state.db", verify=verdict_table_verifier(table))
    s.submit_all(0)
    s.reveal(0)
    receipts = [
        s.executor.submit_proof(s.job_id, 0, key, b"bundle", s.height) for key in s.trainers
    ]
    assert [(r.verdict, r.reason, r.verified_samples) for r in receipts] == [
        ("accepted", "ok", 30), ("rejected", "bad_signature", 0), ("rejected", "not_in_table", 0),
    ]
    row = s.store.submission(s.job_id, U64(0), pubkey(1))
    assert row is not None and (row.verdict, row.reason) == ("rejected", "bad_signature")


def _raising(error: Exception):  # type: ignore[no-untyped-def]
    def verify(bundle: bytes, context: SubmissionContext) -> Verdict:
        raise error

    return verify


def test_an_unreadable_bundle_is_recorded_as_malformed(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db",
                 verify=_raising(MalformedInputError("bundle is not JSON")))
    s.submit_all(0, [pubkey(0)])
    s.reveal(0)
    receipt = s.executor.submit_proof(s.job_id, 0, pubkey(0), b"bundle", s.height)
    assert (receipt.verdict, receipt.reason) == ("rejected", "malformed")


@pytest.mark.parametrize(
    "verify",
    [
        _raising(ValueError("bug in the verifier")),
        _raising(MemoryError()),
        _raising(EvmError("the pinned verifier's bytecode does not match its keccak256")),
        _raising(VerifierError("a verifier worker died")),
        lambda b, c: "yes",
        lambda b, c: Verdict(True, "ok", 0),
        lambda b, c: Verdict(True, "fine", 5),
        lambda b, c: Verdict(False, "ok", 0),
        lambda b, c: Verdict(False, "Not A Code!", 0),
        lambda b, c: Verdict(False, "verifier_error", 0),
        lambda b, c: Verdict(True, "ok", True),  # type: ignore[arg-type]
    ],
    ids=[
        "crash", "out-of-memory", "evm-setup", "worker-died", "not-a-verdict", "zero-samples",
        "ok-with-reason", "rejected-as-ok", "bad-reason", "validator-side-reason", "bool-samples",
    ],
)
def test_a_node_local_verifier_fault_records_nothing_and_may_be_retried(
    tmp_path: Path, verify: object
) -> None:
    s = open_job(tmp_path / "state.db", verify=verify)  # type: ignore[arg-type]
    s.submit_all(0, [pubkey(0)])
    s.reveal(0)
    assert_reverts(
        s.store, VerifierFaultError, "nothing is recorded",
        lambda: s.executor.submit_proof(s.job_id, 0, pubkey(0), b"bundle", s.height),
    )
    s.executor.inner._verify = accept_all()  # the node recovers: the same call now lands
    receipt = s.executor.submit_proof(s.job_id, 0, pubkey(0), b"bundle", s.height)
    assert receipt.verdict == "accepted"


def test_submit_proof_without_verifier_is_rejected(scenario: Scenario) -> None:
    bare = Chain(Executor(scenario.store))
    assert_reverts(
        scenario.store, NoVerifierError, "no verifier",
        lambda: bare.submit_proof(scenario.job_id, 0, pubkey(0), b"b", 21),
    )


def test_oversize_bundle_is_rejected(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor_module, "MAX_BUNDLE_BYTES", 4)
    assert_reverts(
        scenario.store, BundleTooLargeError, "5 bytes, the cap is 4",
        lambda: scenario.executor.submit_proof(scenario.job_id, 0, pubkey(0), b"12345", 21),
    )


def test_proof_without_submission_is_rejected(scenario: Scenario) -> None:
    scenario.reveal(0)
    assert_reverts(
        scenario.store, NoSubmissionError, "did not submit",
        lambda: scenario.executor.submit_proof(scenario.job_id, 0, pubkey(0), b"b", 21),
    )


def test_proof_before_the_beacon_is_rejected(scenario: Scenario) -> None:
    scenario.submit_all(0)
    assert_reverts(
        scenario.store, BeaconError, "not revealed yet",
        lambda: scenario.executor.submit_proof(scenario.job_id, 0, pubkey(0), b"b", 20),
    )


def test_proof_after_the_deadline_is_rejected(scenario: Scenario) -> None:
    scenario.submit_all(0)
    scenario.reveal(0)
    assert_reverts(
        scenario.store, DeadlineError, "took proofs until height 25; the call is at 26",
        lambda: scenario.executor.submit_proof(scenario.job_id, 0, pubkey(0), b"b", 26),
    )


def test_second_proof_is_rejected_verdicts_are_final(scenario: Scenario) -> None:
    scenario.submit_all(0)
    scenario.reveal(0)
    scenario.prove_all(0, [pubkey(0)])
    assert_reverts(
        scenario.store, AlreadyJudgedError, "was accepted",
        lambda: scenario.executor.submit_proof(scenario.job_id, 0, pubkey(0), b"b", 21),
    )


def test_a_verdict_recorded_while_the_verifier_ran_wins(tmp_path: Path) -> None:
    # The verifier runs outside the write lock; a second node judges the same submission
    # meanwhile. The first call must then revert rather than overwrite the recorded verdict.
    path = tmp_path / "state.db"
    holder: dict[str, Scenario] = {}

    def slow_verify(bundle: bytes, context: SubmissionContext) -> Verdict:
        from pot.chain.store import Store

        other = Chain(Executor(Store.open(path), verify=accept_all(7)))
        other.submit_proof(context.job_id, 0, context.trainer, b"other", holder["s"].height)
        return Verdict(True, "ok", 99)

    s = open_job(path, verify=slow_verify)
    holder["s"] = s
    s.submit_all(0, [pubkey(0)])
    s.reveal(0)
    # The other node applied the trainer's transaction of the same nonce first: this one is a
    # replay by the time it commits, and reverts.
    with pytest.raises(NonceReplayError):
        s.executor.submit_proof(s.job_id, 0, pubkey(0), b"bundle", s.height)
    row = s.store.submission(s.job_id, U64(0), pubkey(0))
    assert row is not None and row.verified_samples == 7


# -- finalize_round ------------------------------------------------------------------------------


def test_finalize_before_the_deadline_with_unjudged_submissions_is_rejected(
    scenario: Scenario,
) -> None:
    scenario.submit_all(0)
    scenario.reveal(0)
    scenario.prove_all(0, scenario.trainers[:2])
    assert_reverts(
        scenario.store, DeadlineError, "can close after height 25",
        lambda: scenario.executor.finalize_round(scenario.job_id, 0, 25),
    )


def test_finalize_early_once_every_submission_is_judged(scenario: Scenario) -> None:
    play_round(scenario, 0)
    receipt = scenario.executor.finalize_round(scenario.job_id, 0, scenario.height)
    assert (receipt.outcome, receipt.accepted, receipt.job_status) == ("finalized", 3, "open")


def test_fedavg_weights_by_verified_samples_and_opens_the_next_round(tmp_path: Path) -> None:
    table = {
        (0, bytes(pubkey(0))): Verdict(True, "ok", 1),
        (0, bytes(pubkey(1))): Verdict(True, "ok", 3),
        (0, bytes(pubkey(2))): Verdict(False, "bad_step_proof", 0),
    }
    s = open_job(tmp_path / "state.db", verify=verdict_table_verifier(table))
    play_round(s, 0)
    receipt = s.executor.finalize_round(s.job_id, 0, s.height)
    # payloads: trainer0 [0, 0, 0, 7], trainer1 [1, 10, -1, 7]; weights 1 and 3.
    expected = np.array([1, 8, -1, 7], dtype="<i8")  # 0.75->1, 7.5->8, -0.75->-1, 7
    model = s.store.global_model(s.job_id, U64(0))
    assert model == expected.tobytes()
    assert receipt.global_commitment == weights_commitment(expected.tobytes())
    rnd1 = s.store.round(s.job_id, U64(1))
    assert rnd1 is not None
    assert rnd1.input_commitment == receipt.global_commitment
    assert (rnd1.open_height, rnd1.submit_deadline, rnd1.proof_deadline) == (
        s.height, s.height + 5, s.height + 10,
    )
    info = s.store.round(s.job_id, U64(0)).aggregation_info  # type: ignore[union-attr]
    assert info is not None and info["samples"] == [1, 3] and info["rule"] == "fedavg"


def test_job_completes_after_its_last_round(scenario: Scenario) -> None:
    for number in (0, 1):
        play_round(scenario, number)
        receipt = scenario.executor.finalize_round(scenario.job_id, number, scenario.height)
    assert receipt.job_status == "completed"
    assert_reverts(
        scenario.store, JobClosedError, "is completed",
        lambda: scenario.executor.finalize_round(scenario.job_id, 1, scenario.height),
    )


def test_too_few_accepted_updates_fail_the_round_and_the_job(tmp_path: Path) -> None:
    seen: list[SettlementInput] = []

    def record(settlement: SettlementInput) -> SettlementOutput:
        seen.append(settlement)
        return SettlementOutput({}, {})

    table = {(0, bytes(pubkey(0))): Verdict(True, "ok", 5)}
    s = open_job(
        tmp_path / "state.db", verify=verdict_table_verifier(table),
        executor_kwargs={"settle": record},
    )
    s.submit_all(0, [pubkey(0), pubkey(1)])
    s.reveal(0)
    s.prove_all(0, [pubkey(0)])
    receipt = s.executor.finalize_round(s.job_id, 0, s.after_proof_deadline(0))
    assert (receipt.outcome, receipt.accepted, receipt.job_status) == ("failed", 1, "failed")
    assert receipt.global_commitment is None
    assert s.store.global_model(s.job_id, U64(0)) is None
    assert s.store.round(s.job_id, U64(1)) is None
    (settlement,) = seen
    assert settlement.outcome == "failed"
    statuses = {bytes(t.trainer): t.status for t in settlement.trainers}
    assert statuses == {
        bytes(pubkey(0)): "accepted", bytes(pubkey(1)): "unproven", bytes(pubkey(2)): "absent",
    }
    assert s.executor.beacon(s.job_id, 0, BEACON, s.height + 1).beacons == {}


def test_settlement_rewards_and_slashes_are_applied(tmp_path: Path) -> None:
    def settle(settlement: SettlementInput) -> SettlementOutput:
        return SettlementOutput(
            rewards={pubkey(0): U256(5)}, slashes={pubkey(1): U256(STAKE_WEI)},
            escrow_draw_wei=7,
        )

    table = {
        (0, bytes(pubkey(0))): Verdict(True, "ok", 5),
        (0, bytes(pubkey(2))): Verdict(True, "ok", 5),
        (0, bytes(pubkey(1))): Verdict(False, "proof_invalid", 0),
    }
    s = open_job(
        tmp_path / "state.db", verify=verdict_table_verifier(table), escrow=100,
        executor_kwargs={"settle": settle},
    )
    balance_before = s.store.balance(pubkey(0))
    play_round(s, 0)
    receipt = s.executor.finalize_round(s.job_id, 0, s.height)
    t0 = s.store.trainer(s.job_id, pubkey(0))
    t1 = s.store.trainer(s.job_id, pubkey(1))
    assert t0 is not None and t1 is not None
    assert (t0.stake, t0.rewards) == (STAKE_WEI, 5)
    assert s.store.balance(pubkey(0)) == balance_before + 5
    assert (t1.stake, t1.rewards) == (0, 0)
    funds = s.store.funds(s.job_id)
    assert (funds.escrow, funds.pool) == (93, 2)
    (slash,) = s.store.slashes(s.job_id)
    assert (slash.trainer, slash.offence, slash.amount, slash.status) == (
        pubkey(1), "invalid_proof", STAKE_WEI, "pending",
    )
    expected = {
        "pool_wei": 0, "escrow_draw_wei": 7, "carry_wei": 2, "close": None,
        "rewards": {pubkey(0).to_hex(): 5}, "slashes": {pubkey(1).to_hex(): STAKE_WEI},
    }
    rnd = s.store.round(s.job_id, U64(0))
    assert rnd is not None and rnd.settlement == expected == receipt.settlement


def _fedavg_excluding(keys: list[str]):  # type: ignore[no-untyped-def]
    """An aggregator hook: FedAvg with ``info["excluded"] = keys`` (whatever is in it)."""

    def aggregate(updates, rule, param):  # type: ignore[no-untyped-def]
        weights, info = job_aggregate(updates, rule, param)
        return weights, {**info, "excluded": keys}

    return aggregate


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"settle": lambda s: SettlementOutput({}, {pubkey(0): STAKE_WEI + 1})}, "slashes"),
        (
            {"settle": lambda s: SettlementOutput({}, {pubkey(1): 1})},
            "which is accepted; only rejected or unproven trainers are slashed",
        ),
        ({"settle": lambda s: SettlementOutput({pubkey(9): 1}, {})}, "not a trainer"),
        ({"settle": lambda s: SettlementOutput({pubkey(0): -1}, {})}, "wei must be >= 0"),
        ({"settle": lambda s: None}, "must return a SettlementOutput"),
        (
            {"settle": lambda s: SettlementOutput({pubkey(1): 11}, {}, escrow_draw_wei=10)},
            "pays 11 wei from a pool of 0 plus a draw of 10",
        ),
        (
            {"settle": lambda s: SettlementOutput({}, {}, escrow_draw_wei=11)},
            "draws 11 wei from an escrow of 10",
        ),
        ({"aggregate": lambda u, r, p: (np.zeros(3, dtype=np.int64), {})}, "shape"),
        ({"aggregate": lambda u, r, p: (np.zeros(4, dtype=np.float64), {})}, "int64"),
        ({"aggregate": lambda u, r, p: (np.zeros(4, dtype=np.int64), {"x": 0.5})}, "float"),
        ({"aggregate": lambda u, r, p: 1 / 0}, "aggregator failed"),
        ({"aggregate": _fedavg_excluding(["0x12"])}, "excluded names '0x12'"),
        ({"aggregate": _fedavg_excluding([pubkey(0).to_hex()])}, "not an accepted trainer"),
        (
            {"aggregate": _fedavg_excluding([pubkey(1).to_hex(), pubkey(1).to_hex()])},
            "names a trainer twice",
        ),
    ],
    ids=[
        "over-slash", "slash-accepted", "stranger", "negative", "not-output", "overpay",
        "overdraw", "shape", "dtype", "float-info", "raises", "excluded-not-hex",
        "excluded-rejected", "excluded-twice",
    ],
)
def test_hook_that_breaks_its_contract_reverts_finalize(
    tmp_path: Path, kwargs: dict[str, object], match: str
) -> None:
    table = {
        (0, bytes(pubkey(0))): Verdict(False, "proof_invalid", 0),
        (0, bytes(pubkey(1))): Verdict(True, "ok", 5),
        (0, bytes(pubkey(2))): Verdict(True, "ok", 5),
    }
    s = open_job(
        tmp_path / "state.db", verify=verdict_table_verifier(table), escrow=10,
        executor_kwargs=kwargs,
    )
    play_round(s, 0)
    assert_reverts(
        s.store, FinalizeError, match,
        lambda: s.executor.finalize_round(s.job_id, 0, s.height),
    )


def test_height_above_the_maximum_is_rejected(scenario: Scenario) -> None:
    too_high = executor_module.MAX_BLOCK_HEIGHT + 1
    assert_reverts(
        scenario.store, HeightError, "above the maximum",
        lambda: scenario.executor.beacon(scenario.job_id, 0, BEACON, too_high),
    )
