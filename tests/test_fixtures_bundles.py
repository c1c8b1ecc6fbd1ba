"""The committed proof-bundle fixtures and their circuit: in sync, small, complete, and replayed.

Bundle fixtures are filled by ``pot fixtures fill --bundles`` (real ezkl proofs: minutes, and never
byte-identical twice), so CI does not re-fill them. Instead the fast tests here pin what keeps them
in sync: every case's hash and format version, the committed circuit's files against its manifest
and against each case, the circuit against today's spec and ezkl, git tracking the circuit files,
and one case per reason code the verifier has. The ezkl-marked test replays every case: it verifies
each committed bundle against the committed circuit and compares the reason code.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_fixtures_support import COMMITTED, REPO, load, rehash, write

import pot.verifier
from pot.bundle import load_bundle
from pot.circuit import EZKL_VERSION, lookup_range
from pot.cli import main
from pot.fixtures.bundles import CIRCUIT_FILES, CIRCUIT_SUBFOLDER, FORMAT_VERSION, SPEC_NAME
from pot.fixtures.check import check_fixtures
from pot.fixtures.formats import FORMATS
from pot.spec import load_spec

BUNDLES = COMMITTED / "bundles.json"
CIRCUIT = COMMITTED / CIRCUIT_SUBFOLDER
CASES = load(BUNDLES)
MANIFEST = json.loads((CIRCUIT / "manifest.json").read_text())
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_REAL_PROOFS = 3


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bundle_of(case: dict[str, Any]) -> bytes:
    return bytes.fromhex(case["input"]["bundle"][2:])


def test_the_format_is_filled_separately_and_replayed_by_every_check() -> None:
    assert FORMATS["bundles"].separate
    assert not any(fmt.separate for name, fmt in FORMATS.items() if name != "bundles")


def test_every_case_has_its_format_version_and_the_sha256_of_its_content() -> None:
    for name, case in CASES.items():
        info = case["_info"]
        assert (info["format"], info["format_version"]) == ("bundles", FORMAT_VERSION), name
        content = {k: v for k, v in case.items() if k != "_info"}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
        assert info["hash"] == "sha256:" + hashlib.sha256(canonical).hexdigest(), name


def test_the_committed_circuit_is_its_manifest_and_every_case_names_it() -> None:
    assert sorted(p.name for p in CIRCUIT.iterdir()) == sorted(CIRCUIT_FILES)
    files = {name: sha256(CIRCUIT / name) for name in CIRCUIT_FILES if name != "manifest.json"}
    assert MANIFEST["files"] == files
    body = {k: v for k, v in MANIFEST.items() if k != "circuit_id"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert MANIFEST["circuit_id"] == "0x" + digest
    wanted = {"circuit_id": MANIFEST["circuit_id"], "files": {k: "0x" + v for k, v in files.items()}}
    for name, case in CASES.items():
        assert case["input"]["circuit"] == wanted, name


def test_the_committed_circuit_is_todays_tiny_spec_under_todays_ezkl() -> None:
    spec = load_spec(SPEC_NAME)
    assert MANIFEST["spec"] == spec.to_json()
    assert MANIFEST["ezkl_version"] == EZKL_VERSION
    assert MANIFEST["lookup_range"] == list(lookup_range(spec))
    assert (MANIFEST["scale"], MANIFEST["logrows"]) == (spec.scale, 15)
    assert MANIFEST["srs"] == {"kind": "development", "insecure": True, "logrows": 15}
    assert not (CIRCUIT / "pk.key").exists() and not (CIRCUIT / "model.compiled").exists()


def test_git_tracks_the_circuit_files_despite_the_key_and_srs_rules() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    for name in CIRCUIT_FILES:
        path = (CIRCUIT / name).relative_to(REPO)
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO, check=False)
        assert ignored.returncode == 1, f"{path} is ignored by .gitignore"
    pk = (CIRCUIT / "pk.key").relative_to(REPO)
    assert subprocess.run(["git", "check-ignore", "-q", str(pk)], cwd=REPO, check=False).returncode == 0


def verdict_codes() -> set[str]:
    """The reason codes of the verifier's table (its module docstring), and ``malformed``."""
    doc = pot.verifier.__doc__ or ""
    return set(re.findall(r"^``(\w+)``", doc, re.MULTILINE)) | {"malformed"}


