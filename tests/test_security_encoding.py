"""One spelling per value in everything a verifier or the opcode reads from anyone.

``pot.protocol.encoding`` defines the canonical texts; these tests check that the *readers*
(step proofs, bundles, BLS points, calldata, compressed updates) apply them to every field: a
second spelling of the same value, such as a field element plus r, upper-case hex, a leading zero,
a JSON number for a string or a string for a number, is malformed input, never a second encoding.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from py_ecc.bn128 import curve_order as bn128_curve_order
from py_ecc.fields import optimized_bls12_381_FQ
from py_ecc.optimized_bn128 import curve_order as optimized_bn128_curve_order

from pot.aggregation.compression import decode_sparse, encode_sparse
from pot.aggregation.errors import MalformedUpdateError
from pot.aggregation.updates import SparseUpdate
from pot.bundle import Bundle, StepOpening, dump_bundle, load_bundle
from pot.chain.abi import decode_train_request
from pot.chain.exceptions import CalldataError
from pot.errors import MalformedInputError
from pot.proof import StepProof
from pot.protocol.encoding import BN254_SCALAR_ORDER, format_field_element
from pot.protocol.keys import derive_secret_key, public_key, sign, verify
from pot.verifier import load_step_proof_bytes

R = BN254_SCALAR_ORDER
P_BLS = optimized_bls12_381_FQ.field_modulus
CIRCUIT_ID = "0x" + "ab" * 32


def step_proof(instances: tuple[int, ...] = (0, 1, 2, R - 1, 5, 6, 7, 8, 9, 10)) -> StepProof:
    return StepProof(CIRCUIT_ID, b"\x01\x02\x03", instances, (len(instances) - 2) // 2)


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


def _with_instance(text: Any, i: int = 3) -> bytes:
    doc = step_proof().to_json()
    doc["instances"][i] = text
    return json.dumps(doc).encode()


@pytest.mark.parametrize("x", [0, 1, 7, R - 1])
@pytest.mark.parametrize("spelling", [
    lambda x: hex(x + R),                           # the same element, plus r
    lambda x: hex(x + 2 * R),
    lambda x: "0x" + format(x + R, "064x"),
    lambda x: "0x" + format(x, "064x"),             # 32-byte fixed width (ezkl's own width)
    lambda x: "0x0" + format(x, "x"),               # a leading zero
    lambda x: format_field_element(x).upper().replace("0X", "0x"),
    lambda x: "0X" + format(x, "x"),
    lambda x: format(x, "x"),                       # no prefix
    lambda x: str(x),                               # decimal
    lambda x: x,                                    # a JSON number
    lambda x: " " + format_field_element(x),
    lambda x: format_field_element(x) + "\n",
    lambda x: "0x" + (x % 2**256).to_bytes(32, "little").hex(),  # ezkl's little-endian hex
])
def test_a_public_instance_has_one_spelling(x: int, spelling: Any) -> None:
    text = spelling(x)
    if text == format_field_element(x):  # little-endian hex of 0, say, is the canonical text
        return
    instances = list(step_proof().instances)
    instances[3] = x
    # The stated commitments are recomputed from the instances, so only the spelling differs.
    doc = step_proof(tuple(instances)).to_json()
    doc["instances"][3] = text
    with pytest.raises(MalformedInputError):
        load_step_proof_bytes(json.dumps(doc).encode())


@pytest.mark.parametrize("x", [R, R + 1, 2**254, 2**256 - 1, 2**256, -1])
def test_a_public_instance_is_below_r(x: int) -> None:
    text = hex(x) if x >= 0 else "-0x1"
    with pytest.raises(MalformedInputError):
        load_step_proof_bytes(_with_instance(text))


def test_r_minus_one_is_the_largest_public_instance() -> None:
    assert load_step_proof_bytes(_with_instance(hex(R - 1))).instances[3] == R - 1


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


def test_a_step_proof_with_a_stated_commitment_of_other_instances_is_malformed() -> None:
    doc = step_proof().to_json()
    other = dataclasses.replace(step_proof(), instances=(0, 1, 2, 3, 5, 6, 7, 8, 9, 10))
    doc["commitments"]["batch"] = other.to_json()["commitments"]["batch"]
    doc["commitments"]["weights_in"] = other.to_json()["commitments"]["weights_in"]
    with pytest.raises(MalformedInputError, match="does not match"):
        load_step_proof_bytes(json.dumps(doc).encode())
