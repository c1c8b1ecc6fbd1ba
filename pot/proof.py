"""Step proofs: one ezkl proof of one SGD step, with its public instances (validator side).

The circuit's public instances are, in order, the Poseidon hash of each input tensor (the
parameters ``w1, b1, ...`` then ``x`` and ``y``) followed by the Poseidon hash of each output tensor
(the updated parameters). Each is a BN254 scalar field element. From them pot derives three 32-byte
commitments (``docs/protocol.md``)::

    commit(W)     = keccak256(b"pot.weights.v1" || h_1 || ... || h_n)      (32-byte big-endian h_i)
    commit(batch) = keccak256(b"pot.batch.v1"   || h_x || h_y)

JSON form (``format = "pot.step-proof/1"``), every hex string lowercase and ``0x``-prefixed::

    {"format": "pot.step-proof/1", "circuit_id": "0x<64 hex>", "proof": "0x<hex>",
     "instances": ["0x<64 hex>", ...],
     "commitments": {"weights_in": "0x..", "batch": "0x..", "weights_out": "0x.."}}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak
from py_ecc.bn128 import curve_order

from pot.errors import MalformedInputError

BN254_SCALAR_ORDER: int = curve_order  # r, from py_ecc
STEP_PROOF_FORMAT = "pot.step-proof/1"
DOMAIN_WEIGHTS = b"pot.weights.v1"
DOMAIN_BATCH = b"pot.batch.v1"
FELT_BYTES = 32
MAX_PROOF_BYTES = 1 << 20
MAX_INSTANCES = 4096


def felt_bytes(x: int) -> bytes:
    """A canonical field element as 32 big-endian bytes.

    Raises
    ------
    MalformedInputError
        If ``x`` is not in ``0..r-1`` (r = BN254 scalar order, from py_ecc).
    """
    if not 0 <= x < BN254_SCALAR_ORDER:
        raise MalformedInputError("field element is not canonical (must be < BN254 scalar order)")
    return x.to_bytes(FELT_BYTES, "big")


def weights_commitment(hashes: Sequence[int]) -> bytes:
    """commit(W): keccak256 over the domain tag and the parameter tensors' Poseidon hashes."""
    return bytes(keccak(DOMAIN_WEIGHTS + b"".join(felt_bytes(h) for h in hashes)))


def batch_commitment(hashes: Sequence[int]) -> bytes:
    """commit(batch): keccak256 over the domain tag and the Poseidon hashes of ``x`` and ``y``."""
    return bytes(keccak(DOMAIN_BATCH + b"".join(felt_bytes(h) for h in hashes)))


def parse_hex(value: Any, what: str, length: int | None = None, max_len: int = 1 << 21) -> bytes:
    """Strictly parse a lowercase ``0x``-prefixed hex string.

    Raises
    ------
    MalformedInputError
        If ``value`` is not a string, lacks the prefix, has uppercase or non-hex digits, an odd
        number of digits, or (with ``length``) another byte length.
    """
    if not isinstance(value, str) or not value.startswith("0x"):
        raise MalformedInputError(f"{what} must be a 0x-prefixed hex string")
    digits = value[2:]
    if len(digits) > 2 * max_len:
        raise MalformedInputError(f"{what} is longer than {max_len} bytes")
    if len(digits) % 2 or any(c not in "0123456789abcdef" for c in digits):
        raise MalformedInputError(f"{what} must be lowercase hex with an even number of digits")
    raw = bytes.fromhex(digits)
    if length is not None and len(raw) != length:
        raise MalformedInputError(f"{what} must be {length} bytes, got {len(raw)}")
    return raw


def parse_felt(value: Any, what: str) -> int:
    """Parse a canonical field element: ``0x`` + exactly 64 lowercase hex digits, value < r.

    Raises
    ------
    MalformedInputError
        On any other spelling or a value >= r (so ``x + r`` cannot stand in for ``x``).
    """
    x = int.from_bytes(parse_hex(value, what, FELT_BYTES), "big")
    if x >= BN254_SCALAR_ORDER:
        raise MalformedInputError(f"{what} is not a canonical field element (>= r)")
    return x


