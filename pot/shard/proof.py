"""Sharded step proofs: one ezkl proof per shard, linked by the KZG points of shared tensors.

JSON form (``format = "pot.step-proof/3"``), hex lowercase and ``0x``-prefixed::

    {"format": "pot.step-proof/3", "circuit_id": "0x<sharded circuit id>",
     "shards": [{"shard": "fwd1.t0", "circuit_id": "0x<kind circuit id>", "proof": "0x.."}, ...],
     "tensors": {"w1.t0": "0x<128 hex>", ..., "a1.t0": "0x..", ..., "w1.t0'": "0x.."},
     "commitments": {"weights_in": "0x..", "batch": "0x..", "weights_out": "0x.."}}

``shards`` follows the plan's order (:mod:`pot.shard.plan`; the plan itself lives in the pinned
sharded circuit, never in the proof). Each shard proof opens with the points of that shard's
tensors, inputs then outputs. ``tensors`` states one point per tensor of the step: the verifier
requires every proof that opens a tensor to open it with exactly this point (the *links*).
``commitments`` are derived from the stated points of the step's inputs and outputs as for
``pot.step-proof/2``: commit(W_t) over the parameter tiles in checkpoint order, commit(batch) over
``x`` and ``y``, commit(W_{t+1}) over the updated tiles. Parsing checks form only; what the points
mean is the verifier's (:mod:`pot.shard.verify`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pot.errors import MalformedInputError
from pot.proof import MAX_PROOF_BYTES, _parse_proof_bytes, _require_str
from pot.protocol.commitments import batch_commitment, weights_commitment
from pot.protocol.encoding import format_hex, parse_bytes32, parse_hex
from pot.tensors import G1_POINT_BYTES, check_g1_point, tensor_digest

SHARDED_STEP_PROOF_FORMAT = "pot.step-proof/3"
MAX_SHARDS = 4096
MAX_TENSOR_NAME = 32


@dataclass(frozen=True)
class ShardProof:
    """One shard's proof: its name in the plan, its kind circuit id and the ezkl proof bytes."""

    shard: str
    circuit_id: str
    proof: bytes

    def points(self, count: int) -> tuple[bytes, ...]:
        """The first ``count`` 64-byte points the proof opens with."""
        return tuple(self.proof[G1_POINT_BYTES * i : G1_POINT_BYTES * (i + 1)] for i in range(count))


