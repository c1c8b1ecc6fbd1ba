"""The insurance fund's payout rule for escapes proven after the reward was paid.

An escape is a bundle that was accepted and rewarded although some of its steps were fabricated
(none of them was sampled). When fraud is proven later, the claim is the reward that bundle
received for its round, and the job's funder, who paid for training that was not done, is
reimbursed::

    payout = min(claim, floor(fund * INSURANCE_CLAIM_CAP_BPS / BPS_DENOMINATOR))

The cap keeps one claim from draining the fund. What the fund cannot pay is not owed later: each
offence is paid once, when its fraud is proven.
"""

from pot.economics.amounts import check_wei, mul_bps
from pot.economics.constants import INSURANCE_CLAIM_CAP_BPS


def insurance_payout(fund_wei: int, claim_wei: int) -> int:
    """Return what the insurance fund pays for one proven escape.

    Parameters
    ----------
    fund_wei
        The insurance fund's released balance before the payout (wei).
    claim_wei
        The reward the fraudulent bundle received in its round (wei).

    Returns
    -------
    int
        ``min(claim_wei, floor(fund_wei * INSURANCE_CLAIM_CAP_BPS / BPS_DENOMINATOR))`` (wei).

    Raises
    ------
    AmountError
        An amount is not a uint256 amount of wei.
    """
    check_wei(claim_wei, "claim")
    return min(claim_wei, mul_bps(fund_wei, INSURANCE_CLAIM_CAP_BPS))
