"""Benchmark: how well ``pot spec show``'s row prediction (``pot.cost``) matches ezkl's exact count.

For a set of specs (the zoo, MLP and CNN variants, momentum, weight decay, MSE), exports the step
and asks ``ezkl.gen_settings`` for its exact row count (cheap: no keys are built), then prints it
beside :func:`pot.cost.predict_rows` and beside the MLP-only rule of ``docs/performance.md``
(45 rows per parameter + 16,000), the baseline, in the same run. ``--fit`` also prints the least
squares fit of :data:`pot.cost.ROW_FEATURES` over these specs (how ``pot.cost``'s constants were
obtained).

    python benchmarks/spec_rows.py --fit
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any


def variants() -> list[Any]:
    from pot.spec import ModelSpec, load_spec, mlp_layers, zoo_names

    specs = [load_spec(n) for n in zoo_names()]
    digits = load_spec("mlp-digits")
    for widths, batch in (((64, 16, 10), 16), ((64, 64, 10), 16), ((64, 32, 10), 4),
                          ((64, 32, 10), 32), ((16, 32, 32, 10), 8)):
        specs.append(dataclasses.replace(digits, name=f"mlp-{'-'.join(map(str, widths))}-b{batch}",
                                         batch_size=batch, **mlp_layers(widths)))
    for ch, batch, k, pad in ((2, 2, 3, 1), (4, 2, 3, 1), (4, 4, 3, 1), (2, 4, 3, 0), (8, 2, 3, 1)):
        specs.append(ModelSpec.from_json({
            "version": "pot.spec/2", "name": f"cnn-c{ch}-b{batch}-k{k}-p{pad}", "input_shape": [1, 8, 8],
            "layers": [{"type": "conv2d", "out_channels": ch, "kernel_size": k, "padding": pad},
                       {"type": "relu"}, {"type": "avgpool2d", "kernel_size": 2}, {"type": "flatten"},
                       {"type": "linear", "out_features": 10}],
            "loss": "softmax_cross_entropy", "optimizer": {"type": "sgd", "learning_rate": "0.25"},
            "batch_size": batch, "scale": 13, "init_seed": 0}))
    tiny = load_spec("mlp-tiny")
    specs.append(dataclasses.replace(tiny, name="tiny-momentum", momentum="0.5"))
    specs.append(dataclasses.replace(tiny, name="tiny-momentum-wd", momentum="0.5",
                                     weight_decay="0.0625"))
    specs.append(dataclasses.replace(digits, name="digits-momentum", momentum="0.875"))
    specs.append(dataclasses.replace(tiny, name="tiny-mse", loss="mse"))
    return specs


def main() -> None:
    import numpy as np

    from pot.circuit import exact_rows
    from pot.cost import ROW_FEATURES, predict_rows, row_features

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit", action="store_true", help="also fit the constants")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    rows = []
    print(f"{'spec':<26} {'params':>7} {'exact rows':>11} {'pot.cost':>9} {'err':>6} "
          f"{'45/param+16k':>13} {'err':>6}", flush=True)
    for spec in variants():
        exact = exact_rows(spec)
        ours = predict_rows(spec)
        rule = 45 * spec.n_params + 16_000
        rows.append({"spec": spec.name, "params": spec.n_params, "exact": exact, "pot_cost": ours,
                     "rule": rule, "features": row_features(spec)})
        print(f"{spec.name:<26} {spec.n_params:>7,} {exact:>11,} {ours:>9,} "
              f"{ours / exact - 1:>+6.0%} {rule:>13,} {rule / exact - 1:>+6.0%}", flush=True)
    worst = max(abs(r["pot_cost"] / r["exact"] - 1) for r in rows)
    worst_rule = max(abs(r["rule"] / r["exact"] - 1) for r in rows)
    print(f"worst relative error: pot.cost {worst:.0%}, 45/param+16k (baseline) {worst_rule:.0%}")
    if args.fit:
        a = np.array([[1.0, *r["features"]] for r in rows])
        b = np.array([r["exact"] for r in rows], dtype=np.float64)
        coef, *_ = np.linalg.lstsq(a, b, rcond=None)
        print("fit: const " + ", ".join(f"{c:.1f}" for c in coef[:1]) + "; " +
              ", ".join(f"{name} {c:.2f}" for name, c in zip(ROW_FEATURES, coef[1:], strict=True)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