def test_every_reason_code_of_the_verifier_has_a_case() -> None:
    reasons = {c["expected"]["reason"] for c in CASES.values() if "expected" in c}
    assert len(verdict_codes()) == 25
    assert reasons == verdict_codes() | {"ok"}
    assert {c["expected"]["valid"] for c in CASES.values() if c.get("expected", {}).get("reason") == "ok"} \
        == {True}
    assert {c["expected_error"] for c in CASES.values() if "expected_error" in c} == {"MalformedInputError"}


def test_the_file_is_small_and_holds_at_most_three_real_proofs() -> None:
    assert BUNDLES.stat().st_size < MAX_FILE_BYTES
    proofs = set()
    for name, case in CASES.items():
        if "expected" in case and case["expected"]["reason"] not in ("proof_invalid",):
            proofs |= {o.proof.proof for o in load_bundle(bundle_of(case)).openings}
        assert len(bundle_of(case)) < 100_000, name
    assert 1 < len(proofs) <= MAX_REAL_PROOFS


def test_valid_bundles_are_signed_by_the_trainer_the_chain_expects() -> None:
    for name in ("valid_k2", "valid_k1_prefix"):
        case = CASES[name]
        bundle = load_bundle(bundle_of(case))
        context = case["input"]["context"]
        assert "0x" + bundle.trainer.hex() == context["trainer"], name
        assert len(bundle.indices) == int(context["min_samples"]), name
    assert len(load_bundle(bundle_of(CASES["valid_k2"])).openings) == 2


def test_a_case_filled_for_another_circuit_fails_as_a_malformed_fixture(tmp_path: Path) -> None:
    shutil.copytree(CIRCUIT, tmp_path / CIRCUIT_SUBFOLDER)
    cases = {"wrong_job": CASES["wrong_job"]}
    cases["wrong_job"]["input"]["circuit"]["files"]["vk.key"] = "0x" + "00" * 32
    rehash(cases["wrong_job"])
    write(tmp_path / "bundles.json", cases)
    (failure,) = check_fixtures([tmp_path / "bundles.json"]).failures
    assert failure.reason == (
        f"malformed input: {tmp_path / CIRCUIT_SUBFOLDER} holds circuit {MANIFEST['circuit_id']}; the "
        f"case was filled for {MANIFEST['circuit_id']} (re-fill with `pot fixtures fill --bundles`)"
    )


def test_a_bundle_fixture_without_its_circuit_fails_as_a_malformed_fixture(tmp_path: Path) -> None:
    write(tmp_path / "bundles.json", {"wrong_round": CASES["wrong_round"]})
    (failure,) = check_fixtures([tmp_path / "bundles.json"]).failures
    assert failure.reason.startswith("malformed input: the circuit beside the fixture file cannot be "
                                     f"loaded: {tmp_path / CIRCUIT_SUBFOLDER} is not a circuit folder")


def test_a_changed_circuit_file_fails_its_manifest_check(tmp_path: Path) -> None:
    shutil.copytree(CIRCUIT, tmp_path / CIRCUIT_SUBFOLDER)
    settings = tmp_path / CIRCUIT_SUBFOLDER / "settings.json"
    settings.write_text(settings.read_text().replace('"logrows":15', '"logrows":16'))
    write(tmp_path / "bundles.json", {"wrong_round": CASES["wrong_round"]})
    (failure,) = check_fixtures([tmp_path / "bundles.json"]).failures
    assert failure.reason.endswith("settings.json does not match its manifest hash")


def test_a_changed_reason_with_its_hash_recomputed_fails_by_name(tmp_path: Path) -> None:
    shutil.copytree(CIRCUIT, tmp_path / CIRCUIT_SUBFOLDER)
    cases = {"wrong_steps": CASES["wrong_steps"], "wrong_beacon": CASES["wrong_beacon"]}
    cases["wrong_steps"]["expected"]["reason"] = "wrong_root"
    rehash(cases["wrong_steps"])
    write(tmp_path / "bundles.json", cases)
    report = check_fixtures([tmp_path])
    assert [f.line() for f in report.failures] == [
        'FAIL bundles/wrong_steps: expected.reason: the fixture has "wrong_root", the library gives '
        '"wrong_steps"'
    ]
    assert report.passed == 1


@pytest.mark.ezkl
def test_pot_fixtures_check_replays_every_committed_case_including_the_bundles() -> None:
    """Every bundle verified against the committed circuit, with its reason; and every other file."""
    result = CliRunner().invoke(main, ["fixtures", "check", str(COMMITTED)])
    total = sum(len(load(COMMITTED / f"{name}.json")) for name in FORMATS)
    assert (result.exit_code, result.output) == (0, f"{total} passed, 0 failed\n")
