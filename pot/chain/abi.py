"""Strict Solidity ABI encoding of the TRAIN_REQUEST (opcode ``0x14``) calldata.

The calldata is the standard ABI encoding of the tuple ``(bytes32 model_id, bytes32 dataset_ref,
uint256 total_rounds, uint64 min_participants, bytes hyperparams)``, with no function selector
(the opcode number plays that part). The decoder accepts only the canonical encoding, the one
``eth_abi.encode`` produces, so the calldata of a request is unique and is hashed into its job id::

    offset  size          content
    0       32            model_id
    32      32            dataset_ref
    64      32            total_rounds (uint256, big-endian)
    96      32            min_participants: 24 zero bytes, then the uint64
    128     32            offset of hyperparams = 0xa0 (160), the only canonical value
    160     32            L, the length of hyperparams in bytes
    192     L             hyperparams
    192+L   pad           zero bytes up to a multiple of 32

Semantic rules (round caps, non-zero references, the hyperparams record) are checked by
:func:`pot.chain.request.check_train_request`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pot.chain.errors import (
    BadOffsetError,
    CalldataLengthError,
    NonZeroPaddingError,
    Uint64OverflowError,
)
from pot.chain.fixed_types import U64, U256, Bytes32

WORD_BYTES = 32
MODEL_ID_OFFSET = 0
DATASET_REF_OFFSET = 32
TOTAL_ROUNDS_OFFSET = 64
MIN_PARTICIPANTS_OFFSET = 96
HYPERPARAMS_HEAD_OFFSET = 128
HEAD_BYTES = 160
HYPERPARAMS_LENGTH_OFFSET = HEAD_BYTES
HYPERPARAMS_DATA_OFFSET = HEAD_BYTES + WORD_BYTES
UINT64_HIGH_ZERO_BYTES = WORD_BYTES - U64.width_bytes()

if not HYPERPARAMS_HEAD_OFFSET + WORD_BYTES == HEAD_BYTES == 5 * WORD_BYTES:
    raise AssertionError("the TRAIN_REQUEST head layout must be five words, hyperparams last")


@dataclass(frozen=True)
class TrainRequest:
    """The decoded tuple of a TRAIN_REQUEST, before its semantic checks."""

    model_id: Bytes32
    dataset_ref: Bytes32
    total_rounds: U256
    min_participants: U64
    hyperparams: bytes


def padded_length(length: int) -> int:
    """Return ``length`` rounded up to a whole number of 32-byte words."""
    return -(-length // WORD_BYTES) * WORD_BYTES


def encode_train_request(request: TrainRequest) -> bytes:
    """Encode a TRAIN_REQUEST tuple canonically (as ``eth_abi.encode`` does).

    Parameters
    ----------
    request
        The tuple; its fields are already fixed-width values.

    Returns
    -------
    bytes
        ``192 + padded_length(len(hyperparams))`` bytes of calldata.
    """
    hyperparams = bytes(request.hyperparams)
    padding = b"\x00" * (padded_length(len(hyperparams)) - len(hyperparams))
    return b"".join(
        (
            bytes(Bytes32(request.model_id)),
            bytes(Bytes32(request.dataset_ref)),
            U256(request.total_rounds).to_be_bytes32(),
            U64(request.min_participants).to_be_bytes32(),
            U256(HEAD_BYTES).to_be_bytes32(),
            U256(len(hyperparams)).to_be_bytes32(),
            hyperparams,
            padding,
        )
    )


def decode_train_request(calldata: bytes) -> TrainRequest:
    """Decode TRAIN_REQUEST calldata, accepting only its canonical ABI encoding.

    Parameters
    ----------
    calldata
        The raw calldata, without a selector.

    Returns
    -------
    TrainRequest
        The decoded tuple; :func:`encode_train_request` of it gives back ``calldata``.

    Raises
    ------
    CalldataLengthError
        If the calldata is shorter than the head plus the length word, or its length is not exactly
        what the length word implies (missing or trailing bytes).
    Uint64OverflowError
        If the ``min_participants`` word does not fit a ``uint64``.
    BadOffsetError
        If the ``hyperparams`` offset word is not ``HEAD_BYTES`` (160).
    NonZeroPaddingError
        If a byte after the ``hyperparams`` payload is not zero.
    """
    calldata = bytes(calldata)
    if len(calldata) < HYPERPARAMS_DATA_OFFSET:
        raise CalldataLengthError(
            f"calldata is {len(calldata)} bytes; the head and the hyperparams length word need "
            f"{HYPERPARAMS_DATA_OFFSET}"
        )

    model_id = Bytes32(calldata[MODEL_ID_OFFSET:DATASET_REF_OFFSET])
    dataset_ref = Bytes32(calldata[DATASET_REF_OFFSET:TOTAL_ROUNDS_OFFSET])
    total_rounds = U256.from_be_bytes(calldata[TOTAL_ROUNDS_OFFSET:MIN_PARTICIPANTS_OFFSET])

    min_participants_word = calldata[MIN_PARTICIPANTS_OFFSET:HYPERPARAMS_HEAD_OFFSET]
    if any(min_participants_word[:UINT64_HIGH_ZERO_BYTES]):
        raise Uint64OverflowError(
            f"min_participants word 0x{min_participants_word.hex()} overflows uint64"
        )
    min_participants = U64.from_be_bytes(min_participants_word[UINT64_HIGH_ZERO_BYTES:])

    offset = U256.from_be_bytes(calldata[HYPERPARAMS_HEAD_OFFSET:HEAD_BYTES])
    if offset != HEAD_BYTES:
        raise BadOffsetError(
            f"hyperparams offset is {offset}; the canonical encoding puts it at {HEAD_BYTES}"
        )

    length = U256.from_be_bytes(calldata[HYPERPARAMS_LENGTH_OFFSET:HYPERPARAMS_DATA_OFFSET])
    available = len(calldata) - HYPERPARAMS_DATA_OFFSET
    if length > available:
        raise CalldataLengthError(
            f"hyperparams length word says {length} bytes, only {available} follow it"
        )
    expected_total = HYPERPARAMS_DATA_OFFSET + padded_length(length)
    if len(calldata) != expected_total:
        raise CalldataLengthError(
            f"calldata is {len(calldata)} bytes; a {length}-byte hyperparams field needs exactly "
            f"{expected_total}"
        )

    end = HYPERPARAMS_DATA_OFFSET + length
    if any(calldata[end:]):
        raise NonZeroPaddingError(
            f"padding after hyperparams is not zero: 0x{calldata[end:].hex()}"
        )

    return TrainRequest(
        model_id=model_id,
        dataset_ref=dataset_ref,
        total_rounds=total_rounds,
        min_participants=min_participants,
        hyperparams=calldata[HYPERPARAMS_DATA_OFFSET:end],
    )
