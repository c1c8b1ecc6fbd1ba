"""The economics ledger: a deterministic state machine over balances, escrow, stakes and funds.

The ledger holds every wei the economics rules touch: liquid balances, the unallocated training
pool, each job's escrow, accrued pool and stakes, slashes pending in their challenge window, and
the insurance fund. It changes only by applying events (:mod:`pot.economics.events`), in order:

- :class:`Emit` is the only event that changes the total (by the block reward); every other event
  moves wei between holdings, and :meth:`Ledger.total_wei` is unchanged by it.
- An event that breaks a rule raises :class:`LedgerError` (or a subclass) and leaves the ledger
  exactly as it was: each handler checks everything, then computes every new value, then writes.
- Nothing depends on the order of dicts: every split goes through the sorted, pure rules of
  :mod:`pot.economics.emission`, :mod:`pot.economics.rewards`, :mod:`pot.economics.slashing` and
  :mod:`pot.economics.insurance`, so replaying the same events gives the same ledger and the same
  canonical JSON.

The ledger's clock is the block height, advanced by :class:`Emit` only; challenge windows are
measured against it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from pot.economics._codec import (
    canonical_json,
    hex_of,
    parse_json,
    read_bool,
    read_enum,
    read_id,
    read_id_map,
    read_list,
    read_object,
    read_u64,
    read_uint,
    read_wei,
)
from pot.economics.amounts import check_uint64, check_wei
from pot.economics.constants import (
    ACCOUNT_ID_BYTES,
    BPS_DENOMINATOR,
    JOB_ID_BYTES,
)
from pot.economics.emission import emit_block
from pot.economics.errors import DoubleSlashError, EconomicsError, LedgerError, ParameterError
from pot.economics.events import (
    Accept,
    CloseJob,
    Emit,
    Event,
    FinalizeRound,
    FundJob,
    Join,
    OpenJob,
    ProveFraud,
    Reject,
    ReleaseSlash,
    Submit,
    UpholdAppeal,
    check_id,
)
from pot.economics.insurance import insurance_payout
from pot.economics.rewards import contribution, settle_round
from pot.economics.slashing import Offence, SlashStatus, release_block, slash_amount
from pot.errors import MalformedInputError

V = TypeVar("V")

OffenceKey = tuple[bytes, int, bytes]
"""(job id, round, trainer id): what identifies an offence, and a paid reward."""


class SubmissionStatus(StrEnum):
    """Where a bundle submitted in the current round stands."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass
class Submission:
    """One trainer's bundle in a job's current round; samples and quality are 0 until accepted."""

    status: SubmissionStatus
    verified_samples: int = 0
    quality_bps: int = 0


@dataclass
class Job:
    """One training job's money (wei) and progress.

    Attributes
    ----------
    funder
        The account that escrowed the budget; it gets back what is left and insurance payouts.
    reward_per_round_wei
        The most the escrow pays for one round.
    escrow_wei
        The funder's remaining budget.
    pool_wei
        Training-pool shares accrued since the last finalised round, plus carried remainders;
        paid out whole at the next finalised round that someone earned.
    round
        The current round (0-based).
    open
        False once closed; a closed job holds no wei.
    stakes_wei
        Each joined trainer's remaining stake.
    submissions
        The current round's submissions by trainer.
    """

    funder: bytes
    reward_per_round_wei: int
    escrow_wei: int
    pool_wei: int = 0
    round: int = 0
    open: bool = True
    stakes_wei: dict[bytes, int] = field(default_factory=dict)
    submissions: dict[bytes, Submission] = field(default_factory=dict)


@dataclass
class Slash:
    """One slashed offence: pending for its challenge window, then released or voided (wei)."""

    offence: Offence
    amount_wei: int
    release_block: int
    status: SlashStatus


def _balance(ledger: "Ledger", account: bytes) -> int:
    """Return the liquid balance of ``account`` (wei); unknown accounts hold 0."""
    return ledger.balances_wei.get(account, 0)


def _credit(held_wei: int, amount_wei: int, what: str) -> int:
    """Return ``held_wei + amount_wei``, raising :class:`AmountError` if it overflows uint256."""
    return check_wei(held_wei + amount_wei, what)


