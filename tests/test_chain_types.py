"""Fixed-width value types: ranges, widths and conversions."""

from __future__ import annotations

import pytest

from pot.chain.errors import OutOfRangeError
from pot.chain.fixed_types import U8, U64, U256, Address, Bytes32, Bytes48


def test_unsigned_bounds_are_inclusive_of_zero_and_max() -> None:
    assert U64(0) == 0
    assert U64(2**64 - 1) == 2**64 - 1
    with pytest.raises(OutOfRangeError, match="U64 out of range"):
        U64(2**64)
    with pytest.raises(OutOfRangeError, match="U8 out of range"):
        U8(-1)


def test_bool_and_float_are_not_integers() -> None:
    with pytest.raises(OutOfRangeError, match="needs an int, got bool"):
        U64(True)
    with pytest.raises(OutOfRangeError, match="needs an int, got float"):
        U256(1.0)  # type: ignore[arg-type]


def test_big_endian_round_trip_and_width_check() -> None:
    assert U64(258).to_be_bytes() == b"\x00" * 6 + b"\x01\x02"
    assert U64.from_be_bytes(b"\x00" * 6 + b"\x01\x02") == 258
    assert U64(1).to_be_bytes32() == b"\x00" * 31 + b"\x01"
    with pytest.raises(OutOfRangeError, match="needs 8 bytes, got 7"):
        U64.from_be_bytes(b"\x00" * 7)


def test_fixed_bytes_check_length_and_parse_hex() -> None:
    assert Bytes32.from_hex("0x" + "ab" * 32) == b"\xab" * 32
    assert Address(b"\x01" * 20).to_hex() == "0x" + "01" * 20
    assert Bytes32(b"\x00" * 32).is_zero()
    with pytest.raises(OutOfRangeError, match="Bytes48 needs 48 bytes, got 47"):
        Bytes48(b"\x00" * 47)
    with pytest.raises(OutOfRangeError, match="not hex"):
        Bytes32.from_hex("0xzz")
