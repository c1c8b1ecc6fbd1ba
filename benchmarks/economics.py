"""Benchmark of the economics ledger and the incentive check.

Run ``python benchmarks/economics.py``. It prints the time per emitted block with 100 open jobs,
the time to finalise a round of 1 000 accepted trainers, and the time of the incentive check
(with its bisection for the smallest k) at T = 10 000 and T = 100 000 steps.
"""

import time
from collections.abc import Callable
from functools import partial

from pot.economics import (
    Accept,
    Emit,
    FinalizeRound,
    Join,
    Ledger,
    OpenJob,
    Submit,
    incentive_check,
)

PRODUCER = b"\xee" * 48
FUNDER = b"\xf0" * 48


def timed(label: str, repeats: int, run: Callable[[], object]) -> None:
    """Run ``run`` ``repeats`` times and print the mean wall time per run."""
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    mean_s = (time.perf_counter() - start) / repeats
    print(f"{label:<48} {mean_s * 1e3:10.3f} ms")


def main() -> None:
    """Print the benchmark figures."""
    ledger = Ledger.genesis({FUNDER: 10**30})
    for j in range(100):
        ledger.apply(OpenJob(j.to_bytes(32, "big"), FUNDER, 10**20 + j, 10**18))

    def emit() -> None:
        ledger.apply(Emit(ledger.height + 1, PRODUCER, 2 * 10**18))

    timed("emit one block, 100 open jobs", 1_000, emit)

    job = (1_000).to_bytes(32, "big")
    trainers = [i.to_bytes(48, "big") for i in range(1, 1_001)]
    big = Ledger.genesis({FUNDER: 10**30, **{t: 10**20 for t in trainers}})
    big.apply(OpenJob(job, FUNDER, 10**24, 10**21))
    for t in trainers:
        big.apply(Join(job, t, 10**19))

    def round_of_1000() -> None:
        r = big.jobs[job].round
        for i, t in enumerate(trainers):
            big.apply(Submit(job, r, t))
            big.apply(Accept(job, r, t, 100 + i, 10_000))
        big.apply(FinalizeRound(job, r))

    timed("submit, accept and finalise 1 000 trainers", 5, round_of_1000)
    for T in (10_000, 100_000):
        timed(
            f"incentive_check T={T}, k={T // 100}, m=1",
            3,
            partial(incentive_check, T, T // 100, 1, 10**18, 10**19),
        )


if __name__ == "__main__":
    main()
