"""Canonical encodings of the protocol's values: fixed-width bytes, hex text and field elements.

Every value has exactly one accepted encoding, so two honest implementations never disagree on
whether an input is valid and a hash never depends on how a value was written:

* byte strings of a fixed length are written as ``0x`` followed by exactly two lowercase hex digits
  per byte (``0x`` + 64 digits for a bytes32);
* a BN254 scalar field element is an integer ``0 <= x < r`` (r = :data:`BN254_SCALAR_ORDER`); as
  text it is ``0x`` followed by its lowercase hex digits without leading zeros (``0x0`` for zero),
  as bytes it is 32 bytes big-endian;
* an unsigned 64-bit integer (step index, round, leaf count, counter) is 8 bytes big-endian.

The parsers are strict and raise :class:`~pot.protocol.errors.EncodingError` with a message
that names the value and the rule. They never echo the rejected text, so they are safe on secrets.

Source: docs/protocol.md, section "Encodings".
"""

from __future__ import annotations

from py_ecc.bn128 import curve_order as _bn254_curve_order

from pot.protocol.errors import EncodingError

BN254_SCALAR_ORDER: int = int(_bn254_curve_order)
"""r, the order of the BN254 (alt_bn128) scalar field; ezkl's Poseidon outputs lie in [0, r)."""
FIELD_ELEMENT_BYTES = 32
"""Width of a field element in hashed byte layouts (big-endian)."""
BYTES32_BYTES = 32
"""Width of a keccak256 digest, commitment, job id or beacon."""
UINT64_BYTES = 8
"""Width of an unsigned 64-bit integer in hashed byte layouts (big-endian)."""
UINT64_MAX = 2**64 - 1
"""Largest value an unsigned 64-bit field can hold."""
BLS_PUBLIC_KEY_BYTES = 48
"""Width of a compressed BLS12-381 G1 public key."""
BLS_SIGNATURE_BYTES = 96
"""Width of a compressed BLS12-381 G2 signature."""
HEX_PREFIX = "0x"
"""Prefix of every hex string."""
_HEX_DIGITS = frozenset("0123456789abcdef")

if BN254_SCALAR_ORDER.bit_length() != 254 or BN254_SCALAR_ORDER >= 2 ** (8 * FIELD_ELEMENT_BYTES):
    raise AssertionError("BN254 scalar order must be a 254-bit integer")


def _check_hex_digits(s: str, what: str) -> str:
    """Return the digits of ``s`` after the ``0x`` prefix, or raise if the text is not hex."""
    if not isinstance(s, str):
        raise EncodingError(f"{what} must be a hex string, got {type(s).__name__}")
    if not s.startswith(HEX_PREFIX):
        raise EncodingError(f"{what} must start with {HEX_PREFIX!r}")
    digits = s[len(HEX_PREFIX) :]
    for position, char in enumerate(digits):
        if char not in _HEX_DIGITS:
            raise EncodingError(
                f"{what} must use lowercase hex digits 0-9a-f only "
                f"(bad character at offset {position + len(HEX_PREFIX)})"
            )
    return digits


def parse_hex(s: str, length: int, what: str = "value") -> bytes:
    """Parse ``0x``-prefixed lowercase hex of exactly ``length`` bytes.

    Parameters
    ----------
    s
        The text, ``2 + 2 * length`` characters.
    length
        The expected number of bytes (>= 0).
    what
        The name of the value, used in error messages.

    Returns
    -------
    bytes
        ``length`` bytes.

    Raises
    ------
    EncodingError
        If ``s`` is not a string, lacks the ``0x`` prefix, has an upper-case or non-hex character,
        or does not encode exactly ``length`` bytes.
    """
    if length < 0:
        raise ValueError("length must be non-negative")
    digits = _check_hex_digits(s, what)
    if len(digits) != 2 * length:
        raise EncodingError(
            f"{what} must be {HEX_PREFIX} followed by {2 * length} hex digits ({length} bytes), "
            f"got {len(digits)} digits"
        )
    return bytes.fromhex(digits)


