"""The trainer's side of a pot round on Flower: a helper that answers both of the server's messages.

``train`` (W_0 and a :class:`~pot.flower.records.TrainInstruction`): run T committed quantised SGD
steps on the local shard (:func:`pot.trainer.run_trajectory`) and reply with W_T and the
:class:`~pot.flower.records.Commitment` (trajectory root, T, trainer key, dataset commitment). The
trajectory is kept in the node's ``Context.state`` until the challenge comes.

``train.prove`` (a :class:`~pot.flower.records.Challenge`): derive the challenged steps from the
beacon, prove them with ezkl, and reply with the signed bundle (:func:`pot.trainer.build_bundle`).

:func:`pot_client_app` registers both on a :class:`flwr.clientapp.ClientApp`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp

from pot.bundle import dump_bundle
from pot.circuit import Circuit
from pot.executors import ProofExecutor, SerialExecutor
from pot.flower.errors import TrainerStateError
from pot.flower.records import (
    ARRAYS_KEY,
    BUNDLE_KEY,
    CHALLENGE_KEY,
    COMMIT_KEY,
    TRAIN_KEY,
    Challenge,
    Commitment,
    TrainInstruction,
    array_record,
    arrays_to_params,
    bundle_to_record,
    config_record,
    params_to_arrays,
)
from pot.protocol.challenge import challenge_indices
from pot.protocol.commitments import scheduled_batch, trajectory_leaves
from pot.protocol.keys import SecretKey, public_key
from pot.protocol.merkle import DATASET_TREE, TRAJECTORY_TREE, merkle_root
from pot.tensors import flatten_params, unflatten_params
from pot.trainer import (
    DatasetCommitment,
    LocalData,
    Trajectory,
    build_bundle,
    commit_dataset,
    prove_challenged,
    run_trajectory,
)

STATE_DATASET_KEY = "pot.state.dataset"
"""Context.state config record: the shard's batch commitments and root (computed once)."""
STATE_ROUND_KEY = "pot.state.round"
"""Context.state config record: job id, round, trajectory root and commit(W_t) of the open round."""
STATE_WEIGHTS_KEY = "pot.state.weights"
"""Context.state array record: W_0 .. W_T of the open round, flattened (``w0`` .. ``wT``)."""


