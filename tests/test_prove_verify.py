"""A real ezkl proof of a real SGD step verifies; each kind of tampering is rejected by reason."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from pot.circuit import Circuit, load_circuit
from pot.cli import main
from pot.data import dequantize
from pot.errors import CircuitError
from pot.export import torch_sgd_step
from pot.proof import StepProof
from pot.verifier import verify_step_proof

pytestmark = pytest.mark.ezkl

# The circuit computes the step in fixed point at scale 13 (quantum 2**-13 = 1.2e-4). Rounding of
# products, the exp lookup and the softmax division add a few quanta; 1% of the step's largest
# weight change bounds the error of every proven weight with margin.
UPDATE_RELATIVE_TOLERANCE = 0.01


def test_honest_step_proof_verifies(tiny_step: Any, tiny_circuit: Circuit) -> None:
    proof, _, _, _, _ = tiny_step
    verdict = verify_step_proof(proof, tiny_circuit, allow_dev_srs=True)
    assert verdict.ok, verdict


def test_proven_update_matches_torch_float_sgd(tiny_step: Any, tiny_spec: Any) -> None:
    _, witness, params, x, y = tiny_step
    floats = {k: dequantize(v, tiny_spec.scale) for k, v in params.items()}
    reference = torch_sgd_step(tiny_spec, floats, x, y)
    biggest_change = max(np.abs(reference[k] - floats[k]).max() for k in floats)
    assert biggest_change > 0.01
    for name, q in witness.params_next.items():
        err = np.abs(dequantize(q, tiny_spec.scale) - reference[name]).max()
        assert err <= UPDATE_RELATIVE_TOLERANCE * biggest_change, (name, err, biggest_change)


def test_step_chain_output_points_equal_next_input_points(tiny_step: Any, tiny_circuit: Circuit) -> None:
    from pot.prover import run_step

    _, witness, _, x, y = tiny_step
    nxt = run_step(tiny_circuit, witness.params_next, x, y)
    n = tiny_circuit.n_output_tensors
    assert nxt.input_points[:n] == witness.output_points
    assert len(set(witness.input_points[:n]) ^ set(witness.output_points)) > 0  # the step moved W


def test_the_proof_opens_with_the_tensor_points_of_its_witness(tiny_step: Any) -> None:
    proof, witness, _, _, _ = tiny_step
    assert proof.points == witness.input_points + witness.output_points
    assert proof.weights_out == StepProof(proof.circuit_id, proof.proof, proof.n_params).weights_out


def test_flipped_proof_byte_is_rejected(tiny_step: Any, tiny_circuit: Circuit) -> None:
    proof = tiny_step[0]
    raw = bytearray(proof.proof)
    raw[len(raw) // 2] ^= 0x01
    verdict = verify_step_proof(dataclasses.replace(proof, proof=bytes(raw)), tiny_circuit, True)
    assert (verdict.ok, verdict.reason) == (False, "proof_invalid")


def test_a_proof_opening_with_another_tensor_point_is_rejected(tiny_step: Any,
                                                               tiny_circuit: Circuit) -> None:
    # Claim W_{t+1} = W_t by writing W_t's point where W_{t+1}'s first tensor's point is.
    proof = tiny_step[0]
    raw = bytearray(proof.proof)
    out0 = 64 * (proof.n_params + 2)
    raw[out0 : out0 + 64] = proof.points[0]
    forged = dataclasses.replace(proof, proof=bytes(raw))
    assert forged.points[proof.n_params + 2] == proof.points[0]
    verdict = verify_step_proof(forged, tiny_circuit, True)
    assert (verdict.ok, verdict.reason) == (False, "proof_invalid")


def test_proof_for_another_circuit_is_rejected(tiny_step: Any, tiny_circuit: Circuit) -> None:
    proof = dataclasses.replace(tiny_step[0], circuit_id="0x" + "ab" * 32)
    verdict = verify_step_proof(proof, tiny_circuit, True)
    assert (verdict.ok, verdict.reason) == (False, "wrong_circuit")


def test_development_srs_is_refused_without_the_flag(tiny_step: Any, tiny_circuit: Circuit) -> None:
    verdict = verify_step_proof(tiny_step[0], tiny_circuit)
    assert (verdict.ok, verdict.reason) == (False, "dev_srs")


def test_circuit_whose_vk_changed_does_not_load(tiny_circuit: Circuit, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_circuit.path, copy, ignore=shutil.ignore_patterns("pk.key", "*.compiled"))
    raw = bytearray((copy / "vk.key").read_bytes())
    raw[100] ^= 0xFF
    (copy / "vk.key").write_bytes(bytes(raw))
    with pytest.raises(CircuitError, match=r"vk\.key does not match its manifest hash"):
        load_circuit(copy)


def test_step_proof_json_round_trips_and_rejects_points_not_the_proofs(tiny_step: Any) -> None:
    from pot.errors import MalformedInputError

    obj = tiny_step[0].to_json()
    assert StepProof.from_json(json.loads(json.dumps(obj))) == tiny_step[0]
    first, rest = obj["points"][0], obj["points"][1:]
    spellings = {
        first.upper().replace("0X", "0x"): "lowercase hex",
        first[2:]: "must start with '0x'",
        rest[0]: "point 0 is not the proof's point 0",
    }
    for spelling, message in spellings.items():
        with pytest.raises(MalformedInputError, match=message):
            StepProof.from_json({**obj, "points": [spelling, *rest]})
    with pytest.raises(MalformedInputError, match="point 0 must be a string"):
        StepProof.from_json({**obj, "points": [int(first, 16), *rest]})
    with pytest.raises(MalformedInputError, match="2\\*n_params \\+ 2"):
        StepProof.from_json({**obj, "points": rest})


# ---- the CLI: exit codes and messages ------------------------------------------------------------


@pytest.fixture
def proof_file(tiny_step: Any, tmp_path: Path) -> Path:
    path = tmp_path / "step.json"
    path.write_text(json.dumps(tiny_step[0].to_json()))
    return path


def _verify(*args: str) -> Any:
    return CliRunner().invoke(main, ["verify", *args])


def test_cli_verify_valid_proof_exits_0_with_json(proof_file: Path, tiny_circuit: Circuit) -> None:
    result = _verify(str(proof_file), "--circuit", str(tiny_circuit.path), "--allow-dev-srs", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["valid"] is True
    assert out["results"][0]["reason"] == "ok"


def test_cli_verify_by_circuit_id(proof_file: Path, tiny_circuit: Circuit) -> None:
    result = _verify(str(proof_file), "--circuit-id", tiny_circuit.circuit_id,
                     "--circuits", str(tiny_circuit.path.parent), "--allow-dev-srs")
    assert result.exit_code == 0, result.output
    assert result.output == f"{proof_file}: valid\n"


def test_cli_verify_dev_srs_without_flag_exits_1(proof_file: Path, tiny_circuit: Circuit) -> None:
    result = _verify(str(proof_file), "--circuit", str(tiny_circuit.path))
    assert result.exit_code == 1
    assert "INVALID (dev_srs)" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not a readable JSON file"),
        (b"not json at all", "is not a readable JSON file"),
        (b"\xff\xfe\x00", "is not a readable JSON file"),
        (b"[1, 2, 3]", "nor a bundle (pot.bundle/1): it is not a JSON object"),
        (b"[" * 100000, "nested deeper than"),
        (b'{"format": NaN}', "NaN is not allowed"),
    ],
    ids=["empty", "text", "not-utf8", "array", "deep", "nan"],
)
def test_cli_verify_malformed_file_exits_2_without_traceback(
    content: bytes, message: str, tmp_path: Path, tiny_circuit: Circuit
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = _verify(str(path), "--circuit", str(tiny_circuit.path), "--allow-dev-srs")
    assert result.exit_code == 2
    assert "INVALID (malformed)" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_cli_verify_truncated_proof_exits_2(proof_file: Path, tiny_circuit: Circuit) -> None:
    raw = proof_file.read_bytes()
    proof_file.write_bytes(raw[: len(raw) // 2])
    result = _verify(str(proof_file), "--circuit", str(tiny_circuit.path), "--allow-dev-srs", "--json")
    assert result.exit_code == 2
    assert json.loads(result.output)["results"][0]["reason"] == "malformed"


def test_cli_verify_needs_exactly_one_circuit_option(proof_file: Path, tiny_circuit: Circuit) -> None:
    result = _verify(str(proof_file))
    assert result.exit_code == 2
    assert "pin a circuit: --circuit DIR or --circuit-id ID" in result.output
    result = _verify(str(proof_file), "--circuit", str(tiny_circuit.path),
                     "--circuit-id", tiny_circuit.circuit_id)
    assert result.exit_code == 2
    assert "pin circuits with --circuit or with --circuit-id, not both" in result.output


@pytest.mark.parametrize(("doc", "found"), [({"jobs": []}, "it has no format field"),
                                            ({"format": "pot.report/1"}, "its format is 'pot.report/1'")])
def test_cli_verify_names_a_file_that_is_neither_proof_nor_bundle(
        doc: object, found: str, tiny_circuit: Circuit, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(doc))
    result = _verify(str(path), "--circuit", str(tiny_circuit.path), "--allow-dev-srs", "--json")
    assert result.exit_code == 2
    entry = json.loads(result.output)["results"][0]
    assert entry["reason"] == "malformed"
    assert entry["detail"] == (f"{path} is neither a step proof (pot.step-proof/2) nor a bundle "
                               f"(pot.bundle/1): {found}")


def test_cli_verify_unknown_circuit_id_exits_2(proof_file: Path, tmp_path: Path) -> None:
    result = _verify(str(proof_file), "--circuit-id", "0x" + "00" * 32, "--circuits", str(tmp_path))
    assert result.exit_code == 2
    assert "no circuit 0x" in result.output
