"""Bounded JSON reading for untrusted input (bundles, proofs, fixtures).

``json.loads`` recurses once per nesting level and can exhaust the C stack on input such as
``"[" * 100000`` (a segmentation fault, not an exception). Every untrusted document is therefore
checked for size and nesting depth by a linear scan *before* it is parsed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pot.errors import MalformedInputError

MAX_JSON_DEPTH = 32


def json_depth(text: str) -> int:
    """The maximum nesting depth of arrays and objects in ``text``, ignoring string contents.

    A linear scan that needs no parse, so it is safe on any input.
    """
    depth = best = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


def loads_limited(raw: bytes, what: str, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse untrusted JSON bytes within a size and depth limit.

    Raises
    ------
    MalformedInputError
        If ``raw`` is over ``max_bytes``, not UTF-8, nested deeper than ``max_depth``, or not
        JSON. Non-finite numbers (``NaN``, ``Infinity``) are rejected too.
    """
    if len(raw) > max_bytes:
        raise MalformedInputError(f"{what} is {len(raw)} bytes, over the {max_bytes}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedInputError(f"{what} is not a readable JSON file: not UTF-8") from e
    if json_depth(text) > max_depth:
        raise MalformedInputError(f"{what} is not a readable JSON file: nested deeper than "
                                  f"{max_depth} levels")

    def _reject_constant(name: str) -> Any:
        raise MalformedInputError(f"{what} is not a readable JSON file: {name} is not allowed")

    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, RecursionError) as e:
        raise MalformedInputError(f"{what} is not a readable JSON file: {e}") from e


def read_json_limited(path: Path, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and parse an untrusted JSON file; see :func:`loads_limited`.

    The size is checked from the file system before the file is read.

    Raises
    ------
    MalformedInputError
        If the file cannot be read, or as :func:`loads_limited`.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise MalformedInputError(f"{path} is {size} bytes, over the {max_bytes}-byte limit")
        raw = path.read_bytes()
    except OSError as e:
        raise MalformedInputError(f"{path} is not a readable JSON file: {e}") from e
    return loads_limited(raw, str(path), max_bytes, max_depth)
