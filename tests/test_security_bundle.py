"""Attacks on the bundle verifier by a trainer that signs what it likes, and what it may touch.

Every test starts from one honest signed bundle of the tiny spec (6 real SGD steps, 2 proven) and
changes what a cheating trainer would change, re-signing with the trainer's own key, so that only
the check under test can stop it. The last tests trace the files and processes a verification
touches: the pinned circuit's verifier files and a fresh temporary folder, nothing a bundle names.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_hash.auto import keccak

from pot.bundle import dump_bundle, load_bundle
from pot.circuit import Circuit
from pot.cli import main
from pot.errors import MalformedInputError
from pot.fuzz import BundleTarget, case_rng
from pot.proofcheck import ezkl_verify
from pot.protocol.keys import derive_secret_key, public_key
from pot.verifier import (
    Expected,
    load_step_proof_bytes,
    verify_bundle,
    verify_step_proof,
)

pytestmark = pytest.mark.ezkl
ROOT = Path(__file__).resolve().parents[1]


def judge(honest: Any, circuit: Circuit, bundle: Any, expected: Expected | None = None) -> str:
    return verify_bundle(bundle, circuit, expected or honest.expected, allow_dev_srs=True).reason


def resigned(honest: Any, bundle: Any = None, **changes: Any) -> Any:
    return dataclasses.replace(bundle or honest.bundle, **changes).signed(honest.sk)


def with_proof(honest: Any, i: int, proof_bytes: bytes) -> Any:
    """The honest bundle with opening ``i``'s proof bytes replaced, re-signed."""
    openings = list(honest.bundle.openings)
    o = openings[i]
    openings[i] = dataclasses.replace(o, proof=dataclasses.replace(o.proof, proof=proof_bytes))
    return resigned(honest, openings=tuple(openings))


def test_the_honest_bundle_verifies_and_weighs_its_steps_times_the_circuits_batch(
        honest_round: Any, tiny_circuit: Circuit) -> None:
    assert judge(honest_round, tiny_circuit, honest_round.bundle) == "ok"
    assert judge(honest_round, tiny_circuit, load_bundle(dump_bundle(honest_round.bundle))) == "ok"
    assert honest_round.bundle.verified_samples == 6 * tiny_circuit.spec.batch_size


@pytest.mark.parametrize("factor", [0, 2, 16384])
def test_a_self_reported_batch_size_cannot_inflate_the_verified_samples(
        honest_round: Any, tiny_circuit: Circuit, factor: int) -> None:
    # The bundle's batch_size weighs the update in FedAvg and rewards (steps * batch_size); it
    # used to be taken from the bundle unchecked. The circuit proves batches of one size.
    size = max(1, tiny_circuit.spec.batch_size * factor)
    bundle = resigned(honest_round, batch_size=size)
    assert judge(honest_round, tiny_circuit, bundle) == "wrong_batch_size"
    assert verify_bundle(bundle, tiny_circuit, None, True).reason == "wrong_batch_size"


def test_ezkl_alone_accepts_a_proof_with_bytes_after_its_end(honest_round: Any,
                                                            tiny_circuit: Circuit) -> None:
    # Why pot checks minimality itself: ezkl reads a proof from the front and ignores the rest.
    step = honest_round.bundle.openings[0].proof
    assert ezkl_verify(tiny_circuit, step.proof + b"\x00" * 32)
    assert not ezkl_verify(tiny_circuit, step.proof[:-1])


@pytest.mark.parametrize("tail", [b"\x00", b"\xff" * 32, b"\x01" * 4096],
                         ids=["1 byte", "32 bytes", "4 KiB"])
def test_a_padded_proof_is_rejected_in_a_bundle_and_alone(honest_round: Any, tiny_circuit: Circuit,
                                                          tail: bytes) -> None:
    step = honest_round.bundle.openings[1].proof
    bundle = with_proof(honest_round, 1, step.proof + tail)
    assert judge(honest_round, tiny_circuit, bundle) == "proof_trailing_bytes"
    padded = dataclasses.replace(step, proof=step.proof + tail)
    assert verify_step_proof(padded, tiny_circuit, allow_dev_srs=True).reason == "proof_trailing_bytes"
    assert verify_step_proof(step, tiny_circuit, allow_dev_srs=True).reason == "ok"


