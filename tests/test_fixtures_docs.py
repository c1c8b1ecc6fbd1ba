"""docs/fixtures.md against the committed fixtures: its worked examples, hash example and counts."""

from __future__ import annotations

import hashlib
import json
import re

from test_fixtures_support import COMMITTED, REPO, load

from pot.fixtures.formats import FORMATS
from pot.jsonio import canonical_json

DOC = (REPO / "docs" / "fixtures.md").read_text()
WORKED_EXAMPLE = re.compile(r"### Worked example: `(\w+)/(\w+)`\n\n(?:[^`]*\n\n)?```json\n(.*?)\n```",
                            re.DOTALL)
ELIDED_BUNDLE = re.compile(r"(0x[0-9a-f]{32})\.\.\. \(([0-9]+) bytes\)\Z")


def test_every_format_has_one_worked_example_equal_to_its_committed_case() -> None:
    examples = WORKED_EXAMPLE.findall(DOC)
    assert sorted(fmt for fmt, _, _ in examples) == sorted(FORMATS)
    for fmt, name, block in examples:
        shown, committed = json.loads(block), load(COMMITTED / f"{fmt}.json")[name]
        if fmt == "bundles":  # the bundle's bytes are shown by their start and their count
            elided = ELIDED_BUNDLE.match(shown["input"]["bundle"])
            full = committed["input"]["bundle"]
            assert elided and full.startswith(elided[1]) and len(full) // 2 - 1 == int(elided[2])
            assert f"The bundle's {int(elided[2]):,} bytes" in DOC
            shown["input"]["bundle"] = full
        assert shown == committed, f"{fmt}/{name}"


def test_the_hash_example_is_the_canonical_content_of_its_case() -> None:
    case = load(COMMITTED / "challenge.json")["k_zero"]
    canonical = canonical_json({k: v for k, v in case.items() if k != "_info"})
    assert f"the canonical content is the {len(canonical)} bytes\n\n```\n{canonical.decode()}\n```" in DOC
    digest = "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert digest == case["_info"]["hash"]
    assert f"its `_info.hash` is `{digest}`" in DOC


def test_the_table_of_formats_gives_each_format_its_case_count() -> None:
    for name in FORMATS:
        count = len(load(COMMITTED / f"{name}.json"))
        assert f"| `{name}` | `fixtures/{name}.json` |" in DOC
        assert re.search(rf"\| `{name}` \| `fixtures/{name}\.json` \| [^|]+ \| {count} \|", DOC), name
        assert f"The {count} cases" in DOC, name