def _debit(held_wei: int, amount_wei: int, what: str) -> int:
    """Return ``held_wei - amount_wei``, raising :class:`LedgerError` if it would go negative."""
    if amount_wei > held_wei:
        raise LedgerError(f"{what} holds {held_wei} wei, {amount_wei} wei needed")
    return held_wei - amount_wei


def _open_job(ledger: "Ledger", job_id: bytes) -> Job:
    """Return the open job ``job_id``, raising :class:`LedgerError` if it is unknown or closed."""
    job = ledger.jobs.get(job_id)
    if job is None:
        raise LedgerError(f"job {hex_of(job_id)} does not exist")
    if not job.open:
        raise LedgerError(f"job {hex_of(job_id)} is closed")
    return job


def _current_round(ledger: "Ledger", job_id: bytes, round_: int) -> Job:
    """Return the open job ``job_id`` if ``round_`` is its current round."""
    job = _open_job(ledger, job_id)
    if round_ != job.round:
        raise LedgerError(f"job {hex_of(job_id)} is in round {job.round}, not {round_}")
    return job


def _unjudged(ledger: "Ledger", job_id: bytes, round_: int, trainer: bytes) -> Job:
    """Return the job if ``trainer`` has a submitted, not yet judged bundle in ``round_``."""
    job = _current_round(ledger, job_id, round_)
    submission = job.submissions.get(trainer)
    if submission is None or submission.status is not SubmissionStatus.SUBMITTED:
        raise LedgerError(f"trainer {hex_of(trainer)} has no unjudged bundle in round {round_}")
    return job


def _check_not_slashed(ledger: "Ledger", key: OffenceKey) -> None:
    """Raise :class:`DoubleSlashError` if the offence ``key`` was ever slashed."""
    if key in ledger.slashes:
        job_id, round_, trainer = key
        raise DoubleSlashError(
            f"trainer {hex_of(trainer)} was already slashed for round {round_} of job "
            f"{hex_of(job_id)} ({ledger.slashes[key].offence})"
        )


def _pending_slash(ledger: "Ledger", key: OffenceKey) -> Slash:
    """Return the pending slash of offence ``key``, raising :class:`LedgerError` otherwise."""
    slash = ledger.slashes.get(key)
    if slash is None or slash.status is not SlashStatus.PENDING:
        job_id, round_, trainer = key
        raise LedgerError(
            f"no pending slash of trainer {hex_of(trainer)} for round {round_} of job "
            f"{hex_of(job_id)}"
        )
    return slash


# --- Event handlers: check, compute, then write ------------------------------------------


def _apply_emit(ledger: "Ledger", event: Emit) -> None:
    """Mint the block reward: the producer's part, each open job's share, the carry."""
    if event.block != ledger.height + 1:
        raise LedgerError(f"emission for block {event.block}, expected block {ledger.height + 1}")
    escrows = {job_id: job.escrow_wei for job_id, job in ledger.jobs.items() if job.open}
    emission = emit_block(event.block_reward_wei, escrows, ledger.training_pool_wei)
    producer = _credit(_balance(ledger, event.producer), emission.producer_wei, "producer")
    pools = {
        job_id: _credit(ledger.jobs[job_id].pool_wei, share, "job pool")
        for job_id, share in emission.job_shares_wei.items()
    }
    ledger.height = event.block
    ledger.balances_wei[event.producer] = producer
    for job_id, pool in pools.items():
        ledger.jobs[job_id].pool_wei = pool
    ledger.training_pool_wei = emission.carry_wei


def _apply_open_job(ledger: "Ledger", event: OpenJob) -> None:
    """Create the job and move its escrow out of the funder's balance."""
    if event.job in ledger.jobs:
        raise LedgerError(f"job {hex_of(event.job)} already exists")
    funder = _debit(_balance(ledger, event.funder), event.escrow_wei, "funder balance")
    ledger.balances_wei[event.funder] = funder
    ledger.jobs[event.job] = Job(event.funder, event.reward_per_round_wei, event.escrow_wei)


