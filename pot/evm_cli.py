"""``pot chain verifier-export``: what an EVM chain deploys to verify a job's step proofs on chain.

The export is a folder::

    <out>/
        Halo2VerifierReusable.sol    the pinned verifier's source (pot.evm.artifact)
        verifier.json                its ABI, creation and runtime bytecode, keccak256, solc settings
        circuits/<circuit id>/
            vka.bin                  the circuit's VKA (ezkl's file form, pot.vka)
            register.calldata        registerVka(vka) calldata, 0x hex
        proofs/<name>.calldata       verifyProof(proof, [], vka) calldata of each --proof, 0x hex
        export.json                  what the files are, with the gas each call used

A sharded job has one circuit per shard: pass ``--circuit`` once per shard circuit; the one
verifier serves them all, with one registration each. The gas figures are measured by running
the calls in a fresh in-process EVM (pyrevm, Cancun): deploying, registering each VKA, and
verifying each given step proof.

The reusable verifier never checks where a proof ends (``proof + 32 bytes`` verifies), so
``export.json`` gives each circuit's exact ``proof_length`` and a chain must require it, as pot
does (:mod:`pot.evm.backend`).

The folder is written under a temporary name and renamed at the end: an interrupted or failed
export leaves nothing at ``--out``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from pot.circuit import Circuit, find_circuit, load_circuit
from pot.clikit import (
    EXIT_INVALID,
    EXIT_MALFORMED,
    PotClickException,
    boundary,
    circuits_option,
    emit_json,
    json_option,
)
from pot.errors import CircuitError, MalformedInputError
from pot.evm.artifact import ARTIFACT_DIR, ARTIFACT_FILE, SOURCE_FILE, load_artifact
from pot.evm.backend import EvmVerifier, register_calldata, verify_calldata
from pot.vka import derive_vka, dump_vka

EXPORT_FORMAT = "pot.evm-export/1"
VERIFIER_JSON = "verifier.json"


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def export_verifier(circuits: list[Circuit], proofs: list[Path], out: Path) -> dict[str, Any]:
    """Write the export folder for ``circuits`` (and the calldata of ``proofs``) at ``out``.

    Parameters
    ----------
    circuits
        The job's pinned circuits (one, or one per shard).
    proofs
        Step proof files (``pot prove``) of those circuits, whose verify calldata and gas are
        exported too.
    out
        The folder to create; it must not exist.

    Returns
    -------
    dict
        The ``export.json`` document.

    Raises
    ------
    MalformedInputError
        If ``out`` exists, or a proof file is unreadable or names a circuit not given.
    pot.errors.EvmError
        If the verifier cannot be deployed or a VKA registered.
    """
    from pot.verifier import read_step_proof

    if out.exists():
        raise MalformedInputError(f"{out} exists; give a new folder")
    by_id = {c.circuit_id: c for c in circuits}  # a circuit given twice is exported once
    circuits = list(by_id.values())
    steps = [(p, read_step_proof(p)) for p in proofs]
    for path, step in steps:
        if step.circuit_id not in by_id:
            raise MalformedInputError(f"{path} is a proof of circuit {step.circuit_id}, "
                                      "which is not one of the exported circuits")
    artifact = load_artifact()
    evm = EvmVerifier(artifact)  # a fresh EVM: the gas figures are those of a new chain
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        shutil.copyfile(ARTIFACT_DIR / SOURCE_FILE, work / SOURCE_FILE)
        shutil.copyfile(ARTIFACT_DIR / ARTIFACT_FILE, work / VERIFIER_JSON)
        doc: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "evm_version": artifact.meta["solc_settings"]["evmVersion"],
            "verifier": {"source": SOURCE_FILE, "artifact": VERIFIER_JSON,
                         "keccak256": artifact.meta["keccak256"], "sizes": artifact.meta["sizes"],
                         "deploy_gas": evm.deploy_gas,
                         "functions": {"registerVka": "registerVka(bytes32[])",
                                       "verifyProof": "verifyProof(bytes,uint256[],bytes32[])"}},
            "circuits": [], "proofs": [],
        }
        for circuit in circuits:
            words = derive_vka(circuit)
            reg = evm.register_vka(circuit.circuit_id, words)
            folder = work / "circuits" / circuit.circuit_id
            folder.mkdir(parents=True)
            (folder / "vka.bin").write_bytes(dump_vka(words))
            (folder / "register.calldata").write_text(_hex(register_calldata(words)) + "\n")
            doc["circuits"].append({
                "circuit_id": circuit.circuit_id, "spec": circuit.spec.name,
                "vka": f"circuits/{circuit.circuit_id}/vka.bin", "vka_words": len(words),
                "vka_digest": _hex(reg.digest), "register_calldata":
                f"circuits/{circuit.circuit_id}/register.calldata", "register_gas": reg.gas_used,
                "proof_length": reg.proof_length,
            })
        for i, (path, step) in enumerate(steps):
            reg = evm.register(by_id[step.circuit_id])
            check = evm.check_registered(reg, step.proof)
            name = f"proofs/{i:03d}-{path.stem}.calldata"
            (work / "proofs").mkdir(exist_ok=True)
            (work / name).write_text(_hex(verify_calldata(step.proof, reg.words)) + "\n")
            doc["proofs"].append({"file": str(path), "circuit_id": step.circuit_id,
                                  "calldata": name, "valid": check.reason is None,
                                  "reason": check.reason or "ok", "verify_gas": check.gas_used})
        (work / "export.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        work.rename(out)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return doc


@click.command("verifier-export")
@click.option("--circuit", "circuit_paths", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="A job's circuit folder (repeat for each shard circuit).")
@click.option("--circuit-id", "circuit_ids", multiple=True,
              help="A circuit id, looked up under --circuits (repeatable).")
@click.option("--proof", "proof_paths", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A step proof whose verify calldata and gas to export too (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="The folder to write (must not exist).")
@circuits_option
@json_option
@boundary
def verifier_export(circuit_paths: tuple[Path, ...], circuit_ids: tuple[str, ...],
                    proof_paths: tuple[Path, ...], out: Path, circuits_dir: Path,
                    as_json: bool) -> None:
    """Write what an EVM chain deploys to verify a job's step proofs: the pinned verifier's
    source and bytecode, each circuit's VKA, the registration and verify calldata, and the gas
    of each call measured in a fresh EVM (Cancun).

    Exit code 0 when written (and every --proof verifies), 1 if a --proof does not verify, 2 on
    unusable input (no circuit, an existing --out, an unreadable proof).

    \b
    Example:
        pot chain verifier-export --circuit circuits/mlp-tiny-0123abcd --proof step.json \\
            --out evm-export --json
    """
    if not circuit_paths and not circuit_ids:
        raise click.UsageError("give --circuit or --circuit-id")
    try:
        circuits = ([load_circuit(p) for p in circuit_paths]
                    + [find_circuit(i, circuits_dir) for i in circuit_ids])
    except CircuitError as e:
        raise PotClickException(str(e), EXIT_MALFORMED) from e
    doc = export_verifier(circuits, list(proof_paths), out)
    if as_json:
        emit_json(doc)
    else:
        v = doc["verifier"]
        click.echo(f"verifier  {out / SOURCE_FILE}: runtime {v['sizes']['runtime_bytes']} bytes, "
                   f"keccak256 {v['keccak256']['runtime']}, deploy gas {v['deploy_gas']}")
        for c in doc["circuits"]:
            click.echo(f"circuit   {c['circuit_id']} ({c['spec']}): VKA {c['vka_words']} words, "
                       f"register gas {c['register_gas']}, proof length {c['proof_length']} bytes")
        for p in doc["proofs"]:
            click.echo(f"proof     {p['file']}: {'valid' if p['valid'] else 'INVALID'} "
                       f"({p['reason']}), verify gas {p['verify_gas']}")
    if not all(p["valid"] for p in doc["proofs"]):
        raise PotClickException("a given proof does not verify on the exported verifier",
                                EXIT_INVALID)
