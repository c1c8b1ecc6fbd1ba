"""Twin backends: the EVM verifier contract and ezkl give the same verdict on every proof.

As py_ecc and milagro are held to one another, the two proof verifiers are held to one another on
every committed bundle fixture (valid and invalid), on the fixtures' step proofs and on mutations
of them (flipped bytes in points, evaluations and the opening proof; cut, padded and swapped
bytes), and on a freshly built proof of the tiny spec. The EVM backend's own behaviour (gas,
registration, the revert boundary) is tested here too.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pot.bundle import load_bundle
from pot.circuit import Circuit, load_circuit
from pot.errors import EvmError
from pot.evm.backend import (
    EvmVerifier,
    Registration,
    evm_verifier,
    metered,
    verify_calldata,
)
from pot.fixtures.bundles import replay
from pot.proof import StepProof
from pot.proofcheck import BACKENDS, check_proof
from pot.verifier import verify_step_proof
from pot.vka import derive_vka

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
CASES: dict[str, Any] = json.loads((FIXTURES / "bundles.json").read_text())
BUNDLE_CASES = {name: case for name, case in CASES.items()
                if not name.startswith("unparseable")}
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583  # BN254 base


@pytest.fixture(scope="module")
def circuit() -> Circuit:
    return load_circuit(FIXTURES / "bundles" / "circuit")


@pytest.fixture(scope="module")
def steps() -> list[StepProof]:
    """The distinct step proofs of the committed fixtures."""
    seen: dict[bytes, StepProof] = {}
    for case in BUNDLE_CASES.values():
        try:
            bundle = load_bundle(bytes.fromhex(case["input"]["bundle"][2:]))
        except Exception:  # a case made malformed on purpose
            continue
        for o in bundle.openings:
            seen.setdefault(o.proof.proof, o.proof)
    return list(seen.values())


@pytest.fixture(scope="module")
def honest_steps(circuit: Circuit, steps: list[StepProof]) -> list[StepProof]:
    """The fixtures' step proofs that verify (the others are mutations already)."""
    return [s for s in steps if check_proof(circuit, s.proof, "ezkl") is None]


def test_both_backends_agree_on_every_step_proof_of_the_fixtures(
        circuit: Circuit, steps: list[StepProof], honest_steps: list[StepProof]) -> None:
    assert len(steps) > len(honest_steps) >= 2
    for step in steps:
        assert check_proof(circuit, step.proof, "evm") == check_proof(circuit, step.proof, "ezkl")


@pytest.mark.parametrize("name", sorted(BUNDLE_CASES))
def test_both_backends_give_every_bundle_fixture_its_expected_verdict(name: str) -> None:
    case = CASES[name]
    verdicts = {b: replay(case["input"], FIXTURES, b) for b in BACKENDS}
    assert verdicts["evm"] == verdicts["ezkl"] == case["expected"]


def _flip(offset: int) -> Callable[[bytes], bytes]:
    def mutate(p: bytes) -> bytes:
        b = bytearray(p)
        b[offset % len(b)] ^= 1
        return bytes(b)
    return mutate


def _negate_point(i: int) -> Callable[[bytes], bytes]:
    def mutate(p: bytes) -> bytes:
        x, y = p[64 * i : 64 * i + 32], int.from_bytes(p[64 * i + 32 : 64 * i + 64], "big")
        return p[: 64 * i] + x + ((Q - y) % Q).to_bytes(32, "big") + p[64 * i + 64 :]
    return mutate


def _swap_points(i: int, j: int) -> Callable[[bytes], bytes]:
    def mutate(p: bytes) -> bytes:
        pts = [p[64 * k : 64 * k + 64] for k in range(max(i, j) + 1)]
        pts[i], pts[j] = pts[j], pts[i]
        return b"".join(pts) + p[64 * (max(i, j) + 1) :]
    return mutate


