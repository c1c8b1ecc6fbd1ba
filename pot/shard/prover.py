"""Run and prove a sharded step (trainer side): witnesses in plan order, proofs on a pool.

:func:`run_sharded` runs the shards one after another through ezkl's witness generation, each
reading the integers its producers wrote (a cut adds no rounding: every cut tensor is at the
spec's scale) and checking, as it goes, that a consumer's input point equals the producer's
output point. :func:`prove_sharded` then proves every shard's witness, independently, on a
:class:`ShardExecutor`; each proof is written atomically to ``<dir>/<shard>.json`` as it is done,
so a stopped run resumes with the shards it already proved (a kept proof must still open with the
witness's points).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pot.circuit import Circuit
from pot.data import FloatArray, IntArray, check_checkpoint, dequantize, quantize
from pot.errors import MalformedInputError, ProvingError
from pot.prover import _witness_points, signed_felt
from pot.shard.circuits import PROVE_BYTES_PER_ROW, ShardedCircuit, load_sharded
from pot.shard.plan import tile_params, untile_params
from pot.shard.proof import ShardedStepProof, ShardProof
from pot.tensors import tensor_points

ShardDone = Callable[[str, float], None]
"""Called with a shard's name and its prove seconds as each shard proof is ready."""


@dataclass(frozen=True)
class ShardedWitness:
    """The integers and points of one sharded step.

    Attributes
    ----------
    tensors
        Every tensor of the step by name (int64 at the spec's scale).
    points
        Every tensor's KZG point.
    witnesses
        Shard name -> ezkl's witness JSON.
    """

    tensors: dict[str, IntArray]
    points: dict[str, bytes]
    witnesses: dict[str, dict[str, Any]]


def params_next(sc: ShardedCircuit, w: ShardedWitness) -> dict[str, IntArray]:
    """The updated checkpoint (``w1, b1, ...``) a sharded step computed."""
    return untile_params(sc.plan, w.tensors)


def run_sharded(sc: ShardedCircuit, params: dict[str, IntArray], x: FloatArray, y: FloatArray,
                workdir: Path | None = None) -> ShardedWitness:
    """Run one quantised SGD step shard by shard (ezkl witness generation).

    Parameters
    ----------
    params
        Fixed-point checkpoint (int64, spec scale), ``w1, b1, ...``.
    x, y
        ``(B, in)`` features and ``(B, classes)`` one-hot labels, exact multiples of ``2**-scale``.

    Raises
    ------
    ProvingError
        If ezkl cannot make a witness, or a consumer's input point differs from its producer's
        output point (a cut that would round).
    MalformedInputError
        If ``params`` is not a checkpoint of the spec.
    """
    import ezkl

    plan, spec = sc.plan, sc.spec
    check_checkpoint(params, spec)
    tensors: dict[str, IntArray] = {name: np.asarray(t, dtype=np.int64)
                                    for name, t in tile_params(plan, params).items()}
    tensors["a0.t0"] = quantize(x, spec.scale)
    tensors["y"] = quantize(y, spec.scale)
    if tensors["a0.t0"].shape != plan.shape("a0.t0") or tensors["y"].shape != plan.shape("y"):
        raise MalformedInputError(f"the batch must be x {plan.shape('a0.t0')} and y {plan.shape('y')}")
    points: dict[str, bytes] = {}
    witnesses: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for shard in plan.shards:
            circuit = sc.kinds[shard.kind]
            inp, out = Path(tmp) / "input.json", Path(tmp) / "witness.json"
            data = [dequantize(tensors[t], spec.scale).ravel().tolist() for t in shard.inputs]
            inp.write_text(json.dumps({"input_data": data}))
            try:
                ezkl.gen_witness(str(inp), str(circuit.file("model.compiled")), str(out),
                                 str(circuit.file("vk.key")), str(circuit.file("kzg.srs")))
            except RuntimeError as e:
                raise ProvingError(f"witness generation failed in shard {shard.name}: {e}") from e
            witness = json.loads(out.read_text())
            for name, felts in zip(shard.outputs, witness["outputs"], strict=True):
                tensors[name] = np.array([signed_felt(f) for f in felts],
                                         dtype=np.int64).reshape(plan.shape(name))
            got = (_witness_points(witness["processed_inputs"]["polycommit"], len(shard.inputs))
                   + _witness_points(witness["processed_outputs"]["polycommit"], len(shard.outputs)))
            for name, point in zip(shard.tensors, got, strict=True):
                if points.setdefault(name, point) != point:
                    raise ProvingError(f"shard {shard.name} reads {name} with another point than "
                                       "its producer wrote (a cut that rounds)")
            witnesses[shard.name] = witness
    return ShardedWitness(tensors, points, witnesses)


