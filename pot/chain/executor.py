"""The chain-side executor: TRAIN_REQUEST (opcode ``0x14``) and the calls of a job's lifecycle.

Each call is one method of :class:`Executor` and one SQLite transaction. Its sections always come in
the same order: decode (typed arguments, the job, the round), charge gas (TRAIN_REQUEST only, before
any decoding of the calldata), check and work, write state, output. A call either commits all its
writes and the new state root, or raises a :class:`~pot.chain.errors.ChainError` and changes
nothing. Heights are block heights; a call may not be older than the last committed call.

Lifecycle of a job (``hp`` are its hyperparams, all windows in blocks)::

    request at height h           round 0 opens at h + hp.join_blocks; trainers join before that
    round r opens at o_r          submit while o_r <= height <= s_r = o_r + hp.submit_blocks
    beacon                        revealed once, at s_r < height <= p_r = s_r + hp.proof_blocks
    submit_proof                  while beacon_height <= height <= p_r; one verdict per submission
    finalize_round                at height > p_r, or earlier once the beacon is out and every
                                  submission of the round has a verdict
    appeal                        a slash for a rejected proof, while the slash is pending and
                                  height < its release height (any job status)
    prove_fraud                   an accepted submission of a finalized round, at any later height

At finalize, with at least ``min_participants`` accepted updates the round is ``finalized``: the
aggregator makes the next global model, whose commitment is the next round's starting point, and
round r + 1 opens at the finalize height (after the last round the job is ``completed``). With
fewer, the round is ``failed`` and so is the job: no model is made, no later round opens, the
settler still runs (so later economics can refund and slash), and the requester may file a new
request.

Only a judgement of the bundle enters the state. A :class:`~pot.errors.PotError` raised by the
verifier (the bundle cannot be read) is recorded as a rejection with reason ``malformed``. A fault
of the node itself never is, since another node would not see it: a
:class:`~pot.chain.errors.NoVerifierError` (the node lacks the job's circuit), any other
exception (a crash, ``MemoryError``) and a verdict that breaks the
:class:`~pot.verdict.Verdict` contract revert the call (``NoVerifierError``,
``VerifierFaultError``) and record nothing; the call may be retried. The verifier runs outside the
write lock; its context is rebuilt under the lock and must be unchanged.

Money (all wei; see ``docs/chain.md``, "Economics"). Every wei sits in one place: an account
balance, the training-pool carry, a job's escrow or pool, a trainer's stake, a pending slash, or
the insurance fund, and only ``emit`` changes the total::

    request (value v)     requester balance -> job escrow        fund: the same, later
    join (stake s)        trainer balance -> stake
    emit (reward R)       mints R: producer balance, each open job's pool (by escrow), carry
    finalize_round        the settler's decision: escrow -> pool -> trainer balances; stakes of
                          rejected or unproven trainers -> pending slashes; when the job ends,
                          stakes -> trainers, escrow -> requester, pool -> training-pool carry
    release_slash         pending slash -> insurance fund, once its challenge window has passed
    appeal                the same bundle re-verified and accepted: pending slash -> the trainer's
                          stake (job open) or balance (job ended); the slash is voided
    prove_fraud           an accepted bundle re-verified and rejected: insurance fund -> requester
                          balance (``insurance_payout``); stake -> a pending ``fraud`` slash

``appeal`` and ``prove_fraud`` re-run the verifier, outside the write lock like ``submit_proof``,
on the bundle bytes whose keccak256 the verdict recorded and with the submission's stored context.
Neither reopens the round: verdicts, models and settlements stand, and each submission holds at
most one claim (an upheld appeal or a proven fraud).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from eth_hash.auto import keccak

from pot.aggregation.fixedpoint import MAX_ABS_VALUE, MAX_TOTAL_SAMPLES
from pot.chain.abi import TrainRequest, decode_train_request
from pot.chain.errors import (
    AlreadyClaimedError,
    AlreadyJoinedError,
    AlreadyJudgedError,
    AlreadySubmittedError,
    AppealRejectedError,
    AppealWindowError,
    BadSignatureError,
    BeaconError,
    BundleMismatchError,
    BundleTooLargeError,
    CalldataTooLargeError,
    ChallengeWindowError,
    DeadlineError,
    EmissionError,
    FinalizeError,
    FraudNotProvenError,
    FundError,
    HeightError,
    HyperparamsError,
    InsufficientBalanceError,
    InvalidPubkeyError,
    JobClosedError,
    JobFullError,
    JoinError,
    NonceGapError,
    NonceReplayError,
    NoPendingSlashError,
    NoRewardError,
    NoSubmissionError,
    NotAcceptedError,
    NotAppealableError,
    NotFinalizedError,
    NoVerifierError,
    OutOfRangeError,
    ProofOfPossessionError,
    RevealError,
    RoundError,
    StateError,
    SubmissionError,
    UnknownJobError,
    UnknownTrainerError,
    VerifierFaultError,
    WrongChainError,
)
from pot.chain.fixed_types import U32, U64, U256, Address, Bytes32, Bytes48
from pot.chain.gas import MAX_CALLDATA_BYTES, charge_gas, train_request_gas
from pot.chain.hooks import (
    MAX_VERIFIED_SAMPLES,
    MIN_VERIFIED_SAMPLES,
    REASON_MALFORMED,
    REASON_OK,
    REASON_PATTERN,
    VALIDATOR_SIDE_REASONS,
    WEIGHT_BYTES,
    AcceptedUpdate,
    Aggregator,
    RoundOutcome,
    SettlementInput,
    SettlementOutput,
    Settler,
    SubmissionContext,
    TrainerOutcome,
    Verifier,
    job_aggregate,
    no_payments,
    weights_commitment,
    weights_from_payload,
    weights_to_payload,
)
from pot.chain.hyperparams import Hyperparams
from pot.chain.request import MAX_TRAINERS_PER_JOB, check_train_request, compute_job_id
from pot.chain.store import (
    Account,
    ClaimRow,
    CreditedTo,
    EconomicsRow,
    FundsRow,
    JobRow,
    JobStatus,
    Offence,
    RoundRow,
    SlashRow,
    Store,
    SubmissionRow,
    TrainerRow,
    VerdictStatus,
)
from pot.chain.tx import (
    Tx,
    decode_args,
    decode_tx,
    possession_valid,
    reveal_message,
    signature_valid,
)
from pot.economics.emission import emit_block
from pot.economics.errors import EconomicsError
from pot.economics.insurance import insurance_payout
from pot.economics.slashing import release_block, slash_amount
from pot.errors import PotError, VerifierError
from pot.evm.gas import verification_gas
from pot.protocol.challenge import BEACON_DELAY_BLOCKS, mix_reveal, round_beacon
from pot.protocol.keys import verify as bls_verify
from pot.verdict import Verdict

MAX_BLOCK_HEIGHT = 1 << 62
MAX_SAMPLES_PER_TRAINER = 1 << 40
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
MAX_UPDATE_ABS = MAX_ABS_VALUE
"""Largest magnitude of one weight of a submitted update (fixed-point units): the aggregation's."""
MAX_WEIGHT_SAMPLES = MAX_TOTAL_SAMPLES // MAX_TRAINERS_PER_JOB
"""Largest FedAvg weight of one accepted update (samples): a verdict's verified samples are
capped here, so the weights of a round (at most ``MAX_TRAINERS_PER_JOB``) sum to at most the
aggregation's ``MAX_TOTAL_SAMPLES`` and never overflow it."""

# Named points between the writes of a call, in the order they are passed; a checkpoint function
# given to the Executor is called with each (tests use it to kill the process mid-call).
CHECKPOINTS = (
    "request:after_job",
    "request:after_escrow",
    "request:after_nonce",
    "fund:after_escrow",
    "join:after_trainer",
    "submit:after_submission",
    "reveal:after_mix",
    "proof:after_verdict",
    "finalize:after_round",
    "finalize:after_settlement",
    "finalize:after_job",
    "emit:after_producer",
    "release:after_slash",
    "appeal:after_slash",
    "fraud:after_payout",
    "fraud:after_slash",
    "commit:before",
    "commit:after",
)

_OFFENCES: dict[str, Offence] = {"rejected": "invalid_proof", "unproven": "missed_deadline"}
"""The offence a trainer's round status makes it liable to be slashed for."""

Checkpoint = Callable[[str], None]
Committer = Callable[[bytes, Hyperparams], Bytes32]
"""Commitment of a weights payload under a job's hyperparams (update and global commitments)."""
Genesis = Callable[[TrainRequest, Hyperparams], Bytes32]
"""The commitment of a new job's round-0 global model."""


@dataclass(frozen=True)
class Sender:
    """The authenticated sender of a transaction: its key, its address, the nonce it used.

    Only :meth:`Executor.apply` makes one, after checking the chain id and the signature.
    """

    key: Bytes48
    address: Address
    nonce: U64


def _valid_bls_pubkey(pubkey: Bytes48) -> bool:
    """Return whether ``pubkey`` is a compressed G1 point in the prime-order subgroup, not infinity.

    py_ecc is imported here, not at module load: its pairing tables take most of a second to build
    and only ``join`` needs them.
    """
    from eth_typing import BLSPubkey
    from py_ecc.bls import G2ProofOfPossession

    return bool(G2ProofOfPossession.KeyValidate(BLSPubkey(bytes(pubkey))))


