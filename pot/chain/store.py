"""The executor's state: an embedded SQLite file, its JSON export, and the state root.

Every executor call runs in one ``BEGIN IMMEDIATE ... COMMIT`` transaction
(:meth:`Store.transaction`), so a crash at any point of a call leaves the file as it was before the
call or as it is after it. The file uses SQLite's write-ahead log with ``synchronous=FULL`` and a
busy timeout, so several processes can run ``pot chain`` against one file: writers queue, readers
read a consistent snapshot.

Export
    :meth:`Store.export` gives the whole state as one JSON object (``EXPORT_FORMAT``): the chain
    (``chain_id``, ``head_height``, the block producers ``validators``, the RANDAO mix
    ``randao_mix`` and the height of its last reveal ``randao_height``), each key's next nonce,
    the economics (supply, training-pool carry, insurance fund, last emission height, every
    account's balance and every job's escrow and pool), and each job with its trainers, rounds,
    submissions, slashes and claims (upheld appeals and proven frauds). Byte strings are ``0x``
    hex, integers are JSON integers (read them with an arbitrary-precision parser: amounts are
    uint256 wei), absent values are ``null``, round numbers are decimal-string keys.
    :meth:`Store.import_state` rebuilds a state file from an export and checks it.

Money
    Every wei is in exactly one place: an account balance (a 20-byte address or a 48-byte trainer
    key), the training-pool carry, a job's escrow or pool, a trainer's stake, a pending slash, or
    the insurance fund (a released slash is in the fund, a voided one back with its trainer).
    :meth:`Store.total_wei` sums them; only emission changes the sum, and ``supply_wei`` (the
    genesis allocations plus every emission) records what it must be.

State root
    ``canonical(x)`` is ``json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``
    as bytes. The root of a job is ``keccak256(canonical(job))`` with the blob fields (``payload``
    of a submission, ``global_model`` of a round) removed: each is bound by its commitment
    (``update_commitment``, ``global_commitment``), computed by the executor's ``commit`` hook
    (``keccak256`` of the blob by default; pot's node uses the KZG-point ``commit(W)``). The state
    root is ``keccak256(canonical({"format", "chain", "nonces", "economics",
    "jobs": {job_id: job_root}}))``. A job's root is refreshed by each call that touches the job;
    the economics (accounts and every job's escrow and pool) is hashed whole, like the nonces, so
    a call costs O(size of its job + number of jobs + number of accounts), not O(state). A job's
    escrow and pool live in ``economics.funds`` rather than in the job, so that an emission, which
    credits every funded job, does not re-hash every job. :func:`state_root_of_export` recomputes
    the root from an export alone.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_hash.auto import keccak

from pot.chain.abi import decode_train_request
from pot.chain.errors import ChainError, OutOfRangeError, StateError
from pot.chain.fixed_types import U32, U64, U256, Address, Bytes32, Bytes48
from pot.chain.hyperparams import Hyperparams
from pot.chain.request import check_train_request, compute_job_id
from pot.errors import PotError
from pot.jsonio import canonical_json

SCHEMA_VERSION = 4
EXPORT_FORMAT = "pot.chain.state/4"
BUSY_TIMEOUT_S = 30.0
BLOB_FIELDS = frozenset({"payload", "global_model"})

JobStatus = Literal["open", "completed", "failed"]
RoundStatus = Literal["open", "finalized", "failed"]
VerdictStatus = Literal["accepted", "rejected"]
SlashStatus = Literal["pending", "released", "voided"]
Offence = Literal["invalid_proof", "missed_deadline", "fraud"]
ClaimKind = Literal["appeal", "fraud"]
CreditedTo = Literal["stake", "balance"]
ACCOUNT_BYTES = (Address.LENGTH, Bytes48.LENGTH)

_SCHEMA = """
CREATE TABLE chain (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    schema_version INTEGER NOT NULL,
    chain_id INTEGER NOT NULL,
    head_height INTEGER NOT NULL,
    state_root BLOB NOT NULL,
    validators BLOB NOT NULL,
    randao_mix BLOB NOT NULL,
    randao_height INTEGER
);
CREATE TABLE nonces (
    caller BLOB PRIMARY KEY,
    next_nonce INTEGER NOT NULL
);
CREATE TABLE jobs (
    job_id BLOB PRIMARY KEY,
    caller BLOB NOT NULL,
    nonce INTEGER NOT NULL,
    request_height INTEGER NOT NULL,
    calldata BLOB NOT NULL,
    status TEXT NOT NULL,
    current_round INTEGER NOT NULL,
    job_root BLOB NOT NULL
);
CREATE TABLE trainers (
    job_id BLOB NOT NULL,
    pubkey BLOB NOT NULL,
    stake BLOB NOT NULL,
    rewards BLOB NOT NULL,
    dataset_commitment BLOB NOT NULL,
    num_samples INTEGER NOT NULL,
    join_height INTEGER NOT NULL,
    PRIMARY KEY (job_id, pubkey)
);
CREATE TABLE rounds (
    job_id BLOB NOT NULL,
    round INTEGER NOT NULL,
    open_height INTEGER NOT NULL,
    submit_deadline INTEGER NOT NULL,
    proof_deadline INTEGER NOT NULL,
    input_commitment BLOB NOT NULL,
    beacon BLOB,
    beacon_height INTEGER,
    status TEXT NOT NULL,
    finalize_height INTEGER,
    global_model BLOB,
    global_commitment BLOB,
    aggregation_info TEXT,
    settlement TEXT,
    PRIMARY KEY (job_id, round)
);
CREATE TABLE submissions (
    job_id BLOB NOT NULL,
    round INTEGER NOT NULL,
    trainer BLOB NOT NULL,
    trajectory_root BLOB NOT NULL,
    steps INTEGER NOT NULL,
    update_commitment BLOB NOT NULL,
    payload BLOB NOT NULL,
    submit_height INTEGER NOT NULL,
    verdict TEXT,
    reason TEXT,
    verified_samples INTEGER,
    bundle_hash BLOB,
    proof_height INTEGER,
    PRIMARY KEY (job_id, round, trainer)
);
CREATE TABLE economics (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    supply BLOB NOT NULL,
    training_pool_carry BLOB NOT NULL,
    insurance_fund BLOB NOT NULL,
    emission_height INTEGER
);
CREATE TABLE accounts (
    account BLOB PRIMARY KEY CHECK (length(account) IN (20, 48)),
    balance BLOB NOT NULL
);
CREATE TABLE funds (
    job_id BLOB PRIMARY KEY,
    escrow BLOB NOT NULL,
    pool BLOB NOT NULL,
    funded BLOB NOT NULL,
    emitted BLOB NOT NULL
);
CREATE TABLE slashes (
    job_id BLOB NOT NULL,
    round INTEGER NOT NULL,
    trainer BLOB NOT NULL,
    offence TEXT NOT NULL,
    amount BLOB NOT NULL,
    slash_height INTEGER NOT NULL,
    release_height INTEGER NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (job_id, round, trainer)
);
CREATE TABLE claims (
    job_id BLOB NOT NULL,
    round INTEGER NOT NULL,
    trainer BLOB NOT NULL,
    kind TEXT NOT NULL,
    claimant BLOB NOT NULL,
    reason TEXT NOT NULL,
    verified_samples INTEGER NOT NULL,
    claim BLOB NOT NULL,
    paid BLOB NOT NULL,
    payee BLOB NOT NULL,
    credited_to TEXT NOT NULL,
    height INTEGER NOT NULL,
    PRIMARY KEY (job_id, round, trainer)
);
"""


@dataclass(frozen=True)
class JobRow:
    """A job as stored: the request that made it and where it stands."""

    job_id: Bytes32
    caller: Address
    nonce: U64
    request_height: U64
    calldata: bytes
    status: JobStatus
    current_round: U64


@dataclass(frozen=True)
class TrainerRow:
    """A trainer of a job: its key, stake and rewards (wei), dataset commitment and size."""

    pubkey: Bytes48
    stake: U256
    rewards: U256
    dataset_commitment: Bytes32
    num_samples: U64
    join_height: U64


@dataclass(frozen=True)
class RoundRow:
    """A round of a job: its deadlines (block heights), beacon, and result once finalized."""

    round: U64
    open_height: U64
    submit_deadline: U64
    proof_deadline: U64
    input_commitment: Bytes32
    beacon: Bytes32 | None
    beacon_height: U64 | None
    status: RoundStatus
    finalize_height: U64 | None
    global_commitment: Bytes32 | None
    aggregation_info: dict[str, Any] | None
    settlement: dict[str, Any] | None


@dataclass(frozen=True)
class SubmissionRow:
    """A trainer's submission in a round, and its verdict once judged. ``payload`` may be elided."""

    trainer: Bytes48
    trajectory_root: Bytes32
    steps: U32
    update_commitment: Bytes32
    payload: bytes | None
    submit_height: U64
    verdict: VerdictStatus | None
    reason: str | None
    verified_samples: U64 | None
    bundle_hash: Bytes32 | None
    proof_height: U64 | None


