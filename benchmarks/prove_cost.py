"""Benchmark: what one SGD-step proof costs under several ezkl configurations, side by side (issue 9).

Every configuration proves the *same* step (the spec's integer W_0 on its first batch) on the same
machine in the same run, and each ezkl phase runs in a fresh child process so that its peak RSS is
its own. The first configuration is the baseline the ratios are taken against. Named configurations:

``naive``
    the textbook step graph (the learning rate multiplies every weight's gradient,
    ``pot.export.step_module(fold_lr=False)``) with ezkl 23.0.5 defaults and the whole step
    public: ``public`` inputs and outputs, 2 inner columns, scale 13, the lookup range the step
    needs. One vk serves every checkpoint, but every weight, feature and label is a public
    instance.
``hashed``
    pot's first circuit: ``hashed`` inputs and outputs (one Poseidon hash per tensor).
``pot``
    pot's default for the spec, exactly :func:`pot.circuit.run_args` (whatever that is today).
``split``
    proof splitting: pot's step as a forward and a backward circuit, linked by the KZG points of
    the tensors they share; costs are the two proofs' sums (peak RSS: the larger), and ``linked``
    says whether the points matched (:func:`measure_split`).
``polycommit``, ``polycommit-c<N>``, ``public-c<N>``, ``hashed-c<N>``
    pot's step graph (learning rate folded into the loss gradient) with that visibility and ``N``
    inner columns (default 2). Append ``-textbook`` for the textbook graph.

Other levers: ``--override key=value`` (an ezkl run arg, e.g. ``decomp_base=1024``), ``--layers`` and
``--batch`` to change the model (the scaling sweep), ``--scale``.

For each configuration it reports logrows and rows, setup / witness / prove / verify seconds, pk /
vk / proof bytes, peak RSS of setup, prove and verify, and the proven W_{t+1}'s error against
torch's float64 SGD step, as a fraction of the step's largest weight change.

    python benchmarks/prove_cost.py --spec mlp-digits --configs naive pot
    python benchmarks/prove_cost.py --configs pot split
    python benchmarks/prove_cost.py --configs naive polycommit-c2 polycommit-c8 --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
phase, cfg = sys.argv[1], json.loads(sys.argv[2])
work = Path(cfg["work"])
import ezkl
from pot.circuit import logrows_for, py_run_args  # no torch: the child's RSS is ezkl's
out = {}
def run_args(logrows):
    return py_run_args(dict(cfg["run_args"], logrows=logrows))
vis = (cfg["run_args"].get("input_visibility"), cfg["run_args"].get("output_visibility"))
polycommit = "polycommit" in vis
vk_srs = (str(work / "vk.key"), str(work / "kzg.srs")) if polycommit else (None, None)
t = time.perf_counter()
if phase in ("rows", "setup"):
    onnx, settings = str(work / "network.onnx"), str(work / "settings.json")
    ezkl.gen_settings(onnx, settings, py_run_args=run_args(15))
    s = json.loads(Path(settings).read_text())
    rows = int(s["num_rows"])
    logrows = cfg.get("logrows") or logrows_for(rows)  # a split step's halves share one logrows
    if phase == "rows" or logrows > cfg["max_logrows"]:
        out.update(rows=rows, logrows=logrows)
        if phase == "setup":
            out["skipped"] = f"needs logrows {logrows}"
        print(json.dumps(out)); sys.exit(0)
    ezkl.gen_settings(onnx, settings, py_run_args=run_args(logrows))
    ezkl.compile_circuit(onnx, str(work / "model.compiled"), settings)
    if cfg.get("srs"):  # linked proofs need one SRS: a point depends on it
        import shutil; shutil.copyfile(cfg["srs"], work / "kzg.srs")
    else:
        ezkl.gen_srs(str(work / "kzg.srs"), logrows)
    t = time.perf_counter()
    ezkl.setup(str(work / "model.compiled"), str(work / "vk.key"), str(work / "pk.key"),
               str(work / "kzg.srs"), None, False)
    out.update(rows=rows, logrows=logrows)
elif phase == "prove":
    ezkl.gen_witness(str(work / "input.json"), str(work / "model.compiled"), str(work / "witness.json"),
                     *vk_srs)
    out["witness_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    ezkl.prove(str(work / "witness.json"), str(work / "model.compiled"), str(work / "pk.key"),
               str(work / "proof.json"), str(work / "kzg.srs"))
else:
    assert ezkl.verify(str(work / "proof.json"), str(work / "settings.json"), str(work / "vk.key"),
                       str(work / "kzg.srs"), False)
out["seconds"] = time.perf_counter() - t
out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


def child(phase: str, cfg: dict[str, Any]) -> dict[str, Any]:
    res = subprocess.run([sys.executable, "-c", CHILD, phase, json.dumps(cfg)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        print(f"{cfg['name']}: phase {phase} failed (exit {res.returncode}):\n{res.stderr[-2000:]}",
              file=sys.stderr)
        return {"failed": f"{phase} exited {res.returncode}"}
    result: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return result


def config_run_args(name: str, spec: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """The ezkl run args (without logrows) of a named configuration."""
    from pot.circuit import run_args

    args = run_args(spec, 15)
    del args["logrows"]
    if name == "pot":
        return {**args, **overrides}
    name = name.removesuffix("-textbook")
    vis, _, cols = name.partition("-c")
    if vis == "naive":
        vis, cols = "public", "2"
    if vis not in ("public", "hashed", "polycommit"):
        raise SystemExit(f"unknown configuration {name!r}")
    args.update(input_visibility=vis, output_visibility=vis, num_inner_cols=int(cols or 2))
    return {**args, **overrides}


def parse_override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--override wants key=value, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def step_error(spec: Any, witness: dict[str, Any], indices: list[int] | None = None) -> float:
    """max |W_{t+1}(proven) - W_{t+1}(torch float64)| / max |W_{t+1}(torch) - W_t|, for the step
    from W_0 on the batch of ``indices`` (default: the first batch)."""
    import numpy as np

    from pot.data import batch_arrays, dequantize, initial_checkpoint, load_dataset
    from pot.export import torch_sgd_step
    from pot.prover import signed_felt

    data = load_dataset(spec.dataset)
    x, y = batch_arrays(data, indices or list(range(spec.batch_size)), spec)
    params = {k: dequantize(v, spec.scale) for k, v in initial_checkpoint(spec).items()}
    ref = torch_sgd_step(spec, params, x, y)
    err = change = 0.0
    for (name, shape), felts in zip(spec.param_shapes(), witness["outputs"], strict=True):
        got = dequantize(np.array([signed_felt(f) for f in felts], dtype=np.int64), spec.scale)
        err = max(err, float(np.max(np.abs(got.reshape(shape) - ref[name]))))
        change = max(change, float(np.max(np.abs(ref[name] - params[name]))))
    return err / change


def measure(name: str, spec: Any, overrides: dict[str, Any], max_logrows: int) -> dict[str, Any]:
    from pot.data import batch_arrays, initial_checkpoint, load_dataset
    from pot.export import export_step
    from pot.prover import input_json

    with tempfile.TemporaryDirectory(prefix="pot-prove-cost-") as tmp:
        work = Path(tmp)
        fold_lr = not (name == "naive" or name.endswith("-textbook"))
        export_step(spec, work / "network.onnx", fold_lr=fold_lr)
        data = load_dataset(spec.dataset)
        x, y = batch_arrays(data, list(range(spec.batch_size)), spec)
        step_input = input_json(spec, initial_checkpoint(spec), x, y)
        (work / "input.json").write_text(json.dumps(step_input))
        cfg = {"name": name, "work": str(work), "max_logrows": max_logrows,
               "run_args": config_run_args(name, spec, overrides)}
        s = child("setup", cfg)
        row: dict[str, Any] = {"config": name, "run_args": cfg["run_args"], "rows": s.get("rows"),
                               "logrows": s.get("logrows"), "params": spec.n_params,
                               "batch": spec.batch_size, "layers": list(spec.layers)}
        if "failed" in s:
            return {**row, "failed": s["failed"]}
        if "skipped" in s:
            return {**row, "skipped": s["skipped"]}
        p = child("prove", cfg)
        if "failed" in p:
            return {**row, "failed": p["failed"]}
        v = child("verify", cfg)
        if "failed" in v:
            return {**row, "failed": v["failed"]}
        row.update(
            setup_s=s["seconds"], witness_s=p["witness_seconds"], prove_s=p["seconds"],
            verify_s=v["seconds"],
            setup_rss=s["peak_rss_bytes"], prove_rss=p["peak_rss_bytes"], verify_rss=v["peak_rss_bytes"],
            pk_bytes=(work / "pk.key").stat().st_size, vk_bytes=(work / "vk.key").stat().st_size,
            proof_bytes=len(json.loads((work / "proof.json").read_text())["proof"]),
            error=step_error(spec, json.loads((work / "witness.json").read_text())),
        )
        return row


def measure_split(spec: Any, overrides: dict[str, Any], max_logrows: int) -> dict[str, Any]:
    """Proof splitting: the step as a forward and a backward circuit (``pot.export.split_modules``)
    with pot's run args, linked by the KZG points of the tensors they share.

    Both halves need the same logrows and one SRS (a point depends on both), so the larger half
    sets the logrows of both. Reports the sum of the two setups, witnesses, proofs and verifies,
    the sum of the two pks, the larger peak RSS, and ``linked``: whether the forward proof's points
    for the parameters, ``x``, the activations and ``p`` equal the backward proof's.
    """
    from pot.data import batch_arrays, initial_checkpoint, load_dataset
    from pot.export import export_split
    from pot.prover import input_json, signed_felt
    from pot.tensors import point_from_ezkl

    with tempfile.TemporaryDirectory(prefix="pot-prove-cost-split-") as tmp:
        fwd, bwd = Path(tmp) / "forward", Path(tmp) / "backward"
        fwd.mkdir()
        bwd.mkdir()
        export_split(spec, fwd / "network.onnx", bwd / "network.onnx")
        data = load_dataset(spec.dataset)
        x, y = batch_arrays(data, list(range(spec.batch_size)), spec)
        step = input_json(spec, initial_checkpoint(spec), x, y)["input_data"]  # params..., x, y
        (fwd / "input.json").write_text(json.dumps({"input_data": step[:-1]}))
        base = {"name": "split", "max_logrows": max_logrows,
                "run_args": config_run_args("pot", spec, overrides)}
        counts = [child("rows", {**base, "work": str(d)}) for d in (fwd, bwd)]
        logrows = max(c["logrows"] for c in counts)
        row: dict[str, Any] = {"config": "split", "run_args": base["run_args"],
                               "rows": sum(c["rows"] for c in counts), "logrows": logrows,
                               "half_rows": [c["rows"] for c in counts], "params": spec.n_params,
                               "batch": spec.batch_size, "layers": list(spec.layers)}
        cfg_f = {**base, "work": str(fwd), "logrows": logrows}
        cfg_b = {**base, "work": str(bwd), "logrows": logrows, "srs": str(fwd / "kzg.srs")}
        phases: dict[str, list[dict[str, Any]]] = {}
        for phase in ("setup", "prove"):
            phases[phase] = [child(phase, cfg_f)]
            if phase == "prove" and "failed" not in phases[phase][0]:
                # the backward half's inputs: the step's parameters, x and y, then the forward's outputs
                wf = json.loads((fwd / "witness.json").read_text())
                scales = json.loads((fwd / "settings.json").read_text())["model_output_scales"]
                shared = [[signed_felt(v) / 2**sc for v in t]
                          for t, sc in zip(wf["outputs"], scales, strict=True)]
                (bwd / "input.json").write_text(json.dumps({"input_data": step + shared}))
            phases[phase].append(child(phase, cfg_b))
        phases["verify"] = [child("verify", cfg_f), child("verify", cfg_b)]
        for results in phases.values():
            failed = [r for r in results if "failed" in r or "skipped" in r]
            if failed:
                return {**row, "failed": failed[0].get("failed") or failed[0]["skipped"]}

        def points(work: Path, key: str) -> list[bytes]:
            return [point_from_ezkl(e[0]) for e in
                    json.loads((work / "witness.json").read_text())[key]["polycommit"]]

        def proof_points(work: Path, count: int) -> list[bytes]:
            proof = bytes(json.loads((work / "proof.json").read_text())["proof"])
            return [proof[64 * i:64 * (i + 1)] for i in range(count)]

        f_in, f_out = points(fwd, "processed_inputs"), points(fwd, "processed_outputs")
        b_in = points(bwd, "processed_inputs")
        n = len(f_in)  # the parameters and x
        row["linked"] = (f_in == b_in[:n] and f_out == b_in[n + 1:]
                         and proof_points(fwd, n + len(f_out)) == f_in + f_out
                         and proof_points(bwd, len(b_in)) == b_in)
        s, p, v = phases["setup"], phases["prove"], phases["verify"]
        row.update(
            setup_s=s[0]["seconds"] + s[1]["seconds"],
            witness_s=p[0]["witness_seconds"] + p[1]["witness_seconds"],
            prove_s=p[0]["seconds"] + p[1]["seconds"], verify_s=v[0]["seconds"] + v[1]["seconds"],
            setup_rss=max(r["peak_rss_bytes"] for r in s), prove_rss=max(r["peak_rss_bytes"] for r in p),
            verify_rss=max(r["peak_rss_bytes"] for r in v),
            pk_bytes=sum((d / "pk.key").stat().st_size for d in (fwd, bwd)),
            vk_bytes=sum((d / "vk.key").stat().st_size for d in (fwd, bwd)),
            proof_bytes=sum(len(json.loads((d / "proof.json").read_text())["proof"]) for d in (fwd, bwd)),
            error=step_error(spec, json.loads((bwd / "witness.json").read_text())),
        )
        return row


def scale_accuracy(spec: Any, scales: list[int], batches: int = 8) -> list[dict[str, Any]]:
    """The proven update's error against torch's float64 step at each fixed-point scale.

    Runs ezkl's witness generation only (the values a proof would prove; visibility does not change
    them) on the first ``batches`` batches from the spec's W_0, and reports the worst and the mean of
    :func:`step_error` and the exp lookup table's size at that scale.
    """
    import ezkl

    from pot.circuit import lookup_range, py_run_args, run_args
    from pot.data import batch_arrays, initial_checkpoint, load_dataset
    from pot.export import export_step
    from pot.prover import input_json

    out = []
    for scale in scales:
        sp = dataclasses.replace(spec, scale=scale)
        errors = []
        with tempfile.TemporaryDirectory(prefix="pot-scale-") as tmp:
            work = Path(tmp)
            export_step(sp, work / "network.onnx")
            args = {**run_args(sp, 17), "input_visibility": "public", "output_visibility": "public"}
            ezkl.gen_settings(str(work / "network.onnx"), str(work / "settings.json"),
                              py_run_args=py_run_args(args))
            ezkl.compile_circuit(str(work / "network.onnx"), str(work / "model.compiled"),
                                 str(work / "settings.json"))
            data = load_dataset(sp.dataset)
            for b in range(batches):
                idx = list(range(b * sp.batch_size, (b + 1) * sp.batch_size))
                x, y = batch_arrays(data, idx, sp)
                (work / "input.json").write_text(json.dumps(input_json(sp, initial_checkpoint(sp), x, y)))
                ezkl.gen_witness(str(work / "input.json"), str(work / "model.compiled"),
                                 str(work / "witness.json"), None, None)
                errors.append(step_error(sp, json.loads((work / "witness.json").read_text()), idx))
        lo, hi = lookup_range(sp)
        out.append({"scale": scale, "max_error": max(errors), "mean_error": sum(errors) / len(errors),
                    "exp_table": hi - lo + 1})
    return out


COLUMNS = [("logrows", "logrows", "{}"), ("rows", "rows", "{:,}"), ("setup s", "setup_s", "{:.1f}"),
           ("witness s", "witness_s", "{:.2f}"), ("prove s", "prove_s", "{:.1f}"),
           ("verify s", "verify_s", "{:.3f}"), ("pk MB", "pk_bytes", "mb"), ("vk KB", "vk_bytes", "kb"),
           ("proof KB", "proof_bytes", "kb"), ("RSS setup GB", "setup_rss", "gb"),
           ("RSS prove GB", "prove_rss", "gb"), ("RSS verify GB", "verify_rss", "gb"),
           ("error / update", "error", "{:.2%}"), ("linked halves", "linked", "{}")]
RATIO_KEYS = ("setup_s", "prove_s", "verify_s", "pk_bytes", "vk_bytes", "proof_bytes", "prove_rss")


def fmt(value: Any, style: str) -> str:
    if value is None:
        return "-"
    if style in ("mb", "kb", "gb"):
        return f"{value / {'mb': 1e6, 'kb': 1e3, 'gb': 1e9}[style]:,.{2 if style == 'gb' else 1}f}"
    return style.format(value)


def print_table(rows: list[dict[str, Any]]) -> None:
    names = [r["config"] for r in rows]
    width = max(len(c[0]) for c in COLUMNS) + 2
    print(f"{'':<{width}}" + "".join(f"{n:>16}" for n in names))
    for label, key, style in COLUMNS:
        print(f"{label:<{width}}" + "".join(f"{fmt(r.get(key), style):>16}" for r in rows))
    base = rows[0]
    if "skipped" in base or "failed" in base:
        return
    for r in rows[1:]:
        if "skipped" in r or "failed" in r:
            print(f"{r['config']}: {r.get('skipped') or r.get('failed')}")
            continue
        ratios = ", ".join(f"{k} {r[k] / base[k]:.2f}x" for k in RATIO_KEYS if base.get(k))
        print(f"{r['config']} / {base['config']}: {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="mlp-digits", help="zoo name or spec JSON path")
    parser.add_argument("--configs", nargs="+", default=["naive", "pot"],
                        help="named configurations; the first is the baseline")
    parser.add_argument("--override", action="append", type=parse_override, default=[],
                        metavar="KEY=VALUE", help="ezkl run arg applied to every configuration")
    parser.add_argument("--layers", help="widths, e.g. 64,128,10 (model-size sweep)")
    parser.add_argument("--batch", type=int, help="batch size (batch-size sweep)")
    parser.add_argument("--scale", type=int, help="fixed-point bits")
    parser.add_argument("--max-logrows", type=int, default=20,
                        help="skip a configuration that needs more (21 does not fit in 24 GiB)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--accuracy-scales", type=int, nargs="+", metavar="BITS",
                        help="instead: the update error at these scales (witness only, no proofs)")
    args = parser.parse_args()

    from pot.spec import load_spec, mlp_layers

    spec = load_spec(args.spec)
    changes: dict[str, Any] = {}
    if args.layers:
        changes.update(mlp_layers([int(w) for w in args.layers.split(",")]))
    if args.batch:
        changes["batch_size"] = args.batch
    if args.scale:
        changes["scale"] = args.scale
    if changes:
        spec = dataclasses.replace(spec, name=f"{spec.name}-variant", **changes)
    if args.accuracy_scales:
        acc = scale_accuracy(spec, args.accuracy_scales)
        print(f"{'scale':>5} {'max error / update':>19} {'mean':>8} {'exp table rows':>15}")
        for r in acc:
            print(f"{r['scale']:>5} {r['max_error']:>19.2%} {r['mean_error']:>8.2%} {r['exp_table']:>15,}")
        if args.json:
            args.json.write_text(json.dumps(acc, indent=2) + "\n")
        return
    overrides = dict(args.override)
    rows = []
    for name in args.configs:
        print(f"[{name}] {spec.name} layers {list(spec.layers)} batch {spec.batch_size} "
              f"({spec.n_params:,} parameters) ...", file=sys.stderr, flush=True)
        if name == "split":
            rows.append(measure_split(spec, overrides, args.max_logrows))
        else:
            rows.append(measure(name, spec, overrides, args.max_logrows))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
