"""Strict JSON reading and canonical JSON writing for ledger state and events.

Amounts and counts are JSON integers (exact at any size in Python; clients in other languages
must read them as big integers), ids are ``0x``-prefixed lowercase hex of a fixed length, and
canonical text has sorted keys and no spaces. Every reading error is a
:class:`pot.errors.MalformedInputError` naming the offending field.
"""

import json
from collections.abc import Callable, Collection
from enum import StrEnum
from typing import Any, NoReturn, TypeVar

from pot.economics.amounts import check_uint
from pot.economics.constants import UINT64_MAX, UINT256_MAX_WEI
from pot.errors import MalformedInputError

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


def canonical_json(obj: Any) -> str:
    """Return ``obj`` as canonical JSON text: sorted keys, no spaces, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _refuse_non_integer(text: str) -> NoReturn:
    """Refuse a JSON float or non-finite constant (amounts are integers)."""
    raise MalformedInputError(f"numbers must be integers, got {text}")


def parse_json(text: str, what: str) -> Any:
    """Parse JSON text, refusing floats, NaN and infinities.

    Raises
    ------
    MalformedInputError
        ``text`` is not JSON or holds a non-integer number.
    """
    try:
        return json.loads(text, parse_float=_refuse_non_integer, parse_constant=_refuse_non_integer)
    except json.JSONDecodeError as e:
        raise MalformedInputError(f"{what} is not valid JSON: {e}") from e


def hex_of(value: bytes) -> str:
    """Return ``value`` as ``0x``-prefixed lowercase hex."""
    return "0x" + value.hex()


def read_object(value: Any, keys: Collection[str], what: str) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object with exactly the given keys.

    Raises
    ------
    MalformedInputError
        ``value`` is not an object, or a key is missing or unknown.
    """
    if not isinstance(value, dict):
        raise MalformedInputError(f"{what} must be a JSON object")
    missing = sorted(set(keys) - value.keys())
    unknown = sorted(value.keys() - set(keys))
    if missing:
        raise MalformedInputError(f"{what} lacks {', '.join(missing)}")
    if unknown:
        raise MalformedInputError(f"{what} has unknown field {', '.join(unknown)}")
    return value


def read_list(value: Any, what: str) -> list[Any]:
    """Return ``value`` if it is a JSON array.

    Raises
    ------
    MalformedInputError
        ``value`` is not an array.
    """
    if not isinstance(value, list):
        raise MalformedInputError(f"{what} must be a JSON array")
    return value


def read_id(value: Any, n_bytes: int, what: str) -> bytes:
    """Return the bytes of a ``0x``-prefixed lowercase hex id of exactly ``n_bytes`` bytes.

    Raises
    ------
    MalformedInputError
        ``value`` is not such a string.
    """
    if not isinstance(value, str) or not value.startswith("0x"):
        raise MalformedInputError(f"{what} must be a 0x-prefixed hex string")
    digits = value[2:]
    if len(digits) != 2 * n_bytes or digits != digits.lower():
        raise MalformedInputError(f"{what} must be {n_bytes} bytes of lowercase hex")
    try:
        return bytes.fromhex(digits)
    except ValueError as e:
        raise MalformedInputError(f"{what} is not hex: {value}") from e


def read_id_map(
    value: Any, n_bytes: int, read_value: Callable[[Any, str], T], what: str
) -> dict[bytes, T]:
    """Read a JSON object whose keys are hex ids of ``n_bytes`` bytes.

    Parameters
    ----------
    value
        The parsed JSON value.
    n_bytes
        Length of every key (bytes).
    read_value
        Reader of one value, called with the value and its name for messages.
    what
        What the object is, for the error message.

    Returns
    -------
    dict[bytes, T]
        The map, keyed by id bytes.

    Raises
    ------
    MalformedInputError
        ``value`` is not an object, a key is not such an id, or a value fails ``read_value``.
    """
    if not isinstance(value, dict):
        raise MalformedInputError(f"{what} must be a JSON object")
    return {
        read_id(k, n_bytes, f"{what} key"): read_value(v, f"{what}[{k}]") for k, v in value.items()
    }


def read_uint(value: Any, maximum: int, what: str) -> int:
    """Return ``value`` if it is a JSON integer in ``[0, maximum]``.

    Raises
    ------
    MalformedInputError
        ``value`` is not an integer (bools are refused) or lies outside the range.
    """
    return check_uint(value, maximum, what, MalformedInputError)


def read_wei(value: Any, what: str) -> int:
    """Return ``value`` if it is a JSON integer amount in ``[0, UINT256_MAX_WEI]`` (wei)."""
    return read_uint(value, UINT256_MAX_WEI, what)


def read_u64(value: Any, what: str) -> int:
    """Return ``value`` if it is a JSON integer count in ``[0, UINT64_MAX]``."""
    return read_uint(value, UINT64_MAX, what)


def read_bool(value: Any, what: str) -> bool:
    """Return ``value`` if it is a JSON boolean.

    Raises
    ------
    MalformedInputError
        ``value`` is not ``true`` or ``false``.
    """
    if not isinstance(value, bool):
        raise MalformedInputError(f"{what} must be true or false")
    return value


def read_enum(value: Any, enum: type[E], what: str) -> E:
    """Return the member of ``enum`` whose value is the string ``value``.

    Raises
    ------
    MalformedInputError
        ``value`` is not one of the enum's values.
    """
    allowed = [member.value for member in enum]
    if value not in allowed:
        raise MalformedInputError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    return enum(value)
