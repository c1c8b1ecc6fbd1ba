"""Benchmark: one honest round of the proof-of-training protocol (issue 3).

Prints the wall time of one trainer's round (T steps, k proofs) split into training, commitment,
proving and verification; verify time per bundle; bundle bytes; and prove time against k, parallel
(a process pool over the cores) against serial, measured in the same run.

    python benchmarks/round.py --spec mlp-tiny --steps 20 --k 1 2
    python benchmarks/round.py --spec mlp-digits --steps 20 --k 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eth_hash.auto import keccak

from pot.bundle import dump_bundle, load_bundle
from pot.circuit import build_circuit
from pot.data import initial_checkpoint, load_dataset, train_test_split
from pot.executors import LocalProcessExecutor, SerialExecutor
from pot.protocol.challenge import challenge_indices
from pot.protocol.keys import derive_secret_key, public_key
from pot.spec import load_spec
from pot.trainer import LocalData, build_bundle, commit_dataset, prove_challenged, run_trajectory
from pot.verifier import Expected, verify_bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="mlp-tiny")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--circuits", type=Path, default=None)
    args = parser.parse_args()
    spec = load_spec(args.spec)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        circuit = build_circuit(spec, args.circuits or Path(tmp))
        setup_s = time.perf_counter() - t
        train, _ = train_test_split(load_dataset(spec.dataset))
        n = spec.batch_size * 40
        shard = LocalData(spec, train.x[:n], train.y[:n])
        sk = derive_secret_key(bytes(keccak(b"bench trainer")) * 2)
        t = time.perf_counter()
        dataset = commit_dataset(shard, circuit)
        commit_data_s = time.perf_counter() - t
        t = time.perf_counter()
        traj = run_trajectory(circuit, initial_checkpoint(spec), shard, dataset, args.steps)
        train_s = time.perf_counter() - t
        job, beacon = bytes(keccak(b"bench job")), bytes(keccak(b"bench beacon"))
        rows = []
        for k in args.k:
            idx = challenge_indices(job, 0, public_key(sk), traj.root, beacon, args.steps, k)
            timings = {}
            for name, ex in (("serial", SerialExecutor()), ("parallel", LocalProcessExecutor())):
                t = time.perf_counter()
                proofs = prove_challenged(circuit, traj, shard, dataset.n_batches, idx, 0, ex)
                timings[name] = time.perf_counter() - t
            bundle = build_bundle(sk=sk, job_id=job, round_number=0, circuit=circuit, traj=traj,
                                  dataset=dataset, beacon=beacon, indices=idx, proofs=proofs)
            raw = dump_bundle(bundle)
            t = time.perf_counter()
            verdict = verify_bundle(load_bundle(raw), circuit, Expected(min_samples=k), True)
            verify_s = time.perf_counter() - t
            assert verdict.ok, verdict
            rows.append((k, timings["serial"], timings["parallel"], verify_s, len(raw)))
    print(f"spec {spec.name}, T = {args.steps}, batch {spec.batch_size}, logrows {circuit.logrows}")
    print(f"circuit setup (cached after the first run)   {setup_s:8.1f} s")
    print(f"dataset commitment ({dataset.n_batches} batches)            {commit_data_s:8.2f} s")
    print(f"training + trajectory commitment ({args.steps} steps) {train_s:8.2f} s")
    print(f"{'k':>3} {'prove serial s':>15} {'prove parallel s':>17} {'speed-up':>9} "
          f"{'verify s':>9} {'bundle bytes':>13} {'round wall s':>13}")
    for k, serial, parallel, verify_s, size in rows:
        wall = commit_data_s + train_s + parallel + verify_s
        print(f"{k:>3} {serial:>15.1f} {parallel:>17.1f} {serial / parallel:>8.2f}x "
              f"{verify_s:>9.2f} {size:>13,} {wall:>13.1f}")


if __name__ == "__main__":
    main()
