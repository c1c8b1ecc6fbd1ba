"""Verification key artifacts: derived from the pinned vk, parsed strictly, and written by setup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pot.bundle import load_bundle
from pot.circuit import Circuit, load_circuit
from pot.errors import EvmError
from pot.vka import VKA_FILE, derive_vka, dump_vka, parse_vka, proof_length

REPO = Path(__file__).resolve().parents[1]
FIXTURE_CIRCUIT = REPO / "fixtures" / "bundles" / "circuit"


@pytest.fixture(scope="module")
def fixture_circuit() -> Circuit:
    return load_circuit(FIXTURE_CIRCUIT)


def fixture_proof(name: str = "valid_k2") -> bytes:
    cases = json.loads((REPO / "fixtures" / "bundles.json").read_text())
    bundle = load_bundle(bytes.fromhex(cases[name]["input"]["bundle"][2:]))
    return bundle.openings[0].proof.proof


def test_the_vka_is_derived_from_the_vk_and_round_trips_its_file_form(fixture_circuit: Circuit) -> None:
    words = derive_vka(fixture_circuit)
    assert len(words) == 414 and all(len(w) == 32 for w in words)
    assert derive_vka(fixture_circuit) == words
    assert parse_vka(dump_vka(words)) == words


def test_the_proof_length_read_from_the_vka_is_the_length_of_a_real_proof(
        fixture_circuit: Circuit) -> None:
    assert proof_length(derive_vka(fixture_circuit)) == len(fixture_proof()) == 9248


@pytest.mark.parametrize(("raw", "message"), [
    (b"\x01\x00", "shorter than its word count"),
    (bytes(8), "claims 0 words"),
    ((2).to_bytes(8, "little") + bytes(32), "needs 72"),
    ((1).to_bytes(8, "little") + bytes(33), "needs 40"),
    ((1 << 40).to_bytes(8, "little"), "claims 1099511627776 words"),
])
def test_a_malformed_vka_file_is_refused_with_its_rule(raw: bytes, message: str) -> None:
    with pytest.raises(EvmError, match=message):
        parse_vka(raw)


def test_a_vka_too_short_for_its_layout_has_no_proof_length() -> None:
    with pytest.raises(EvmError, match="no challenge-length word"):
        proof_length((bytes(32),) * 10)


@pytest.mark.ezkl
def test_setup_writes_the_vka_beside_the_vk_outside_the_manifest(tiny_circuit: Circuit) -> None:
    path = tiny_circuit.file(VKA_FILE)
    assert parse_vka(path.read_bytes()) == derive_vka(tiny_circuit)
    assert VKA_FILE not in tiny_circuit.manifest["files"]
