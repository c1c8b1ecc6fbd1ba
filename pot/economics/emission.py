"""Emission: how one block reward is split between its producer and the training jobs.

Rule (per block, all amounts wei):

1. ``pool = floor(block_reward * TRAINING_POOL_BPS / BPS_DENOMINATOR)`` goes to the training pool;
   the producer gets ``block_reward - pool``, so the rounding unit stays with the producer.
2. The pool of this block plus the carry left by earlier blocks is split among the open jobs in
   proportion to each job's escrowed budget (:func:`pot.economics.amounts.pro_rata`, floor).
3. What the floor leaves, or the whole amount when no job has escrow, is the new carry: it joins
   the next block's split. No unit is lost.

Each job's share accrues to the job and is paid out at its next round finalisation
(:func:`pot.economics.rewards.settle_round`).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from pot.economics.amounts import check_wei, mul_bps, pro_rata
from pot.economics.constants import TRAINING_POOL_BPS


@dataclass(frozen=True)
class Emission:
    """Where one block reward went (all wei).

    ``producer_wei + sum(job_shares_wei.values()) + carry_wei`` equals the block reward plus the
    carry that came in.
    """

    producer_wei: int
    job_shares_wei: dict[bytes, int]
    carry_wei: int


def emit_block(
    block_reward_wei: int, job_escrows_wei: Mapping[bytes, int], carry_wei: int = 0
) -> Emission:
    """Split one block reward between the producer, the open jobs and the carry.

    Parameters
    ----------
    block_reward_wei
        The block reward minted by this block (wei).
    job_escrows_wei
        Escrowed budget of each open job (wei), keyed by job id. Jobs with zero escrow get
        nothing.
    carry_wei
        Training-pool wei left unallocated by earlier blocks (wei).

    Returns
    -------
    Emission
        The producer's part, each job's share (keys in ascending id order) and the new carry.

    Raises
    ------
    AmountError
        An amount is not a uint256 amount of wei, or the carry plus this block's pool overflows.
    """
    check_wei(block_reward_wei, "block reward")
    check_wei(carry_wei, "training pool carry")
    for job_id, escrow in job_escrows_wei.items():
        check_wei(escrow, f"escrow of job 0x{job_id.hex()}")
    pool_wei = mul_bps(block_reward_wei, TRAINING_POOL_BPS)
    distributable = check_wei(carry_wei + pool_wei, "training pool")
    shares, carry = pro_rata(distributable, job_escrows_wei)
    return Emission(block_reward_wei - pool_wei, shares, carry)