def _apply_fund_job(ledger: "Ledger", event: FundJob) -> None:
    """Move more escrow from the job's funder into the job."""
    job = _open_job(ledger, event.job)
    funder = _debit(_balance(ledger, job.funder), event.amount_wei, "funder balance")
    escrow = _credit(job.escrow_wei, event.amount_wei, "job escrow")
    ledger.balances_wei[job.funder] = funder
    job.escrow_wei = escrow


def _apply_join(ledger: "Ledger", event: Join) -> None:
    """Move the trainer's stake from its balance into the job."""
    job = _open_job(ledger, event.job)
    if event.trainer in job.stakes_wei:
        raise LedgerError(f"trainer {hex_of(event.trainer)} already joined job {hex_of(event.job)}")
    if event.stake_wei == 0:
        raise LedgerError("a stake must be positive")
    balance = _debit(_balance(ledger, event.trainer), event.stake_wei, "trainer balance")
    ledger.balances_wei[event.trainer] = balance
    job.stakes_wei[event.trainer] = event.stake_wei


def _apply_submit(ledger: "Ledger", event: Submit) -> None:
    """Record a joined trainer's bundle for the current round (one per trainer and round)."""
    job = _current_round(ledger, event.job, event.round)
    if event.trainer not in job.stakes_wei:
        raise LedgerError(f"trainer {hex_of(event.trainer)} has not joined job {hex_of(event.job)}")
    if event.trainer in job.submissions:
        raise LedgerError(f"trainer {hex_of(event.trainer)} already submitted in round {job.round}")
    job.submissions[event.trainer] = Submission(SubmissionStatus.SUBMITTED)


def _apply_accept(ledger: "Ledger", event: Accept) -> None:
    """Mark the bundle accepted with its verified samples and quality."""
    job = _unjudged(ledger, event.job, event.round, event.trainer)
    job.submissions[event.trainer] = Submission(
        SubmissionStatus.ACCEPTED, event.verified_samples, event.quality_bps
    )


def _apply_reject(ledger: "Ledger", event: Reject) -> None:
    """Mark the bundle rejected and move the slash out of the stake, pending."""
    job = _unjudged(ledger, event.job, event.round, event.trainer)
    key = event.key
    _check_not_slashed(ledger, key)
    stake = job.stakes_wei[event.trainer]
    amount = slash_amount(stake)
    release = release_block(ledger.height)
    job.submissions[event.trainer] = Submission(SubmissionStatus.REJECTED)
    job.stakes_wei[event.trainer] = stake - amount
    ledger.slashes[key] = Slash(event.offence, amount, release, SlashStatus.PENDING)


def _apply_finalize_round(ledger: "Ledger", event: FinalizeRound) -> None:
    """Settle the round (:func:`settle_round`), pay the trainers and open the next round."""
    job = _current_round(ledger, event.job, event.round)
    unjudged = [t for t, s in job.submissions.items() if s.status is SubmissionStatus.SUBMITTED]
    if unjudged:
        raise LedgerError(f"round {event.round} still has {len(unjudged)} unjudged bundle(s)")
    contributions = {
        trainer: contribution(s.verified_samples, s.quality_bps)
        for trainer, s in job.submissions.items()
        if s.status is SubmissionStatus.ACCEPTED
    }
    settlement = settle_round(job.pool_wei, job.escrow_wei, job.reward_per_round_wei, contributions)
    balances = {
        trainer: _credit(_balance(ledger, trainer), payout, "trainer balance")
        for trainer, payout in settlement.payouts_wei.items()
    }
    next_round = check_uint64(job.round + 1, "round")
    ledger.balances_wei.update(balances)
    for trainer, payout in settlement.payouts_wei.items():
        ledger.rewards_wei[(event.job, event.round, trainer)] = payout
    job.escrow_wei -= settlement.escrow_draw_wei
    job.pool_wei = settlement.carry_wei
    job.submissions = {}
    job.round = next_round


