"""A validator verifying many bundles in one process: the minimal-length memo, both BLS backends on
a real bundle, and ``pot verify`` over lists and folders of files (lines, summary, JSON, exit codes).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pot import proofcheck, verifier
from pot.bundle import dump_bundle
from pot.circuit import Circuit
from pot.cli import main
from pot.protocol import bls

pytestmark = pytest.mark.ezkl


@pytest.fixture
def ezkl_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A fresh minimal-length memo, and the length of every proof handed to ezkl from now on."""
    monkeypatch.setattr(proofcheck, "_MINIMAL_PROOF_BYTES", {})
    calls: list[int] = []
    real = proofcheck.ezkl_verify

    def counting(circuit: Circuit, proof: bytes) -> bool:
        calls.append(len(proof))
        return real(circuit, proof)

    monkeypatch.setattr(proofcheck, "ezkl_verify", counting)
    return calls


def _padded(honest: Any, tail: bytes) -> Any:
    o = honest.bundle.openings[1]
    opening = dataclasses.replace(o, proof=dataclasses.replace(o.proof, proof=o.proof.proof + tail))
    return dataclasses.replace(honest.bundle, openings=(honest.bundle.openings[0], opening)) \
        .signed(honest.sk)


def test_the_cut_one_byte_check_runs_once_per_circuit_then_the_length_decides(
        honest_round: Any, tiny_circuit: Circuit, ezkl_calls: list[int]) -> None:
    length = len(honest_round.bundle.openings[0].proof.proof)
    assert {len(o.proof.proof) for o in honest_round.bundle.openings} == {length}
    assert verifier.verify_bundle(honest_round.bundle, tiny_circuit, None, True, "ezkl").ok
    # proof 0: verify, then verify without its last byte; proof 1: verify only (length known)
    assert ezkl_calls == [length, length - 1, length]
    assert {tiny_circuit.circuit_id: length} == proofcheck._MINIMAL_PROOF_BYTES
    ezkl_calls.clear()
    assert verifier.verify_bundle(honest_round.bundle, tiny_circuit, None, True, "ezkl").ok
    assert ezkl_calls == [length, length]


@pytest.mark.parametrize("tail", [b"\x00", b"\x07" * 64])
def test_a_padded_proof_still_gets_the_full_check_once_the_length_is_known(
        honest_round: Any, tiny_circuit: Circuit, ezkl_calls: list[int], tail: bytes) -> None:
    assert verifier.verify_bundle(honest_round.bundle, tiny_circuit, None, True, "ezkl").ok
    length = len(honest_round.bundle.openings[0].proof.proof)
    ezkl_calls.clear()
    verdict = verifier.verify_bundle(_padded(honest_round, tail), tiny_circuit, None, True, "ezkl")
    assert verdict.reason == "proof_trailing_bytes"
    assert verdict.detail == f"the proof of step {honest_round.bundle.openings[1].index} carries " \
                             "bytes after its end"
    assert ezkl_calls == [length, length + len(tail), length + len(tail) - 1]
    assert {tiny_circuit.circuit_id: length} == proofcheck._MINIMAL_PROOF_BYTES


def test_a_padded_proof_seen_first_teaches_nothing(honest_round: Any, tiny_circuit: Circuit,
                                                   ezkl_calls: list[int]) -> None:
    step = honest_round.bundle.openings[0].proof
    padded = dataclasses.replace(step, proof=step.proof + b"\x00")
    assert verifier.verify_step_proof(padded, tiny_circuit, True, "ezkl").reason == "proof_trailing_bytes"
    assert proofcheck._MINIMAL_PROOF_BYTES == {}
    assert verifier.verify_step_proof(step, tiny_circuit, True, "ezkl").ok
    assert {tiny_circuit.circuit_id: len(step.proof)} == proofcheck._MINIMAL_PROOF_BYTES


def test_a_proof_of_another_length_than_the_remembered_one_gets_the_cut_check(
        honest_round: Any, tiny_circuit: Circuit, ezkl_calls: list[int]) -> None:
    step = honest_round.bundle.openings[0].proof
    proofcheck._MINIMAL_PROOF_BYTES[tiny_circuit.circuit_id] = len(step.proof) + 1
    assert verifier.verify_step_proof(step, tiny_circuit, True, "ezkl").ok
    assert ezkl_calls == [len(step.proof), len(step.proof) - 1]
    assert {tiny_circuit.circuit_id: len(step.proof) + 1} == proofcheck._MINIMAL_PROOF_BYTES


@pytest.mark.parametrize("name", [bls.PY_ECC, bls.MILAGRO])
def test_a_real_bundle_gets_the_same_verdicts_under_both_bls_backends(
        honest_round: Any, tiny_circuit: Circuit, name: str) -> None:
    bad_sig = bytearray(honest_round.bundle.signature)
    bad_sig[-1] ^= 1
    tampered = dataclasses.replace(honest_round.bundle, signature=bytes(bad_sig))
    with bls.using_backend(name):
        assert verifier.verify_bundle(honest_round.bundle, tiny_circuit, None, True, "ezkl").reason == "ok"
        assert verifier.verify_bundle(tampered, tiny_circuit, None, True, "ezkl").reason == "bad_signature"


