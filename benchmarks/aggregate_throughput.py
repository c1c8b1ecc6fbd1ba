"""Throughput of pot's aggregation against Flower's, on the same updates, in the same run.

100 updates of 1M parameters are aggregated with FedAvg, coordinate-wise median, Krum (f = 10) and
multi-Krum (f = 10, keep 50), by pot (integer fixed point, ``pot.aggregation.aggregate``) and by
Flower 1.42 (``flwr.server.strategy.aggregate``: float, arrival order). The updates are the same
numbers: pot gets them as ``int64`` fixed-point vectors (scale 2**13, its wire type, 8 bytes a
value), Flower as the ``float32`` arrays a Flower client sends (the same values divided by 2**13,
exact in float32, 4 bytes a value). Each (library, rule) pair runs in a fresh subprocess, so peak
memory is that of one aggregation: the peak resident set size during the call (``VmHWM`` after
resetting it through ``/proc/self/clear_refs``), inputs included. Times are the median wall-clock
seconds of ``--repeats`` calls; the pairs are interleaved, so both libraries see the same machine
load, and the table gives pot / Flower ratios.

Last, the script shows that Flower's FedAvg changes with the order of its inputs and pot's does
not.

Flower is a benchmark-only dependency: ``pip install flwr==1.42.0``. Without it the script prints
pot's figures alone.

Run: ``python benchmarks/aggregate_throughput.py [--n 100] [--dim 1000000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pot.aggregation import (
    FRAC_BITS,
    MAX_ABS_VALUE,
    RULE_FEDAVG,
    RULE_MEDIAN,
    RULE_MULTI_KRUM,
    AggregationParams,
    Update,
    aggregate,
    commit_vector,
    to_fixed,
)

NUM_BYZANTINE = 10
MULTI_KRUM_KEEP = 50
DELTA_STD = 0.01
"""Standard deviation of the synthetic updates (real units): about 82 fixed-point units."""
CASES = {
    "fedavg": (RULE_FEDAVG, AggregationParams()),
    "median": (RULE_MEDIAN, AggregationParams()),
    f"krum f={NUM_BYZANTINE}": (
        RULE_MULTI_KRUM,
        AggregationParams(num_byzantine=NUM_BYZANTINE, num_selected=1),
    ),
    f"multi-krum f={NUM_BYZANTINE} keep {MULTI_KRUM_KEEP}": (
        RULE_MULTI_KRUM,
        AggregationParams(num_byzantine=NUM_BYZANTINE, num_selected=MULTI_KRUM_KEEP),
    ),
}
"""Benchmark case name to pot's rule id and params; Flower's call is in :func:`flower_call`."""


def fixed_updates(n: int, dim: int, seed: int, worst_case: bool) -> list[NDArray[np.int64]]:
    """Deterministic updates in fixed point, one at a time (no stacked copy)."""
    rng = np.random.default_rng(seed)
    if worst_case:  # every value anywhere in [-MAX_ABS_VALUE, MAX_ABS_VALUE]
        return [rng.integers(-MAX_ABS_VALUE, MAX_ABS_VALUE, dim, endpoint=True) for _ in range(n)]
    scale = DELTA_STD * 2**FRAC_BITS
    return [np.rint(rng.standard_normal(dim) * scale).astype(np.int64) for _ in range(n)]


def verified_samples(i: int) -> int:
    return 100 + (i * 37) % 400


def trainer_id(i: int) -> bytes:
    return i.to_bytes(4, "big") * 12  # 48 bytes, like a BLS public key


def flower_call(case: str) -> Callable[[list[tuple[list[Any], int]]], list[Any]]:
    from flwr.server.strategy import aggregate as fl

    calls: dict[str, Callable[[list[tuple[list[Any], int]]], list[Any]]] = {
        "fedavg": fl.aggregate,
        "median": fl.aggregate_median,
        f"krum f={NUM_BYZANTINE}": lambda r: fl.aggregate_krum(r, NUM_BYZANTINE, 0),
        f"multi-krum f={NUM_BYZANTINE} keep {MULTI_KRUM_KEEP}": lambda r: fl.aggregate_krum(
            r, NUM_BYZANTINE, MULTI_KRUM_KEEP
        ),
    }
    return calls[case]


# ---------------------------------------------------------------------------------------------
# Worker: one library, one rule, in its own process


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux); False if the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_bytes(field: str) -> int:
    """``VmHWM`` (peak) or ``VmRSS`` (current) of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def worker(args: argparse.Namespace) -> None:
    vectors = fixed_updates(args.n, args.dim, args.seed, args.worst_case)
    if args.impl == "flower":
        results = [
            ([(v / 2**FRAC_BITS).astype(np.float32)], verified_samples(i))
            for i, v in enumerate(vectors)
        ]
        del vectors
        call = flower_call(args.case)

        def run() -> NDArray[np.int64]:
            out = call(results)[0]
            return np.rint(np.asarray(out, dtype=np.float64) * 2**FRAC_BITS).astype(np.int64)
    else:
        updates = [Update(trainer_id(i), v, verified_samples(i)) for i, v in enumerate(vectors)]
        del vectors
        rule_id, params = CASES[args.case]

        def run() -> NDArray[np.int64]:
            return aggregate(rule_id, updates, params)[0]

    base_rss = rss_bytes("VmRSS")
    exact_peak = reset_peak_rss()
    wall, cpu = [], []
    result = np.zeros(0, dtype=np.int64)
    for _ in range(args.repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    np.save(args.out, result)
    report = {
        "wall": wall,
        "cpu": cpu,
        "base_rss": base_rss,
        "peak_rss": rss_bytes("VmHWM"),
        "exact_peak": exact_peak,
    }
    print(json.dumps(report))


def order_demo(args: argparse.Namespace) -> None:
    """FedAvg on the same updates in arrival order and reversed, by both libraries.

    Here the updates are a trainer's real-valued float32 deltas, as a Flower client sends them;
    pot gets them quantised to fixed point (:func:`pot.aggregation.to_fixed`), as a pot trainer
    sends them.
    """
    rng = np.random.default_rng(args.seed + 1)
    floats = [(rng.standard_normal(args.dim) * DELTA_STD).astype(np.float32) for _ in range(args.n)]
    updates = [
        Update(trainer_id(i), to_fixed(v), verified_samples(i)) for i, v in enumerate(floats)
    ]
    forward = aggregate(RULE_FEDAVG, updates, AggregationParams())[0]
    backward = aggregate(RULE_FEDAVG, updates[::-1], AggregationParams())[0]
    same = forward.tobytes() == backward.tobytes()
    print(
        f"pot FedAvg, inputs reversed: bit-identical = {same} "
        f"(keccak {commit_vector(forward).hex()[:16]}... both times)"
    )
    try:
        from flwr.server.strategy.aggregate import aggregate as flower_fedavg
    except ImportError:
        return
    results = [([v], verified_samples(i)) for i, v in enumerate(floats)]
    first = flower_fedavg(results)[0]
    second = flower_fedavg(results[::-1])[0]
    differ = int(np.count_nonzero(first != second))
    largest = float(np.max(np.abs(first.astype(np.float64) - second)))
    print(
        f"Flower FedAvg (float32), inputs reversed: {differ:,} of {args.dim:,} coordinates "
        f"differ, largest difference {largest:.3g}"
    )


# ---------------------------------------------------------------------------------------------
# Parent: run the workers, print the table


def run_worker(args: argparse.Namespace, case: str, impl: str, out: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--case",
        case,
        "--impl",
        impl,
        "--n",
        str(args.n),
        "--dim",
        str(args.dim),
        "--repeats",
        str(args.repeats),
        "--seed",
        str(args.seed),
        "--out",
        str(out),
    ]
    if args.worst_case:
        command.append("--worst-case")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{impl} {case} failed:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def flower_available() -> bool:
    try:
        import flwr  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--dim", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--worst-case",
        action="store_true",
        help="values over all of [-MAX_ABS_VALUE, MAX_ABS_VALUE] (pot only)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    impls = ["flower", "pot"] if flower_available() and not args.worst_case else ["pot"]
    print(
        f"{args.n} updates x {args.dim:,} parameters, {args.repeats} repeats, "
        f"{os.cpu_count()} CPUs; pot int64 inputs {args.n * args.dim * 8 / 1e6:,.0f} MB, "
        f"Flower float32 inputs {args.n * args.dim * 4 / 1e6:,.0f} MB"
        + ("; worst-case values" if args.worst_case else "")
    )
    print(
        f"{'':<24} {'Flower s':>17} {'pot s':>17} {'time':>7} {'peak MB':>15} {'memory':>7}"
        f" {'max':>10}"
    )
    print(
        f"{'rule':<24} {'first':>8} {'median':>8} {'first':>8} {'median':>8} {'pot/Fl':>7}"
        f" {'Flower':>7} {'pot':>7} {'pot/Fl':>7} {'|diff|':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            reports, results = {}, {}
            for impl in impls:
                out = Path(tmp) / f"{impl}.npy"
                reports[impl] = run_worker(args, case, impl, out)
                results[impl] = np.load(out)
            print(row(case, reports, results))
            if not all(r["exact_peak"] for r in reports.values()):
                print("  (peak RSS could not be reset: figures include building the inputs)")
    print(
        "\ntimes: wall-clock seconds of the first call and the median of all calls (the time "
        "ratio uses medians); peak MB: peak resident set during the calls, inputs included; "
        "max |diff|: largest |pot - Flower| in fixed-point units (1 = 2**-13)"
    )
    if not args.worst_case:
        print()
        order_demo(args)


def row(case: str, reports: dict[str, dict[str, Any]], results: dict[str, np.ndarray]) -> str:
    """One line of the table: first-call and median times, peak memory, ratios, difference."""
    pot = reports["pot"]
    pot_first, pot_s, pot_mb = pot["wall"][0], statistics.median(pot["wall"]), pot["peak_rss"] / 1e6
    if "flower" not in reports:
        return (
            f"{case:<24} {'-':>8} {'-':>8} {pot_first:>8.2f} {pot_s:>8.2f} {'-':>7} {'-':>7}"
            f" {pot_mb:>7.0f}"
        )
    fl = reports["flower"]
    fl_first, fl_s, fl_mb = fl["wall"][0], statistics.median(fl["wall"]), fl["peak_rss"] / 1e6
    diff = int(np.max(np.abs(results["pot"] - results["flower"])))
    return (
        f"{case:<24} {fl_first:>8.2f} {fl_s:>8.2f} {pot_first:>8.2f} {pot_s:>8.2f} "
        f"{pot_s / fl_s:>6.2f}x {fl_mb:>7.0f} {pot_mb:>7.0f} {pot_mb / fl_mb:>6.2f}x {diff:>10}"
    )


if __name__ == "__main__":
    main()
