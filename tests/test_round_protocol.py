"""A whole round of the proof-of-training protocol on real data, and the attacks it must catch.

The honest round: T = 20 quantised SGD steps of the tiny spec on a real digits shard, a beacon
challenge of k = 2 steps, two real ezkl proofs (proven in parallel), a signed bundle. Each attack
changes what a cheating trainer would change and asserts the verifier's specific reason code.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from eth_hash.auto import keccak

from pot.bundle import Bundle, dump_bundle, load_bundle
from pot.circuit import Circuit
from pot.data import initial_checkpoint, load_dataset, train_test_split
from pot.protocol.challenge import challenge_indices
from pot.protocol.commitments import scheduled_batch
from pot.protocol.keys import derive_secret_key, public_key
from pot.trainer import (
    LocalData,
    build_bundle,
    commit_dataset,
    prove_challenged,
    run_trajectory,
)
from pot.verifier import Expected, verify_bundle

pytestmark = pytest.mark.ezkl

STEPS, K, ROUND = 20, 2, 3
JOB_ID = keccak(b"pot test job")


def _sk(label: bytes) -> Any:
    return derive_secret_key(keccak(label) + keccak(label + b"2"))


def _find_beacon(pk: bytes, root: bytes, k: int, want: int) -> tuple[bytes, list[int]]:
    """A beacon whose challenge of k steps includes step ``want`` (a cheater's unlucky round)."""
    for i in range(10_000):
        beacon = keccak(b"beacon search" + i.to_bytes(4, "big"))
        idx = challenge_indices(JOB_ID, ROUND, pk, root, beacon, STEPS, k)
        if want in idx:
            return beacon, idx
    raise AssertionError("no beacon found")


@pytest.fixture(scope="session")
def honest(tiny_circuit: Circuit, tiny_spec: Any) -> SimpleNamespace:
    train, test = train_test_split(load_dataset(tiny_spec.dataset))
    shard = LocalData(tiny_spec, train.x[:80], train.y[:80])
    dataset = commit_dataset(shard, tiny_circuit)
    sk = _sk(b"honest trainer")
    w0 = initial_checkpoint(tiny_spec)
    traj = run_trajectory(tiny_circuit, w0, shard, dataset, STEPS, ROUND)
    beacon = keccak(b"round beacon")
    indices = challenge_indices(JOB_ID, ROUND, public_key(sk), traj.root, beacon, STEPS, K)
    proofs = prove_challenged(tiny_circuit, traj, shard, dataset.n_batches, indices, ROUND)
    bundle = build_bundle(sk=sk, job_id=JOB_ID, round_number=ROUND, circuit=tiny_circuit, traj=traj,
                          dataset=dataset, beacon=beacon, indices=indices, proofs=proofs)
    expected = Expected(job_id=JOB_ID, round=ROUND, trainer=public_key(sk), root=traj.root,
                        steps=STEPS, beacon=beacon, min_samples=K, dataset_root=dataset.root,
                        n_batches=dataset.n_batches, global_commitment=traj.weight_commits[0],
                        final_commitment=traj.weight_commits[-1])
    return SimpleNamespace(shard=shard, test=test, dataset=dataset, sk=sk, w0=w0, traj=traj,
                           beacon=beacon, indices=indices, bundle=bundle, expected=expected)


def _check(h: SimpleNamespace, circuit: Circuit, bundle: Bundle, **expect: Any) -> str:
    verdict = verify_bundle(bundle, circuit, dataclasses.replace(h.expected, **expect), True)
    return verdict.reason


def _resign(h: SimpleNamespace, bundle: Bundle, **changes: Any) -> Bundle:
    return dataclasses.replace(bundle, **changes).signed(h.sk)


def test_honest_round_of_20_steps_with_2_proofs_verifies(honest: SimpleNamespace,
                                                         tiny_circuit: Circuit) -> None:
    assert len(honest.bundle.openings) == K
    assert _check(honest, tiny_circuit, honest.bundle) == "ok"
    # and again after a trip through the file format
    assert _check(honest, tiny_circuit, load_bundle(dump_bundle(honest.bundle))) == "ok"
    assert honest.bundle.verified_samples == STEPS * 4


def test_trajectory_chains_exactly(honest: SimpleNamespace) -> None:
    # W_T differs from W_0 (training happened) and each commitment is distinct.
    assert len(set(honest.traj.weight_commits)) == STEPS + 1
    assert not np.array_equal(honest.traj.weights[-1]["w1"], honest.w0["w1"])


def test_fabricated_step_is_caught_when_sampled(honest: SimpleNamespace, tiny_circuit: Circuit) -> None:
    cheat_at = 7
    traj = run_trajectory(tiny_circuit, honest.w0, honest.shard, honest.dataset, STEPS, ROUND,
                          fabricate={cheat_at})
    pk = public_key(honest.sk)
    beacon, indices = _find_beacon(pk, traj.root, 1, cheat_at)
    proofs = prove_challenged(tiny_circuit, traj, honest.shard, honest.dataset.n_batches, indices,
                              ROUND)
    bundle = build_bundle(sk=honest.sk, job_id=JOB_ID, round_number=ROUND, circuit=tiny_circuit,
                          traj=traj, dataset=honest.dataset, beacon=beacon, indices=indices,
                          proofs=proofs)
    reason = _check(honest, tiny_circuit, bundle, root=traj.root, beacon=beacon, min_samples=1,
                    final_commitment=traj.weight_commits[-1])
    assert reason == "commitment_mismatch"


def test_altered_proof_is_rejected(honest: SimpleNamespace, tiny_circuit: Circuit) -> None:
    o = honest.bundle.openings[0]
    raw = bytearray(o.proof.proof)
    raw[64 * o.proof.n_tensors + 100] ^= 0x40  # past the tensor points (which must stay on the curve)
    forged = dataclasses.replace(o, proof=dataclasses.replace(o.proof, proof=bytes(raw)))
    bundle = _resign(honest, honest.bundle, openings=(forged, *honest.bundle.openings[1:]))
    assert _check(honest, tiny_circuit, bundle) == "proof_invalid"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("trainer", public_key(_sk(b"another trainer")), "wrong_trainer"),
        ("round", ROUND + 1, "wrong_round"),
        ("job_id", keccak(b"another job"), "wrong_job"),
    ],
)
def test_replayed_bundle_is_rejected(honest: SimpleNamespace, tiny_circuit: Circuit, field: str,
                                     value: Any, reason: str) -> None:
    assert _check(honest, tiny_circuit, honest.bundle, **{field: value}) == reason


