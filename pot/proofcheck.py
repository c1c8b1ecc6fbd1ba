"""One proof's check: does a step proof verify under its pinned circuit, and is it minimal.

The core both verifiers share (:mod:`pot.verifier` for step proofs and bundles, and
:mod:`pot.shard.verify` for sharded steps): ``ezkl.verify`` or the embedded EVM verifier
(:mod:`pot.evm.backend`), then the check that the proof has no bytes after its end. Both backends
give the same answer on every fixture (``tests/test_evm_twins.py``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from pot.circuit import Circuit
from pot.verdict import Verdict

BACKENDS = ("evm", "ezkl")
DEFAULT_BACKEND = "evm"  # faster on both specs: benchmarks/verify_throughput.py, docs/performance.md

VALID = Verdict(True, "ok", detail="the proof verifies")
PROOF_FAILURES = {"proof_invalid": "the {backend} verifier rejected {which}",
                   "proof_trailing_bytes": "{which} carries bytes after its end"}


def ezkl_verify(circuit: Circuit, proof: bytes) -> bool:
    """Run ezkl's KZG verifier on one proof; ``False`` on any rejection (never raises).

    The circuit has no public instances: the tensor points the proof opens with are part of what
    the verifier checks (:mod:`pot.proof`).
    """
    import ezkl

    body = {"instances": [[]], "proof": list(proof)}
    with tempfile.TemporaryDirectory() as tmp:
        ppath = Path(tmp) / "proof.json"
        ppath.write_text(json.dumps(body))
        try:
            return bool(ezkl.verify(str(ppath), str(circuit.file("settings.json")),
                                    str(circuit.file("vk.key")), str(circuit.file("kzg.srs")), False))
        except (RuntimeError, ValueError, OverflowError):
            return False


_MINIMAL_PROOF_BYTES: dict[str, int] = {}
"""Per process: circuit id -> the length of a proof of that circuit that verified and was shown
minimal by the cut-one-byte check (:func:`proof_is_minimal`)."""


def proof_is_minimal(circuit: Circuit, proof: bytes) -> bool:
    """Whether a proof that verifies has no bytes after its end.

    ezkl reads a proof from the front and ignores whatever follows it, so ``proof + junk``
    verifies whenever ``proof`` does: one statement would have many proofs, and a bundle many
    byte strings. A verified proof is minimal exactly when dropping its last byte makes it fail.
    Call it only on a proof that verified.

    That cut-one-byte check costs a second ezkl verification, so it runs once per circuit and
    process; afterwards a verified proof is minimal exactly when its length is the remembered
    one, L. Why: a halo2 proof is a transcript the verifier reads front to back, and for a fixed
    circuit (one vk) it is the same sequence of G1 points and scalars, with no length field, so
    the verifier reads the same number L0 of bytes from every proof and ignores the rest. A proof
    shorter than L0 cannot be read, so it fails. If a proof P verifies and ``P[:-1]`` fails, then
    ``len(P) = L0``: were it longer, ``P[:-1]`` would still hold P's first L0 bytes and verify.
    So L, learnt from such a P, is L0, and a verified proof Q of length L is minimal (``Q[:-1]`` is
    shorter than L0), while one longer than L carries trailing bytes (``Q[:-1]`` verifies). Only
    the fast path ``len(Q) == L`` relies on this reasoning; a proof of any other length still
    gets the cut-one-byte check, and so the same answer it always got.
    """
    known = _MINIMAL_PROOF_BYTES.get(circuit.circuit_id)
    if known is not None and len(proof) == known:
        return True
    minimal = not ezkl_verify(circuit, proof[:-1])
    if minimal and known is None:
        _MINIMAL_PROOF_BYTES[circuit.circuit_id] = len(proof)
    return minimal


def check_proof(circuit: Circuit, proof: bytes, backend: str = DEFAULT_BACKEND) -> str | None:
    """Verify one proof, then check it is minimal; the failed check's reason code or None.

    Parameters
    ----------
    circuit, proof
        The pinned circuit and the proof bytes.
    backend
        ``"evm"`` (:meth:`pot.evm.backend.EvmVerifier.check`) or ``"ezkl"`` (``ezkl.verify``
        and :func:`proof_is_minimal`); both give the same answer.

    Returns
    -------
    str or None
        ``"proof_invalid"``, ``"proof_trailing_bytes"`` or None when both pass.

    Raises
    ------
    pot.errors.EvmError
        If the EVM verifier cannot be set up (no verdict is reached).
    """
    if backend == "evm":
        from pot.evm.backend import evm_verifier

        return evm_verifier().check(circuit, proof).reason
    if backend != "ezkl":
        raise ValueError(f"unknown verifier backend {backend!r}; one of {', '.join(BACKENDS)}")
    if not ezkl_verify(circuit, proof):
        return "proof_invalid"
    if not proof_is_minimal(circuit, proof):
        return "proof_trailing_bytes"
    return None