# ---- pot verify over many files --------------------------------------------------------------


@pytest.fixture
def bundle_dir(honest_round: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "bundles"
    folder.mkdir()
    raw = dump_bundle(honest_round.bundle)
    for name in ("b2.json", "b0.json", "b1.json"):
        (folder / name).write_bytes(raw)
    (folder / "notes.txt").write_text("not a bundle, not *.json: skipped")
    return folder


def _verify(*args: str) -> Any:
    return CliRunner().invoke(main, ["verify", *args])


def test_cli_verifies_a_folder_in_name_order_with_a_summary(bundle_dir: Path,
                                                            tiny_circuit: Circuit) -> None:
    result = _verify(str(bundle_dir), "--circuit", str(tiny_circuit.path), "--allow-dev-srs")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [f"{bundle_dir / n}: valid" for n in ("b0.json", "b1.json", "b2.json")]
    assert lines[3].startswith("3 files: 3 valid, 0 invalid, 0 malformed in ")
    assert lines[3].endswith(" files/s)") and len(lines) == 4


def test_cli_json_lists_verdicts_and_totals_and_exits_by_the_worst(
        bundle_dir: Path, honest_round: Any, tiny_circuit: Circuit, tmp_path: Path) -> None:
    bad = tmp_path / "padded.json"
    bad.write_bytes(dump_bundle(_padded(honest_round, b"\x00")))
    result = _verify(str(bundle_dir / "b0.json"), str(bad), "--circuit", str(tiny_circuit.path),
                     "--allow-dev-srs", "--json")
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    assert [(r["file"], r["valid"], r["reason"]) for r in out["results"]] == [
        (str(bundle_dir / "b0.json"), True, "ok"), (str(bad), False, "proof_trailing_bytes")]
    totals = out["totals"]
    assert (totals["files"], totals["valid"], totals["invalid"], totals["malformed"]) == (2, 1, 1, 0)
    assert out["valid"] is False and out["circuit_ids"] == [tiny_circuit.circuit_id]

    missing = tmp_path / "missing.json"
    result = _verify(str(bad), str(missing), str(bundle_dir), "--circuit",
                     str(tiny_circuit.path), "--allow-dev-srs", "--json")
    assert result.exit_code == 2, result.output
    out = json.loads(result.output)
    assert [r["reason"] for r in out["results"]] == ["proof_trailing_bytes", "malformed", "ok", "ok",
                                                     "ok"]
    assert out["totals"]["malformed"] == 1 and "Traceback" not in result.output


def test_cli_pins_several_circuits_and_judges_a_file_naming_none_as_wrong_circuit(
        bundle_dir: Path, honest_round: Any, tiny_circuit: Circuit, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    foreign = dataclasses.replace(honest_round.bundle, circuit_id="0x" + "ab" * 32)
    other.write_bytes(dump_bundle(foreign.signed(honest_round.sk)))
    result = _verify(str(bundle_dir / "b0.json"), str(other), "--circuit", str(tiny_circuit.path),
                     "--circuit", str(tiny_circuit.path), "--allow-dev-srs")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[1].startswith(f"{other}: INVALID (wrong_circuit)")


def test_cli_workers_give_the_verdicts_and_order_of_one_process(
        bundle_dir: Path, honest_round: Any, tiny_circuit: Circuit, tmp_path: Path) -> None:
    # Two spawned worker processes judge an honest bundle, a padded one, an unreadable file and a
    # folder: the same entries, in the order given, and the same exit code as one process.
    bad = tmp_path / "padded.json"
    bad.write_bytes(dump_bundle(_padded(honest_round, b"\x00")))
    junk = tmp_path / "junk.json"
    junk.write_text("[" * 1000)
    args = [str(bad), str(bundle_dir), str(junk), "--circuit", str(tiny_circuit.path),
            "--allow-dev-srs", "--json"]
    one, two = _verify(*args), _verify(*args, "--workers", "2")
    assert one.exit_code == two.exit_code == 2, (one.output, two.output)
    entries = json.loads(one.output)["results"]
    assert json.loads(two.output)["results"] == entries
    assert [r["reason"] for r in entries] == ["proof_trailing_bytes", "ok", "ok", "ok", "malformed"]


def test_judge_files_reports_a_dead_worker_as_a_verifier_error(
        honest_round: Any, tiny_circuit: Circuit, tmp_path: Path) -> None:
    # A worker that cannot start (its circuit folder vanished after the parent loaded it) breaks
    # the pool: the caller gets VerifierError, not a verdict and not a traceback from the pool.
    from pot.errors import VerifierError

    moved = tmp_path / "circuit"
    shutil.copytree(tiny_circuit.path, moved)
    from pot.circuit import load_circuit

    pinned = {tiny_circuit.circuit_id: load_circuit(moved)}
    shutil.rmtree(moved)
    raw = dump_bundle(honest_round.bundle)
    files = [tmp_path / f"b{i}.json" for i in range(2)]
    for f in files:
        f.write_bytes(raw)
    with pytest.raises(VerifierError, match="worker process died"):
        list(verifier.judge_files(files, pinned, None, True, workers=2))
