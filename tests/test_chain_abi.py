"""TRAIN_REQUEST calldata: strict decoding, one error per broken rule, checked against eth-abi."""

from __future__ import annotations

import eth_abi
import pytest
from eth_abi.exceptions import DecodingError
from hypothesis import given, settings
from hypothesis import strategies as st

from pot.chain.abi import (
    HEAD_BYTES,
    HYPERPARAMS_DATA_OFFSET,
    HYPERPARAMS_HEAD_OFFSET,
    HYPERPARAMS_LENGTH_OFFSET,
    MIN_PARTICIPANTS_OFFSET,
    TrainRequest,
    decode_train_request,
    encode_train_request,
)
from pot.chain.errors import (
    BadOffsetError,
    CalldataError,
    CalldataLengthError,
    NonZeroPaddingError,
    Uint64OverflowError,
)
from pot.chain.fixed_types import U64, U256, Bytes32

ABI_TYPES = ["bytes32", "bytes32", "uint256", "uint64", "bytes"]

words = st.binary(min_size=32, max_size=32)
requests = st.builds(
    lambda m, d, r, p, h: (m, d, r, p, h),
    words,
    words,
    st.integers(min_value=0, max_value=2**256 - 1),
    st.integers(min_value=0, max_value=2**64 - 1),
    st.binary(max_size=200),
)


def as_request(values: tuple[bytes, bytes, int, int, bytes]) -> TrainRequest:
    model_id, dataset_ref, total_rounds, min_participants, hyperparams = values
    return TrainRequest(
        model_id=Bytes32(model_id),
        dataset_ref=Bytes32(dataset_ref),
        total_rounds=U256(total_rounds),
        min_participants=U64(min_participants),
        hyperparams=hyperparams,
    )


def as_tuple(request: TrainRequest) -> tuple[bytes, bytes, int, int, bytes]:
    return (
        bytes(request.model_id),
        bytes(request.dataset_ref),
        int(request.total_rounds),
        int(request.min_participants),
        request.hyperparams,
    )


SAMPLE = (b"\x01" * 32, b"\x02" * 32, 3, 4, b"hello")
SAMPLE_CALLDATA = eth_abi.encode(ABI_TYPES, list(SAMPLE))


@settings(max_examples=200, deadline=None)
@given(requests)
def test_encoder_matches_eth_abi(values: tuple[bytes, bytes, int, int, bytes]) -> None:
    assert encode_train_request(as_request(values)) == eth_abi.encode(ABI_TYPES, list(values))


@settings(max_examples=200, deadline=None)
@given(requests)
def test_decoder_reads_what_eth_abi_writes(values: tuple[bytes, bytes, int, int, bytes]) -> None:
    assert as_tuple(decode_train_request(eth_abi.encode(ABI_TYPES, list(values)))) == values


@settings(max_examples=200, deadline=None)
@given(requests)
def test_eth_abi_reads_what_the_encoder_writes(
    values: tuple[bytes, bytes, int, int, bytes],
) -> None:
    decoded = eth_abi.decode(ABI_TYPES, encode_train_request(as_request(values)))
    assert tuple(decoded) == values


@settings(max_examples=300, deadline=None)
@given(requests, st.data())
def test_a_mutated_calldata_is_rejected_or_is_itself_canonical(
    values: tuple[bytes, bytes, int, int, bytes], data: st.DataObject
) -> None:
    calldata = bytearray(eth_abi.encode(ABI_TYPES, list(values)))
    index = data.draw(st.integers(min_value=0, max_value=len(calldata) - 1))
    calldata[index] = data.draw(st.integers(min_value=0, max_value=255))
    try:
        decoded = decode_train_request(bytes(calldata))
    except CalldataError:
        return
    assert encode_train_request(decoded) == bytes(calldata)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_decode_or_raise_a_calldata_error(raw: bytes) -> None:
    try:
        decoded = decode_train_request(raw)
    except CalldataError:
        return
    assert encode_train_request(decoded) == raw


def test_calldata_shorter_than_head_and_length_word_is_a_length_error() -> None:
    with pytest.raises(CalldataLengthError, match="need 192"):
        decode_train_request(SAMPLE_CALLDATA[: HYPERPARAMS_DATA_OFFSET - 1])


def test_min_participants_above_uint64_is_an_overflow_error_and_eth_abi_agrees() -> None:
    calldata = bytearray(SAMPLE_CALLDATA)
    calldata[MIN_PARTICIPANTS_OFFSET] = 1
    with pytest.raises(Uint64OverflowError, match="overflows uint64"):
        decode_train_request(bytes(calldata))
    with pytest.raises(DecodingError):
        eth_abi.decode(ABI_TYPES, bytes(calldata))


def test_non_canonical_offset_is_rejected_although_eth_abi_accepts_it() -> None:
    # Same tuple with a gap word before the tail: valid ABI, but not the canonical encoding.
    calldata = (
        SAMPLE_CALLDATA[:HYPERPARAMS_HEAD_OFFSET]
        + (HEAD_BYTES + 32).to_bytes(32, "big")
        + b"\x00" * 32
        + SAMPLE_CALLDATA[HEAD_BYTES:]
    )
    assert tuple(eth_abi.decode(ABI_TYPES, calldata)) == SAMPLE
    with pytest.raises(BadOffsetError, match="offset is 192"):
        decode_train_request(calldata)


def test_offset_word_with_high_bits_is_a_bad_offset() -> None:
    calldata = bytearray(SAMPLE_CALLDATA)
    calldata[HYPERPARAMS_HEAD_OFFSET] = 0xFF
    with pytest.raises(BadOffsetError):
        decode_train_request(bytes(calldata))


def test_length_word_past_the_end_is_a_length_error() -> None:
    calldata = (
        SAMPLE_CALLDATA[:HYPERPARAMS_LENGTH_OFFSET]
        + (1000).to_bytes(32, "big")
        + SAMPLE_CALLDATA[HYPERPARAMS_DATA_OFFSET:]
    )
    with pytest.raises(CalldataLengthError, match="says 1000 bytes, only 32 follow"):
        decode_train_request(calldata)


def test_trailing_word_is_rejected_although_eth_abi_accepts_it() -> None:
    calldata = SAMPLE_CALLDATA + b"\x00" * 32
    assert tuple(eth_abi.decode(ABI_TYPES, calldata)) == SAMPLE
    with pytest.raises(CalldataLengthError, match="needs exactly 224"):
        decode_train_request(calldata)


def test_missing_padding_is_a_length_error() -> None:
    with pytest.raises(CalldataLengthError, match="needs exactly 224"):
        decode_train_request(SAMPLE_CALLDATA[:-1])


def test_non_zero_padding_is_a_padding_error_and_eth_abi_agrees() -> None:
    calldata = bytearray(SAMPLE_CALLDATA)
    calldata[-1] = 1
    with pytest.raises(NonZeroPaddingError, match="not zero"):
        decode_train_request(bytes(calldata))
    with pytest.raises(DecodingError):
        eth_abi.decode(ABI_TYPES, bytes(calldata))


def test_empty_hyperparams_encode_to_head_and_zero_length_word() -> None:
    calldata = encode_train_request(as_request((b"\x01" * 32, b"\x02" * 32, 1, 1, b"")))
    assert len(calldata) == HYPERPARAMS_DATA_OFFSET
    assert decode_train_request(calldata).hyperparams == b""
