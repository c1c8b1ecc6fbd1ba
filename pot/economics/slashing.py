"""Slashing: what an offence costs a trainer, and when the slashed stake becomes final.

Rule: an offence takes ``floor(stake * SLASH_BPS / BPS_DENOMINATOR)`` of the trainer's stake in
the job at the time of the offence (the rounding unit stays with the trainer). The amount leaves
the stake at once and is held pending for ``CHALLENGE_WINDOW_BLOCKS``; from block
``offence_block + CHALLENGE_WINDOW_BLOCKS`` on it can be released to the insurance fund. Until
then an upheld appeal voids the slash and the full amount returns to the trainer.

An offence is identified by (job, round, trainer): a trainer submits at most one bundle per round,
so one round can hold at most one offence per trainer, and it is slashed at most once, whatever
its kind. The offences and slash statuses are the chain's (``Offence`` and ``SlashStatus`` of
:mod:`pot.chain.store`).
"""

from pot.economics.amounts import check_uint64, mul_bps
from pot.economics.constants import CHALLENGE_WINDOW_BLOCKS, SLASH_BPS


def slash_amount(stake_wei: int) -> int:
    """Return what one offence takes: ``floor(stake_wei * SLASH_BPS / BPS_DENOMINATOR)``.

    Parameters
    ----------
    stake_wei
        The trainer's stake in the job when the offence is recorded (wei).

    Returns
    -------
    int
        The slashed amount (wei).

    Raises
    ------
    AmountError
        ``stake_wei`` is not a uint256 amount.
    """
    return mul_bps(stake_wei, SLASH_BPS)


def release_block(offence_block: int) -> int:
    """Return the first block at which a slash recorded at ``offence_block`` can be released.

    Parameters
    ----------
    offence_block
        Block height at which the offence was recorded (blocks).

    Returns
    -------
    int
        ``offence_block + CHALLENGE_WINDOW_BLOCKS`` (blocks). Appeals are accepted at heights
        strictly below it.

    Raises
    ------
    ParameterError
        ``offence_block`` or the release block is not a uint64 block number.
    """
    check_uint64(offence_block, "offence block")
    return check_uint64(offence_block + CHALLENGE_WINDOW_BLOCKS, "release block")
