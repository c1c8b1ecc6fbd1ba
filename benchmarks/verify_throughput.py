"""Benchmark: validator throughput, many bundles verified in one process (issues 9 and 18).

Builds (or reuses) the circuit of ``--spec`` and a few distinct honest signed bundles with k = 2
proven steps (cached under ``--cache``; proving is the slow part), then, in a fresh validator
process that never imports torch, measures:

* one ezkl verification: the first call in the process (cold) and the median of later ones
  (warm), with ``reduced_srs`` off (pot's setting) and on, and the part of it that only loads
  files (settings, SRS, vk: a proof of no bytes), with the circuit's SRS and a one-row one;
* one EVM verification (issue 18): the pinned verifier contract in an in-process pyrevm
  (``pot verify --backend evm``): the first call in the process (cold: deploying the verifier,
  deriving and registering the circuit's VKA, then the call) and the median of later ones (warm),
  with the gas of a verify call, of the VKA registration and of the deployment;
* one BLS signature verification with py_ecc (the reference) and milagro (pot's default);
* bundles per second over ``--bundles`` files, the way ``pot verify`` reads and judges them, with
  each proof backend (``evm``, ``ezkl``: milagro, minimality by the remembered proof length), and
  on the old path measured in the same run (py_ecc, every proof verified by ezkl twice: once
  whole, once without its last byte);
* the measuring process's peak RSS;
* bundles per second with ``--workers`` processes (``pot verify --workers``, EVM backend), counted
  from the call, so the workers' start (imports, loading the circuit, deploying the verifier) is
  paid inside the figure.

The files cycle over the distinct bundles: a verifier keeps nothing between bundles but the
per-circuit proof length, so a repeated file costs what a new one does.

    python benchmarks/verify_throughput.py                      # mlp-tiny, 20 bundle files
    python benchmarks/verify_throughput.py --spec mlp-digits --bundles 20 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: import pot and benchmarks from this checkout
    sys.path.insert(0, str(ROOT))

DEFAULT_CACHE = ROOT / "runs" / "verify-throughput"
SAMPLES_PER_BUNDLE = 2
WARM_CALLS = 5
WARM_EVM_CALLS = 20
REFERENCE_SIGNATURE_CALLS = 3
FAST_SIGNATURE_CALLS = 200
MAX_BASELINE_BUNDLES = 4


def prepare(spec_name: str, circuits: Path, cache: Path, distinct: int) -> tuple[Path, list[Path]]:
    """Build (or reuse) the circuit and ``distinct`` honest bundles; their paths."""
    from pot.bundle import dump_bundle
    from pot.circuit import build_circuit
    from pot.fuzz import build_honest_round
    from pot.spec import load_spec

    circuit = build_circuit(load_spec(spec_name), circuits)
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for round_number in range(distinct):
        path = cache / f"bundle-{circuit.circuit_id[2:18]}-r{round_number}.json"
        if not path.exists():
            honest = build_honest_round(circuit, samples=SAMPLES_PER_BUNDLE,
                                        round_number=round_number)
            path.write_bytes(dump_bundle(honest.bundle))
        paths.append(path)
    return circuit.path, paths


def _ezkl_seconds(circuit: Any, proof: bytes, reduced: bool, calls: int, srs: Path | None = None,
                  expect: bool = True) -> list[float]:
    """Seconds of each of ``calls`` ezkl.verify calls on one proof file written once."""
    import ezkl

    body = {"instances": [[]], "proof": list(proof)}  # the step circuit has no public instances
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "proof.json"
        path.write_text(json.dumps(body))
        args = (str(path), str(circuit.file("settings.json")), str(circuit.file("vk.key")),
                str(srs or circuit.file("kzg.srs")), reduced)
        seconds = []
        for _ in range(calls):
            start = time.perf_counter()
            try:
                ok = bool(ezkl.verify(*args))
            except RuntimeError:
                ok = False
            seconds.append(time.perf_counter() - start)
            if ok != expect:
                raise AssertionError(f"ezkl.verify gave {ok}, expected {expect}")
    return seconds


def _load_seconds(circuit: Any) -> tuple[float, float]:
    """Median seconds of ezkl.verify on a proof of no bytes: it loads the settings, the SRS and
    the vk, then fails at the first transcript read. With the circuit's SRS, then with a one-row
    development SRS (another ceremony: a timing of the load only, nothing is verified)."""
    import ezkl

    with tempfile.TemporaryDirectory() as tmp:
        tiny_srs = Path(tmp) / "k1.srs"
        ezkl.gen_srs(str(tiny_srs), 1)
        full = _ezkl_seconds(circuit, b"", True, WARM_CALLS, expect=False)
        tiny = _ezkl_seconds(circuit, b"", True, WARM_CALLS, tiny_srs, expect=False)
    return statistics.median(full), statistics.median(tiny)


def _signature_seconds(bundle: Any, backend: str, calls: int) -> float:
    from pot.protocol import bls
    from pot.protocol.keys import verify_body

    body = bundle.body()
    with bls.using_backend(backend):
        start = time.perf_counter()
        for _ in range(calls):
            if not verify_body(bundle.trainer, body, bundle.signature):
                raise AssertionError("an honest signature did not verify")
        return (time.perf_counter() - start) / calls


class _Forgetful(dict):  # type: ignore[type-arg]
    """A minimal-length memo that never remembers: every proof gets the cut-one-byte check."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def _evm_seconds(circuit: Any, proof: bytes, calls: int) -> tuple[float, list[float], Any, Any]:
    """Seconds of the first EVM check in this process (deploy, VKA, register, verify) and of
    ``calls`` more; the verifier and the circuit's registration."""
    from pot.evm.backend import evm_verifier

    start = time.perf_counter()
    evm = evm_verifier()
    reg = evm.register(circuit)
    if evm.check_registered(reg, proof).reason is not None:
        raise AssertionError("an honest proof did not verify on the EVM")
    cold = time.perf_counter() - start
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        check = evm.check_registered(reg, proof)
        seconds.append(time.perf_counter() - start)
        if check.reason is not None:
            raise AssertionError("an honest proof did not verify on the EVM")
    return cold, seconds, evm, reg


