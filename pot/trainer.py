"""The trainer's side of a round: commit the dataset, run the committed trajectory, answer the
challenge with proofs, and sign the bundle (``docs/protocol.md``).

The trajectory's steps are the circuit's own quantised steps (ezkl witness generation,
:func:`pot.prover.run_step`), so step t's output commitment is exactly step t+1's input commitment.
A trainer that *fabricates* step t (writes a W_{t+1} the step did not produce) is modelled by
``fabricate``: its trajectory commits the fake weights, and it is caught when t is sampled.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pot.bundle import Bundle, StepOpening
from pot.circuit import Circuit
from pot.data import FloatArray, IntArray, quantize, targets
from pot.errors import DataError
from pot.executors import LocalProcessExecutor, ProofExecutor, ProofTask
from pot.proof import StepProof
from pot.protocol.commitments import (
    NO_BATCH_COMMITMENT,
    batch_commitment,
    scheduled_batch,
    trajectory_leaves,
    weights_commitment,
)
from pot.protocol.keys import SecretKey, public_key
from pot.protocol.merkle import DATASET_TREE, TRAJECTORY_TREE, merkle_path, merkle_root
from pot.spec import ModelSpec
from pot.tensors import batch_commitments, checkpoint_commitment

Params = dict[str, IntArray]


@dataclass(frozen=True)
class LocalData:
    """A trainer's private shard, cut into fixed batches in order.

    Attributes
    ----------
    spec
        The model spec (batch size, features, classes).
    x
        ``(n, *input_shape)`` float64 features (exact multiples of ``2**-scale``).
    labels
        ``(n,)`` int64 class labels, or ``(n, outputs)`` float64 targets for MSE.
    """

    spec: ModelSpec
    x: FloatArray
    labels: npt.NDArray[Any]

    @property
    def n_batches(self) -> int:
        return len(self.labels) // self.spec.batch_size

    def batch(self, b: int) -> tuple[FloatArray, FloatArray]:
        """Batch ``b``: samples ``b*B .. (b+1)*B - 1`` as ``(x, y)`` floats (:func:`pot.data.targets`)."""
        if not 0 <= b < self.n_batches:
            raise DataError(f"batch {b} is outside the shard's {self.n_batches} batches")
        B = self.spec.batch_size
        sl = slice(b * B, (b + 1) * B)
        return self.x[sl], targets(self.labels[sl], self.spec)


@dataclass(frozen=True)
class DatasetCommitment:
    """The ordered batch commitments of a shard and their Merkle root (given at join)."""

    batch_commits: tuple[bytes, ...]
    root: bytes

    @property
    def n_batches(self) -> int:
        return len(self.batch_commits)


def commit_dataset(data: LocalData, circuit: Circuit) -> DatasetCommitment:
    """Commit a shard: commit(batch_b) for every batch, then the dataset Merkle root.

    The batch commitments use the KZG points of ``circuit`` (:mod:`pot.tensors`), so a shard is
    committed once per circuit.

    Raises
    ------
    DataError
        If the shard holds less than one batch.
    """
    if data.n_batches < 1:
        raise DataError(f"a shard needs at least one batch of {data.spec.batch_size} samples")
    batches = []
    for b in range(data.n_batches):
        x, y = data.batch(b)
        batches.append((quantize(x, data.spec.scale), quantize(y, data.spec.scale)))
    commits = batch_commitments(circuit, batches)
    return DatasetCommitment(tuple(commits), merkle_root(DATASET_TREE, commits))


@dataclass
class Trajectory:
    """T committed SGD steps from W_0.

    Attributes
    ----------
    weights
        W_0 .. W_T, fixed point.
    weight_commits
        commit(W_0) .. commit(W_T).
    batch_commits
        commit(batch_t) for t < T (batch ``t mod N``).
    leaves, root
        The trajectory tree's leaves and root.
    fabricated
        Steps whose W_{t+1} the step did not produce.
    """

    weights: list[Params]
    weight_commits: list[bytes]
    batch_commits: list[bytes]
    leaves: list[bytes]
    root: bytes
    fabricated: frozenset[int]

    @property
    def steps(self) -> int:
        return len(self.batch_commits)


def fabricated_update(params: Params, t: int) -> Params:
    """A plausible-looking fake W_{t+1}: W_t shifted by a deterministic small pattern."""
    out = {}
    for i, (name, value) in enumerate(sorted(params.items())):
        pattern = ((np.arange(value.size, dtype=np.int64) * 7919 + 31 * t + i) % 61) - 30
        out[name] = value + pattern.reshape(value.shape)
    return out


def run_trajectory(circuit: Circuit, w0: Params, data: LocalData, dataset: DatasetCommitment,
                   steps: int, round_number: int = 0, fabricate: Collection[int] = (),
                   on_step: Callable[[int], None] | None = None) -> Trajectory:
    """Run ``steps`` quantised SGD steps from ``w0`` on the scheduled batches and commit them.

    Step t of round r trains on batch ``(r * T + t) mod N``
    (:func:`pot.protocol.commitments.scheduled_batch`).

    Raises
    ------
    DataError
        If ``steps < 1`` or the shard does not match the dataset commitment.
    """
    from pot.prover import run_step

    if steps < 1:
        raise DataError("a trajectory has at least one step")
    spec = circuit.spec
    n_par = len(spec.param_shapes())
    weights = [w0]
    wcommits = [checkpoint_commitment(w0, circuit)]
    bcommits: list[bytes] = []
    for t in range(steps):
        b = scheduled_batch(round_number, steps, t, dataset.n_batches)
        x, y = data.batch(b)
        if t in fabricate:
            nxt = fabricated_update(weights[-1], t)
            wcommits.append(checkpoint_commitment(nxt, circuit))
        else:
            step = run_step(circuit, weights[-1], x, y)
            digests = step.input_digests
            if weights_commitment(digests[:n_par]) != wcommits[-1]:
                raise DataError(f"step {t}: the circuit's W_t commitment differs from the "
                                "committed one")
            if batch_commitment(digests[n_par:]) != dataset.batch_commits[b]:
                raise DataError(f"step {t}: batch {b} differs from the committed dataset")
            nxt = step.params_next
            wcommits.append(weights_commitment(step.output_digests))
        weights.append(nxt)
        bcommits.append(dataset.batch_commits[b])
        if on_step:
            on_step(t)
    leaves = trajectory_leaves(wcommits, bcommits)
    return Trajectory(weights, wcommits, bcommits, leaves, merkle_root(TRAJECTORY_TREE, leaves),
                      frozenset(fabricate))


def prove_challenged(circuit: Circuit, traj: Trajectory, data: LocalData, n_batches: int,
                     indices: list[int], round_number: int = 0,
                     executor: ProofExecutor | None = None,
                     on_done: Callable[[int, StepProof], None] | None = None) -> list[StepProof]:
    """Prove the challenged steps (honestly: the proof of step t runs the circuit on W_t)."""
    tasks = []
    for t in indices:
        x, y = data.batch(scheduled_batch(round_number, traj.steps, t, n_batches))
        tasks.append(ProofTask(traj.weights[t], x, y))
    return (executor or LocalProcessExecutor()).prove_many(circuit, tasks, on_done)


def build_bundle(*, sk: SecretKey, job_id: bytes, round_number: int, circuit: Circuit,
                 traj: Trajectory, dataset: DatasetCommitment, beacon: bytes, indices: list[int],
                 proofs: list[StepProof]) -> Bundle:
    """Assemble and sign the bundle for the challenged ``indices`` with their ``proofs``."""
    T = traj.steps
    n = dataset.n_batches

    def tpath(i: int) -> tuple[bytes, ...]:
        return tuple(merkle_path(TRAJECTORY_TREE, traj.leaves, i))

    openings = []
    for t, proof in zip(indices, proofs, strict=True):
        b = scheduled_batch(round_number, T, t, n)
        openings.append(StepOpening(
            index=t, proof=proof,
            weights=traj.weight_commits[t], batch=traj.batch_commits[t], leaf_path=tpath(t),
            next_weights=traj.weight_commits[t + 1],
            next_batch=traj.batch_commits[t + 1] if t + 1 < T else NO_BATCH_COMMITMENT,
            next_path=tpath(t + 1),
            batch_index=b, batch_path=tuple(merkle_path(DATASET_TREE, list(dataset.batch_commits), b)),
        ))
    bundle = Bundle(
        job_id=job_id, round=round_number, trainer=public_key(sk), circuit_id=circuit.circuit_id,
        root=traj.root, steps=T, beacon=beacon, indices=tuple(indices),
        dataset_root=dataset.root, n_batches=n, batch_size=circuit.spec.batch_size,
        global_commitment=traj.weight_commits[0], first_batch=traj.batch_commits[0],
        first_path=tpath(0), final_commitment=traj.weight_commits[T], last_path=tpath(T),
        openings=tuple(openings),
    )
    return bundle.signed(sk)
