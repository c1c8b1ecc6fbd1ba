"""Where sampled steps are proven: serially, or over local processes (trainer side).

The k challenged steps of a round are independent, so they can be proven in parallel. A
:class:`ProofExecutor` takes a circuit and a list of :class:`ProofTask` and returns the proofs in
task order; :class:`LocalProcessExecutor` (the default) spreads them over a process pool sized to the
machine's cores, loading the circuit once per worker. A cluster engine plugs in by implementing the
same one-method interface.

ezkl's prover is one long call into Rust that Python cannot interrupt, so proofs that a user may
stop run in child processes (:func:`prove_in_children`): the children ignore SIGINT, and on Ctrl-C
the parent terminates them at once and re-raises :class:`KeyboardInterrupt` (the CLI's exit 130).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pot.circuit import Circuit, load_circuit
from pot.data import FloatArray, IntArray
from pot.errors import ProvingError
from pot.proof import StepProof

if TYPE_CHECKING:
    from pot.prover import StepWitness

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ProofTask:
    """One step to prove: fixed-point weights W_t and the batch ``(x, one-hot y)`` as floats."""

    params: dict[str, IntArray]
    x: FloatArray
    y: FloatArray


class ProofExecutor(Protocol):
    """Proves a list of steps under one circuit; returns the proofs in task order.

    ``on_done(i, proof)`` is called as each task's proof is ready (in task order).
    """

    def prove_many(self, circuit: Circuit, tasks: Sequence[ProofTask],
                   on_done: Callable[[int, StepProof], None] | None = None) -> list[StepProof]:
        ...


class SerialExecutor:
    """Proves the tasks one after another in this process."""

    def prove_many(self, circuit: Circuit, tasks: Sequence[ProofTask],
                   on_done: Callable[[int, StepProof], None] | None = None) -> list[StepProof]:
        from pot.prover import prove_step

        proofs = []
        for i, task in enumerate(tasks):
            proofs.append(prove_step(circuit, task.params, task.x, task.y)[0])
            if on_done:
                on_done(i, proofs[-1])
        return proofs


_WORKER_CIRCUIT: Circuit | None = None


def _init_worker(path: str) -> None:
    global _WORKER_CIRCUIT
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER_CIRCUIT = load_circuit(Path(path), check_files=False)


def _call_in_worker(job: tuple[Callable[[Circuit, Any], Any], Any]) -> Any:
    func, item = job
    assert _WORKER_CIRCUIT is not None, "worker was not initialised with a circuit"
    return func(_WORKER_CIRCUIT, item)


def map_in_children(circuit: Circuit, func: Callable[[Circuit, T], R], items: Sequence[T],
                    workers: int = 1, on_done: Callable[[int, R], None] | None = None) -> list[R]:
    """``[func(circuit, item) for item in items]`` in a pool of ``workers`` spawned processes.

    Each worker loads ``circuit`` once; results come back in item order. The workers ignore
    SIGINT, and a :class:`KeyboardInterrupt` in the parent (Ctrl-C) terminates the workers at once,
    stopping any ezkl call in flight, and propagates. ``func`` must be a module-level function
    (the pool pickles it by name).

    Raises
    ------
    ProvingError
        If a worker process dies (killed, out of memory).
    Exception
        Whatever ``func`` raises in a worker (e.g. :class:`pot.errors.ProvingError`).
    """
    if not items:
        return []
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(min(workers, len(items)),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(str(circuit.path),))
    results: list[R] = []
    try:
        futures = [pool.submit(_call_in_worker, (func, item)) for item in items]
        for i, future in enumerate(futures):
            results.append(future.result())
            if on_done:
                on_done(i, results[-1])
    except BrokenProcessPool as e:
        pool.shutdown(wait=False, cancel_futures=True)
        raise ProvingError(f"a worker process died ({len(results)} of {len(items)} done); "
                           "out of memory? try fewer --workers") from e
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for child in set(multiprocessing.active_children()) - before:
            child.terminate()  # SIGTERM: an ezkl call in flight stops now
        raise
    pool.shutdown()
    return results


def _prove_task(circuit: Circuit, task: ProofTask) -> tuple[StepProof, StepWitness]:
    from pot.prover import prove_step

    return prove_step(circuit, task.params, task.x, task.y)


def prove_in_children(circuit: Circuit, tasks: Sequence[ProofTask], workers: int = 1,
                      on_done: Callable[[int, StepProof], None] | None = None
                      ) -> list[tuple[StepProof, StepWitness]]:
    """Prove ``tasks`` in child processes (:func:`map_in_children`): Ctrl-C stops them at once.

    Returns
    -------
    list
        ``(proof, witness)`` per task, as :func:`pot.prover.prove_step` returns them.

    Raises
    ------
    ProvingError
        As :func:`pot.prover.prove_step`, re-raised from the worker.
    """
    def done(i: int, result: tuple[StepProof, StepWitness]) -> None:
        if on_done:
            on_done(i, result[0])

    return map_in_children(circuit, _prove_task, tasks, workers, done)


class LocalProcessExecutor:
    """Proves tasks over a pool of local processes (``spawn``), one per core by default.

    Parameters
    ----------
    workers
        Pool size; default ``os.cpu_count()``. Each ezkl proof uses all the cores it is given, so
        more workers than cores only adds memory (each worker holds the pk).
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def prove_many(self, circuit: Circuit, tasks: Sequence[ProofTask],
                   on_done: Callable[[int, StepProof], None] | None = None) -> list[StepProof]:
        """Prove in child processes (:func:`prove_in_children`), so Ctrl-C stops them at once."""
        return [proof for proof, _ in prove_in_children(circuit, tasks, self.workers, on_done)]