def felt_hex(x: int) -> str:
    """The canonical spelling of a field element."""
    return "0x" + felt_bytes(x).hex()


@dataclass(frozen=True)
class StepProof:
    """One proven SGD step.

    Attributes
    ----------
    circuit_id
        ``0x``-prefixed sha256 circuit id the proof was made for.
    proof
        The ezkl (halo2 KZG) proof bytes.
    instances
        Public instances: ``n_in`` input tensor hashes then ``n_out`` output tensor hashes.
    n_params
        Number of parameter tensors (``n_in = n_params + 2``, ``n_out = n_params``).
    """

    circuit_id: str
    proof: bytes
    instances: tuple[int, ...]
    n_params: int

    @property
    def weights_in_hashes(self) -> tuple[int, ...]:
        return self.instances[: self.n_params]

    @property
    def batch_hashes(self) -> tuple[int, ...]:
        return self.instances[self.n_params : self.n_params + 2]

    @property
    def weights_out_hashes(self) -> tuple[int, ...]:
        return self.instances[self.n_params + 2 :]

    @property
    def weights_in(self) -> bytes:
        return weights_commitment(self.weights_in_hashes)

    @property
    def batch(self) -> bytes:
        return batch_commitment(self.batch_hashes)

    @property
    def weights_out(self) -> bytes:
        return weights_commitment(self.weights_out_hashes)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STEP_PROOF_FORMAT,
            "circuit_id": self.circuit_id,
            "proof": "0x" + self.proof.hex(),
            "instances": [felt_hex(x) for x in self.instances],
            "commitments": {
                "weights_in": "0x" + self.weights_in.hex(),
                "batch": "0x" + self.batch.hex(),
                "weights_out": "0x" + self.weights_out.hex(),
            },
        }

    @classmethod
    def from_json(cls, obj: Any) -> StepProof:
        """Parse and check a step proof's JSON form.

        The instance count must be ``2 * n_params + 2`` for some ``n_params >= 1``; the circuit
        check (that it equals *this* circuit's count) is the verifier's. The stated commitments
        must equal the ones recomputed from the instances.

        Raises
        ------
        MalformedInputError
            On a wrong type, a missing or unknown key, a non-canonical hex string or field
            element, a bad instance count, or stated commitments that do not match.
        """
        if not isinstance(obj, dict):
            raise MalformedInputError("a step proof must be a JSON object")
        keys = {"format", "circuit_id", "proof", "instances", "commitments"}
        if set(obj) != keys:
            raise MalformedInputError(f"a step proof has exactly the keys {sorted(keys)}")
        if obj["format"] != STEP_PROOF_FORMAT:
            raise MalformedInputError(f"unknown step proof format {obj['format']!r}")
        parse_hex(obj["circuit_id"], "circuit_id", 32)
        proof = parse_hex(obj["proof"], "proof", max_len=MAX_PROOF_BYTES)
        if not proof:
            raise MalformedInputError("proof is empty")
        raw = obj["instances"]
        if not isinstance(raw, list) or not 4 <= len(raw) <= MAX_INSTANCES or len(raw) % 2:
            raise MalformedInputError("instances must be a list of 2*n_params + 2 field elements")
        instances = tuple(parse_felt(v, f"instance {i}") for i, v in enumerate(raw))
        step = cls(obj["circuit_id"], proof, instances, (len(instances) - 2) // 2)
        stated = obj["commitments"]
        if not isinstance(stated, dict) or set(stated) != {"weights_in", "batch", "weights_out"}:
            raise MalformedInputError("commitments must hold weights_in, batch and weights_out")
        for name in ("weights_in", "batch", "weights_out"):
            if parse_hex(stated[name], f"commitments.{name}", 32) != getattr(step, name):
                raise MalformedInputError(f"commitments.{name} does not match the instances")
        return step
