"""One spelling per value in everything a verifier or the opcode reads from anyone.

``pot.protocol.encoding`` defines the canonical texts; these tests check that the *readers*
(step proofs, bundles, BLS points, calldata, compressed updates) apply them to every field: a
second spelling of the same value, such as a field element plus r, upper-case hex, a leading zero,
a JSON number for a string or a string for a number, is malformed input, never a second encoding.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from py_ecc.bn128 import G1 as BN128_G1
from py_ecc.bn128 import curve_order as bn128_curve_order
from py_ecc.bn128 import field_modulus as bn128_field_modulus
from py_ecc.bn128 import multiply as bn128_multiply
from py_ecc.fields import optimized_bls12_381_FQ
from py_ecc.optimized_bn128 import curve_order as optimized_bn128_curve_order

from pot.aggregation.compression import decode_sparse, encode_sparse
from pot.aggregation.errors import MalformedUpdateError
from pot.aggregation.updates import SparseUpdate
from pot.bundle import Bundle, StepOpening, dump_bundle, load_bundle
from pot.chain.abi import decode_train_request
from pot.chain.errors import CalldataError
from pot.errors import MalformedInputError
from pot.proof import StepProof
from pot.protocol.encoding import BN254_SCALAR_ORDER
from pot.protocol.keys import derive_secret_key, public_key, sign, verify
from pot.verifier import load_step_proof_bytes

R = BN254_SCALAR_ORDER
P_BLS = optimized_bls12_381_FQ.field_modulus
CIRCUIT_ID = "0x" + "ab" * 32


P_BN254 = int(bn128_field_modulus)


def g1_point(k: int) -> bytes:
    """k times BN254's G1 generator, as 64 bytes ``be32(x) ‖ be32(y)``."""
    x, y = bn128_multiply(BN128_G1, k)
    return int(x.n).to_bytes(32, "big") + int(y.n).to_bytes(32, "big")