def _check_update_range(payload: bytes, hp: Hyperparams) -> None:
    """Refuse an update the aggregation could not take: wrong length, or a coordinate beyond
    ``MAX_UPDATE_ABS`` (so no accepted update can make ``finalize_round`` fail).

    Raises
    ------
    SubmissionError
        If the payload is not ``param_count`` int64 weights or a weight is out of range.
    """
    if len(payload) != WEIGHT_BYTES * hp.param_count:
        raise SubmissionError(
            f"payload is {len(payload)} bytes; {hp.param_count} int64 weights need "
            f"{WEIGHT_BYTES * hp.param_count}"
        )
    weights = weights_from_payload(payload)
    outside = np.flatnonzero(np.abs(weights) > MAX_UPDATE_ABS)
    if outside.size:
        j = int(outside[0])
        raise SubmissionError(
            f"weight {j} is {int(weights[j])}, outside [-{MAX_UPDATE_ABS}, {MAX_UPDATE_ABS}] "
            "(the aggregation's fixed-point range)"
        )


def _no_checkpoint(name: str) -> None:
    """The default checkpoint: do nothing."""


def keccak_commitment(payload: bytes, hyperparams: Hyperparams) -> Bytes32:
    """The default weights commitment: ``keccak256`` of the payload (see :func:`weights_commitment`)."""
    return weights_commitment(payload)


def model_id_genesis(request: TrainRequest, hyperparams: Hyperparams) -> Bytes32:
    """The default round-0 input commitment: the request's ``model_id``."""
    return request.model_id


@dataclass(frozen=True)
class RequestReceipt:
    """The output of TRAIN_REQUEST: the new job's id, the gas used, and the new state root."""

    job_id: Bytes32
    gas_used: U64
    state_root: Bytes32


@dataclass(frozen=True)
class CallReceipt:
    """The output of ``join``, ``submit`` and ``beacon``: the new state root."""

    state_root: Bytes32


@dataclass(frozen=True)
class RevealReceipt:
    """The output of ``reveal``: the new RANDAO mix, the beacons it fixed, the new state root."""

    mix: Bytes32
    beacons: dict[Bytes32, tuple[U64, Bytes32]]
    state_root: Bytes32


@dataclass(frozen=True)
class ProofReceipt:
    """The output of ``submit_proof``: the recorded verdict, the new state root, and the EVM gas
    the verifier's proof checks used, charged to the caller (:mod:`pot.evm.gas`)."""

    verdict: VerdictStatus
    reason: str
    verified_samples: U64
    state_root: Bytes32
    gas_used: U64


@dataclass(frozen=True)
class FinalizeReceipt:
    """The output of ``finalize_round``; ``settlement`` is the round's payment record."""

    outcome: RoundOutcome
    accepted: int
    global_commitment: Bytes32 | None
    job_status: JobStatus
    settlement: dict[str, Any]
    state_root: Bytes32


@dataclass(frozen=True)
class EmitReceipt:
    """The output of ``emit``: where the block reward went (wei), and the new state root."""

    producer_wei: U256
    job_shares_wei: dict[Bytes32, U256]
    carry_wei: U256
    state_root: Bytes32


@dataclass(frozen=True)
class ClaimReceipt:
    """The output of ``appeal`` and ``prove_fraud``: the claim recorded, the slash it voided
    (appeal) or made (fraud), and the new state root."""

    claim: ClaimRow
    slash: SlashRow
    state_root: Bytes32


@dataclass(frozen=True)
class Payments:
    """A round's validated settlement, ready to write: new values of everything it touches."""

    trainers: dict[Bytes48, tuple[U256, U256]]
    accounts: dict[Account, U256]
    slashes: list[SlashRow]
    funds: FundsRow
    economics: EconomicsRow
    record: dict[str, Any]


@dataclass(frozen=True)
class Job:
    """A stored job with its request and hyperparams decoded."""

    row: JobRow
    request: TrainRequest
    hyperparams: Hyperparams


