"""TRAIN_REQUEST through the executor: gas, nonces, job ids, and one revert per broken rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_hash.auto import keccak
from test_chain_support import (
    CALLER,
    CHAIN_ID,
    GAS_LIMIT,
    REQUEST_HEIGHT,
    Chain,
    assert_reverts,
    make_calldata,
    pubkey,
)

from pot.chain.abi import HYPERPARAMS_DATA_OFFSET, MIN_PARTICIPANTS_OFFSET
from pot.chain.errors import (
    BadOffsetError,
    CalldataLengthError,
    CalldataTooLargeError,
    HeightError,
    HyperparamsError,
    MinParticipantsError,
    NonceGapError,
    NonceReplayError,
    NonZeroPaddingError,
    OutOfGasError,
    TotalRoundsError,
    Uint64OverflowError,
    ZeroReferenceError,
)
from pot.chain.executor import Executor, RequestReceipt
from pot.chain.fixed_types import U32, U64
from pot.chain.gas import GAS_TRAIN_REQUEST_BASE, GAS_TRAIN_REQUEST_PER_BYTE, MAX_CALLDATA_BYTES
from pot.chain.hyperparams import AggregationRule
from pot.chain.request import MAX_TOTAL_ROUNDS, MAX_TRAINERS_PER_JOB, compute_job_id
from pot.chain.store import Store
from pot.chain.tx import address_of


@pytest.fixture
def executor(tmp_path: Path) -> Chain:
    return Chain(Executor(Store.create(tmp_path / "state.db", CHAIN_ID)))


def request(
    executor: Chain, calldata: bytes, nonce: int = 0, gas: int = GAS_LIMIT
) -> RequestReceipt:
    return executor.train_request(CALLER, nonce, calldata, gas, REQUEST_HEIGHT)


def test_request_returns_job_id_from_documented_preimage_and_charges_gas(
    executor: Chain,
) -> None:
    calldata = make_calldata()
    receipt = executor.train_request(CALLER, 0, calldata, GAS_LIMIT, REQUEST_HEIGHT)
    preimage = (
        b"\x14" + CHAIN_ID.to_bytes(8, "big") + bytes(CALLER) + (0).to_bytes(8, "big") + calldata
    )
    assert bytes(receipt.job_id) == keccak(preimage)
    assert receipt.job_id == compute_job_id(U64(CHAIN_ID), CALLER, U64(0), calldata)
    assert receipt.gas_used == 30_000 + 12 * len(calldata)
    assert receipt.state_root == executor.store.state_root()
    assert executor.store.next_nonce(CALLER) == 1


def test_same_request_with_next_nonce_gets_a_new_job_id(executor: Chain) -> None:
    calldata = make_calldata()
    first = executor.train_request(CALLER, 0, calldata, GAS_LIMIT, REQUEST_HEIGHT)
    second = executor.train_request(CALLER, 1, calldata, GAS_LIMIT, REQUEST_HEIGHT)
    other = executor.train_request(address_of(pubkey(1)), 0, calldata, GAS_LIMIT, REQUEST_HEIGHT)
    assert len({first.job_id, second.job_id, other.job_id}) == 3


def test_replayed_nonce_is_rejected(executor: Chain) -> None:
    request(executor, make_calldata())
    assert_reverts(
        executor.store, NonceReplayError, "nonce 0 .* already used; next is 1",
        lambda: request(executor, make_calldata()),
    )


def test_nonce_gap_is_rejected(executor: Chain) -> None:
    assert_reverts(
        executor.store, NonceGapError, "skips ahead; next is 0",
        lambda: request(executor, make_calldata(), nonce=5),
    )


def test_gas_exactly_enough_succeeds_one_less_is_out_of_gas(executor: Chain) -> None:
    calldata = make_calldata()
    cost = GAS_TRAIN_REQUEST_BASE + GAS_TRAIN_REQUEST_PER_BYTE * len(calldata)
    assert_reverts(
        executor.store, OutOfGasError, f"needs {cost} gas, the limit is {cost - 1}",
        lambda: request(executor, calldata, gas=cost - 1),
    )
    assert executor.store.next_nonce(CALLER) == 0
    assert request(executor, calldata, gas=cost).gas_used == cost


def test_gas_is_charged_before_decoding(executor: Chain) -> None:
    # Garbage calldata with too little gas fails on gas, not on decoding.
    assert_reverts(
        executor.store, OutOfGasError, "out of gas",
        lambda: request(executor, b"\xff" * 100, gas=1),
    )


def test_oversize_calldata_is_rejected_before_gas(executor: Chain) -> None:
    assert_reverts(
        executor.store, CalldataTooLargeError, "131073 bytes, the cap is 131072",
        lambda: request(executor, b"\x00" * (MAX_CALLDATA_BYTES + 1), gas=0),
    )


def _corrupt(calldata: bytes, offset: int, value: int) -> bytes:
    raw = bytearray(calldata)
    raw[offset] = value
    return bytes(raw)


@pytest.mark.parametrize(
    ("calldata", "error", "match"),
    [
        (make_calldata()[:100], CalldataLengthError, "need 192"),
        (make_calldata() + b"\x00" * 32, CalldataLengthError, "needs exactly"),
        (_corrupt(make_calldata(), 128 + 31, 0xC0), BadOffsetError, "offset is 192"),
        (_corrupt(make_calldata(), -1, 1), NonZeroPaddingError, "not zero"),
        (_corrupt(make_calldata(), MIN_PARTICIPANTS_OFFSET, 1), Uint64OverflowError, "uint64"),
        (make_calldata(total_rounds=0), TotalRoundsError, "total_rounds is 0"),
        (
            make_calldata(total_rounds=MAX_TOTAL_ROUNDS + 1),
            TotalRoundsError, "above the cap of 10000",
        ),
        (make_calldata(total_rounds=2**256 - 1), TotalRoundsError, "above the cap"),
        (make_calldata(min_participants=0), MinParticipantsError, "min_participants is 0"),
        (
            make_calldata(min_participants=MAX_TRAINERS_PER_JOB + 1),
            MinParticipantsError, "above the 1024 trainers",
        ),
        (
            make_calldata(
                min_participants=4, aggregation_rule=AggregationRule.MULTI_KRUM,
                rule_param=U32(1),
            ),
            MinParticipantsError, "below the 5 that MULTI_KRUM",
        ),
        (
            make_calldata(
                min_participants=2, aggregation_rule=AggregationRule.TRIMMED_MEAN,
                rule_param=U32(1),
            ),
            MinParticipantsError, "below the 3 that TRIMMED_MEAN",
        ),
        (make_calldata(model_id=b"\x00" * 32), ZeroReferenceError, "model_id is zero"),
        (make_calldata(dataset_ref=b"\x00" * 32), ZeroReferenceError, "dataset_ref is zero"),
        (make_calldata(hyperparams=b""), HyperparamsError, "empty"),
        (make_calldata(hyperparams=b"\x07" + b"\x00" * 74), HyperparamsError, "unknown version"),
    ],
    ids=[
        "short", "trailing-word", "offset", "padding", "uint64", "rounds-zero", "rounds-cap",
        "rounds-huge", "min-zero", "min-cap", "min-krum", "min-trimmed", "zero-model",
        "zero-dataset", "hp-empty", "hp-version",
    ],
)
def test_each_invalid_request_reverts_with_its_named_error(
    executor: Chain, calldata: bytes, error: type[Exception], match: str
) -> None:
    assert_reverts(executor.store, error, match, lambda: request(executor, calldata))
    assert executor.store.next_nonce(CALLER) == 0


def test_request_below_the_head_height_is_rejected(executor: Chain) -> None:
    request(executor, make_calldata())
    assert_reverts(
        executor.store, HeightError, "below the last committed height 10",
        lambda: executor.train_request(CALLER, 1, make_calldata(), GAS_LIMIT, REQUEST_HEIGHT - 1),
    )


def test_round_zero_deadlines_follow_the_request_height(executor: Chain) -> None:
    receipt = request(executor, make_calldata())
    rnd = executor.store.round(receipt.job_id, U64(0))
    assert rnd is not None
    assert (rnd.open_height, rnd.submit_deadline, rnd.proof_deadline) == (15, 20, 25)
    assert len(make_calldata()) == HYPERPARAMS_DATA_OFFSET + 96
