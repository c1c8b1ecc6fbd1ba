"""Benchmark: one SGD step proven as linked shards against the monolithic circuit (issue 16).

For each model: builds the monolithic circuit (where ``--mono`` allows) and the sharded circuit
(:mod:`pot.shard`, one logrows for every shard), proves the same step on the same W_0 and batch
with both, verifies both, checks the sharded step's W_{t+1} equals the monolithic one integer for
integer, and prints setup / prove / verify seconds and peak RSS side by side, with the shard count
and rows per parameter. The sharded step is proven with each ``--workers`` count (a local process
pool; the first count's figures are the ones compared). Each phase runs in a fresh child process
so that its peak RSS is its own (a pool's workers included). ``--png`` plots prove seconds and
peak RSS against parameters.

    python benchmarks/prove_sharded.py --models tiny@15 digits@16 --workers 1 2 \\
        --png docs/prove_sharded.png
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CHILD = r"""
import json, sys, time, resource, dataclasses
from pathlib import Path
import numpy as np
cfg = json.loads(sys.argv[1])
from pot.spec import load_spec, mlp_layers
from pot.data import batch_arrays, initial_checkpoint, load_dataset, quantize, dequantize
spec = load_spec(cfg["spec"])
if cfg.get("layers"):
    name = "mlp-" + "-".join(map(str, cfg["layers"]))
    spec = dataclasses.replace(spec, name=name, **mlp_layers(tuple(cfg["layers"])))
root = Path(cfg["root"])
def batch():
    if spec.layers[0] == 64 and not cfg.get("synthetic"):
        return batch_arrays(load_dataset(spec.dataset), list(range(spec.batch_size)), spec)
    rng = np.random.default_rng(0)  # synthetic: cost does not depend on the data
    x = dequantize(quantize(rng.random((spec.batch_size, spec.n_features)), spec.scale), spec.scale)
    y = np.eye(spec.n_classes)[rng.integers(0, spec.n_classes, spec.batch_size)]
    return x, y
out = {"params": spec.n_params}
phase = cfg["phase"]
t = time.perf_counter()
if phase == "mono-setup":
    from pot.circuit import build_circuit
    c = build_circuit(spec, root / "mono")
    out.update(seconds=time.perf_counter() - t, path=str(c.path), logrows=c.logrows,
               rows=json.loads(c.file("settings.json").read_text())["num_rows"])
elif phase == "mono-prove":
    from pot.circuit import load_circuit
    from pot.prover import prove_step
    c = load_circuit(Path(cfg["path"]))
    x, y = batch()
    p, w = prove_step(c, initial_checkpoint(spec), x, y)
    out["seconds"] = time.perf_counter() - t
    (root / "mono.json").write_text(json.dumps(p.to_json()))
    flat = [w.params_next[n].ravel() for n, _ in spec.param_shapes()]
    np.save(root / "mono_next.npy", np.concatenate(flat))
elif phase == "mono-verify":
    from pot.circuit import load_circuit
    from pot.verifier import read_step_proof, verify_step_proof
    c = load_circuit(Path(cfg["path"]))
    v = verify_step_proof(read_step_proof(root / "mono.json"), c, allow_dev_srs=True)
    out.update(seconds=time.perf_counter() - t, ok=v.ok, reason=v.reason)
elif phase == "shard-setup":
    from pot.shard.circuits import build_sharded, choose_tile_rows
    from pot.shard.plan import ShardPlan
    tiles = tuple(cfg["tiles"]) if cfg.get("tiles") else choose_tile_rows(spec, cfg["logrows"])
    sc = build_sharded(ShardPlan(spec, tiles), root / "sharded", logrows=cfg["logrows"])
    rows = {k: c.manifest["rows"] for k, c in sc.kinds.items()}
    total = sum(rows[s.kind] for s in sc.plan.shards)
    out.update(seconds=time.perf_counter() - t, path=str(sc.path), tiles=list(tiles),
               shards=len(sc.plan.shards), kinds=len(sc.kinds), kind_rows=rows, rows=total,
               pk_bytes=sum(c.file("pk.key").stat().st_size for c in sc.kinds.values()))
