"""Step proofs: one ezkl proof of one SGD step, with its public instances (validator side).

The circuit's public instances are, in order, the Poseidon hash of each input tensor (the
parameters ``w1, b1, ...`` then ``x`` and ``y``) followed by the Poseidon hash of each output tensor
(the updated parameters). Each is a BN254 scalar field element. From them pot derives three 32-byte
commitments, commit(W_t), commit(batch) and commit(W_{t+1}), with
:func:`pot.protocol.commitments.weights_commitment` and ``batch_commitment`` (``docs/protocol.md``).

JSON form (``format = "pot.step-proof/1"``), every hex string lowercase and ``0x``-prefixed, field
elements in the protocol's canonical minimal form (``pot.protocol.encoding``)::

    {"format": "pot.step-proof/1", "circuit_id": "0x<64 hex>", "proof": "0x<hex>",
     "instances": ["0x<hex>", ...],
     "commitments": {"weights_in": "0x..", "batch": "0x..", "weights_out": "0x.."}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pot.errors import MalformedInputError
from pot.protocol.commitments import batch_commitment, weights_commitment
from pot.protocol.encoding import (
    BN254_SCALAR_ORDER,
    format_field_element,
    format_hex,
    parse_bytes32,
    parse_field_element,
)

__all__ = ["BN254_SCALAR_ORDER", "MAX_PROOF_BYTES", "STEP_PROOF_FORMAT", "StepProof"]
STEP_PROOF_FORMAT = "pot.step-proof/1"
MAX_PROOF_BYTES = 1 << 20
MAX_INSTANCES = 4096


def _parse_proof_bytes(value: Any) -> bytes:
    """The proof: ``0x`` + lowercase hex, 1 to ``MAX_PROOF_BYTES`` bytes."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise MalformedInputError("proof must be a 0x-prefixed hex string")
    digits = value[2:]
    if not 0 < len(digits) <= 2 * MAX_PROOF_BYTES or len(digits) % 2:
        raise MalformedInputError(f"proof must be 1 to {MAX_PROOF_BYTES} bytes of hex")
    if any(c not in "0123456789abcdef" for c in digits):
        raise MalformedInputError("proof must be lowercase hex")
    return bytes.fromhex(digits)


def _require_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedInputError(f"{what} must be a string")
    return value


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
            "proof": format_hex(self.proof),
            "instances": [format_field_element(x) for x in self.instances],
            "commitments": {
                "weights_in": format_hex(self.weights_in),
                "batch": format_hex(self.batch),
                "weights_out": format_hex(self.weights_out),
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
        parse_bytes32(_require_str(obj["circuit_id"], "circuit_id"), "circuit_id")
        proof = _parse_proof_bytes(obj["proof"])
        raw = obj["instances"]
        if not isinstance(raw, list) or not 4 <= len(raw) <= MAX_INSTANCES or len(raw) % 2:
            raise MalformedInputError("instances must be a list of 2*n_params + 2 field elements")
        instances = tuple(parse_field_element(_require_str(v, f"instance {i}"), f"instance {i}")
                          for i, v in enumerate(raw))
        step = cls(obj["circuit_id"], proof, instances, (len(instances) - 2) // 2)
        stated = obj["commitments"]
        if not isinstance(stated, dict) or set(stated) != {"weights_in", "batch", "weights_out"}:
            raise MalformedInputError("commitments must hold weights_in, batch and weights_out")
        for name in ("weights_in", "batch", "weights_out"):
            value = _require_str(stated[name], f"commitments.{name}")
            if parse_bytes32(value, f"commitments.{name}") != getattr(step, name):
                raise MalformedInputError(f"commitments.{name} does not match the instances")
        return step