def step_proof(scalars: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)) -> StepProof:
    """A well-formed (unprovable) step proof whose bytes open with these multiples of G1."""
    body = b"".join(g1_point(k) for k in scalars)
    return StepProof(CIRCUIT_ID, body + b"\x01\x02\x03", (len(scalars) - 2) // 2)


def bundle() -> Bundle:
    """A well-formed (unsigned, unprovable) bundle: only its encoding matters here."""
    opening = StepOpening(index=1, proof=step_proof(), weights=b"\x0d" * 32, batch=b"\x02" * 32,
                          leaf_path=(b"\x03" * 32,), next_weights=b"\x04" * 32,
                          next_batch=bytes(32), next_path=(b"\x05" * 32,), batch_index=0,
                          batch_path=())
    return Bundle(job_id=b"\x1a" * 32, round=3, trainer=b"\x22" * 48, circuit_id=CIRCUIT_ID,
                  root=b"\x3c" * 32, steps=2, beacon=b"\x44" * 32, indices=(1,),
                  dataset_root=b"\x55" * 32, n_batches=1, batch_size=4,
                  global_commitment=b"\x66" * 32, first_batch=b"\x77" * 32, first_path=(),
                  final_commitment=b"\x88" * 32, last_path=(b"\x9e" * 32,),
                  openings=(opening,), signature=b"\xaa" * 96)


def test_the_field_is_py_eccs_bn254_scalar_field() -> None:
    assert R == int(bn128_curve_order) == int(optimized_bn128_curve_order)


def test_canonical_forms_round_trip() -> None:
    step = step_proof()
    assert load_step_proof_bytes(json.dumps(step.to_json()).encode()) == step
    assert load_bundle(dump_bundle(bundle())) == bundle()


def _with_point(text: Any, i: int = 3) -> bytes:
    doc = step_proof().to_json()
    doc["points"][i] = text
    return json.dumps(doc).encode()


@pytest.mark.parametrize("spelling", [
    lambda t: t.upper().replace("0X", "0x"),
    lambda t: "0X" + t[2:],
    lambda t: t[2:],                               # no prefix
    lambda t: "0x" + t[4:],                         # a byte short
    lambda t: t + "00",                             # a byte long
    lambda t: "0x" + t[2:66],                       # x alone
    lambda t: " " + t,
    lambda t: t + "\n",
    lambda t: int(t, 16),                           # a JSON number
    lambda t: "0x" + bytes.fromhex(t[2:66])[::-1].hex(),  # ezkl's compressed little-endian form
])
def test_a_tensor_point_has_one_spelling(spelling: Any) -> None:
    text = step_proof().to_json()["points"][3]
    with pytest.raises(MalformedInputError):
        load_step_proof_bytes(_with_point(spelling(text)))


def _replaced_point(point: bytes, i: int = 3) -> bytes:
    """The test step proof with point ``i`` replaced, in the proof bytes *and* the stated list."""
    step = step_proof()
    raw = step.proof[: 64 * i] + point + step.proof[64 * (i + 1):]
    doc = {**step.to_json(), "proof": "0x" + raw.hex(),
           "points": ["0x" + raw[64 * j: 64 * (j + 1)].hex() for j in range(10)]}
    return json.dumps(doc).encode()


@pytest.mark.parametrize("name", ["x + p", "y + p", "off the curve", "identity (0, 0)", "y = 0"])
def test_a_tensor_point_is_a_point_of_the_curve_in_canonical_coordinates(name: str) -> None:
    good = g1_point(4)
    x, y = int.from_bytes(good[:32], "big"), int.from_bytes(good[32:], "big")
    bad = {
        "x + p": (x + P_BN254, y), "y + p": (x, y + P_BN254), "off the curve": (x, y + 1),
        "identity (0, 0)": (0, 0), "y = 0": (x, 0),
    }[name]
    point = bad[0].to_bytes(32, "big") + bad[1].to_bytes(32, "big")
    with pytest.raises(MalformedInputError, match="point 3"):
        load_step_proof_bytes(_replaced_point(point))


def test_the_negated_point_is_another_point() -> None:
    good = g1_point(4)
    x, y = int.from_bytes(good[:32], "big"), int.from_bytes(good[32:], "big")
    negated = x.to_bytes(32, "big") + (P_BN254 - y).to_bytes(32, "big")
    with pytest.raises(MalformedInputError, match="does not match the points"):
        load_step_proof_bytes(_replaced_point(negated))


def respelled(path: tuple[Any, ...], spelling: Any) -> bytes:
    """The test bundle's file with the value at ``path`` written as ``spelling(value)``."""
    doc = json.loads(dump_bundle(bundle()))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = spelling(node[path[-1]])
    return json.dumps(doc).encode()


BYTES32_FIELDS = [("body", "root"), ("body", "job_id"), ("body", "openings", 0, "weights"),
                  ("body", "last_path", 0), ("body", "openings", 0, "proof", "circuit_id")]


@pytest.mark.parametrize("path", BYTES32_FIELDS)
@pytest.mark.parametrize("spelling", [
    str.upper, lambda s: "0X" + s[2:], lambda s: s[2:], lambda s: s[:2] + s[2:].upper(),
    lambda s: s[:-1], lambda s: s + "0", lambda s: "0x00" + s[2:], lambda s: s + " ",
    lambda s: int(s, 16), lambda s: [s], lambda s: {"hex": s},
])
def test_a_hash_or_key_has_one_spelling(path: tuple[Any, ...], spelling: Any) -> None:
    with pytest.raises(MalformedInputError):
        load_bundle(respelled(path, spelling))


@pytest.mark.parametrize("path", [("body", "round"), ("body", "steps"), ("body", "indices", 0),
                                  ("body", "openings", 0, "index"), ("body", "batch_size"),
                                  ("body", "n_batches"), ("body", "openings", 0, "batch_index")])
@pytest.mark.parametrize("spelling", [str, float, lambda v: v is not None, lambda v: hex(v),
                                      lambda v: [v], lambda v: v + 2**64, lambda v: -1 - v])
def test_a_counter_is_a_json_integer_and_nothing_else(path: tuple[Any, ...], spelling: Any) -> None:
    with pytest.raises(MalformedInputError):
        load_bundle(respelled(path, spelling))


def test_what_is_signed_is_the_parsed_value_not_the_file_layout() -> None:
    # Whitespace, key order and -0 are JSON layout; the signature covers the canonical body.
    canonical = dump_bundle(bundle())
    relaid = json.dumps(json.loads(canonical), indent=3).encode()
    assert load_bundle(relaid) == load_bundle(canonical)
    assert load_bundle(relaid).body() == bundle().body()


# ---- BLS points -----------------------------------------------------------------------------------

SK = derive_secret_key(b"\x07" * 32)
MESSAGE = b"\x42" * 32


def _x_plus_p(encoding: bytes, at: int) -> bytes | None:
    """The compressed point with the 48-byte coordinate at ``at`` written as x + p, if it fits."""
    word = int.from_bytes(encoding[at:at + 48], "big")
    flags, x = (word >> 381, word & ((1 << 381) - 1)) if at == 0 else (0, word)
    if x + P_BLS >= 1 << (381 if at == 0 else 384):
        return None
    return encoding[:at] + ((flags << 381) | (x + P_BLS)).to_bytes(48, "big") + encoding[at + 48:]


def test_a_signature_has_one_encoding() -> None:
    sig = sign(SK, MESSAGE)
    pk = public_key(SK)
    assert verify(pk, MESSAGE, sig)
    others = [_x_plus_p(sig, 0), _x_plus_p(sig, 48),
              bytes([sig[0] ^ 0x20]) + sig[1:],   # the sign flag: the negated point
              bytes([sig[0] ^ 0x80]) + sig[1:],   # not flagged compressed
              bytes([sig[0] | 0x40]) + sig[1:],   # flagged infinity
              bytes([0xC0]) + bytes(95)]          # the point at infinity
    checked = [s for s in others if s is not None]
    assert len(checked) >= 5
    assert not any(verify(pk, MESSAGE, s) for s in checked)


def test_a_public_key_has_one_encoding() -> None:
    sig = sign(SK, MESSAGE)
    pk = public_key(SK)
    others = [_x_plus_p(pk, 0), bytes([pk[0] ^ 0x20]) + pk[1:], bytes([pk[0] ^ 0x80]) + pk[1:],
              bytes([0xC0]) + bytes(47)]
    assert not any(verify(k, MESSAGE, sig) for k in others if k is not None)


# ---- calldata and compressed updates --------------------------------------------------------------


def test_calldata_has_one_encoding() -> None:
    from test_chain_support import make_calldata

    calldata = make_calldata()
    assert decode_train_request(calldata) is not None
    words = [calldata[i:i + 32] for i in range(0, len(calldata), 32)]
    offset_plus_32 = (0xA0 + 32).to_bytes(32, "big")
    others = [
        calldata + bytes(32),                                          # a trailing word
        calldata[:-1] + b"\x01",                                       # non-zero padding
        b"".join(words[:4]) + offset_plus_32 + b"".join(words[5:]),     # another offset
        b"".join(words[:3]) + b"\x01" + words[3][1:] + b"".join(words[4:]),  # uint64 overflow
    ]
    for other in others:
        with pytest.raises(CalldataError):
            decode_train_request(other)


def test_a_compressed_update_has_one_encoding() -> None:
    update = SparseUpdate(dim=10, indices=np.array([1, 4], dtype=np.int64),
                          codes=np.array([3, -5], dtype=np.int8), step=7)
    data = encode_sparse(update)
    assert encode_sparse(decode_sparse(data, 10, 4)) == data
    swapped = data[:13] + data[17:21] + data[13:17] + data[21:]        # decreasing indices
    repeated = data[:13] + data[13:17] * 2 + data[21:]                  # the same index twice
    zero_code = data[:-1] + b"\x00"                                      # an explicit zero
    minus_128 = data[:-1] + b"\x80"                                      # outside [-127, 127]
    for other in (swapped, repeated, zero_code, minus_128, data + b"\x00"):
        with pytest.raises(MalformedUpdateError):
            decode_sparse(other, 10, 4)


def test_a_step_proof_with_a_stated_commitment_of_other_points_is_malformed() -> None:
    doc = step_proof().to_json()
    other = step_proof((1, 2, 3, 11, 5, 6, 7, 8, 9, 10))
    doc["commitments"]["batch"] = other.to_json()["commitments"]["batch"]
    doc["commitments"]["weights_in"] = other.to_json()["commitments"]["weights_in"]
    with pytest.raises(MalformedInputError, match="does not match"):
        load_step_proof_bytes(json.dumps(doc).encode())
