"""The EVM backend of pot's verifier: step proofs checked by the pinned verifier contract in pyrevm.

One in-process EVM per process (pyrevm, spec Cancun, the one ModernTensor's revm runs): the
pinned reusable verifier (:mod:`pot.evm.artifact`) is deployed into it once, each circuit's VKA
(:mod:`pot.vka`) is registered once, keyed by circuit id (a sharded job registers one per
shard circuit), and every step proof is one ``verifyProof(proof, [], vka)`` call, whose gas is
what the chain charges for it.

:meth:`EvmVerifier.check` answers what :func:`pot.proofcheck.check_proof` answers for ezkl, with
the same reason codes, so the two backends are twins (``tests/test_evm_twins.py``):

======================== ==========================================================================
``None``                 the proof is exactly the circuit's proof length and the call succeeds
``proof_trailing_bytes`` the proof is longer, and its first ``proof_length`` bytes verify
``proof_invalid``        anything else: a revert, a halt (out of gas), or a wrong return word
======================== ==========================================================================

The length check is pot's own: the reusable verifier reads the proof front to back and accepts
``proof + 32 bytes`` (calldata is 32-byte padded; a length that is not a multiple of 32 reverts
at its ABI check). Reverts become reason codes here and only here (:meth:`EvmVerifier._call`).

Which points the proof opens with, and whether they match the bundle's and trajectory's
commitments, is checked the same way for both backends (:mod:`pot.verifier`, :mod:`pot.proof`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak

from pot.circuit import Circuit
from pot.errors import EvmError
from pot.evm.artifact import VerifierArtifact, load_artifact
from pot.vka import derive_vka, proof_length

EVM_SPEC = "CANCUN"  # pyrevm maps an unknown name to its latest spec without a word: spell it right
DEPLOYER = "0x" + "00" * 19 + "e1"  # the in-process EVM's only account
BLOCK_GAS_LIMIT = 30_000_000  # gas units: the most one call may use
SELECTOR_REGISTER = keccak(b"registerVka(bytes32[])")[:4]
SELECTOR_VERIFY = keccak(b"verifyProof(bytes,uint256[],bytes32[])")[:4]
VERIFY_ARG_TYPES = ("bytes", "uint256[]", "bytes32[]")
RETURN_TRUE_WORD = (1).to_bytes(32, "big")
ERROR_STRING_SELECTOR = keccak(b"Error(string)")[:4]  # Solidity's require(cond, "message")
NOT_REGISTERED = "VKA not registered"
_REVERT_OUTPUT = re.compile(r"output: 0x((?:[0-9a-fA-F]{2})*)\b")


def revert_message(data: bytes) -> str | None:
    """The message of a Solidity ``Error(string)`` revert, or None for any other revert data."""
    if data[:4] != ERROR_STRING_SELECTOR:
        return None
    try:
        (message,) = decode(["string"], data[4:])
    except (DecodingError, ValueError):
        return None
    return str(message)


def register_calldata(words: tuple[bytes, ...]) -> bytes:
    """Calldata of ``registerVka(bytes32[] vka)``."""
    return SELECTOR_REGISTER + encode(["bytes32[]"], [list(words)])


def verify_calldata(proof: bytes, words: tuple[bytes, ...]) -> bytes:
    """Calldata of ``verifyProof(bytes proof, uint256[] instances, bytes32[] vka)``; pot's step
    circuits have no public instances. Equals ``ezkl.encode_evm_calldata`` (tested)."""
    return SELECTOR_VERIFY + encode(list(VERIFY_ARG_TYPES), [proof, [], list(words)])


def vka_digest(words: tuple[bytes, ...]) -> bytes:
    """The keccak256 the contract registers a VKA under."""
    return keccak(b"".join(words))


@dataclass(frozen=True)
class Registration:
    """One registered circuit.

    Attributes
    ----------
    circuit_id
        The circuit id (the key it is registered under here).
    words
        Its VKA.
    digest
        keccak256 of the VKA (the contract's key).
    proof_length
        The exact byte length of its proofs (:func:`pot.vka.proof_length`).
    gas_used
        Gas of the ``registerVka`` call.
    """

    circuit_id: str
    words: tuple[bytes, ...]
    digest: bytes
    proof_length: int
    gas_used: int


@dataclass(frozen=True)
class EvmCheck:
    """One step proof checked on the EVM: the failed reason code (``None`` if it verifies) and
    the gas its ``verifyProof`` calls used (two when the trailing-bytes check runs)."""

    reason: str | None
    gas_used: int


@dataclass
class GasMeter:
    """Gas used by the EVM verifier's calls inside a :func:`metered` block (this thread)."""

    gas_used: int = 0
    calls: int = 0


_METERS = threading.local()


@contextmanager
def metered() -> Iterator[GasMeter]:
    """Count the gas of every ``verifyProof`` call this thread makes inside the block."""
    meter = GasMeter()
    stack: list[GasMeter] = getattr(_METERS, "stack", [])
    _METERS.stack = [*stack, meter]
    try:
        yield meter
    finally:
        _METERS.stack = stack


def _charge_meters(gas: int) -> None:
    for meter in getattr(_METERS, "stack", []):
        meter.gas_used += gas
        meter.calls += 1


@dataclass
class EvmVerifier:
    """The pinned verifier deployed in a fresh in-process EVM.

    Parameters
    ----------
    artifact
        The verifier to deploy (default: the committed one, hash-checked).

    Raises
    ------
    EvmError
        If pyrevm is missing, or the deployment fails or leaves other code than the pinned runtime.
    """

    artifact: VerifierArtifact = field(default_factory=load_artifact)
    address: str = field(init=False)
    deploy_gas: int = field(init=False)
    _registered: dict[str, Registration] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        try:
            import pyrevm
        except ImportError as e:
            raise EvmError("the EVM backend needs pyrevm (pip install pyrevm==0.3.7)") from e
        self._evm: Any = pyrevm.EVM(spec_id=EVM_SPEC, gas_limit=BLOCK_GAS_LIMIT)
        try:
            self.address = self._evm.deploy(DEPLOYER, self.artifact.creation, gas=BLOCK_GAS_LIMIT)
        except RuntimeError as e:
            raise EvmError(f"deploying the verifier failed: {e}") from e
        result = self._evm.result
        self.deploy_gas = int(result.gas_used) if result is not None else 0
        if bytes(self._evm.get_code(self.address) or b"")[: len(self.artifact.runtime)] != \
                self.artifact.runtime:
            raise EvmError("the deployed verifier's code is not the pinned runtime bytecode")

    # -- the one boundary between EVM outcomes and pot's answers --------------------------------

    def _call(self, calldata: bytes, keep_state: bool = False) -> tuple[bool, bytes, int]:
        """One call to the verifier: ``(succeeded, output, gas used)``. A revert or halt is
        ``(False, revert data, gas)``; nothing the EVM does raises from here.

        Unless ``keep_state`` (a registration), the call's state changes are rolled back: pyrevm
        journals every call (about 270 entries, 100 KB, per verifyProof) until a revert, so a
        validator that kept them would grow without bound.
        """
        checkpoint = None if keep_state else self._evm.snapshot()
        try:
            out = bytes(self._evm.message_call(DEPLOYER, self.address, calldata,
                                               gas=BLOCK_GAS_LIMIT))
            ok = True
        except RuntimeError as e:  # pyrevm: "Revert { gas_used: N, output: 0x.. }" or "Halt {..}"
            found = _REVERT_OUTPUT.search(str(e))
            out, ok = (bytes.fromhex(found.group(1)) if found else b""), False
        result = self._evm.result
        gas = int(result.gas_used) if result is not None else 0
        if checkpoint is not None:
            self._evm.revert(checkpoint)
        return ok, out, gas

    # -- registration --------------------------------------------------------------------------

    def register_vka(self, circuit_id: str, words: tuple[bytes, ...]) -> Registration:
        """Register a VKA under ``circuit_id`` (once; a second call returns the first result).

        Raises
        ------
        EvmError
            If the id is registered with another VKA, or ``registerVka`` fails.
        """
        with self._lock:
            known = self._registered.get(circuit_id)
            if known is not None:
                if known.words != words:
                    raise EvmError(f"circuit {circuit_id} is registered with another VKA")
                return known
            digest = vka_digest(words)
            ok, out, gas = self._call(register_calldata(words), keep_state=True)
            if not ok or out[:32] != digest:
                raise EvmError(f"registerVka failed for circuit {circuit_id}: {out[:200]!r}")
            reg = Registration(circuit_id, words, digest, proof_length(words), gas)
            self._registered[circuit_id] = reg
            return reg

    def register(self, circuit: Circuit) -> Registration:
        """Register a pinned circuit's VKA, derived from its hash-checked vk (once per process)."""
        known = self._registered.get(circuit.circuit_id)
        return known if known is not None else self.register_vka(circuit.circuit_id,
                                                                 derive_vka(circuit))

    # -- verification --------------------------------------------------------------------------

    def verify_call(self, reg: Registration, proof: bytes) -> tuple[bool, int]:
        """One ``verifyProof`` call: ``(accepted, gas used)``, the gas counted by :func:`metered`.

        Raises
        ------
        EvmError
            If the contract says the VKA is not registered (pot's fault, not the proof's).
        """
        with self._lock:
            ok, out, gas = self._call(verify_calldata(proof, reg.words))
        _charge_meters(gas)
        if not ok and revert_message(out) == NOT_REGISTERED:
            raise EvmError(f"the VKA of circuit {reg.circuit_id} is not registered in the EVM")
        return ok and out[:32] == RETURN_TRUE_WORD and out[32:64] == reg.digest, gas

    def check_registered(self, reg: Registration, proof: bytes) -> EvmCheck:
        """:meth:`check` for an already registered circuit (sharded proofs: one per shard id)."""
        length = reg.proof_length
        if len(proof) == length:
            ok, gas = self.verify_call(reg, proof)
            return EvmCheck(None if ok else "proof_invalid", gas)
        if len(proof) > length:
            ok, gas = self.verify_call(reg, proof[:length])
            return EvmCheck("proof_trailing_bytes" if ok else "proof_invalid", gas)
        return EvmCheck("proof_invalid", 0)  # shorter than every proof of the circuit

    def check(self, circuit: Circuit, proof: bytes) -> EvmCheck:
        """Check one step proof of ``circuit``; see the module's table for the answers."""
        return self.check_registered(self.register(circuit), proof)


@cache
def evm_verifier() -> EvmVerifier:
    """This process's EVM verifier: deployed on first use, then kept."""
    return EvmVerifier()
