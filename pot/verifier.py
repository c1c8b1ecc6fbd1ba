"""Verify step proofs against a pinned circuit (validator side; never imports torch).

A verifier never crashes and never accepts what it should not: every check that fails yields a
:class:`Verdict` with a specific reason code, and unreadable input raises
:class:`pot.errors.MalformedInputError` before any expensive work.

Reason codes, in the order the checks run (cheap checks first, the signature and the proofs last):

=======================  ===================================================================
``dev_srs``              the circuit uses a development SRS and ``allow_dev_srs`` was not given
``wrong_circuit``        the proof or bundle names another circuit id than the pinned one
``wrong_job``            bundle for another job than expected
``wrong_round``          bundle for another round
``wrong_trainer``        bundle from another trainer than the submission's
``wrong_root``           trajectory root differs from the submitted one
``wrong_steps``          T differs from the submitted one
``wrong_beacon``         beacon differs from the round's revealed beacon
``wrong_dataset``        dataset commitment or batch count differs from the one given at join
``wrong_start``          leaf 0 is not the round's global model
``wrong_final``          leaf T is not the submitted update
``duplicate_indices``    a challenged index appears twice
``too_few_samples``      fewer challenged steps than the job's k
``tensor_count``         a proof's tensor point count differs from the circuit's
``wrong_batch_size``     the bundle's batch size is not the one the circuit proves
``challenge_mismatch``   the indices are not the ones the beacon derives
``opening_mismatch``     the openings do not follow the indices one to one
``bad_merkle_path``      a step's leaf t or t+1 does not open to the root
``commitment_mismatch``  a proof's W_t, batch or W_{t+1} differs from the committed leaves
``wrong_batch_order``    a step's batch is not the one the schedule ((round*T + t) mod N) assigns
``batch_not_in_dataset`` a step's batch does not open in the dataset commitment
``bad_signature``        the BLS signature does not verify under the trainer's key
``proof_invalid``        the proof verifier (ezkl, or the EVM contract) rejected a proof
``proof_trailing_bytes`` a proof verifies but carries bytes after its end (see
                         :func:`proof_is_minimal`)
=======================  ===================================================================

Two backends check the proofs themselves, with the same answers (``tests/test_evm_twins.py``):
the default ``evm`` (the faster, ``docs/performance.md``) calls the pinned verifier contract in an
in-process EVM (:mod:`pot.evm.backend`); ``ezkl`` runs ``ezkl.verify`` on each proof. Every other
check, the tensor points the proofs open with included, is the same code for both.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pot.bundle import MAX_BUNDLE_BYTES, Bundle
from pot.circuit import Circuit
from pot.errors import MalformedInputError, PotError, VerifierError
from pot.jsonio import loads_limited, read_json_limited, read_limited
from pot.proof import MAX_PROOF_BYTES, StepProof
from pot.proofcheck import (
    DEFAULT_BACKEND,
    PROOF_FAILURES,
    VALID,
    check_proof,
)
from pot.verdict import Verdict

if TYPE_CHECKING:
    from pot.shard.circuits import ShardedCircuit
    from pot.shard.proof import ShardedStepProof

MAX_STEP_PROOF_FILE_BYTES = 4 * MAX_PROOF_BYTES


def read_verifiable(path: Path) -> StepProof | Bundle | ShardedStepProof:
    """Read a step proof, a sharded step proof or a proof bundle, told apart by its ``format``.

    A bundle may have up to :data:`pot.bundle.MAX_BUNDLE_BYTES`, a step proof up to
    :data:`MAX_STEP_PROOF_FILE_BYTES`.

    Raises
    ------
    MalformedInputError
        If the file is too large, not JSON, or neither a well-formed bundle nor step proof.
    """
    from pot.bundle import BUNDLE_FORMAT, bundle_from_json
    from pot.proof import STEP_PROOF_FORMAT
    from pot.shard.proof import SHARDED_STEP_PROOF_FORMAT, ShardedStepProof

    raw = read_limited(path, MAX_BUNDLE_BYTES)
    doc = loads_limited(raw, str(path), MAX_BUNDLE_BYTES)
    if isinstance(doc, dict) and doc.get("format") == BUNDLE_FORMAT:
        return bundle_from_json(doc)
    if isinstance(doc, dict) and doc.get("format") == SHARDED_STEP_PROOF_FORMAT:
        return ShardedStepProof.from_json(doc)
    if not isinstance(doc, dict) or doc.get("format") != STEP_PROOF_FORMAT:
        found = ("it is not a JSON object" if not isinstance(doc, dict)
                 else f"its format is {doc['format']!r}" if "format" in doc
                 else "it has no format field")
        raise MalformedInputError(f"{path} is neither a step proof ({STEP_PROOF_FORMAT}) nor a "
                                  f"bundle ({BUNDLE_FORMAT}): {found}")
    if len(raw) > MAX_STEP_PROOF_FILE_BYTES:
        raise MalformedInputError(f"{path} is {len(raw)} bytes, over the "
                                  f"{MAX_STEP_PROOF_FILE_BYTES}-byte limit of a step proof")
    return StepProof.from_json(doc)


def read_step_proof(path: Path) -> StepProof:
    """Read a step proof file.

    Raises
    ------
    MalformedInputError
        If the file is too large, not JSON, or not a well-formed step proof.
    """
    return StepProof.from_json(read_json_limited(path, MAX_STEP_PROOF_FILE_BYTES))


def verify_step_proof(step: StepProof, circuit: Circuit, allow_dev_srs: bool = False,
                      backend: str = DEFAULT_BACKEND) -> Verdict:
    """Verify one step proof under ``circuit``.

    Parameters
    ----------
    step
        A parsed step proof (:func:`read_step_proof`).
    circuit
        The pinned circuit (:func:`pot.circuit.load_circuit`).
    allow_dev_srs
        Accept a circuit whose SRS is a local development one (insecure; for tests and demos).
    backend
        Which proof verifier runs: ``"evm"`` or ``"ezkl"`` (:func:`check_proof`).
    """
    if circuit.dev_srs and not allow_dev_srs:
        return Verdict(False, "dev_srs", detail="the circuit's SRS is a development SRS (insecure); "
                       "pass --allow-dev-srs to accept it")
    if step.circuit_id != circuit.circuit_id:
        return Verdict(False, "wrong_circuit", detail=f"the proof is for circuit {step.circuit_id}, "
                       f"not the pinned {circuit.circuit_id}")
    expected = circuit.n_input_tensors + circuit.n_output_tensors
    if step.n_tensors != expected:
        return Verdict(False, "tensor_count", detail=f"the proof has {step.n_tensors} tensor points, "
                       f"the circuit has {expected}")
    failed = check_proof(circuit, step.proof, backend)
    if failed is not None:
        return Verdict(False, failed, detail=PROOF_FAILURES[failed].format(which="the proof",
                                                                              backend=backend))
    return VALID


def load_step_proof_bytes(raw: bytes) -> StepProof:
    """Parse a step proof from bytes (for callers that hold the file in memory).

    Raises
    ------
    MalformedInputError
        As :func:`read_step_proof`.
    """
    return StepProof.from_json(loads_limited(raw, "step proof", MAX_STEP_PROOF_FILE_BYTES))


@dataclass(frozen=True)
class Expected:
    """What the chain knows about a submission; ``None`` fields are not checked.

    Attributes
    ----------
    job_id, round, trainer, root, steps, beacon
        The submission and the round's revealed beacon.
    min_samples
        The job's k: the least number of challenged steps.
    dataset_root, n_batches
        The trainer's dataset commitment and batch count, from join.
    global_commitment
        commit(W_0) of the round's global model.
    final_commitment
        commit(W_T) of the submitted update.
    """

    job_id: bytes | None = None
    round: int | None = None
    trainer: bytes | None = None
    root: bytes | None = None
    steps: int | None = None
    beacon: bytes | None = None
    min_samples: int = 1
    dataset_root: bytes | None = None
    n_batches: int | None = None
    global_commitment: bytes | None = None
    final_commitment: bytes | None = None


def _reject(reason: str, detail: str) -> Verdict:
    return Verdict(False, reason, detail=detail)


def _context_verdict(b: Bundle, exp: Expected) -> Verdict | None:
    checks = (
        ("wrong_job", exp.job_id, b.job_id, "job"),
        ("wrong_round", exp.round, b.round, "round"),
        ("wrong_trainer", exp.trainer, b.trainer, "trainer"),
        ("wrong_root", exp.root, b.root, "trajectory root"),
        ("wrong_steps", exp.steps, b.steps, "step count T"),
        ("wrong_beacon", exp.beacon, b.beacon, "beacon"),
        ("wrong_dataset", exp.dataset_root, b.dataset_root, "dataset commitment"),
        ("wrong_dataset", exp.n_batches, b.n_batches, "dataset batch count"),
        ("wrong_start", exp.global_commitment, b.global_commitment, "global model commitment"),
        ("wrong_final", exp.final_commitment, b.final_commitment, "update commitment"),
    )
    for reason, want, got, what in checks:
        if want is not None and want != got:
            return _reject(reason, f"the bundle's {what} differs from the submission's")
    return None


def _structure_verdict(b: Bundle, circuit: Circuit, exp: Expected) -> Verdict | None:
    if len(set(b.indices)) != len(b.indices):
        return _reject("duplicate_indices", "a challenged step index appears more than once")
    if len(b.indices) < exp.min_samples:
        return _reject("too_few_samples", f"{len(b.indices)} challenged steps, the job needs "
                       f"{exp.min_samples}")
    want = circuit.n_input_tensors + circuit.n_output_tensors
    for o in b.openings:
        if o.proof.circuit_id != circuit.circuit_id:
            return _reject("wrong_circuit", f"step {o.index}'s proof is for another circuit")
        if o.proof.n_tensors != want:
            return _reject("tensor_count", f"step {o.index}'s proof has "
                           f"{o.proof.n_tensors} tensor points, the circuit has {want}")
    # The circuit proves batches of exactly this size; the bundle's figure weighs the update.
    if b.batch_size != circuit.spec.batch_size:
        return _reject("wrong_batch_size", f"the bundle claims batches of {b.batch_size} samples, "
                       f"the circuit proves batches of {circuit.spec.batch_size}")
    return None


def _commitment_verdict(b: Bundle) -> Verdict | None:
    from pot.protocol.challenge import challenge_indices
    from pot.protocol.commitments import NO_BATCH_COMMITMENT, scheduled_batch, trajectory_leaf
    from pot.protocol.merkle import DATASET_TREE, TRAJECTORY_TREE, verify_path

    n_leaves = b.steps + 1
    drawn = challenge_indices(b.job_id, b.round, b.trainer, b.root, b.beacon, b.steps,
                              len(b.indices))
    if tuple(drawn) != b.indices:
        return _reject("challenge_mismatch", "the indices are not the ones the beacon derives")
    if tuple(o.index for o in b.openings) != b.indices:
        return _reject("opening_mismatch", "the openings do not follow the challenged indices")

    def opens(t: int, weights: bytes, batch: bytes, path: tuple[bytes, ...]) -> bool:
        return verify_path(TRAJECTORY_TREE, b.root, trajectory_leaf(t, weights, batch), t,
                           n_leaves, path)

    if not opens(0, b.global_commitment, b.first_batch, b.first_path):
        return _reject("wrong_start", "leaf 0 does not open to the root with the global model")
    if not opens(b.steps, b.final_commitment, NO_BATCH_COMMITMENT, b.last_path):
        return _reject("wrong_final", "leaf T does not open to the root with the update")
    for o in b.openings:
        t = o.index
        next_batch_ok = (o.next_batch == NO_BATCH_COMMITMENT) == (t + 1 == b.steps)
        if not (opens(t, o.weights, o.batch, o.leaf_path) and next_batch_ok
                and opens(t + 1, o.next_weights, o.next_batch, o.next_path)):
            return _reject("bad_merkle_path", f"leaf {t} or {t + 1} does not open to the root")
        p = o.proof
        try:
            proven = (p.weights_in, p.batch, p.weights_out)
        except MalformedInputError:  # only a bundle built in memory gets here: load_bundle checks
            return _reject("proof_invalid", f"step {t}'s proof does not open with curve points")
        if proven != (o.weights, o.batch, o.next_weights):
            return _reject("commitment_mismatch", f"step {t}'s proof does not prove the committed "
                           "transition W_t -> W_t+1 on the committed batch")
        scheduled = scheduled_batch(b.round, b.steps, t, b.n_batches)
        if o.batch_index != scheduled:
            return _reject("wrong_batch_order", f"step {t} trained on batch {o.batch_index}, the "
                           f"schedule assigns batch {scheduled}")
        if not verify_path(DATASET_TREE, b.dataset_root, o.batch, o.batch_index, b.n_batches,
                           o.batch_path):
            return _reject("batch_not_in_dataset", f"step {t}'s batch is not batch "
                           f"{o.batch_index} of the committed dataset")
    return None


def verify_bundle(bundle: Bundle, circuit: Circuit, expected: Expected | None = None,
                  allow_dev_srs: bool = False, backend: str = DEFAULT_BACKEND) -> Verdict:
    """Judge a proof bundle: every check in the reason table, cheapest first.

    Parameters
    ----------
    bundle
        A parsed bundle (:func:`pot.bundle.load_bundle`; limits were enforced there).
    circuit
        The pinned circuit of the job's model spec.
    expected
        What the chain knows about the submission. Without it only the bundle's internal
        consistency, signature and proofs are checked (``min_samples`` = 1).
    allow_dev_srs
        Accept a development SRS (insecure; tests and demos only).
    backend
        Which proof verifier runs: ``"evm"`` or ``"ezkl"`` (:func:`check_proof`).

    Returns
    -------
    Verdict
        ``ok`` only if every check passed; else the first failed check's reason code.
    """
    from pot.protocol.errors import ProtocolError
    from pot.protocol.keys import verify_body

    exp = expected or Expected()
    if circuit.dev_srs and not allow_dev_srs:
        return _reject("dev_srs", "the circuit's SRS is a development SRS (insecure); pass "
                       "--allow-dev-srs to accept it")
    if bundle.circuit_id != circuit.circuit_id:
        return _reject("wrong_circuit", f"the bundle is for circuit {bundle.circuit_id}, not the "
                       f"pinned {circuit.circuit_id}")
    try:
        verdict = (_context_verdict(bundle, exp) or _structure_verdict(bundle, circuit, exp)
                   or _commitment_verdict(bundle))
    except (ProtocolError, MalformedInputError) as e:
        return _reject("malformed", f"the bundle's values break a protocol rule: {e}")
    if verdict is not None:
        return verdict
    try:
        signed = verify_body(bundle.trainer, bundle.body(), bundle.signature)
    except (ProtocolError, MalformedInputError):
        signed = False
    if not signed:
        return _reject("bad_signature", "the BLS signature does not verify under the trainer's key")
    for o in bundle.openings:
        failed = check_proof(circuit, o.proof.proof, backend)
        if failed is not None:
            return _reject(failed, PROOF_FAILURES[failed].format(
                which=f"the proof of step {o.index}", backend=backend))
    return Verdict(True, "ok", detail=f"{len(bundle.openings)} sampled steps of {bundle.steps} verify")


_EXPECT_BYTES = {"job_id": 32, "trainer": 48, "root": 32, "beacon": 32, "dataset_root": 32,
                 "global_commitment": 32, "final_commitment": 32}
_EXPECT_INTS = {"round": (0, (1 << 53) - 1), "steps": (1, 1 << 20), "min_samples": (1, 64),
                "n_batches": (1, 1 << 20)}


def expected_from_json(path: Path) -> Expected:
    """Read an :class:`Expected` from a JSON object of its fields (any subset).

    Raises
    ------
    MalformedInputError
        On unknown keys, non-canonical hex, or integers out of range.
    """
    from pot.protocol.encoding import parse_hex

    obj = read_json_limited(path, 1 << 16)
    if not isinstance(obj, dict):
        raise MalformedInputError("the expectation must be a JSON object")
    unknown = set(obj) - set(_EXPECT_BYTES) - set(_EXPECT_INTS)
    if unknown:
        raise MalformedInputError(f"unknown expectation keys: {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {}
    for key, length in _EXPECT_BYTES.items():
        if key in obj:
            if not isinstance(obj[key], str):
                raise MalformedInputError(f"{key} must be a hex string")
            fields[key] = parse_hex(obj[key], length, key)
    for key, (lo, hi) in _EXPECT_INTS.items():
        if key in obj:
            if type(obj[key]) is not int or not lo <= obj[key] <= hi:
                raise MalformedInputError(f"{key} must be an integer in {lo}..{hi}")
            fields[key] = obj[key]
    return Expected(**fields)


def verify_item(item: StepProof | Bundle | ShardedStepProof, circuit: Circuit | ShardedCircuit,
                expected: Expected | None = None, allow_dev_srs: bool = False,
                backend: str = DEFAULT_BACKEND) -> Verdict:
    """Judge a parsed step proof (:func:`verify_step_proof`), sharded step proof
    (:func:`pot.shard.verify.verify_sharded`, always by ezkl) or bundle (:func:`verify_bundle`)."""
    from pot.shard.circuits import ShardedCircuit
    from pot.shard.proof import ShardedStepProof

    if isinstance(item, ShardedStepProof) or isinstance(circuit, ShardedCircuit):
        if not isinstance(item, ShardedStepProof) or not isinstance(circuit, ShardedCircuit):
            return Verdict(False, "wrong_circuit", detail=f"the file is for circuit {item.circuit_id}, "
                           f"not the pinned {circuit.circuit_id}")
        from pot.shard.verify import verify_sharded

        return verify_sharded(item, circuit, allow_dev_srs)
    if isinstance(item, Bundle):
        return verify_bundle(item, circuit, expected, allow_dev_srs, backend)
    return verify_step_proof(item, circuit, allow_dev_srs, backend)


def verify_file(path: Path, circuit: Circuit | ShardedCircuit, expected: Expected | None = None,
                allow_dev_srs: bool = False, backend: str = DEFAULT_BACKEND) -> Verdict:
    """Verify a step proof or a bundle file, told apart by its ``format`` field.

    Raises
    ------
    MalformedInputError
        As :func:`read_verifiable`: the file is unreadable, too large, too deep, or neither format.
    """
    return verify_item(read_verifiable(path), circuit, expected, allow_dev_srs, backend)


def judge_file(path: Path, pinned: Mapping[str, Circuit | ShardedCircuit],
               expected: Expected | None = None, allow_dev_srs: bool = False,
               backend: str = DEFAULT_BACKEND) -> tuple[dict[str, Any], bool]:
    """One file's entry of ``pot verify``: ``({"file", "valid", "reason", "detail"}, judged)``.

    The file is judged under the pinned circuit it names, or under the first pinned circuit when
    it names none of them (and then fails with ``wrong_circuit``). ``judged`` is ``False`` when
    the file could not be read or checked at all (reason ``malformed`` or ``error``): a
    :class:`pot.errors.PotError` is caught here and becomes the entry, never a traceback.
    """
    first = next(iter(pinned.values()))
    try:
        item = read_verifiable(path)
        verdict = verify_item(item, pinned.get(item.circuit_id, first), expected, allow_dev_srs,
                              backend)
        return {"file": str(path), **verdict.to_json()}, True
    except PotError as e:
        reason = "malformed" if isinstance(e, MalformedInputError) else "error"
        return {"file": str(path), "valid": False, "reason": reason, "detail": str(e)}, False


_WORKER_STATE: tuple[dict[str, Circuit | ShardedCircuit], Expected | None, bool, str] | None = None


def _worker_init(circuit_paths: list[str], expected: Expected | None, allow_dev_srs: bool,
                 backend: str = DEFAULT_BACKEND) -> None:
    """A verifier worker process: load (and hash) the pinned circuits once, in the parent's order."""
    global _WORKER_STATE
    from pot.shard.circuits import load_any_circuit

    loaded = [load_any_circuit(Path(p)) for p in circuit_paths]
    _WORKER_STATE = ({c.circuit_id: c for c in loaded}, expected, allow_dev_srs, backend)


