"""Helpers shared by the fixture tests (this module holds no tests)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "fixtures"


def load(path: Path) -> dict[str, Any]:
    """Parse a fixture file."""
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def write(path: Path, cases: dict[str, Any]) -> None:
    """Write a fixture file the way the filler does."""
    path.write_text(json.dumps(cases, indent=1, sort_keys=True) + "\n")


def rehash(case: dict[str, Any]) -> None:
    """Recompute a case's ``_info.hash`` here, independently of pot: sha256 of the canonical JSON."""
    content = {k: v for k, v in case.items() if k != "_info"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    case["_info"]["hash"] = "sha256:" + hashlib.sha256(canonical).hexdigest()


def copy_committed(name: str, into: Path) -> tuple[Path, dict[str, Any]]:
    """Copy the committed ``fixtures/<name>.json`` into a folder; return its path and cases."""
    path = into / f"{name}.json"
    path.write_bytes((COMMITTED / f"{name}.json").read_bytes())
    return path, load(path)
