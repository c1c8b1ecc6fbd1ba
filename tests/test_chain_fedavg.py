"""One FedAvg: the executor aggregates with the job's rule from ``pot.aggregation``, and no single
trainer's update or verified sample count can make ``finalize_round`` fail.

The executor's default used to be a second FedAvg (ties rounded up) that ignored the job's rule;
for inputs [0] and [1] with equal weights it gave 1 where ``pot.aggregation`` gives 0. An update
with a coordinate of 2**40, or verified sample counts summing above 2**31 - 1, used to make every
finalize of the round fail, locking the job.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_chain_support import (
    TRAJECTORY_ROOT,
    accept_all,
    assert_reverts,
    open_job,
    payload_of,
    pubkey,
)

from pot.aggregation import AggregationParams, Update, aggregate
from pot.aggregation.fixedpoint import MAX_TOTAL_SAMPLES
from pot.chain.errors import SubmissionError
from pot.chain.executor import MAX_UPDATE_ABS, MAX_WEIGHT_SAMPLES, Executor
from pot.chain.fixed_types import U64, Bytes48
from pot.chain.hooks import AcceptedUpdate, job_aggregate, weights_commitment
from pot.chain.hyperparams import AggregationRule
from pot.chain.request import MAX_TRAINERS_PER_JOB
from pot.node import robust_aggregate


def _update(i: int, values: list[int], samples: int = 10) -> AcceptedUpdate:
    return AcceptedUpdate(
        trainer=Bytes48(bytes([i]) * 48), weights=np.array(values, dtype=np.int64),
        verified_samples=U64(samples), update_commitment=weights_commitment(payload_of(values)),
    )


def test_the_executor_node_and_flower_share_one_aggregator() -> None:
    assert Executor.__init__.__kwdefaults__["aggregate"] is job_aggregate  # type: ignore[index]
    assert robust_aggregate is job_aggregate


def test_ties_round_to_even_as_pot_aggregation_does() -> None:
    weights, info = job_aggregate([_update(1, [0, 3]), _update(2, [1, 4])],
                                  AggregationRule.FEDAVG, 0)
    assert weights.tolist() == [0, 4]  # 0.5 -> 0, 3.5 -> 4
    ups = [Update(bytes([i]) * 48, np.array(v, dtype=np.int64), 10)
           for i, v in ((1, [0, 3]), (2, [1, 4]))]
    reference, _ = aggregate(int(AggregationRule.FEDAVG), ups, AggregationParams())
    assert weights.tolist() == reference.tolist()
    assert info["excluded"] == []


def test_the_jobs_rule_is_applied_not_fedavg() -> None:
    updates = [_update(i, [v]) for i, v in enumerate((0, 1, 100), start=1)]
    mean, _ = job_aggregate(updates, AggregationRule.FEDAVG, 0)
    median, _ = job_aggregate(updates, AggregationRule.MEDIAN, 0)
    assert (mean.tolist(), median.tolist()) == ([34], [1])


def test_centered_clipping_says_it_centres_on_the_median() -> None:
    updates = [_update(i, [v]) for i, v in enumerate((0, 8, 10), start=1)]
    _, info = job_aggregate(updates, AggregationRule.CENTERED_CLIPPING, 1 << 16)
    assert info["center"] == "coordinate_median"


def test_an_update_outside_the_aggregations_range_is_refused_at_submit(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db")
    for bad in (MAX_UPDATE_ABS + 1, -(MAX_UPDATE_ABS + 1), 2**40):
        payload = payload_of([0, bad, 0, 0])
        assert_reverts(
            s.store, SubmissionError, f"weight 1 is {bad}, outside",
            lambda p=payload: s.executor.submit(  # type: ignore[misc]
                s.job_id, 0, pubkey(0), TRAJECTORY_ROOT, 8, weights_commitment(p), p, 15),
        )


def test_huge_verified_sample_counts_cannot_stall_finalize(tmp_path: Path) -> None:
    assert MAX_WEIGHT_SAMPLES * MAX_TRAINERS_PER_JOB <= MAX_TOTAL_SAMPLES
    s = open_job(tmp_path / "state.db", verify=accept_all(2**40), total_rounds=1)
    s.submit_all(0)
    s.reveal(0)
    s.prove_all(0)
    row = s.store.submission(s.job_id, U64(0), pubkey(0))
    assert row is not None and row.verified_samples == MAX_WEIGHT_SAMPLES
    receipt = s.executor.finalize_round(s.job_id, 0, s.height)
    assert (receipt.outcome, receipt.accepted) == ("finalized", 3)


@pytest.mark.parametrize("value", [MAX_UPDATE_ABS, -MAX_UPDATE_ABS])
def test_updates_at_the_range_edge_aggregate(tmp_path: Path, value: int) -> None:
    s = open_job(tmp_path / "state.db", verify=accept_all(MAX_WEIGHT_SAMPLES), total_rounds=1)
    s.height = 15
    for key in s.trainers:
        payload = payload_of([value, value, -value, 0])
        s.executor.submit(s.job_id, 0, key, TRAJECTORY_ROOT, 8, weights_commitment(payload),
                          payload, s.height)
    s.reveal(0)
    s.prove_all(0)
    receipt = s.executor.finalize_round(s.job_id, 0, s.height)
    assert receipt.outcome == "finalized"
    model = s.store.global_model(s.job_id, U64(0))
    assert model is not None
    assert np.frombuffer(model, dtype="<i8").tolist() == [value, value, -value, 0]
