"""A Flower simulation of the example app (examples/flower-digits): 2 honest nodes and 1 that
fabricates every step, 2 rounds of T = 4 steps, k = 1 real ezkl proof per node and round.

The nodes run in Flower's simulation engine (Ray actors); the ServerApp runs the example's job with
pot's strategy. The checks: the dishonest node is rejected in every round with the verifier's
reason, and Flower's final global model equals pot's own aggregation of the honest updates,
replayed here outside Flower, bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from pot.aggregation import RULE_FEDAVG, AggregationParams, Update, aggregate
from pot.circuit import Circuit
from pot.data import initial_checkpoint
from pot.protocol.keys import public_key
from pot.tensors import checkpoint_commitment, flatten_params, unflatten_params
from pot.trainer import commit_dataset, run_trajectory

pytest.importorskip("flwr")
pytest.importorskip("ray")

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp
from flwr.simulation import run_simulation

from pot.flower import PotStrategy, arrays_to_params, pot_client_app, round_beacon, seed_commitment

pytestmark = pytest.mark.ezkl

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "flower-digits"
NODES, ROUNDS, STEPS, SAMPLES = 3, 2, 4, 1
BEACON_SEED = bytes(range(32))


@pytest.fixture(scope="module")
def flower_job(tiny_circuit: Circuit, circuits_root: Path) -> Iterator[SimpleNamespace]:
    """Run the simulation once; yield the example's options, the strategy and Flower's result."""
    with pytest.MonkeyPatch.context() as mp:
        # The Ray workers that host the ClientApps import the example package too.
        mp.syspath_prepend(str(EXAMPLE))
        mp.setenv("PYTHONPATH", os.pathsep.join(
            [str(EXAMPLE), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
        mp.setenv("FLWR_TELEMETRY_ENABLED", "0")
        from flower_digits.server_app import run_job
        from flower_digits.task import DigitsTrainer, JobOptions

        options = JobOptions(spec=tiny_circuit.spec.name, num_server_rounds=ROUNDS, steps=STEPS,
                             samples=SAMPLES, trainers=NODES, dishonest=1,
                             circuits=str(circuits_root))
        out: dict[str, Any] = {}
        server = ServerApp()

        @server.main()
        def main(grid: Grid, context: Context) -> None:
            out["strategy"], out["result"] = run_job(grid, options, beacon_seed=BEACON_SEED)

        run_simulation(server, pot_client_app(DigitsTrainer(options)), num_supernodes=NODES,
                       backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                                       # a Ray cluster of its own, never one already running here
                                       "init_args": {"address": "local"}})
        assert set(out) == {"strategy", "result"}, "the ServerApp did not finish"
        yield SimpleNamespace(options=options, **out)


def _keys(job: SimpleNamespace) -> tuple[list[bytes], bytes]:
    from flower_digits.task import demo_key

    keys = [public_key(demo_key(job.options.seed, p)) for p in range(NODES)]
    return keys[:-1], keys[-1]


def test_dishonest_node_is_rejected_in_every_round(flower_job: SimpleNamespace,
                                                   tiny_circuit: Circuit) -> None:
    honest, dishonest = _keys(flower_job)
    samples = STEPS * tiny_circuit.spec.batch_size
    assert sorted(flower_job.strategy.rounds) == list(range(1, ROUNDS + 1))
    for ev in flower_job.strategy.rounds.values():
        by_key = {t.trainer: t for t in ev.trainers}
        assert set(by_key) == {*honest, dishonest}
        assert by_key[dishonest].verdict.reason == "commitment_mismatch"
        assert by_key[dishonest].verified_samples == 0
        for key in honest:
            assert by_key[key].verdict.ok, by_key[key].verdict
            assert by_key[key].verified_samples == samples
        assert ev.aggregation is not None
        assert ev.aggregation["trainers"] == sorted(k.hex() for k in honest)
        assert ev.aggregation["samples"] == [samples] * len(honest)
    registered = {r.trainer for r in flower_job.strategy.registry.values()}
    assert registered == set(honest)


def test_global_model_equals_pot_aggregation_of_honest_updates(flower_job: SimpleNamespace,
                                                               tiny_circuit: Circuit) -> None:
    from flower_digits.task import demo_key, shard

    spec = tiny_circuit.spec
    w = initial_checkpoint(spec)
    for rnd in range(1, ROUNDS + 1):
        assert flower_job.strategy.rounds[rnd].global_commitment == checkpoint_commitment(w, tiny_circuit)
        updates = []
        for p in range(NODES - 1):
            data = shard(flower_job.options, p, NODES)
            traj = run_trajectory(tiny_circuit, w, data, commit_dataset(data, tiny_circuit), STEPS, rnd)
            updates.append(Update(public_key(demo_key(flower_job.options.seed, p)),
                                  flatten_params(traj.weights[-1], spec), STEPS * spec.batch_size))
        vector, evidence = aggregate(RULE_FEDAVG, updates, AggregationParams())
        w = unflatten_params(vector, spec)
        assert flower_job.strategy.rounds[rnd].aggregation["aggregate"] == evidence["aggregate"]
        assert flower_job.strategy.rounds[rnd].new_global_commitment == checkpoint_commitment(w, tiny_circuit)
    final = arrays_to_params(flower_job.result.arrays, spec)
    got, want = flatten_params(final, spec), flatten_params(w, spec)
    assert got.dtype == want.dtype == np.int64
    assert np.array_equal(got, want)


def test_beacons_replay_from_the_seed_and_the_committed_roots(flower_job: SimpleNamespace) -> None:
    strategy = flower_job.strategy
    assert strategy.beacon_seed_commitment == seed_commitment(BEACON_SEED)
    beacons = set()
    for rnd, ev in strategy.rounds.items():
        committed = [(t.trainer, t.root) for t in ev.trainers if t.challenged]
        assert len(committed) == NODES
        assert ev.beacon == round_beacon(BEACON_SEED, flower_job.options.job_id, rnd, committed)
        beacons.add(ev.beacon)
    assert len(beacons) == ROUNDS


@pytest.mark.parametrize(("changes", "message"), [
    ({"steps": 0}, "1 <= T"),
    ({"samples": 0}, "1 <= k"),
    ({"steps": 4, "samples": 5}, "1 <= k"),
    ({"steps": 100, "samples": 65}, "1 <= k"),
    ({"job_id": b"short"}, "job_id must be 32 bytes"),
    ({"beacon_seed": b"short"}, "beacon_seed must be 32 bytes"),
    ({"min_nodes": 0}, "min_nodes"),
])
def test_strategy_refuses_parameters_outside_the_protocol(tiny_circuit: Circuit,
                                                          changes: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = {"circuit": tiny_circuit, "job_id": bytes(32), "steps": 4, **changes}
    with pytest.raises(ValueError, match=message):
        PotStrategy(**kwargs)
