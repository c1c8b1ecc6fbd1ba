"""The BLS reference (py_ecc) and its fast twin (milagro) agree byte for byte and verdict for verdict.

Every comparison runs both backends on the same input; py_ecc's pairing takes about 0.4 s, so the
property tests draw few examples and sign with milagro (whose signatures are checked equal to
py_ecc's on the spec vector and on random keys).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pot.protocol import bls
from pot.protocol.keys import BLS12_381_SCALAR_ORDER, SecretKey, public_key, sign, verify
from tests.test_keys_bls import INFINITY_PK, INFINITY_SIG, MESSAGE, SPEC_PK, SPEC_SIG, SPEC_SK

pytest.importorskip("milagro_bls_binding")

FLAG_COMPRESSED = 0x80
FLAG_INFINITY = 0x40
FLAG_SIGN = 0x20
COORDINATE_BITS = 381
FIELD_MODULUS = int("1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f624"
                    "1eabfffeb153ffffb9feffffffffaaab", 16)

REFERENCE = bls.backend(bls.PY_ECC)
FAST = bls.backend(bls.MILAGRO)
PROPERTY = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.integers(min_value=1, max_value=BLS12_381_SCALAR_ORDER - 1)
messages = st.binary(min_size=0, max_size=64)


def verdicts(pk: bytes, message: bytes, sig: bytes) -> tuple[bool, bool]:
    """(reference, fast) verdicts on the same input."""
    return REFERENCE.verify(pk, message, sig), FAST.verify(pk, message, sig)


def flip(data: bytes, index: int, mask: int) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


def with_x(x: int, flags: int, size: int) -> bytes:
    """A compressed-point word of ``size`` bytes: the flags in the top 3 bits of x's word."""
    return ((flags << (COORDINATE_BITS - 5)) | x).to_bytes(48, "big") + bytes(size - 48)