def parse_bytes32(s: str, what: str = "value") -> bytes:
    """Parse a 32-byte value written as ``0x`` + 64 lowercase hex digits.

    Raises
    ------
    EncodingError
        As :func:`parse_hex`.
    """
    return parse_hex(s, BYTES32_BYTES, what)


def format_hex(data: bytes) -> str:
    """Return the canonical text of ``data``: ``0x``, then two lowercase hex digits a byte."""
    return HEX_PREFIX + bytes(data).hex()


def check_field_element(x: int, what: str = "field element") -> int:
    """Return ``x`` if it is a canonical BN254 scalar field element, else raise.

    Raises
    ------
    EncodingError
        If ``x`` is not an ``int`` (``bool`` is refused) or is outside ``[0, r)``.
    """
    if not isinstance(x, int) or isinstance(x, bool):
        raise EncodingError(f"{what} must be an int, got {type(x).__name__}")
    if not 0 <= x < BN254_SCALAR_ORDER:
        raise EncodingError(f"{what} must satisfy 0 <= x < r (the BN254 scalar order)")
    return x


def parse_field_element(s: str, what: str = "field element") -> int:
    """Parse a BN254 scalar field element written as minimal lowercase hex (``0x0``, ``0x1f``).

    Parameters
    ----------
    s
        ``0x`` followed by 1 to 64 lowercase hex digits, without leading zeros (``0x0`` for zero).
    what
        The name of the value, used in error messages.

    Returns
    -------
    int
        The element, ``0 <= x < r``.

    Raises
    ------
    EncodingError
        If the text is not canonical (missing prefix, upper case, no digits, leading zeros) or the
        value is not below r.
    """
    digits = _check_hex_digits(s, what)
    if not digits:
        raise EncodingError(f"{what} must have at least one hex digit after {HEX_PREFIX!r}")
    if len(digits) > 1 and digits[0] == "0":
        raise EncodingError(f"{what} must not have leading zeros (zero is written 0x0)")
    if len(digits) > 2 * FIELD_ELEMENT_BYTES:
        raise EncodingError(f"{what} must satisfy 0 <= x < r (the BN254 scalar order)")
    return check_field_element(int(digits, 16), what)


def format_field_element(x: int) -> str:
    """Return the canonical text of a field element: minimal lowercase hex, ``0x0`` for zero.

    Raises
    ------
    EncodingError
        If ``x`` is not a canonical field element.
    """
    return HEX_PREFIX + format(check_field_element(x), "x")


def field_element_bytes(x: int, what: str = "field element") -> bytes:
    """Return a canonical field element as 32 bytes big-endian.

    Raises
    ------
    EncodingError
        If ``x`` is not a canonical field element.
    """
    return check_field_element(x, what).to_bytes(FIELD_ELEMENT_BYTES, "big")


def uint64_bytes(x: int, what: str = "integer") -> bytes:
    """Return an unsigned 64-bit integer as 8 bytes big-endian.

    Raises
    ------
    EncodingError
        If ``x`` is not an ``int`` (``bool`` is refused) or is outside ``[0, 2**64)``.
    """
    if not isinstance(x, int) or isinstance(x, bool):
        raise EncodingError(f"{what} must be an int, got {type(x).__name__}")
    if not 0 <= x <= UINT64_MAX:
        raise EncodingError(f"{what} must satisfy 0 <= x < 2**64")
    return x.to_bytes(UINT64_BYTES, "big")


def require_length(data: bytes, length: int, what: str) -> bytes:
    """Return ``data`` if it is a ``bytes`` object of exactly ``length`` bytes, else raise.

    Raises
    ------
    EncodingError
        If ``data`` is not ``bytes`` or has another length.
    """
    if not isinstance(data, bytes):
        raise EncodingError(f"{what} must be bytes, got {type(data).__name__}")
    if len(data) != length:
        raise EncodingError(f"{what} must be {length} bytes, got {len(data)}")
    return data
