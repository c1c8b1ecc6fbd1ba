"""Proof executors: the Ray executor on a local Ray instance started by the test."""

from __future__ import annotations

from typing import Any

import pytest

from pot.circuit import Circuit
from pot.data import batch_arrays, initial_checkpoint, load_dataset
from pot.executors import ProofTask, RayExecutor
from pot.verifier import verify_step_proof

pytestmark = pytest.mark.ezkl


@pytest.fixture(scope="module")
def local_ray() -> Any:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_executor_proves_tasks_on_a_local_cluster(local_ray: Any, tiny_circuit: Circuit,
                                                      tiny_spec: Any) -> None:
    data = load_dataset(tiny_spec.dataset)
    params = initial_checkpoint(tiny_spec)
    tasks = [ProofTask(params, *batch_arrays(data, list(range(b, b + 4)), tiny_spec))
             for b in (0, 4)]
    seen: list[int] = []
    proofs = RayExecutor().prove_many(tiny_circuit, tasks, lambda i, _: seen.append(i))
    assert seen == [0, 1]
    assert len(proofs) == 2 and proofs[0].batch != proofs[1].batch
    for proof in proofs:
        assert verify_step_proof(proof, tiny_circuit, allow_dev_srs=True).ok