@dataclass(frozen=True)
class EconomicsRow:
    """The chain-wide money (wei) and the height of the last emission (``None`` before any).

    ``supply`` is the sum of the genesis allocations and of every block reward emitted: what
    :meth:`Store.total_wei` must equal.
    """

    supply: U256
    training_pool_carry: U256
    insurance_fund: U256
    emission_height: U64 | None


@dataclass(frozen=True)
class FundsRow:
    """A job's money (wei): its escrow and pool, and the tallies of what was funded and emitted."""

    escrow: U256
    pool: U256
    funded: U256
    emitted: U256


@dataclass(frozen=True)
class SlashRow:
    """One slashed offence of a trainer in a round: pending until ``release_height``, then
    released to the insurance fund, or voided by an upheld appeal before then."""

    round: U64
    trainer: Bytes48
    offence: Offence
    amount: U256
    slash_height: U64
    release_height: U64
    status: SlashStatus


Account = Address | Bytes48
"""An account: a 20-byte address (requesters, block producers) or a 48-byte trainer key."""


@dataclass(frozen=True)
class ClaimRow:
    """An upheld appeal or a proven fraud on one submission (job, round, trainer); at most one.

    Attributes
    ----------
    round, trainer
        The submission the claim is about.
    kind
        ``appeal``: the trainer's rejected bundle was re-verified and accepted, its slash voided.
        ``fraud``: an accepted bundle was re-verified and rejected, the requester reimbursed.
    claimant
        Who made the call: the trainer for an appeal, any account for a fraud proof.
    reason, verified_samples
        The re-verification's verdict: ``ok`` and its verified samples (appeal), or the
        rejection reason and 0 (fraud).
    claim_wei
        What was claimed: the voided slash (appeal), the trainer's reward in the round (fraud).
    paid_wei
        What was paid: the whole slash, back to the trainer (appeal); ``insurance_payout(fund,
        claim)`` from the insurance fund to the requester (fraud).
    payee, credited_to
        Who was paid, and whether to its ``stake`` in the job (an appeal while the job is open)
        or its ``balance``.
    height
        Block height of the call.
    """

    round: U64
    trainer: Bytes48
    kind: ClaimKind
    claimant: Account
    reason: str
    verified_samples: U64
    claim_wei: U256
    paid_wei: U256
    payee: Account
    credited_to: CreditedTo
    height: U64


def account_from_hex(text: str) -> Account:
    """Parse an account: ``0x`` hex of 20 bytes (an address) or 48 bytes (a trainer key).

    Raises
    ------
    OutOfRangeError
        If ``text`` is not hex of one of those lengths.
    """
    digits = text[2:] if text.startswith(("0x", "0X")) else text
    if len(digits) == 2 * Bytes48.LENGTH:
        return Bytes48.from_hex(text)
    return Address.from_hex(text)


def slash_export(slash: SlashRow) -> dict[str, Any]:
    """Return a slash's export object (without its round and trainer, which key it)."""
    return {
        "offence": slash.offence, "amount_wei": int(slash.amount),
        "slash_height": int(slash.slash_height), "release_height": int(slash.release_height),
        "status": slash.status,
    }


def claim_export(claim: ClaimRow) -> dict[str, Any]:
    """Return a claim's export object (without its round and trainer, which key it)."""
    return {
        "kind": claim.kind, "claimant": claim.claimant.to_hex(), "reason": claim.reason,
        "verified_samples": int(claim.verified_samples), "claim_wei": int(claim.claim_wei),
        "paid_wei": int(claim.paid_wei), "payee": claim.payee.to_hex(),
        "credited_to": claim.credited_to, "height": int(claim.height),
    }


def _hex(value: bytes | None) -> str | None:
    return None if value is None else "0x" + bytes(value).hex()


def _opt(kind: type[U64], value: int | None) -> U64 | None:
    return None if value is None else kind(value)


def _opt_bytes32(value: bytes | None) -> Bytes32 | None:
    return None if value is None else Bytes32(value)


