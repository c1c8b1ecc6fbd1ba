"""Fixed-width value types of the chain-side executor.

Consensus values never travel as bare ``int`` or ``bytes`` of unknown width: an unsigned integer
is a :class:`U8` ... :class:`U256` and a byte string is an :class:`Address` (20 bytes),
:class:`Bytes32` or :class:`Bytes48`. Each constructor checks its range or length and raises
:class:`~pot.chain.errors.OutOfRangeError`, so a value that exists is in range. Conversions are
explicit: ``U64(x)``, ``U64.from_be_bytes(b)``, ``x.to_be_bytes()``. Arithmetic on these types
returns a plain ``int``; wrap the result again to re-check it.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pot.chain.errors import OutOfRangeError


class FixedUint(int):
    """An unsigned integer of ``BITS`` bits; the base of :class:`U8` ... :class:`U256`."""

    BITS: ClassVar[int] = 0

    def __new__(cls, value: int) -> Self:
        """Check that ``value`` is an ``int`` in ``[0, 2**BITS)``.

        Raises
        ------
        OutOfRangeError
            If ``value`` is not an ``int`` (``bool`` included) or is out of range.
        """
        if isinstance(value, bool) or not isinstance(value, int):
            raise OutOfRangeError(f"{cls.__name__} needs an int, got {type(value).__name__}")
        if not 0 <= value < (1 << cls.BITS):
            raise OutOfRangeError(f"{cls.__name__} out of range [0, 2**{cls.BITS}): {value}")
        return super().__new__(cls, value)

    @classmethod
    def width_bytes(cls) -> int:
        """Return the width of the type in bytes."""
        return cls.BITS // 8

    @classmethod
    def from_be_bytes(cls, data: bytes) -> Self:
        """Decode exactly ``BITS / 8`` big-endian bytes.

        Raises
        ------
        OutOfRangeError
            If ``data`` does not have exactly the width of the type.
        """
        if len(data) != cls.width_bytes():
            raise OutOfRangeError(
                f"{cls.__name__} needs {cls.width_bytes()} bytes, got {len(data)}"
            )
        return cls(int.from_bytes(data, "big"))

    def to_be_bytes(self) -> bytes:
        """Encode as exactly ``BITS / 8`` big-endian bytes."""
        return int(self).to_bytes(self.width_bytes(), "big")

    def to_be_bytes32(self) -> bytes:
        """Encode as one 32-byte big-endian word (an ABI word), left-padded with zeros."""
        return int(self).to_bytes(32, "big")

    def __str__(self) -> str:
        return int.__repr__(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int.__repr__(self)})"


class U8(FixedUint):
    """An unsigned 8-bit integer."""

    BITS = 8


class U16(FixedUint):
    """An unsigned 16-bit integer."""

    BITS = 16


class U32(FixedUint):
    """An unsigned 32-bit integer."""

    BITS = 32


class U64(FixedUint):
    """An unsigned 64-bit integer: nonces, heights, counts."""

    BITS = 64


class U256(FixedUint):
    """An unsigned 256-bit integer: an ABI word, a stake in wei."""

    BITS = 256


class FixedBytes(bytes):
    """A byte string of exactly ``LENGTH`` bytes; the base of :class:`Bytes32` and friends."""

    LENGTH: ClassVar[int] = 0

    def __new__(cls, value: bytes) -> Self:
        """Check that ``value`` is ``bytes`` of exactly ``LENGTH`` bytes.

        Raises
        ------
        OutOfRangeError
            If ``value`` is not ``bytes`` or has another length.
        """
        if not isinstance(value, bytes | bytearray | memoryview):
            raise OutOfRangeError(f"{cls.__name__} needs bytes, got {type(value).__name__}")
        if len(value) != cls.LENGTH:
            raise OutOfRangeError(f"{cls.__name__} needs {cls.LENGTH} bytes, got {len(value)}")
        return super().__new__(cls, value)

    @classmethod
    def from_hex(cls, text: str) -> Self:
        """Parse ``0x``-prefixed (or bare) hex of exactly ``LENGTH`` bytes.

        Raises
        ------
        OutOfRangeError
            If ``text`` is not hex or has another length.
        """
        digits = text[2:] if text[:2] in ("0x", "0X") else text
        try:
            raw = bytes.fromhex(digits)
        except ValueError as e:
            raise OutOfRangeError(f"{cls.__name__}: not hex: {text!r}") from e
        return cls(raw)

    def to_hex(self) -> str:
        """Return ``0x`` followed by lower-case hex."""
        return "0x" + self.hex()

    def is_zero(self) -> bool:
        """Return whether every byte is zero."""
        return not any(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_hex()})"


class Address(FixedBytes):
    """A 20-byte account address: the caller of a TRAIN_REQUEST."""

    LENGTH = 20


class Bytes32(FixedBytes):
    """A 32-byte word: hashes, commitments, job ids, IPFS digests, beacons."""

    LENGTH = 32


class Bytes48(FixedBytes):
    """48 bytes: a compressed BLS12-381 G1 public key."""

    LENGTH = 48