MUTATIONS: dict[str, Callable[[bytes], bytes]] = {
    "honest": lambda p: p,
    "flip_first_point": _flip(5),
    "flip_last_tensor_point": _flip(9 * 64 + 40),
    "flip_an_advice_commitment": _flip(1500),
    "flip_an_evaluation": _flip(6000),
    "flip_the_opening_proof": _flip(-3),
    "negate_a_tensor_point": _negate_point(2),
    "swap_two_tensor_points": _swap_points(0, 1),
    "append_one_byte": lambda p: p + b"\x00",
    "append_32_zero_bytes": lambda p: p + bytes(32),
    "append_64_bytes": lambda p: p + bytes(range(64)),
    "cut_one_byte": lambda p: p[:-1],
    "cut_32_bytes": lambda p: p[:-32],
    "cut_to_the_points": lambda p: p[: 64 * 10],
    "junk_of_the_same_length": lambda p: bytes(len(p)),
    "max_field_evaluation": lambda p: p[:6016] + (2**256 - 1).to_bytes(32, "big") + p[6048:],
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_both_backends_agree_on_every_mutation_of_an_honest_step_proof(
        circuit: Circuit, honest_steps: list[StepProof], mutation: str) -> None:
    for step in honest_steps:
        proof = MUTATIONS[mutation](step.proof)
        answers = {b: check_proof(circuit, proof, b) for b in BACKENDS}
        assert answers["evm"] == answers["ezkl"], (mutation, answers)
        if mutation == "honest":
            assert answers["evm"] is None
        elif proof != step.proof:
            assert answers["evm"] is not None, "a changed proof was accepted"


def test_trailing_bytes_are_named_as_such_by_both(circuit: Circuit,
                                                  honest_steps: list[StepProof]) -> None:
    proof = honest_steps[0].proof + bytes(32)
    assert {check_proof(circuit, proof, b) for b in BACKENDS} == {"proof_trailing_bytes"}


def test_the_bare_contract_accepts_32_trailing_bytes_so_pot_checks_the_length(
        circuit: Circuit, honest_steps: list[StepProof]) -> None:
    evm = evm_verifier()
    reg = evm.register(circuit)
    assert len(honest_steps[0].proof) == reg.proof_length
    ok, _ = evm.verify_call(reg, honest_steps[0].proof + bytes(32))
    assert ok  # the reusable verifier never checks where the proof ends
    assert evm.check(circuit, honest_steps[0].proof + bytes(32)).reason == "proof_trailing_bytes"


def test_a_step_proof_verdict_is_the_same_on_both_backends(circuit: Circuit,
                                                          honest_steps: list[StepProof]) -> None:
    for b in BACKENDS:
        assert verify_step_proof(honest_steps[0], circuit, allow_dev_srs=True, backend=b).ok


def test_a_verify_call_uses_real_gas_and_the_meter_counts_it(circuit: Circuit,
                                                             honest_steps: list[StepProof]) -> None:
    evm = evm_verifier()
    with metered() as meter:
        first = evm.check(circuit, honest_steps[0].proof)
        again = evm.check(circuit, honest_steps[0].proof)
        bad = evm.check(circuit, _flip(6000)(honest_steps[0].proof))
    assert first.reason is None and 1_000_000 < first.gas_used < 3_000_000
    assert again.gas_used == first.gas_used  # deterministic
    assert bad.reason == "proof_invalid" and 0 < bad.gas_used < first.gas_used
    assert (meter.calls, meter.gas_used) == (3, 2 * first.gas_used + bad.gas_used)


def test_the_calldata_is_ezkls_own_encoding(circuit: Circuit, honest_steps: list[StepProof]) -> None:
    import ezkl

    words = derive_vka(circuit)
    with tempfile.TemporaryDirectory() as tmp:
        proof_json, vka = Path(tmp) / "proof.json", Path(tmp) / "vka.bin"
        proof_json.write_text(json.dumps({"instances": [[]], "proof": list(honest_steps[0].proof)}))
        vka.write_bytes(len(words).to_bytes(8, "little") + b"".join(words))
        theirs = ezkl.encode_evm_calldata(str(proof_json), str(Path(tmp) / "calldata"), str(vka))
    assert bytes(theirs) == verify_calldata(honest_steps[0].proof, words)


def test_an_unregistered_vka_is_an_evm_error_not_a_verdict(circuit: Circuit,
                                                            honest_steps: list[StepProof]) -> None:
    evm = EvmVerifier()
    words = derive_vka(circuit)
    fake = Registration("0xunregistered", words, b"", len(honest_steps[0].proof), 0)
    with pytest.raises(EvmError, match="not registered"):
        evm.verify_call(fake, honest_steps[0].proof)


def test_one_circuit_id_cannot_be_registered_with_two_vkas(circuit: Circuit) -> None:
    evm = EvmVerifier()
    words = derive_vka(circuit)
    first = evm.register_vka("0xshard-0", words)
    assert evm.register_vka("0xshard-0", words) is first  # once per id
    assert evm.register_vka("0xshard-1", words).digest == first.digest  # many ids, one contract
    changed = (words[0][:-1] + bytes([words[0][-1] ^ 1]), *words[1:])
    with pytest.raises(EvmError, match="registered with another VKA"):
        evm.register_vka("0xshard-0", changed)


@pytest.mark.ezkl
def test_both_backends_agree_on_a_freshly_built_tiny_proof(tiny_circuit: Circuit, tiny_step: Any) -> None:
    proof = tiny_step[0]
    for mutation in ("honest", "flip_an_evaluation", "append_32_zero_bytes", "cut_one_byte"):
        p = MUTATIONS[mutation](proof.proof)
        answers = {b: check_proof(tiny_circuit, p, b) for b in BACKENDS}
        assert answers["evm"] == answers["ezkl"], (mutation, answers)
        assert (answers["evm"] is None) == (mutation == "honest")


def test_pot_verify_gives_the_same_results_with_either_backend(
        tmp_path: Path, honest_steps: list[StepProof]) -> None:
    from click.testing import CliRunner

    from pot.cli import main

    for name, mutation in (("honest", "honest"), ("padded", "append_32_zero_bytes"),
                           ("flipped", "flip_an_evaluation")):
        doc = honest_steps[0].to_json()
        doc["proof"] = "0x" + MUTATIONS[mutation](honest_steps[0].proof).hex()
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
    outputs = {}
    for backend in BACKENDS:
        result = CliRunner().invoke(main, ["verify", str(tmp_path), "--circuit",
                                           str(FIXTURES / "bundles" / "circuit"), "--allow-dev-srs",
                                           "--backend", backend, "--json"])
        assert result.exit_code == 1, result.output
        outputs[backend] = [(r["file"], r["valid"], r["reason"])
                            for r in json.loads(result.output)["results"]]
    assert outputs["evm"] == outputs["ezkl"] == [
        (str(tmp_path / "flipped.json"), False, "proof_invalid"),
        (str(tmp_path / "honest.json"), True, "ok"),
        (str(tmp_path / "padded.json"), False, "proof_trailing_bytes"),
    ]


def test_verify_calls_leave_nothing_behind_in_the_evm(circuit: Circuit,
                                                     honest_steps: list[StepProof]) -> None:
    """pyrevm journals every call until a revert: kept, ~100 KB per proof would pile up."""
    evm = EvmVerifier()
    evm.check(circuit, honest_steps[0].proof)
    before = evm._evm.journal_len
    for proof in (honest_steps[0].proof, bytes(len(honest_steps[0].proof)), honest_steps[1].proof):
        evm.check(circuit, proof)
    assert evm._evm.journal_len == before
    assert evm.check(circuit, honest_steps[1].proof).reason is None  # the registration stays