def _opt_json(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def account_of(value: bytes) -> Account:
    """Return ``value`` as an :data:`Account` (its length picks the type).

    Raises
    ------
    OutOfRangeError
        If ``value`` is neither 20 nor 48 bytes long.
    """
    if len(value) == Bytes48.LENGTH:
        return Bytes48(value)
    return Address(value)


def _keccak_commitment(payload: bytes, hyperparams: Hyperparams) -> Bytes32:
    """The default blob commitment checked by :meth:`Store.import_state`: ``keccak256``."""
    return Bytes32(keccak(payload))


def _strip_blobs(value: Any) -> Any:
    """Return ``value`` with every key in ``BLOB_FIELDS`` removed, at any depth."""
    if isinstance(value, dict):
        return {k: _strip_blobs(v) for k, v in value.items() if k not in BLOB_FIELDS}
    return value


def job_root_of_export(job: dict[str, Any]) -> Bytes32:
    """Return a job's root from its export object (see the module docstring)."""
    return Bytes32(keccak(canonical_json(_strip_blobs(job))))


def _state_root(
    chain: dict[str, Any],
    nonces: dict[str, int],
    economics: dict[str, Any],
    job_roots: dict[str, str],
) -> Bytes32:
    top = {
        "format": EXPORT_FORMAT, "chain": chain, "nonces": nonces, "economics": economics,
        "jobs": job_roots,
    }
    return Bytes32(keccak(canonical_json(top)))


def state_root_of_export(export: dict[str, Any]) -> Bytes32:
    """Recompute the state root from an export alone (its ``state_root`` key is ignored).

    Parameters
    ----------
    export
        An object produced by :meth:`Store.export`.

    Returns
    -------
    Bytes32
        The state root of the exported state.
    """
    job_roots = {
        job_id: job_root_of_export(job).to_hex() for job_id, job in export["jobs"].items()
    }
    return _state_root(export["chain"], export["nonces"], export["economics"], job_roots)


class Store:
    """An open state file. Build it with :meth:`create`, :meth:`open` or :meth:`import_state`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._in_transaction = False

    # -- opening -------------------------------------------------------------------------------

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as e:
            raise StateError(f"cannot open state file {path}: {e}") from e
        return db

    @classmethod
    def create(
        cls,
        path: str | Path,
        chain_id: int,
        alloc: Mapping[Account, int] | None = None,
        validators: Sequence[bytes] = (),
    ) -> Store:
        """Create a new state file for chain ``chain_id``, holding only the genesis allocations.

        Parameters
        ----------
        path
            Where to create the file; must not exist.
        chain_id
            The chain id (U64).
        alloc
            Genesis balance of each account (wei); their sum is the initial supply.
        validators
            The block producers' BLS keys: block ``h`` is produced by ``validators[h mod n]``,
            whose RANDAO reveal fixes the round beacons (:meth:`Executor.reveal
            <pot.chain.executor.Executor.reveal>`); distinct, in order.

        Raises
        ------
        StateError
            If ``path`` already exists.
        OutOfRangeError
            If ``chain_id`` does not fit a U64, an account is not 20 or 48 bytes, or an amount
            or the supply does not fit a U256.
        """
        path = Path(path)
        chain = U64(chain_id)
        balances = {account_of(a): U256(v) for a, v in (alloc or {}).items()}
        supply = U256(sum(balances.values()))
        keys = [Bytes48(v) for v in validators]
        if len(set(keys)) != len(keys):
            raise StateError("the validator keys must be distinct")
        if path.exists():
            raise StateError(f"state file {path} already exists")
        store = cls(cls._connect(path), path)
        with store.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    store._db.execute(statement)
            store._db.execute(
                "INSERT INTO chain VALUES (0, ?, ?, 0, ?, ?, ?, NULL)",
                (SCHEMA_VERSION, chain, b"\x00" * 32, b"".join(keys), b"\x00" * 32),
            )
            store.set_economics(EconomicsRow(supply, U256(0), U256(0), None))
            for account, balance in balances.items():
                store.set_balance(account, balance)
            store.refresh_state_root()
        return store

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open an existing state file.

        Raises
        ------
        StateError
            If the file is missing, not a state file, or of another schema version.
        """
        path = Path(path)
        if not path.exists():
            raise StateError(f"no state file at {path}; create one with `pot chain init`")
        store = cls(cls._connect(path), path)
        try:
            row = store._db.execute("SELECT schema_version FROM chain WHERE id = 0").fetchone()
        except sqlite3.DatabaseError as e:
            raise StateError(f"{path} is not a pot chain state file: {e}") from e
        if row is None or row[0] != SCHEMA_VERSION:
            raise StateError(f"{path} has schema version {row and row[0]}, not {SCHEMA_VERSION}")
        return store

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block as one IMMEDIATE transaction: all of it commits, or none of it.

        Raises
        ------
        StateError
            If the write lock is not obtained within ``BUSY_TIMEOUT_S`` or SQLite fails.
        """
        if self._in_transaction:
            raise StateError("transactions do not nest")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StateError(f"cannot lock state file {self.path}: {e}") from e
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._db.execute("ROLLBACK")
                raise StateError(f"cannot commit to {self.path}: {e}") from e
        finally:
            self._in_transaction = False

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Run a block of reads against one consistent snapshot of the file."""
        if self._in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        self._in_transaction = True
        try:
            yield
        finally:
            self._in_transaction = False
            self._db.execute("ROLLBACK")

    # -- chain and nonces ----------------------------------------------------------------------

    def chain_id(self) -> U64:
        """Return the chain id the state belongs to."""
        return U64(self._db.execute("SELECT chain_id FROM chain").fetchone()[0])

    def head_height(self) -> U64:
        """Return the block height of the last committed call (0 for a new state)."""
        return U64(self._db.execute("SELECT head_height FROM chain").fetchone()[0])

    def set_head_height(self, height: U64) -> None:
        """Record the height of the call being committed."""
        self._db.execute("UPDATE chain SET head_height = ?", (int(height),))

    def validators(self) -> list[Bytes48]:
        """Return the block producers' keys, in schedule order."""
        blob = bytes(self._db.execute("SELECT validators FROM chain").fetchone()[0])
        return [Bytes48(blob[i:i + Bytes48.LENGTH]) for i in range(0, len(blob), Bytes48.LENGTH)]

    def randao(self) -> tuple[Bytes32, U64 | None]:
        """Return the RANDAO mix and the height of the last block that revealed (None: none)."""
        mix, height = self._db.execute("SELECT randao_mix, randao_height FROM chain").fetchone()
        return Bytes32(mix), _opt_u64(height)

    def set_randao(self, mix: Bytes32, height: U64) -> None:
        """Record the RANDAO mix after the reveal of block ``height``."""
        self._db.execute(
            "UPDATE chain SET randao_mix = ?, randao_height = ?", (bytes(mix), int(height))
        )

    def state_root(self) -> Bytes32:
        """Return the state root recorded by the last committed call."""
        return Bytes32(self._db.execute("SELECT state_root FROM chain").fetchone()[0])

    def next_nonce(self, caller: Address) -> U64:
        """Return the caller's next nonce (0 for a caller never seen)."""
        row = self._db.execute(
            "SELECT next_nonce FROM nonces WHERE caller = ?", (bytes(caller),)
        ).fetchone()
        return U64(0 if row is None else row[0])

    def set_next_nonce(self, caller: Address, nonce: U64) -> None:
        """Record the caller's next nonce."""
        self._db.execute(
            "INSERT INTO nonces VALUES (?, ?) ON CONFLICT(caller) DO UPDATE SET next_nonce = ?",
            (bytes(caller), int(nonce), int(nonce)),
        )

    # -- economics -----------------------------------------------------------------------------

    def economics(self) -> EconomicsRow:
        """Return the chain-wide money and the last emission height."""
        row = self._db.execute(
            "SELECT supply, training_pool_carry, insurance_fund, emission_height FROM economics"
        ).fetchone()
        return EconomicsRow(
            supply=U256.from_be_bytes(row[0]), training_pool_carry=U256.from_be_bytes(row[1]),
            insurance_fund=U256.from_be_bytes(row[2]), emission_height=_opt(U64, row[3]),
        )

    def set_economics(self, row: EconomicsRow) -> None:
        """Record the chain-wide money and the last emission height."""
        values = (
            row.supply.to_be_bytes(), row.training_pool_carry.to_be_bytes(),
            row.insurance_fund.to_be_bytes(),
            None if row.emission_height is None else int(row.emission_height),
        )
        self._db.execute(
            "INSERT INTO economics VALUES (0, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "supply = excluded.supply, training_pool_carry = excluded.training_pool_carry, "
            "insurance_fund = excluded.insurance_fund, emission_height = excluded.emission_height",
            values,
        )

    def balance(self, account: Account) -> U256:
        """Return an account's balance (wei; 0 for an account never credited)."""
        row = self._db.execute(
            "SELECT balance FROM accounts WHERE account = ?", (bytes(account),)
        ).fetchone()
        return U256(0) if row is None else U256.from_be_bytes(row[0])

    def set_balance(self, account: Account, balance: U256) -> None:
        """Record an account's balance (wei)."""
        self._db.execute(
            "INSERT INTO accounts VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET balance = ?",
            (bytes(account), balance.to_be_bytes(), balance.to_be_bytes()),
        )

    def balances(self) -> dict[Account, U256]:
        """Return every account's balance, in byte order of the accounts."""
        rows = self._db.execute("SELECT account, balance FROM accounts ORDER BY account").fetchall()
        return {account_of(bytes(a)): U256.from_be_bytes(b) for a, b in rows}

    def funds(self, job_id: Bytes32) -> FundsRow:
        """Return a job's escrow, pool and tallies (all 0 for a job never funded)."""
        row = self._db.execute(
            "SELECT escrow, pool, funded, emitted FROM funds WHERE job_id = ?", (bytes(job_id),)
        ).fetchone()
        if row is None:
            return FundsRow(U256(0), U256(0), U256(0), U256(0))
        return FundsRow(*(U256.from_be_bytes(v) for v in row))

    def set_funds(self, job_id: Bytes32, funds: FundsRow) -> None:
        """Record a job's escrow, pool and tallies (wei)."""
        values = (
            funds.escrow.to_be_bytes(), funds.pool.to_be_bytes(), funds.funded.to_be_bytes(),
            funds.emitted.to_be_bytes(),
        )
        self._db.execute(
            "INSERT INTO funds VALUES (?, ?, ?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET "
            "escrow = ?, pool = ?, funded = ?, emitted = ?",
            (bytes(job_id), *values, *values),
        )

    def insert_slash(self, job_id: Bytes32, slash: SlashRow) -> None:
        """Record a new slash (its key must be new: an offence is slashed once)."""
        self._db.execute(
            "INSERT INTO slashes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bytes(job_id), int(slash.round), bytes(slash.trainer), slash.offence,
                slash.amount.to_be_bytes(), int(slash.slash_height), int(slash.release_height),
                slash.status,
            ),
        )

    @staticmethod
    def _slash_row(row: tuple[Any, ...]) -> SlashRow:
        return SlashRow(
            round=U64(row[0]), trainer=Bytes48(row[1]), offence=row[2],
            amount=U256.from_be_bytes(row[3]), slash_height=U64(row[4]),
            release_height=U64(row[5]), status=row[6],
        )

    _SLASH_COLUMNS = "round, trainer, offence, amount, slash_height, release_height, status"

    def slash(self, job_id: Bytes32, number: U64, trainer: Bytes48) -> SlashRow | None:
        """Return the slash of a trainer in a round, or ``None``."""
        row = self._db.execute(
            f"SELECT {self._SLASH_COLUMNS} FROM slashes "
            "WHERE job_id = ? AND round = ? AND trainer = ?",
            (bytes(job_id), int(number), bytes(trainer)),
        ).fetchone()
        return None if row is None else self._slash_row(row)

    def slashes(self, job_id: Bytes32) -> list[SlashRow]:
        """Return every slash of a job, by round and trainer."""
        rows = self._db.execute(
            f"SELECT {self._SLASH_COLUMNS} FROM slashes WHERE job_id = ? ORDER BY round, trainer",
            (bytes(job_id),),
        ).fetchall()
        return [self._slash_row(r) for r in rows]

    def set_slash_status(
        self, job_id: Bytes32, number: U64, trainer: Bytes48, status: SlashStatus
    ) -> None:
        """Set the status of a slash."""
        self._db.execute(
            "UPDATE slashes SET status = ? WHERE job_id = ? AND round = ? AND trainer = ?",
            (status, bytes(job_id), int(number), bytes(trainer)),
        )

    def insert_claim(self, job_id: Bytes32, claim: ClaimRow) -> None:
        """Record an upheld appeal or a proven fraud (its key must be new: one claim a key)."""
        self._db.execute(
            "INSERT INTO claims VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bytes(job_id), int(claim.round), bytes(claim.trainer), claim.kind,
                bytes(claim.claimant), claim.reason, int(claim.verified_samples),
                claim.claim_wei.to_be_bytes(), claim.paid_wei.to_be_bytes(), bytes(claim.payee),
                claim.credited_to, int(claim.height),
            ),
        )

    @staticmethod
    def _claim_row(row: tuple[Any, ...]) -> ClaimRow:
        return ClaimRow(
            round=U64(row[0]), trainer=Bytes48(row[1]), kind=row[2],
            claimant=account_of(bytes(row[3])), reason=row[4], verified_samples=U64(row[5]),
            claim_wei=U256.from_be_bytes(row[6]), paid_wei=U256.from_be_bytes(row[7]),
            payee=account_of(bytes(row[8])), credited_to=row[9], height=U64(row[10]),
        )

    _CLAIM_COLUMNS = (
        "round, trainer, kind, claimant, reason, verified_samples, claim, paid, payee, "
        "credited_to, height"
    )

    def claim(self, job_id: Bytes32, number: U64, trainer: Bytes48) -> ClaimRow | None:
        """Return the appeal or fraud claim on a trainer's submission in a round, or ``None``."""
        row = self._db.execute(
            f"SELECT {self._CLAIM_COLUMNS} FROM claims "
            "WHERE job_id = ? AND round = ? AND trainer = ?",
            (bytes(job_id), int(number), bytes(trainer)),
        ).fetchone()
        return None if row is None else self._claim_row(row)

    def claims(self, job_id: Bytes32) -> list[ClaimRow]:
        """Return every claim of a job, by round and trainer."""
        rows = self._db.execute(
            f"SELECT {self._CLAIM_COLUMNS} FROM claims WHERE job_id = ? ORDER BY round, trainer",
            (bytes(job_id),),
        ).fetchall()
        return [self._claim_row(r) for r in rows]

    def total_wei(self) -> int:
        """Return every wei the state holds: balances, carry, fund, escrows, pools, stakes, slashes.

        Returns
        -------
        int
            The total (wei). Every call but an emission leaves it unchanged; it equals the
            economics' ``supply``.
        """
        economics = self.economics()
        total = int(economics.training_pool_carry) + int(economics.insurance_fund)
        total += sum(int(b) for b in self.balances().values())
        for escrow, pool in self._db.execute("SELECT escrow, pool FROM funds").fetchall():
            total += int.from_bytes(escrow, "big") + int.from_bytes(pool, "big")
        for (stake,) in self._db.execute("SELECT stake FROM trainers").fetchall():
            total += int.from_bytes(stake, "big")
        for (amount,) in self._db.execute(
            "SELECT amount FROM slashes WHERE status = 'pending'"
        ).fetchall():
            total += int.from_bytes(amount, "big")
        return total

    # -- jobs ----------------------------------------------------------------------------------

    def insert_job(self, job: JobRow) -> None:
        """Store a new job; its root is filled in by :meth:`refresh_job_root`."""
        self._db.execute(
            "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bytes(job.job_id), bytes(job.caller), int(job.nonce), int(job.request_height),
                bytes(job.calldata), job.status, int(job.current_round), b"\x00" * 32,
            ),
        )

    def job(self, job_id: Bytes32) -> JobRow | None:
        """Return the job, or ``None`` if there is none with this id."""
        row = self._db.execute(
            "SELECT caller, nonce, request_height, calldata, status, current_round FROM jobs "
            "WHERE job_id = ?",
            (bytes(job_id),),
        ).fetchone()
        if row is None:
            return None
        return JobRow(
            job_id=Bytes32(job_id), caller=Address(row[0]), nonce=U64(row[1]),
            request_height=U64(row[2]), calldata=bytes(row[3]), status=row[4],
            current_round=U64(row[5]),
        )

    def job_ids(self) -> list[Bytes32]:
        """Return every job id, in byte order."""
        rows = self._db.execute("SELECT job_id FROM jobs ORDER BY job_id").fetchall()
        return [Bytes32(r[0]) for r in rows]

    def update_job(self, job_id: Bytes32, status: JobStatus, current_round: U64) -> None:
        """Set a job's status and current round."""
        self._db.execute(
            "UPDATE jobs SET status = ?, current_round = ? WHERE job_id = ?",
            (status, int(current_round), bytes(job_id)),
        )

    # -- trainers ------------------------------------------------------------------------------

    def insert_trainer(self, job_id: Bytes32, trainer: TrainerRow) -> None:
        """Store a trainer that joined a job."""
        self._db.execute(
            "INSERT INTO trainers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                bytes(job_id), bytes(trainer.pubkey), trainer.stake.to_be_bytes(),
                trainer.rewards.to_be_bytes(), bytes(trainer.dataset_commitment),
                int(trainer.num_samples), int(trainer.join_height),
            ),
        )

    @staticmethod
    def _trainer_row(row: tuple[Any, ...]) -> TrainerRow:
        return TrainerRow(
            pubkey=Bytes48(row[0]), stake=U256.from_be_bytes(row[1]),
            rewards=U256.from_be_bytes(row[2]), dataset_commitment=Bytes32(row[3]),
            num_samples=U64(row[4]), join_height=U64(row[5]),
        )

    _TRAINER_COLUMNS = "pubkey, stake, rewards, dataset_commitment, num_samples, join_height"

    def trainer(self, job_id: Bytes32, pubkey: Bytes48) -> TrainerRow | None:
        """Return the trainer of a job, or ``None`` if that key did not join it."""
        row = self._db.execute(
            f"SELECT {self._TRAINER_COLUMNS} FROM trainers WHERE job_id = ? AND pubkey = ?",
            (bytes(job_id), bytes(pubkey)),
        ).fetchone()
        return None if row is None else self._trainer_row(row)

    def trainers(self, job_id: Bytes32) -> list[TrainerRow]:
        """Return every trainer of a job, sorted by public key."""
        rows = self._db.execute(
            f"SELECT {self._TRAINER_COLUMNS} FROM trainers WHERE job_id = ? ORDER BY pubkey",
            (bytes(job_id),),
        ).fetchall()
        return [self._trainer_row(r) for r in rows]

    def trainer_count(self, job_id: Bytes32) -> int:
        """Return how many trainers joined a job."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM trainers WHERE job_id = ?", (bytes(job_id),)
        ).fetchone()
        return int(row[0])

    def set_trainer_balances(
        self, job_id: Bytes32, pubkey: Bytes48, stake: U256, rewards: U256
    ) -> None:
        """Set a trainer's stake and accumulated rewards (wei)."""
        self._db.execute(
            "UPDATE trainers SET stake = ?, rewards = ? WHERE job_id = ? AND pubkey = ?",
            (stake.to_be_bytes(), rewards.to_be_bytes(), bytes(job_id), bytes(pubkey)),
        )

    # -- rounds --------------------------------------------------------------------------------

    def insert_round(self, job_id: Bytes32, rnd: RoundRow) -> None:
        """Store a newly opened round (no beacon, no result yet)."""
        self._db.execute(
            "INSERT INTO rounds (job_id, round, open_height, submit_deadline, proof_deadline, "
            "input_commitment, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                bytes(job_id), int(rnd.round), int(rnd.open_height), int(rnd.submit_deadline),
                int(rnd.proof_deadline), bytes(rnd.input_commitment), rnd.status,
            ),
        )

    def round(self, job_id: Bytes32, number: U64) -> RoundRow | None:
        """Return a round of a job, or ``None`` if it was never opened."""
        row = self._db.execute(
            "SELECT round, open_height, submit_deadline, proof_deadline, input_commitment, beacon, "
            "beacon_height, status, finalize_height, global_commitment, aggregation_info, "
            "settlement FROM rounds WHERE job_id = ? AND round = ?",
            (bytes(job_id), int(number)),
        ).fetchone()
        if row is None:
            return None
        return RoundRow(
            round=U64(row[0]), open_height=U64(row[1]), submit_deadline=U64(row[2]),
            proof_deadline=U64(row[3]), input_commitment=Bytes32(row[4]),
            beacon=_opt_bytes32(row[5]), beacon_height=_opt(U64, row[6]), status=row[7],
            finalize_height=_opt(U64, row[8]), global_commitment=_opt_bytes32(row[9]),
            aggregation_info=_opt_json(row[10]), settlement=_opt_json(row[11]),
        )

    def global_model(self, job_id: Bytes32, number: U64) -> bytes | None:
        """Return the payload of the global model a round produced, or ``None``."""
        row = self._db.execute(
            "SELECT global_model FROM rounds WHERE job_id = ? AND round = ?",
            (bytes(job_id), int(number)),
        ).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def set_beacon(self, job_id: Bytes32, number: U64, beacon: Bytes32, height: U64) -> None:
        """Record the revealed beacon of a round."""
        self._db.execute(
            "UPDATE rounds SET beacon = ?, beacon_height = ? WHERE job_id = ? AND round = ?",
            (bytes(beacon), int(height), bytes(job_id), int(number)),
        )

    def close_round(
        self,
        job_id: Bytes32,
        number: U64,
        status: RoundStatus,
        height: U64,
        global_model: bytes | None,
        global_commitment: Bytes32 | None,
        aggregation_info: dict[str, Any] | None,
    ) -> None:
        """Record a round's outcome and, when finalized, its global model and commitment."""
        self._db.execute(
            "UPDATE rounds SET status = ?, finalize_height = ?, global_model = ?, "
            "global_commitment = ?, aggregation_info = ? WHERE job_id = ? AND round = ?",
            (
                status, int(height), global_model,
                None if global_commitment is None else bytes(global_commitment),
                None if aggregation_info is None else canonical_json(aggregation_info).decode(),
                bytes(job_id), int(number),
            ),
        )

    def set_settlement(self, job_id: Bytes32, number: U64, settlement: dict[str, Any]) -> None:
        """Record the rewards and slashes applied after a round."""
        self._db.execute(
            "UPDATE rounds SET settlement = ? WHERE job_id = ? AND round = ?",
            (canonical_json(settlement).decode(), bytes(job_id), int(number)),
        )

    # -- submissions ---------------------------------------------------------------------------

    def insert_submission(self, job_id: Bytes32, number: U64, sub: SubmissionRow) -> None:
        """Store a trainer's submission for a round (with its payload, without a verdict)."""
        assert sub.payload is not None
        self._db.execute(
            "INSERT INTO submissions (job_id, round, trainer, trajectory_root, steps, "
            "update_commitment, payload, submit_height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bytes(job_id), int(number), bytes(sub.trainer), bytes(sub.trajectory_root),
                int(sub.steps), bytes(sub.update_commitment), bytes(sub.payload),
                int(sub.submit_height),
            ),
        )

    @staticmethod
    def _submission_row(row: tuple[Any, ...], payload: bytes | None) -> SubmissionRow:
        return SubmissionRow(
            trainer=Bytes48(row[0]), trajectory_root=Bytes32(row[1]), steps=U32(row[2]),
            update_commitment=Bytes32(row[3]), payload=payload, submit_height=U64(row[4]),
            verdict=row[5], reason=row[6], verified_samples=_opt(U64, row[7]),
            bundle_hash=_opt_bytes32(row[8]), proof_height=_opt(U64, row[9]),
        )

    _SUBMISSION_COLUMNS = (
        "trainer, trajectory_root, steps, update_commitment, submit_height, verdict, reason, "
        "verified_samples, bundle_hash, proof_height"
    )

    def submission(
        self, job_id: Bytes32, number: U64, trainer: Bytes48
    ) -> SubmissionRow | None:
        """Return a trainer's submission in a round (payload elided), or ``None``."""
        row = self._db.execute(
            f"SELECT {self._SUBMISSION_COLUMNS} FROM submissions "
            "WHERE job_id = ? AND round = ? AND trainer = ?",
            (bytes(job_id), int(number), bytes(trainer)),
        ).fetchone()
        return None if row is None else self._submission_row(row, None)

    def submissions(
        self, job_id: Bytes32, number: U64, with_payload: bool = False
    ) -> list[SubmissionRow]:
        """Return every submission of a round, sorted by trainer key."""
        columns = self._SUBMISSION_COLUMNS + (", payload" if with_payload else "")
        rows = self._db.execute(
            f"SELECT {columns} FROM submissions WHERE job_id = ? AND round = ? ORDER BY trainer",
            (bytes(job_id), int(number)),
        ).fetchall()
        return [self._submission_row(r, bytes(r[10]) if with_payload else None) for r in rows]

    def set_verdict(
        self,
        job_id: Bytes32,
        number: U64,
        trainer: Bytes48,
        verdict: VerdictStatus,
        reason: str,
        verified_samples: U64,
        bundle_hash: Bytes32,
        height: U64,
    ) -> None:
        """Record the verdict on a submission's proof bundle."""
        self._db.execute(
            "UPDATE submissions SET verdict = ?, reason = ?, verified_samples = ?, "
            "bundle_hash = ?, proof_height = ? WHERE job_id = ? AND round = ? AND trainer = ?",
            (
                verdict, reason, int(verified_samples), bytes(bundle_hash), int(height),
                bytes(job_id), int(number), bytes(trainer),
            ),
        )

    # -- export and roots ----------------------------------------------------------------------

    def _export_job(self, job_id: Bytes32, with_blobs: bool) -> dict[str, Any]:
        job = self.job(job_id)
        assert job is not None
        trainers = {
            t.pubkey.to_hex(): {
                "stake": int(t.stake), "rewards": int(t.rewards),
                "dataset_commitment": t.dataset_commitment.to_hex(),
                "num_samples": int(t.num_samples), "join_height": int(t.join_height),
            }
            for t in self.trainers(job_id)
        }
        rounds: dict[str, Any] = {}
        submissions: dict[str, Any] = {}
        numbers = self._db.execute(
            "SELECT round FROM rounds WHERE job_id = ? ORDER BY round", (bytes(job_id),)
        ).fetchall()
        for (number,) in numbers:
            rnd = self.round(job_id, U64(number))
            assert rnd is not None
            entry: dict[str, Any] = {
                "open_height": int(rnd.open_height), "submit_deadline": int(rnd.submit_deadline),
                "proof_deadline": int(rnd.proof_deadline),
                "input_commitment": rnd.input_commitment.to_hex(),
                "beacon": _hex(rnd.beacon),
                "beacon_height": None if rnd.beacon_height is None else int(rnd.beacon_height),
                "status": rnd.status,
                "finalize_height": (
                    None if rnd.finalize_height is None else int(rnd.finalize_height)
                ),
                "global_commitment": _hex(rnd.global_commitment),
                "aggregation_info": rnd.aggregation_info,
                "settlement": rnd.settlement,
            }
            if with_blobs:
                entry["global_model"] = _hex(self.global_model(job_id, U64(number)))
            rounds[str(number)] = entry
            subs: dict[str, Any] = {}
            for s in self.submissions(job_id, U64(number), with_payload=with_blobs):
                sub: dict[str, Any] = {
                    "trajectory_root": s.trajectory_root.to_hex(), "steps": int(s.steps),
                    "update_commitment": s.update_commitment.to_hex(),
                    "submit_height": int(s.submit_height), "verdict": s.verdict,
                    "reason": s.reason,
                    "verified_samples": (
                        None if s.verified_samples is None else int(s.verified_samples)
                    ),
                    "bundle_hash": _hex(s.bundle_hash),
                    "proof_height": None if s.proof_height is None else int(s.proof_height),
                }
                if with_blobs:
                    sub["payload"] = _hex(s.payload)
                subs[s.trainer.to_hex()] = sub
            if subs:
                submissions[str(number)] = subs
        slashes: dict[str, Any] = {}
        for slash in self.slashes(job_id):
            slashes.setdefault(str(int(slash.round)), {})[slash.trainer.to_hex()] = (
                slash_export(slash)
            )
        claims: dict[str, Any] = {}
        for claim in self.claims(job_id):
            claims.setdefault(str(int(claim.round)), {})[claim.trainer.to_hex()] = (
                claim_export(claim)
            )
        return {
            "caller": job.caller.to_hex(), "nonce": int(job.nonce),
            "request_height": int(job.request_height), "calldata": _hex(job.calldata),
            "status": job.status, "current_round": int(job.current_round),
            "trainers": trainers, "rounds": rounds, "submissions": submissions,
            "slashes": slashes, "claims": claims,
        }

    def _chain_export(self) -> dict[str, Any]:
        mix, height = self.randao()
        return {
            "chain_id": int(self.chain_id()), "head_height": int(self.head_height()),
            "validators": [v.to_hex() for v in self.validators()], "randao_mix": mix.to_hex(),
            "randao_height": None if height is None else int(height),
        }

    def economics_export(self) -> dict[str, Any]:
        """Return the ``economics`` object of the export (money, accounts, job funds)."""
        economics = self.economics()
        funds = {}
        for row in self._db.execute(
            "SELECT job_id, escrow, pool, funded, emitted FROM funds ORDER BY job_id"
        ).fetchall():
            escrow, pool, funded, emitted = (int.from_bytes(v, "big") for v in row[1:])
            funds["0x" + bytes(row[0]).hex()] = {
                "escrow_wei": escrow, "pool_wei": pool, "funded_wei": funded,
                "emitted_wei": emitted,
            }
        return {
            "supply_wei": int(economics.supply),
            "training_pool_carry_wei": int(economics.training_pool_carry),
            "insurance_fund_wei": int(economics.insurance_fund),
            "emission_height": (
                None if economics.emission_height is None else int(economics.emission_height)
            ),
            "accounts": {a.to_hex(): int(b) for a, b in self.balances().items()},
            "funds": funds,
        }

    def _nonces_export(self) -> dict[str, int]:
        rows = self._db.execute("SELECT caller, next_nonce FROM nonces").fetchall()
        return {"0x" + bytes(c).hex(): int(n) for c, n in rows}

    def export_job(self, job_id: Bytes32) -> dict[str, Any]:
        """Return one job's export object, with its blobs."""
        with self.snapshot():
            return self._export_job(job_id, with_blobs=True)

    def export(self) -> dict[str, Any]:
        """Return the whole state as one JSON-ready object (see the module docstring).

        Returns
        -------
        dict[str, Any]
            ``{"format", "chain", "nonces", "economics", "jobs", "state_root"}``;
            ``state_root`` is the root recorded by the last call, which
            :func:`state_root_of_export` recomputes.
        """
        with self.snapshot():
            return {
                "format": EXPORT_FORMAT,
                "chain": self._chain_export(),
                "nonces": self._nonces_export(),
                "economics": self.economics_export(),
                "jobs": {
                    j.to_hex(): self._export_job(j, with_blobs=True) for j in self.job_ids()
                },
                "state_root": self.state_root().to_hex(),
            }

    def refresh_job_root(self, job_id: Bytes32) -> Bytes32:
        """Recompute and store one job's root; call it after writing to the job."""
        root = job_root_of_export(self._export_job(job_id, with_blobs=False))
        self._db.execute(
            "UPDATE jobs SET job_root = ? WHERE job_id = ?", (bytes(root), bytes(job_id))
        )
        return root

    def refresh_state_root(self) -> Bytes32:
        """Recompute and store the state root from the stored job roots; return it."""
        rows = self._db.execute("SELECT job_id, job_root FROM jobs").fetchall()
        job_roots = {"0x" + bytes(j).hex(): "0x" + bytes(r).hex() for j, r in rows}
        root = _state_root(
            self._chain_export(), self._nonces_export(), self.economics_export(), job_roots
        )
        self._db.execute("UPDATE chain SET state_root = ?", (bytes(root),))
        return root

    def recompute_state_root(self) -> Bytes32:
        """Recompute the state root from scratch, without trusting stored job roots."""
        return state_root_of_export(self.export())

    # -- import --------------------------------------------------------------------------------

    @classmethod
    def import_state(
        cls,
        path: str | Path,
        export: dict[str, Any],
        commit: Callable[[bytes, Hyperparams], Bytes32] = _keccak_commitment,
    ) -> Store:
        """Create a state file at ``path`` holding an exported state, after checking it.

        Checks: the format tag; every field's type, width and range; each blob against its
        commitment; that the money held adds up to the supply; and the recomputed state root
        against the export's ``state_root``. The rules of the calls themselves (deadlines,
        verdicts) are not re-run.

        Parameters
        ----------
        path
            Where to create the file; must not exist.
        export
            An object produced by :meth:`export`.
        commit
            The weights commitment the exporting executor used (its ``commit`` hook; default
            ``keccak256``), called with a blob and its job's hyperparams.

        Raises
        ------
        StateError
            If ``path`` exists, or the export breaks any check; nothing is left at ``path`` then.
        """
        path = Path(path)
        if path.exists():
            raise StateError(f"state file {path} already exists")
        try:
            if export.get("format") != EXPORT_FORMAT:
                raise StateError(f"export format is {export.get('format')!r}, not {EXPORT_FORMAT}")
            claimed = Bytes32.from_hex(export["state_root"])
            store = cls.create(
                path, export["chain"]["chain_id"],
                validators=[Bytes48.from_hex(v) for v in export["chain"]["validators"]],
            )
        except (KeyError, TypeError, AttributeError, OutOfRangeError) as e:
            raise StateError(f"malformed state export: {e!r}") from e
        try:
            with store.transaction():
                _load_export(store, export, commit)
                held = store.total_wei()
                if held != store.economics().supply:
                    raise StateError(
                        f"the state holds {held} wei but its supply is {store.economics().supply}"
                    )
                root = store.refresh_state_root()
            if root != claimed:
                raise StateError(
                    f"state root of the imported state is {root.to_hex()}, the export claims "
                    f"{claimed.to_hex()}"
                )
        except (KeyError, TypeError, ValueError, AttributeError, OutOfRangeError) as e:
            store.close()
            path.unlink()
            raise StateError(f"malformed state export: {e!r}") from e
        except StateError:
            store.close()
            path.unlink()
            raise
        return store


