"""Verify step proofs against a pinned circuit (validator side; never imports torch).

A verifier never crashes and never accepts what it should not: every check that fails yields a
:class:`Verdict` with a specific reason code, and unreadable input raises
:class:`pot.errors.MalformedInputError` before any expensive work.

Reason codes (``docs/protocol.md`` lists the bundle-level ones too):

============== ==========================================================================
``ok``          the proof verifies under the pinned circuit
``dev_srs``     the circuit uses a development SRS and ``allow_dev_srs`` was not given
``wrong_circuit`` the proof names another circuit id than the pinned one
``instance_count`` the number of public instances differs from the circuit's
``proof_invalid`` ezkl's verifier rejected the proof
============== ==========================================================================
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pot.circuit import Circuit
from pot.jsonio import loads_limited, read_json_limited
from pot.proof import MAX_PROOF_BYTES, StepProof

MAX_STEP_PROOF_FILE_BYTES = 4 * MAX_PROOF_BYTES


@dataclass(frozen=True)
class Verdict:
    """The outcome of a verification.

    Attributes
    ----------
    ok
        True only if every check passed.
    reason
        ``"ok"`` or the code of the first failed check.
    detail
        A human-readable sentence on what failed.
    """

    ok: bool
    reason: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.ok, "reason": self.reason, "detail": self.detail}


VALID = Verdict(True, "ok", "the proof verifies")


def read_step_proof(path: Path) -> StepProof:
    """Read a step proof file.

    Raises
    ------
    MalformedInputError
        If the file is too large, not JSON, or not a well-formed step proof.
    """
    return StepProof.from_json(read_json_limited(path, MAX_STEP_PROOF_FILE_BYTES))


def ezkl_verify(circuit: Circuit, proof: bytes, instances: tuple[int, ...]) -> bool:
    """Run ezkl's KZG verifier on one proof; ``False`` on any rejection (never raises)."""
    import ezkl

    body = {
        "instances": [[x.to_bytes(32, "little").hex() for x in instances]],
        "proof": list(proof),
    }
    with tempfile.TemporaryDirectory() as tmp:
        ppath = Path(tmp) / "proof.json"
        ppath.write_text(json.dumps(body))
        try:
            return bool(ezkl.verify(str(ppath), str(circuit.file("settings.json")),
                                    str(circuit.file("vk.key")), str(circuit.file("kzg.srs")), False))
        except (RuntimeError, ValueError, OverflowError):
            return False


def verify_step_proof(step: StepProof, circuit: Circuit, allow_dev_srs: bool = False) -> Verdict:
    """Verify one step proof under ``circuit``.

    Parameters
    ----------
    step
        A parsed step proof (:func:`read_step_proof`).
    circuit
        The pinned circuit (:func:`pot.circuit.load_circuit`).
    allow_dev_srs
        Accept a circuit whose SRS is a local development one (insecure; for tests and demos).
    """
    if circuit.dev_srs and not allow_dev_srs:
        return Verdict(False, "dev_srs", "the circuit's SRS is a development SRS (insecure); "
                       "pass --allow-dev-srs to accept it")
    if step.circuit_id != circuit.circuit_id:
        return Verdict(False, "wrong_circuit", f"the proof is for circuit {step.circuit_id}, "
                       f"not the pinned {circuit.circuit_id}")
    expected = circuit.n_input_tensors + circuit.n_output_tensors
    if len(step.instances) != expected:
        return Verdict(False, "instance_count", f"the proof has {len(step.instances)} public "
                       f"instances, the circuit has {expected}")
    if not ezkl_verify(circuit, step.proof, step.instances):
        return Verdict(False, "proof_invalid", "ezkl's verifier rejected the proof")
    return VALID


def load_step_proof_bytes(raw: bytes) -> StepProof:
    """Parse a step proof from bytes (for callers that hold the file in memory).

    Raises
    ------
    MalformedInputError
        As :func:`read_step_proof`.
    """
    return StepProof.from_json(loads_limited(raw, "step proof", MAX_STEP_PROOF_FILE_BYTES))