PROVER_FILES = ("manifest.json", "settings.json", "network.onnx", "model.compiled", "pk.key",
                "vk.key", "kzg.srs")


class _RayProver:
    """A Ray actor holding one copy of a circuit's prover files on its node."""

    def __init__(self, files: dict[str, Any]) -> None:
        import tempfile

        import ray

        self._dir = Path(tempfile.mkdtemp(prefix="pot-ray-circuit-"))
        for name, ref in files.items():
            (self._dir / name).write_bytes(ray.get(ref))  # fetched once per node
        self._circuit = load_circuit(self._dir, check_files=True)

    def prove(self, task: ProofTask) -> StepProof:
        from pot.prover import prove_step

        return prove_step(self._circuit, task.params, task.x, task.y)[0]


class RayExecutor:
    """Proves tasks on a Ray cluster, one prover actor per alive node.

    The circuit's prover files (the pk above all: 0.7 GB for the tiny spec, 5 GB for
    ``mlp-digits``) are put in Ray's object store once per :meth:`prove_many` call and fetched once
    per node by that node's actor, never once per task. Tasks go to the actors round-robin.

    Parameters
    ----------
    address
        The cluster to join (``ray.init(address=...)``); ``None`` starts or joins a local one.
    """

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError as e:
            from pot.errors import ProvingError

            raise ProvingError("the Ray executor needs ray: pip install 'pot[ray]'") from e
        self.address = address

    def prove_many(self, circuit: Circuit, tasks: Sequence[ProofTask],
                   on_done: Callable[[int, StepProof], None] | None = None) -> list[StepProof]:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if not tasks:
            return []
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        refs = {name: ray.put(circuit.file(name).read_bytes()) for name in PROVER_FILES}
        actor_cls: Any = ray.remote(num_cpus=1)(_RayProver)
        nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))
        actors: list[Any] = [actor_cls.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(refs)
            for node in nodes]
        pending = [actors[i % len(actors)].prove.remote(task) for i, task in enumerate(tasks)]
        proofs = []
        for i, ref in enumerate(pending):
            proofs.append(ray.get(ref))
            if on_done:
                on_done(i, proofs[-1])
        for actor in actors:
            ray.kill(actor)
        return proofs
