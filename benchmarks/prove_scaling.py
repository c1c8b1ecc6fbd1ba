"""Benchmark: how one SGD-step proof's cost grows with model size and batch size (issue 9).

Proves one step of MLPs of growing parameter count (at the digits spec's batch), then of the
digits MLP at growing batch sizes, each under pot's circuit configuration
(``benchmarks/prove_cost.py``'s ``pot``), and prints prove seconds, pk bytes and peak RSS against
parameter count and batch size. The baseline of the ratios is the smallest model measured in the
same run. ``--png`` draws both curves (matplotlib).

    python benchmarks/prove_scaling.py --png docs/prove_scaling.png --json scaling.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from prove_cost import measure

MODELS = [("mlp-tiny", None), ("mlp-digits", (64, 16, 10)), ("mlp-digits", (64, 32, 10)),
          ("mlp-digits", (64, 64, 10)), ("mlp-digits", (64, 128, 10))]
"""(zoo spec, layers or None for the spec's own): 226 to 9,610 parameters."""
BATCHES = [4, 8, 16, 32]
"""Batch sizes of the digits MLP."""


def spec_variant(name: str, layers: tuple[int, ...] | None = None, batch: int | None = None) -> Any:
    from pot.spec import load_spec, mlp_layers

    spec = load_spec(name)
    changes: dict[str, Any] = {}
    if layers is not None:
        changes.update(mlp_layers(layers))
    if batch is not None:
        changes["batch_size"] = batch
    return dataclasses.replace(spec, name=f"{name}-variant", **changes) if changes else spec


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, kind, key, label in ((axes[0], "model", "params", "parameters (log scale)"),
                                 (axes[1], "batch", "batch", "batch size (log scale)")):
        pts = sorted((r for r in rows if r["sweep"] == kind and "prove_s" in r), key=lambda r: r[key])
        xs = [r[key] for r in pts]
        ax.plot(xs, [r["prove_s"] for r in pts], "o-", label="prove (s)")
        ax.plot(xs, [r["pk_bytes"] / 1e9 for r in pts], "s-", label="pk (GB)")
        ax.plot(xs, [r["prove_rss"] / 1e9 for r in pts], "^-", label="peak RSS of prove (GB)")
        for r in pts:
            ax.annotate(f"k={r['logrows']}", (r[key], r["prove_s"]), textcoords="offset points",
                        xytext=(4, 6), fontsize=8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].set_title("one SGD-step proof vs model size (batch 16; tiny: 4)")
    axes[1].set_title("one SGD-step proof vs batch size (64-32-10)")
    fig.suptitle("pot circuit (polycommit, ezkl 23.0.5), 2-core CPU", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="pot", help="a prove_cost.py configuration")
    parser.add_argument("--max-logrows", type=int, default=20)
    parser.add_argument("--skip-batches", action="store_true", help="only the model-size sweep")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    plan = [("model", spec_variant(n, layers)) for n, layers in MODELS]
    if not args.skip_batches:
        plan += [("batch", spec_variant("mlp-digits", batch=b)) for b in BATCHES]
    rows = []
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    for sweep, spec in plan:
        key = (spec.layers, spec.batch_size)
        if key not in done:
            print(f"[{sweep}] layers {list(spec.layers)} batch {spec.batch_size} "
                  f"({spec.n_params:,} parameters) ...", file=sys.stderr, flush=True)
            done[key] = measure(args.config, spec, {}, args.max_logrows)
            print(json.dumps(done[key]), file=sys.stderr, flush=True)
        rows.append({"sweep": sweep, **done[key]})
    base = next((r for r in rows if "prove_s" in r), None)
    print(f"{'sweep':<6} {'layers':<14} {'batch':>5} {'params':>7} {'logrows':>7} {'prove s':>8} "
          f"{'pk GB':>7} {'RSS GB':>7} {'prove x':>8}")
    for r in rows:
        if "prove_s" not in r:
            print(f"{r['sweep']:<6} {r['layers']!s:<14} {r['batch']:>5} {r['params']:>7} "
                  f"{r['logrows']:>7}  {r.get('skipped') or r.get('failed')}")
            continue
        assert base is not None
        print(f"{r['sweep']:<6} {r['layers']!s:<14} {r['batch']:>5} {r['params']:>7,} "
              f"{r['logrows']:>7} {r['prove_s']:>8.1f} {r['pk_bytes'] / 1e9:>7.2f} "
              f"{r['prove_rss'] / 1e9:>7.2f} {r['prove_s'] / base['prove_s']:>7.1f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if args.png:
        plot(rows, args.png)


if __name__ == "__main__":
    main()