@dataclass
class PotTrainer:
    """One node's trainer: its circuit, key and private shard.

    Parameters
    ----------
    circuit
        The spec's circuit with its proving key (the server names the circuit id it verifies
        against; a mismatch is refused).
    secret_key
        The BLS12-381 key that signs bundles; its public key is the trainer's identity.
    data
        The node's private shard, cut into the spec's batches.
    fabricate_every_step
        Commit weights no step produced, at every step: a dishonest trainer, for demos and tests.
        Any challenge catches it (``commitment_mismatch``).
    executor
        Where the challenged steps are proven (default: serially in this process).
    """

    circuit: Circuit
    secret_key: SecretKey
    data: LocalData
    fabricate_every_step: bool = False
    executor: ProofExecutor = field(default_factory=SerialExecutor)

    def train(self, message: Message, context: Context) -> Message:
        """Answer ``train``: run and commit the trajectory; reply with W_T and the commitment.

        Raises
        ------
        MalformedInputError
            If the message's records do not decode.
        TrainerStateError
            If the server's circuit id is not this node's.
        """
        spec = self.circuit.spec
        order = TrainInstruction.from_record(config_record(message, TRAIN_KEY))
        if order.circuit_id != self.circuit.circuit_id:
            raise TrainerStateError(f"the server verifies circuit {order.circuit_id}, this node "
                                    f"proves with {self.circuit.circuit_id}")
        w0 = arrays_to_params(array_record(message), spec)
        dataset = self._dataset(context)
        fabricate = range(order.steps) if self.fabricate_every_step else ()
        traj = run_trajectory(self.circuit, w0, self.data, dataset, order.steps, order.round,
                              fabricate=fabricate)
        context.state[STATE_ROUND_KEY] = ConfigRecord({
            "job-id": order.job_id, "round": order.round, "root": traj.root,
            "weight-commits": list(traj.weight_commits)})
        context.state[STATE_WEIGHTS_KEY] = ArrayRecord({
            f"w{t}": Array(flatten_params(w, spec)) for t, w in enumerate(traj.weights)})
        commit = Commitment(trainer=public_key(self.secret_key), dataset_root=dataset.root,
                            n_batches=dataset.n_batches, root=traj.root, steps=traj.steps)
        reply = RecordDict({ARRAYS_KEY: params_to_arrays(traj.weights[-1], spec),
                            COMMIT_KEY: commit.to_record()})
        return Message(reply, reply_to=message)

    def prove(self, message: Message, context: Context) -> Message:
        """Answer ``train.prove``: prove the challenged steps; reply with the signed bundle.

        Raises
        ------
        MalformedInputError
            If the message's records do not decode.
        TrainerStateError
            If this node holds no trajectory for the challenge's job and round.
        """
        challenge = Challenge.from_record(config_record(message, CHALLENGE_KEY))
        dataset = self._dataset(context)
        traj = self._trajectory(context, challenge, dataset)
        indices = challenge_indices(challenge.job_id, challenge.round, public_key(self.secret_key),
                                    traj.root, challenge.beacon, traj.steps, challenge.samples)
        proofs = prove_challenged(self.circuit, traj, self.data, dataset.n_batches, indices,
                                  challenge.round, self.executor)
        bundle = build_bundle(sk=self.secret_key, job_id=challenge.job_id,
                              round_number=challenge.round, circuit=self.circuit, traj=traj,
                              dataset=dataset, beacon=challenge.beacon, indices=indices,
                              proofs=proofs)
        del context.state[STATE_ROUND_KEY]
        del context.state[STATE_WEIGHTS_KEY]
        return Message(RecordDict({BUNDLE_KEY: bundle_to_record(dump_bundle(bundle))}),
                       reply_to=message)

    def _dataset(self, context: Context) -> DatasetCommitment:
        """The shard's dataset commitment, computed once per node and kept in its state."""
        stored = context.state.config_records.get(STATE_DATASET_KEY)
        if stored is None:
            dataset = commit_dataset(self.data, self.circuit)
            context.state[STATE_DATASET_KEY] = ConfigRecord(
                {"root": dataset.root, "batch-commits": list(dataset.batch_commits)})
            return dataset
        commits = tuple(_stored_list(stored["batch-commits"], "batch commitments"))
        root = _stored(stored["root"], "dataset root")
        if merkle_root(DATASET_TREE, commits) != root or len(commits) != self.data.n_batches:
            raise TrainerStateError("the node's stored dataset commitment does not match its shard")
        return DatasetCommitment(commits, root)

    def _trajectory(self, context: Context, challenge: Challenge,
                    dataset: DatasetCommitment) -> Trajectory:
        """Rebuild the open round's trajectory from the node's state, checked against its root."""
        meta = context.state.config_records.get(STATE_ROUND_KEY)
        weights = context.state.array_records.get(STATE_WEIGHTS_KEY)
        if meta is None or weights is None:
            raise TrainerStateError(f"no trajectory committed for round {challenge.round}")
        if (meta["job-id"], meta["round"]) != (challenge.job_id, challenge.round):
            raise TrainerStateError(f"the challenge is for round {challenge.round}, this node "
                                    f"committed round {meta['round']!r}")
        spec = self.circuit.spec
        wcommits = _stored_list(meta["weight-commits"], "weight commitments")
        steps = len(wcommits) - 1
        if sorted(weights.keys()) != sorted(f"w{t}" for t in range(steps + 1)):
            raise TrainerStateError("the node's stored trajectory is incomplete")
        params = [unflatten_params(np.asarray(weights[f"w{t}"].numpy(), dtype=np.int64), spec)
                  for t in range(steps + 1)]
        bcommits = [dataset.batch_commits[scheduled_batch(challenge.round, steps, t,
                                                          dataset.n_batches)]
                    for t in range(steps)]
        leaves = trajectory_leaves(wcommits, bcommits)
        root = merkle_root(TRAJECTORY_TREE, leaves)
        if root != meta["root"]:
            raise TrainerStateError("the node's stored trajectory does not open to its root")
        return Trajectory(params, wcommits, bcommits, leaves, root, frozenset())


def _stored(value: object, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise TrainerStateError(f"the node's stored {what} is not bytes")
    return value


def _stored_list(value: object, what: str) -> list[bytes]:
    if not isinstance(value, list) or not all(isinstance(v, bytes) for v in value):
        raise TrainerStateError(f"the node's stored {what} are not a list of bytes")
    return [bytes(v) for v in value]


def pot_client_app(make_trainer: Callable[[Context], PotTrainer]) -> ClientApp:
    """A ClientApp that answers pot's ``train`` and ``train.prove`` messages.

    Parameters
    ----------
    make_trainer
        Builds the node's trainer from its Flower context (``node_config`` names the partition,
        ``run_config`` the job's options). Called once per message; it must be picklable for
        Flower's simulation engine (a module-level function or a dataclass instance).
    """
    app = ClientApp()

    @app.train()
    def train(message: Message, context: Context) -> Message:
        return make_trainer(context).train(message, context)

    @app.train("prove")
    def prove(message: Message, context: Context) -> Message:
        return make_trainer(context).prove(message, context)

    return app

