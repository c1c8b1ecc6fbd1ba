"""pot's JSON: bounded reading of untrusted input (bundles, proofs, fixtures), and the one canonical
encoding (:func:`canonical_json`) that every hash, id, signature and state root is taken over.

``json.loads`` recurses once per nesting level and can exhaust the C stack on input such as
``"[" * 100000`` (a segmentation fault, not an exception). Every untrusted document is therefore
checked for size and nesting depth by a linear scan *before* it is parsed.

While parsing, three more things are refused, each of which would otherwise give a document two
readings or an unbounded cost: an object with the same key twice (parsers disagree on which one
wins), an integer literal of more than :data:`MAX_JSON_INT_DIGITS` digits (decimal to ``int``
conversion is quadratic, and Python's own digit limit raises a bare ``ValueError`` or may be turned
off), and a number that is not finite (``NaN``, ``Infinity``, or a literal such as ``1e400`` that
overflows to infinity).
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import os
import re
import stat
from pathlib import Path
from typing import Any

from pot.errors import MalformedInputError

MAX_JSON_DEPTH = 32
MAX_JSON_INT_DIGITS = 80
"""Digits of the longest integer literal accepted; a uint256 has at most 78."""
MAX_JSON_VALUES = 1 << 20
"""Most values (numbers, strings, arrays, objects, literals) in one document. Python objects cost
50 to 70 bytes each, so without this 16 MiB of ``[[],[],...]`` parses to about 800 MiB; with it, a
document parses to at most about 100 MiB. A legal bundle has at most 64 proofs of 4096 tensor points."""
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')  # linear: only the last quote can lack its closing one
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as pot's canonical JSON: sorted keys, no spaces, ASCII.

    The one canonical encoding of pot: model spec ids, circuit ids, fixture hashes, signing bodies,
    bundle files and the chain's state root are all taken over these bytes. Characters outside
    ASCII are written as ``\\uXXXX`` escapes (``json.dumps``' ``ensure_ascii``), so the bytes do not
    depend on an encoder's choice of Unicode form.

    Parameters
    ----------
    value
        A JSON value: dicts with string keys, lists, strings, ints, bools and ``None``.

    Returns
    -------
    bytes
        ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`` as ASCII.

    Raises
    ------
    TypeError
        If ``value`` holds something JSON cannot encode (bytes, a set, an object).
    ValueError
        If it holds a container that holds itself.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _skeleton(data: bytes) -> bytes:
    """``data`` without escapes and string contents: the brackets, commas and literals."""
    data = _STRING.sub(b"", _ESCAPE.sub(b"", data))
    unterminated = data.find(b'"')
    return data if unterminated < 0 else data[:unterminated]  # the rest is inside a string


def _depth(skeleton: bytes) -> int:
    steps = skeleton.translate(_BRACKET_STEPS, _NOT_BRACKETS)  # 2 per opening, 0 per closing
    return max(0, max(map(operator.sub, itertools.accumulate(steps), itertools.count(1)),
                      default=0))


def _values(skeleton: bytes) -> int:
    """An upper bound on the number of values: one, plus one per comma and per container."""
    return 1 + skeleton.count(b",") + skeleton.count(b"[") + skeleton.count(b"{")


def json_depth(text: str | bytes) -> int:
    """The maximum nesting depth of arrays and objects in ``text``, ignoring string contents.

    Safe and linear on any input, and every step runs at C speed (no Python loop per character),
    so 16 MiB of brackets costs about a second: escapes are removed, then strings, then every
    byte but the brackets; the depth is the largest running sum of +1 per opening and -1 per
    closing bracket. A backslash outside a string is taken as an escape too: such a document is
    not JSON, and ``json.loads`` stops at that backslash, before any bracket after it.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    return _depth(_skeleton(data))


def loads_limited(raw: bytes, what: str, max_bytes: int, max_depth: int = MAX_JSON_DEPTH,
                  max_values: int = MAX_JSON_VALUES) -> Any:
    """Parse untrusted JSON bytes within a size, depth and value-count limit.

    Raises
    ------
    MalformedInputError
        If ``raw`` is over ``max_bytes``, not UTF-8, nested deeper than ``max_depth``, holds more
        than ``max_values`` values, or is not JSON; if an object repeats a key, an integer has
        more than ``MAX_JSON_INT_DIGITS`` digits, or a number is not finite (``NaN``,
        ``Infinity``, ``1e400``).
    """
    if len(raw) > max_bytes:
        raise MalformedInputError(f"{what} is {len(raw)} bytes, over the {max_bytes}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedInputError(f"{what} is not a readable JSON file: not UTF-8") from e
    skeleton = _skeleton(raw)
    if _depth(skeleton) > max_depth:
        raise MalformedInputError(f"{what} is not a readable JSON file: nested deeper than "
                                  f"{max_depth} levels")
    if _values(skeleton) > max_values:
        raise MalformedInputError(f"{what} is not a readable JSON file: more than {max_values} "
                                  "values")

    def _reject_constant(name: str) -> Any:
        raise MalformedInputError(f"{what} is not a readable JSON file: {name} is not allowed")

    def _int(literal: str) -> int:
        if len(literal.lstrip("-")) > MAX_JSON_INT_DIGITS:
            raise MalformedInputError(f"{what} is not a readable JSON file: an integer has more "
                                      f"than {MAX_JSON_INT_DIGITS} digits")
        return int(literal)

    def _float(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            raise MalformedInputError(f"{what} is not a readable JSON file: a number overflows "
                                      "to infinity")
        return value

    def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            raise MalformedInputError(f"{what} is not a readable JSON file: an object repeats a "
                                      "key")
        return obj

    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_int,
                          parse_float=_float, object_pairs_hook=_object)
    except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise MalformedInputError(f"{what} is not a readable JSON file: {e}") from e


def read_limited(path: Path, max_bytes: int) -> bytes:
    """Read an untrusted file of at most ``max_bytes`` bytes.

    The size is checked from the file system before the file is read, and at most
    ``max_bytes + 1`` bytes are read, so a file that grows or a device such as ``/dev/zero``
    cannot make the reader allocate more. The file is opened with ``O_NONBLOCK`` and a FIFO or a
    socket is refused, so a pipe nobody writes to cannot hang the reader.

    Raises
    ------
    MalformedInputError
        If the file cannot be read, is a FIFO or a socket, or is over ``max_bytes``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise MalformedInputError(f"{path} is not a readable JSON file: {e}") from e
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise MalformedInputError(f"{path} is a FIFO or socket, not a file")
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise MalformedInputError(f"{path} is {size} bytes, over the {max_bytes}-byte limit")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as e:
        raise MalformedInputError(f"{path} is not a readable JSON file: {e}") from e
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise MalformedInputError(f"{path} is over the {max_bytes}-byte limit")
    return raw


def read_json_limited(path: Path, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and parse an untrusted JSON file; see :func:`read_limited` and :func:`loads_limited`.

    Raises
    ------
    MalformedInputError
        If the file cannot be read, or as :func:`loads_limited`.
    """
    return loads_limited(read_limited(path, max_bytes), str(path), max_bytes, max_depth)
