"""BLS12-381 keys and signatures, and the canonical JSON signing rule.

py_ecc's pairing takes about 0.4 s, so verifications are few and each one checks something else.
"""

from __future__ import annotations

import pytest
from Crypto.Hash import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from pot.protocol.errors import EncodingError, InvalidKeyError
from pot.protocol.keys import (
    BLS12_381_SCALAR_ORDER,
    SecretKey,
    derive_secret_key,
    generate_secret_key,
    public_key,
    sign,
    sign_body,
    signing_digest,
    signing_json,
    validate_public_key,
    verify,
    verify_body,
)

# Ethereum consensus-spec-tests, bls/sign: the first spec private key signing 32 zero bytes.
SPEC_SK = 0x263DBD792F5B1BE47ED85F8938C0F29586AF0D3AC7B977F21C278FE1462040E3
SPEC_PK = bytes.fromhex(
    "a491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20f"
    "d6e10c1b77654d067c0618f6e5a7f79a"
)
SPEC_SIG = bytes.fromhex(
    "b6ed936746e01f8ecf281f020953fbf1f01debd5657c4a383940b020b26507f6"
    "076334f91e2366c96e9ab279fb5158090352ea1c5b0c9274504f4f0e7053af24"
    "802e51e4568d164fe986834f41e55c8e850ce1f98458c0cfc9ab380b55285a55"
)
MESSAGE = bytes(32)
INFINITY_PK = b"\xc0" + bytes(47)
INFINITY_SIG = b"\xc0" + bytes(95)


def test_public_key_and_signature_match_the_ethereum_spec_vector():
    sk = SecretKey(SPEC_SK)
    assert public_key(sk) == SPEC_PK
    assert sign(sk, MESSAGE) == SPEC_SIG


def test_spec_signature_verifies():
    assert verify(SPEC_PK, MESSAGE, SPEC_SIG)


def test_signature_of_another_message_does_not_verify():
    assert not verify(SPEC_PK, b"\x01" + bytes(31), SPEC_SIG)


def test_signature_under_another_key_does_not_verify():
    other = public_key(derive_secret_key(bytes(range(1, 33))))
    assert not verify(other, MESSAGE, SPEC_SIG)


@pytest.mark.parametrize(
    ("pk", "sig"),
    [
        (INFINITY_PK, SPEC_SIG),  # the identity is not a valid public key
        (bytes(48), SPEC_SIG),  # not a compressed point encoding
        (b"\xff" * 48, SPEC_SIG),
        (SPEC_PK, bytes(96)),
        (SPEC_PK, b"\xff" * 96),
        (SPEC_PK[:-1] + bytes([SPEC_PK[-1] ^ 1]), SPEC_SIG),  # x likely not on the curve
    ],
)
def test_invalid_points_give_false_not_a_crash(pk, sig):
    assert verify(pk, MESSAGE, sig) is False


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=48, max_size=48), st.binary(min_size=96, max_size=96))
def test_garbage_of_the_right_length_never_raises(pk, sig):
    assert verify(pk, MESSAGE, sig) in (True, False)


@pytest.mark.parametrize(
    ("pk", "message", "sig", "error"),
    [
        (SPEC_PK[:47], MESSAGE, SPEC_SIG, "public key must be 48 bytes, got 47"),
        (SPEC_PK, MESSAGE, SPEC_SIG + b"\x00", "signature must be 96 bytes, got 97"),
        ("0x" + SPEC_PK.hex(), MESSAGE, SPEC_SIG, "public key must be bytes, got str"),
        (SPEC_PK, "hello", SPEC_SIG, "a message must be bytes, got str"),
    ],
)
def test_wrong_shapes_are_named_errors(pk, message, sig, error):
    with pytest.raises(EncodingError) as info:
        verify(pk, message, sig)
    assert str(info.value) == error


def test_validate_public_key():
    assert validate_public_key(SPEC_PK) == SPEC_PK
    for bad in (INFINITY_PK, bytes(48), b"\xff" * 48):
        with pytest.raises(InvalidKeyError) as info:
            validate_public_key(bad)
        assert str(info.value) == "public key is not a valid BLS12-381 G1 subgroup point"
    with pytest.raises(EncodingError):
        validate_public_key(SPEC_PK[:10])