def _bundles_per_second(circuit: Any, files: list[Path], backend: str = "evm") -> tuple[float, float]:
    """(bundles per second, seconds per bundle) reading and judging ``files`` as pot verify does."""
    from pot.verifier import read_verifiable, verify_item

    start = time.perf_counter()
    for path in files:
        verdict = verify_item(read_verifiable(path), circuit, None, True, backend)
        if not verdict.ok:
            raise AssertionError(f"{path}: {verdict}")
    seconds = time.perf_counter() - start
    return len(files) / seconds, seconds / len(files)


def _pool_bundles_per_second(circuit: Any, files: list[Path], workers: int,
                             backend: str = "evm") -> float:
    """Bundles per second through :func:`pot.verifier.judge_files` with ``workers`` processes."""
    from pot.verifier import judge_files

    start = time.perf_counter()
    for entry, _ in judge_files(files, {circuit.circuit_id: circuit}, None, True, workers, backend):
        if not entry["valid"]:
            raise AssertionError(f"{entry}")
    return len(files) / (time.perf_counter() - start)


def measure(circuit_path: Path, bundle_paths: list[Path], n_files: int, workers: int) -> dict[str, Any]:
    """Every figure of the module docstring, in this (fresh) process."""
    from unittest import mock

    from pot import proofcheck
    from pot.circuit import load_circuit
    from pot.protocol import bls
    from pot.verifier import read_verifiable

    load_before = os.getloadavg()[0]
    circuit = load_circuit(circuit_path)
    files = [bundle_paths[i % len(bundle_paths)] for i in range(n_files)]
    bundle = read_verifiable(bundle_paths[0])
    step = bundle.openings[0].proof  # type: ignore[union-attr]
    cold, *warm = _ezkl_seconds(circuit, step.proof, False, 1 + WARM_CALLS)
    reduced = _ezkl_seconds(circuit, step.proof, True, WARM_CALLS)
    load_full_srs, load_tiny_srs = _load_seconds(circuit)
    evm_cold, evm_warm, evm, reg = _evm_seconds(circuit, step.proof, WARM_EVM_CALLS)
    evm_gas = evm.check_registered(reg, step.proof).gas_used
    sig_ref = _signature_seconds(bundle, bls.PY_ECC, REFERENCE_SIGNATURE_CALLS)
    sig_fast = _signature_seconds(bundle, bls.MILAGRO, FAST_SIGNATURE_CALLS)
    new_rate, new_seconds = _bundles_per_second(circuit, files, "ezkl")
    evm_rate, evm_seconds = _bundles_per_second(circuit, files, "evm")
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pool_rate = _pool_bundles_per_second(circuit, files, workers)
    with bls.using_backend(bls.PY_ECC), mock.patch.object(proofcheck, "_MINIMAL_PROOF_BYTES",
                                                          _Forgetful()):
        old_rate, old_seconds = _bundles_per_second(circuit, files[:MAX_BASELINE_BUNDLES], "ezkl")
    return {
        "spec": circuit.spec.name, "logrows": circuit.logrows, "circuit_id": circuit.circuit_id,
        "proof_bytes": len(step.proof), "proofs_per_bundle": len(bundle.openings),  # type: ignore[union-attr]
        "distinct_bundles": len(bundle_paths), "bundle_files": n_files,
        "ezkl_verify_cold_s": cold, "ezkl_verify_warm_s": statistics.median(warm),
        "ezkl_verify_reduced_srs_warm_s": statistics.median(reduced),
        "ezkl_load_only_s": load_full_srs, "ezkl_load_only_one_row_srs_s": load_tiny_srs,
        "srs_bytes": circuit.file("kzg.srs").stat().st_size,
        "vk_bytes": circuit.file("vk.key").stat().st_size,
        "evm_verify_cold_s": evm_cold, "evm_verify_warm_s": statistics.median(evm_warm),
        "evm_verify_warm_min_s": min(evm_warm), "evm_verify_gas": evm_gas,
        "evm_register_gas": reg.gas_used, "evm_deploy_gas": evm.deploy_gas,
        "evm_vka_words": len(reg.words),
        "evm_runtime_bytes": len(evm.artifact.runtime),
        "evm_bundles_per_s": evm_rate, "evm_s_per_bundle": evm_seconds,
        "signature_py_ecc_s": sig_ref, "signature_milagro_s": sig_fast,
        "new_bundles_per_s": new_rate, "new_s_per_bundle": new_seconds,
        "old_bundles_per_s": old_rate, "old_s_per_bundle": old_seconds,
        "old_bundle_files": min(n_files, MAX_BASELINE_BUNDLES),
        "peak_rss_mb": peak_rss_mb, "workers": workers, "pool_bundles_per_s": pool_rate,
        "pool_worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "load_avg_1m": [load_before, os.getloadavg()[0]],  # the machine is shared
    }


