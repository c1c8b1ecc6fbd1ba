"""Benchmark of the economics rules as the chain calls them, and of the incentive check.

Run ``python benchmarks/economics.py``. It prints the time of one block's emission split over 100
open jobs (:func:`pot.economics.emit_block`), of settling a round of 1 000 accepted trainers
(:func:`pot.chain.settler.economics_settle`), and of the incentive check (with its bisection for
the smallest k) at T = 10 000 and T = 100 000 steps.
"""

import time
from collections.abc import Callable
from functools import partial

from pot.chain.fixed_types import U64, U256, Bytes32, Bytes48
from pot.chain.hooks import SettlementInput, TrainerOutcome
from pot.chain.settler import economics_settle
from pot.economics import emit_block, incentive_check


def timed(label: str, repeats: int, run: Callable[[], object]) -> None:
    """Run ``run`` ``repeats`` times and print the mean wall time per run."""
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    mean_s = (time.perf_counter() - start) / repeats
    print(f"{label:<48} {mean_s * 1e3:10.3f} ms")


def main() -> None:
    """Print the benchmark figures."""
    escrows = {j.to_bytes(32, "big"): 10**20 + j for j in range(100)}
    timed("emit one block, 100 open jobs", 1_000, partial(emit_block, 2 * 10**18, escrows, 7))

    trainers = tuple(
        TrainerOutcome(Bytes48(i.to_bytes(48, "big")), U256(10**19), "accepted", "ok", 100 + i)
        for i in range(1, 1_001)
    )
    settlement = SettlementInput(
        job_id=Bytes32(bytes(32)), round=U64(0), outcome="finalized", min_participants=U64(1),
        trainers=trainers, global_model_commitment=Bytes32(bytes(32)), rounds_left=U64(1_000),
        escrow_wei=U256(10**24), pool_wei=U256(10**21), excluded=frozenset(),
    )
    timed("settle a round of 1 000 accepted trainers", 20, partial(economics_settle, settlement))
    for T in (10_000, 100_000):
        timed(
            f"incentive_check T={T}, k={T // 100}, m=1",
            3,
            partial(incentive_check, T, T // 100, 1, 10**18, 10**19),
        )


if __name__ == "__main__":
    main()