def _worker_judge(path: str) -> tuple[dict[str, Any], bool]:
    assert _WORKER_STATE is not None, "_worker_init did not run"
    return judge_file(Path(path), *_WORKER_STATE)


def judge_files(paths: Sequence[Path], pinned: Mapping[str, Circuit | ShardedCircuit],
                expected: Expected | None = None, allow_dev_srs: bool = False, workers: int = 1,
                backend: str = DEFAULT_BACKEND) -> Iterator[tuple[dict[str, Any], bool]]:
    """:func:`judge_file` over ``paths``, yielded in the order of ``paths``.

    With ``workers > 1`` the files are judged by that many worker processes (``spawn``), each of
    which loads the pinned circuits once: ezkl's verify holds the GIL, so threads would not run
    in parallel. Every worker reaches the verdict the calling process would (the checks are
    deterministic); each learns the minimal proof length of a circuit on its own first proof.

    Raises
    ------
    VerifierError
        If a worker process dies (killed, out of memory); the files from that one on are not
        judged.
    """
    if workers <= 1 or len(paths) < 2:
        for path in paths:
            yield judge_file(path, pinned, expected, allow_dev_srs, backend)
        return
    circuit_paths = [str(c.path) for c in pinned.values()]
    pool = ProcessPoolExecutor(max_workers=min(workers, len(paths)),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init,
                               initargs=(circuit_paths, expected, allow_dev_srs, backend))
    try:
        yield from pool.map(_worker_judge, [str(p) for p in paths])
    except BrokenProcessPool as e:
        raise VerifierError(f"a verifier worker process died: {e}") from e
    finally:  # a caller that stops early (Ctrl-C, an error) does not wait for the files left
        pool.shutdown(wait=True, cancel_futures=True)
