"""Step proofs: one ezkl proof of one SGD step, with the tensor commitments it opens with.

The step circuit has no public instances. Its inputs and outputs are committed with ezkl's
``polycommit`` visibility, and the proof *begins* with one KZG point per tensor, 64 bytes each
(``be32(x) ‖ be32(y)``): the parameters ``w1, b1, ...``, then ``x`` and ``y``, then the updated
parameters. Those leading bytes are what the verified proof binds, so pot reads the tensor points
from them, never from anywhere else. From the points' digests (:func:`pot.tensors.tensor_digest`) pot
derives three 32-byte commitments, commit(W_t), commit(batch) and commit(W_{t+1}), with
:func:`pot.protocol.commitments.weights_commitment` and ``batch_commitment`` (``docs/protocol.md``).

JSON form (``format = "pot.step-proof/2"``), every hex string lowercase and ``0x``-prefixed::

    {"format": "pot.step-proof/2", "circuit_id": "0x<64 hex>", "proof": "0x<hex>",
     "points": ["0x<128 hex>", ...],
     "commitments": {"weights_in": "0x..", "batch": "0x..", "weights_out": "0x.."}}

``points`` and ``commitments`` repeat what the proof bytes determine, for readers; a file whose
stated values differ from the proof's is malformed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pot.errors import MalformedInputError
from pot.protocol.commitments import batch_commitment, weights_commitment
from pot.protocol.encoding import BN254_SCALAR_ORDER, format_hex, parse_bytes32, parse_hex
from pot.tensors import G1_POINT_BYTES, check_g1_point, tensor_digest

__all__ = ["BN254_SCALAR_ORDER", "MAX_PROOF_BYTES", "STEP_PROOF_FORMAT", "StepProof"]
STEP_PROOF_FORMAT = "pot.step-proof/2"
MAX_PROOF_BYTES = 1 << 20
MAX_TENSORS = 4096


def _parse_proof_bytes(value: Any) -> bytes:
    """The proof: ``0x`` + lowercase hex, 1 to ``MAX_PROOF_BYTES`` bytes."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise MalformedInputError("proof must be a 0x-prefixed hex string")
    digits = value[2:]
    if not 0 < len(digits) <= 2 * MAX_PROOF_BYTES or len(digits) % 2:
        raise MalformedInputError(f"proof must be 1 to {MAX_PROOF_BYTES} bytes of hex")
    try:
        proof = bytes.fromhex(digits)
    except ValueError:
        proof = b""
    if proof.hex() != digits:  # fromhex also takes upper case and spaces: only lowercase is canonical
        raise MalformedInputError("proof must be lowercase hex")
    return proof


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
        The ezkl (halo2 KZG) proof bytes; the first ``2 * n_params + 2`` 64-byte groups are the
        tensor points.
    n_params
        Number of parameter tensors (``n_params + 2`` inputs, ``n_params`` outputs).
    """

    circuit_id: str
    proof: bytes
    n_params: int

    @property
    def n_tensors(self) -> int:
        return 2 * self.n_params + 2

    @property
    def points(self) -> tuple[bytes, ...]:
        """The tensor points the proof opens with (inputs, then outputs), 64 bytes each."""
        return tuple(self.proof[G1_POINT_BYTES * i : G1_POINT_BYTES * (i + 1)]
                     for i in range(self.n_tensors))

    @cached_property
    def digests(self) -> tuple[int, ...]:
        """:func:`pot.tensors.tensor_digest` of each point (computed once: the three commitments
        and the verifier read them)."""
        return tuple(tensor_digest(p) for p in self.points)

    @property
    def weights_in(self) -> bytes:
        return weights_commitment(self.digests[: self.n_params])

    @property
    def batch(self) -> bytes:
        return batch_commitment(self.digests[self.n_params : self.n_params + 2])

    @property
    def weights_out(self) -> bytes:
        return weights_commitment(self.digests[self.n_params + 2 :])

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STEP_PROOF_FORMAT,
            "circuit_id": self.circuit_id,
            "proof": format_hex(self.proof),
            "points": [format_hex(p) for p in self.points],
            "commitments": {
                "weights_in": format_hex(self.weights_in),
                "batch": format_hex(self.batch),
                "weights_out": format_hex(self.weights_out),
            },
        }

    @classmethod
    def from_json(cls, obj: Any) -> StepProof:
        """Parse and check a step proof's JSON form.

        The point count must be ``2 * n_params + 2`` for some ``n_params >= 1``; the circuit check
        (that it equals *this* circuit's count) is the verifier's. The stated points must be the
        proof's leading bytes and valid G1 points, and the stated commitments must equal the ones
        recomputed from them.

        Raises
        ------
        MalformedInputError
            On a wrong type, a missing or unknown key, a non-canonical hex string, a bad point
            count, a point that is not on the curve or not the proof's, or stated commitments
            that do not match.
        """
        if not isinstance(obj, dict):
            raise MalformedInputError("a step proof must be a JSON object")
        keys = {"format", "circuit_id", "proof", "points", "commitments"}
        if set(obj) != keys:
            raise MalformedInputError(f"a step proof has exactly the keys {sorted(keys)}")
        if obj["format"] != STEP_PROOF_FORMAT:
            raise MalformedInputError(f"unknown step proof format {obj['format']!r}")
        parse_bytes32(_require_str(obj["circuit_id"], "circuit_id"), "circuit_id")
        proof = _parse_proof_bytes(obj["proof"])
        raw = obj["points"]
        if not isinstance(raw, list) or not 4 <= len(raw) <= MAX_TENSORS or len(raw) % 2:
            raise MalformedInputError("points must be a list of 2*n_params + 2 G1 points")
        if len(proof) < G1_POINT_BYTES * len(raw):
            raise MalformedInputError("the proof is shorter than its tensor points")
        step = cls(obj["circuit_id"], proof, (len(raw) - 2) // 2)
        for i, (value, point) in enumerate(zip(raw, step.points, strict=True)):
            stated_point = parse_hex(_require_str(value, f"point {i}"), G1_POINT_BYTES, f"point {i}")
            if stated_point != point:
                raise MalformedInputError(f"point {i} is not the proof's point {i}")
            check_g1_point(point, f"point {i}")
        stated = obj["commitments"]
        if not isinstance(stated, dict) or set(stated) != {"weights_in", "batch", "weights_out"}:
            raise MalformedInputError("commitments must hold weights_in, batch and weights_out")
        for name in ("weights_in", "batch", "weights_out"):
            value = _require_str(stated[name], f"commitments.{name}")
            if parse_bytes32(value, f"commitments.{name}") != getattr(step, name):
                raise MalformedInputError(f"commitments.{name} does not match the points")
        return step
