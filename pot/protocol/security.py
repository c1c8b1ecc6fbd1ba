"""How likely a sampled challenge is to catch a trainer that fabricated steps.

A trainer commits to T steps, of which m are fabricated (no honest SGD step leads from W_t to
W_{t+1}, so no valid proof exists). The challenge samples k distinct steps uniformly
(:mod:`pot.protocol.challenge`), and the trainer is caught if any sampled step is fabricated. The
number of fabricated steps among the k is hypergeometric, so::

    P(detect) = 1 - C(T - m, k) / C(T, k)

which this module computes exactly, as a :class:`fractions.Fraction`. Nothing here touches a float:
targets are parsed from decimal or fraction text into fractions.

Source: docs/protocol.md, section "Detection probability".
"""

from __future__ import annotations

import re
from fractions import Fraction
from math import comb

from pot.protocol.errors import SecurityParameterError

DEFAULT_TARGET = Fraction(99, 100)
"""Detection probability the CLI asks for when no target is given."""
DEFAULT_TARGET_TEXT = "0.99"
""":data:`DEFAULT_TARGET` as the CLI shows it."""
PROBABILITY_DISPLAY_PLACES = 6
"""Decimal places shown for a probability (rounded down, so it is never overstated)."""
_PROBABILITY_TEXT = re.compile(r"(?:0|1)(?:\.[0-9]+)?|[0-9]+/[0-9]+")


def _check_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SecurityParameterError(f"{name} must be an int, got {type(value).__name__}")
    return value


def _check_steps(n_steps: int, n_fabricated: int) -> None:
    if _check_int(n_steps, "step count T") < 1:
        raise SecurityParameterError("step count must satisfy T >= 1")
    if not 0 <= _check_int(n_fabricated, "fabricated count m") <= n_steps:
        raise SecurityParameterError(
            f"fabricated count must satisfy 0 <= m <= T, got m={n_fabricated}, T={n_steps}"
        )


def detection_probability(n_steps: int, n_fabricated: int, n_samples: int) -> Fraction:
    """Return the exact probability that k uniform distinct samples hit a fabricated step.

    Parameters
    ----------
    n_steps
        T, the committed steps, ``T >= 1``.
    n_fabricated
        m, the fabricated steps among them, ``0 <= m <= T``.
    n_samples
        k, the challenged steps, ``0 <= k <= T``.

    Returns
    -------
    Fraction
        ``1 - C(T - m, k) / C(T, k)``: 0 when m or k is 0, 1 when ``k > T - m``.

    Raises
    ------
    SecurityParameterError
        If a count is not an int or is out of range.
    """
    _check_steps(n_steps, n_fabricated)
    if not 0 <= _check_int(n_samples, "sample count k") <= n_steps:
        raise SecurityParameterError(
            f"sample count must satisfy 0 <= k <= T, got k={n_samples}, T={n_steps}"
        )
    return 1 - Fraction(comb(n_steps - n_fabricated, n_samples), comb(n_steps, n_samples))


def min_samples(n_steps: int, n_fabricated: int, target: Fraction) -> int:
    """Return the smallest k with ``detection_probability(T, m, k) >= target``.

    Parameters
    ----------
    n_steps
        T, ``T >= 1``.
    n_fabricated
        m, ``1 <= m <= T``.
    target
        The required probability, ``0 < target <= 1``, a Fraction or an int (not a float).

    Returns
    -------
    int
        k in ``[1, T - m + 1]``; ``T - m + 1`` samples always detect.

    Raises
    ------
    SecurityParameterError
        If a parameter is out of range, or ``m == 0`` (no sample count detects a trainer that
        fabricated nothing).
    """
    _check_steps(n_steps, n_fabricated)
    if isinstance(target, bool) or not isinstance(target, Fraction | int):
        raise SecurityParameterError(
            f"target must be a Fraction or an int, got {type(target).__name__}"
        )
    if not 0 < target <= 1:
        raise SecurityParameterError("target must satisfy 0 < target <= 1")
    if n_fabricated == 0:
        raise SecurityParameterError(
            "no number of samples detects a trainer that fabricated no step (m = 0)"
        )
    low, high = 1, n_steps - n_fabricated + 1  # P(high) == 1 >= target
    while low < high:
        middle = (low + high) // 2
        if detection_probability(n_steps, n_fabricated, middle) >= target:
            high = middle
        else:
            low = middle + 1
    return low


def parse_probability(text: str) -> Fraction:
    """Parse a probability exactly from a decimal (``0.99``, ``1``) or a fraction (``99/100``).

    Raises
    ------
    SecurityParameterError
        If ``text`` is neither form, or the value is not in ``(0, 1]``.
    """
    if not isinstance(text, str) or _PROBABILITY_TEXT.fullmatch(text) is None:
        raise SecurityParameterError(
            "a probability must be a decimal like 0.99 or a fraction like 99/100"
        )
    denominator = text.partition("/")[2]
    if denominator and int(denominator) == 0:
        raise SecurityParameterError("a probability's denominator must not be 0")
    value = Fraction(text)
    if not 0 < value <= 1:
        raise SecurityParameterError("a probability must satisfy 0 < p <= 1")
    return value


def format_probability(p: Fraction, places: int = PROBABILITY_DISPLAY_PLACES) -> str:
    """Return ``p`` in ``[0, 1]`` as a decimal with ``places`` digits, rounded down.

    Raises
    ------
    SecurityParameterError
        If ``p`` is outside ``[0, 1]``.
    """
    if not 0 <= p <= 1:
        raise SecurityParameterError("a probability must satisfy 0 <= p <= 1")
    scaled = p.numerator * 10**places // p.denominator
    whole, fraction = divmod(scaled, 10**places)
    return f"{whole}.{fraction:0{places}d}" if places else str(whole)


if parse_probability(DEFAULT_TARGET_TEXT) != DEFAULT_TARGET:
    raise AssertionError("DEFAULT_TARGET_TEXT must spell DEFAULT_TARGET")