@dataclass(frozen=True)
class ShardedStepProof:
    """A proven SGD step as linked shard proofs.

    Attributes
    ----------
    circuit_id
        The sharded circuit's id (:mod:`pot.shard.circuits`).
    shards
        Shard proofs, in the order given.
    tensors
        Stated point of each tensor, by name.
    inputs, outputs
        Names of the step's parameter tiles (checkpoint order) and updated tiles; ``x`` is
        ``a0.t0``.
    """

    circuit_id: str
    shards: tuple[ShardProof, ...]
    tensors: dict[str, bytes]
    params_in: tuple[str, ...]
    params_out: tuple[str, ...]

    def _digests(self, names: tuple[str, ...] | list[str]) -> list[int]:
        return [tensor_digest(self.tensors[n]) for n in names]

    @property
    def weights_in(self) -> bytes:
        return weights_commitment(self._digests(self.params_in))

    @property
    def batch(self) -> bytes:
        return batch_commitment(self._digests(["a0.t0", "y"]))

    @property
    def weights_out(self) -> bytes:
        return weights_commitment(self._digests(self.params_out))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SHARDED_STEP_PROOF_FORMAT,
            "circuit_id": self.circuit_id,
            "shards": [{"shard": s.shard, "circuit_id": s.circuit_id, "proof": format_hex(s.proof)}
                       for s in self.shards],
            "tensors": {name: format_hex(p) for name, p in self.tensors.items()},
            "commitments": {"weights_in": format_hex(self.weights_in),
                            "batch": format_hex(self.batch),
                            "weights_out": format_hex(self.weights_out)},
        }

    @classmethod
    def from_json(cls, obj: Any) -> ShardedStepProof:
        """Parse and check a sharded step proof's form.

        Raises
        ------
        MalformedInputError
            On a wrong type, a missing or unknown key, non-canonical hex, a point that is not a
            curve point, too many shards, no parameter tiles, or stated commitments that differ
            from the stated points'.
        """
        if not isinstance(obj, dict):
            raise MalformedInputError("a sharded step proof must be a JSON object")
        keys = {"format", "circuit_id", "shards", "tensors", "commitments"}
        if set(obj) != keys:
            raise MalformedInputError(f"a sharded step proof has exactly the keys {sorted(keys)}")
        if obj["format"] != SHARDED_STEP_PROOF_FORMAT:
            raise MalformedInputError(f"unknown step proof format {obj['format']!r}")
        circuit_id = _require_str(obj["circuit_id"], "circuit_id")
        parse_bytes32(circuit_id, "circuit_id")
        raw = obj["shards"]
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SHARDS:
            raise MalformedInputError(f"shards must be a list of 1 to {MAX_SHARDS} shard proofs")
        shards = []
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict) or set(entry) != {"shard", "circuit_id", "proof"}:
                raise MalformedInputError(f"shard {i} must hold exactly shard, circuit_id, proof")
            name = _require_str(entry["shard"], f"shard {i} name")
            if not 0 < len(name) <= MAX_TENSOR_NAME:
                raise MalformedInputError(f"shard {i} has a malformed name")
            cid = _require_str(entry["circuit_id"], f"shard {i} circuit_id")
            parse_bytes32(cid, f"shard {i} circuit_id")
            shards.append(ShardProof(name, cid, _parse_proof_bytes(entry["proof"])))
        stated = obj["tensors"]
        if not isinstance(stated, dict) or not 0 < len(stated) <= MAX_SHARDS * 8:
            raise MalformedInputError("tensors must map tensor names to points")
        tensors: dict[str, bytes] = {}
        for name, value in stated.items():
            if not 0 < len(name) <= MAX_TENSOR_NAME:
                raise MalformedInputError("a tensor name is malformed")
            point = parse_hex(_require_str(value, f"tensor {name}"), G1_POINT_BYTES, f"tensor {name}")
            tensors[name] = check_g1_point(point, f"tensor {name}")
        params_in = tuple(n for n in tensors if n[0] in "wb" and not n.endswith("'"))
        params_out = tuple(n for n in tensors if n[0] in "wb" and n.endswith("'"))
        if not params_in or {n + "'" for n in params_in} != set(params_out) or not {
                "a0.t0", "y"} <= set(tensors):
            raise MalformedInputError("tensors must state every parameter tile, its update, "
                                      "a0.t0 (x) and y")
        step = cls(circuit_id, tuple(shards), tensors, _checkpoint_order(params_in),
                   _checkpoint_order(params_out))
        commitments = obj["commitments"]
        if not isinstance(commitments, dict) or set(commitments) != {"weights_in", "batch",
                                                                      "weights_out"}:
            raise MalformedInputError("commitments must hold weights_in, batch and weights_out")
        for name in ("weights_in", "batch", "weights_out"):
            value = _require_str(commitments[name], f"commitments.{name}")
            if parse_bytes32(value, f"commitments.{name}") != getattr(step, name):
                raise MalformedInputError(f"commitments.{name} does not match the stated points")
        return step


def _checkpoint_order(names: tuple[str, ...]) -> tuple[str, ...]:
    """Parameter tiles in checkpoint order: layer, then tile, weight before bias."""

    def key(name: str) -> tuple[int, int, int]:
        try:
            layer, tile = name.rstrip("'")[1:].split(".t")
            return int(layer), int(tile), 0 if name[0] == "w" else 1
        except ValueError as e:
            raise MalformedInputError(f"{name!r} is not a parameter tile name") from e

    return tuple(sorted(names, key=key))


__all__ = ["MAX_PROOF_BYTES", "SHARDED_STEP_PROOF_FORMAT", "ShardProof", "ShardedStepProof"]