def _check_json_integers(value: Any, where: str) -> None:
    """Check that ``value`` is JSON built from strings, integers, booleans and None (no floats)."""
    if value is None or isinstance(value, str | int):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_json_integers(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise FinalizeError(f"{where}: key {key!r} is not a string")
            _check_json_integers(item, where)
        return
    raise FinalizeError(f"{where}: {type(value).__name__} is not allowed (integers only)")


def _submission_context(
    job: Job, rnd: RoundRow, joined: TrainerRow, sub: SubmissionRow
) -> SubmissionContext:
    """The verifier's context of a submission, from the stored job, round, trainer and submission.

    ``submit_proof``, ``appeal`` and ``prove_fraud`` build it the same way, so a re-verification
    sees exactly the context of the original verdict.
    """
    if rnd.beacon is None:
        raise StateError(f"round {rnd.round} has no beacon; its submissions cannot be verified")
    return SubmissionContext(
        job_id=job.row.job_id, round=rnd.round, trainer=joined.pubkey,
        trajectory_root=sub.trajectory_root, steps=sub.steps, beacon=rnd.beacon,
        samples_per_round=job.hyperparams.samples_per_round,
        update_commitment=sub.update_commitment, dataset_commitment=joined.dataset_commitment,
        global_model_commitment=rnd.input_commitment,
        model_spec_id=job.hyperparams.model_spec_id, hyperparams=job.hyperparams,
    )


def settle_round(
    settlement: SettlementInput,
    out: SettlementOutput,
    trainers: Sequence[TrainerRow],
    funds: FundsRow,
    economics: EconomicsRow,
    balances: Mapping[Account, U256],
    caller: Address,
    at: U64,
    closing: bool,
) -> Payments:
    """Check a settler's decision and compute every value the round's settlement writes.

    A pure function of its arguments (no state file): ``finalize_round`` calls it with the values
    it read, and tests call it directly. The decision must conserve wei: the escrow draw is at most
    the escrow, the rewards at most the pool plus the draw, and only rejected or unproven trainers
    are slashed, each at most its stake. When ``closing`` (the job ends with this round) the
    stakes left go back to the trainers, the escrow left to the requester and the pool to the
    training-pool carry.

    Parameters
    ----------
    settlement
        What the settler was given.
    out
        The settler's decision.
    trainers, funds, economics
        The job's trainers, its funds and the chain's economics before the round is settled.
    balances
        The balance (wei) of every trainer key of the job and of ``caller``.
    caller
        The job's requester (who gets the escrow back when the job closes).
    at
        The height of the finalize call (slash heights).
    closing
        Whether the job ends with this round.

    Returns
    -------
    Payments
        The new stakes and reward tallies, account balances, slashes, funds, economics, and the
        round's settlement record.

    Raises
    ------
    FinalizeError
        If the decision breaks any rule above or names a stranger.
    """
    if not isinstance(out, SettlementOutput):
        raise FinalizeError("the settler must return a SettlementOutput")
    by_key = {t.pubkey: t for t in trainers}
    status = {o.trainer: o.status for o in settlement.trainers}
    draw = out.escrow_draw_wei
    if isinstance(draw, bool) or not isinstance(draw, int) or not 0 <= draw <= funds.escrow:
        raise FinalizeError(
            f"the settler draws {draw!r} wei from an escrow of {funds.escrow}"
        )
    stakes = {t.pubkey: t.stake for t in trainers}
    earned = {t.pubkey: t.rewards for t in trainers}
    accounts: dict[Account, U256] = {}
    slashes: list[SlashRow] = []
    record: dict[str, Any] = {
        "pool_wei": int(funds.pool), "escrow_draw_wei": draw, "rewards": {}, "slashes": {},
    }
    for kind, amounts in (("rewards", out.rewards), ("slashes", out.slashes)):
        for key, amount in amounts.items():
            if key not in by_key:
                raise FinalizeError(f"the settler names {key!r}, not a trainer of the job")
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise FinalizeError(f"the settler gave {kind} {amount!r}; wei must be >= 0")
    paid = sum(out.rewards.values())
    if paid > funds.pool + draw:
        raise FinalizeError(
            f"the settler pays {paid} wei from a pool of {funds.pool} plus a draw of {draw}"
        )
    for kind, amounts in (("rewards", out.rewards), ("slashes", out.slashes)):
        for key, amount in sorted(amounts.items()):
            key = Bytes48(key)
            if kind == "rewards":
                earned[key] = U256(earned[key] + amount)
                accounts[key] = U256(accounts.get(key, balances[key]) + amount)
            else:
                offence = _OFFENCES.get(status[key])
                if offence is None:
                    raise FinalizeError(
                        f"the settler slashes {key.to_hex()}, which is {status[key]}; only "
                        "rejected or unproven trainers are slashed"
                    )
                if amount > stakes[key]:
                    raise FinalizeError(
                        f"the settler slashes {amount} wei from a stake of {stakes[key]}"
                    )
                stakes[key] = U256(stakes[key] - amount)
                slashes.append(
                    SlashRow(
                        round=settlement.round, trainer=key, offence=offence,
                        amount=U256(amount), slash_height=at,
                        release_height=U64(release_block(int(at))), status="pending",
                    )
                )
            record[kind][key.to_hex()] = int(amount)
    escrow = U256(funds.escrow - draw)
    pool = U256(funds.pool + draw - paid)
    record["carry_wei"] = int(pool)
    record["close"] = None
    if closing:
        returned: dict[str, int] = {}
        for key, stake in stakes.items():
            if stake:
                accounts[key] = U256(accounts.get(key, balances[key]) + stake)
                returned[key.to_hex()] = int(stake)
            stakes[key] = U256(0)
        accounts[caller] = U256(accounts.get(caller, balances[caller]) + escrow)
        record["close"] = {
            "stakes_returned": returned, "escrow_refund_wei": int(escrow),
            "pool_to_training_pool_wei": int(pool),
        }
        economics = replace(
            economics, training_pool_carry=U256(economics.training_pool_carry + pool)
        )
        escrow, pool = U256(0), U256(0)
    return Payments(
        trainers={k: (stakes[k], earned[k]) for k in by_key},
        accounts=accounts,
        slashes=slashes,
        funds=FundsRow(escrow=escrow, pool=pool, funded=funds.funded, emitted=funds.emitted),
        economics=economics,
        record=record,
    )


class Executor:
    """Runs the calls of the chain against a :class:`~pot.chain.store.Store`.

    Parameters
    ----------
    store
        The open state file.
    verify
        The proof-bundle verifier; ``submit_proof`` refuses to run without one.
    aggregate
        Makes the next global model from the accepted updates (default: the job's rule,
        :func:`~pot.chain.hooks.job_aggregate`).
    settle
        Decides each round's escrow draw, rewards and slashes; the executor checks that the
        decision conserves wei (default: :func:`~pot.chain.hooks.no_payments`, which moves
        nothing; pot's node uses :func:`pot.chain.settler.economics_settle`).
    checkpoint
        Called with each name of ``CHECKPOINTS`` as a call passes it (default: nothing).
    commit
        The weights commitment of a payload under a job's hyperparams (default: ``keccak256``).
    genesis
        The commitment of a new job's round-0 model (default: the request's ``model_id``).
    """

    def __init__(
        self,
        store: Store,
        *,
        verify: Verifier | None = None,
        aggregate: Aggregator = job_aggregate,
        settle: Settler = no_payments,
        checkpoint: Checkpoint = _no_checkpoint,
        commit: Committer = keccak_commitment,
        genesis: Genesis = model_id_genesis,
    ) -> None:
        self.store = store
        self._commit_weights = commit
        self._genesis = genesis
        self._verify = verify
        self._aggregate = aggregate
        self._settle = settle
        self._checkpoint = checkpoint

    # -- transactions --------------------------------------------------------------------------

    def apply(self, tx: Tx | bytes, height: int) -> Any:
        """Apply one signed transaction at block ``height``: authenticate it, then run its call.

        The order of checks, every one before any state is written or any bundle judged:
        decode the envelope and the call's arguments (``MalformedTxError``,
        ``UnknownCallError``), the chain id (``WrongChainError``), the sender's signature
        (``BadSignatureError``), then the call itself, which checks the sender's nonce
        (``NonceReplayError``, ``NonceGapError``) inside its own SQLite transaction and
        increments it with the call's writes.

        Parameters
        ----------
        tx
            A :class:`~pot.chain.tx.Tx` or its wire encoding.
        height
            Block height of the call.

        Returns
        -------
        Any
            The call's receipt (``RequestReceipt``, ``CallReceipt``, ``ProofReceipt``,
            ``FinalizeReceipt`` or ``ClaimReceipt``).

        Raises
        ------
        TxError
            Any of its subclasses, for a transaction refused before its call runs.
        ChainError
            Any revert of the call.
        """
        # DECODE
        if not isinstance(tx, Tx):
            tx = decode_tx(bytes(tx))
        values = decode_args(tx.call, tx.args)

        # AUTHENTICATE: the chain, then the signature; nothing read but the chain id.
        with self.store.snapshot():
            chain = self.store.chain_id()
        if tx.chain_id != chain:
            raise WrongChainError(
                f"the transaction is signed for chain {tx.chain_id}; this chain is {chain}"
            )
        if not signature_valid(tx):
            raise BadSignatureError(
                f"the signature of the {tx.call} transaction does not verify under its sender "
                f"{tx.sender.to_hex()}"
            )
        sender = Sender(key=tx.sender, address=tx.address, nonce=tx.nonce)

        # WORK, WRITE, OUTPUT: the call.
        call: Callable[..., Any] = getattr(self, "_" + tx.call)
        return call(sender, *values, height)

    def _check_nonce(self, sender: Sender) -> None:
        """Refuse a nonce that is not the sender's next one (call inside a snapshot or a
        transaction; the call writes ``nonce + 1`` with its other writes)."""
        expected = self.store.next_nonce(sender.address)
        if sender.nonce < expected:
            raise NonceReplayError(
                f"nonce {sender.nonce} of {sender.address.to_hex()} was already used; next is "
                f"{expected}"
            )
        if sender.nonce > expected:
            raise NonceGapError(
                f"nonce {sender.nonce} of {sender.address.to_hex()} skips ahead; next is {expected}"
            )

    def _use_nonce(self, sender: Sender) -> None:
        """Write the sender's next nonce (after :meth:`_check_nonce`, in the call's transaction)."""
        self.store.set_next_nonce(sender.address, U64(sender.nonce + 1))

    # -- shared steps --------------------------------------------------------------------------

    def _check_height(self, height: int) -> U64:
        value = U64(height)
        if value > MAX_BLOCK_HEIGHT:
            raise HeightError(f"height {value} is above the maximum {MAX_BLOCK_HEIGHT}")
        head = self.store.head_height()
        if value < head:
            raise HeightError(f"height {value} is below the last committed height {head}")
        return value

    def _commit(self, height: U64, *job_ids: Bytes32) -> Bytes32:
        self.store.set_head_height(height)
        for job_id in job_ids:
            self.store.refresh_job_root(job_id)
        root = self.store.refresh_state_root()
        self._checkpoint("commit:before")
        return root

    def load_job(self, job_id: Bytes32) -> Job:
        """Return a job with its request decoded.

        Raises
        ------
        UnknownJobError
            If there is no such job.
        """
        row = self.store.job(Bytes32(job_id))
        if row is None:
            raise UnknownJobError(f"no job {Bytes32(job_id).to_hex()}")
        request = decode_train_request(row.calldata)
        return Job(row=row, request=request, hyperparams=check_train_request(request))

    def _payload_commitment(self, payload: bytes, hp: Hyperparams) -> Bytes32:
        if len(payload) != WEIGHT_BYTES * hp.param_count:
            raise SubmissionError(
                f"payload is {len(payload)} bytes; {hp.param_count} int64 weights need "
                f"{WEIGHT_BYTES * hp.param_count}"
            )
        return Bytes32(self._commit_weights(payload, hp))

    def update_commitment(self, job_id: Bytes32, payload: bytes) -> Bytes32:
        """Return the update commitment ``submit`` expects for ``payload`` in this job.

        Raises
        ------
        UnknownJobError
            If there is no such job.
        SubmissionError
            If the payload is not ``param_count`` int64 weights.
        """
        with self.store.snapshot():
            hp = self.load_job(Bytes32(job_id)).hyperparams
        return self._payload_commitment(bytes(payload), hp)

    def _open_job(self, job_id: Bytes32) -> Job:
        job = self.load_job(job_id)
        if job.row.status != "open":
            raise JobClosedError(f"job {job.row.job_id.to_hex()} is {job.row.status}")
        return job

    def _current_round(self, job: Job, number: int) -> RoundRow:
        if U64(number) != job.row.current_round:
            raise RoundError(
                f"round {number} is not the job's current round {job.row.current_round}"
            )
        rnd = self.store.round(job.row.job_id, job.row.current_round)
        if rnd is None:
            raise StateError(f"job {job.row.job_id.to_hex()} has no row for its current round")
        return rnd

    def _debit(self, account: Account, amount: U256, what: str) -> U256:
        """Return the account's balance less ``amount``; refuse an overdraft."""
        balance = self.store.balance(account)
        if amount > balance:
            raise InsufficientBalanceError(
                f"{what} needs {amount} wei; {account.to_hex()} holds {balance}"
            )
        return U256(balance - amount)

    def _joined(self, job: Job, trainer: Bytes48) -> TrainerRow:
        row = self.store.trainer(job.row.job_id, trainer)
        if row is None:
            raise UnknownTrainerError(
                f"trainer {trainer.to_hex()} did not join job {job.row.job_id.to_hex()}"
            )
        return row

    # -- TRAIN_REQUEST (0x14) ------------------------------------------------------------------

    def _train_request(
        self, sender: Sender, calldata: bytes, gas_limit: int, value: int, height: int
    ) -> RequestReceipt:
        """Execute TRAIN_REQUEST: open a job from canonical ABI calldata, escrowing ``value``.

        Parameters
        ----------
        sender
            The requester (its address is the job's caller, its nonce goes into the job id).
        calldata
            ABI encoding of ``(model_id, dataset_ref, total_rounds, min_participants,
            hyperparams)``.
        gas_limit
            Gas available to the call.
        height
            Block height of the call.
        value
            Wei the call carries from the caller's balance into the job's escrow (the budget its
            rounds are paid from); not part of the calldata or the job id.

        Returns
        -------
        RequestReceipt
            The job id, the gas used, and the new state root.

        Raises
        ------
        CalldataTooLargeError
            If the calldata is longer than ``MAX_CALLDATA_BYTES`` (checked before gas).
        OutOfGasError
            If ``gas_limit`` is below the schedule's charge.
        CalldataError
            Any of its subclasses, for calldata that is not canonical ABI.
        RequestError
            Any of its subclasses, for a request that breaks a rule.
        HyperparamsError
            If the hyperparams are not canonical or break a rule.
        NonceReplayError, NonceGapError
            If ``nonce`` is below or above the caller's next nonce.
        HeightError
            If ``height`` is below the last committed height.
        InsufficientBalanceError
            If the caller's balance is below ``value``.
        """
        # DECODE: the envelope (only its length; the calldata is decoded after gas).
        caller = sender.address
        nonce_value = sender.nonce
        escrow = U256(value)
        limit = U64(gas_limit)
        calldata = bytes(calldata)
        if len(calldata) > MAX_CALLDATA_BYTES:
            raise CalldataTooLargeError(
                f"calldata is {len(calldata)} bytes, the cap is {MAX_CALLDATA_BYTES}"
            )

        # GAS: base plus per byte, charged before any work.
        gas_used = charge_gas(limit, train_request_gas(len(calldata)))

        with self.store.transaction():
            at = self._check_height(height)

            # WORK: decode and check the request, check the nonce, derive the job id.
            request = decode_train_request(calldata)
            hyperparams = check_train_request(request)
            self._check_nonce(sender)
            job_id = compute_job_id(self.store.chain_id(), caller, nonce_value, calldata)
            if self.store.job(job_id) is not None:
                raise StateError(f"job id {job_id.to_hex()} exists already")
            try:
                genesis = Bytes32(self._genesis(request, hyperparams))
            except PotError as e:
                raise HyperparamsError(f"no round-0 model for this request: {e}") from e
            open_height = U64(at + hyperparams.join_blocks)
            submit_deadline = U64(open_height + hyperparams.submit_blocks)
            caller_balance = self._debit(caller, escrow, "the request's escrow")

            # WRITE STATE: the job, its round 0, the caller's nonce, the roots.
            self.store.insert_job(
                JobRow(
                    job_id=job_id, caller=caller, nonce=nonce_value, request_height=at,
                    calldata=calldata, status="open", current_round=U64(0),
                )
            )
            self.store.insert_round(
                job_id,
                RoundRow(
                    round=U64(0), open_height=open_height, submit_deadline=submit_deadline,
                    proof_deadline=U64(submit_deadline + hyperparams.proof_blocks),
                    input_commitment=genesis, beacon=None, beacon_height=None,
                    status="open", finalize_height=None, global_commitment=None,
                    aggregation_info=None, settlement=None,
                ),
            )
            self._checkpoint("request:after_job")
            self.store.set_balance(caller, caller_balance)
            self.store.set_funds(job_id, FundsRow(escrow, U256(0), escrow, U256(0)))
            self._checkpoint("request:after_escrow")
            self._use_nonce(sender)
            self._checkpoint("request:after_nonce")
            root = self._commit(at, job_id)
        self._checkpoint("commit:after")

        # OUTPUT
        return RequestReceipt(job_id=job_id, gas_used=gas_used, state_root=root)

    # -- fund ----------------------------------------------------------------------------------

    def _fund(self, sender: Sender, job_id: Bytes32, amount: int, height: int) -> CallReceipt:
        """Move more wei from the job's requester into the job's escrow.

        Parameters
        ----------
        job_id
            An open job.
        sender
            The job's requester (its address is the caller of the TRAIN_REQUEST); nobody else
            funds a job, so that the escrow left when the job ends has one owner to go back to.
        amount
            Wei to deposit; positive.
        height
            Block height of the call.

        Returns
        -------
        CallReceipt
            The new state root.

        Raises
        ------
        UnknownJobError, JobClosedError
            If the job does not exist or is not open.
        FundError
            If ``amount`` is zero or ``funder`` is not the job's requester.
        InsufficientBalanceError
            If the funder's balance is below ``amount``.
        """
        # DECODE
        job_id = Bytes32(job_id)
        funder = sender.address
        deposit = U256(amount)

        with self.store.transaction():
            at = self._check_height(height)
            self._check_nonce(sender)
            job = self._open_job(job_id)

            # WORK
            if deposit == 0:
                raise FundError("a deposit must be positive")
            if funder != job.row.caller:
                raise FundError(
                    f"only the job's requester {job.row.caller.to_hex()} funds it, not "
                    f"{funder.to_hex()}"
                )
            balance = self._debit(funder, deposit, "the deposit")
            funds = self.store.funds(job_id)
            new_funds = FundsRow(
                escrow=U256(funds.escrow + deposit), pool=funds.pool,
                funded=U256(funds.funded + deposit), emitted=funds.emitted,
            )

            # WRITE STATE
            self._use_nonce(sender)
            self.store.set_balance(funder, balance)
            self._checkpoint("fund:after_escrow")
            self.store.set_funds(job_id, new_funds)
            root = self._commit(at, job_id)
        self._checkpoint("commit:after")

        # OUTPUT
        return CallReceipt(state_root=root)

    # -- join ----------------------------------------------------------------------------------

    def _join(
        self,
        sender: Sender,
        job_id: Bytes32,
        stake: int,
        dataset_commitment: Bytes32,
        num_samples: int,
        proof_of_possession: bytes,
        height: int,
    ) -> CallReceipt:
        """Add a trainer to a job before its round 0 opens.

        Parameters
        ----------
        sender
            The trainer: its compressed BLS12-381 G1 key (48 bytes) joins.
        job_id
            The job.
        stake
            The trainer's stake in wei; positive, moved from the trainer's balance (the account
            of its key) into the job until the job ends.
        dataset_commitment
            Merkle root of the trainer's batch commitments; non-zero.
        num_samples
            Number of samples in the trainer's dataset, in ``[1, MAX_SAMPLES_PER_TRAINER]``.
        proof_of_possession
            ``PopProve`` of the trainer's key (96 bytes).
        height
            Block height of the call.

        Returns
        -------
        CallReceipt
            The new state root.

        Raises
        ------
        ProofOfPossessionError
            If the proof of possession does not verify under the sender's key (before any state
            is read).
        UnknownJobError, JobClosedError
            If the job does not exist or is not open.
        DeadlineError
            If round 0 has opened (``height >= request_height + join_blocks``).
        JoinError
            If the stake is zero, the dataset commitment is zero or ``num_samples`` is out of
            range.
        InsufficientBalanceError
            If the trainer's balance (its key's account) is below ``stake``.
        AlreadyJoinedError, JobFullError
            If the key joined already, or the job holds ``MAX_TRAINERS_PER_JOB`` trainers.
        InvalidPubkeyError
            If ``pubkey`` is not a valid G1 point in the prime-order subgroup.
        """
        # DECODE
        job_id = Bytes32(job_id)
        pubkey = sender.key
        stake_value = U256(stake)
        dataset_commitment = Bytes32(dataset_commitment)
        samples = U64(num_samples)
        if not possession_valid(bytes(pubkey), bytes(proof_of_possession)):
            raise ProofOfPossessionError(
                f"the join carries no valid proof of possession of {pubkey.to_hex()}"
            )

        with self.store.transaction():
            at = self._check_height(height)
            self._check_nonce(sender)
            job = self._open_job(job_id)
            round0 = self.store.round(job_id, U64(0))
            if round0 is None:
                raise StateError(f"job {job_id.to_hex()} has no round 0")

            # WORK: cheap checks first, the curve check last.
            if job.row.current_round != 0 or at >= round0.open_height:
                raise DeadlineError(
                    f"joins closed at height {round0.open_height - 1}; the call is at {at}"
                )
            if stake_value == 0:
                raise JoinError("stake is zero; a trainer must have something to lose")
            if dataset_commitment.is_zero():
                raise JoinError("dataset commitment is zero")
            if not 1 <= samples <= MAX_SAMPLES_PER_TRAINER:
                raise JoinError(
                    f"num_samples {samples} is outside [1, {MAX_SAMPLES_PER_TRAINER}]"
                )
            if self.store.trainer(job_id, pubkey) is not None:
                raise AlreadyJoinedError(f"trainer {pubkey.to_hex()} already joined")
            if self.store.trainer_count(job_id) >= MAX_TRAINERS_PER_JOB:
                raise JobFullError(f"job holds {MAX_TRAINERS_PER_JOB} trainers already")
            if not _valid_bls_pubkey(pubkey):
                raise InvalidPubkeyError(
                    f"{pubkey.to_hex()} is not a valid compressed BLS12-381 G1 public key"
                )
            balance = self._debit(pubkey, stake_value, "the stake")

            # WRITE STATE
            self._use_nonce(sender)
            self.store.insert_trainer(
                job_id,
                TrainerRow(
                    pubkey=pubkey, stake=stake_value, rewards=U256(0),
                    dataset_commitment=dataset_commitment, num_samples=samples, join_height=at,
                ),
            )
            self._checkpoint("join:after_trainer")
            self.store.set_balance(pubkey, balance)
            root = self._commit(at, job_id)
        self._checkpoint("commit:after")

        # OUTPUT
        return CallReceipt(state_root=root)

    # -- submit --------------------------------------------------------------------------------

    def _submit(
        self,
        sender: Sender,
        job_id: Bytes32,
        round_number: int,
        trajectory_root: Bytes32,
        steps: int,
        update_commitment: Bytes32,
        payload: bytes,
        height: int,
    ) -> CallReceipt:
        """Record a trainer's committed trajectory and final weights for the current round.

        Parameters
        ----------
        sender
            The trainer (its key joined the job); only its own key submits for it.
        job_id, round_number
            The job and its current round.
        trajectory_root
            Merkle root of the trainer's SGD trajectory; non-zero.
        steps
            ``T``, the number of steps the trajectory commits to; must equal ``steps_per_round``.
        update_commitment
            ``keccak256(payload)``.
        payload
            The final weights: ``param_count`` little-endian int64 values.
        height
            Block height of the call.

        Returns
        -------
        CallReceipt
            The new state root.

        Raises
        ------
        UnknownJobError, JobClosedError, RoundError, UnknownTrainerError
            If the job, round or trainer is not the right one.
        DeadlineError
            If ``height`` is outside ``[open_height, submit_deadline]`` of the round.
        AlreadySubmittedError
            If the trainer submitted in this round already.
        SubmissionError
            If the root is zero, ``steps`` is not ``steps_per_round``, the payload has the wrong
            length, or its commitment is not ``update_commitment``.
        """
        # DECODE
        job_id = Bytes32(job_id)
        number = U64(round_number)
        trainer = sender.key
        trajectory_root = Bytes32(trajectory_root)
        step_count = U32(steps)
        update_commitment = Bytes32(update_commitment)
        payload = bytes(payload)

        with self.store.transaction():
            at = self._check_height(height)
            self._check_nonce(sender)
            job = self._open_job(job_id)
            rnd = self._current_round(job, number)
            self._joined(job, trainer)
            hp = job.hyperparams

            # WORK
            if not rnd.open_height <= at <= rnd.submit_deadline:
                raise DeadlineError(
                    f"round {number} takes submissions at heights [{rnd.open_height}, "
                    f"{rnd.submit_deadline}]; the call is at {at}"
                )
            if self.store.submission(job_id, number, trainer) is not None:
                raise AlreadySubmittedError(
                    f"trainer {trainer.to_hex()} already submitted in round {number}"
                )
            if trajectory_root.is_zero():
                raise SubmissionError("trajectory root is zero")
            if step_count != hp.steps_per_round:
                raise SubmissionError(
                    f"trajectory has {step_count} steps; the job's steps_per_round is "
                    f"{hp.steps_per_round}"
                )
            _check_update_range(payload, hp)
            payload_commitment = self._payload_commitment(payload, hp)
            if payload_commitment != update_commitment:
                raise SubmissionError(
                    f"the payload's commitment is {payload_commitment.to_hex()}, not the "
                    f"update commitment {update_commitment.to_hex()}"
                )

            # WRITE STATE
            self._use_nonce(sender)
            self.store.insert_submission(
                job_id, number,
                SubmissionRow(
                    trainer=trainer, trajectory_root=trajectory_root, steps=step_count,
                    update_commitment=update_commitment, payload=payload, submit_height=at,
                    verdict=None, reason=None, verified_samples=None, bundle_hash=None,
                    proof_height=None,
                ),
            )
            self._checkpoint("submit:after_submission")
            root = self._commit(at, job_id)
        self._checkpoint("commit:after")

        # OUTPUT
        return CallReceipt(state_root=root)

    # -- reveal: the block's RANDAO reveal, which fixes the due beacons --------------------------

    def reveal(self, signature: bytes, height: int) -> RevealReceipt:
        """Mix block ``height``'s RANDAO reveal into the chain's mix and fix the due beacons.

        This is a step of block production, not a transaction: the block at ``height`` is
        produced by ``validators[height mod n]`` (the chain's genesis list), and its reveal is
        that validator's BLS signature of :func:`~pot.chain.tx.reveal_message` (chain id,
        height). A BLS signature is unique for its key and message, so the producer cannot grind
        it: it can only reveal or withhold. The mix becomes
        :func:`~pot.protocol.challenge.mix_reveal` of the old mix and the reveal. Then every open
        job's current round without a beacon whose ``submit_deadline + BEACON_DELAY_BLOCKS <=
        height`` gets ``beacon = round_beacon(chain_id, job_id, round, mix)``: the first block at
        or after that height fixes it, and nobody calls for it or chooses it.

        Parameters
        ----------
        signature
            The producer's reveal (96 bytes).
        height
            The block's height: above the last revealed block.

        Returns
        -------
        RevealReceipt
            The new mix, the beacons fixed (job id -> (round, beacon)), and the new state root.

        Raises
        ------
        RevealError
            If the chain has no validators, a block at ``height`` or above already revealed, or
            the signature is not the scheduled producer's reveal of ``height``.
        HeightError
            If ``height`` is below the last committed height.
        """
        # DECODE
        signature = bytes(signature)
        block = U64(height)

        with self.store.transaction():
            at = self._check_height(block)

            # WORK: the producer's reveal, the mix, the due beacons.
            validators = self.store.validators()
            if not validators:
                raise RevealError("this chain has no validators; no block can reveal")
            mix, last = self.store.randao()
            if last is not None and at <= last:
                raise RevealError(
                    f"block {last} revealed already; the next reveal must be above it, the call "
                    f"is at {at}"
                )
            producer = validators[at % len(validators)]
            message = reveal_message(self.store.chain_id(), at)
            if len(signature) != 96 or not bls_verify(bytes(producer), message, signature):
                raise RevealError(
                    f"the reveal of block {at} is not a signature of its producer "
                    f"{producer.to_hex()}"
                )
            new_mix = Bytes32(mix_reveal(bytes(mix), signature))
            chain = self.store.chain_id()
            fixed: dict[Bytes32, tuple[U64, Bytes32]] = {}
            for job_id in self.store.job_ids():
                row = self.store.job(job_id)
                if row is None or row.status != "open":
                    continue
                rnd = self.store.round(job_id, row.current_round)
                if rnd is None or rnd.beacon is not None:
                    continue
                if at >= rnd.submit_deadline + BEACON_DELAY_BLOCKS:
                    fixed[job_id] = (
                        rnd.round,
                        Bytes32(round_beacon(int(chain), bytes(job_id), int(rnd.round),
                                             bytes(new_mix))),
                    )

            # WRITE STATE
            self.store.set_randao(new_mix, at)
            self._checkpoint("reveal:after_mix")
            for job_id, (number, beacon) in fixed.items():
                self.store.set_beacon(job_id, number, beacon, at)
            root = self._commit(at, *fixed)
        self._checkpoint("commit:after")

        # OUTPUT
        return RevealReceipt(mix=new_mix, beacons=fixed, state_root=root)

    # -- submit_proof --------------------------------------------------------------------------

    def _proof_context(
        self, sender: Sender, job_id: Bytes32, number: U64, height: int
    ) -> SubmissionContext:
        """Check that a proof may land now and build the verifier's context."""
        at = self._check_height(height)
        self._check_nonce(sender)
        trainer = sender.key
        job = self._open_job(job_id)
        rnd = self._current_round(job, number)
        joined = self._joined(job, trainer)
        sub = self.store.submission(job_id, number, trainer)
        if sub is None:
            raise NoSubmissionError(f"trainer {trainer.to_hex()} did not submit in round {number}")
        if sub.verdict is not None:
            raise AlreadyJudgedError(
                f"the submission of {trainer.to_hex()} in round {number} was {sub.verdict} "
                f"({sub.reason}) at height {sub.proof_height}"
            )
        if rnd.beacon is None:
            raise BeaconError(f"the beacon of round {number} is not revealed yet")
        if at > rnd.proof_deadline:
            raise DeadlineError(
                f"round {number} took proofs until height {rnd.proof_deadline}; the call is at {at}"
            )
        return _submission_context(job, rnd, joined, sub)

    def _decode_bundle(self, bundle: bytes) -> tuple[Verifier, bytes]:
        """Return the verifier and the bundle bytes; refuse without a verifier or over the cap."""
        if self._verify is None:
            raise NoVerifierError("this executor has no verifier; proofs cannot be judged")
        bundle = bytes(bundle)
        if len(bundle) > MAX_BUNDLE_BYTES:
            raise BundleTooLargeError(
                f"bundle is {len(bundle)} bytes, the cap is {MAX_BUNDLE_BYTES}"
            )
        return self._verify, bundle

    def _judge(self, verify: Verifier, bundle: bytes, context: SubmissionContext) -> tuple[
        VerdictStatus, str, U64
    ]:
        """Run the verifier; turn its verdict into (verdict, reason, verified samples).

        Only a judgement of the bundle becomes a verdict. A fault of this node (the verifier
        crashes, runs out of memory, or returns something that is not a verdict) says nothing
        about the bundle and another node would not see it, so it never enters the state: the
        call reverts with ``VerifierFaultError`` and may be retried.
        """
        try:
            verdict = verify(bundle, context)
        except NoVerifierError:
            raise  # the node cannot judge: revert, record nothing
        except VerifierError as e:  # the node's verifier (its EVM, a worker) failed: node-local
            raise VerifierFaultError(
                f"the verifier failed ({type(e).__name__}: {e}); nothing is recorded, retry"
            ) from e
        except PotError:
            return "rejected", REASON_MALFORMED, U64(0)
        except Exception as e:  # MemoryError included: node-local, never consensus state
            raise VerifierFaultError(
                f"the verifier failed ({type(e).__name__}: {e}); nothing is recorded, retry"
            ) from e
        fault = VerifierFaultError(
            "the verifier returned something that is not a valid verdict; nothing is recorded"
        )
        if (
            not isinstance(verdict, Verdict)
            or not isinstance(verdict.ok, bool)
            or not isinstance(verdict.reason, str)
            or REASON_PATTERN.fullmatch(verdict.reason) is None
            or isinstance(verdict.verified_samples, bool)
            or not isinstance(verdict.verified_samples, int)
        ):
            raise fault
        if verdict.ok:
            if verdict.reason != REASON_OK or not (
                MIN_VERIFIED_SAMPLES <= verdict.verified_samples <= MAX_VERIFIED_SAMPLES
            ):
                raise fault
            return "accepted", REASON_OK, U64(min(verdict.verified_samples, MAX_WEIGHT_SAMPLES))
        if verdict.reason == REASON_OK or verdict.reason in VALIDATOR_SIDE_REASONS:
            raise fault
        return "rejected", verdict.reason, U64(0)

    def _submit_proof(
        self, sender: Sender, job_id: Bytes32, round_number: int, bundle: bytes, height: int
    ) -> ProofReceipt:
        """Judge a trainer's proof bundle with the verifier and record the verdict.

        Parameters
        ----------
        sender
            The trainer, with an unjudged submission in the round; only its own key proves for
            it, so nobody else can have a bundle judged in its name.
        job_id, round_number
            The job and its current round.
        bundle
            The proof bundle, at most ``MAX_BUNDLE_BYTES``; only its keccak256 is stored.
        height
            Block height of the call.

        Returns
        -------
        ProofReceipt
            The verdict recorded (``accepted`` or ``rejected`` with its reason) and the new root.

        Raises
        ------
        NoVerifierError
            If the executor has no verifier, or the verifier raises it (it cannot judge this
            job's bundles, e.g. the node lacks the circuit).
        BundleTooLargeError
            If the bundle is longer than ``MAX_BUNDLE_BYTES``.
        UnknownJobError, JobClosedError, RoundError, UnknownTrainerError, NoSubmissionError
            If the job, round, trainer or submission is not the right one.
        AlreadyJudgedError
            If the submission already has a verdict.
        BeaconError
            If the round's beacon is not revealed.
        DeadlineError
            If ``height`` is past the round's proof deadline.
        StateError
            If the state changed while the verifier ran (the call may be retried).
        """
        # DECODE
        verify, bundle = self._decode_bundle(bundle)
        job_id = Bytes32(job_id)
        number = U64(round_number)
        trainer = sender.key
        with self.store.snapshot():
            context = self._proof_context(sender, job_id, number, height)

        # WORK: the verifier runs without holding the write lock; its EVM gas is charged.
        with verification_gas() as gas_used:
            verdict, reason, samples = self._judge(verify, bundle, context)

        with self.store.transaction():
            if self._proof_context(sender, job_id, number, height) != context:
                raise StateError("the submission's context changed while its proof was verified")
            at = U64(height)

            # WRITE STATE
            self._use_nonce(sender)
            self.store.set_verdict(
                job_id, number, trainer, verdict, reason, samples, Bytes32(keccak(bundle)), at
            )
            self._checkpoint("proof:after_verdict")
            root = self._commit(at, job_id)
        self._checkpoint("commit:after")

        # OUTPUT
        return ProofReceipt(
            verdict=verdict, reason=reason, verified_samples=samples, state_root=root,
            gas_used=U64(gas_used()),
        )

    # -- finalize_round ------------------------------------------------------------------------

    def _run_aggregator(
        self, job: Job, updates: list[AcceptedUpdate]
    ) -> tuple[bytes, Bytes32, dict[str, Any]]:
        hp = job.hyperparams
        try:
            weights, info = self._aggregate(updates, hp.aggregation_rule, int(hp.rule_param))
        except Exception as e:
            raise FinalizeError(f"the aggregator failed: {e}") from e
        if not isinstance(weights, np.ndarray) or weights.dtype != np.int64:
            raise FinalizeError("the aggregator must return an int64 numpy array")
        if weights.shape != (hp.param_count,):
            raise FinalizeError(
                f"the aggregator returned shape {weights.shape}, not ({hp.param_count},)"
            )
        if not isinstance(info, dict):
            raise FinalizeError("the aggregator's info must be a dict")
        _check_json_integers(info, "aggregation info")
        payload = weights_to_payload(weights)
        return payload, self._commit_weights(payload, hp), info

    @staticmethod
    def _excluded(info: dict[str, Any] | None, accepted: set[Bytes48]) -> frozenset[Bytes48]:
        """Read ``info["excluded"]``: hex keys of accepted trainers the aggregator left out."""
        if info is None or "excluded" not in info:
            return frozenset()
        listed = info["excluded"]
        if not isinstance(listed, list):
            raise FinalizeError("aggregation info: excluded must be a list of trainer keys")
        keys = []
        for text in listed:
            try:
                key = Bytes48.from_hex(text) if isinstance(text, str) else None
            except OutOfRangeError:
                key = None
            if key is None or key not in accepted:
                raise FinalizeError(
                    f"aggregation info: excluded names {text!r}, not an accepted trainer"
                )
            keys.append(key)
        if len(set(keys)) != len(keys):
            raise FinalizeError("aggregation info: excluded names a trainer twice")
        return frozenset(keys)

    def _run_settler(
        self,
        settlement: SettlementInput,
        job: Job,
        trainers: list[TrainerRow],
        funds: FundsRow,
        at: U64,
        closing: bool,
    ) -> Payments:
        """Run the settler hook, then :func:`settle_round` on the values read from the state."""
        try:
            out = self._settle(settlement)
        except Exception as e:
            raise FinalizeError(f"the settler failed: {e}") from e
        caller = job.row.caller
        balances: dict[Account, U256] = {t.pubkey: self.store.balance(t.pubkey) for t in trainers}
        balances[caller] = self.store.balance(caller)
        return settle_round(settlement, out, trainers, funds, self.store.economics(), balances,
                            caller, at, closing)

    def _finalize_round(
        self, sender: Sender, job_id: Bytes32, round_number: int, height: int
    ) -> FinalizeReceipt:
        """Close the current round: aggregate the accepted updates, settle, open the next round.

        The settler's decision is applied in the same transaction: the escrow draw moves into the
        job's pool, rewards go from the pool to the trainers' accounts (and their ``rewards``
        tally), slashes leave the stakes as pending slashes released after
        ``CHALLENGE_WINDOW_BLOCKS``. When the job ends (completed or failed) its stakes go back
        to the trainers, its escrow to the requester and its pool to the training-pool carry.

        Parameters
        ----------
        sender
            Anyone (the transaction only spends the sender's nonce).
        job_id, round_number
            The job and its current round.
        height
            Block height of the call: past the proof deadline, or past the submit deadline once the
            beacon is revealed and every submission of the round has a verdict.

        Returns
        -------
        FinalizeReceipt
            ``finalized`` (with the new global model's commitment) or ``failed`` (fewer than
            ``min_participants`` accepted updates), the job's new status, and the new root.

        Raises
        ------
        UnknownJobError, JobClosedError, RoundError
            If the job or round is not the right one.
        DeadlineError
            If the round cannot be closed yet.
        FinalizeError
            If the aggregator or settler fails or breaks its contract (nothing is written): a
            settler may draw at most the escrow, pay at most the pool plus the draw, and slash
            only rejected or unproven trainers, at most their stake; the aggregator's
            ``info["excluded"]``, when present, must list distinct accepted trainers.
        """
        # DECODE
        job_id = Bytes32(job_id)
        number = U64(round_number)

        with self.store.transaction():
            at = self._check_height(height)
            self._check_nonce(sender)
            job = self._open_job(job_id)
            rnd = self._current_round(job, number)
            hp = job.hyperparams

            # WORK: may the round close now?
            submissions = self.store.submissions(job_id, number)
            all_judged = all(s.verdict is not None for s in submissions)
            early = rnd.beacon is not None and all_judged and at > rnd.submit_deadline
            if not (at > rnd.proof_deadline or early):
                raise DeadlineError(
                    f"round {number} can close after height {rnd.proof_deadline}, or once its "
                    f"beacon is out and every submission is judged; the call is at {at}"
                )

            # WORK: outcome of each trainer, the accepted updates, the aggregate.
            trainers = self.store.trainers(job_id)
            by_trainer = {s.trainer: s for s in submissions}
            outcomes = []
            for t in trainers:
                s = by_trainer.get(t.pubkey)
                if s is None:
                    outcomes.append(TrainerOutcome(t.pubkey, t.stake, "absent", "", 0))
                elif s.verdict is None:
                    outcomes.append(TrainerOutcome(t.pubkey, t.stake, "unproven", "", 0))
                else:
                    samples = int(s.verified_samples or 0)
                    outcomes.append(
                        TrainerOutcome(t.pubkey, t.stake, s.verdict, s.reason or "", samples)
                    )
            accepted = [s for s in self.store.submissions(job_id, number, with_payload=True)
                        if s.verdict == "accepted"]
            outcome: RoundOutcome = (
                "finalized" if len(accepted) >= job.request.min_participants else "failed"
            )
            model: bytes | None = None
            commitment: Bytes32 | None = None
            info: dict[str, Any] | None = None
            if outcome == "finalized":
                updates = [
                    AcceptedUpdate(
                        trainer=s.trainer, weights=weights_from_payload(s.payload or b""),
                        verified_samples=U64(s.verified_samples or 0),
                        update_commitment=s.update_commitment,
                    )
                    for s in accepted
                ]
                model, commitment, info = self._run_aggregator(job, updates)
            last_round = number + 1 >= job.request.total_rounds
            if outcome == "failed":
                job_status: JobStatus = "failed"
            elif last_round:
                job_status = "completed"
            else:
                job_status = "open"

            # WORK: the settlement, checked to conserve wei.
            funds = self.store.funds(job_id)
            settlement_input = SettlementInput(
                job_id=job_id, round=number, outcome=outcome,
                min_participants=job.request.min_participants, trainers=tuple(outcomes),
                global_model_commitment=commitment,
                rounds_left=U64(job.request.total_rounds - number), escrow_wei=funds.escrow,
                pool_wei=funds.pool,
                excluded=self._excluded(info, {s.trainer for s in accepted}),
            )
            payments = self._run_settler(
                settlement_input, job, trainers, funds, at, closing=job_status != "open"
            )

            # WRITE STATE: the round's outcome, the money, the job and its next round, roots.
            self._use_nonce(sender)
            self.store.close_round(
                job_id, number, outcome, at, model, commitment, info
            )
            self._checkpoint("finalize:after_round")
            self.store.set_settlement(job_id, number, payments.record)
            for key, (stake, rewards) in payments.trainers.items():
                self.store.set_trainer_balances(job_id, key, stake, rewards)
            for account, balance in payments.accounts.items():
                self.store.set_balance(account, balance)
            for slash in payments.slashes:
                self.store.insert_slash(job_id, slash)
            self.store.set_funds(job_id, payments.funds)
            self.store.set_economics(payments.economics)
            self._checkpoint("finalize:after_settlement")
            if job_status == "open":
                if commitment is None:
                    raise StateError("a finalized round must have a global commitment")
                next_number = U64(number + 1)
                submit_deadline = U64(at + hp.submit_blocks)
                self.store.insert_round(
                    job_id,
                    RoundRow(
                        round=next_number, open_height=at, submit_deadline=submit_deadline,
                        proof_deadline=U64(submit_deadline + hp.proof_blocks),
                        input_commitment=commitment, beacon=None, beacon_height=None,
                        status="open", finalize_height=None, global_commitment=None,
                        aggregation_info=None, settlement=None,
                    ),
                )
                self.store.update_job(job_id, "open", next_number)
            else:
                self.store.update_job(job_id, job_status, number)
            self._checkpoint("finalize:after_job")
            root = self._commit(at, job_id)
        self._checkpoint("commit:after")

        # OUTPUT
        return FinalizeReceipt(
            outcome=outcome, accepted=len(accepted), global_commitment=commitment,
            job_status=job_status, settlement=payments.record, state_root=root,
        )

    # -- emit ----------------------------------------------------------------------------------

    def emit(self, producer: Address, block_reward: int, height: int) -> EmitReceipt:
        """Mint the block reward of ``height``: the producer's part, each open job's share, carry.

        The split is :func:`pot.economics.emission.emit_block`: ``TRAINING_POOL_BPS`` of the
        reward, plus the carry of earlier blocks, goes to the open jobs in proportion to their
        escrow (into each job's pool, paid out at its next settled round); the floor's remainder,
        or all of it when no open job has escrow, is carried; the producer gets the rest.

        Parameters
        ----------
        producer
            The block producer's address.
        block_reward
            Wei minted by the block.
        height
            The block's height: at most one emission per height, in increasing order.

        Returns
        -------
        EmitReceipt
            The producer's part, each job's share, the new carry, and the new state root.

        Raises
        ------
        HeightError
            If ``height`` is below the last committed height.
        EmissionError
            If a reward was already emitted at ``height`` or above, or the supply would leave the
            uint256 range.
        """
        # DECODE
        producer = Address(producer)
        reward = U256(block_reward)

        with self.store.transaction():
            at = self._check_height(height)
            economics = self.store.economics()
            if economics.emission_height is not None and at <= economics.emission_height:
                raise EmissionError(
                    f"a block reward was emitted at height {economics.emission_height}; the "
                    f"next emission must be above it, the call is at {at}"
                )

            # WORK: the split, over the open jobs' escrows.
            escrows = {}
            for job_id in self.store.job_ids():
                row = self.store.job(job_id)
                if row is not None and row.status == "open":
                    escrows[bytes(job_id)] = int(self.store.funds(job_id).escrow)
            try:
                supply = U256(economics.supply + reward)
                emission = emit_block(int(reward), escrows, int(economics.training_pool_carry))
            except (EconomicsError, OutOfRangeError) as e:
                raise EmissionError(f"the emission of {reward} wei overflows: {e}") from e
            shares = {Bytes32(k): U256(v) for k, v in emission.job_shares_wei.items() if v}
            producer_balance = U256(self.store.balance(producer) + emission.producer_wei)

            # WRITE STATE
            self.store.set_balance(producer, producer_balance)
            self._checkpoint("emit:after_producer")
            for job_id, share in shares.items():
                funds = self.store.funds(job_id)
                self.store.set_funds(
                    job_id,
                    FundsRow(
                        escrow=funds.escrow, pool=U256(funds.pool + share), funded=funds.funded,
                        emitted=U256(funds.emitted + share),
                    ),
                )
            self.store.set_economics(
                replace(
                    economics, supply=supply, training_pool_carry=U256(emission.carry_wei),
                    emission_height=at,
                )
            )
            root = self._commit(at)
        self._checkpoint("commit:after")

        # OUTPUT
        return EmitReceipt(
            producer_wei=U256(emission.producer_wei), job_shares_wei=shares,
            carry_wei=U256(emission.carry_wei), state_root=root,
        )

    # -- release_slash -------------------------------------------------------------------------

    def _release_slash(
        self, sender: Sender, job_id: Bytes32, round_number: int, trainer: bytes, height: int
    ) -> CallReceipt:
        """Move a pending slash into the insurance fund once its challenge window has passed.

        Parameters
        ----------
        sender
            Anyone (the transaction only spends the sender's nonce).
        job_id, round_number, trainer
            The slashed offence: a trainer in a round of a job (in any status).
        height
            Block height of the call: at least the slash's ``release_height``
            (``slash_height + CHALLENGE_WINDOW_BLOCKS``).

        Returns
        -------
        CallReceipt
            The new state root.

        Raises
        ------
        UnknownJobError
            If there is no such job.
        NoPendingSlashError
            If the trainer has no pending slash in that round (never slashed, or released).
        ChallengeWindowError
            If ``height`` is below the slash's release height.
        """
        # DECODE
        job_id = Bytes32(job_id)
        number = U64(round_number)
        trainer = Bytes48(trainer)

        with self.store.transaction():
            at = self._check_height(height)
            self._check_nonce(sender)
            self.load_job(job_id)

            # WORK
            slash = self.store.slash(job_id, number, trainer)
            if slash is None or slash.status != "pending":
                raise NoPendingSlashError(
                    f"trainer {trainer.to_hex()} has no pending slash in round {number}"
                )
            if at < slash.release_height:
                raise ChallengeWindowError(
                    f"the slash of {trainer.to_hex()} in round {number} is open to challenge "
                    f"until height {slash.release_height - 1}; the call is at {at}"
                )
            economics = self.store.economics()
            fund = U256(economics.insurance_fund + slash.amount)

            # WRITE STATE
            self._use_nonce(sender)
            self.store.set_slash_status(job_id, number, trainer, "released")
            self._checkpoint("release:after_slash")
            self.store.set_economics(replace(economics, insurance_fund=fund))
            root = self._commit(at, job_id)
        self._checkpoint("commit:after")

        # OUTPUT
        return CallReceipt(state_root=root)

    # -- appeal and prove_fraud ----------------------------------------------------------------

    def _rejudge(
        self, verify: Verifier, bundle: bytes, context: SubmissionContext, what: str
    ) -> tuple[VerdictStatus, str, U64]:
        """Re-run the verifier on a judged bundle; a verifier fault decides nothing either way."""
        try:
            return self._judge(verify, bundle, context)
        except VerifierFaultError as e:
            raise VerifierFaultError(f"on the {what} bundle: {e}") from e

    @staticmethod
    def _check_bundle_hash(sub: SubmissionRow, number: U64, bundle_hash: Bytes32) -> None:
        """Refuse a bundle whose keccak256 is not the one recorded with the submission's verdict."""
        if sub.bundle_hash != bundle_hash:
            recorded = "none" if sub.bundle_hash is None else sub.bundle_hash.to_hex()
            raise BundleMismatchError(
                f"the bundle's keccak256 is {bundle_hash.to_hex()}; the bundle judged in round "
                f"{number} was {recorded}"
            )

    def _appeal_check(
        self, sender: Sender, job_id: Bytes32, number: U64, bundle_hash: Bytes32, height: int
    ) -> tuple[U64, Job, TrainerRow, SlashRow, SubmissionContext]:
        """Check that an appeal may be heard now; return its height, job, trainer, slash, context."""
        at = self._check_height(height)
        self._check_nonce(sender)
        trainer = sender.key
        job = self.load_job(job_id)
        joined = self._joined(job, trainer)
        slash = self.store.slash(job_id, number, trainer)
        if slash is None or slash.status != "pending":
            raise NoPendingSlashError(
                f"trainer {trainer.to_hex()} has no pending slash in round {number}"
                + ("" if slash is None else f"; its slash was {slash.status}")
            )
        if slash.offence != "invalid_proof":
            raise NotAppealableError(
                f"the {slash.offence} slash of {trainer.to_hex()} in round {number} cannot be "
                "appealed; only a slash for a rejected proof can"
            )
        if at >= slash.release_height:
            raise AppealWindowError(
                f"the slash of {trainer.to_hex()} in round {number} was open to appeal until "
                f"height {slash.release_height - 1}; the call is at {at}"
            )
        rnd = self.store.round(job_id, number)
        sub = self.store.submission(job_id, number, trainer)
        if rnd is None or sub is None or sub.verdict != "rejected":
            raise StateError(
                f"the invalid_proof slash of {trainer.to_hex()} in round {number} has no "
                "rejected submission"
            )
        self._check_bundle_hash(sub, number, bundle_hash)
        return at, job, joined, slash, _submission_context(job, rnd, joined, sub)

    def _appeal(
        self, sender: Sender, job_id: Bytes32, round_number: int, bundle: bytes, height: int
    ) -> ClaimReceipt:
        """Re-verify a slashed trainer's rejected bundle; if it now passes, void the slash.

        This is economics' ``UpholdAppeal``: an honest trainer rejected by a fault on the
        validator's side (a wrong verifying key, a verifier bug) shows the same bundle again
        within the challenge window, and the executor's verifier judges it with the submission's
        stored context, the very context of the original verdict. If the verifier accepts it the
        pending slash is voided and its whole amount goes back to the trainer: to its stake while
        the job is open, to its balance once the job has ended. The round itself is not reopened:
        the submission keeps its ``rejected`` verdict, the round's model and settlement stand, and
        the trainer earns no reward for it. The upheld appeal is recorded as the submission's
        claim (kind ``appeal``).

        Parameters
        ----------
        sender
            The slashed trainer; only its own key appeals for it.
        job_id, round_number
            The slashed submission's job (in any status) and round.
        bundle
            The proof bundle, the same bytes that were judged (at most ``MAX_BUNDLE_BYTES``).
        height
            Block height of the call: below the slash's ``release_height``.

        Returns
        -------
        ClaimReceipt
            The claim recorded, the voided slash, and the new state root.

        Raises
        ------
        NoVerifierError
            If the executor has no verifier, or the verifier cannot judge the job's bundles.
        BundleTooLargeError
            If the bundle is longer than ``MAX_BUNDLE_BYTES``.
        UnknownJobError, UnknownTrainerError
            If the job or the trainer is not the right one.
        NoPendingSlashError
            If the trainer has no pending slash in that round (none, released or voided).
        NotAppealableError
            If the slash is not for a rejected proof (``missed_deadline``, ``fraud``).
        AppealWindowError
            If ``height`` is at or past the slash's release height.
        BundleMismatchError
            If the bundle's keccak256 is not the stored ``bundle_hash``.
        VerifierFaultError
            If the verifier crashes or breaks its contract on the bundle.
        AppealRejectedError
            If the verifier rejects the bundle again.
        StateError
            If the state changed while the verifier ran (the call may be retried).
        """
        # DECODE
        verify, bundle = self._decode_bundle(bundle)
        job_id = Bytes32(job_id)
        number = U64(round_number)
        trainer = sender.key
        bundle_hash = Bytes32(keccak(bundle))
        with self.store.snapshot():
            *_, context = self._appeal_check(sender, job_id, number, bundle_hash, height)

        # WORK: the verifier runs without holding the write lock; only an acceptance upholds.
        verdict, reason, samples = self._rejudge(verify, bundle, context, "appealed")
        if verdict != "accepted":
            raise AppealRejectedError(
                f"the verifier rejects the bundle of {trainer.to_hex()} in round {number} again "
                f"({reason}); the slash stands"
            )

        with self.store.transaction():
            at, job, joined, slash, again = self._appeal_check(
                sender, job_id, number, bundle_hash, height
            )
            if again != context:
                raise StateError("the submission's context changed while its bundle was verified")
            credited_to: CreditedTo = "stake" if job.row.status == "open" else "balance"
            claim = ClaimRow(
                round=number, trainer=trainer, kind="appeal", claimant=trainer, reason=reason,
                verified_samples=samples, claim_wei=slash.amount, paid_wei=slash.amount,
                payee=trainer, credited_to=credited_to, height=at,
            )

            # WRITE STATE: the slash voided, its amount back to the trainer, the claim, roots.
            self._use_nonce(sender)
            self.store.set_slash_status(job_id, number, trainer, "voided")
            self._checkpoint("appeal:after_slash")
            if credited_to == "stake":
                self.store.set_trainer_balances(
                    job_id, trainer, U256(joined.stake + slash.amount), joined.rewards
                )
            else:
                self.store.set_balance(trainer, U256(self.store.balance(trainer) + slash.amount))
            self.store.insert_claim(job_id, claim)
            root = self._commit(at, job_id)
        self._checkpoint("commit:after")

        # OUTPUT
        return ClaimReceipt(claim=claim, slash=replace(slash, status="voided"), state_root=root)

    def _fraud_check(
        self, sender: Sender, job_id: Bytes32, number: U64, trainer: Bytes48,
        bundle_hash: Bytes32, height: int,
    ) -> tuple[U64, Job, TrainerRow, U256, SubmissionContext]:
        """Check that a fraud claim may be heard now; return its height, job, trainer, reward
        in the round, and context."""
        at = self._check_height(height)
        self._check_nonce(sender)
        job = self.load_job(job_id)
        joined = self._joined(job, trainer)
        rnd = self.store.round(job_id, number)
        if rnd is None or rnd.status != "finalized":
            raise NotFinalizedError(
                f"round {number} of job {job_id.to_hex()} is "
                f"{'not opened' if rnd is None else rnd.status}; fraud is proven on a finalized "
                "round"
            )
        sub = self.store.submission(job_id, number, trainer)
        if sub is None:
            raise NoSubmissionError(f"trainer {trainer.to_hex()} did not submit in round {number}")
        if sub.verdict != "accepted":
            raise NotAcceptedError(
                f"the submission of {trainer.to_hex()} in round {number} was "
                f"{sub.verdict or 'never judged'}; only an accepted bundle can be a fraud"
            )
        done = self.store.claim(job_id, number, trainer)
        if done is not None:
            raise AlreadyClaimedError(
                f"fraud of {trainer.to_hex()} in round {number} was proven at height {done.height}"
            )
        rewards = (rnd.settlement or {}).get("rewards", {})
        reward = rewards.get(trainer.to_hex())
        if reward is None:
            raise NoRewardError(
                f"the settlement of round {number} records no reward for {trainer.to_hex()}"
            )
        if isinstance(reward, bool) or not isinstance(reward, int):
            raise StateError(f"the settlement of round {number} records a reward of {reward!r}")
        self._check_bundle_hash(sub, number, bundle_hash)
        return at, job, joined, U256(reward), _submission_context(job, rnd, joined, sub)

    def _prove_fraud(
        self,
        sender: Sender,
        job_id: Bytes32,
        round_number: int,
        trainer: bytes,
        bundle: bytes,
        height: int,
    ) -> ClaimReceipt:
        """Show that an accepted, rewarded bundle is a fraud: the verifier now rejects it.

        This is economics' ``ProveFraud`` (``docs/economics.md`` section 4): a bundle accepted in
        a finalized round escaped detection, and the executor's current verifier (e.g. the pinned
        circuit or the verifier fixed after a soundness bug), given the same bytes and the
        submission's stored context, rejects it. Then, in one transaction:

        * the insurance fund pays the job's requester ``insurance_payout(fund, reward)``, where
          ``reward`` is what the trainer was paid for that round (its settlement record);
        * the trainer is slashed ``slash_amount(stake)`` of its stake left in the job (0 once the
          job has ended and the stakes went back), pending for ``CHALLENGE_WINDOW_BLOCKS`` like
          any slash, under the submission's (round, trainer) key, with offence ``fraud``; it
          cannot be appealed;
        * the claim (kind ``fraud``, with the claimant) is recorded, so it is never paid twice.

        The submission keeps its ``accepted`` verdict and the round its model and settlement.

        Parameters
        ----------
        job_id, round_number, trainer
            The accepted submission: a trainer in a finalized round of a job (in any status).
        bundle
            The bundle that was accepted, the same bytes (at most ``MAX_BUNDLE_BYTES``).
        sender
            The claimant: its address is recorded (the payout goes to the requester).
        height
            Block height of the call.

        Returns
        -------
        ClaimReceipt
            The claim recorded (reward claimed, payout), the fraud slash, and the new state root.

        Raises
        ------
        NoVerifierError
            If the executor has no verifier, or the verifier cannot judge the job's bundles.
        BundleTooLargeError
            If the bundle is longer than ``MAX_BUNDLE_BYTES``.
        OutOfRangeError
            If ``trainer`` is not a 48-byte key.
        UnknownJobError, UnknownTrainerError, NoSubmissionError
            If the job, the trainer or its submission in that round is not there.
        NotFinalizedError
            If the round is not finalized (open, failed, or never opened).
        NotAcceptedError
            If the submission was not accepted.
        AlreadyClaimedError
            If fraud on this submission was proven already.
        NoRewardError
            If the round's settlement records no reward for the trainer.
        BundleMismatchError
            If the bundle's keccak256 is not the stored ``bundle_hash``.
        VerifierFaultError
            If the verifier crashes or breaks its contract on the bundle.
        FraudNotProvenError
            If the verifier accepts the bundle.
        StateError
            If the state changed while the verifier ran (the call may be retried).
        """
        # DECODE
        verify, bundle = self._decode_bundle(bundle)
        job_id = Bytes32(job_id)
        number = U64(round_number)
        trainer = Bytes48(trainer)
        claimant = sender.address
        bundle_hash = Bytes32(keccak(bundle))
        with self.store.snapshot():
            *_, context = self._fraud_check(sender, job_id, number, trainer, bundle_hash, height)

        # WORK: the verifier runs without holding the write lock; only a rejection proves.
        verdict, reason, _ = self._rejudge(verify, bundle, context, "accused")
        if verdict == "accepted":
            raise FraudNotProvenError(
                f"the verifier accepts the bundle of {trainer.to_hex()} in round {number}; no "
                "fraud is shown"
            )

        with self.store.transaction():
            at, job, joined, reward, again = self._fraud_check(
                sender, job_id, number, trainer, bundle_hash, height
            )
            if again != context:
                raise StateError("the submission's context changed while its bundle was verified")
            economics = self.store.economics()
            payout = U256(insurance_payout(int(economics.insurance_fund), int(reward)))
            requester = job.row.caller
            requester_balance = U256(self.store.balance(requester) + payout)
            slash = SlashRow(
                round=number, trainer=trainer, offence="fraud",
                amount=U256(slash_amount(int(joined.stake))), slash_height=at,
                release_height=U64(release_block(int(at))), status="pending",
            )
            claim = ClaimRow(
                round=number, trainer=trainer, kind="fraud", claimant=claimant, reason=reason,
                verified_samples=U64(0), claim_wei=reward, paid_wei=payout, payee=requester,
                credited_to="balance", height=at,
            )

            # WRITE STATE: the payout, the slash, the claim, the roots.
            self._use_nonce(sender)
            self.store.set_economics(
                replace(economics, insurance_fund=U256(economics.insurance_fund - payout))
            )
            self.store.set_balance(requester, requester_balance)
            self._checkpoint("fraud:after_payout")
            self.store.set_trainer_balances(
                job_id, trainer, U256(joined.stake - slash.amount), joined.rewards
            )
            self.store.insert_slash(job_id, slash)
            self._checkpoint("fraud:after_slash")
            self.store.insert_claim(job_id, claim)
            root = self._commit(at, job_id)
        self._checkpoint("commit:after")

        # OUTPUT
        return ClaimReceipt(claim=claim, slash=slash, state_root=root)
