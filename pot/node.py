"""pot's node: the chain executor bound to pot's model zoo, commitments and bundle verifier.

:class:`pot.chain.executor.Executor` is protocol-agnostic: it takes its weights commitment, its
round-0 model, its verifier, aggregator and settler as functions. This module supplies pot's:

* a job's model is the zoo spec whose id is the hyperparams' ``model_spec_id``; the hyperparams'
  ``param_count``, ``batch_size``, learning rate and loss must match that spec;
* the commitment of a weights payload (little-endian int64, graph order) is the protocol's
  ``commit(W)`` over the KZG points of its tensors under the spec's pinned circuit
  (:mod:`pot.tensors`), the same value a step proof opens with, so the update a trainer submits is
  the W_T its trajectory commits; a node without that circuit cannot compute it and the call
  reverts with :class:`~pot.chain.errors.NoVerifierError`;
* round 0's global model is the spec's integer-derived W_0 (:func:`pot.data.initial_checkpoint`);
* a bundle is judged by :func:`pot.verifier.verify_bundle` under the spec's pinned circuit; a node
  that cannot judge (the spec is not in its zoo, or it lacks the circuit) raises
  :class:`~pot.chain.errors.NoVerifierError`, so ``submit_proof`` reverts rather than record a
  verdict against an honest trainer;
* rounds are settled by pot's economics (:func:`pot.chain.settler.economics_settle`).

No torch is imported here: validators run this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from pot.bundle import load_bundle
from pot.chain.abi import TrainRequest
from pot.chain.errors import NoVerifierError
from pot.chain.executor import Executor
from pot.chain.fixed_types import Bytes32
from pot.chain.hooks import SubmissionContext, job_aggregate, weights_from_payload
from pot.chain.hyperparams import Hyperparams, LossId
from pot.chain.settler import economics_settle
from pot.chain.store import Store
from pot.circuit import Circuit, load_circuit
from pot.data import initial_checkpoint
from pot.errors import CircuitError, SpecError
from pot.spec import ModelSpec
from pot.spec import spec_by_id as _spec_by_id
from pot.tensors import checkpoint_commitment, unflatten_params
from pot.verdict import Verdict
from pot.verifier import Expected, verify_bundle

Q16 = 1 << 16


def spec_by_id(spec_id: bytes) -> ModelSpec:
    """The spec with this id, from the zoo or the spec store (:func:`pot.spec.spec_by_id`).

    Raises
    ------
    SpecError
        If neither holds it.
    """
    return _spec_by_id(spec_id)


def lr_q16(spec: ModelSpec) -> int:
    """The spec's learning rate in the hyperparams' Q16 fixed point (:func:`pot.spec.check_learning_rate`)."""
    return spec.lr_q16


def job_spec(hp: Hyperparams) -> ModelSpec:
    """The spec a job trains, checked against the job's hyperparams.

    Raises
    ------
    SpecError
        If the spec is unknown or its parameter count, batch size, learning rate or loss differ
        from the hyperparams'.
    """
    spec = spec_by_id(bytes(hp.model_spec_id))
    mismatches = []
    if int(hp.param_count) != spec.n_state_values:  # parameters, and momentum buffers if any
        mismatches.append(f"param_count {hp.param_count} != {spec.n_state_values}")
    if int(hp.batch_size) != spec.batch_size:
        mismatches.append(f"batch_size {hp.batch_size} != {spec.batch_size}")
    if Fraction(int(hp.lr_q16), Q16) != spec.lr:
        mismatches.append(f"learning rate {Fraction(int(hp.lr_q16), Q16)} != {spec.lr}")
    want_loss = LossId.CROSS_ENTROPY if spec.classifies else LossId.MSE
    if hp.loss_id != want_loss:
        mismatches.append(f"loss_id {int(hp.loss_id)} is not the spec's {spec.loss}")
    if mismatches:
        raise SpecError(f"hyperparams do not match spec {spec.name!r}: {'; '.join(mismatches)}")
    return spec


@dataclass
class SpecCircuits:
    """The pinned circuit of each zoo spec under one folder, loaded once; and the commitments the
    executor's ``commit`` and ``genesis`` hooks compute with them.

    Parameters
    ----------
    root
        Folder holding the pinned circuits (one per spec).
    """

    root: Path
    _cache: dict[bytes, Circuit] = field(default_factory=dict)

    def circuit_for(self, spec: ModelSpec) -> Circuit:
        """The spec's circuit. Raises :class:`CircuitError` if there is none under ``root``."""
        if spec.spec_id not in self._cache:
            self._cache[spec.spec_id] = find_circuit_for_spec(spec, self.root)
        return self._cache[spec.spec_id]

    def job_circuit(self, hp: Hyperparams) -> Circuit:
        """The circuit of the job's spec.

        Raises
        ------
        SpecError
            If the job's spec is not in the zoo or does not match the hyperparams.
        NoVerifierError
            If the spec's circuit is not under ``root``.
        """
        spec = job_spec(hp)
        try:
            return self.circuit_for(spec)
        except CircuitError as e:
            raise NoVerifierError(str(e)) from e

    def payload_commitment(self, payload: bytes, hp: Hyperparams) -> Bytes32:
        """commit(W) of a weights payload under the job's circuit (the ``commit`` hook).

        Raises
        ------
        SpecError, NoVerifierError
            As :meth:`job_circuit`.
        """
        circuit = self.job_circuit(hp)
        params = unflatten_params(weights_from_payload(payload), circuit.spec)
        return Bytes32(checkpoint_commitment(params, circuit))

    def genesis(self, request: TrainRequest, hp: Hyperparams) -> Bytes32:
        """commit(W_0) of the job's spec under its circuit (the ``genesis`` hook).

        Raises
        ------
        SpecError, NoVerifierError
            As :meth:`job_circuit`.
        """
        circuit = self.job_circuit(hp)
        return Bytes32(checkpoint_commitment(initial_checkpoint(circuit.spec), circuit))


