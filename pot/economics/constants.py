"""The economics constants of pot: one table, checked for consistency when the module loads.

Rates are basis points (bps) of :data:`BPS_DENOMINATOR`; amounts are wei; time is blocks. Changing
any value here is a consensus change: every validator must run the same table.
"""

from pot.economics.errors import ConstantsError

# --- Units and ranges -----------------------------------------------------------------------
BPS_DENOMINATOR = 10_000
"""Basis points in one whole (100 %)."""
UINT256_MAX_WEI = 2**256 - 1
"""Largest amount any balance, pool, escrow, stake or fund may hold (wei)."""
UINT64_MAX = 2**64 - 1
"""Largest count of verified samples, round number or block number."""

# --- Rates (bps of BPS_DENOMINATOR) --------------------------------------------------------
TRAINING_POOL_BPS = 500
"""Share of each block reward that goes to the training pool (5 %)."""
SLASH_BPS = 1_000
"""Share of a trainer's stake taken for one offence (10 %)."""
QUALITY_FULL_BPS = 10_000
"""Quality score of a fully weighted bundle; an excluded bundle scores 0."""
INSURANCE_CLAIM_CAP_BPS = 5_000
"""Most of the insurance fund that a single proven escape may draw (50 %)."""

# --- Time (blocks) -------------------------------------------------------------------------
CHALLENGE_WINDOW_BLOCKS = 7_200
"""Blocks a slash stays pending, open to appeal, before it moves to the insurance fund (~1 day
at 12 s a block)."""


def _check_constants() -> None:
    """Raise :class:`ConstantsError` if the table above is inconsistent.

    Raises
    ------
    ConstantsError
        A rate lies outside ``[0, BPS_DENOMINATOR]``, a rate that must bite is zero, the window is
        not positive, or a range constant is not the width it names.
    """
    rates = {
        "TRAINING_POOL_BPS": TRAINING_POOL_BPS,
        "SLASH_BPS": SLASH_BPS,
        "QUALITY_FULL_BPS": QUALITY_FULL_BPS,
        "INSURANCE_CLAIM_CAP_BPS": INSURANCE_CLAIM_CAP_BPS,
    }
    for name, bps in rates.items():
        if not 0 < bps <= BPS_DENOMINATOR:
            raise ConstantsError(f"{name} must lie in (0, BPS_DENOMINATOR], got {bps}")
    if QUALITY_FULL_BPS != BPS_DENOMINATOR:
        raise ConstantsError("QUALITY_FULL_BPS must equal BPS_DENOMINATOR (full weight is 100 %)")
    if CHALLENGE_WINDOW_BLOCKS <= 0:
        raise ConstantsError("CHALLENGE_WINDOW_BLOCKS must be positive")
    if UINT256_MAX_WEI != (1 << 256) - 1 or UINT64_MAX != (1 << 64) - 1:
        raise ConstantsError("UINT256_MAX_WEI and UINT64_MAX must be 2**256 - 1 and 2**64 - 1")


_check_constants()
