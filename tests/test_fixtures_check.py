"""`pot fixtures check`: the committed fixtures replay, and hand-broken ones fail by name.

This module is also the pytest consumer of the committed fixtures: every case in ``fixtures/`` is
hash-checked and replayed against the library here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_fixtures_support import COMMITTED, copy_committed, load, rehash, write

from pot.cli import main
from pot.fixtures.check import check_fixtures
from pot.fixtures.core import FixtureFormat
from pot.fixtures.formats import PLAIN_FORMATS


def run(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["fixtures", *args])
    return result.exit_code, result.output.splitlines()


def plain_files() -> list[Path]:
    """The committed files of every format but the bundles (whose replay runs ezkl: see
    test_fixtures_bundles.py)."""
    return [COMMITTED / f"{name}.json" for name in PLAIN_FORMATS]


def test_every_committed_case_passes() -> None:
    report = check_fixtures(plain_files())
    total = sum(len(load(path)) for path in plain_files())
    assert (report.failures, report.broken_files) == ([], [])
    assert report.passed == total and report.exit_code == 0


def test_cli_check_of_the_committed_fixtures_prints_the_summary_and_exits_0() -> None:
    code, lines = run("check", *map(str, plain_files()))
    total = sum(len(load(path)) for path in plain_files())
    assert (code, lines) == (0, [f"{total} passed, 0 failed"])


def test_a_changed_expected_value_with_its_hash_recomputed_fails_by_name(tmp_path: Path) -> None:
    path, cases = copy_committed("challenge", tmp_path)
    cases["protocol_md_worked_example"]["expected"]["indices"][0] = "2"
    rehash(cases["protocol_md_worked_example"])
    write(path, cases)
    code, lines = run("check", str(path))
    assert code == 1
    assert lines == [
        'FAIL challenge/protocol_md_worked_example: expected.indices[0]: the fixture has "2", '
        'the library gives "3"',
        f"{len(cases) - 1} passed, 1 failed",
    ]


def test_a_changed_value_without_its_hash_fails_as_a_hash_mismatch(tmp_path: Path) -> None:
    path, cases = copy_committed("train_request", tmp_path)
    case = cases["valid_canonical_request"]
    old_hash = case["_info"]["hash"]
    case["expected"]["gas_used"] = "33457"
    write(path, cases)
    rehash(case)
    code, lines = run("check", str(path))
    assert code == 1
    assert lines[0] == (
        f"FAIL train_request/valid_canonical_request: hash mismatch: _info.hash is {old_hash}, "
        f"the content hashes to {case['_info']['hash']}"
    )
    assert lines[1:] == [f"{len(cases) - 1} passed, 1 failed"]


def test_a_changed_expected_error_fails_naming_both_errors(tmp_path: Path) -> None:
    path, cases = copy_committed("train_request", tmp_path)
    cases["offset_zero"]["expected_error"] = "CalldataLengthError"
    cases["valid_other_caller"]["expected_error"] = cases["valid_other_caller"].pop("expected")["job_id"]
    cases["nonce_gap"]["expected"] = {"job_id": "0x00", "gas_used": "0"}
    del cases["nonce_gap"]["expected_error"]
    for name in ("offset_zero", "valid_other_caller", "nonce_gap"):
        rehash(cases[name])
    write(path, cases)
    code, lines = run("check", str(path))
    assert code == 1
    assert lines[0].startswith("FAIL train_request/nonce_gap: expected an output, the library raises "
                               "NonceGapError: nonce 1 of 0x")
    assert lines[1] == (
        "FAIL train_request/offset_zero: expected error \"CalldataLengthError\", the library raises "
        "BadOffsetError: hyperparams offset is 0; the canonical encoding puts it at 160"
    )
    assert lines[2].startswith('FAIL train_request/valid_other_caller: expected error "0x')
    assert lines[2].endswith('", the library gives an output')


def test_malformed_json_fails_naming_the_file_and_exits_2(tmp_path: Path) -> None:
    good, _ = copy_committed("hyperparams", tmp_path)
    bad = tmp_path / "merkle.json"
    bad.write_text(COMMITTED.joinpath("merkle.json").read_text()[:-10])
    code, lines = run("check", str(tmp_path))
    assert code == 2
    assert lines[0].startswith(f"FAIL {bad} is not a readable JSON file: ")
    assert lines[1] == f"{len(load(good))} passed, 0 failed, 1 unreadable files"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[" * 100 + "]" * 100, " is not a readable JSON file: nested deeper than 32 levels"),
        ('{"a": NaN}', " is not a readable JSON file: NaN is not allowed"),
        ("[]", ": a fixture file is a non-empty JSON object of test names"),
        ("{}", ": a fixture file is a non-empty JSON object of test names"),
        ("\xff", " is not a readable JSON file: not UTF-8"),
    ],
)
def test_unreadable_files_are_reported_by_name(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(text.encode("latin-1"))
    code, lines = run("check", str(path))
    assert (code, lines) == (2, [f"FAIL {path}{why}", "0 passed, 0 failed, 1 unreadable files"])


def break_case(case: dict[str, Any], how: str) -> None:
    if how == "unknown_format":
        case["_info"]["format"] = "gossip"
    elif how == "newer_version":
        case["_info"]["format_version"] = 2
    elif how == "no_info":
        del case["_info"]
    elif how == "extra_key":
        case["note"] = "hand-added"
    elif how == "float":
        case["input"]["n_steps"] = 8.0
        rehash(case)
    elif how == "upper_hex":
        case["input"]["beacon"] = case["input"]["beacon"].upper().replace("0X", "0x")
        rehash(case)
    elif how == "unknown_input_key":
        case["input"]["salt"] = "1"
        rehash(case)


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("unknown_format", 'unknown format "gossip"; this pot reads aggregation, bundles, challenge, '
                           "economics, hyperparams, lifecycle, merkle, train_request"),
        ("newer_version", "_info.format_version is 2; this pot reads version 1"),
        ("no_info", "a case is an object with the keys _info, input, and expected or expected_error"),
        ("extra_key", "a case is an object with the keys _info, input, and expected or expected_error"),
        ("float", "the content has no canonical JSON: content.input.n_steps: float is not allowed "
                  "(no floats)"),
        ("upper_hex", "malformed input: input.beacon must be 0x followed by lowercase hex, two digits "
                      "a byte"),
        ("unknown_input_key", "malformed input: input has unknown keys: salt"),
    ],
)
def test_a_malformed_case_fails_by_name_and_the_others_still_run(
    tmp_path: Path, how: str, why: str
) -> None:
    path, cases = copy_committed("challenge", tmp_path)
    break_case(cases["t10_k3"], how)
    write(path, cases)
    report = check_fixtures([path])
    assert [f.line() for f in report.failures] == [f"FAIL challenge/t10_k3: {why}"]
    assert (report.passed, report.exit_code) == (len(cases) - 1, 1)


def test_a_replay_that_crashes_fails_its_case_without_a_traceback(tmp_path: Path) -> None:
    """A consumer that raises something other than a PotError is a failed case, not a crash."""

    def replay(case_input: Any, folder: Path) -> Any:
        return {"ratio": 1 // int(case_input["divisor"])}

    formats = {"probe": FixtureFormat("probe", 1, "divides", lambda folder: [], replay)}
    case = {"_info": {"description": "d", "pot_version": "0", "format": "probe", "format_version": 1,
                      "hash": ""}, "input": {"divisor": "0"}, "expected": {"ratio": 0}}
    rehash(case)
    write(tmp_path / "probe.json", {"divide_by_zero": case})
    report = check_fixtures([tmp_path], formats)
    assert [f.line() for f in report.failures] == [
        "FAIL probe/divide_by_zero: the replay crashed: ZeroDivisionError: integer division or "
        "modulo by zero"
    ]


def test_check_json_reports_each_failure(tmp_path: Path) -> None:
    path, cases = copy_committed("merkle", tmp_path)
    cases["verify_wrong_root"]["expected"]["valid"] = True
    rehash(cases["verify_wrong_root"])
    write(path, cases)
    code, lines = run("check", str(path), "--json")
    assert code == 1 and len(lines) == 1
    assert json.loads(lines[0]) == {
        "ok": False, "passed": len(cases) - 1, "failed": 1, "unreadable_files": [],
        "failures": [{"file": str(path), "format": "merkle", "name": "verify_wrong_root",
                      "reason": "expected.valid: the fixture has true, the library gives false"}],
    }


def test_check_defaults_to_fixtures_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("check") == (2, ["FAIL fixtures: no such file or folder", "0 passed, 0 failed, "
                                "1 unreadable files"])
    (tmp_path / "fixtures").mkdir()
    assert run("check") == (2, ["FAIL fixtures: no fixture files (*.json)", "0 passed, 0 failed, "
                                "1 unreadable files"])
    copy_committed("challenge", tmp_path / "fixtures")
    code, lines = run("check")
    assert (code, lines) == (0, [f"{len(load(COMMITTED / 'challenge.json'))} passed, 0 failed"])


def test_cli_fill_writes_every_format_and_reports_counts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, lines = run("fill", "--out", str(out))
    counts = {name: len(load(COMMITTED / f"{name}.json")) for name in PLAIN_FORMATS}
    assert code == 0
    assert lines == [f"{out / (name + '.json')}: {count} cases" for name, count in counts.items()]
    code, lines = run("fill", "--out", str(out), "--json")
    assert (code, [json.loads(line) for line in lines]) == (0, [{"out": str(out), "cases": counts}])
    assert run("check", str(out))[0] == 0


def test_cli_fill_into_a_file_exits_1_with_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, lines = run("fill", "--out", str(blocker / "sub"))
    assert code == 1
    assert lines[0].startswith(f"Error: cannot create {blocker / 'sub'}: ")


def test_a_fixture_folder_is_searched_flat_so_circuit_files_beside_it_are_not_cases(
    tmp_path: Path,
) -> None:
    copy_committed("challenge", tmp_path)
    (tmp_path / "bundles" / "circuit").mkdir(parents=True)
    (tmp_path / "bundles" / "circuit" / "settings.json").write_text('{"run_args": {}}')
    code, lines = run("check", str(tmp_path))
    assert (code, lines) == (0, [f"{len(load(COMMITTED / 'challenge.json'))} passed, 0 failed"])
