"""Fixed-point numbers and the exact integer kernels that aggregation is built from.

A model update is a 1-D ``numpy.int64`` vector of fixed-point values: the real number ``x`` is
stored as the integer ``round(x * 2**frac_bits)``, with ``frac_bits = FRAC_BITS = 13`` by default
(the scale of pot's ezkl circuits). The aggregation rules never read the scale: they are integer
maps, and every threshold they take (a clipping norm, a radius) is given in the same fixed-point
units as the updates. Only :func:`to_fixed` and :func:`from_fixed`, which run on the trainer's side
or in benchmarks and never on a consensus path, convert to and from floats.

Rounding rule
-------------
Wherever a rule divides, the exact rational quotient is rounded to the nearest integer and a tie
(a remainder of exactly one half) goes to the even integer: :func:`div_round_half_even`. It is the
rule of IEEE 754's default mode, of ``numpy.rint`` and of Python's ``round``. The reference
implementations apply it to :class:`fractions.Fraction`; the vectorised ones to
``numpy.divmod``'s floor quotient and remainder. Both give the same integers.

Bounds
------
The table below keeps every intermediate sum of the vectorised kernels inside ``int64`` (or, for
the float64 products in :func:`gram`, below 2**53, where every integer is a float64), so no sum
ever wraps and integer addition stays associative: results do not depend on the order of the
inputs, the order of summation, BLAS, or the machine. The table is checked when the module loads.
"""

from __future__ import annotations

import contextlib
import importlib
import math

import numpy as np
from eth_hash.auto import keccak
from numpy.typing import ArrayLike, NDArray

from pot.aggregation.errors import AggregationError

FRAC_BITS = 13
"""Default number of fractional bits: a fixed-point value ``v`` means ``v / 2**FRAC_BITS``."""
MAX_FRAC_BITS = 30
"""Largest scale accepted by :func:`to_fixed` and :func:`from_fixed` (bits)."""

MAX_ABS_VALUE = 2**31 - 1
"""Largest magnitude of one coordinate of an update (fixed-point units)."""
MAX_TOTAL_SAMPLES = 2**31 - 1
"""Largest sum of verified sample counts in one aggregation (samples)."""
MAX_CLIP_NORM = 2**31 - 1
"""Largest clipping norm or centered-clipping radius (fixed-point units of L2 norm)."""
MAX_DIM = 2**30
"""Largest number of coordinates of an update (coordinates)."""

INT64_MAX = 2**63 - 1
"""Largest ``int64`` (integer)."""
FLOAT64_EXACT_INT = 2**53
"""Every integer of magnitude up to this is exactly a float64 (integer)."""
LIMB_BITS = 16
"""Width of the low limb when :func:`gram` splits values into two limbs (bits)."""
GRAM_BLOCK_COLUMNS = 1 << 15
"""Coordinates per block of :func:`gram` (coordinates). Block sizes bound memory and time, never
results."""
SUM_BLOCK_COLUMNS = 1 << 15
"""Coordinates per block of FedAvg's weighted sum (coordinates); the block of the sum stays in
cache while every update adds its slice."""
SORT_BLOCK_COLUMNS = 1 << 10
"""Coordinates per block of the coordinate-wise sorts of median and trimmed mean (coordinates);
small enough for the block to stay in cache."""


def _check_bounds() -> None:
    """Check that the bounds table keeps every kernel's arithmetic exact.

    Raises
    ------
    AssertionError
        If a bound in the table is inconsistent with another. It runs at import time, like
        py_ecc's consistency checks, and is not stripped by ``python -O``.
    """
    max_diff = 2 * MAX_ABS_VALUE  # a coordinate of x - y, or of x - center
    checks = {
        # FedAvg numerator: sum of samples_i * x_i over all trainers.
        "samples * value fits int64": MAX_TOTAL_SAMPLES * MAX_ABS_VALUE <= INT64_MAX,
        # Clipping: e_j * bound, before the division by the norm.
        "difference * clip norm fits int64": max_diff * MAX_CLIP_NORM <= INT64_MAX,
        # squared_norm: each of the three limb sums is at most dim * 2**(2 * LIMB_BITS).
        "limb sums fit int64": MAX_DIM * 2 ** (2 * LIMB_BITS) <= INT64_MAX,
        # gram: two-limb products of one block stay exact float64 integers.
        "two-limb block products exact in float64": (
            GRAM_BLOCK_COLUMNS * 2 ** (2 * LIMB_BITS) <= FLOAT64_EXACT_INT
        ),
        "high limb of a difference fits LIMB_BITS + 1 bits": max_diff >> LIMB_BITS <= 2**LIMB_BITS,
        "int8 step fits uint32": MAX_ABS_VALUE // 127 < 2**32,
        "dimension fits uint32 indices": MAX_DIM < 2**32,
    }
    broken = [name for name, ok in checks.items() if not ok]
    if broken:
        raise AssertionError(f"inconsistent aggregation bounds: {', '.join(broken)}")


