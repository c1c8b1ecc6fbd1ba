"""submit_proof charges the caller the EVM gas its verifier's proof checks used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_chain_support import Scenario, open_job

from pot.bundle import load_bundle
from pot.chain.hooks import SubmissionContext, Verdict, Verifier
from pot.circuit import load_circuit
from pot.evm.backend import evm_verifier
from pot.verifier import verify_bundle

REPO = Path(__file__).resolve().parents[1]
CASES = json.loads((REPO / "fixtures" / "bundles.json").read_text())
CIRCUIT = load_circuit(REPO / "fixtures" / "bundles" / "circuit")


def fixture_bundle(name: str) -> bytes:
    return bytes.fromhex(CASES[name]["input"]["bundle"][2:])


def pot_verifier(backend: str) -> Verifier:
    """pot's bundle verifier on the fixture circuit (the chain context is the test's, not the
    fixture's, so only the bundle's own checks, signature and proofs run)."""

    def verify(raw: bytes, context: SubmissionContext) -> Verdict:
        bundle = load_bundle(raw)
        verdict = verify_bundle(bundle, CIRCUIT, None, True, backend)
        return Verdict(verdict.ok, verdict.reason, bundle.verified_samples if verdict.ok else 0)

    return verify


def proved(tmp_path: Path, backend: str, case: str) -> tuple[Scenario, object]:
    s = open_job(tmp_path / "state.db", trainers=1, verify=pot_verifier(backend))
    s.submit_all(0)
    s.reveal(0)
    return s, s.executor.submit_proof(s.job_id, 0, s.trainers[0], fixture_bundle(case), s.height)


def proof_gas() -> list[int]:
    """The EVM gas of each step proof of the valid fixture (they differ by calldata bytes)."""
    bundle = load_bundle(fixture_bundle("valid_k2"))
    return [evm_verifier().check(CIRCUIT, o.proof.proof).gas_used for o in bundle.openings]


def test_an_accepted_bundle_is_charged_the_gas_of_its_verify_calls(tmp_path: Path) -> None:
    _, receipt = proved(tmp_path, "evm", "valid_k2")
    assert receipt.verdict == "accepted"  # type: ignore[attr-defined]
    gas = proof_gas()
    assert len(gas) == 2 and all(1_000_000 < g < 3_000_000 for g in gas)
    assert receipt.gas_used == sum(gas)  # type: ignore[attr-defined]


def test_a_rejected_proof_is_charged_the_gas_spent_until_the_revert(tmp_path: Path) -> None:
    _, receipt = proved(tmp_path, "evm", "proof_invalid")
    assert (receipt.verdict, receipt.reason) == ("rejected", "proof_invalid")  # type: ignore[attr-defined]
    assert 0 < receipt.gas_used < sum(proof_gas())  # type: ignore[attr-defined]


@pytest.mark.parametrize(("backend", "case"), [("evm", "bad_signature_other_key"),
                                               ("ezkl", "valid_k2")])
def test_no_evm_call_no_gas(tmp_path: Path, backend: str, case: str) -> None:
    _, receipt = proved(tmp_path, backend, case)
    assert receipt.gas_used == 0  # type: ignore[attr-defined]