def _apply_uphold_appeal(ledger: "Ledger", event: UpholdAppeal) -> None:
    """Void a pending slash inside its window; the amount goes back to the trainer in full."""
    key = event.key
    slash = _pending_slash(ledger, key)
    if slash.offence is Offence.FRAUD:
        raise LedgerError("a fraud slash is not appealable: the fraud proof is the verdict")
    if ledger.height >= slash.release_block:
        raise LedgerError(f"the challenge window closed at block {slash.release_block}")
    job = ledger.jobs[event.job]
    if job.open:
        job.stakes_wei[event.trainer] = _credit(
            job.stakes_wei[event.trainer], slash.amount_wei, "stake"
        )
    else:
        ledger.balances_wei[event.trainer] = _credit(
            _balance(ledger, event.trainer), slash.amount_wei, "trainer balance"
        )
    slash.status = SlashStatus.VOIDED


def _apply_release_slash(ledger: "Ledger", event: ReleaseSlash) -> None:
    """Move a pending slash whose window has passed into the insurance fund."""
    slash = _pending_slash(ledger, event.key)
    if ledger.height < slash.release_block:
        raise LedgerError(f"the challenge window is open until block {slash.release_block}")
    ledger.insurance_fund_wei = _credit(
        ledger.insurance_fund_wei, slash.amount_wei, "insurance fund"
    )
    slash.status = SlashStatus.RELEASED


def _apply_prove_fraud(ledger: "Ledger", event: ProveFraud) -> None:
    """Pay the funder from the insurance fund and slash the fraudulent trainer, pending."""
    key = event.key
    if key not in ledger.rewards_wei:
        raise LedgerError(
            f"trainer {hex_of(event.trainer)} has no rewarded bundle in finalised round "
            f"{event.round} of job {hex_of(event.job)}"
        )
    _check_not_slashed(ledger, key)
    job = ledger.jobs[event.job]
    payout = insurance_payout(ledger.insurance_fund_wei, ledger.rewards_wei[key])
    funder = _credit(_balance(ledger, job.funder), payout, "funder balance")
    stake = job.stakes_wei.get(event.trainer, 0)  # 0 once the job closed and stakes went back
    amount = slash_amount(stake)
    release = release_block(ledger.height)
    ledger.insurance_fund_wei -= payout
    ledger.balances_wei[job.funder] = funder
    if event.trainer in job.stakes_wei:
        job.stakes_wei[event.trainer] = stake - amount
    ledger.slashes[key] = Slash(Offence.FRAUD, amount, release, SlashStatus.PENDING)


def _apply_close_job(ledger: "Ledger", event: CloseJob) -> None:
    """Return stakes and escrow to their owners and the job's pool to the training pool."""
    job = _open_job(ledger, event.job)
    if job.submissions:
        raise LedgerError(f"round {job.round} has submissions; finalise it before closing")
    returns = dict(job.stakes_wei)
    returns[job.funder] = returns.get(job.funder, 0) + job.escrow_wei
    balances = {
        account: _credit(_balance(ledger, account), amount, "balance")
        for account, amount in returns.items()
    }
    pool = _credit(ledger.training_pool_wei, job.pool_wei, "training pool")
    ledger.balances_wei.update(balances)
    ledger.training_pool_wei = pool
    job.escrow_wei = 0
    job.pool_wei = 0
    job.stakes_wei = {}
    job.open = False