_check_bounds()


def to_fixed(x: ArrayLike, frac_bits: int = FRAC_BITS) -> NDArray[np.int64]:
    """Convert real numbers to fixed point, rounding half to even (trainer side only).

    Parameters
    ----------
    x
        Real values, any shape.
    frac_bits
        Scale: the result is ``round(x * 2**frac_bits)``. Between 0 and ``MAX_FRAC_BITS``.

    Returns
    -------
    NDArray[np.int64]
        Same shape as ``x``; fixed-point units.

    Raises
    ------
    AggregationError
        If ``frac_bits`` is out of range, a value is not finite, or a result exceeds
        ``MAX_ABS_VALUE``.
    """
    _check_frac_bits(frac_bits)
    scaled = np.asarray(x, dtype=np.float64) * float(2**frac_bits)  # exact: a power of two
    if not np.all(np.isfinite(scaled)):
        raise AggregationError("to_fixed needs finite values")
    rounded = np.rint(scaled)  # IEEE round half to even
    if rounded.size and float(np.max(np.abs(rounded))) > MAX_ABS_VALUE:
        raise AggregationError(
            f"to_fixed: a value exceeds MAX_ABS_VALUE={MAX_ABS_VALUE} fixed-point units "
            f"at frac_bits={frac_bits}"
        )
    return rounded.astype(np.int64)


def from_fixed(v: NDArray[np.int64], frac_bits: int = FRAC_BITS) -> NDArray[np.float64]:
    """Convert fixed-point values to float64 (exact for magnitudes below 2**53).

    Parameters
    ----------
    v
        Fixed-point values, any shape.
    frac_bits
        Scale used by :func:`to_fixed`.

    Returns
    -------
    NDArray[np.float64]
        ``v / 2**frac_bits``, same shape as ``v``.

    Raises
    ------
    AggregationError
        If ``frac_bits`` is out of range.
    """
    _check_frac_bits(frac_bits)
    return np.asarray(v, dtype=np.float64) / float(2**frac_bits)


def _check_frac_bits(frac_bits: int) -> None:
    if not 0 <= frac_bits <= MAX_FRAC_BITS:
        raise AggregationError(f"frac_bits must be in [0, {MAX_FRAC_BITS}], got {frac_bits}")


def div_round_half_even(num: NDArray[np.int64], den: int) -> NDArray[np.int64]:
    """Divide integers exactly and round the quotient half to even.

    Parameters
    ----------
    num
        Numerators, any shape, ``int64``.
    den
        A positive denominator, at most ``2**62`` (so twice a remainder fits ``int64``).

    Returns
    -------
    NDArray[np.int64]
        ``round(num / den)`` elementwise, ties to the even integer.
    """
    divisor = np.int64(den)
    quotient = num // divisor  # floor; a scalar divisor lets numpy use libdivide
    remainder = num - quotient * divisor  # in [0, den)
    # Round up when 2r > den, or when 2r == den and the quotient is odd: 2r + (q & 1) > den.
    remainder *= 2
    remainder += quotient & 1
    quotient += remainder > divisor
    return quotient


def peak_abs(v: NDArray[np.int64]) -> int:
    """Largest ``|v_j|`` as a Python int (0 for an empty array), exact at ``int64``'s minimum."""
    return max(-int(v.min()), int(v.max())) if v.size else 0


def ceil_sqrt(n: int) -> int:
    """Return the least integer ``r`` with ``r * r >= n``, for ``n >= 0``."""
    return 0 if n == 0 else math.isqrt(n - 1) + 1


def squared_norm(v: NDArray[np.int64]) -> int:
    """Exact squared L2 norm of an integer vector.

    Parameters
    ----------
    v
        Shape ``(d,)``, ``int64``, with ``d <= MAX_DIM`` and ``|v_j| <= 2 * MAX_ABS_VALUE`` (an
        update, or the difference of two).

    Returns
    -------
    int
        ``sum(v_j ** 2)`` as a Python int (fixed-point units squared).

    Notes
    -----
    When ``d * max|v|**2`` fits ``int64`` one ``int64`` dot product is exact. Otherwise ``v`` is
    split into ``v = hi * 2**LIMB_BITS + lo`` with ``0 <= lo < 2**LIMB_BITS`` and
    ``|hi| <= 2**LIMB_BITS``; the three limb sums, each at most ``d * 2**(2 * LIMB_BITS)``, are
    combined in Python ints. Both paths
    return the same integer.
    """
    peak = peak_abs(v)
    if v.size * peak * peak <= INT64_MAX:
        return int(np.dot(v, v))
    lo = v & ((1 << LIMB_BITS) - 1)
    hi = v >> LIMB_BITS
    hh = int(np.dot(hi, hi))
    hl = int(np.dot(hi, lo))
    ll = int(np.dot(lo, lo))
    return (hh << (2 * LIMB_BITS)) + (hl << (LIMB_BITS + 1)) + ll