def _opt_u64(value: Any) -> U64 | None:
    return None if value is None else U64(value)


def _opt_b32(value: Any) -> Bytes32 | None:
    return None if value is None else Bytes32.from_hex(value)


def _check_choice(value: Any, choices: tuple[str, ...], what: str) -> Any:
    if value not in choices:
        raise StateError(f"{what} is {value!r}, not one of {choices}")
    return value


def _commitment_of(
    commit: Callable[[bytes, Hyperparams], Bytes32], blob: bytes, hyperparams: Hyperparams
) -> Bytes32:
    """The commitment of a blob; a commitment that cannot be computed is a corrupt export."""
    try:
        return Bytes32(commit(blob, hyperparams))
    except PotError as e:
        raise StateError(f"cannot compute the commitment of a blob: {e}") from e


def _load_economics(store: Store, economics: dict[str, Any], job_ids: set[str]) -> None:
    """Insert the economics of an export: chain-wide money, accounts and job funds."""
    height = economics["emission_height"]
    store.set_economics(
        EconomicsRow(
            supply=U256(economics["supply_wei"]),
            training_pool_carry=U256(economics["training_pool_carry_wei"]),
            insurance_fund=U256(economics["insurance_fund_wei"]),
            emission_height=None if height is None else U64(height),
        )
    )
    for account, balance in economics["accounts"].items():
        store.set_balance(account_from_hex(account), U256(balance))
    for job_hex, funds in economics["funds"].items():
        if job_hex not in job_ids:
            raise StateError(f"funds of {job_hex}, which is not a job of the export")
        store.set_funds(
            Bytes32.from_hex(job_hex),
            FundsRow(
                escrow=U256(funds["escrow_wei"]), pool=U256(funds["pool_wei"]),
                funded=U256(funds["funded_wei"]), emitted=U256(funds["emitted_wei"]),
            ),
        )