def _prove_one(kind_path: str, witness: dict[str, Any], target: str) -> float:
    """Prove one shard witness with its kind circuit; write the proof JSON atomically to target.

    Returns the prove seconds.
    """
    import time

    import ezkl

    kind = Path(kind_path)
    target_path = Path(target)
    with tempfile.TemporaryDirectory(dir=target_path.parent) as tmp:
        wpath, ppath = Path(tmp) / "witness.json", Path(tmp) / "proof.json"
        wpath.write_text(json.dumps(witness))
        start = time.perf_counter()
        try:
            ezkl.prove(str(wpath), str(kind / "model.compiled"), str(kind / "pk.key"), str(ppath),
                       str(kind / "kzg.srs"))
        except RuntimeError as e:
            raise ProvingError(f"ezkl could not prove shard {target_path.stem}: {e}") from e
        seconds = time.perf_counter() - start
        body = {"proof": json.loads(ppath.read_text())["proof"], "prove_s": seconds}
        part = Path(tmp) / "part.json"
        part.write_text(json.dumps(body))
        os.replace(part, target_path)  # atomic: a file that exists is a whole proof
    return seconds


class ShardExecutor(Protocol):
    """Proves shard witnesses; ``jobs`` are ``(kind folder, witness, target file)`` triples."""

    def run(self, jobs: Sequence[tuple[str, dict[str, Any], str]], on_done: ShardDone) -> None:
        ...