def find_circuit_for_spec(spec: ModelSpec, root: Path) -> Circuit:
    """The circuit under ``root`` built for ``spec`` (first in name order if several).

    Raises
    ------
    CircuitError
        If none is there.
    """
    want = "0x" + spec.spec_id.hex()
    for manifest in sorted(root.glob(f"{spec.name}-*/manifest.json")):
        try:
            circuit = load_circuit(manifest.parent)
        except CircuitError:
            continue
        if circuit.manifest.get("spec_id") == want:
            return circuit
    raise CircuitError(f"no circuit for spec {spec.name!r} under {root}; run `pot setup --spec "
                       f"{spec.name}`")


@dataclass
class BundleVerifier:
    """The executor's ``verify`` hook: judge bundle bytes against the chain's submission.

    Parameters
    ----------
    circuits
        Folder holding the pinned circuits (one per spec).
    allow_dev_srs
        Accept circuits made with a development SRS (tests and demos only).
    """

    circuits: Path | SpecCircuits
    allow_dev_srs: bool = False
    pinned: SpecCircuits = field(init=False)

    def __post_init__(self) -> None:
        self.pinned = (self.circuits if isinstance(self.circuits, SpecCircuits)
                       else SpecCircuits(Path(self.circuits)))

    def circuit_for(self, spec: ModelSpec) -> Circuit:
        return self.pinned.circuit_for(spec)

    def __call__(self, raw: bytes, ctx: SubmissionContext) -> Verdict:
        """Judge ``raw`` against the chain's submission ``ctx``.

        Raises
        ------
        NoVerifierError
            If this node cannot judge the job's bundles: its spec is not in the zoo, or no
            circuit for it is under ``circuits``.
        MalformedInputError
            If ``raw`` is not a readable bundle (the executor records ``malformed``).
        """
        try:
            spec = job_spec(ctx.hyperparams)
        except SpecError as e:
            raise NoVerifierError(f"this node cannot judge the job: {e}") from e
        bundle = load_bundle(raw)
        try:
            circuit = self.circuit_for(spec)
        except CircuitError as e:
            raise NoVerifierError(f"this node cannot judge the job: {e}") from e
        expected = Expected(
            job_id=bytes(ctx.job_id), round=int(ctx.round), trainer=bytes(ctx.trainer),
            root=bytes(ctx.trajectory_root), steps=int(ctx.steps), beacon=bytes(ctx.beacon),
            min_samples=int(ctx.samples_per_round), dataset_root=bytes(ctx.dataset_commitment),
            global_commitment=bytes(ctx.global_model_commitment),
            final_commitment=bytes(ctx.update_commitment),
        )
        verdict = verify_bundle(bundle, circuit, expected, self.allow_dev_srs)
        return Verdict(verdict.ok, verdict.reason, bundle.verified_samples if verdict.ok else 0)


robust_aggregate = job_aggregate
"""The node's aggregator: the job's rule (:func:`pot.chain.hooks.job_aggregate`), as the executor's
default and Flower use it."""


def node_executor(store: Store, circuits: Path, allow_dev_srs: bool = False,
                  **hooks: Any) -> Executor:
    """An executor with pot's commitment, genesis, verifier, aggregation and settler.

    Parameters
    ----------
    store
        The open state file.
    circuits
        Folder holding the pinned circuits (one per spec).
    allow_dev_srs
        Accept circuits made with a development SRS (tests and demos only).
    hooks
        Other executor hooks (``checkpoint``), or ``aggregate`` / ``settle`` to replace
        :func:`robust_aggregate` / :func:`~pot.chain.settler.economics_settle`.
    """
    hooks.setdefault("aggregate", robust_aggregate)
    hooks.setdefault("settle", economics_settle)
    pinned = SpecCircuits(circuits)
    return Executor(store, verify=BundleVerifier(pinned, allow_dev_srs),
                    commit=pinned.payload_commitment, genesis=pinned.genesis, **hooks)