def test_reordered_steps_are_rejected(honest: SimpleNamespace, tiny_circuit: Circuit) -> None:
    # The trainer trains on its batches in another order: batch (t+1) mod N at step t.
    from pot.prover import prove_step

    shard = honest.shard
    n = honest.dataset.n_batches
    reordered = LocalData(shard.spec, np.roll(shard.x, -4, axis=0), np.roll(shard.labels, -4))
    traj = run_trajectory(tiny_circuit, honest.w0, reordered, commit_dataset(reordered, tiny_circuit),
                          STEPS, ROUND)
    pk = public_key(honest.sk)
    beacon, indices = _find_beacon(pk, traj.root, 1, 5)
    t = indices[0]
    x, y = reordered.batch(scheduled_batch(ROUND, STEPS, t, n))
    proof, _ = prove_step(tiny_circuit, traj.weights[t], x, y)
    bundle = build_bundle(sk=honest.sk, job_id=JOB_ID, round_number=ROUND, circuit=tiny_circuit,
                          traj=traj, dataset=honest.dataset, beacon=beacon, indices=indices,
                          proofs=[proof])
    # Where its batch really sits in the committed dataset: one further along.
    from pot.protocol.merkle import DATASET_TREE, merkle_path

    real = (scheduled_batch(ROUND, STEPS, t, n) + 1) % n
    o = bundle.openings[0]
    o = dataclasses.replace(o, batch_index=real, batch_path=tuple(
        merkle_path(DATASET_TREE, list(honest.dataset.batch_commits), real)))
    bundle = _resign(honest, bundle, openings=(o,))
    reason = _check(honest, tiny_circuit, bundle, root=traj.root, beacon=beacon, min_samples=1,
                    final_commitment=traj.weight_commits[-1])
    assert reason == "wrong_batch_order"


def test_batch_outside_the_committed_dataset_is_rejected(honest: SimpleNamespace,
                                                         tiny_circuit: Circuit) -> None:
    # The trainer trains on other data (the held-out split) than the shard it committed to.
    other = LocalData(honest.shard.spec, honest.test.x[:80], honest.test.y[:80])
    traj = run_trajectory(tiny_circuit, honest.w0, other, commit_dataset(other, tiny_circuit), STEPS, ROUND)
    pk = public_key(honest.sk)
    beacon, indices = _find_beacon(pk, traj.root, 1, 3)
    proofs = prove_challenged(tiny_circuit, traj, other, honest.dataset.n_batches, indices, ROUND)
    bundle = build_bundle(sk=honest.sk, job_id=JOB_ID, round_number=ROUND, circuit=tiny_circuit,
                          traj=traj, dataset=honest.dataset, beacon=beacon, indices=indices,
                          proofs=proofs)
    reason = _check(honest, tiny_circuit, bundle, root=traj.root, beacon=beacon, min_samples=1,
                    final_commitment=traj.weight_commits[-1])
    assert reason == "batch_not_in_dataset"