def test_a_truncated_or_altered_proof_is_rejected(honest_round: Any, tiny_circuit: Circuit) -> None:
    proof = honest_round.bundle.openings[0].proof.proof
    flipped = bytearray(proof)
    flipped[len(proof) // 2] ^= 0x01
    head = 64 * honest_round.bundle.openings[0].proof.n_tensors  # the tensor points
    rotated = proof[:head] + proof[head + 32:] + proof[head:head + 32]
    for forged in (proof[:-1], proof[:-32], bytes(flipped), rotated):
        assert judge(honest_round, tiny_circuit, with_proof(honest_round, 0, forged)) == "proof_invalid"
    # Rotated tensor points are off the curve: such a proof cannot even be signed or written, and
    # a bundle built in memory around one is rejected, not a crash.
    openings = list(honest_round.bundle.openings)
    bad = dataclasses.replace(openings[0].proof, proof=proof[32:] + proof[:32])
    openings[0] = dataclasses.replace(openings[0], proof=bad)
    off_curve = dataclasses.replace(honest_round.bundle, openings=tuple(openings))
    assert judge(honest_round, tiny_circuit, off_curve) == "proof_invalid"


def test_one_openings_proof_cannot_answer_another_step(honest_round: Any,
                                                      tiny_circuit: Circuit) -> None:
    a, b = honest_round.bundle.openings
    swapped = (dataclasses.replace(a, proof=b.proof), dataclasses.replace(b, proof=a.proof))
    assert judge(honest_round, tiny_circuit, resigned(honest_round, openings=swapped)) == \
        "commitment_mismatch"


def test_a_copied_bundle_signed_by_another_trainer_fails_its_own_challenge(
        honest_round: Any, tiny_circuit: Circuit) -> None:
    # Proofs do not name the trainer; the challenge does: its seed holds the trainer's key, so a
    # copier's challenge asks for other steps than the ones the copied proofs answer.
    thief = derive_secret_key(keccak(b"copier") + keccak(b"copier/2"))
    copy = dataclasses.replace(honest_round.bundle, trainer=public_key(thief)).signed(thief)
    assert verify_bundle(copy, tiny_circuit, None, True).reason == "challenge_mismatch"
    as_the_copier = dataclasses.replace(honest_round.expected, trainer=public_key(thief))
    assert judge(honest_round, tiny_circuit, copy, as_the_copier) == "challenge_mismatch"


def test_any_change_to_a_signed_bundle_without_the_key_is_rejected(honest_round: Any,
                                                                  tiny_circuit: Circuit) -> None:
    b = honest_round.bundle
    sig = bytearray(b.signature)
    sig[-1] ^= 1
    assert judge(honest_round, tiny_circuit, dataclasses.replace(b, signature=bytes(sig))) == \
        "bad_signature"
    proof = b.openings[0].proof.proof + b"\x00"
    o = dataclasses.replace(b.openings[0], proof=dataclasses.replace(b.openings[0].proof, proof=proof))
    unsigned = dataclasses.replace(b, openings=(o, *b.openings[1:]))
    assert judge(honest_round, tiny_circuit, unsigned) == "bad_signature"


# ---- what a verification touches ------------------------------------------------------------------

_CHILD = """
import os, sys
from pathlib import Path
from pot.bundle import load_bundle
from pot.circuit import load_circuit
from pot.verifier import verify_bundle

circuit, backend = load_circuit(Path(sys.argv[1])), sys.argv[2]
bundles = [Path(p).read_bytes() for p in sys.argv[3:]]
verify_bundle(load_bundle(bundles[0]), circuit, None, True, backend)  # lazy imports, first load
os.access("/pot-verify-starts", os.F_OK)
for raw in bundles:
    try:
        print(verify_bundle(load_bundle(raw), circuit, None, True, backend).reason)
    except Exception as e:
        print(type(e).__name__)
os.access("/pot-verify-ends", os.F_OK)
"""


def _traced_paths(log: str) -> tuple[list[str], list[str]]:
    """The paths in the file syscalls between the markers, and the process or network calls."""
    lines = log.split("/pot-verify-starts", 1)[1].split("/pot-verify-ends", 1)[0].splitlines()
    paths, other = [], []
    for line in lines:
        call = line.split(None, 1)[-1]
        if call.startswith(("execve", "connect", "socket", "bind", "sendto")):
            other.append(call)
        found = re.search(r'"([^"]*)"', call)
        if found and "ENOENT" not in call:
            paths.append(found.group(1))
    return paths, other


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
@pytest.mark.parametrize("backend", ["ezkl", "evm"])
def test_verification_touches_only_the_pinned_circuit_and_its_own_temporary_folder(
        honest_round: Any, tiny_circuit: Circuit, tmp_path: Path, backend: str) -> None:
    # A decoy circuit folder beside the pinned one, and bundles that name it or carry path text.
    decoy = tmp_path / "decoy-circuit"
    shutil.copytree(tiny_circuit.path, decoy, ignore=shutil.ignore_patterns("pk.key", "*.compiled"))
    honest = dump_bundle(honest_round.bundle)
    files = {"honest": honest,
             "decoy": dump_bundle(resigned(honest_round, circuit_id="0x" + "de" * 32)),
             "paths": honest.replace(b'"type":"pot.bundle/1"', b'"type":"../../../etc/passwd"')}
    for name, raw in files.items():
        (tmp_path / f"{name}.json").write_bytes(raw)
    log = tmp_path / "strace.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=%file,%network,%process", "-o", str(log),
         sys.executable, "-c", _CHILD, str(tiny_circuit.path), backend,
         *(str(tmp_path / f"{name}.json") for name in files)],
        env=env, capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.split() == ["ok", "wrong_circuit", "MalformedInputError"]
    paths, other = _traced_paths(log.read_text())
    assert other == []
    allowed_dirs = (str(tiny_circuit.path.resolve()), tempfile.gettempdir())
    for path in paths:
        if path in ("", "proof.json"):  # fstat of an open fd; the temp folder's own removal
            continue
        if path.startswith(("/proc/", "/sys/")):  # kernel state the allocator reads (overcommit)
            continue
        resolved = str(Path(path).resolve())
        assert resolved.startswith(allowed_dirs), f"verification touched {path}"
        assert not resolved.startswith(str(decoy)), f"verification touched the decoy {path}"
    # ezkl rereads the vk for every proof; the EVM backend registered the VKA once, in the warm-up
    assert any(p.endswith("vk.key") for p in paths) == (backend == "ezkl")


