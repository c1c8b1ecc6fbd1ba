"""The pinned EVM verifier contract: ezkl's reusable halo2 verifier, compiled once and committed.

``artifacts/Halo2VerifierReusable.sol`` is what ``ezkl.create_evm_verifier(..., reusable=True)``
writes (the same source for every circuit: the circuit comes in each call's VKA,
:mod:`pot.vka`). ``artifacts/Halo2VerifierReusable.json`` holds its ABI, the creation and
runtime bytecode solcjs made of it, the compiler version and settings, and the keccak256 of the
source and of both bytecodes. :func:`load_artifact` checks those hashes every time it loads, so
a validator runs exactly the committed bytecode and needs neither node nor solc.

``python -m pot.evm.build_verifier`` regenerates the source with ezkl and recompiles it with the
pinned solcjs (``SOLC_VERSION``); ``tests/test_evm_artifact.py`` checks the rebuild matches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from pot.errors import EvmError

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
CONTRACT_NAME = "Halo2VerifierReusable"
SOURCE_FILE = f"{CONTRACT_NAME}.sol"
ARTIFACT_FILE = f"{CONTRACT_NAME}.json"
ARTIFACT_FORMAT = "pot.evm-verifier/1"
SOLC_VERSION = "0.8.37"  # npm's solc (solcjs); its version string is checked at compile time
EVM_VERSION = "cancun"  # ModernTensor's revm spec
OPTIMIZER_RUNS = 200
SOLC_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
    "evmVersion": EVM_VERSION,
    # No metadata hash: the bytecode depends on the source and the compiler alone.
    "metadata": {"bytecodeHash": "none", "appendCBOR": False},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}
EIP170_MAX_RUNTIME_BYTES = 24_576


def keccak_hex(data: bytes) -> str:
    """``0x`` + the keccak256 of ``data``."""
    return "0x" + keccak(data).hex()


@dataclass(frozen=True)
class VerifierArtifact:
    """The committed verifier contract.

    Attributes
    ----------
    source
        The Solidity source (UTF-8 bytes) ezkl wrote.
    abi
        The contract's ABI (solc's JSON).
    creation
        Creation (init) bytecode: what a deploy transaction carries.
    runtime
        The runtime bytecode the deployed account holds (at most ``EIP170_MAX_RUNTIME_BYTES``).
    meta
        The JSON document: compiler version, settings and the keccak256 of all three.
    """

    source: bytes
    abi: list[dict[str, Any]]
    creation: bytes
    runtime: bytes
    meta: dict[str, Any]


def artifact_document(source: bytes, abi: list[dict[str, Any]], creation: bytes, runtime: bytes,
                      ezkl_version: str, solc_long_version: str) -> dict[str, Any]:
    """The JSON document of a compiled verifier (what ``build_verifier`` commits)."""
    return {
        "format": ARTIFACT_FORMAT,
        "contract": CONTRACT_NAME,
        "source": SOURCE_FILE,
        "ezkl_version": ezkl_version,
        "solc_version": solc_long_version,
        "solc_settings": SOLC_SETTINGS,
        "abi": abi,
        "creation": "0x" + creation.hex(),
        "runtime": "0x" + runtime.hex(),
        "sizes": {"creation_bytes": len(creation), "runtime_bytes": len(runtime)},
        "keccak256": {"source": keccak_hex(source), "creation": keccak_hex(creation),
                      "runtime": keccak_hex(runtime)},
    }


def _hex_field(doc: dict[str, Any], key: str) -> bytes:
    value = doc.get(key)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise EvmError(f"{ARTIFACT_FILE}: {key} must be 0x-prefixed hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as e:
        raise EvmError(f"{ARTIFACT_FILE}: {key} is not hex") from e


def check_artifact(source: bytes, doc: dict[str, Any]) -> VerifierArtifact:
    """Check a verifier document against its source and hashes.

    Raises
    ------
    EvmError
        If a field is missing or malformed, a keccak256 differs, or the runtime is over EIP-170.
    """
    if not isinstance(doc, dict) or doc.get("format") != ARTIFACT_FORMAT:
        raise EvmError(f"{ARTIFACT_FILE} is not a {ARTIFACT_FORMAT} document")
    creation, runtime = _hex_field(doc, "creation"), _hex_field(doc, "runtime")
    hashes = doc.get("keccak256")
    if not isinstance(hashes, dict):
        raise EvmError(f"{ARTIFACT_FILE} has no keccak256 table")
    for name, data in (("source", source), ("creation", creation), ("runtime", runtime)):
        if hashes.get(name) != keccak_hex(data):
            raise EvmError(f"the verifier's {name} does not match its pinned keccak256 "
                           f"{hashes.get(name)}")
    if len(runtime) > EIP170_MAX_RUNTIME_BYTES:
        raise EvmError(f"the verifier's runtime is {len(runtime)} bytes, over EIP-170's "
                       f"{EIP170_MAX_RUNTIME_BYTES}")
    abi = doc.get("abi")
    if not isinstance(abi, list):
        raise EvmError(f"{ARTIFACT_FILE} has no ABI")
    return VerifierArtifact(source=source, abi=abi, creation=creation, runtime=runtime, meta=doc)


@cache
def load_artifact(folder: Path = ARTIFACT_DIR) -> VerifierArtifact:
    """Load and check the committed verifier (once per process and folder).

    Raises
    ------
    EvmError
        If a file is missing or unreadable, or :func:`check_artifact` fails.
    """
    try:
        source = (folder / SOURCE_FILE).read_bytes()
        doc = json.loads((folder / ARTIFACT_FILE).read_text())
    except (OSError, ValueError) as e:
        raise EvmError(f"cannot read the pinned EVM verifier in {folder}: {e}") from e
    return check_artifact(source, doc)