def print_table(r: dict[str, Any]) -> None:
    print(f"spec {r['spec']}, logrows {r['logrows']}, proof {r['proof_bytes']:,} bytes, "
          f"vk {r['vk_bytes']:,} bytes, SRS {r['srs_bytes']:,} bytes, "
          f"k = {r['proofs_per_bundle']} proofs per bundle, {r['bundle_files']} files over "
          f"{r['distinct_bundles']} distinct bundles; load average {r['load_avg_1m'][0]:.1f} at "
          f"the start, {r['load_avg_1m'][1]:.1f} at the end")
    rows = [
        ("ezkl verify, cold (first call)", f"{r['ezkl_verify_cold_s'] * 1e3:.1f} ms", ""),
        ("ezkl verify, warm", f"{r['ezkl_verify_warm_s'] * 1e3:.1f} ms", ""),
        ("ezkl verify, warm, reduced_srs", f"{r['ezkl_verify_reduced_srs_warm_s'] * 1e3:.1f} ms",
         f"{r['ezkl_verify_warm_s'] / r['ezkl_verify_reduced_srs_warm_s']:.2f}x"),
        ("ezkl load only (empty proof): settings, SRS, vk", f"{r['ezkl_load_only_s'] * 1e3:.1f} ms",
         f"{r['ezkl_load_only_s'] / r['ezkl_verify_warm_s']:.0%} of warm"),
        ("  the same with a one-row SRS (516 bytes)",
         f"{r['ezkl_load_only_one_row_srs_s'] * 1e3:.1f} ms", ""),
        ("EVM verify (pinned contract in pyrevm), cold: deploy, VKA, register",
         f"{r['evm_verify_cold_s'] * 1e3:.1f} ms", ""),
        ("EVM verify, warm (median)", f"{r['evm_verify_warm_s'] * 1e3:.1f} ms",
         f"{r['ezkl_verify_warm_s'] / r['evm_verify_warm_s']:.2f}x ezkl"),
        ("EVM verify, warm (fastest)", f"{r['evm_verify_warm_min_s'] * 1e3:.1f} ms", ""),
        ("EVM gas: verify / register VKA / deploy",
         f"{r['evm_verify_gas']:,} / {r['evm_register_gas']:,} / {r['evm_deploy_gas']:,}", ""),
        ("BLS verify, py_ecc (reference)", f"{r['signature_py_ecc_s'] * 1e3:.1f} ms", ""),
        ("BLS verify, milagro", f"{r['signature_milagro_s'] * 1e3:.2f} ms",
         f"{r['signature_py_ecc_s'] / r['signature_milagro_s']:.0f}x"),
        (f"old path (py_ecc, 2 ezkl per proof), {r['old_bundle_files']} files",
         f"{r['old_bundles_per_s']:.2f} bundles/s", f"{r['old_s_per_bundle']:.3f} s each"),
        (f"ezkl backend (milagro, length memo), {r['bundle_files']} files",
         f"{r['new_bundles_per_s']:.2f} bundles/s", f"{r['new_s_per_bundle']:.3f} s each"),
        ("ezkl backend / old", f"{r['new_bundles_per_s'] / r['old_bundles_per_s']:.2f}x", ""),
        (f"EVM backend (pot verify's default), {r['bundle_files']} files",
         f"{r['evm_bundles_per_s']:.2f} bundles/s", f"{r['evm_s_per_bundle']:.3f} s each"),
        ("EVM backend / ezkl backend", f"{r['evm_bundles_per_s'] / r['new_bundles_per_s']:.2f}x", ""),
        ("peak RSS of the validator process", f"{r['peak_rss_mb']:.0f} MB", ""),
        (f"{r['workers']} worker processes (pot verify --workers, EVM), from the call",
         f"{r['pool_bundles_per_s']:.2f} bundles/s",
         f"{r['pool_bundles_per_s'] / r['evm_bundles_per_s']:.2f}x one"),
        ("  peak RSS of a worker", f"{r['pool_worker_peak_rss_mb']:.0f} MB", ""),
    ]
    for name, value, note in rows:
        print(f"{name:<68} {value:>28} {note:>14}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="mlp-tiny")
    parser.add_argument("--bundles", type=int, default=20, help="bundle files to verify")
    parser.add_argument("--distinct", type=int, default=2, help="distinct honest bundles to prove")
    parser.add_argument("--circuits", type=Path, default=ROOT / "circuits")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--workers", type=int, default=2, help="processes of the pooled measurement")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--measure", nargs="+", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the fresh validator process: circuit folder, then bundle files
        print(json.dumps(measure(args.measure[0], args.measure[1:], args.bundles, args.workers)))
        return
    circuit_path, bundle_paths = prepare(args.spec, args.circuits, args.cache, args.distinct)
    out = subprocess.run([sys.executable, __file__, "--bundles", str(args.bundles),
                          "--workers", str(args.workers), "--measure",
                          str(circuit_path), *map(str, bundle_paths)],
                         check=True, capture_output=True, text=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    else:
        print_table(figures)


if __name__ == "__main__":
    main()