@pytest.mark.parametrize("text", ["../../../etc/passwd", "/etc/passwd", "file:///etc/passwd",
                                  "~/.ssh/id_rsa", "\\\\server\\share"])
def test_path_text_in_any_field_is_malformed_input(honest_round: Any, text: str) -> None:
    raw = dump_bundle(honest_round.bundle).decode()
    for field in ("circuit_id", "root", "trainer"):
        value = getattr(honest_round.bundle, field)
        old = value if isinstance(value, str) else "0x" + value.hex()
        with pytest.raises(MalformedInputError):
            load_bundle(raw.replace(f'"{field}":"{old}"', f'"{field}":"{text}"').encode())
    proof = dump_bundle(honest_round.bundle).decode()
    with pytest.raises(MalformedInputError):
        load_step_proof_bytes(proof.replace('"pot.step-proof/2"', f'"{text}"', 1).encode())


# ---- pot verify on bundle files -------------------------------------------------------------------


def pot_verify(circuit: Circuit, *paths: Path) -> Any:
    return CliRunner().invoke(main, ["verify", *map(str, paths), "--circuit", str(circuit.path),
                                     "--allow-dev-srs", "--json"])


def test_pot_verify_judges_bundle_files(honest_round: Any, tiny_circuit: Circuit,
                                        tmp_path: Path) -> None:
    files = {"honest": dump_bundle(honest_round.bundle),
             "inflated": dump_bundle(resigned(honest_round, batch_size=4096)),
             "broken": dump_bundle(honest_round.bundle)[:-100]}
    for name, raw in files.items():
        (tmp_path / f"{name}.json").write_bytes(raw)
    alone = pot_verify(tiny_circuit, tmp_path / "honest.json")
    assert alone.exit_code == 0, alone.output
    result = pot_verify(tiny_circuit, *(tmp_path / f"{name}.json" for name in files))
    assert result.exit_code == 2
    assert [r["reason"] for r in json.loads(result.output)["results"]] == \
        ["ok", "wrong_batch_size", "malformed"]


def test_pot_verify_on_mutated_bundles_never_raises_and_accepts_only_the_honest_meaning(
        honest_round: Any, tiny_circuit: Circuit, tmp_path: Path) -> None:
    target = BundleTarget(tiny_circuit, honest_round)
    paths = []
    for i in range(40):
        _, (raw, _, _) = target.generate(case_rng(2, "pot verify", i))
        paths.append(tmp_path / f"case-{i}.json")
        paths[-1].write_bytes(raw)
    result = pot_verify(tiny_circuit, *paths)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1, 2)
    for path, entry in zip(paths, json.loads(result.output)["results"], strict=True):
        if entry["valid"]:
            assert load_bundle(path.read_bytes()) == honest_round.bundle
