"""Verify a sharded step proof against a pinned sharded circuit (validator side; no torch).

A step is valid only if every shard of the pinned plan is proven exactly once, in the plan's
order, by a proof of that shard's kind circuit that ezkl accepts, and every proof opens each of its
tensors with the step's stated point for it (the links). Cheap checks run first, ezkl last.

Reason codes, in the order the checks run:

=================  ======================================================================
``dev_srs``         the circuit's SRS is a development one and ``allow_dev_srs`` was not given
``wrong_circuit``   the proof names another sharded circuit than the pinned one
``shard_duplicate`` a shard of the plan is proven twice
``shard_missing``   a shard of the plan has no proof (or a proof names no shard of the plan)
``shard_order``     the shards are not in the plan's order, or a shard carries the proof of
                    another tile of the same kind (tiles reordered)
``tensor_count``    the stated tensors are not exactly the plan's
``shard_circuit``   a shard proof names another kind circuit than its shard's
``shard_foreign``   a shard proof opens with none of the step's points: it proves another step
                    or another trainer's step
``link_mismatch``   a shard proof opens some, not all, of its tensors with the step's points
                    (a link point swapped)
``proof_invalid``   ezkl rejected a shard proof
``proof_trailing_bytes`` a shard proof carries bytes after its end
=================  ======================================================================
"""

from __future__ import annotations

from pathlib import Path

from pot.jsonio import read_json_limited
from pot.proofcheck import PROOF_FAILURES, VALID, check_proof
from pot.shard.circuits import ShardedCircuit
from pot.shard.proof import ShardedStepProof
from pot.tensors import G1_POINT_BYTES
from pot.verdict import Verdict

MAX_SHARDED_FILE_BYTES = 1 << 28


def read_sharded_proof(path: Path) -> ShardedStepProof:
    """Read a ``pot.step-proof/3`` file.

    Raises
    ------
    MalformedInputError
        If the file is too large, not JSON, or not a well-formed sharded step proof.
    """
    return ShardedStepProof.from_json(read_json_limited(path, MAX_SHARDED_FILE_BYTES))


def _reject(reason: str, detail: str) -> Verdict:
    return Verdict(False, reason, detail=detail)


def _structure(step: ShardedStepProof, sc: ShardedCircuit) -> Verdict | None:
    plan = sc.plan
    names = [s.shard for s in step.shards]
    want = [s.name for s in plan.shards]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return _reject("shard_duplicate", f"shard {name} is proven twice")
        seen.add(name)
    for name in want:
        if name not in seen:
            return _reject("shard_missing", f"shard {name} of the plan has no proof")
    for name in names:
        if name not in want:
            return _reject("shard_missing", f"{name} is not a shard of the plan")
    if names != want:
        return _reject("shard_order", "the shard proofs are not in the plan's order")
    tensors = {t for s in plan.shards for t in s.tensors}
    if set(step.tensors) != tensors:
        return _reject("tensor_count", f"the proof states {len(step.tensors)} tensors, the plan "
                       f"has {len(tensors)} (or other names)")
    return None


def _links(step: ShardedStepProof, sc: ShardedCircuit) -> Verdict | None:
    plan = sc.plan
    expected = {s.name: tuple(step.tensors[t] for t in s.tensors) for s in plan.shards}
    for shard, proof in zip(plan.shards, step.shards, strict=True):
        kind = sc.kinds[shard.kind]
        if proof.circuit_id != kind.circuit_id:
            return _reject("shard_circuit", f"shard {shard.name} names circuit {proof.circuit_id}, "
                           f"its kind {shard.kind} is {kind.circuit_id}")
        want = expected[shard.name]
        if len(proof.proof) < G1_POINT_BYTES * len(want):
            return _reject("tensor_count", f"shard {shard.name}'s proof is shorter than its "
                           f"{len(want)} tensor points")
        got = proof.points(len(want))
        if got == want:
            continue
        if any(expected[o.name] == got for o in plan.shards if o.kind == shard.kind):
            return _reject("shard_order", f"shard {shard.name} carries the proof of another tile "
                           f"of kind {shard.kind}")
        if not set(got) & set(want):
            return _reject("shard_foreign", f"shard {shard.name}'s proof opens with none of this "
                           "step's points: it proves another step or trainer")
        bad = [t for t, g, w in zip(shard.tensors, got, want, strict=True) if g != w]
        return _reject("link_mismatch", f"shard {shard.name} opens {', '.join(bad)} with another "
                       "point than the step states")
    return None


def verify_sharded(step: ShardedStepProof, sc: ShardedCircuit, allow_dev_srs: bool = False) -> Verdict:
    """Verify a sharded step proof under the pinned sharded circuit (module docstring).

    Parameters
    ----------
    step
        A parsed proof (:func:`read_sharded_proof`).
    sc
        The pinned sharded circuit (:func:`pot.shard.circuits.load_sharded`).
    allow_dev_srs
        Accept a development SRS (insecure; tests and demos).
    """
    if sc.dev_srs and not allow_dev_srs:
        return _reject("dev_srs", "the circuit's SRS is a development SRS (insecure); "
                       "pass --allow-dev-srs to accept it")
    if step.circuit_id != sc.circuit_id:
        return _reject("wrong_circuit", f"the proof is for circuit {step.circuit_id}, not the "
                       f"pinned {sc.circuit_id}")
    failed = _structure(step, sc) or _links(step, sc)
    if failed is not None:
        return failed
    for shard, proof in zip(sc.plan.shards, step.shards, strict=True):
        reason = check_proof(sc.kinds[shard.kind], proof.proof, "ezkl")  # the EVM path: not yet
        if reason is not None:
            return _reject(reason, PROOF_FAILURES[reason].format(
                which=f"shard {shard.name}'s proof", backend="ezkl"))
    return VALID
