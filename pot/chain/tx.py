"""Signed transactions: the only way a caller changes chain state.

Every state-changing call of the chain (``train_request``, ``fund``, ``join``, ``submit``,
``submit_proof``, ``finalize_round``, ``release_slash``, ``appeal``, ``prove_fraud``) reaches the
executor as a :class:`Tx`: the sender's BLS12-381 public key, the chain id, the sender's nonce,
the call's name, the ABI encoding of its arguments (:data:`CALLS`), and the sender's BLS
signature (pot's ciphersuite, :mod:`pot.protocol.keys`) over :func:`signing_message`::

    message = TX_DOMAIN || abi.encode((uint64, bytes, uint64, string, bytes),
                                      (chain_id, sender, nonce, call, args))
    tx      = abi.encode((uint64, bytes, uint64, string, bytes, bytes),
                         (chain_id, sender, nonce, call, args, signature))

One key, two accounts. A sender is a BLS key (48 bytes). Its 20-byte address is
:func:`address_of` = the last 20 bytes of ``keccak256(key)`` (Ethereum's rule, applied to the BLS
key): requesters, funders and claimants act from the address, trainers stake and are paid on the
key itself. The nonce is per key, kept under its address (``nonces`` in the state), and checked
and incremented in the same SQLite transaction as the call: a call that reverts leaves the nonce
as it was, so a signed transaction applies at most once. pot signs with BLS only, rather than
adding secp256k1 for the 20-byte accounts, because the BLS keys, key files and the fast backend
(milagro) are already pot's; see ``docs/chain.md``, "Transactions".

``join`` also carries a proof of possession of the key (IETF BLS draft, ``PopProve`` of py_ecc's
``G2ProofOfPossession``), so that nobody can register a key it does not hold (rogue keys).

Block producers authenticate the other way: each block's RANDAO reveal is the scheduled
validator's BLS signature of :func:`reveal_message` (see :mod:`pot.protocol.challenge`).

Source: docs/chain.md, "Transactions"; docs/security.md.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_hash.auto import keccak

from pot.chain.errors import MalformedTxError, OutOfRangeError, UnknownCallError
from pot.chain.fixed_types import U64, Address, Bytes48
from pot.protocol.keys import SecretKey, public_key, sign, verify

TX_DOMAIN = b"pot.chain.tx/1\x00"
"""Prefix of every transaction's signing message (no canonical JSON body starts with it)."""
REVEAL_DOMAIN = b"pot.chain.randao/1\x00"
"""Prefix of a block producer's RANDAO reveal message."""
BLS_SIGNATURE_BYTES = 96
"""Width of a compressed G2 signature (a transaction's signature, a reveal, a PoP)."""
MAX_TX_BYTES = 32 * 1024 * 1024
"""Largest encoded transaction (a 16 MiB bundle plus its envelope fits)."""

_ENVELOPE = ("uint64", "bytes", "uint64", "string", "bytes", "bytes")
_SIGNED = _ENVELOPE[:5]

CALLS: dict[str, tuple[tuple[str, str], ...]] = {
    "train_request": (("calldata", "bytes"), ("gas_limit", "uint64"), ("value", "uint256")),
    "fund": (("job_id", "bytes32"), ("amount", "uint256")),
    "join": (
        ("job_id", "bytes32"), ("stake", "uint256"), ("dataset_commitment", "bytes32"),
        ("num_samples", "uint64"), ("proof_of_possession", "bytes"),
    ),
    "submit": (
        ("job_id", "bytes32"), ("round", "uint64"), ("trajectory_root", "bytes32"),
        ("steps", "uint32"), ("update_commitment", "bytes32"), ("payload", "bytes"),
    ),
    "submit_proof": (("job_id", "bytes32"), ("round", "uint64"), ("bundle", "bytes")),
    "finalize_round": (("job_id", "bytes32"), ("round", "uint64")),
    "release_slash": (("job_id", "bytes32"), ("round", "uint64"), ("trainer", "bytes")),
    "appeal": (("job_id", "bytes32"), ("round", "uint64"), ("bundle", "bytes")),
    "prove_fraud": (
        ("job_id", "bytes32"), ("round", "uint64"), ("trainer", "bytes"), ("bundle", "bytes"),
    ),
}
"""Each call's arguments, in order, as (name, ABI type). The sender is never an argument: a
trainer's calls act for the sender's key, a requester's and a claimant's for its address."""


@dataclass(frozen=True)
class Tx:
    """A signed transaction (see the module docstring for the encoding)."""

    chain_id: U64
    sender: Bytes48
    nonce: U64
    call: str
    args: bytes
    signature: bytes

    @property
    def address(self) -> Address:
        """The sender's 20-byte account."""
        return address_of(self.sender)


def address_of(pubkey: bytes) -> Address:
    """Return the 20-byte address of a BLS public key: ``keccak256(pubkey)[12:]``.

    Raises
    ------
    OutOfRangeError
        If ``pubkey`` is not 48 bytes.
    """
    return Address(keccak(bytes(Bytes48(pubkey)))[12:])


def _types(call: str) -> list[str]:
    if call not in CALLS:
        raise UnknownCallError(f"unknown call {call!r}; the calls are {', '.join(CALLS)}")
    return [kind for _, kind in CALLS[call]]


def encode_args(call: str, values: Sequence[Any]) -> bytes:
    """Return the ABI encoding of a call's arguments.

    Raises
    ------
    UnknownCallError
        If ``call`` is not in :data:`CALLS`.
    MalformedTxError
        If the values do not fit the call's ABI types.
    """
    types = _types(call)
    try:
        return bytes(abi_encode(types, [bytes(v) if isinstance(v, bytes) else v for v in values]))
    except (EncodingError, TypeError, ValueError) as e:
        raise MalformedTxError(f"arguments of {call} do not fit {types}: {e}") from e


