"""Builders shared by the chain tests (this module holds no tests).

Every state-changing call is a signed transaction: :class:`Chain` wraps an executor with the
call signatures the tests were written against (the acting key or address first) and signs each
call with the secret key of that key or address (keys ``i + 1`` of :func:`pubkey`, all known to
the tests), so every call still passes :meth:`Executor.apply`'s signature and nonce checks.

The state-machine tests need a verifier; pot's bundle verifier is plugged in at merge, so here
:func:`verdict_table_verifier` returns verdicts from a table the test writes. It judges nothing; it
lets a test decide each trainer's verdict and check what the executor does with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pot.chain.abi import TrainRequest, encode_train_request
from pot.chain.executor import Executor
from pot.chain.fixed_types import U16, U32, U64, U256, Address, Bytes32, Bytes48
from pot.chain.hooks import SubmissionContext, Verifier, weights_commitment
from pot.chain.hyperparams import AggregationRule, Hyperparams, LossId, encode_hyperparams
from pot.chain.store import Store
from pot.chain.tx import address_of
from pot.chain.wallet import Wallet, produce_block
from pot.protocol.keys import SecretKey
from pot.verdict import Verdict

CHAIN_ID = 31337
CALLER_KEY_INDEX = 20
VALIDATOR_KEY_INDEX = 30
PRODUCER_KEY_INDEX = 21
KNOWN_KEYS = 30
"""Keys ``0 .. KNOWN_KEYS - 1`` (and their addresses) can sign through :class:`Chain`."""
MODEL_ID = Bytes32(b"\x01" * 32)
DATASET_REF = Bytes32(b"\x02" * 32)
SPEC_ID = Bytes32(b"\x03" * 32)
DATASET_COMMITMENT = Bytes32(b"\x04" * 32)
TRAJECTORY_ROOT = Bytes32(b"\x05" * 32)
BEACON = Bytes32(b"\x06" * 32)
GAS_LIMIT = 1_000_000
REQUEST_HEIGHT = 10
STAKE_WEI = 10**18
CALLER_BALANCE_WEI = 10**24
TRAINER_BALANCE_WEI = 10**21
FUNDED_KEYS = 10

_PUBKEYS: dict[int, Bytes48] = {}


def pubkey(index: int) -> Bytes48:
    """Return the BLS12-381 G1 public key of secret key ``index + 1`` (cached)."""
    if index not in _PUBKEYS:
        from py_ecc.bls import G2ProofOfPossession  # slow to import; crash children skip it

        _PUBKEYS[index] = Bytes48(G2ProofOfPossession.SkToPk(index + 1))
    return _PUBKEYS[index]


def secret(index: int) -> SecretKey:
    """The secret key of :func:`pubkey` ``(index)``."""
    return SecretKey(index + 1)


CALLER = address_of(pubkey(CALLER_KEY_INDEX))
VALIDATORS = (pubkey(VALIDATOR_KEY_INDEX),)


def genesis_alloc() -> dict[Address | Bytes48, int]:
    """Genesis balances: the requester ``CALLER`` and the trainer keys ``pubkey(0..9)``."""
    alloc: dict[Address | Bytes48, int] = {CALLER: CALLER_BALANCE_WEI}
    for i in range(FUNDED_KEYS):
        alloc[pubkey(i)] = TRAINER_BALANCE_WEI
    return alloc


def make_hyperparams(**overrides: Any) -> Hyperparams:
    """Return valid hyperparams (4 weights, FedAvg, 5-block windows) with some fields replaced."""
    base = Hyperparams(
        lr_q16=U32(655),
        local_epochs=U16(1),
        batch_size=U32(16),
        samples_per_round=U16(2),
        steps_per_round=U32(8),
        loss_id=LossId.CROSS_ENTROPY,
        model_spec_id=SPEC_ID,
        param_count=U64(4),
        aggregation_rule=AggregationRule.FEDAVG,
        rule_param=U32(0),
        join_blocks=U32(5),
        submit_blocks=U32(5),
        proof_blocks=U32(5),
    )
    return dataclasses.replace(base, **overrides)


def make_calldata(
    total_rounds: int = 2,
    min_participants: int = 2,
    model_id: bytes = MODEL_ID,
    dataset_ref: bytes = DATASET_REF,
    hyperparams: bytes | None = None,
    **hp_overrides: Any,
) -> bytes:
    """Return canonical TRAIN_REQUEST calldata; hyperparams default to :func:`make_hyperparams`."""
    if hyperparams is None:
        hyperparams = encode_hyperparams(make_hyperparams(**hp_overrides))
    return encode_train_request(
        TrainRequest(
            model_id=Bytes32(model_id),
            dataset_ref=Bytes32(dataset_ref),
            total_rounds=U256(total_rounds),
            min_participants=U64(min_participants),
            hyperparams=hyperparams,
        )
    )


def tiny_hyperparams(**overrides: Any) -> dict[str, Any]:
    """Hyperparams fields of a job that trains the zoo's ``mlp-tiny`` (what pot's node needs)."""
    from pot.spec import load_spec

    spec = load_spec("mlp-tiny")
    fields: dict[str, Any] = {
        "model_spec_id": Bytes32(spec.spec_id), "param_count": U64(spec.n_params),
        "batch_size": U32(spec.batch_size), "lr_q16": U32(int(spec.lr * 65536)),
    }
    fields.update(overrides)
    return fields


def well_formed_bundle(job_id: bytes, trainer: bytes) -> bytes:
    """A bundle that parses (every field present and in range) but proves nothing."""
    from py_ecc.bn128 import G1, multiply

    from pot.bundle import Bundle, StepOpening, dump_bundle
    from pot.proof import StepProof

    points = b"".join(int(c.n).to_bytes(32, "big") for k in range(1, 2 * 6 + 3)
                      for c in multiply(G1, k))
    proof = StepProof("0x" + "11" * 32, points + b"\x01" * 64, 6)
    opening = StepOpening(
        0, proof, b"\x02" * 32, b"\x03" * 32, (), b"\x04" * 32, b"\x00" * 32, (), 0, ()
    )
    return dump_bundle(
        Bundle(
            job_id, 0, trainer, "0x" + "11" * 32, bytes(TRAJECTORY_ROOT), 8, bytes(BEACON), (0,),
            bytes(DATASET_COMMITMENT), 1, 4, b"\x0a" * 32, b"\x0b" * 32, (),
            b"\x0c" * 32, (), (opening,), b"\x00" * 96,
        )
    )


def payload_of(values: list[int]) -> bytes:
    """Return the little-endian int64 payload of ``values``."""
    return np.array(values, dtype="<i8").tobytes()


def verdict_table_verifier(table: Mapping[tuple[int, bytes], Verdict]) -> Verifier:
    """Return a verifier that looks up ``(round, trainer key)`` in ``table``.

    A missing entry is a rejection with reason ``not_in_table``. The returned function also appends
    each context it is called with to its ``contexts`` list.
    """
    contexts: list[SubmissionContext] = []

    def verify(bundle: bytes, context: SubmissionContext) -> Verdict:
        contexts.append(context)
        return table.get(
            (int(context.round), bytes(context.trainer)), Verdict(False, "not_in_table", 0)
        )

    verify.contexts = contexts  # type: ignore[attr-defined]
    return verify


def accept_all(samples: int = 10) -> Verifier:
    """Return a verifier that accepts every bundle with ``samples`` verified samples."""

    def verify(bundle: bytes, context: SubmissionContext) -> Verdict:
        return Verdict(True, "ok", samples)

    return verify


def reject_all(reason: str = "proof_invalid") -> Verifier:
    """Return a verifier that rejects every bundle with ``reason``.

    The crash tests run ``prove_fraud`` with it: the verifier after a fix that no earlier accepted
    bundle passes any more.
    """

    def verify(bundle: bytes, context: SubmissionContext) -> Verdict:
        return Verdict(False, reason, 0)

    return verify


class Chain:
    """An executor whose calls are signed by the tests' known keys (see the module docstring).

    Attributes other than the calls are the wrapped executor's (``store``, ``load_job``, ...).
    """

    def __init__(self, executor: Executor) -> None:
        self.inner = executor
        self._secrets: dict[bytes, SecretKey] = {}
        for index in range(KNOWN_KEYS):
            self._secrets[bytes(pubkey(index))] = secret(index)
            self._secrets[bytes(address_of(pubkey(index)))] = secret(index)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def wallet(self, account: bytes) -> Wallet:
        """The wallet of a known key or address."""
        return Wallet(self.inner, self._secrets[bytes(account)])

    def train_request(self, caller: bytes, nonce: int, calldata: bytes, gas_limit: int,
                      height: int, value: int = 0) -> Any:
        return self.wallet(caller).request(calldata, gas_limit, height, value, nonce=nonce)

    def fund(self, job_id: bytes, funder: bytes, amount: int, height: int) -> Any:
        return self.wallet(funder).fund(job_id, amount, height)

    def join(self, job_id: bytes, key: bytes, stake: int, dataset_commitment: bytes,
             num_samples: int, height: int) -> Any:
        return self.wallet(key).join(job_id, stake, dataset_commitment, num_samples, height)

    def submit(self, job_id: bytes, round_number: int, trainer: bytes, trajectory_root: bytes,
               steps: int, update_commitment: bytes, payload: bytes, height: int) -> Any:
        return self.wallet(trainer).submit(
            job_id, round_number, trajectory_root, steps, update_commitment, payload, height
        )

    def beacon(self, job_id: bytes, number: int, value: bytes, height: int) -> Any:
        """The block at ``height`` reveals (the beacon is the chain's; ``value`` is ignored)."""
        return produce_block(self.inner, [secret(VALIDATOR_KEY_INDEX)], height)

    def submit_proof(self, job_id: bytes, number: int, key: bytes, bundle: bytes,
                     height: int) -> Any:
        return self.wallet(key).submit_proof(job_id, number, bundle, height)

    def finalize_round(self, job_id: bytes, number: int, height: int) -> Any:
        return self.wallet(CALLER).finalize_round(job_id, number, height)

    def release_slash(self, job_id: bytes, number: int, key: bytes, height: int) -> Any:
        return self.wallet(CALLER).release_slash(job_id, number, key, height)

    def appeal(self, job_id: bytes, number: int, key: bytes, bundle: bytes, height: int) -> Any:
        return self.wallet(key).appeal(job_id, number, bundle, height)

    def prove_fraud(self, job_id: bytes, number: int, key: bytes, bundle: bytes,
                    claimant: bytes, height: int) -> Any:
        return self.wallet(claimant).prove_fraud(job_id, number, key, bundle, height)


@dataclass
class Scenario:
    """An open job on a fresh state file, with ``trainers`` joined."""

    path: Path
    store: Store
    executor: Chain
    job_id: Bytes32
    trainers: list[Bytes48]
    height: int = REQUEST_HEIGHT
    payloads: dict[tuple[int, bytes], bytes] = field(default_factory=dict)

    def round_heights(self, number: int) -> tuple[int, int, int]:
        """Return (open height, submit deadline, proof deadline) of an opened round."""
        rnd = self.store.round(self.job_id, U64(number))
        assert rnd is not None
        return int(rnd.open_height), int(rnd.submit_deadline), int(rnd.proof_deadline)

    def submit_all(self, number: int, trainers: list[Bytes48] | None = None) -> None:
        """Submit a distinct payload for each trainer at the round's open height."""
        open_height, _, _ = self.round_heights(number)
        self.height = max(self.height, open_height)
        for i, key in enumerate(self.trainers if trainers is None else trainers):
            payload = payload_of([i + number, 10 * i, -i, 7])
            self.payloads[(number, bytes(key))] = payload
            self.executor.submit(
                self.job_id, number, key, TRAJECTORY_ROOT, 8, weights_commitment(payload),
                payload, self.height,
            )

    def reveal(self, number: int) -> None:
        """Reveal the round's beacon just after its submit deadline."""
        _, submit_deadline, _ = self.round_heights(number)
        self.height = max(self.height, submit_deadline + 1)
        self.executor.beacon(self.job_id, number, BEACON, self.height)

    def prove_all(self, number: int, trainers: list[Bytes48] | None = None) -> None:
        """Send a bundle for each trainer at the current height."""
        for key in self.trainers if trainers is None else trainers:
            self.executor.submit_proof(self.job_id, number, key, b"bundle", self.height)

    def after_proof_deadline(self, number: int) -> int:
        """Move the height past the round's proof deadline and return it."""
        _, _, proof_deadline = self.round_heights(number)
        self.height = max(self.height, proof_deadline + 1)
        return self.height


def open_job(
    path: Path,
    trainers: int = 3,
    verify: Verifier | None = None,
    executor_kwargs: Mapping[str, Any] | None = None,
    escrow: int = 0,
    **calldata_kwargs: Any,
) -> Scenario:
    """Create a state file with :func:`genesis_alloc`, request a job at ``REQUEST_HEIGHT``
    escrowing ``escrow`` wei, and join ``trainers`` trainers with ``STAKE_WEI`` each."""
    store = Store.create(path, CHAIN_ID, genesis_alloc(), VALIDATORS)
    executor = Chain(Executor(
        store, verify=verify or accept_all(), **dict(executor_kwargs or {})
    ))
    receipt = executor.train_request(
        CALLER, 0, make_calldata(**calldata_kwargs), GAS_LIMIT, REQUEST_HEIGHT, escrow
    )
    keys = [pubkey(i) for i in range(trainers)]
    for key in keys:
        executor.join(receipt.job_id, key, STAKE_WEI, DATASET_COMMITMENT, 100, REQUEST_HEIGHT + 1)
    scenario = Scenario(
        path=path, store=store, executor=executor, job_id=receipt.job_id, trainers=keys
    )
    scenario.height = REQUEST_HEIGHT + 1
    return scenario


def assert_reverts(store: Store, error: type[Exception], match: str, call: Any) -> None:
    """Check that ``call()`` raises ``error`` (message matching ``match``) and changes no state."""
    import pytest

    before = store.export()
    with pytest.raises(error, match=match):
        call()
    assert store.export() == before


CRASH_CALLS = (
    "request", "fund", "join", "submit", "beacon", "proof", "finalize", "emit", "release",
    "appeal", "fraud",
)
PRODUCER = address_of(pubkey(PRODUCER_KEY_INDEX))
BLOCK_REWARD_WEI = 2 * 10**18
ESCROW_WEI = 3 * 10**18


def perform_call(executor: Chain, call: str, height: int, trainer: Bytes48) -> None:
    """Run one call of the crash tests on the first job of the state (``trainer`` submits/proves).

    ``join`` adds a new trainer (key 9); ``request`` and ``fund`` move ``ESCROW_WEI`` from
    ``CALLER``; ``emit`` mints ``BLOCK_REWARD_WEI`` for ``PRODUCER``; ``release`` releases
    ``trainer``'s slash of round 0; ``appeal`` re-submits ``trainer``'s bundle of round 0 against
    its slash; ``fraud`` shows that bundle as a fraud, claimed by ``PRODUCER``; every other call
    acts for ``trainer`` in round 0.
    """
    store = executor.store
    job_ids = store.job_ids()
    job_id = job_ids[0] if job_ids else Bytes32(b"\x00" * 32)
    payload = payload_of([5, 6, 7, 8])
    if call == "request":
        nonce = store.next_nonce(CALLER)
        executor.train_request(CALLER, nonce, make_calldata(), GAS_LIMIT, height, ESCROW_WEI)
    elif call == "fund":
        executor.fund(job_id, CALLER, ESCROW_WEI, height)
    elif call == "emit":
        executor.emit(PRODUCER, BLOCK_REWARD_WEI, height)
    elif call == "release":
        executor.release_slash(job_id, 0, trainer, height)
    elif call == "join":
        executor.join(job_id, pubkey(9), 1, DATASET_COMMITMENT, 1, height)
    elif call == "submit":
        commitment = weights_commitment(payload)
        executor.submit(job_id, 0, trainer, TRAJECTORY_ROOT, 8, commitment, payload, height)
    elif call == "beacon":
        executor.beacon(job_id, 0, BEACON, height)
    elif call == "proof":
        executor.submit_proof(job_id, 0, trainer, b"bundle", height)
    elif call == "finalize":
        executor.finalize_round(job_id, 0, height)
    elif call == "appeal":
        executor.appeal(job_id, 0, trainer, b"bundle", height)
    elif call == "fraud":
        executor.prove_fraud(job_id, 0, trainer, b"bundle", PRODUCER, height)
    else:
        raise ValueError(f"unknown call {call!r}")
