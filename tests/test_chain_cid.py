"""Reducing IPFS CIDs to the bytes32 words a TRAIN_REQUEST carries."""

from __future__ import annotations

import hashlib

import pytest
from multiformats import CID

from pot.chain.cid import cid_to_bytes32, reference_to_bytes32
from pot.chain.errors import InvalidCidError

CONTENT = b"pot model weights"
DIGEST = hashlib.sha256(CONTENT).digest()


def test_cidv1_reduces_to_its_sha256_digest() -> None:
    cid = CID("base32", 1, "raw", ("sha2-256", DIGEST))
    assert bytes(cid_to_bytes32(str(cid))) == DIGEST


def test_codec_and_base_do_not_change_the_word() -> None:
    raw_b32 = str(CID("base32", 1, "raw", ("sha2-256", DIGEST)))
    dagpb_b58 = str(CID("base58btc", 1, "dag-pb", ("sha2-256", DIGEST)))
    assert cid_to_bytes32(raw_b32) == cid_to_bytes32(dagpb_b58)


def test_cidv0_reduces_to_the_digest_of_its_cidv1_form() -> None:
    v0 = str(CID("base58btc", 0, "dag-pb", ("sha2-256", DIGEST)))
    assert v0.startswith("Qm")
    assert bytes(cid_to_bytes32(v0)) == DIGEST


def test_other_hash_function_is_rejected() -> None:
    cid = str(CID("base32", 1, "raw", ("sha3-256", DIGEST)))
    with pytest.raises(InvalidCidError, match="uses sha3-256"):
        cid_to_bytes32(cid)


def test_text_that_is_not_a_cid_is_rejected() -> None:
    with pytest.raises(InvalidCidError, match="not a CID"):
        cid_to_bytes32("hello")


def test_hex_word_is_accepted_as_a_reference() -> None:
    assert bytes(reference_to_bytes32("0x" + DIGEST.hex())) == DIGEST


def test_short_hex_word_is_rejected() -> None:
    with pytest.raises(InvalidCidError, match="not a 32-byte hex word"):
        reference_to_bytes32("0x1234")