@pytest.mark.parametrize("scalar", [0, -1, BLS12_381_SCALAR_ORDER, True, "1"])
def test_secret_key_scalar_must_be_in_range(scalar):
    with pytest.raises(InvalidKeyError):
        SecretKey(scalar)


def test_secret_key_never_shows_its_value():
    sk = SecretKey(SPEC_SK)
    for text in (repr(sk), str(sk), f"{sk}", repr([sk])):
        assert "263dbd" not in text.lower()
        assert str(SPEC_SK) not in text
    assert repr(sk) == "SecretKey(<redacted>)"


def test_derive_secret_key_is_deterministic_and_needs_32_bytes():
    ikm = bytes(range(1, 33))
    assert derive_secret_key(ikm) == derive_secret_key(ikm)
    assert derive_secret_key(ikm) != derive_secret_key(ikm[::-1])
    with pytest.raises(InvalidKeyError) as info:
        derive_secret_key(ikm[:31])
    assert str(info.value) == "KeyGen needs at least 32 bytes of keying material"


def test_generated_keys_differ():
    assert generate_secret_key() != generate_secret_key()


def test_signing_json_is_sorted_and_compact():
    body = {"round": 7, "b": [True, None, "x"], "a": {"z": 1, "y": 'q"\\'}}
    assert signing_json(body) == b'{"a":{"y":"q\\"\\\\","z":1},"b":[true,null,"x"],"round":7}'


def test_signing_digest_is_keccak_of_the_canonical_json():
    body = {"job_id": "0x" + "11" * 32, "round": 7}
    expected = keccak.new(digest_bits=256, data=signing_json(body)).digest()
    assert signing_digest(body) == expected
    assert signing_digest({"round": 7, "job_id": "0x" + "11" * 32}) == expected


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"x": 1.0},
            "signing body $.x must be null, a bool, an int, a str, a list or an object, got float",
        ),
        (
            {"x": (1, 2)},
            "signing body $.x must be null, a bool, an int, a str, a list or an object, got tuple",
        ),
        (
            {"x": b"ab"},
            "signing body $.x must be null, a bool, an int, a str, a list or an object, got bytes",
        ),
        ({1: "a"}, "signing body $ has a key that is not a string"),
        ({"é": 1}, "signing body $ has a key that is not printable ASCII"),
        ({"a\tb": 1}, "signing body $ has a key that is not printable ASCII"),
        ({"x": ["ok", "é"]}, "signing body $.x[1] must be a printable ASCII string"),
        ({"x": "line\n"}, "signing body $.x must be a printable ASCII string"),
        ({"x": "\x7f"}, "signing body $.x must be a printable ASCII string"),
        (
            {"x": 2**53},
            "signing body $.x must be an integer of magnitude at most 2**53 - 1; "
            "write larger values as strings",
        ),
        (
            {"x": -(2**53)},
            "signing body $.x must be an integer of magnitude at most 2**53 - 1; "
            "write larger values as strings",
        ),
        ([1], "a signing body must be a JSON object, got list"),
    ],
)
def test_signing_json_refuses_values_without_one_canonical_form(body, error):
    with pytest.raises(EncodingError) as info:
        signing_json(body)
    assert str(info.value) == error


def test_signing_json_accepts_every_printable_ascii_character():
    printable = "".join(chr(c) for c in range(0x20, 0x7F))
    escaped = printable.replace("\\", "\\\\").replace('"', '\\"')
    assert signing_json({printable: printable}) == f'{{"{escaped}":"{escaped}"}}'.encode()


def test_signing_json_accepts_the_largest_safe_integers():
    assert signing_json({"x": [2**53 - 1, -(2**53 - 1)]}) == (
        b'{"x":[9007199254740991,-9007199254740991]}'
    )


def test_sign_body_round_trip_and_tamper():
    sk = SecretKey(SPEC_SK)
    body = {"job_id": "0x" + "11" * 32, "round": 7}
    signature = sign_body(sk, body)
    assert signature == sign(sk, signing_digest(body))
    assert verify_body(SPEC_PK, body, signature)
    assert not verify_body(SPEC_PK, {**body, "round": 8}, signature)
