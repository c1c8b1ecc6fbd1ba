"""docs/security.md names a test for every attack: each named test must exist, so the threat model
and the suite cannot drift apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "security.md"
REFERENCE = re.compile(r"`(?:(test_[a-z0-9_]+\.py))?(?:::(test_[a-z0-9_]+))?`")


def referenced_tests(text: str) -> list[tuple[str, str | None]]:
    """``(file, test)`` for each backticked ``file.py::test``, ``file.py`` or ``::test`` (the last
    named file's) in reading order."""
    found: list[tuple[str, str | None]] = []
    current = None
    for match in REFERENCE.finditer(text):
        file, test = match.groups()
        if file is None and test is None:
            continue
        current = file or current
        assert current is not None, f"{match.group(0)} names no file before it"
        found.append((current, test))
    return found


def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_test_the_threat_model_names_exists() -> None:
    references = referenced_tests(DOC.read_text())
    assert len(references) > 60
    missing = []
    for file, test in references:
        path = ROOT / "tests" / file
        if not path.exists():
            missing.append(file)
        elif test is not None and test not in functions_in(path):
            missing.append(f"{file}::{test}")
    assert missing == []


def test_the_limits_table_names_the_constants_the_code_has() -> None:
    from pot.bundle import MAX_BUNDLE_BYTES, MAX_SAMPLED_STEPS
    from pot.jsonio import MAX_JSON_DEPTH, MAX_JSON_INT_DIGITS, MAX_JSON_VALUES
    from pot.verifier import MAX_STEP_PROOF_FILE_BYTES

    text = DOC.read_text()
    assert f"{MAX_BUNDLE_BYTES >> 20} MiB (`MAX_BUNDLE_BYTES`" in text
    assert f"{MAX_STEP_PROOF_FILE_BYTES >> 20} MiB (`MAX_STEP_PROOF_FILE_BYTES`)" in text
    assert f"| JSON depth | {MAX_JSON_DEPTH} (`MAX_JSON_DEPTH`)" in text
    assert f"{MAX_JSON_INT_DIGITS} digits (`MAX_JSON_INT_DIGITS`)" in text
    assert MAX_JSON_VALUES == 1 << 20 and "2²⁰ per document (`MAX_JSON_VALUES`)" in text
    assert f"1 ≤ k ≤ {MAX_SAMPLED_STEPS} (`MAX_SAMPLED_STEPS`)" in text
