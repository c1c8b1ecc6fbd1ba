"""The pinned EVM verifier: its hashes hold, ezkl regenerates its source, solcjs its bytecode."""

from __future__ import annotations

import json
import shutil

import pytest

from pot.errors import EvmError
from pot.evm.artifact import (
    ARTIFACT_DIR,
    ARTIFACT_FILE,
    EIP170_MAX_RUNTIME_BYTES,
    SOURCE_FILE,
    check_artifact,
    load_artifact,
)
from pot.evm.build_verifier import DEFAULT_CIRCUIT, DEFAULT_SOLC_DIR, build, generate_source


def test_the_committed_verifier_matches_its_keccak256_and_fits_eip170() -> None:
    artifact = load_artifact()
    assert len(artifact.runtime) <= EIP170_MAX_RUNTIME_BYTES
    assert artifact.meta["sizes"] == {"creation_bytes": len(artifact.creation),
                                      "runtime_bytes": len(artifact.runtime)}
    assert artifact.meta["solc_settings"]["evmVersion"] == "cancun"


@pytest.mark.parametrize("field", ["creation", "runtime"])
def test_one_changed_byte_of_the_bytecode_breaks_the_pin(field: str) -> None:
    source = (ARTIFACT_DIR / SOURCE_FILE).read_bytes()
    doc = json.loads((ARTIFACT_DIR / ARTIFACT_FILE).read_text())
    code = bytearray(bytes.fromhex(doc[field][2:]))
    code[100] ^= 1
    doc[field] = "0x" + code.hex()
    with pytest.raises(EvmError, match=f"{field} does not match its pinned keccak256"):
        check_artifact(source, doc)


def test_a_changed_source_breaks_the_pin() -> None:
    doc = json.loads((ARTIFACT_DIR / ARTIFACT_FILE).read_text())
    source = (ARTIFACT_DIR / SOURCE_FILE).read_bytes() + b"\n"
    with pytest.raises(EvmError, match="source does not match"):
        check_artifact(source, doc)


def test_ezkl_regenerates_the_committed_source_byte_for_byte() -> None:
    assert generate_source(DEFAULT_CIRCUIT) == (ARTIFACT_DIR / SOURCE_FILE).read_bytes()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (validators "
                    "need neither node nor solc; maintainers rebuild with solcjs)")
@pytest.mark.skipif(not (DEFAULT_SOLC_DIR / "node_modules" / "solc").exists(),
                    reason=f"no solcjs under {DEFAULT_SOLC_DIR}: python -m pot.evm.build_verifier "
                    "--install")
def test_the_pinned_solcjs_rebuilds_the_committed_bytecode() -> None:
    source, doc = build(DEFAULT_CIRCUIT, DEFAULT_SOLC_DIR)
    assert source == (ARTIFACT_DIR / SOURCE_FILE).read_bytes()
    committed = json.loads((ARTIFACT_DIR / ARTIFACT_FILE).read_text())
    assert doc["keccak256"] == committed["keccak256"]
    assert doc == committed