@dataclass
class Ledger:
    """Every wei the economics rules hold, and the block height; driven by :meth:`apply`.

    Attributes
    ----------
    height
        The last block whose :class:`Emit` was applied (blocks).
    balances_wei
        Liquid balance of each account (wei).
    training_pool_wei
        Emitted training-pool wei not yet allocated to a job (wei).
    insurance_fund_wei
        Released slashes, less insurance payouts (wei).
    jobs
        Every job ever opened, by job id.
    slashes
        Every offence ever slashed, by (job, round, trainer); only pending ones hold wei.
    rewards_wei
        The reward paid to each accepted bundle of a finalised round, by (job, round, trainer):
        the claim if fraud is proven later (wei).
    """

    height: int = 0
    balances_wei: dict[bytes, int] = field(default_factory=dict)
    training_pool_wei: int = 0
    insurance_fund_wei: int = 0
    jobs: dict[bytes, Job] = field(default_factory=dict)
    slashes: dict[OffenceKey, Slash] = field(default_factory=dict)
    rewards_wei: dict[OffenceKey, int] = field(default_factory=dict)

    @classmethod
    def genesis(cls, balances_wei: Mapping[bytes, int], height: int = 0) -> "Ledger":
        """Return a ledger holding only the given balances, at block ``height``.

        Parameters
        ----------
        balances_wei
            Liquid balance of each account (wei), keyed by ``ACCOUNT_ID_BYTES``-byte id.
        height
            The block height the ledger starts at; the first :class:`Emit` is for
            ``height + 1``.

        Returns
        -------
        Ledger
            The new ledger.

        Raises
        ------
        ParameterError
            An id has the wrong length, or ``height`` is not a uint64.
        AmountError
            A balance, or their total, is not a uint256 amount.
        """
        for account, amount in balances_wei.items():
            check_id(account, ACCOUNT_ID_BYTES, "account id")
            check_wei(amount, f"balance of {hex_of(account)}")
        check_wei(sum(balances_wei.values()), "total of the genesis balances")
        return cls(height=check_uint64(height, "height"), balances_wei=dict(balances_wei))

    def apply(self, event: Event) -> None:
        """Apply one event; on any error the ledger is left unchanged.

        Parameters
        ----------
        event
            The event (see :mod:`pot.economics.events` for what each does).

        Raises
        ------
        LedgerError
            The event breaks a rule of the ledger's current state (unknown or closed job, wrong
            round or block, insufficient balance, window open or closed, ...).
        DoubleSlashError
            The event would slash an offence that was already slashed.
        AmountError
            A holding would leave the uint256 range.
        ParameterError
            ``event`` is not an event.
        """
        match event:
            case Emit():
                _apply_emit(self, event)
            case OpenJob():
                _apply_open_job(self, event)
            case FundJob():
                _apply_fund_job(self, event)
            case Join():
                _apply_join(self, event)
            case Submit():
                _apply_submit(self, event)
            case Accept():
                _apply_accept(self, event)
            case Reject():
                _apply_reject(self, event)
            case FinalizeRound():
                _apply_finalize_round(self, event)
            case UpholdAppeal():
                _apply_uphold_appeal(self, event)
            case ReleaseSlash():
                _apply_release_slash(self, event)
            case ProveFraud():
                _apply_prove_fraud(self, event)
            case CloseJob():
                _apply_close_job(self, event)
            case _:
                raise ParameterError(f"not a ledger event: {type(event).__name__}")

    def total_wei(self) -> int:
        """Return every wei the ledger holds: balances, pools, escrow, stakes, slashes, fund.

        Returns
        -------
        int
            The total (wei). Only :class:`Emit` changes it, by exactly its block reward.
        """
        jobs = sum(
            j.escrow_wei + j.pool_wei + sum(j.stakes_wei.values()) for j in self.jobs.values()
        )
        pending = sum(
            s.amount_wei for s in self.slashes.values() if s.status is SlashStatus.PENDING
        )
        return (
            sum(self.balances_wei.values())
            + self.training_pool_wei
            + self.insurance_fund_wei
            + jobs
            + pending
        )

    def to_obj(self) -> dict[str, Any]:
        """Return the ledger as a JSON-ready object (ids as hex, amounts as ints, lists sorted).

        Returns
        -------
        dict[str, Any]
            The object :meth:`from_obj` reads back.
        """
        return {
            "height": self.height,
            "balances_wei": _amount_map_to_obj(self.balances_wei),
            "training_pool_wei": self.training_pool_wei,
            "insurance_fund_wei": self.insurance_fund_wei,
            "jobs": {hex_of(job_id): _job_to_obj(job) for job_id, job in self.jobs.items()},
            "slashes": [
                {**_key_to_obj(key), **_slash_to_obj(slash)}
                for key, slash in sorted(self.slashes.items())
            ],
            "rewards": [
                {**_key_to_obj(key), "amount_wei": amount}
                for key, amount in sorted(self.rewards_wei.items())
            ],
        }

    def to_json(self) -> str:
        """Return the ledger as canonical JSON text (sorted keys, no spaces)."""
        return canonical_json(self.to_obj())

    @classmethod
    def from_obj(cls, obj: Any) -> "Ledger":
        """Read a ledger from a parsed JSON object (the inverse of :meth:`to_obj`).

        Raises
        ------
        MalformedInputError
            A field is missing, unknown, of the wrong type or out of range, an offence key
            repeats, or the total leaves the uint256 range.
        """
        o = read_object(obj, _LEDGER_KEYS, "ledger")
        ledger = cls(
            height=read_u64(o["height"], "ledger.height"),
            balances_wei=read_id_map(o["balances_wei"], ACCOUNT_ID_BYTES, read_wei, "balances"),
            training_pool_wei=read_wei(o["training_pool_wei"], "ledger.training_pool_wei"),
            insurance_fund_wei=read_wei(o["insurance_fund_wei"], "ledger.insurance_fund_wei"),
            jobs=read_id_map(o["jobs"], JOB_ID_BYTES, _read_job, "ledger.jobs"),
            slashes=_read_records(o["slashes"], _SLASH_FIELDS, _read_slash, "ledger.slashes"),
            rewards_wei=_read_records(
                o["rewards"], ("amount_wei",), _read_reward, "ledger.rewards"
            ),
        )
        _check_references(ledger)
        try:
            check_wei(ledger.total_wei(), "ledger total")
        except EconomicsError as e:
            raise MalformedInputError(str(e)) from e
        return ledger

    @classmethod
    def from_json(cls, text: str) -> "Ledger":
        """Read a ledger from JSON text (see :meth:`from_obj`).

        Raises
        ------
        MalformedInputError
            The text is not JSON or not a valid ledger.
        """
        return cls.from_obj(parse_json(text, "ledger"))


