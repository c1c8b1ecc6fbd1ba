"""Rebuild the pinned EVM verifier: ezkl writes the Solidity, the pinned solcjs compiles it.

Maintainers only (validators load the committed bytecode, :mod:`pot.evm.artifact`). Needs node and
npm's ``solc`` at ``SOLC_VERSION`` under ``--solc-dir`` (``--install`` runs
``npm install --prefix DIR solc@0.8.37``; the default ``tools/solc`` is git-ignored)::

    python -m pot.evm.build_verifier --install         # rebuild and compare with the committed one
    python -m pot.evm.build_verifier --write           # rebuild and overwrite pot/evm/artifacts/

ezkl's reusable verifier does not depend on the circuit, so the source is generated from the
pinned fixture circuit (``fixtures/bundles/circuit``) or ``--circuit``.
``ezkl.create_evm_verifier`` then tries to download a native solc for its own check and fails
offline; the ``.sol`` is written before that, and that failure is ignored here.

Exit codes: 0 the rebuild equals the committed artifact (or was written), 1 it differs, 2 a tool
is missing or failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pot.circuit import EZKL_VERSION, load_circuit
from pot.errors import EvmError
from pot.evm.artifact import (
    ARTIFACT_DIR,
    ARTIFACT_FILE,
    CONTRACT_NAME,
    SOLC_SETTINGS,
    SOLC_VERSION,
    SOURCE_FILE,
    artifact_document,
    check_artifact,
)
from pot.vka import run_ezkl

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOLC_DIR = ROOT / "tools" / "solc"
DEFAULT_CIRCUIT = ROOT / "fixtures" / "bundles" / "circuit"
NODE_TIMEOUT_S = 600

# Read a standard-JSON input on stdin, print {"version", "output"}: solcjs's own CLI prints a
# notice line before its JSON, so pot calls the library directly.
_COMPILE_JS = """
const solc = require(process.argv[1]);
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify({version: solc.version(), output: JSON.parse(solc.compile(input))}));
});
"""


def generate_source(circuit_dir: Path) -> bytes:
    """The reusable verifier's Solidity source, as ezkl writes it for the circuit in ``circuit_dir``.

    Raises
    ------
    EvmError
        If ezkl writes no source.
    """
    import ezkl

    circuit = load_circuit(circuit_dir)
    with tempfile.TemporaryDirectory() as tmp:
        sol, abi = Path(tmp) / SOURCE_FILE, Path(tmp) / "abi.json"
        try:
            run_ezkl(ezkl.create_evm_verifier, str(circuit.file("vk.key")),
                     str(circuit.file("settings.json")), str(sol), str(abi),
                     str(circuit.file("kzg.srs")), True)
        except RuntimeError as e:  # its solc download; the source is written before it
            if not sol.exists():
                raise EvmError(f"ezkl wrote no verifier source: {e}") from e
        return sol.read_bytes()


def install_solc(solc_dir: Path) -> None:
    """``npm install --prefix solc_dir solc@SOLC_VERSION``.

    Raises
    ------
    EvmError
        If npm is missing or fails.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise EvmError("npm is not installed")
    solc_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--no-save", "--prefix", str(solc_dir),
                           f"solc@{SOLC_VERSION}"], capture_output=True, text=True,
                          timeout=NODE_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise EvmError(f"npm install solc@{SOLC_VERSION} failed: {done.stderr.strip()[-500:]}")


def solc_module(solc_dir: Path) -> Path:
    """The ``solc`` npm package folder under ``solc_dir`` (raises :class:`EvmError` if absent)."""
    module = solc_dir / "node_modules" / "solc"
    if not (module / "package.json").exists():
        raise EvmError(f"no solcjs under {solc_dir}; run with --install or npm install --prefix "
                       f"{solc_dir} solc@{SOLC_VERSION}")
    return module


def compile_source(source: bytes, solc_dir: Path) -> tuple[list[dict[str, Any]], bytes, bytes, str]:
    """Compile the verifier with the pinned solcjs: ``(abi, creation, runtime, solc version)``.

    Raises
    ------
    EvmError
        If node or solcjs is missing, solcjs is not ``SOLC_VERSION``, or compilation fails.
    """
    node = shutil.which("node")
    if node is None:
        raise EvmError("node is not installed")
    module = solc_module(solc_dir)
    request = {"language": "Solidity", "sources": {SOURCE_FILE: {"content": source.decode()}},
               "settings": SOLC_SETTINGS}
    done = subprocess.run([node, "-e", _COMPILE_JS, str(module)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=NODE_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise EvmError(f"solcjs failed: {done.stderr.strip()[-500:]}")
    result = json.loads(done.stdout)
    version = str(result["version"])
    if not version.startswith(SOLC_VERSION + "+"):
        raise EvmError(f"solcjs is {version}, the verifier is pinned to {SOLC_VERSION}")
    errors = [e["formattedMessage"] for e in result["output"].get("errors", [])
              if e.get("severity") == "error"]
    if errors:
        raise EvmError("solcjs rejected the verifier: " + " ".join(errors)[:1000])
    contract = result["output"]["contracts"][SOURCE_FILE][CONTRACT_NAME]
    return (contract["abi"], bytes.fromhex(contract["evm"]["bytecode"]["object"]),
            bytes.fromhex(contract["evm"]["deployedBytecode"]["object"]), version)


def build(circuit_dir: Path, solc_dir: Path) -> tuple[bytes, dict[str, Any]]:
    """Regenerate and recompile the verifier: its source and its JSON document."""
    source = generate_source(circuit_dir)
    abi, creation, runtime, version = compile_source(source, solc_dir)
    return source, artifact_document(source, abi, creation, runtime, EZKL_VERSION, version)


def write_artifact(source: bytes, doc: dict[str, Any], folder: Path = ARTIFACT_DIR) -> None:
    """Write the source and the document (checked first) into ``folder``."""
    check_artifact(source, doc)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SOURCE_FILE).write_bytes(source)
    (folder / ARTIFACT_FILE).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--circuit", type=Path, default=DEFAULT_CIRCUIT,
                        help="circuit folder ezkl generates the source from")
    parser.add_argument("--solc-dir", type=Path, default=DEFAULT_SOLC_DIR,
                        help="npm prefix holding node_modules/solc")
    parser.add_argument("--install", action="store_true", help="npm install the pinned solcjs first")
    parser.add_argument("--write", action="store_true", help="overwrite the committed artifact")
    args = parser.parse_args(argv)
    try:
        if args.install:
            install_solc(args.solc_dir)
        source, doc = build(args.circuit, args.solc_dir)
        if args.write:
            write_artifact(source, doc)
            print(f"wrote {ARTIFACT_DIR / ARTIFACT_FILE}: runtime {doc['keccak256']['runtime']}")
            return 0
        committed = json.loads((ARTIFACT_DIR / ARTIFACT_FILE).read_text())
    except (EvmError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    same = committed["keccak256"] == doc["keccak256"]
    print(f"{'matches' if same else 'DIFFERS from'} the committed verifier: runtime "
          f"{doc['keccak256']['runtime']} ({doc['sizes']['runtime_bytes']} bytes)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