def _load_slashes(store: Store, job_id: Bytes32, slashes: dict[str, Any]) -> None:
    """Insert the slashes of one exported job."""
    for number_text, by_trainer in slashes.items():
        for trainer_hex, slash in by_trainer.items():
            store.insert_slash(
                job_id,
                SlashRow(
                    round=U64(int(number_text)), trainer=Bytes48.from_hex(trainer_hex),
                    offence=_check_choice(
                        slash["offence"], ("invalid_proof", "missed_deadline", "fraud"),
                        "offence",
                    ),
                    amount=U256(slash["amount_wei"]), slash_height=U64(slash["slash_height"]),
                    release_height=U64(slash["release_height"]),
                    status=_check_choice(
                        slash["status"], ("pending", "released", "voided"), "slash status"
                    ),
                ),
            )


_SLASH_CLAIMS: dict[tuple[str, str], str | None] = {
    ("invalid_proof", "pending"): None, ("invalid_proof", "released"): None,
    ("invalid_proof", "voided"): "appeal",
    ("missed_deadline", "pending"): None, ("missed_deadline", "released"): None,
    ("fraud", "pending"): "fraud", ("fraud", "released"): "fraud",
}
"""Each (offence, status) a slash can reach, and the claim it goes with (``None``: no claim)."""