def decode_args(call: str, data: bytes) -> tuple[Any, ...]:
    """Decode a call's arguments; only the canonical encoding is accepted.

    Raises
    ------
    UnknownCallError
        If ``call`` is not in :data:`CALLS`.
    MalformedTxError
        If ``data`` is not the canonical ABI encoding of the call's argument types.
    """
    types = _types(call)
    try:
        values = tuple(abi_decode(types, bytes(data)))
    except (DecodingError, ValueError, OverflowError) as e:
        raise MalformedTxError(f"arguments of {call} are not ABI {types}: {e}") from e
    if bytes(abi_encode(types, list(values))) != bytes(data):
        raise MalformedTxError(f"arguments of {call} are not the canonical ABI encoding")
    return values


def signing_message(chain_id: int, sender: bytes, nonce: int, call: str, args: bytes) -> bytes:
    """Return the bytes a transaction's signature signs (``TX_DOMAIN`` + ABI of the fields)."""
    return TX_DOMAIN + bytes(
        abi_encode(list(_SIGNED), [int(chain_id), bytes(sender), int(nonce), call, bytes(args)])
    )


def sign_tx(sk: SecretKey, chain_id: int, nonce: int, call: str, values: Sequence[Any]) -> Tx:
    """Return the transaction of ``call(values)`` from the key ``sk``, signed.

    Raises
    ------
    UnknownCallError, MalformedTxError
        As :func:`encode_args`.
    OutOfRangeError
        If ``chain_id`` or ``nonce`` does not fit a U64.
    """
    sender = Bytes48(public_key(sk))
    args = encode_args(call, values)
    message = signing_message(U64(chain_id), sender, U64(nonce), call, args)
    return Tx(U64(chain_id), sender, U64(nonce), call, args, sign(sk, message))


def encode_tx(tx: Tx) -> bytes:
    """Return the wire encoding of a transaction."""
    return bytes(abi_encode(list(_ENVELOPE), [
        int(tx.chain_id), bytes(tx.sender), int(tx.nonce), tx.call, bytes(tx.args),
        bytes(tx.signature),
    ]))


def decode_tx(data: bytes) -> Tx:
    """Decode a transaction's wire encoding; only the canonical encoding is accepted.

    Raises
    ------
    MalformedTxError
        If ``data`` is over ``MAX_TX_BYTES``, not canonical ABI of the envelope, or a field has
        the wrong width (sender 48 bytes, signature 96 bytes).
    """
    data = bytes(data)
    if len(data) > MAX_TX_BYTES:
        raise MalformedTxError(f"transaction is {len(data)} bytes, the cap is {MAX_TX_BYTES}")
    try:
        chain_id, sender, nonce, call, args, signature = abi_decode(list(_ENVELOPE), data)
    except (DecodingError, ValueError, OverflowError, UnicodeDecodeError) as e:
        raise MalformedTxError(f"transaction is not ABI {list(_ENVELOPE)}: {e}") from e
    if encode_tx(Tx(chain_id, sender, nonce, call, args, signature)) != data:
        raise MalformedTxError("transaction is not the canonical ABI encoding of its envelope")
    if len(signature) != BLS_SIGNATURE_BYTES:
        raise MalformedTxError(f"signature is {len(signature)} bytes, not {BLS_SIGNATURE_BYTES}")
    try:
        return Tx(U64(chain_id), Bytes48(sender), U64(nonce), str(call), bytes(args),
                  bytes(signature))
    except OutOfRangeError as e:
        raise MalformedTxError(f"transaction field out of range: {e}") from e


def signature_valid(tx: Tx) -> bool:
    """Return whether ``tx.signature`` is the sender's signature of its signing message."""
    message = signing_message(tx.chain_id, tx.sender, tx.nonce, tx.call, tx.args)
    return verify(bytes(tx.sender), message, bytes(tx.signature))


def prove_possession(sk: SecretKey) -> bytes:
    """Return the BLS proof of possession of ``sk`` (``PopProve``, 96 bytes)."""
    from py_ecc.bls import G2ProofOfPossession

    return bytes(G2ProofOfPossession.PopProve(sk.scalar))


@functools.lru_cache(maxsize=4096)
def possession_valid(pubkey: bytes, proof: bytes) -> bool:
    """Return whether ``proof`` is a valid proof of possession of ``pubkey`` (``PopVerify``).

    A pure function of its bytes, so its results are cached (py_ecc's pairing takes ~0.4 s).
    """
    from eth_typing import BLSPubkey, BLSSignature
    from py_ecc.bls import G2ProofOfPossession

    if len(pubkey) != Bytes48.LENGTH or len(proof) != BLS_SIGNATURE_BYTES:
        return False
    return bool(G2ProofOfPossession.PopVerify(BLSPubkey(pubkey), BLSSignature(proof)))


def reveal_message(chain_id: int, height: int) -> bytes:
    """Return what the producer of block ``height`` signs as its RANDAO reveal."""
    return REVEAL_DOMAIN + U64(chain_id).to_be_bytes() + U64(height).to_be_bytes()


def sign_reveal(sk: SecretKey, chain_id: int, height: int) -> bytes:
    """Return the RANDAO reveal of block ``height`` by the validator ``sk`` (96 bytes)."""
    return sign(sk, reveal_message(chain_id, height))
