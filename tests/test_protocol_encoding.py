"""Canonical encodings and the domain tag table: one accepted text per value, others rejected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pot.errors import MalformedInputError, PotError
from pot.protocol.domains import ALL_DOMAINS, DOMAIN_TAG_BYTES, keccak256, tagged_hash
from pot.protocol.encoding import (
    BN254_SCALAR_ORDER,
    field_element_bytes,
    format_field_element,
    format_hex,
    parse_bytes32,
    parse_field_element,
    parse_hex,
    require_length,
    uint64_bytes,
)
from pot.protocol.errors import EncodingError, ProtocolError

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def test_bn254_scalar_order_is_the_known_constant():
    assert BN254_SCALAR_ORDER == R


def test_encoding_errors_are_malformed_input_and_protocol_errors():
    assert issubclass(EncodingError, MalformedInputError)
    assert issubclass(EncodingError, ProtocolError)
    assert issubclass(ProtocolError, PotError)


def test_keccak256_is_ethereum_keccak_not_sha3():
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


def test_domain_tags_are_padded_ascii_names():
    assert ALL_DOMAINS["DOMAIN_WEIGHTS"] == b"pot/v1/weights" + bytes(18)
    assert ALL_DOMAINS["DOMAIN_CHALLENGE_SEED"] == b"pot/v1/challenge/seed" + bytes(11)
    assert all(len(tag) == DOMAIN_TAG_BYTES for tag in ALL_DOMAINS.values())
    assert len(set(ALL_DOMAINS.values())) == len(ALL_DOMAINS)


def test_tagged_hash_prefixes_the_tag():
    tag = ALL_DOMAINS["DOMAIN_BATCH"]
    assert tagged_hash(tag, b"ab", b"c") == keccak256(tag + b"abc")


def test_tagged_hash_refuses_an_unknown_tag():
    with pytest.raises(ValueError, match="domain tags"):
        tagged_hash(b"x" * 32, b"")


def test_parse_hex_accepts_the_canonical_form():
    assert parse_hex("0x00ff10", 3) == b"\x00\xff\x10"
    assert parse_hex("0x", 0) == b""
    assert parse_bytes32("0x" + "ab" * 32) == b"\xab" * 32


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("00ff10", "must start with '0x'"),
        ("0X00ff10", "must start with '0x'"),
        ("0x00FF10", "lowercase hex digits 0-9a-f only \\(bad character at offset 4\\)"),
        ("0x00ff1", "must be 0x followed by 6 hex digits \\(3 bytes\\), got 5 digits"),
        ("0x00ff1000", "got 8 digits"),
        ("0x00ff 0", "bad character at offset 6"),
        (" 0x00ff10", "must start with '0x'"),
        ("0x00ff1g", "bad character at offset 7"),
    ],
)
def test_parse_hex_rejects_non_canonical_text(text, message):
    with pytest.raises(EncodingError, match=message):
        parse_hex(text, 3)


def test_parse_hex_rejects_non_strings_and_names_the_value():
    with pytest.raises(EncodingError) as info:
        parse_bytes32(b"0x00", "job id")  # type: ignore[arg-type]
    assert str(info.value) == "job id must be a hex string, got bytes"


def test_parse_hex_messages_do_not_echo_the_input():
    secret = "0x" + "5a" * 31 + "ZZ"
    with pytest.raises(EncodingError) as info:
        parse_bytes32(secret)
    assert "5a5a" not in str(info.value)


@given(st.binary(max_size=40))
def test_format_hex_round_trips(data):
    assert parse_hex(format_hex(data), len(data)) == data


@pytest.mark.parametrize(
    ("text", "value"),
    [("0x0", 0), ("0x1", 1), ("0x1f", 31), ("0xabc", 0xABC), (hex(R - 1), R - 1)],
)
def test_parse_field_element_accepts_minimal_hex(text, value):
    assert parse_field_element(text) == value
    assert format_field_element(value) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0x", "at least one hex digit"),
        ("0x00", "must not have leading zeros"),
        ("0x01", "must not have leading zeros"),
        ("0x" + "0" * 63 + "1", "must not have leading zeros"),
        ("0x1F", "lowercase"),
        ("1f", "must start with '0x'"),
        (hex(R), "0 <= x < r"),
        (hex(2**256 - 1), "0 <= x < r"),
        ("0x1" + "0" * 64, "0 <= x < r"),
        ("-0x1", "must start with '0x'"),
    ],
)
def test_parse_field_element_rejects_non_canonical_text(text, message):
    with pytest.raises(EncodingError, match=message):
        parse_field_element(text)


@given(st.integers(min_value=0, max_value=R - 1))
def test_field_element_text_round_trips(x):
    assert parse_field_element(format_field_element(x)) == x


def test_field_element_bytes_are_32_byte_big_endian():
    assert field_element_bytes(1) == bytes(31) + b"\x01"
    assert field_element_bytes(R - 1) == (R - 1).to_bytes(32, "big")


@pytest.mark.parametrize("bad", [-1, R, 2**256, True, 1.0, "0x1"])
def test_field_element_bytes_rejects_non_canonical_values(bad):
    with pytest.raises(EncodingError):
        field_element_bytes(bad)


def test_uint64_bytes_layout_and_range():
    assert uint64_bytes(0) == bytes(8)
    assert uint64_bytes(0x0102030405060708) == bytes(range(1, 9))
    assert uint64_bytes(2**64 - 1) == b"\xff" * 8
    for bad in (-1, 2**64, False):
        with pytest.raises(EncodingError, match="round"):
            uint64_bytes(bad, "round")


def test_require_length_rejects_other_lengths_and_types():
    assert require_length(b"ab", 2, "x") == b"ab"
    with pytest.raises(EncodingError) as info:
        require_length(bytes(31), 32, "beacon")
    assert str(info.value) == "beacon must be 32 bytes, got 31"
    with pytest.raises(EncodingError) as info:
        require_length(bytearray(32), 32, "beacon")  # type: ignore[arg-type]
    assert str(info.value) == "beacon must be bytes, got bytearray"