def available_memory_bytes() -> int:
    """Memory a new process can use now: ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the
    machine's physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def memory_workers(logrows: int, budget_bytes: int | None = None) -> int:
    """Workers the memory budget allows: ``budget // (PROVE_BYTES_PER_ROW * 2**logrows)``, at
    least 1, at most the cores. The default budget is 80% of the memory available now
    (:func:`available_memory_bytes`), so a shared machine's other jobs are left their share."""
    if budget_bytes is None:
        budget_bytes = int(available_memory_bytes() * 0.8)
    per = PROVE_BYTES_PER_ROW * (1 << logrows)
    return max(1, min(os.cpu_count() or 1, budget_bytes // per))


class LocalShardPool:
    """Proves shards on a pool of spawned local processes, as many as memory allows.

    Parameters
    ----------
    workers
        Pool size; default :func:`memory_workers` of the circuit's logrows.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def run(self, jobs: Sequence[tuple[str, dict[str, Any], str]], on_done: ShardDone) -> None:
        if self.workers == 1 or len(jobs) <= 1:
            for kind, witness, target in jobs:
                on_done(Path(target).stem, _prove_one(kind, witness, target))
            return
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=ctx) as pool:
            pending = {pool.submit(_prove_one, *job): Path(job[2]).stem for job in jobs}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    on_done(pending.pop(fut), fut.result())


class RayShardPool:
    """Proves shards as Ray tasks (``ray.init(address=...)``; ``None`` starts a local cluster).

    Each task reads its kind folder's prover files from a path every node sees (a shared file
    system, or one machine); one CPU per task, so Ray runs as many at once as the cluster has CPUs.
    """

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError as e:
            raise ProvingError("the Ray executor needs ray: pip install 'pot[ray]'") from e
        self.address = address

    def run(self, jobs: Sequence[tuple[str, dict[str, Any], str]], on_done: ShardDone) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        remote: Any = ray.remote(num_cpus=1)(_prove_one)
        pending = {remote.remote(*job): Path(job[2]).stem for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                on_done(pending.pop(ref), float(ray.get(ref)))


def _kept_proof(target: Path, kind: Circuit, points: tuple[bytes, ...]) -> bytes | None:
    """A proof already written for this shard that opens with ``points``, else None."""
    try:
        proof = bytes(json.loads(target.read_text())["proof"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return proof if ShardProof("", "", proof).points(len(points)) == points else None


def prove_sharded(sc: ShardedCircuit, w: ShardedWitness, out_dir: Path,
                  executor: ShardExecutor | None = None,
                  on_done: ShardDone | None = None) -> ShardedStepProof:
    """Prove every shard of a step (resuming with proofs already in ``out_dir``).

    Parameters
    ----------
    out_dir
        Folder for the shard proofs (``<shard>.json``); created if missing. Proofs there that
        open with this step's points are kept, not proven again.
    executor
        Where proofs run; default a :class:`LocalShardPool` of :func:`memory_workers` processes.
    on_done
        Called as each shard proof is ready (kept ones with 0 seconds).

    Raises
    ------
    ProvingError
        If the circuit has no proving keys or ezkl fails.
    """
    if not sc.can_prove:
        raise ProvingError(f"sharded circuit {sc.path} has no proving keys; run `pot setup --sharded`")
    out_dir.mkdir(parents=True, exist_ok=True)
    executor = executor or LocalShardPool(memory_workers(sc.logrows))
    jobs = []
    for shard in sc.plan.shards:
        target = out_dir / f"{shard.name}.json"
        want = tuple(w.points[t] for t in shard.tensors)
        if _kept_proof(target, sc.kinds[shard.kind], want) is not None:
            if on_done:
                on_done(shard.name, 0.0)
            continue
        jobs.append((str(sc.kinds[shard.kind].path), w.witnesses[shard.name], str(target)))
    executor.run(jobs, on_done or (lambda _n, _s: None))
    proofs = []
    for shard in sc.plan.shards:
        kind = sc.kinds[shard.kind]
        want = tuple(w.points[t] for t in shard.tensors)
        proof = _kept_proof(out_dir / f"{shard.name}.json", kind, want)
        if proof is None:
            raise ProvingError(f"the proof of shard {shard.name} does not open with its witness's points")
        proofs.append(ShardProof(shard.name, kind.circuit_id, proof))
    plan = sc.plan
    tensors = {name: w.points[name] for name in [*plan.step_inputs(), *plan.step_outputs()]}
    tensors.update({name: w.points[name] for name in plan.producers()})
    return ShardedStepProof(sc.circuit_id, tuple(proofs), tensors, tuple(plan.param_tiles()),
                            tuple(plan.step_outputs()))


def sharded_checkpoint_points(sc: ShardedCircuit, params: dict[str, IntArray]) -> list[bytes]:
    """The KZG points of a checkpoint's parameter tiles, in checkpoint order."""
    tiles = tile_params(sc.plan, params)
    return tensor_points(sc.commit_circuit(), [tiles[n] for n in sc.plan.param_tiles()])


def sharded_checkpoint_commitment(sc: ShardedCircuit, params: dict[str, IntArray]) -> bytes:
    """commit(W) of a checkpoint under a sharded circuit: the weights commitment over its
    parameter tiles' points (what a trajectory leaf holds; W_{t+1}'s equals step t's
    ``weights_out``)."""
    from pot.protocol.commitments import weights_commitment
    from pot.tensors import tensor_digest

    return weights_commitment([tensor_digest(p) for p in sharded_checkpoint_points(sc, params)])


__all__ = ["LocalShardPool", "RayShardPool", "ShardedWitness", "load_sharded", "memory_workers",
           "params_next", "prove_sharded", "run_sharded", "sharded_checkpoint_commitment"]
