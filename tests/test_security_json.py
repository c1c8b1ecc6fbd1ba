"""Untrusted JSON (bundles, step proofs, fixture files): one reading per document, bounded cost.

``pot.jsonio`` is the one door every untrusted JSON document goes through. Each test here feeds it
a document that the standard library would read in a surprising way (two values for one key, an
integer too long to convert, a number that overflows to infinity, nesting that blows the C stack)
or a file that never ends, and asserts a :class:`MalformedInputError` with its rule.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pot.bundle import load_bundle
from pot.errors import MalformedInputError
from pot.jsonio import (
    MAX_JSON_DEPTH,
    MAX_JSON_INT_DIGITS,
    MAX_JSON_VALUES,
    json_depth,
    loads_limited,
    read_json_limited,
)
from pot.verifier import load_step_proof_bytes


def reference_depth(text: str) -> tuple[int, int]:
    """The depth scan one character at a time, the readable twin of :func:`json_depth`.

    Returns the depth and where it stopped: at the first backslash outside a string (invalid
    JSON: ``json.loads`` stops there too), or at the end.
    """
    depth = best = 0
    in_string = escaped = False
    for position, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == "\\":
            return best, position
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best, len(text)


@given(st.text(alphabet='[]{}"ax,:0', max_size=300))
@settings(deadline=None)
def test_depth_scan_equals_the_character_by_character_reference(text: str) -> None:
    assert json_depth(text) == reference_depth(text)[0]


@given(st.text(alphabet='[]{}"\\ax,:0', max_size=300))
@settings(deadline=None)
def test_depth_scan_never_undercounts_what_the_parser_can_reach(text: str) -> None:
    # After a backslash outside a string the parser stops; before it, the scans agree.
    best, stop = reference_depth(text)
    assert json_depth(text[:stop]) == best
    assert json_depth(text) >= best


@given(st.recursive(st.none() | st.integers() | st.text(alphabet='[]{}"\\ab'),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c,
                                                                        max_size=3)))
@settings(deadline=None)
def test_depth_scan_counts_the_nesting_of_real_documents(value: object) -> None:
    text = json.dumps(value)
    assert json_depth(text) == reference_depth(text)[0]
    assert json_depth(text.encode()) == json_depth(text)


def test_sixteen_mebibytes_of_brackets_are_scanned_without_a_python_loop() -> None:
    # The character-by-character scan took about 30 s here: a cheap way to stall a validator.
    text = b"[]" * (8 << 20)
    started = time.perf_counter()
    assert json_depth(text) == 1
    assert time.perf_counter() - started < 10


def test_a_repeated_key_is_refused_not_resolved() -> None:
    # json.loads keeps the last value; other parsers keep the first: two readings of one file.
    with pytest.raises(MalformedInputError, match="repeats a key"):
        loads_limited(b'{"round": 1, "round": 2}', "bundle", 1000)
    with pytest.raises(MalformedInputError, match="repeats a key"):
        loads_limited(b'[{"a": {"b": 1, "b": 1}}]', "bundle", 1000)
    assert loads_limited(b'{"a": {"b": 1}, "b": {"b": 2}}', "x", 1000) == {"a": {"b": 1}, "b": {"b": 2}}


@pytest.mark.parametrize("digits", [MAX_JSON_INT_DIGITS + 1, 4301, 100_000])
def test_an_over_long_integer_is_malformed_input_not_a_value_error(digits: int) -> None:
    # Python's own limit (4300 digits) raises a bare ValueError, which was a traceback.
    for text in ("1" * digits, "[" + "9" * digits + "]", '{"round": -' + "1" * digits + "}"):
        with pytest.raises(MalformedInputError, match=f"more than {MAX_JSON_INT_DIGITS} digits"):
            loads_limited(text.encode(), "bundle", 1 << 20)


def test_the_longest_integer_accepted_holds_any_uint256() -> None:
    assert loads_limited(str(2**256 - 1).encode(), "x", 1000) == 2**256 - 1
    assert loads_limited(b"-" + b"9" * MAX_JSON_INT_DIGITS, "x", 1000) == -int("9" * MAX_JSON_INT_DIGITS)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "[1E309]"])
def test_non_finite_numbers_are_refused_however_they_are_spelled(token: str) -> None:
    with pytest.raises(MalformedInputError):
        loads_limited(token.encode(), "bundle", 1000)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000, 5_000_000])
def test_deep_nesting_is_refused_before_the_parser_recurses(depth: int) -> None:
    text = ("[" * depth + "]" * depth).encode()
    with pytest.raises(MalformedInputError, match=f"deeper than {MAX_JSON_DEPTH}"):
        loads_limited(text, "bundle", len(text))
    assert loads_limited(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, "x", 1000) is not None


def test_a_document_of_more_values_than_the_cap_is_refused_before_parsing() -> None:
    # 16 MiB of [[],[],...] parsed to about 800 MiB of Python lists; the cap keeps any
    # document near 100 MiB. Commas inside strings are not values.
    over = b"[" + b",".join([b"0"] * MAX_JSON_VALUES) + b"]"
    with pytest.raises(MalformedInputError, match=f"more than {MAX_JSON_VALUES} values"):
        loads_limited(over, "bundle", len(over))
    at_cap = b"[" + b",".join([b"0"] * (MAX_JSON_VALUES - 1)) + b"]"
    assert len(loads_limited(at_cap, "bundle", len(at_cap))) == MAX_JSON_VALUES - 1
    commas = json.dumps(["," * 100_000, "[{" * 100_000]).encode()
    assert loads_limited(commas, "x", len(commas), max_values=3) == ["," * 100_000, "[{" * 100_000]


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"a": "[" * 1000 + '\\"' + "{" * 1000}).encode()
    assert loads_limited(text, "x", len(text)) == {"a": "[" * 1000 + '\\"' + "{" * 1000}


@pytest.mark.parametrize("raw", [b"\xff\xfe{}", b'"\xed\xa0\x80"', b"{}\x00"])
def test_bytes_that_are_not_utf8_json_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedInputError):
        loads_limited(raw, "bundle", 1000)


def test_a_device_that_never_ends_is_read_only_up_to_the_limit() -> None:
    # /dev/zero reports size 0, so a stat check alone would read it forever.
    with pytest.raises(MalformedInputError, match="over the 4096-byte limit"):
        read_json_limited(Path("/dev/zero"), 4096)


def test_a_file_over_the_limit_is_refused_from_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 4097)
    with pytest.raises(MalformedInputError, match="4097 bytes, over the 4096-byte limit"):
        read_json_limited(path, 4096)


def test_an_unreadable_file_is_malformed_input(tmp_path: Path) -> None:
    with pytest.raises(MalformedInputError, match="not a readable JSON file"):
        read_json_limited(tmp_path / "missing.json", 4096)
    if os.geteuid() != 0:  # root reads anything
        path = tmp_path / "locked.json"
        path.write_text("{}")
        path.chmod(0)
        with pytest.raises(MalformedInputError, match="not a readable JSON file"):
            read_json_limited(path, 4096)


@pytest.mark.parametrize("reader", [load_bundle, load_step_proof_bytes])
def test_bundle_and_step_proof_readers_use_the_guarded_parser(reader: object) -> None:
    for raw, rule in ((b'{"format": 1, "format": 2}', "repeats a key"),
                      (b"[" + b"1" * 5000 + b"]", "digits"),
                      (b"[" * 40 + b"]" * 40, "deeper"),
                      (b'{"x": NaN}', "NaN")):
        with pytest.raises(MalformedInputError, match=rule):
            reader(raw)  # type: ignore[operator]
