"""Per-round rewards: a round's pool is paid in proportion to verified, quality-weighted work.

Formula (all amounts wei)::

    contribution[t] = verified_samples[t] * quality_bps[t]     (accepted bundles only)
    payout[t]       = floor(round_pool * contribution[t] / sum(contribution))
    remainder       = round_pool - sum(payout)                 (carried to the job's next round)

``verified_samples`` counts the samples of the steps the trainer committed to and that passed
verification; ``quality_bps`` is the weight the aggregation evidence gives the bundle
(``QUALITY_FULL_BPS`` when it was averaged in fully, 0 when a robust rule excluded it). Rejected
bundles and trainers that did not submit have no contribution.

The round pool is the job's accrued training-pool share and carry, plus a draw of
``min(reward_per_round, escrow)`` from the job's escrow. The escrow is drawn only when some
contribution is positive, so a round nobody earned leaves the funder's budget untouched.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from pot.economics.amounts import check_bps, check_uint64, check_wei, pro_rata


@dataclass(frozen=True)
class RoundSettlement:
    """The outcome of settling one round (all wei).

    ``sum(payouts_wei.values()) + carry_wei == pool_wei + escrow_draw_wei`` of the call.
    """

    payouts_wei: dict[bytes, int]
    escrow_draw_wei: int
    carry_wei: int


def contribution(verified_samples: int, quality_bps: int) -> int:
    """Return the reward weight of one accepted bundle: ``verified_samples * quality_bps``.

    Parameters
    ----------
    verified_samples
        Samples processed in the bundle's verified steps (a uint64 count).
    quality_bps
        Weight from the aggregation evidence (bps): ``QUALITY_FULL_BPS`` for full weight, 0 for a
        bundle a robust rule excluded.

    Returns
    -------
    int
        The contribution (sample-bps).

    Raises
    ------
    ParameterError
        ``verified_samples`` is not a uint64 or ``quality_bps`` is not in ``[0, BPS_DENOMINATOR]``.
    """
    return check_uint64(verified_samples, "verified samples") * check_bps(quality_bps, "quality")


def round_rewards(
    pool_wei: int, contributions: Mapping[bytes, int]
) -> tuple[dict[bytes, int], int]:
    """Split a round pool among trainers in proportion to their contributions.

    Parameters
    ----------
    pool_wei
        The round pool (wei).
    contributions
        Contribution of each trainer (see :func:`contribution`), keyed by trainer id.

    Returns
    -------
    tuple[dict[bytes, int], int]
        Payout per trainer (wei, floor; keys in ascending id order, zero payouts included) and the
        remainder (wei) to carry to the next round. With no positive contribution the whole pool
        is the remainder.

    Raises
    ------
    AmountError
        ``pool_wei`` is not a uint256 amount.
    ParameterError
        A contribution is not a non-negative int.
    """
    return pro_rata(pool_wei, contributions)


def settle_round(
    pool_wei: int,
    escrow_wei: int,
    reward_per_round_wei: int,
    contributions: Mapping[bytes, int],
) -> RoundSettlement:
    """Settle one round of one job: draw from escrow, pay trainers, carry the remainder.

    This is the pure rule behind round finalisation; the chain's settler
    (:func:`pot.chain.settler.economics_settle`) calls it.

    Parameters
    ----------
    pool_wei
        The job's accrued training-pool share plus the carry of earlier rounds (wei).
    escrow_wei
        The job's remaining escrowed budget (wei).
    reward_per_round_wei
        The most the job's escrow pays for one round (wei).
    contributions
        Contribution of each trainer with an accepted bundle this round.

    Returns
    -------
    RoundSettlement
        Payouts, the escrow drawn (``min(reward_per_round_wei, escrow_wei)``, or 0 when no
        contribution is positive) and the carry to the next round.

    Raises
    ------
    AmountError
        An amount is not a uint256 amount of wei, or pool plus draw overflows.
    ParameterError
        A contribution is not a non-negative int.
    """
    check_wei(pool_wei, "job pool")
    check_wei(escrow_wei, "escrow")
    check_wei(reward_per_round_wei, "reward per round")
    earned = any(c != 0 for c in contributions.values())
    draw = min(reward_per_round_wei, escrow_wei) if earned else 0
    payouts, carry = round_rewards(check_wei(pool_wei + draw, "round pool"), contributions)
    return RoundSettlement(payouts, draw, carry)
