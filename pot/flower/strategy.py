"""A Flower strategy (``flwr.serverapp.strategy.Strategy``) that pays attention only to proven work.

Each Flower round is one pot round, in two exchanges (``docs/flower.md``):

1. ``configure_train`` sends every connected node a ``train`` message: the global weights W_0
   (int64 fixed point) and a :class:`~pot.flower.records.TrainInstruction`. Each node replies with
   W_T and its :class:`~pot.flower.records.Commitment` (trajectory root, T, key, dataset root).
2. ``aggregate_train`` checks the commitments, derives the beacon from the seed and every committed
   root (:func:`~pot.flower.round.round_beacon`), sends the committed nodes a ``train.prove``
   message with the :class:`~pot.flower.records.Challenge`, and judges each returned bundle with
   :func:`pot.verifier.verify_bundle` against what the server itself knows: job, round, trainer key,
   root, T, beacon, k, the registered dataset, commit(W_0) of the weights it sent and commit(W_T)
   of the weights it received. Rejected replies are dropped with their reason code; the accepted
   updates are aggregated with the job's rule (:func:`~pot.flower.round.aggregate_verified`),
   weighted by verified sample counts, in integers.

Flower's ``Strategy.start`` makes one request/reply exchange per round, and the challenge must be
drawn after the roots are in, so the second exchange runs inside ``aggregate_train`` through the
``Grid`` that ``configure_train`` was given. The class only unpacks, calls :mod:`pot.flower.round`,
and repacks; each round's :class:`~pot.flower.round.RoundEvidence` is in :attr:`PotStrategy.rounds`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Strategy

from pot.aggregation import AggregationError
from pot.aggregation.params import AggregationRule
from pot.bundle import MAX_SAMPLED_STEPS, MAX_STEPS
from pot.circuit import Circuit
from pot.errors import MalformedInputError
from pot.flower.errors import StrategyError
from pot.flower.records import (
    ARRAYS_KEY,
    BUNDLE_KEY,
    CHALLENGE_KEY,
    COMMIT_KEY,
    MESSAGE_PROVE,
    MESSAGE_TRAIN,
    TRAIN_KEY,
    Challenge,
    Commitment,
    TrainInstruction,
    array_record,
    arrays_to_params,
    bundle_from_record,
    config_record,
    params_to_arrays,
)
from pot.flower.round import (
    BEACON_SEED_BYTES,
    CLIENT_ERROR,
    DUPLICATE_TRAINER,
    MALFORMED,
    NO_REPLY,
    Registration,
    RoundEvidence,
    TrainerEvidence,
    VerifiedUpdate,
    aggregate_verified,
    check_commitment,
    judge_bundle,
    round_beacon,
    seed_commitment,
)
from pot.protocol.encoding import BYTES32_BYTES, format_hex
from pot.tensors import IntArray, checkpoint_commitment, flatten_params, unflatten_params
from pot.verdict import Verdict
from pot.verifier import Expected

LOG = logging.getLogger("flwr")  # Flower's own logger, so pot's lines appear in Flower's logs
CONFIG_KEY = "config"
NODE_POLL_S = 0.5
LOG_DETAIL_CHARS = 160  # a verdict's detail in the log (the evidence keeps all of it)


@dataclass
class _OpenRound:
    """The round between ``configure_train`` and ``aggregate_train``."""

    round: int
    grid: Grid
    global_commitment: bytes
    nodes: list[int]
    evidence: RoundEvidence
    updates: dict[int, dict[str, IntArray]] = field(default_factory=dict)
    commits: dict[int, Commitment] = field(default_factory=dict)


class PotStrategy(Strategy):
    """Federated rounds where only verified training enters the global model.

    Parameters
    ----------
    circuit
        The spec's pinned circuit (its verifying key checks every step proof).
    job_id
        32 bytes naming the job; bound into every challenge and bundle.
    steps
        T, the SGD steps each trainer runs and commits per round.
    samples
        k, the steps each trainer must prove per round (``1 <= k <= T``).
    rule, rule_param
        The aggregation rule and its parameter, as a pot job's hyperparams give them
        (:class:`pot.chain.hyperparams.AggregationRule`; default FedAvg).
    min_nodes
        Nodes that must be connected before a round starts; every connected node takes part.
    beacon_seed
        32 secret bytes for the beacons (default: fresh from ``secrets``). Trainers must not know
        it; :attr:`beacon_seed_commitment` is what may be published.
    allow_dev_srs
        Accept a circuit made with a development SRS. Insecure: tests and demos only.
    prove_timeout_s
        How long the challenge exchange waits for bundles.
    node_wait_s
        How long a round waits for ``min_nodes`` to connect.

    Raises
    ------
    ValueError
        If a parameter breaks its rule (stated in the message).
    """

    def __init__(self, *, circuit: Circuit, job_id: bytes, steps: int, samples: int = 1,
                 rule: AggregationRule = AggregationRule.FEDAVG, rule_param: int = 0,
                 min_nodes: int = 2, beacon_seed: bytes | None = None, allow_dev_srs: bool = False,
                 prove_timeout_s: float = 3600.0, node_wait_s: float = 600.0) -> None:
        if len(job_id) != BYTES32_BYTES:
            raise ValueError(f"job_id must be {BYTES32_BYTES} bytes")
        if not 1 <= steps <= MAX_STEPS or not 1 <= samples <= min(steps, MAX_SAMPLED_STEPS):
            raise ValueError(f"a round needs 1 <= T <= {MAX_STEPS} steps and 1 <= k <= "
                             f"min(T, {MAX_SAMPLED_STEPS}) challenged steps")
        if min_nodes < 1:
            raise ValueError("min_nodes must be >= 1")
        seed = secrets.token_bytes(BEACON_SEED_BYTES) if beacon_seed is None else beacon_seed
        if len(seed) != BEACON_SEED_BYTES:
            raise ValueError(f"beacon_seed must be {BEACON_SEED_BYTES} bytes")
        self.circuit = circuit
        self.spec = circuit.spec
        self.job_id = job_id
        self.steps, self.samples = steps, samples
        self.rule, self.rule_param = AggregationRule(rule), rule_param
        self.min_nodes = min_nodes
        self.allow_dev_srs = allow_dev_srs
        self.prove_timeout_s, self.node_wait_s = prove_timeout_s, node_wait_s
        self._seed = seed
        self.registry: dict[int, Registration] = {}
        """Node id to its trainer key and dataset commitment (fixed at its first accepted round)."""
        self.rounds: dict[int, RoundEvidence] = {}
        """Round number to that round's evidence and verdicts."""
        self._open: _OpenRound | None = None

    @property
    def beacon_seed_commitment(self) -> bytes:
        """keccak256(SEED_TAG ‖ seed): publish it before the job; reveal the seed after it."""
        return seed_commitment(self._seed)

    def summary(self) -> None:
        LOG.info("\t├── pot: job %s, circuit %s%s", format_hex(self.job_id), self.circuit.circuit_id,
                 " (DEVELOPMENT SRS: insecure, demo only)" if self.circuit.dev_srs else "")
        LOG.info("\t├── T = %d steps, k = %d proven per trainer and round", self.steps, self.samples)
        LOG.info("\t└── rule %s (param %d), beacon seed commitment %s", self.rule.name.lower(),
                 self.rule_param, format_hex(self.beacon_seed_commitment))

    # -- exchange 1: commit ---------------------------------------------------------------------

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        """Send W_0 and the round's instruction to every connected node (at least ``min_nodes``).

        Raises
        ------
        StrategyError
            If fewer than ``min_nodes`` nodes connect within ``node_wait_s``.
        """
        w0 = arrays_to_params(arrays, self.spec)
        nodes = self._connected_nodes(grid)
        commitment = checkpoint_commitment(w0, self.circuit)
        self._open = _OpenRound(server_round, grid, commitment, nodes,
                                RoundEvidence(server_round, self.job_id, commitment))
        order = TrainInstruction(self.job_id, server_round, self.steps, self.circuit.circuit_id)
        body = RecordDict({ARRAYS_KEY: params_to_arrays(w0, self.spec),
                           TRAIN_KEY: order.to_record(), CONFIG_KEY: config})
        return [Message(body, dst_node_id=n, message_type=MESSAGE_TRAIN,
                        group_id=str(server_round)) for n in nodes]

    # -- exchange 2: challenge, verification, aggregation ----------------------------------------

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Challenge the committed nodes, judge their bundles, aggregate the accepted updates.

        Returns
        -------
        tuple[ArrayRecord | None, MetricRecord | None]
            The new global weights (``None`` if nothing was accepted or aggregation failed: the
            global model is then unchanged) and the counts ``accepted``, ``rejected``,
            ``verified-samples``.

        Raises
        ------
        StrategyError
            If ``configure_train`` did not open this round.
        """
        rnd = self._open
        if rnd is None or rnd.round != server_round:
            raise StrategyError(f"round {server_round} was not configured by this strategy")
        self._open = None
        self.rounds[server_round] = ev = rnd.evidence
        trainers = {n: TrainerEvidence(n, Verdict(False, NO_REPLY, detail="no commitment arrived in time"))
                    for n in rnd.nodes}
        ev.trainers = [trainers[n] for n in rnd.nodes]
        for node, reply in _by_node(replies, rnd.nodes).items():
            self._read_commitment(rnd, trainers[node], reply)
        if rnd.commits:
            ev.beacon = round_beacon(self._seed, self.job_id, server_round,
                                     [(c.trainer, c.root) for c in rnd.commits.values()])
            self._challenge(rnd, trainers, ev.beacon)
        accepted = self._accept(rnd, trainers)
        new = self._aggregate(ev, accepted)
        for t in ev.trainers:
            LOG.info("\tpot round %d: node %d %s", server_round, t.node_id,
                     "accepted" if t.verdict.ok
                     else f"rejected ({t.verdict.reason}: {t.verdict.detail[:LOG_DETAIL_CHARS]})")
        metrics = MetricRecord({"accepted": len(accepted), "rejected": len(ev.rejected),
                                "verified-samples": sum(u.verified_samples for u in accepted)})
        return (None if new is None else params_to_arrays(new, self.spec)), metrics

    def _read_commitment(self, rnd: _OpenRound, te: TrainerEvidence, reply: Message) -> None:
        if reply.has_error():
            te.verdict = _client_error(reply)
            return
        try:
            commit = Commitment.from_record(config_record(reply, COMMIT_KEY))
            update = arrays_to_params(array_record(reply), self.spec)
        except MalformedInputError as e:
            te.verdict = Verdict(False, MALFORMED, detail=str(e))
            return
        te.trainer, te.root = commit.trainer, commit.root
        te.update_commitment = checkpoint_commitment(update, self.circuit)
        verdict = check_commitment(te.node_id, commit, self.steps, self.registry)
        if verdict is not None:
            te.verdict = verdict
            return
        te.verdict = Verdict(False, NO_REPLY, detail="no bundle arrived in time")
        te.challenged = True
        rnd.commits[te.node_id] = commit
        rnd.updates[te.node_id] = update

    def _challenge(self, rnd: _OpenRound, trainers: dict[int, TrainerEvidence], beacon: bytes) -> None:
        challenge = Challenge(self.job_id, rnd.round, beacon, self.samples).to_record()
        messages = [Message(RecordDict({CHALLENGE_KEY: challenge}), dst_node_id=n,
                            message_type=MESSAGE_PROVE, group_id=str(rnd.round))
                    for n in sorted(rnd.commits)]
        replies = rnd.grid.send_and_receive(messages, timeout=self.prove_timeout_s)
        for node, reply in _by_node(replies, sorted(rnd.commits)).items():
            te, commit = trainers[node], rnd.commits[node]
            if reply.has_error():
                te.verdict = _client_error(reply)
                continue
            try:
                raw = bundle_from_record(config_record(reply, BUNDLE_KEY))
            except MalformedInputError as e:
                te.verdict = Verdict(False, MALFORMED, detail=str(e))
                continue
            expected = Expected(
                job_id=self.job_id, round=rnd.round, trainer=commit.trainer, root=commit.root,
                steps=self.steps, beacon=beacon, min_samples=self.samples,
                dataset_root=commit.dataset_root, n_batches=commit.n_batches,
                global_commitment=rnd.global_commitment, final_commitment=te.update_commitment)
            te.verdict, te.verified_samples = judge_bundle(raw, self.circuit, expected,
                                                           self.allow_dev_srs)

    def _accept(self, rnd: _OpenRound, trainers: dict[int, TrainerEvidence]) -> list[VerifiedUpdate]:
        """The verified updates, one per trainer key (lowest node id); registers new nodes."""
        accepted: list[VerifiedUpdate] = []
        owners: dict[bytes, int] = {}
        for node in sorted(rnd.commits):
            te, commit = trainers[node], rnd.commits[node]
            if not te.verdict.ok:
                continue
            if commit.trainer in owners:
                te.verdict = Verdict(False, DUPLICATE_TRAINER, detail=f"node {owners[commit.trainer]} "
                                     "submitted for this trainer key first this round")
                te.verified_samples = 0
                continue
            owners[commit.trainer] = node
            self.registry.setdefault(node, Registration(node, commit.trainer, commit.dataset_root,
                                                        commit.n_batches, rnd.round))
            accepted.append(VerifiedUpdate(commit.trainer, flatten_params(rnd.updates[node], self.spec),
                                           te.verified_samples))
        return accepted

    def _aggregate(self, ev: RoundEvidence, accepted: list[VerifiedUpdate]
                   ) -> dict[str, IntArray] | None:
        if not accepted:
            ev.error = "no update was accepted; the global model is unchanged"
            return None
        try:
            vector, info = aggregate_verified(accepted, self.rule, self.rule_param)
        except AggregationError as e:
            ev.error = f"aggregation failed, the global model is unchanged: {e}"
            return None
        new = unflatten_params(vector, self.spec)
        ev.aggregation = info
        ev.new_global_commitment = checkpoint_commitment(new, self.circuit)
        return new

    # -- no client-side evaluation: nothing about it is proven ------------------------------------

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                           grid: Grid) -> Iterable[Message]:
        """No evaluation messages (evaluate centrally with ``start(evaluate_fn=...)``)."""
        return []

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return None

    def _connected_nodes(self, grid: Grid) -> list[int]:
        deadline = time.monotonic() + self.node_wait_s
        while len(nodes := sorted(grid.get_node_ids())) < self.min_nodes:
            if time.monotonic() > deadline:
                raise StrategyError(f"{len(nodes)} nodes connected after {self.node_wait_s} s, the "
                                    f"job needs {self.min_nodes}")
            time.sleep(NODE_POLL_S)
        return nodes


def _client_error(reply: Message) -> Verdict:
    return Verdict(False, CLIENT_ERROR, detail=reply.error.reason or "the node's ClientApp failed")


def _by_node(replies: Iterable[Message], asked: Iterable[int]) -> dict[int, Message]:
    """The first reply of each asked node (others are ignored), whatever the arrival order."""
    want, out = set(asked), {}
    for reply in replies:
        node = reply.metadata.src_node_id
        if node in want and node not in out:
            out[node] = reply
    return out
