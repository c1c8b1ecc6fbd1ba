"""Benchmark: one real SGD step of a spec, proven and verified with ezkl (issue 2).

Prints setup, witness, prove and verify seconds, peak RSS, proof/vk/pk bytes, and the plain torch
SGD step measured in the same run, with the ratio of prove time to it. Each ezkl phase runs in a
fresh child process so that its peak RSS is its own.

    python benchmarks/prove_step.py --spec mlp-digits
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time, resource
from pathlib import Path
phase, spec_name, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
from pot.spec import load_spec
from pot.circuit import build_circuit, load_circuit
from pot.data import batch_arrays, initial_checkpoint, load_dataset
spec = load_spec(spec_name)
out = {}
t = time.perf_counter()
if phase == "setup":
    c = build_circuit(spec, root)
    out["seconds"] = time.perf_counter() - t
    out["circuit"] = str(c.path)
else:
    c = load_circuit(Path(sys.argv[4]))
    if phase == "prove":
        from pot.prover import run_step, prove_witness
        data = load_dataset(spec.dataset)
        x, y = batch_arrays(data, list(range(spec.batch_size)), spec)
        t = time.perf_counter()
        w = run_step(c, initial_checkpoint(spec), x, y)
        out["witness_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        p = prove_witness(c, w)
        out["seconds"] = time.perf_counter() - t
        (root / "step.json").write_text(json.dumps(p.to_json()))
        out["proof_bytes"] = len(p.proof)
    else:
        from pot.verifier import read_step_proof, verify_step_proof
        p = read_step_proof(root / "step.json")
        t = time.perf_counter()
        v = verify_step_proof(p, c, allow_dev_srs=True)
        out["seconds"] = time.perf_counter() - t
        assert v.ok, v
out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


def child(*args: str) -> dict:
    res = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"phase {args[0]} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def torch_step_seconds(spec_name: str, repeats: int = 200) -> float:
    from pot.data import batch_arrays, dequantize, initial_checkpoint, load_dataset
    from pot.export import torch_sgd_step
    from pot.spec import load_spec

    spec = load_spec(spec_name)
    data = load_dataset(spec.dataset)
    x, y = batch_arrays(data, list(range(spec.batch_size)), spec)
    params = {k: dequantize(v, spec.scale) for k, v in initial_checkpoint(spec).items()}
    torch_sgd_step(spec, params, x, y)
    t = time.perf_counter()
    for _ in range(repeats):
        torch_sgd_step(spec, params, x, y)
    return (time.perf_counter() - t) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="mlp-digits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        s = child("setup", args.spec, str(root))
        circuit = Path(s["circuit"])
        p = child("prove", args.spec, str(root), str(circuit))
        v = child("verify", args.spec, str(root), str(circuit))
        manifest = json.loads((circuit / "manifest.json").read_text())
        sizes = {name: (circuit / name).stat().st_size for name in ("pk.key", "vk.key", "kzg.srs")}
    torch_s = torch_step_seconds(args.spec)
    rows = [
        ("spec", args.spec),
        ("logrows", manifest["logrows"]),
        ("setup s", f"{s['seconds']:.1f}"),
        ("witness s", f"{p['witness_seconds']:.2f}"),
        ("prove s", f"{p['seconds']:.1f}"),
        ("verify s", f"{v['seconds']:.3f}"),
        ("peak RSS setup GB", f"{s['peak_rss_bytes'] / 1e9:.2f}"),
        ("peak RSS prove GB", f"{p['peak_rss_bytes'] / 1e9:.2f}"),
        ("peak RSS verify GB", f"{v['peak_rss_bytes'] / 1e9:.2f}"),
        ("proof bytes", p["proof_bytes"]),
        ("vk bytes", sizes["vk.key"]),
        ("pk bytes", sizes["pk.key"]),
        ("torch SGD step ms (baseline)", f"{torch_s * 1e3:.3f}"),
        ("prove / torch step", f"{p['seconds'] / torch_s:,.0f}x"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, val in rows:
        print(f"{k:<{width}}  {val}")
    _ = resource  # peak RSS is measured in the children


if __name__ == "__main__":
    main()
