"""Proof bundles: a trainer's signed answer to a round's challenge (validator side, no torch).

A bundle holds, for one trainer, job and round: the trajectory root, T, the beacon, the sampled
step indices, and for each sampled step its ezkl proof with the Merkle openings that bind the proof
to the committed trajectory and dataset; plus openings of leaf 0 (the round's global model) and leaf
T (the submitted update). The trainer signs the whole body with its BLS12-381 key
(``pot.protocol.keys``, Ethereum consensus ciphersuite). ``docs/protocol.md`` gives the JSON layout.

Parsing is strict: unknown or missing keys, non-canonical hex or field elements, wrong lengths and
out-of-range numbers raise :class:`pot.errors.MalformedInputError`, and every size limit
(:data:`LIMITS`) is enforced before any hashing, signature check or proof verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pot.errors import MalformedInputError
from pot.jsonio import canonical_json, loads_limited
from pot.proof import StepProof
from pot.protocol.encoding import (
    BLS_PUBLIC_KEY_BYTES,
    BLS_SIGNATURE_BYTES,
    format_hex,
    parse_bytes32,
    parse_hex,
)
from pot.protocol.keys import SecretKey, sign_body

BUNDLE_FORMAT = "pot.bundle/1"
MAX_BUNDLE_BYTES = 16 * 1024 * 1024  # bytes of the JSON file
MAX_STEPS = 1 << 20  # T
MAX_SAMPLED_STEPS = 64  # k
MAX_BATCHES = 1 << 20  # N, batches in a dataset commitment
MAX_PATH_NODES = 64  # siblings in one Merkle path
MAX_ROUND = (1 << 53) - 1
LIMITS = {
    "bundle_bytes": MAX_BUNDLE_BYTES,
    "steps": MAX_STEPS,
    "sampled_steps": MAX_SAMPLED_STEPS,
    "batches": MAX_BATCHES,
    "path_nodes": MAX_PATH_NODES,
}


@dataclass(frozen=True)
class StepOpening:
    """One sampled step t: its proof and the openings that bind it.

    Attributes
    ----------
    index
        The step t (a challenged index).
    proof
        The ezkl proof of step t; its tensor points give commit(W_t), commit(batch_t), commit(W_{t+1}).
    weights, batch
        Leaf t's committed values, commit(W_t) and commit(batch_t).
    leaf_path
        Trajectory path of leaf t = (t, weights, batch).
    next_weights, next_batch
        Leaf t+1's committed values (``next_batch`` is 32 zero bytes if t+1 = T).
    next_path
        Trajectory path of leaf t+1 = (t+1, next_weights, next_batch).
    batch_index
        Where batch_t sits in the trainer's dataset commitment (must be ``t mod N``).
    batch_path
        Dataset path of commit(batch_t) at ``batch_index``.
    """

    index: int
    proof: StepProof
    weights: bytes
    batch: bytes
    leaf_path: tuple[bytes, ...]
    next_weights: bytes
    next_batch: bytes
    next_path: tuple[bytes, ...]
    batch_index: int
    batch_path: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "proof": self.proof.to_json(),
            "weights": format_hex(self.weights),
            "batch": format_hex(self.batch),
            "leaf_path": [format_hex(p) for p in self.leaf_path],
            "next_weights": format_hex(self.next_weights),
            "next_batch": format_hex(self.next_batch),
            "next_path": [format_hex(p) for p in self.next_path],
            "batch_index": self.batch_index,
            "batch_path": [format_hex(p) for p in self.batch_path],
        }


@dataclass(frozen=True)
class Bundle:
    """A signed proof bundle (see the module docstring for the checks a verifier makes).

    Attributes
    ----------
    job_id, round, trainer
        Which submission: 32-byte job id, round number, 48-byte BLS public key.
    circuit_id
        The circuit every step proof is for.
    root, steps
        The trajectory root and T, as submitted before the beacon.
    beacon
        The round's revealed 32-byte beacon.
    indices
        The challenged steps, in draw order.
    dataset_root, n_batches
        The trainer's dataset commitment (given at join) and its batch count N.
    batch_size
        Samples per step (the spec's); verified samples are ``steps * batch_size``.
    global_commitment
        commit(W_0), the round's global model.
    first_batch, first_path
        Leaf 0's batch commitment and trajectory path.
    final_commitment, last_path
        commit(W_T), the submitted update, and leaf T's trajectory path.
    openings
        One :class:`StepOpening` per challenged index, in the same order.
    signature
        96-byte BLS signature over :meth:`body`.
    """

    job_id: bytes
    round: int
    trainer: bytes
    circuit_id: str
    root: bytes
    steps: int
    beacon: bytes
    indices: tuple[int, ...]
    dataset_root: bytes
    n_batches: int
    batch_size: int
    global_commitment: bytes
    first_batch: bytes
    first_path: tuple[bytes, ...]
    final_commitment: bytes
    last_path: tuple[bytes, ...]
    openings: tuple[StepOpening, ...]
    signature: bytes = b""

    def body(self) -> dict[str, Any]:
        """Everything but the signature: what the trainer signs."""
        return {
            "type": BUNDLE_FORMAT,
            "job_id": format_hex(self.job_id),
            "round": self.round,
            "trainer": format_hex(self.trainer),
            "circuit_id": self.circuit_id,
            "root": format_hex(self.root),
            "steps": self.steps,
            "beacon": format_hex(self.beacon),
            "indices": list(self.indices),
            "dataset_root": format_hex(self.dataset_root),
            "n_batches": self.n_batches,
            "batch_size": self.batch_size,
            "global_commitment": format_hex(self.global_commitment),
            "first_batch": format_hex(self.first_batch),
            "first_path": [format_hex(p) for p in self.first_path],
            "final_commitment": format_hex(self.final_commitment),
            "last_path": [format_hex(p) for p in self.last_path],
            "openings": [o.to_json() for o in self.openings],
        }

    def signed(self, sk: SecretKey) -> Bundle:
        """A copy carrying the signature of ``sk`` over :meth:`body`."""
        from dataclasses import replace

        return replace(self, signature=sign_body(sk, self.body()))

    def to_json(self) -> dict[str, Any]:
        return {"format": BUNDLE_FORMAT, "body": self.body(), "signature": format_hex(self.signature)}

    @property
    def verified_samples(self) -> int:
        """Samples the round trained on, counted only once the bundle is accepted."""
        return self.steps * self.batch_size


# ---- strict parsing -----------------------------------------------------------------------------

_BODY_KEYS = frozenset({
    "type", "job_id", "round", "trainer", "circuit_id", "root", "steps", "beacon", "indices",
    "dataset_root", "n_batches", "batch_size", "global_commitment", "first_batch", "first_path",
    "final_commitment", "last_path", "openings",
})
_OPENING_KEYS = frozenset(
    {"index", "proof", "weights", "batch", "leaf_path", "next_weights", "next_batch", "next_path",
     "batch_index", "batch_path"})


def _keys(obj: Any, keys: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise MalformedInputError(f"{what} must be a JSON object")
    if set(obj) != keys:
        missing, extra = sorted(keys - set(obj)), sorted(set(obj) - keys)
        raise MalformedInputError(f"{what}: missing {missing}, unknown {extra}")
    return obj


def _int(value: Any, what: str, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise MalformedInputError(f"{what} must be an integer in {lo}..{hi}")
    return value


def _b32(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedInputError(f"{what} must be a hex string")
    return parse_bytes32(value, what)


def _path(value: Any, what: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > MAX_PATH_NODES:
        raise MalformedInputError(f"{what} must be a list of at most {MAX_PATH_NODES} hashes")
    return tuple(_b32(v, f"{what}[{i}]") for i, v in enumerate(value))


def _opening(obj: Any, i: int) -> StepOpening:
    o = _keys(obj, _OPENING_KEYS, f"openings[{i}]")
    return StepOpening(
        index=_int(o["index"], f"openings[{i}].index", 0, MAX_STEPS - 1),
        proof=StepProof.from_json(o["proof"]),
        weights=_b32(o["weights"], f"openings[{i}].weights"),
        batch=_b32(o["batch"], f"openings[{i}].batch"),
        leaf_path=_path(o["leaf_path"], f"openings[{i}].leaf_path"),
        next_weights=_b32(o["next_weights"], f"openings[{i}].next_weights"),
        next_batch=_b32(o["next_batch"], f"openings[{i}].next_batch"),
        next_path=_path(o["next_path"], f"openings[{i}].next_path"),
        batch_index=_int(o["batch_index"], f"openings[{i}].batch_index", 0, MAX_BATCHES - 1),
        batch_path=_path(o["batch_path"], f"openings[{i}].batch_path"),
    )


def bundle_from_json(obj: Any) -> Bundle:
    """Parse a bundle's JSON form strictly.

    Raises
    ------
    MalformedInputError
        On any structural, encoding or limit violation (see the module docstring).
    """
    top = _keys(obj, frozenset({"format", "body", "signature"}), "bundle")
    if top["format"] != BUNDLE_FORMAT:
        raise MalformedInputError(f"unknown bundle format {top['format']!r}")
    if not isinstance(top["signature"], str):
        raise MalformedInputError("signature must be a hex string")
    signature = parse_hex(top["signature"], BLS_SIGNATURE_BYTES, "signature")
    b = _keys(top["body"], _BODY_KEYS, "bundle body")
    if b["type"] != BUNDLE_FORMAT:
        raise MalformedInputError(f"bundle body type must be {BUNDLE_FORMAT!r}")
    if not isinstance(b["trainer"], str) or not isinstance(b["circuit_id"], str):
        raise MalformedInputError("trainer and circuit_id must be hex strings")
    raw_indices, raw_openings = b["indices"], b["openings"]
    for name, value in (("indices", raw_indices), ("openings", raw_openings)):
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_SAMPLED_STEPS:
            raise MalformedInputError(f"{name} must be a list of 1..{MAX_SAMPLED_STEPS} entries")
    steps = _int(b["steps"], "steps", 1, MAX_STEPS)
    parse_bytes32(b["circuit_id"], "circuit_id")
    return Bundle(
        job_id=_b32(b["job_id"], "job_id"),
        round=_int(b["round"], "round", 0, MAX_ROUND),
        trainer=parse_hex(b["trainer"], BLS_PUBLIC_KEY_BYTES, "trainer"),
        circuit_id=b["circuit_id"],
        root=_b32(b["root"], "root"),
        steps=steps,
        beacon=_b32(b["beacon"], "beacon"),
        indices=tuple(_int(v, f"indices[{i}]", 0, steps - 1) for i, v in enumerate(raw_indices)),
        dataset_root=_b32(b["dataset_root"], "dataset_root"),
        n_batches=_int(b["n_batches"], "n_batches", 1, MAX_BATCHES),
        batch_size=_int(b["batch_size"], "batch_size", 1, 1 << 16),
        global_commitment=_b32(b["global_commitment"], "global_commitment"),
        first_batch=_b32(b["first_batch"], "first_batch"),
        first_path=_path(b["first_path"], "first_path"),
        final_commitment=_b32(b["final_commitment"], "final_commitment"),
        last_path=_path(b["last_path"], "last_path"),
        openings=tuple(_opening(o, i) for i, o in enumerate(raw_openings)),
        signature=signature,
    )


def load_bundle(raw: bytes) -> Bundle:
    """Parse bundle bytes within :data:`MAX_BUNDLE_BYTES` and the JSON depth limit.

    Raises
    ------
    MalformedInputError
        As :func:`pot.jsonio.loads_limited` and :func:`bundle_from_json`.
    """
    return bundle_from_json(loads_limited(raw, "bundle", MAX_BUNDLE_BYTES))


def dump_bundle(bundle: Bundle) -> bytes:
    """The bundle file's bytes: canonical JSON (:func:`pot.jsonio.canonical_json`) and a newline."""
    return canonical_json(bundle.to_json()) + b"\n"