def _load_claims(store: Store, job_id: Bytes32, claims: dict[str, Any]) -> None:
    """Insert the claims of one exported job; check that claims and slashes go together."""
    for number_text, by_trainer in claims.items():
        for trainer_hex, c in by_trainer.items():
            claim = ClaimRow(
                round=U64(int(number_text)), trainer=Bytes48.from_hex(trainer_hex),
                kind=_check_choice(c["kind"], ("appeal", "fraud"), "claim kind"),
                claimant=account_from_hex(c["claimant"]), reason=str(c["reason"]),
                verified_samples=U64(c["verified_samples"]), claim_wei=U256(c["claim_wei"]),
                paid_wei=U256(c["paid_wei"]), payee=account_from_hex(c["payee"]),
                credited_to=_check_choice(c["credited_to"], ("stake", "balance"), "credited_to"),
                height=U64(c["height"]),
            )
            store.insert_claim(job_id, claim)
    claimed = {(int(c.round), bytes(c.trainer)): c.kind for c in store.claims(job_id)}
    for slash in store.slashes(job_id):
        state = (slash.offence, slash.status)
        kind = claimed.pop((int(slash.round), bytes(slash.trainer)), None)
        if state not in _SLASH_CLAIMS or _SLASH_CLAIMS[state] != kind:
            raise StateError(
                f"job {job_id.to_hex()}: a {slash.status} {slash.offence} slash of "
                f"{slash.trainer.to_hex()} in round {slash.round} with claim {kind or 'none'}"
            )
    if claimed:
        (number, trainer), kind = min(claimed.items())
        raise StateError(
            f"job {job_id.to_hex()}: the {kind} claim on 0x{trainer.hex()} in round {number} "
            "has no slash"
        )


