"""``pot simulate``: one whole federated job on real data, through the same chain executor and
SQLite state a node uses, with real ezkl proofs.

A TRAIN_REQUEST creates the job; trainers join with non-IID shards of scikit-learn digits, or of
the user's data file (``--data``): a Dirichlet split over labels (Hsu et al. 2019, "Measuring the
Effects of Non-Identical Data Distribution"), where each class's samples are dealt to the trainers
in proportions drawn from ``Dirichlet(alpha)``; ``DIRICHLET_ALPHA`` = 0.5 is the common benchmark
setting (smaller is more skewed). The split is seeded and deterministic. Each trainer's shard is
written to ``<out>/data/<name>.npz``, and ``pot data commit`` of that file gives the dataset
commitment the trainer joined with. The job's ``dataset_ref`` is the CID (:func:`pot.data.file_cid`)
of the data file used: the user's file, or ``<out>/data/<dataset>.csv`` for a bundled dataset.
Every round runs local training (the circuit's quantised SGD steps),
trajectory commitment, submission, beacon, challenge, proving (a process pool by default),
verification by pot's verifier inside ``submit_proof``, aggregation and settlement.

Cheaters fabricate every step of their trajectory (they submit weights no step produced), so any
challenge catches them. Poisoners train honestly, with honest proofs, on relabelled data
(label ``y -> classes - 1 - y``): a proof shows that an update is honest SGD on the data the
trainer committed to; it cannot show that the data is good. Only robust aggregation can stop them.

The run is reproducible from ``--seed`` (shards, keys, job id and beacons), and resumable: the chain
state lives in ``<out>/state.db``, proofs are cached in ``<out>/proofs/`` as they finish, and a
resumed run skips every call the state already records, so no proof is repeated and nothing is
paid twice.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from eth_hash.auto import keccak

from pot.aggregation.params import RULE_BY_NAME
from pot.bundle import dump_bundle
from pot.chain.abi import TrainRequest, encode_train_request
from pot.chain.cid import cid_to_bytes32
from pot.chain.executor import Executor
from pot.chain.fixed_types import U16, U32, U64, U256, Address, Bytes32, Bytes48
from pot.chain.hooks import weights_to_payload
from pot.chain.hyperparams import Hyperparams, LossId, encode_hyperparams
from pot.chain.store import Store
from pot.chain.tx import address_of
from pot.chain.wallet import Wallet, produce_block
from pot.circuit import Circuit, build_circuit
from pot.data import Dataset, file_cid, initial_checkpoint, load_data, train_test_split
from pot.errors import PotError
from pot.evaluate import centralised_baseline, evaluate
from pot.executors import LocalProcessExecutor, ProofExecutor, ProofTask
from pot.node import lr_q16, node_executor
from pot.proof import StepProof
from pot.protocol.challenge import challenge_indices
from pot.protocol.commitments import scheduled_batch
from pot.protocol.keys import SecretKey, derive_secret_key, public_key
from pot.spec import ModelSpec, ensure_stored, load_spec
from pot.tensors import flatten_params, unflatten_params
from pot.trainer import DatasetCommitment, LocalData, Trajectory, build_bundle, commit_dataset, run_trajectory

DEFAULT_RULE_PARAMS = {
    "fedavg": 0,
    "multi-krum": 1,  # f = 1: averages the n - 1 best-scored updates (needs n >= 5)
    "median": 0,
    "trimmed-mean": 1,  # drops the largest and smallest value of each coordinate
    "centered-clipping": 2 << 16,  # radius 2.0 (Q16) around the median of the round's updates
}
"""The rule parameter ``pot simulate`` uses when ``--rule-param`` is not given, per rule.
``benchmarks/robust_rules.py`` measures them; centered clipping is the default robust rule."""
CHAIN_ID = 1337
GAS_LIMIT = 10_000_000
REQUEST_HEIGHT = 1
JOIN_BLOCKS, SUBMIT_BLOCKS, PROOF_BLOCKS = 1, 1, 100
STAKE_WEI = 10**18  # each trainer's stake (its genesis balance is twice that)
ESCROW_WEI = 30 * 10**18  # the requester's escrow: the job's budget, drawn round by round
BLOCK_REWARD_WEI = 20 * 10**18  # minted per block; TRAINING_POOL_BPS of it feeds the job's pool
DIRICHLET_ALPHA = 0.5  # concentration of the label split (Hsu et al. 2019); smaller is more skewed
MIN_SHARD_BATCHES = 2  # a split is redrawn (next sub-seed) until every shard holds this many batches
MAX_SPLIT_DRAWS = 100


class SimulationError(PotError):
    """A simulation cannot start or resume (bad options, or an out folder of another run)."""


@dataclass(frozen=True)
class SimConfig:
    """The options of a simulated job (the defaults are the README's main job)."""

    spec: str = "softmax-digits"
    trainers: int = 3
    rounds: int = 4
    steps: int = 20
    samples: int = 1
    rule: str = "fedavg"
    rule_param: int = 0
    cheaters: int = 0
    poisoners: int = 0
    seed: int = 0
    data: str = ""  # a user's data file (pot.data.load_data_file); "" for the spec's dataset
    label_column: str = ""

    def check(self) -> None:
        """Raises SimulationError on options that cannot make a job."""
        if self.rule not in RULE_BY_NAME:
            raise SimulationError(f"unknown rule {self.rule!r}; one of {', '.join(RULE_BY_NAME)}")
        if self.trainers < 1 or self.rounds < 1 or self.steps < 1:
            raise SimulationError("--trainers, --rounds and --steps must be >= 1")
        if not 1 <= self.samples <= self.steps:
            raise SimulationError("--samples (k) must be between 1 and --steps (T)")
        if self.cheaters < 0 or self.poisoners < 0:
            raise SimulationError("--cheaters and --poisoners must be >= 0")
        accepted = self.trainers + self.poisoners  # cheaters are rejected before aggregation
        if self.rule == "multi-krum" and accepted < 2 * self.rule_param + 3:
            raise SimulationError(f"multi-krum with f = {self.rule_param} needs n >= 2f + 3 = "
                                  f"{2 * self.rule_param + 3} accepted updates, this job has "
                                  f"{accepted} (--trainers + --poisoners)")

    @property
    def participants(self) -> int:
        return self.trainers + self.cheaters + self.poisoners


@dataclass
class Participant:
    """A simulated trainer: its role, key, private shard and dataset commitment."""

    index: int
    role: str  # "honest" | "cheater" | "poisoner"
    sk: SecretKey
    data: LocalData
    dataset: DatasetCommitment

    @property
    def pubkey(self) -> bytes:
        return public_key(self.sk)

    @property
    def name(self) -> str:
        """Short display name: ``h0`` honest, ``c3`` cheater, ``p4`` poisoner."""
        return f"{self.role[0]}{self.index}"


class Reporter(Protocol):
    """What the simulation tells its user as it goes (rich progress, or nothing)."""

    def phase(self, text: str) -> None: ...
    def trainer(self, name: str, status: str) -> None: ...
    def progress(self, done: int, total: int) -> None: ...


class QuietReporter:
    """Reports nothing (``--json`` and tests)."""

    def phase(self, text: str) -> None:
        pass

    def trainer(self, name: str, status: str) -> None:
        pass

    def progress(self, done: int, total: int) -> None:
        pass


def _seeded(seed: int, *label: object) -> bytes:
    return bytes(keccak(b"pot/simulate/" + json.dumps([seed, *label]).encode()))


def split_dirichlet(labels: np.ndarray, n: int, alpha: float, seed: int,
                    min_size: int = 1) -> list[np.ndarray]:
    """Deal sample indices to ``n`` trainers, each class in ``Dirichlet(alpha)`` proportions.

    For each class in increasing order, its samples (in a seeded order) are cut at the cumulative
    proportions of one draw from ``Dirichlet([alpha] * n)``. A draw that leaves some trainer with
    fewer than ``min_size`` samples is redrawn with the next sub-seed, so the result is a
    deterministic function of ``(labels, n, alpha, seed)``. Each trainer's indices are returned in
    a seeded shuffled order. Source: Hsu, Qi and Brown 2019, arXiv:1909.06335.

    Parameters
    ----------
    labels
        ``(N,)`` int class labels.

    Raises
    ------
    SimulationError
        If no draw out of ``MAX_SPLIT_DRAWS`` gives every trainer ``min_size`` samples.
    """
    for draw in range(MAX_SPLIT_DRAWS):
        rng = np.random.default_rng([seed, draw])
        parts: list[list[int]] = [[] for _ in range(n)]
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            idx = idx[rng.permutation(len(idx))]
            cuts = (np.cumsum(rng.dirichlet([alpha] * n)) * len(idx)).astype(np.int64)[:-1]
            for i, part in enumerate(np.split(idx, cuts)):
                parts[i] += part.tolist()
        if min(len(p) for p in parts) >= min_size:
            return [np.asarray(sorted(p), dtype=np.int64)[
                np.random.default_rng([seed, draw, i]).permutation(len(p))]
                for i, p in enumerate(parts)]
    raise SimulationError(f"the data cannot be split among {n} trainers with at least "
                          f"{min_size} samples each")


def split_iid(n_samples: int, n: int, seed: int) -> list[np.ndarray]:
    """A seeded uniform split of ``range(n_samples)`` into ``n`` near-equal parts (regression data,
    which has no labels to skew)."""
    return list(np.array_split(np.random.default_rng(seed).permutation(n_samples), n))


def make_participants(cfg: SimConfig, circuit: Circuit, train: Dataset) -> list[Participant]:
    """Keys, shards and dataset commitments of every simulated trainer (deterministic)."""
    roles = ["honest"] * cfg.trainers + ["cheater"] * cfg.cheaters + ["poisoner"] * cfg.poisoners
    spec = circuit.spec
    if train.y.ndim == 1:
        shards = split_dirichlet(train.y, len(roles), DIRICHLET_ALPHA, cfg.seed,
                                 MIN_SHARD_BATCHES * spec.batch_size)
    else:
        shards = split_iid(len(train), len(roles), cfg.seed)
    people = []
    for i, (idx, role) in enumerate(zip(shards, roles, strict=True)):
        x, y = train.x[idx], train.y[idx]
        if role == "poisoner":  # flip the labels (classification) or the targets (regression)
            y = (train.classes - 1 - y) if y.ndim == 1 else -y
        data = LocalData(spec, x, y)
        sk = derive_secret_key(_seeded(cfg.seed, "key", i) + _seeded(cfg.seed, "key2", i))
        people.append(Participant(i, role, sk, data, commit_dataset(data, circuit)))
    return people


def write_shards(people: list[Participant], folder: Path) -> None:
    """Write each trainer's shard as ``<folder>/<name>.npz`` (arrays ``x`` and ``y``): the file
    ``pot data commit`` reads back to the dataset commitment the trainer joined with."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in people:
        tmp = folder / f"{p.name}.tmp.npz"
        np.savez(tmp, x=p.data.x, y=p.data.labels)
        tmp.replace(folder / f"{p.name}.npz")


def write_dataset_csv(data: Dataset, path: Path) -> None:
    """Write a bundled dataset as CSV (``f0..``, ``label``): its CID is the job's ``dataset_ref``.

    Values are on the fixed-point grid, so ``repr`` writes them exactly and the text is the same
    on every run.
    """
    flat = data.x.reshape(len(data), -1)
    lines = [",".join([*(f"f{i}" for i in range(flat.shape[1])), "label"])]
    lines += [",".join([*(repr(float(v)) for v in row), str(int(label))])
              for row, label in zip(flat, data.y, strict=True)]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


@dataclass
class RoundReport:
    """One round's outcome, as printed, plotted and written to the JSON report."""

    round: int
    accuracy: float
    loss: float
    outcome: str
    global_commitment: str = ""
    accepted: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    rewards_wei: dict[str, int] = field(default_factory=dict)
    slashes_wei: dict[str, int] = field(default_factory=dict)
    prove_seconds: float = 0.0
    verify_seconds: float = 0.0


class Simulation:
    """Drives one job through the chain executor; see the module docstring.

    Parameters
    ----------
    cfg
        The job's options.
    out
        Folder for ``state.db``, ``config.json``, ``proofs/``, ``report.json`` and ``report.png``.
    circuits
        Circuit folder (built once per spec, cached).
    resume
        Continue the run in ``out`` instead of starting a new one.
    executor
        Where proofs run (default: a local process pool).
    reporter
        Progress sink.
    """

    def __init__(self, cfg: SimConfig, out: Path, circuits: Path, resume: bool = False,
                 executor: ProofExecutor | None = None, reporter: Reporter | None = None) -> None:
        cfg.check()
        self.cfg, self.out, self.circuits = cfg, out, circuits
        self.executor = executor or LocalProcessExecutor()
        self.ui = reporter or QuietReporter()
        self.resume = resume
        self.timings: dict[str, dict[str, float]] = {}
        self.dataset_info: dict[str, Any] = {}

    # -- set-up ----------------------------------------------------------------------------------

    def _prepare_out(self) -> None:
        cfg_path = self.out / "config.json"
        state = self.out / "state.db"
        if self.resume:
            if not cfg_path.exists() or not state.exists():
                raise SimulationError(f"nothing to resume in {self.out} (no config.json/state.db)")
            stored = json.loads(cfg_path.read_text())
            if stored != asdict(self.cfg):
                raise SimulationError(f"{self.out} holds a run with other options: {stored}")
            timings = self.out / "timings.json"
            if timings.exists():
                self.timings = json.loads(timings.read_text())
            return
        if state.exists():
            raise SimulationError(f"{state} exists; pass --resume to continue it or use another --out")
        (self.out / "proofs").mkdir(parents=True, exist_ok=True)
        cfg_path.write_text(json.dumps(asdict(self.cfg), indent=1, sort_keys=True) + "\n")

    def _hyperparams(self, spec: ModelSpec) -> Hyperparams:
        return Hyperparams(
            lr_q16=U32(lr_q16(spec)), local_epochs=U16(1), batch_size=U32(spec.batch_size),
            samples_per_round=U16(self.cfg.samples), steps_per_round=U32(self.cfg.steps),
            loss_id=LossId.CROSS_ENTROPY if spec.classifies else LossId.MSE,
            model_spec_id=Bytes32(spec.spec_id),
            param_count=U64(spec.n_state_values), aggregation_rule=RULE_BY_NAME[self.cfg.rule],
            rule_param=U32(self.cfg.rule_param), join_blocks=U32(JOIN_BLOCKS),
            submit_blocks=U32(SUBMIT_BLOCKS), proof_blocks=U32(PROOF_BLOCKS),
        )

    def _request(self, ex: Executor, spec: ModelSpec, dataset_ref: Bytes32) -> Bytes32:
        calldata = encode_train_request(TrainRequest(
            model_id=Bytes32(_seeded(self.cfg.seed, "model", spec.name)),
            dataset_ref=dataset_ref,
            total_rounds=U256(self.cfg.rounds), min_participants=U64(self.cfg.trainers),
            hyperparams=encode_hyperparams(self._hyperparams(spec)),
        ))
        return Wallet(ex, self._requester_key).request(
            calldata, GAS_LIMIT, REQUEST_HEIGHT, value=ESCROW_WEI, nonce=0
        ).job_id

    @property
    def _requester_key(self) -> SecretKey:
        return derive_secret_key(_seeded(self.cfg.seed, "requester"))

    @property
    def _requester(self) -> Address:
        return address_of(public_key(self._requester_key))

    @property
    def _validator_key(self) -> SecretKey:
        return derive_secret_key(_seeded(self.cfg.seed, "validator"))

    def _emit(self, ex: Executor, store: Store, height: int) -> None:
        """Produce every block up to ``height`` not produced yet (one validator): its RANDAO
        reveal, which fixes the beacons due, and its block reward."""
        last = store.economics().emission_height
        producer = address_of(public_key(self._validator_key))
        for h in range(REQUEST_HEIGHT if last is None else int(last) + 1, height + 1):
            revealed = store.randao()[1]
            if revealed is None or revealed < h:
                produce_block(ex, [self._validator_key], h)
            ex.emit(producer, BLOCK_REWARD_WEI, h)

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Run (or resume) the job to its end; return the report (also written to ``out``)."""
        started = time.perf_counter()
        spec = load_spec(self.cfg.spec)
        ensure_stored(spec)  # a user spec: the node finds the job's spec in the spec store
        data_path = Path(self.cfg.data) if self.cfg.data else None
        dataset = load_data(spec, data_path, self.cfg.label_column or None)  # before any work
        self.out.mkdir(parents=True, exist_ok=True)
        self._prepare_out()
        self.ui.phase("building the circuit (cached after the first run)")
        circuit = build_circuit(spec, self.circuits, progress=self.ui.phase)
        if data_path is None:
            data_path = self.out / "data" / f"{spec.dataset}.csv"
            data_path.parent.mkdir(parents=True, exist_ok=True)
            write_dataset_csv(dataset, data_path)
        dataset_cid = file_cid(data_path)
        self.dataset_info = {"file": str(data_path), "cid": dataset_cid,
                             "dataset_ref": "0x" + bytes(cid_to_bytes32(dataset_cid)).hex(),
                             "samples": len(dataset)}
        train, test = train_test_split(dataset, seed=self.cfg.seed)
        self.ui.phase("committing the trainers' datasets")
        people = make_participants(self.cfg, circuit, train)
        write_shards(people, self.out / "data")
        state = self.out / "state.db"
        if state.exists():
            store = Store.open(state)
        else:
            alloc: dict[Any, int] = {self._requester: ESCROW_WEI}
            alloc.update({Bytes48(p.pubkey): 2 * STAKE_WEI for p in people})
            store = Store.create(
                state, CHAIN_ID, alloc, [Bytes48(public_key(self._validator_key))]
            )
        try:
            ex = node_executor(store, self.circuits, allow_dev_srs=True)
            job_ids = store.job_ids()
            job_id = (job_ids[0] if job_ids
                      else self._request(ex, spec, cid_to_bytes32(dataset_cid)))
            self._emit(ex, store, REQUEST_HEIGHT)
            for p in people:
                if store.trainer(job_id, Bytes48(p.pubkey)) is None:
                    Wallet(ex, p.sk).join(job_id, STAKE_WEI, Bytes32(p.dataset.root),
                                          len(p.data.labels), REQUEST_HEIGHT)
            reports = []
            for r in range(self.cfg.rounds):
                reports.append(self._round(ex, store, job_id, r, spec, circuit, people, test))
                if reports[-1].outcome == "failed":
                    break
            report = self._report(store, job_id, circuit, spec, people, train, test, reports,
                                  time.perf_counter() - started)
        finally:
            store.close()
        return report

    def _global_weights(self, store: Store, job_id: Bytes32, r: int,
                        spec: ModelSpec) -> dict[str, np.ndarray]:
        if r == 0:
            return initial_checkpoint(spec)
        payload = store.global_model(job_id, U64(r - 1))
        if payload is None:
            raise SimulationError(f"round {r - 1} has no global model")
        return unflatten_params(np.frombuffer(payload, dtype="<i8").astype(np.int64), spec)

    def _trajectories(self, circuit: Circuit, w0: dict[str, np.ndarray], r: int,
                      people: list[Participant]) -> dict[int, Trajectory]:
        """Every trainer's local training, one after another in this process.

        ezkl's witness generation already uses every core: two trainers in two processes took
        1.07 s per step each, one alone 0.44 s (docs/performance.md), so a pool would only add
        its start-up.
        """
        trajs = {}
        for p in people:
            self.ui.trainer(p.name, f"round {r}: training {self.cfg.steps} steps")
            fabricate = range(self.cfg.steps) if p.role == "cheater" else ()
            trajs[p.index] = run_trajectory(circuit, w0, p.data, p.dataset, self.cfg.steps, r,
                                            fabricate=fabricate)
            self.ui.trainer(p.name, f"round {r}: trained {self.cfg.steps} steps")
        return trajs

    def _round(self, ex: Executor, store: Store, job_id: Bytes32, r: int, spec: ModelSpec,
               circuit: Circuit, people: list[Participant], test: Dataset) -> RoundReport:
        rnd = store.round(job_id, U64(r))
        if rnd is None:
            raise SimulationError(f"round {r} never opened (the job ended early)")
        if rnd.status == "open":
            self._play_round(ex, store, job_id, r, spec, circuit, people)
            rnd = store.round(job_id, U64(r))
            assert rnd is not None
        return self._round_report(store, job_id, r, spec, people, test)

    def _play_round(self, ex: Executor, store: Store, job_id: Bytes32, r: int, spec: ModelSpec,
                    circuit: Circuit, people: list[Participant]) -> None:
        rnd = store.round(job_id, U64(r))
        assert rnd is not None
        w0 = self._global_weights(store, job_id, r, spec)
        self.ui.phase(f"round {r}: local training")
        trajs = self._trajectories(circuit, w0, r, people)
        self._emit(ex, store, int(rnd.open_height))
        for p in people:
            if store.submission(job_id, U64(r), Bytes48(p.pubkey)) is None:
                traj = trajs[p.index]
                Wallet(ex, p.sk).submit(
                    job_id, r, Bytes32(traj.root), self.cfg.steps,
                    Bytes32(traj.weight_commits[-1]),
                    weights_to_payload(flatten_params(traj.weights[-1], spec)),
                    int(rnd.open_height),
                )
        height = int(rnd.submit_deadline) + 1
        self._emit(ex, store, height)  # the block at the deadline + 1 fixes the beacon
        fixed = store.round(job_id, U64(r))
        if fixed is None or fixed.beacon is None:
            raise SimulationError(f"round {r} has no beacon after block {height}")
        beacon = bytes(fixed.beacon)
        todo = [p for p in people
                if (sub := store.submission(job_id, U64(r), Bytes48(p.pubkey))) is not None
                and sub.verdict is None]
        self.ui.phase(f"round {r}: proving the challenged steps")
        proofs = self._prove(circuit, job_id, r, beacon, todo, trajs)
        self.ui.phase(f"round {r}: verifying bundles (submit_proof)")
        for p in todo:
            indices, steps = proofs[p.index]
            bundle = build_bundle(sk=p.sk, job_id=bytes(job_id), round_number=r, circuit=circuit,
                                  traj=trajs[p.index], dataset=p.dataset, beacon=beacon,
                                  indices=indices, proofs=steps)
            self.ui.trainer(p.name, f"round {r}: verifying")
            t0 = time.perf_counter()
            receipt = Wallet(ex, p.sk).submit_proof(job_id, r, dump_bundle(bundle), height)
            self._time(r, "verify", time.perf_counter() - t0)
            status = "verified" if receipt.verdict == "accepted" else f"rejected: {receipt.reason}"
            self.ui.trainer(p.name, f"round {r}: {status}")
        self.ui.phase(f"round {r}: aggregating and settling")
        Wallet(ex, self._requester_key).finalize_round(job_id, r, height)

    def _proof_path(self, r: int, p: Participant, t: int) -> Path:
        return self.out / "proofs" / f"round{r}-{p.name}-step{t}.json"

    def _prove(self, circuit: Circuit, job_id: Bytes32, r: int, beacon: bytes,
               todo: list[Participant], trajs: dict[int, Trajectory]
               ) -> dict[int, tuple[list[int], list[StepProof]]]:
        from pot.verifier import read_step_proof

        wanted: list[tuple[Participant, int]] = []
        indices: dict[int, list[int]] = {}
        for p in todo:
            traj = trajs[p.index]
            indices[p.index] = challenge_indices(bytes(job_id), r, p.pubkey, traj.root, beacon,
                                                 self.cfg.steps, self.cfg.samples)
            wanted += [(p, t) for t in indices[p.index]]
        cached = {(p.index, t): read_step_proof(self._proof_path(r, p, t))
                  for p, t in wanted if self._proof_path(r, p, t).exists()}
        missing = [(p, t) for p, t in wanted if (p.index, t) not in cached]
        tasks = []
        for p, t in missing:
            x, y = p.data.batch(scheduled_batch(r, self.cfg.steps, t, p.dataset.n_batches))
            tasks.append(ProofTask(trajs[p.index].weights[t], x, y))
            self.ui.trainer(p.name, f"round {r}: proving {len(indices[p.index])} sampled steps")

        def done(i: int, proof: StepProof) -> None:
            p, t = missing[i]
            path = self._proof_path(r, p, t)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(proof.to_json()))
            tmp.replace(path)
            cached[(p.index, t)] = proof
            self.ui.progress(len(cached), len(wanted))

        self.ui.progress(len(cached), len(wanted))
        t0 = time.perf_counter()
        self.executor.prove_many(circuit, tasks, done)
        if tasks:
            self._time(r, "prove", time.perf_counter() - t0)
        return {p.index: (indices[p.index], [cached[(p.index, t)] for t in indices[p.index]])
                for p in todo}

    def _time(self, r: int, what: str, seconds: float) -> None:
        entry = self.timings.setdefault(str(r), {})
        entry[what] = entry.get(what, 0.0) + seconds
        path = self.out / "timings.json"
        path.with_suffix(".tmp").write_text(json.dumps(self.timings, sort_keys=True))
        path.with_suffix(".tmp").replace(path)

    # -- the report ------------------------------------------------------------------------------

    def _round_report(self, store: Store, job_id: Bytes32, r: int, spec: ModelSpec,
                      people: list[Participant], test: Dataset) -> RoundReport:
        rnd = store.round(job_id, U64(r))
        assert rnd is not None
        names = {bytes(p.pubkey): p.name for p in people}
        if rnd.status == "finalized":
            acc, loss = evaluate(self._global_weights(store, job_id, r + 1, spec), spec, test)
        else:
            acc, loss = float("nan"), float("nan")
        rep = RoundReport(round=r, accuracy=acc, loss=loss, outcome=str(rnd.status),
                          global_commitment=("" if rnd.global_commitment is None
                                             else bytes(rnd.global_commitment).hex()))
        for sub in store.submissions(job_id, U64(r)):
            name = names.get(bytes(sub.trainer), "0x" + bytes(sub.trainer).hex())
            if sub.verdict == "accepted":
                rep.accepted.append(name)
            else:
                rep.rejected[name] = str(sub.reason or "unproven")
        info = rnd.aggregation_info or {}
        rep.excluded = sorted(names.get(bytes.fromhex(k[2:]), k) for k in info.get("excluded", []))
        settlement = rnd.settlement or {}
        for key, value in (settlement.get("rewards") or {}).items():
            rep.rewards_wei[names.get(bytes.fromhex(key[2:]), key)] = int(value)
        for key, value in (settlement.get("slashes") or {}).items():
            rep.slashes_wei[names.get(bytes.fromhex(key[2:]), key)] = int(value)
        timing = self.timings.get(str(r), {})
        rep.prove_seconds = round(timing.get("prove", 0.0), 2)
        rep.verify_seconds = round(timing.get("verify", 0.0), 2)
        return rep

    def _report(self, store: Store, job_id: Bytes32, circuit: Circuit, spec: ModelSpec,
                people: list[Participant], train: Dataset, test: Dataset,
                reports: list[RoundReport], wall: float) -> dict[str, Any]:
        steps = self.cfg.rounds * self.cfg.steps * self.cfg.trainers
        c_acc, c_loss = centralised_baseline(spec, train, test, steps, self.cfg.seed)
        self.ui.phase("done")
        report = {
            "config": asdict(self.cfg),
            "job_id": "0x" + bytes(job_id).hex(),
            "circuit_id": circuit.circuit_id,
            "dev_srs": circuit.dev_srs,
            "state_root": "0x" + bytes(store.state_root()).hex(),
            "dataset": self.dataset_info,
            "trainers": {p.name: {"role": p.role, "pubkey": "0x" + p.pubkey.hex(),
                                  "dataset_commitment": "0x" + p.dataset.root.hex(),
                                  "samples": len(p.data.labels)} for p in people},
            "rounds": [asdict(r) for r in reports],
            "centralised": {"accuracy": c_acc, "loss": c_loss, "sgd_steps": steps},
            "wall_seconds": round(wall, 1),
        }
        (self.out / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
        plot_report(report, self.out / "report.png")
        return report


def plot_report(report: dict[str, Any], path: Path) -> None:
    """A PNG of test accuracy and loss against rounds, marking rejected and slashed trainers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = report["rounds"]
    xs = [r["round"] for r in rounds]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    ax_acc.plot(xs, [r["accuracy"] for r in rounds], "o-", label="federated (proven)")
    ax_acc.axhline(report["centralised"]["accuracy"], color="gray", ls="--",
                   label="centralised float SGD")
    ax_loss.plot(xs, [r["loss"] for r in rounds], "o-", color="tab:orange")
    for r in rounds:
        marks = [f"rejected {n}" for n in r["rejected"]] + [f"excluded {n}" for n in r["excluded"]]
        if r["slashes_wei"]:
            marks.append(f"slashed {len(r['slashes_wei'])}")
        if marks:
            ax_acc.annotate("\n".join(marks), (r["round"], r["accuracy"]), fontsize=7,
                            xytext=(4, -24), textcoords="offset points", color="tab:red")
            ax_acc.plot([r["round"]], [r["accuracy"]], "x", color="tab:red", ms=10)
    ax_acc.set(xlabel="round", ylabel="test accuracy", title="Test accuracy", ylim=(0, 1))
    for ax in (ax_acc, ax_loss):
        ax.set_xticks(xs)
    ax_loss.set(xlabel="round", ylabel="cross-entropy (nats)", title="Test loss")
    ax_acc.legend(loc="lower right", fontsize=8)
    cfg = report["config"]
    fig.suptitle(f"pot simulate: {cfg['spec']}, trainers: {cfg['trainers']} honest, "
                 f"{cfg['cheaters']} cheating, {cfg['poisoners']} poisoning; rule {cfg['rule']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