# --- JSON of the ledger's parts ---------------------------------------------------------------

_LEDGER_KEYS = (
    "height",
    "balances_wei",
    "training_pool_wei",
    "insurance_fund_wei",
    "jobs",
    "slashes",
    "rewards",
)
_JOB_KEYS = (
    "funder",
    "reward_per_round_wei",
    "escrow_wei",
    "pool_wei",
    "round",
    "open",
    "stakes_wei",
    "submissions",
)
_SUBMISSION_KEYS = ("status", "verified_samples", "quality_bps")
_KEY_FIELDS = ("job", "round", "trainer")
_SLASH_FIELDS = ("offence", "amount_wei", "release_block", "status")


def _amount_map_to_obj(amounts: Mapping[bytes, int]) -> dict[str, int]:
    """Return an id → wei map with hex keys."""
    return {hex_of(k): v for k, v in amounts.items()}


def _job_to_obj(job: Job) -> dict[str, Any]:
    """Return one job as a JSON-ready object."""
    return {
        "funder": hex_of(job.funder),
        "reward_per_round_wei": job.reward_per_round_wei,
        "escrow_wei": job.escrow_wei,
        "pool_wei": job.pool_wei,
        "round": job.round,
        "open": job.open,
        "stakes_wei": _amount_map_to_obj(job.stakes_wei),
        "submissions": {
            hex_of(t): {
                "status": s.status.value,
                "verified_samples": s.verified_samples,
                "quality_bps": s.quality_bps,
            }
            for t, s in job.submissions.items()
        },
    }


def _key_to_obj(key: OffenceKey) -> dict[str, Any]:
    """Return an offence key as the fields ``job``, ``round``, ``trainer``."""
    job_id, round_, trainer = key
    return {"job": hex_of(job_id), "round": round_, "trainer": hex_of(trainer)}


def _slash_to_obj(slash: Slash) -> dict[str, Any]:
    """Return a slash's own fields."""
    return {
        "offence": slash.offence.value,
        "amount_wei": slash.amount_wei,
        "release_block": slash.release_block,
        "status": slash.status.value,
    }


def _read_submission(value: Any, what: str) -> Submission:
    """Read one submission object."""
    o = read_object(value, _SUBMISSION_KEYS, what)
    return Submission(
        read_enum(o["status"], SubmissionStatus, f"{what}.status"),
        read_u64(o["verified_samples"], f"{what}.verified_samples"),
        read_uint(o["quality_bps"], BPS_DENOMINATOR, f"{what}.quality_bps"),
    )