def _off_subgroup_points(seed: int) -> tuple[bytes, bytes]:
    """A G1 and a G2 point on the curve but outside the prime-order subgroup, compressed."""
    from py_ecc.bls.point_compression import compress_G1, compress_G2, modular_squareroot_in_FQ2
    from py_ecc.optimized_bls12_381 import FQ, FQ2, b, b2, curve_order, is_inf, multiply

    rng = random.Random(seed)
    g1 = g2 = None
    while g1 is None:
        x = FQ(rng.randrange(FIELD_MODULUS))
        y = (x**3 + b) ** ((FIELD_MODULUS + 1) // 4)
        if y * y == x**3 + b and not is_inf(multiply((x, y, FQ.one()), curve_order)):
            g1 = compress_G1((x, y, FQ.one())).to_bytes(48, "big")
    while g2 is None:
        x2 = FQ2([rng.randrange(FIELD_MODULUS), rng.randrange(FIELD_MODULUS)])
        y2 = modular_squareroot_in_FQ2(x2**3 + b2)
        if y2 is not None and not is_inf(multiply((x2, y2, FQ2.one()), curve_order)):
            z1, z2 = compress_G2((x2, y2, FQ2.one()))
            g2 = z1.to_bytes(48, "big") + z2.to_bytes(48, "big")
    return g1, g2


def _not_on_curve_x(seed: int) -> int:
    from py_ecc.optimized_bls12_381 import FQ, b

    rng = random.Random(seed)
    while True:
        x = rng.randrange(FIELD_MODULUS)
        rhs = FQ(x) ** 3 + b
        if (rhs ** ((FIELD_MODULUS + 1) // 4)) ** 2 != rhs:
            return x


def _aliased(word: bytes) -> bytes | None:
    """``word`` with q added to its x coordinate (same point mod q, non-canonical), if it fits."""
    value = int.from_bytes(word[:48], "big")
    x = value & ((1 << COORDINATE_BITS) - 1)
    if x + FIELD_MODULUS >= 1 << COORDINATE_BITS:
        return None
    return (value + FIELD_MODULUS).to_bytes(48, "big") + word[48:]


def _first_aliasable_key() -> tuple[bytes, bytes]:
    """The first (pk with x + q < 2^381, its signature of MESSAGE), from sk = 1, 2, ..."""
    for sk in range(1, 1000):
        pk = FAST.sk_to_pk(sk)
        if _aliased(pk) is not None:
            return pk, FAST.sign(sk, MESSAGE)
    raise AssertionError("no aliasable key among the first 1000")


OFF_G1, OFF_G2 = _off_subgroup_points(9)
ALIAS_PK, ALIAS_SIG = _first_aliasable_key()

EDGE_CASES = {
    "valid": (SPEC_PK, SPEC_SIG, True),
    "infinity key": (INFINITY_PK, SPEC_SIG, False),
    "infinity signature": (SPEC_PK, INFINITY_SIG, False),
    "infinity key and signature": (INFINITY_PK, INFINITY_SIG, False),
    "infinity key with sign flag": (bytes([0xE0]) + bytes(47), SPEC_SIG, False),
    "infinity signature with sign flag": (SPEC_PK, bytes([0xE0]) + bytes(95), False),
    "infinity key with a nonzero byte": (INFINITY_PK[:-1] + b"\x01", SPEC_SIG, False),
    "infinity signature with a nonzero byte": (SPEC_PK, INFINITY_SIG[:-1] + b"\x01", False),
    "key infinity flag on a point": (flip(SPEC_PK, 0, FLAG_INFINITY), SPEC_SIG, False),
    "signature infinity flag on a point": (SPEC_PK, flip(SPEC_SIG, 0, FLAG_INFINITY), False),
    "key without compression flag": (flip(SPEC_PK, 0, FLAG_COMPRESSED), SPEC_SIG, False),
    "signature without compression flag": (SPEC_PK, flip(SPEC_SIG, 0, FLAG_COMPRESSED), False),
    "key sign flag flipped": (flip(SPEC_PK, 0, FLAG_SIGN), SPEC_SIG, False),
    "signature sign flag flipped": (SPEC_PK, flip(SPEC_SIG, 0, FLAG_SIGN), False),
    "signature flags on its second word": (SPEC_PK, flip(SPEC_SIG, 48, FLAG_COMPRESSED), False),
    "key x = q": (with_x(FIELD_MODULUS, 0b100, 48), SPEC_SIG, False),
    "key x = 2^381 - 1": (with_x((1 << COORDINATE_BITS) - 1, 0b100, 48), SPEC_SIG, False),
    "key x + q (aliases a valid key)": (_aliased(ALIAS_PK), ALIAS_SIG, False),
    "signature x_c0 + q": (SPEC_PK, SPEC_SIG[:48] + (int.from_bytes(SPEC_SIG[48:], "big")
                                                       + FIELD_MODULUS).to_bytes(48, "big"), False),
    "key x not on the curve": (with_x(_not_on_curve_x(3), 0b100, 48), SPEC_SIG, False),
    "key off the G1 subgroup": (OFF_G1, SPEC_SIG, False),
    "signature off the G2 subgroup": (SPEC_PK, OFF_G2, False),
    "all-zero key": (bytes(48), SPEC_SIG, False),
    "all-ones signature": (SPEC_PK, b"\xff" * 96, False),
}


@pytest.fixture(params=[bls.PY_ECC, bls.MILAGRO])
def backend(request: pytest.FixtureRequest) -> bls.BlsBackend:
    """Each backend in turn, installed as pot's active one for the test."""
    with bls.using_backend(request.param) as chosen:
        yield chosen


def test_both_backends_match_the_ethereum_spec_vector(backend):
    assert backend.sk_to_pk(SPEC_SK) == SPEC_PK
    assert backend.sign(SPEC_SK, MESSAGE) == SPEC_SIG
    assert backend.verify(SPEC_PK, MESSAGE, SPEC_SIG) is True
    assert public_key(SecretKey(SPEC_SK)) == SPEC_PK
    assert sign(SecretKey(SPEC_SK), MESSAGE) == SPEC_SIG


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_backends_agree_on_edge_case(case, backend):
    pk, sig, expected = EDGE_CASES[case]
    assert len(pk) == 48 and len(sig) == 96
    assert verdicts(pk, MESSAGE, sig) == (expected, expected)
    assert verify(pk, MESSAGE, sig) is expected


@pytest.mark.parametrize(("pk", "sig", "error"), [
    (SPEC_PK[:47], SPEC_SIG, "public key must be 48 bytes, got 47"),
    (SPEC_PK + b"\x00", SPEC_SIG, "public key must be 48 bytes, got 49"),
    (SPEC_PK, SPEC_SIG[:95], "signature must be 96 bytes, got 95"),
    (SPEC_PK, b"", "signature must be 96 bytes, got 0"),
])
def test_wrong_lengths_raise_the_same_error_under_both_backends(pk, sig, error, backend):
    from pot.protocol.errors import EncodingError

    with pytest.raises(EncodingError) as info:
        verify(pk, MESSAGE, sig)
    assert str(info.value) == error


@pytest.mark.slow
@PROPERTY
@given(scalars, messages)
def test_backends_give_the_same_key_and_signature(sk, message):
    assert REFERENCE.sk_to_pk(sk) == FAST.sk_to_pk(sk)
    assert REFERENCE.sign(sk, message) == FAST.sign(sk, message)


@pytest.mark.slow
@PROPERTY
@given(scalars, messages)
def test_backends_accept_a_random_valid_signature(sk, message):
    pk, sig = FAST.sk_to_pk(sk), FAST.sign(sk, message)
    assert verdicts(pk, message, sig) == (True, True)


@pytest.mark.slow
@PROPERTY
@given(scalars, messages, st.integers(min_value=0), st.sampled_from(["message", "signature", "key"]))
def test_backends_agree_on_a_tampered_signature(sk, message, where, what):
    pk, sig = FAST.sk_to_pk(sk), FAST.sign(sk, message)
    if what == "message":
        message = message + b"\x00" if not message else flip(message, where % len(message), 1 << (where % 8))
    elif what == "signature":
        sig = flip(sig, where % 96, 1 << (where % 8))
    else:
        pk = flip(pk, where % 48, 1 << (where % 8))
    assert verdicts(pk, message, sig) == (False, False)


@pytest.mark.slow
@PROPERTY
@given(scalars, scalars, messages)
def test_backends_reject_a_signature_under_another_key(sk, other, message):
    pk, sig = FAST.sk_to_pk(other), FAST.sign(sk, message)
    expected = sk == other
    assert verdicts(pk, message, sig) == (expected, expected)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=0, max_value=(1 << COORDINATE_BITS) - 1), st.integers(0, 7))
def test_backends_agree_on_any_key_word(x, flags):
    """Arbitrary x and flag bits: mostly off the curve or off the subgroup, some non-canonical."""
    pk = with_x(x, flags, 48)
    assert verdicts(pk, MESSAGE, SPEC_SIG) == (False, False)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(st.binary(min_size=96, max_size=96), st.integers(0, 7))
def test_backends_agree_on_any_signature_word(sig, flags):
    sig = bytes([(flags << 5) | (sig[0] & 0x1F)]) + sig[1:]
    assert verdicts(SPEC_PK, MESSAGE, sig) == (False, False)


def test_default_backend_is_milagro_when_installed(monkeypatch):
    monkeypatch.delenv(bls.BACKEND_ENV, raising=False)
    assert bls.default_backend().name == bls.MILAGRO


def test_environment_forces_the_reference_backend(monkeypatch):
    monkeypatch.setenv(bls.BACKEND_ENV, bls.PY_ECC)
    assert bls.default_backend().name == bls.PY_ECC
    monkeypatch.setenv(bls.BACKEND_ENV, "blst")
    with pytest.raises(ValueError, match="unknown BLS backend 'blst'"):
        bls.default_backend()


def test_using_backend_restores_the_active_one():
    before = bls.active_backend().name
    with bls.using_backend(bls.PY_ECC):
        assert bls.active_backend().name == bls.PY_ECC
    assert bls.active_backend().name == before