def _load_export(
    store: Store, export: dict[str, Any], commit: Callable[[bytes, Hyperparams], Bytes32]
) -> None:
    """Insert an export's rows into an empty store, checking types and blob commitments."""
    store.set_head_height(U64(export["chain"]["head_height"]))
    randao_height = _opt_u64(export["chain"]["randao_height"])
    if randao_height is not None:
        store.set_randao(Bytes32.from_hex(export["chain"]["randao_mix"]), randao_height)
    elif not Bytes32.from_hex(export["chain"]["randao_mix"]).is_zero():
        raise StateError("the RANDAO mix is not the genesis mix, yet no block revealed")
    for caller, nonce in export["nonces"].items():
        store.set_next_nonce(Address.from_hex(caller), U64(nonce))
    _load_economics(store, export["economics"], set(export["jobs"]))
    chain_id = store.chain_id()
    for job_hex, job in export["jobs"].items():
        job_id = Bytes32.from_hex(job_hex)
        caller = Address.from_hex(job["caller"])
        nonce = U64(job["nonce"])
        calldata = bytes.fromhex(job["calldata"][2:])
        try:
            hyperparams = check_train_request(decode_train_request(calldata))
        except ChainError as e:
            raise StateError(f"job {job_hex}: its calldata is not a valid request: {e}") from e
        if compute_job_id(chain_id, caller, nonce, calldata) != job_id:
            raise StateError(f"job {job_hex}: the id does not match its caller, nonce and calldata")
        store.insert_job(
            JobRow(
                job_id=job_id, caller=caller, nonce=nonce,
                request_height=U64(job["request_height"]), calldata=calldata,
                status=_check_choice(job["status"], ("open", "completed", "failed"), "job status"),
                current_round=U64(job["current_round"]),
            )
        )
        for pubkey, t in job["trainers"].items():
            store.insert_trainer(
                job_id,
                TrainerRow(
                    pubkey=Bytes48.from_hex(pubkey), stake=U256(t["stake"]),
                    rewards=U256(t["rewards"]),
                    dataset_commitment=Bytes32.from_hex(t["dataset_commitment"]),
                    num_samples=U64(t["num_samples"]), join_height=U64(t["join_height"]),
                ),
            )
        for number_text, r in job["rounds"].items():
            number = U64(int(number_text))
            status = _check_choice(r["status"], ("open", "finalized", "failed"), "round status")
            store.insert_round(
                job_id,
                RoundRow(
                    round=number, open_height=U64(r["open_height"]),
                    submit_deadline=U64(r["submit_deadline"]),
                    proof_deadline=U64(r["proof_deadline"]),
                    input_commitment=Bytes32.from_hex(r["input_commitment"]), beacon=None,
                    beacon_height=None, status=status, finalize_height=None,
                    global_commitment=None, aggregation_info=None, settlement=None,
                ),
            )
            beacon = _opt_b32(r["beacon"])
            if beacon is not None:
                store.set_beacon(job_id, number, beacon, U64(r["beacon_height"]))
            model = None if r["global_model"] is None else bytes.fromhex(r["global_model"][2:])
            commitment = _opt_b32(r["global_commitment"])
            if (model is None) != (commitment is None) or (
                model is not None and _commitment_of(commit, model, hyperparams) != commitment
            ):
                raise StateError(
                    f"round {number} of job {job_hex}: global model and commitment differ"
                )
            if r["finalize_height"] is not None:
                store.close_round(
                    job_id, number, status, U64(r["finalize_height"]), model, commitment,
                    r["aggregation_info"],
                )
            if r["settlement"] is not None:
                store.set_settlement(job_id, number, r["settlement"])
        for number_text, subs in job["submissions"].items():
            number = U64(int(number_text))
            for trainer_hex, s in subs.items():
                trainer = Bytes48.from_hex(trainer_hex)
                payload = bytes.fromhex(s["payload"][2:])
                update_commitment = Bytes32.from_hex(s["update_commitment"])
                if _commitment_of(commit, payload, hyperparams) != update_commitment:
                    raise StateError(
                        f"submission of {trainer_hex} in round {number}: payload does not match "
                        "its update commitment"
                    )
                store.insert_submission(
                    job_id, number,
                    SubmissionRow(
                        trainer=trainer, trajectory_root=Bytes32.from_hex(s["trajectory_root"]),
                        steps=U32(s["steps"]), update_commitment=update_commitment,
                        payload=payload, submit_height=U64(s["submit_height"]), verdict=None,
                        reason=None, verified_samples=None, bundle_hash=None, proof_height=None,
                    ),
                )
                if s["verdict"] is not None:
                    store.set_verdict(
                        job_id, number, trainer,
                        _check_choice(s["verdict"], ("accepted", "rejected"), "verdict"),
                        str(s["reason"]), U64(s["verified_samples"]),
                        Bytes32.from_hex(s["bundle_hash"]), U64(s["proof_height"]),
                    )
        _load_slashes(store, job_id, job["slashes"])
        _load_claims(store, job_id, job["claims"])
        store.refresh_job_root(job_id)