def scale_to_norm(v: NDArray[np.int64], bound: int, sq_norm: int) -> NDArray[np.int64]:
    """Scale a vector whose norm exceeds ``bound`` down to about ``bound``.

    Parameters
    ----------
    v
        Shape ``(d,)``, ``int64``, ``|v_j| <= 2 * MAX_ABS_VALUE``.
    bound
        Target L2 norm, ``1 <= bound <= MAX_CLIP_NORM`` (fixed-point units).
    sq_norm
        ``squared_norm(v)``; must exceed ``bound ** 2``.

    Returns
    -------
    NDArray[np.int64]
        ``round(v_j * bound / r)`` with ``r = ceil_sqrt(sq_norm)``, rounded half to even. Since
        ``r >= |v|``, each coordinate keeps its sign and does not grow, and the norm of the result
        is at most ``bound + sqrt(d) / 2`` (the rounding of each coordinate adds at most 1/2).
    """
    return div_round_half_even(v * np.int64(bound), ceil_sqrt(sq_norm))


def gram(rows: NDArray[np.int64]) -> NDArray[np.object_]:
    """Exact Gram matrix of the rows of one block, as Python ints.

    Parameters
    ----------
    rows
        Shape ``(n, c)``, ``int64``, ``c <= GRAM_BLOCK_COLUMNS``, ``|rows| <= 2 * MAX_ABS_VALUE``.

    Returns
    -------
    NDArray[np.object_]
        Shape ``(n, n)``; entry ``(i, j)`` is ``sum_k rows[i, k] * rows[j, k]`` as a Python int.

    Notes
    -----
    The products run in float64 BLAS, which is exact here because every product and every partial
    sum is an integer of magnitude at most ``2**53``, whatever the order of summation or use of
    FMA. With ``m = max|rows|`` one product ``rows @ rows.T`` is exact when ``c * m**2 <= 2**53``.
    Otherwise each value is split into two limbs, ``hi * 2**LIMB_BITS + lo`` with
    ``0 <= lo < 2**LIMB_BITS`` and ``|hi| <= 2**LIMB_BITS``, so each limb product is at most
    ``2**(2 * LIMB_BITS)`` and ``c * 2**(2 * LIMB_BITS) <= 2**53`` by the bounds table; the three
    limb products are combined in Python ints.

    The products run on one BLAS thread (see :func:`single_thread_blas`); being exact, they give
    the same integers on any number of threads.
    """
    c = rows.shape[1]
    peak = peak_abs(rows)
    with single_thread_blas():
        if c * peak * peak <= FLOAT64_EXACT_INT:
            as_float = rows.astype(np.float64)
            return (as_float @ as_float.T).astype(np.int64).astype(object)
        lo = (rows & ((1 << LIMB_BITS) - 1)).astype(np.float64)
        hi = (rows >> LIMB_BITS).astype(np.float64)
        hh = (hi @ hi.T).astype(np.int64).astype(object)
        hl = (hi @ lo.T).astype(np.int64).astype(object)
        ll = (lo @ lo.T).astype(np.int64).astype(object)
    result: NDArray[np.object_] = hh * 2 ** (2 * LIMB_BITS) + (hl + hl.T) * 2**LIMB_BITS + ll
    return result


def single_thread_blas() -> contextlib.AbstractContextManager[object]:
    """A context that limits BLAS to one thread, when ``threadpoolctl`` is installed.

    Products of a few hundred rows gain little from BLAS threads, and on a loaded machine
    OpenBLAS's spinning threads make them an order of magnitude slower (measured: 0.8 s on one
    thread against 19 s on two for a 100 x 1M Gram matrix on a busy 2-core host). Without
    ``threadpoolctl`` this is a no-op; it changes speed only, never results.
    """
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[object] = threadpoolctl.threadpool_limits(
        limits=1, user_api="blas"
    )
    return limits


def commit_vector(v: NDArray[np.int64]) -> bytes:
    """keccak256 of a fixed-point vector's big-endian ``int64`` bytes (32 bytes)."""
    return bytes(keccak(v.astype(">i8").tobytes()))