def _read_job(value: Any, what: str) -> Job:
    """Read one job object."""
    o = read_object(value, _JOB_KEYS, what)
    return Job(
        funder=read_id(o["funder"], ACCOUNT_ID_BYTES, f"{what}.funder"),
        reward_per_round_wei=read_wei(o["reward_per_round_wei"], f"{what}.reward_per_round_wei"),
        escrow_wei=read_wei(o["escrow_wei"], f"{what}.escrow_wei"),
        pool_wei=read_wei(o["pool_wei"], f"{what}.pool_wei"),
        round=read_u64(o["round"], f"{what}.round"),
        open=read_bool(o["open"], f"{what}.open"),
        stakes_wei=read_id_map(o["stakes_wei"], ACCOUNT_ID_BYTES, read_wei, f"{what}.stakes_wei"),
        submissions=read_id_map(
            o["submissions"], ACCOUNT_ID_BYTES, _read_submission, f"{what}.submissions"
        ),
    )


def _read_slash(o: dict[str, Any], what: str) -> Slash:
    """Read the own fields of a slash record."""
    return Slash(
        read_enum(o["offence"], Offence, f"{what}.offence"),
        read_wei(o["amount_wei"], f"{what}.amount_wei"),
        read_u64(o["release_block"], f"{what}.release_block"),
        read_enum(o["status"], SlashStatus, f"{what}.status"),
    )


def _read_reward(o: dict[str, Any], what: str) -> int:
    """Read the own field of a reward record (wei)."""
    return read_wei(o["amount_wei"], f"{what}.amount_wei")


def _check_references(ledger: Ledger) -> None:
    """Raise :class:`MalformedInputError` unless the ledger's parts agree with one another.

    Every slash names a known job and a round it has reached, every reward a round it has
    finalised; on an open job both name joined trainers. A closed job holds no wei and no
    bundles; a bundle belongs to a joined trainer and carries samples and quality only once
    accepted. The event handlers rely on all of this.
    """
    records = [(key, 0) for key in ledger.slashes] + [(key, 1) for key in ledger.rewards_wei]
    for (job_id, round_, trainer), finalised in records:
        job = ledger.jobs.get(job_id)
        if job is None:
            raise MalformedInputError(f"a slash or reward names unknown job {hex_of(job_id)}")
        if round_ + finalised > job.round or (job.open and trainer not in job.stakes_wei):
            raise MalformedInputError(
                f"a slash or reward of job {hex_of(job_id)} names round {round_} and trainer "
                f"{hex_of(trainer)}, which the job has not reached or who has not joined"
            )
    for job_id, job in ledger.jobs.items():
        if not job.open and (job.escrow_wei or job.pool_wei or job.stakes_wei or job.submissions):
            raise MalformedInputError(f"closed job {hex_of(job_id)} still holds wei or bundles")
        for trainer, s in job.submissions.items():
            unaccepted = s.status is not SubmissionStatus.ACCEPTED
            if trainer not in job.stakes_wei or (
                unaccepted and (s.verified_samples or s.quality_bps)
            ):
                raise MalformedInputError(
                    f"job {hex_of(job_id)} holds a bundle of {hex_of(trainer)} that is not "
                    "a member's, or has samples without being accepted"
                )


def _read_records(
    value: Any,
    own_fields: tuple[str, ...],
    read_own: Callable[[dict[str, Any], str], V],
    what: str,
) -> dict[OffenceKey, V]:
    """Read a list of records keyed by (job, round, trainer), each key at most once."""
    table: dict[OffenceKey, V] = {}
    for i, item in enumerate(read_list(value, what)):
        where = f"{what}[{i}]"
        o = read_object(item, [*_KEY_FIELDS, *own_fields], where)
        key = (
            read_id(o["job"], JOB_ID_BYTES, f"{where}.job"),
            read_u64(o["round"], f"{where}.round"),
            read_id(o["trainer"], ACCOUNT_ID_BYTES, f"{where}.trainer"),
        )
        if key in table:
            raise MalformedInputError(f"{where} repeats the (job, round, trainer) of a record")
        table[key] = read_own(o, where)
    return table
