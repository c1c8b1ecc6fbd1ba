"""Integer arithmetic on wei amounts: range checks, basis points and pro-rata splits.

Every rule in :mod:`pot.economics` goes through these few functions, so rounding happens in one
way everywhere: division rounds down (floor), and what the floor leaves over is returned to the
caller as an explicit remainder, never dropped.
"""

from collections.abc import Mapping

from pot.economics.constants import BPS_DENOMINATOR, UINT64_MAX, UINT256_MAX_WEI
from pot.economics.errors import AmountError, ParameterError
from pot.errors import PotError


def check_uint(value: object, maximum: int, what: str, error: type[PotError]) -> int:
    """Return ``value`` if it is an int (bools are refused) in ``[0, maximum]``.

    Parameters
    ----------
    value
        The value to check.
    maximum
        The largest value allowed.
    what
        What the value is, for the error message.
    error
        The class to raise: :class:`AmountError` for amounts, :class:`ParameterError` for counts
        and rates, :class:`pot.errors.MalformedInputError` for values read from JSON.

    Returns
    -------
    int
        ``value`` unchanged.

    Raises
    ------
    PotError
        ``error``, when ``value`` is not such an int.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(f"{what} must be an int, got {type(value).__name__}")
    if not 0 <= value <= maximum:
        bits = (maximum + 1).bit_length() - 1
        bound = f"2**{bits} - 1" if maximum + 1 == 1 << bits and bits > 16 else str(maximum)
        raise error(f"{what} must lie in [0, {bound}], got {value}")
    return value


def check_wei(value: object, what: str) -> int:
    """Return ``value`` if it is a uint256 amount of wei.

    Parameters
    ----------
    value
        The amount (wei).
    what
        What the amount is, for the error message.

    Returns
    -------
    int
        ``value`` unchanged (wei).

    Raises
    ------
    AmountError
        ``value`` is not an int (bools are refused), is negative, or exceeds ``UINT256_MAX_WEI``.
    """
    return check_uint(value, UINT256_MAX_WEI, what, AmountError)


def check_uint64(value: object, what: str) -> int:
    """Return ``value`` if it is a uint64 count (samples, rounds, blocks).

    Parameters
    ----------
    value
        The count.
    what
        What is counted, for the error message.

    Returns
    -------
    int
        ``value`` unchanged.

    Raises
    ------
    ParameterError
        ``value`` is not an int (bools are refused) or lies outside ``[0, 2**64 - 1]``.
    """
    return check_uint(value, UINT64_MAX, what, ParameterError)


def check_bps(value: object, what: str) -> int:
    """Return ``value`` if it is a rate in basis points, ``0 <= value <= BPS_DENOMINATOR``.

    Parameters
    ----------
    value
        The rate (bps).
    what
        What the rate is, for the error message.

    Returns
    -------
    int
        ``value`` unchanged (bps).

    Raises
    ------
    ParameterError
        ``value`` is not an int or lies outside ``[0, BPS_DENOMINATOR]``.
    """
    return check_uint(value, BPS_DENOMINATOR, what, ParameterError)


def mul_bps(amount_wei: int, bps: int) -> int:
    """Return ``floor(amount_wei * bps / BPS_DENOMINATOR)``.

    Parameters
    ----------
    amount_wei
        The amount (wei).
    bps
        The rate (bps).

    Returns
    -------
    int
        The share (wei), rounded down; the rest, ``amount_wei - share``, stays with whoever held
        ``amount_wei``.

    Raises
    ------
    AmountError
        ``amount_wei`` is not a uint256 amount.
    ParameterError
        ``bps`` is not a rate in ``[0, BPS_DENOMINATOR]``.
    """
    check_wei(amount_wei, "amount")
    check_bps(bps, "rate")
    return amount_wei * bps // BPS_DENOMINATOR


def pro_rata(total_wei: int, weights: Mapping[bytes, int]) -> tuple[dict[bytes, int], int]:
    """Split ``total_wei`` in proportion to ``weights``, rounding every share down.

    ``share[i] = floor(total_wei * weights[i] / sum(weights))``. When every weight is zero (or
    there are none) every share is zero and the whole total is the remainder.

    Parameters
    ----------
    total_wei
        The amount to split (wei).
    weights
        Non-negative integer weight per id (any unit; only ratios matter).

    Returns
    -------
    tuple[dict[bytes, int], int]
        The share of each id of ``weights`` (wei), keys in ascending byte order, and the
        remainder ``total_wei - sum(shares)`` (wei), which is below the number of ids with a
        positive weight unless every weight is zero.

    Raises
    ------
    AmountError
        ``total_wei`` is not a uint256 amount.
    ParameterError
        A weight is not a non-negative int.
    """
    check_wei(total_wei, "total")
    for key, weight in weights.items():
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
            raise ParameterError(
                f"weight of 0x{key.hex()} must be a non-negative int, got {weight!r}"
            )
    weight_sum = sum(weights.values())
    ids = sorted(weights)
    if weight_sum == 0:
        return {i: 0 for i in ids}, total_wei
    shares = {i: total_wei * weights[i] // weight_sum for i in ids}
    return shares, total_wei - sum(shares.values())