elif phase == "shard-prove":
    from pot.shard.circuits import load_sharded
    from pot.shard.prover import LocalShardPool, params_next, prove_sharded, run_sharded
    sc = load_sharded(Path(cfg["path"]))
    x, y = batch()
    w = run_sharded(sc, initial_checkpoint(spec), x, y)
    out["witness_seconds"] = time.perf_counter() - t
    per = {}
    def done(name, s):
        per[name] = s
        print(f"  shard {name}: {s:.1f} s", file=sys.stderr, flush=True)
    p = prove_sharded(sc, w, root / f"shards-{cfg['workers']}", LocalShardPool(cfg["workers"]), on_done=done)
    out.update(seconds=time.perf_counter() - t, shard_seconds=per)
    (root / "sharded.json").write_text(json.dumps(p.to_json()))
    nxt = params_next(sc, w)
    np.save(root / "sharded_next.npy", np.concatenate([nxt[n].ravel() for n, _ in spec.param_shapes()]))
    out["proof_bytes"] = sum(len(s.proof) for s in p.shards)
elif phase == "shard-verify":
    from pot.shard.circuits import load_sharded
    from pot.shard.verify import read_sharded_proof, verify_sharded
    sc = load_sharded(Path(cfg["path"]))
    v = verify_sharded(read_sharded_proof(root / "sharded.json"), sc, allow_dev_srs=True)
    out.update(seconds=time.perf_counter() - t, ok=v.ok, reason=v.reason)
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
out["peak_rss_bytes"] = max(own, kids) * 1024
print(json.dumps(out))
"""


def child(cfg: dict[str, Any]) -> dict[str, Any]:
    print(f"# {cfg['phase']} ...", file=sys.stderr, flush=True)
    res = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], stdout=subprocess.PIPE,
                         text=True)
    if res.returncode != 0:
        return {"error": f"phase {cfg['phase']} failed (exit {res.returncode})"}
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"# {cfg['phase']}: {json.dumps(out)}", file=sys.stderr, flush=True)
    return out


def measure(model: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    model, _, at = model.partition("@")
    logrows = int(at) if at else args.logrows
    layers = None if model in ("digits", "tiny") else [int(v) for v in model.split(",")]
    base = {"spec": "mlp-tiny" if model == "tiny" else "mlp-digits", "layers": layers,
            "root": str(root)}
    row: dict[str, Any] = {"model": model}
    if args.mono:
        setup = child({**base, "phase": "mono-setup"})
        row["mono_setup"] = setup
        if "error" not in setup:
            cfg = {**base, "path": setup["path"]}
            row["mono_prove"] = child({**cfg, "phase": "mono-prove"})
            row["mono_verify"] = child({**cfg, "phase": "mono-verify"})
    setup = child({**base, "phase": "shard-setup", "logrows": logrows,
                   "tiles": args.tiles})
    row["shard_setup"] = setup
    if "error" in setup:
        return row
    cfg = {**base, "path": setup["path"]}
    for workers in args.workers:
        row[f"shard_prove_w{workers}"] = child({**cfg, "phase": "shard-prove", "workers": workers})
    row["shard_verify"] = child({**cfg, "phase": "shard-verify"})
    mono, shard = root / "mono_next.npy", root / "sharded_next.npy"
    if mono.exists() and shard.exists():
        import numpy as np

        diff = np.load(mono) - np.load(shard)
        row["equal_to_monolithic"] = bool(not diff.any())
        row["max_diff_units"] = int(np.abs(diff).max())
        row["values_differing"] = int(np.count_nonzero(diff))
    return row


def fmt_gb(v: Any) -> str:
    return f"{v / 1e9:.2f} GB" if isinstance(v, (int, float)) else "-"


def fmt_s(v: Any) -> str:
    return f"{v:.1f} s" if isinstance(v, (int, float)) else "-"


def report(row: dict[str, Any], workers: list[int]) -> None:
    ss, ms = row["shard_setup"], row.get("mono_setup", {})
    sp = row.get(f"shard_prove_w{workers[0]}", {})
    mp = row.get("mono_prove", {})
    n = ss.get("params") or ms.get("params")
    print(f"\n## {row['model']} ({n} parameters)")
    if "error" in ss:
        print(f"sharded setup failed: {ss['error']}")
        return
    print(f"shards {ss['shards']} ({ss['kinds']} circuits), tiles {ss['tiles']}, rows {ss['rows']} "
          f"= {ss['rows'] / n:.1f} per parameter; kinds {ss['kind_rows']}")
    print("| figure | monolithic | sharded | sharded / monolithic |\n|---|---|---|---|")

    def line(name: str, m: Any, s: Any, f: Any) -> None:
        ratio = f"{s / m:.2f}x" if isinstance(m, (int, float)) and isinstance(s, (int, float)) and m else "-"
        print(f"| {name} | {f(m)} | {f(s)} | {ratio} |")

    line("rows", ms.get("rows"), ss["rows"], lambda v: str(v) if v else "-")
    line("setup", ms.get("seconds"), ss["seconds"], fmt_s)
    line("peak RSS setup", ms.get("peak_rss_bytes"), ss["peak_rss_bytes"], fmt_gb)
    line(f"prove ({workers[0]} worker)", mp.get("seconds"), sp.get("seconds"), fmt_s)
    line("peak RSS prove", mp.get("peak_rss_bytes"), sp.get("peak_rss_bytes"), fmt_gb)
    line("verify", row.get("mono_verify", {}).get("seconds"), row["shard_verify"].get("seconds"), fmt_s)
    for w in workers[1:]:
        other = row.get(f"shard_prove_w{w}", {})
        if isinstance(other.get("seconds"), float) and isinstance(sp.get("seconds"), float):
            print(f"sharded prove with {w} workers: {other['seconds']:.1f} s "
                  f"({sp['seconds'] / other['seconds']:.2f}x speedup over {workers[0]}), "
                  f"peak RSS {fmt_gb(other.get('peak_rss_bytes'))}")
    print(f"verified: monolithic {row.get('mono_verify', {}).get('ok')}, sharded "
          f"{row['shard_verify'].get('ok')}; W_t+1 equal to the monolithic step's: "
          f"{row.get('equal_to_monolithic')} ({row.get('values_differing')} values differ, by at "
          f"most {row.get('max_diff_units')} units of 2**-scale)")


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    panels = ((axes[0], "seconds", "prove (s)"), (axes[1], "peak_rss_bytes", "peak RSS of prove (GB)"))
    for ax, key, label in panels:
        for name, prefix in (("monolithic", "mono_prove"), ("sharded", "shard_prove_w1")):
            pts = sorted((r["shard_setup"]["params"], r[prefix][key]) for r in rows
                         if isinstance(r.get(prefix, {}).get(key), (int, float)))
            if pts:
                xs, ys = zip(*pts, strict=True)
                ys = [y / 1e9 for y in ys] if key == "peak_rss_bytes" else list(ys)
                ax.plot(xs, ys, "o-", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("parameters (log scale)")
        ax.set_ylabel(label)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle("one SGD step, batch 16: monolithic circuit vs linked shards (benchmarks/prove_sharded.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["digits"],
                        help="'tiny', 'digits' or comma-separated layer widths (synthetic data), "
                             "each optionally @LOGROWS (else --logrows)")
    parser.add_argument("--logrows", type=int, default=16, help="the shards' one logrows")
    parser.add_argument("--tiles", type=int, nargs="*", default=None,
                        help="rows per tile of each hidden layer (default: the largest that fit)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--no-mono", dest="mono", action="store_false",
                        help="skip the monolithic circuit (when it does not fit)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--png", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for model in args.models:
        with tempfile.TemporaryDirectory(prefix="pot-prove-sharded-") as tmp:
            rows.append(measure(model, args, Path(tmp)))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        report(rows[-1], args.workers)
    if args.png:
        plot(rows, args.png)


if __name__ == "__main__":
    main()
