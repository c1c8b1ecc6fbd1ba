"""Where sampled steps are proven: serially, or over local processes (trainer side).

The k challenged steps of a round are independent, so they can be proven in parallel. A
:class:`ProofExecutor` takes a circuit and a list of :class:`ProofTask` and returns the proofs in
task order; :class:`LocalProcessExecutor` (the default) spreads them over a process pool sized to the
machine's cores, loading the circuit once per worker. A cluster engine plugs in by implementing the
same one-method interface.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pot.circuit import Circuit, load_circuit
from pot.data import FloatArray, IntArray
from pot.proof import StepProof


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
    _WORKER_CIRCUIT = load_circuit(Path(path), check_files=False)


def _prove_in_worker(task: ProofTask) -> StepProof:
    from pot.prover import prove_step

    assert _WORKER_CIRCUIT is not None, "worker was not initialised with a circuit"
    return prove_step(_WORKER_CIRCUIT, task.params, task.x, task.y)[0]


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
        if len(tasks) <= 1 or self.workers == 1:
            return SerialExecutor().prove_many(circuit, tasks, on_done)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(self.workers, len(tasks)), mp_context=ctx,
                                 initializer=_init_worker, initargs=(str(circuit.path),)) as pool:
            futures = [pool.submit(_prove_in_worker, task) for task in tasks]
            proofs = []
            for i, fut in enumerate(futures):
                proofs.append(fut.result())
                if on_done:
                    on_done(i, proofs[-1])
        return proofs
