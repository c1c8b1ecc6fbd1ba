"""pot chain verifier-export: the exported verifier deploys and verifies in a fresh EVM."""

from __future__ import annotations

import json
from pathlib import Path

import pyrevm
import pytest
from click.testing import CliRunner
from eth_hash.auto import keccak

from pot.bundle import load_bundle
from pot.cli import main

REPO = Path(__file__).resolve().parents[1]
CIRCUIT = REPO / "fixtures" / "bundles" / "circuit"
CASES = json.loads((REPO / "fixtures" / "bundles.json").read_text())
SENDER = "0x" + "42" * 20


def write_step(tmp_path: Path, case: str, index: int = 0, junk: bytes = b"") -> Path:
    step = load_bundle(bytes.fromhex(CASES[case]["input"]["bundle"][2:])).openings[index].proof
    doc = step.to_json()
    doc["proof"] += junk.hex()
    path = tmp_path / f"{case}-{index}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("export")
    steps = [write_step(tmp, "valid_k2", 0), write_step(tmp, "valid_k2", 1)]
    out = tmp / "evm"
    args = ["chain", "verifier-export", "--circuit", str(CIRCUIT), "--out", str(out), "--json"]
    for s in steps:
        args += ["--proof", str(s)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output)


def hexfile(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip()[2:])


def test_the_exported_verifier_deploys_in_a_fresh_evm_and_verifies_a_real_proof(
        exported: tuple[Path, dict]) -> None:
    out, doc = exported
    artifact = json.loads((out / "verifier.json").read_text())
    creation = bytes.fromhex(artifact["creation"][2:])
    assert "0x" + keccak(creation).hex() == doc["verifier"]["keccak256"]["creation"]
    evm = pyrevm.EVM(spec_id="CANCUN")
    address = evm.deploy(SENDER, creation, gas=30_000_000)
    runtime = bytes(evm.get_code(address))
    assert "0x" + keccak(runtime[: doc["verifier"]["sizes"]["runtime_bytes"]]).hex() == \
        doc["verifier"]["keccak256"]["runtime"]
    circuit = doc["circuits"][0]
    digest = evm.message_call(SENDER, address, hexfile(out / circuit["register_calldata"]),
                              gas=30_000_000)
    assert "0x" + bytes(digest).hex() == circuit["vka_digest"]
    for proof in doc["proofs"]:
        returned = bytes(evm.message_call(SENDER, address, hexfile(out / proof["calldata"]),
                                          gas=30_000_000))
        assert returned[:32] == (1).to_bytes(32, "big")
        assert evm.result is not None and evm.result.gas_used == proof["verify_gas"]


def test_the_export_records_the_files_gas_and_proof_length(exported: tuple[Path, dict]) -> None:
    out, doc = exported
    (circuit,) = doc["circuits"]
    assert circuit["proof_length"] == 9248 and circuit["vka_words"] == 414
    assert 200_000 < circuit["register_gas"] < 400_000
    assert 1_000_000 < doc["verifier"]["deploy_gas"] < 5_000_000
    assert [p["valid"] for p in doc["proofs"]] == [True, True]
    assert json.loads((out / "export.json").read_text()) == doc
    assert (out / "Halo2VerifierReusable.sol").read_bytes() == \
        (REPO / "pot" / "evm" / "artifacts" / "Halo2VerifierReusable.sol").read_bytes()


def test_an_unregistered_vka_reverts_in_the_exported_verifier(exported: tuple[Path, dict]) -> None:
    out, doc = exported
    evm = pyrevm.EVM(spec_id="CANCUN")
    creation = bytes.fromhex(json.loads((out / "verifier.json").read_text())["creation"][2:])
    address = evm.deploy(SENDER, creation, gas=30_000_000)
    with pytest.raises(RuntimeError, match="Revert"):
        evm.message_call(SENDER, address, hexfile(out / doc["proofs"][0]["calldata"]),
                         gas=30_000_000)


def test_a_proof_that_does_not_verify_exits_1_and_says_why(tmp_path: Path) -> None:
    bad = write_step(tmp_path, "valid_k2", 0, junk=bytes(32))
    result = CliRunner().invoke(main, ["chain", "verifier-export", "--circuit", str(CIRCUIT),
                                       "--proof", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "INVALID (proof_trailing_bytes)" in result.output
    assert "a given proof does not verify" in result.output


@pytest.mark.parametrize(("args", "message"), [
    ([], "give --circuit or --circuit-id"),
    (["--circuit", "/nonexistent"], "is not a circuit folder"),
    (["--circuit", str(CIRCUIT), "--circuit-id", "0x" + "ab" * 32], "no circuit 0xabab"),
])
def test_unusable_input_exits_2_without_writing(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "o"
    result = CliRunner().invoke(main, ["chain", "verifier-export", *args, "--out", str(out),
                                       "--circuits", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_existing_out_folder_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["chain", "verifier-export", "--circuit", str(CIRCUIT),
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2 and "exists; give a new folder" in result.output