def test_trajectory_not_from_the_global_model_is_rejected(honest: SimpleNamespace,
                                                          tiny_circuit: Circuit) -> None:
    # Claiming the round's global model while leaf 0 commits other weights.
    claimed = keccak(b"the real global model")
    bundle = _resign(honest, honest.bundle, global_commitment=claimed)
    assert _check(honest, tiny_circuit, bundle, global_commitment=claimed) == "wrong_start"
    # And the chain's global model is not the bundle's.
    assert _check(honest, tiny_circuit, honest.bundle, global_commitment=claimed) == "wrong_start"


def test_final_update_other_than_the_last_leaf_is_rejected(honest: SimpleNamespace,
                                                           tiny_circuit: Circuit) -> None:
    submitted = keccak(b"a better-looking update")
    bundle = _resign(honest, honest.bundle, final_commitment=submitted)
    assert _check(honest, tiny_circuit, bundle, final_commitment=submitted) == "wrong_final"


def test_challenge_from_a_wrong_beacon_is_rejected(honest: SimpleNamespace,
                                                   tiny_circuit: Circuit) -> None:
    pk = public_key(honest.sk)
    for i in range(100):
        other = challenge_indices(JOB_ID, ROUND, pk, honest.traj.root, keccak(bytes([i])), STEPS, K)
        if other != honest.indices:
            break
    bundle = _resign(honest, honest.bundle, indices=tuple(other))
    assert _check(honest, tiny_circuit, bundle) == "challenge_mismatch"
    # Claiming the beacon it used instead is a wrong beacon.
    bundle = _resign(honest, honest.bundle, beacon=keccak(b"not the round's beacon"))
    assert _check(honest, tiny_circuit, bundle) == "wrong_beacon"


def test_signature_by_another_key_is_rejected(honest: SimpleNamespace, tiny_circuit: Circuit) -> None:
    bundle = dataclasses.replace(honest.bundle).signed(_sk(b"mallory"))
    assert _check(honest, tiny_circuit, bundle) == "bad_signature"


def test_duplicated_sampled_indices_are_rejected(honest: SimpleNamespace, tiny_circuit: Circuit) -> None:
    o = honest.bundle.openings[0]
    bundle = _resign(honest, honest.bundle, indices=(o.index, o.index), openings=(o, o))
    assert _check(honest, tiny_circuit, bundle) == "duplicate_indices"


def test_fewer_proofs_than_the_jobs_k_are_rejected(honest: SimpleNamespace, tiny_circuit: Circuit) -> None:
    assert _check(honest, tiny_circuit, honest.bundle, min_samples=K + 1) == "too_few_samples"


def test_bundle_for_another_circuit_is_rejected(honest: SimpleNamespace, tiny_circuit: Circuit) -> None:
    bundle = _resign(honest, honest.bundle, circuit_id="0x" + "11" * 32)
    assert _check(honest, tiny_circuit, bundle) == "wrong_circuit"


def test_cli_verifies_a_bundle_file_against_an_expectation(honest: SimpleNamespace,
                                                           tiny_circuit: Circuit,
                                                           tmp_path: Any) -> None:
    import json

    from click.testing import CliRunner

    from pot.cli import main

    path = tmp_path / "bundle.json"
    path.write_bytes(dump_bundle(honest.bundle))
    exp = honest.expected
    expect = {"job_id": "0x" + exp.job_id.hex(), "round": exp.round, "trainer": "0x" + exp.trainer.hex(),
              "root": "0x" + exp.root.hex(), "steps": exp.steps, "beacon": "0x" + exp.beacon.hex(),
              "min_samples": K}
    (tmp_path / "expect.json").write_text(json.dumps(expect))
    args = ["verify", str(tmp_path), "--circuit", str(tiny_circuit.path), "--allow-dev-srs",
            "--expect", str(tmp_path / "expect.json"), "--json"]
    # the folder holds the bundle and the expectation; the expectation is not a proof: malformed
    result = CliRunner().invoke(main, args)
    by_file = {r["file"]: r for r in json.loads(result.output)["results"]}
    assert by_file[str(path)]["reason"] == "ok"
    assert by_file[str(tmp_path / "expect.json")]["reason"] == "malformed"
    assert result.exit_code == 2

    expect["trainer"] = "0x" + public_key(_sk(b"someone else")).hex()
    (tmp_path / "expect.json").write_text(json.dumps(expect))
    result = CliRunner().invoke(main, ["verify", str(path), *args[2:]])
    assert result.exit_code == 1
    assert json.loads(result.output)["results"][0]["reason"] == "wrong_trainer"
