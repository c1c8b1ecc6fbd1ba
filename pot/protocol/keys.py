"""BLS12-381 keys and signatures of trainers and validators, and the signing message rule.

pot signs with the Ethereum consensus ciphersuite, ``BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_``
(``py_ecc.bls.G2ProofOfPossession``): 48-byte public keys in G1, 96-byte signatures in G2. Public
keys, signing and verification run on :func:`pot.protocol.bls.active_backend` (milagro when
installed, else py_ecc; both give the same bytes and verdicts); key generation and ``KeyValidate``
run on py_ecc. A structured message is signed as :func:`signing_digest` of its body, the keccak256
of the body's canonical JSON.

A secret key file holds the key as text, exactly ``0x`` + 64 lowercase hex digits (the 32-byte
big-endian scalar) + ``\\n``: 67 bytes. It is created with mode 0600 and never overwritten, and a
file that grants any permission to its group or to others is refused. The secret is held in a
:class:`SecretKey`, whose ``repr`` and ``str`` never show it, and no message of this module
contains it.

Source: docs/protocol.md, section "Keys and signatures".
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_typing import BLSPubkey
from py_ecc.bls import G2ProofOfPossession as _Ciphersuite
from py_ecc.optimized_bls12_381 import curve_order as _bls12_381_curve_order

from pot.jsonio import canonical_json
from pot.protocol.bls import active_backend
from pot.protocol.domains import keccak256
from pot.protocol.encoding import (
    BLS_PUBLIC_KEY_BYTES,
    BLS_SIGNATURE_BYTES,
    HEX_PREFIX,
    require_length,
)
from pot.protocol.errors import (
    EncodingError,
    InsecureKeyFileError,
    InvalidKeyError,
    KeyFileError,
    MalformedKeyFileError,
)

BLS12_381_SCALAR_ORDER: int = int(_bls12_381_curve_order)
"""r of BLS12-381: a secret key is a scalar in ``[1, r)``."""
SECRET_KEY_BYTES = 32
"""Width of a secret key scalar, big-endian."""
IKM_MIN_BYTES = 32
"""Least input keying material for KeyGen (IETF draft-irtf-cfrg-bls-signature, section 2.3)."""
SECRET_KEY_FILE_MODE = 0o600
"""Permissions of a secret key file: read and write by its owner only."""
SECRET_KEY_FILE_FORBIDDEN_BITS = 0o077
"""Permission bits that make a secret key file insecure: any access by group or others."""
SECRET_KEY_FILE_BYTES = len(HEX_PREFIX) + 2 * SECRET_KEY_BYTES + 1
"""Length of a secret key file: ``0x``, 64 hex digits, a newline (67)."""
JSON_SAFE_INTEGER_MAX = 2**53 - 1
"""Largest integer magnitude a signing body may hold; larger values go in decimal strings."""
PRINTABLE_ASCII_FIRST = " "
"""First character a signing body's strings and keys may hold (0x20)."""
PRINTABLE_ASCII_LAST = "~"
"""Last character a signing body's strings and keys may hold (0x7e)."""
SIGNATURE_CIPHERSUITE = _Ciphersuite.DST.decode("ascii")
"""The ciphersuite id, also the hash-to-curve domain separation tag of signatures."""

if BLS12_381_SCALAR_ORDER.bit_length() != 255 or SECRET_KEY_FILE_BYTES != 67:
    raise AssertionError("BLS12-381 constants must match docs/protocol.md")
if SIGNATURE_CIPHERSUITE != "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_":
    raise AssertionError("py_ecc's ciphersuite must be the Ethereum consensus one")


@dataclass(frozen=True, repr=False)
class SecretKey:
    """A BLS12-381 secret key: a scalar in ``[1, r)``. Its ``repr`` and ``str`` hide the value."""

    scalar: int

    def __post_init__(self) -> None:
        check_secret_scalar(self.scalar)

    def __repr__(self) -> str:
        return "SecretKey(<redacted>)"

    __str__ = __repr__


def check_secret_scalar(scalar: int) -> int:
    """Return ``scalar`` if it is a valid secret key scalar, else raise.

    Raises
    ------
    InvalidKeyError
        If ``scalar`` is not an ``int`` in ``[1, r)`` (r the BLS12-381 group order).
    """
    if isinstance(scalar, bool) or not isinstance(scalar, int):
        raise InvalidKeyError("a secret key must be an int scalar")
    if not 0 < scalar < BLS12_381_SCALAR_ORDER:
        raise InvalidKeyError("a secret key must satisfy 1 <= sk < r (the BLS12-381 group order)")
    return scalar


def derive_secret_key(ikm: bytes) -> SecretKey:
    """Derive a secret key from input keying material with the ciphersuite's KeyGen (HKDF).

    Parameters
    ----------
    ikm
        At least 32 bytes of secret, uniformly random input keying material.

    Raises
    ------
    InvalidKeyError
        If ``ikm`` is not ``bytes`` of at least 32 bytes.
    """
    if not isinstance(ikm, bytes) or len(ikm) < IKM_MIN_BYTES:
        raise InvalidKeyError(f"KeyGen needs at least {IKM_MIN_BYTES} bytes of keying material")
    return SecretKey(_Ciphersuite.KeyGen(ikm))


def generate_secret_key() -> SecretKey:
    """Return a fresh secret key derived from 32 bytes of ``os.urandom``."""
    return derive_secret_key(os.urandom(IKM_MIN_BYTES))


def public_key(sk: SecretKey) -> bytes:
    """Return the 48-byte compressed G1 public key of ``sk``."""
    return active_backend().sk_to_pk(sk.scalar)


def validate_public_key(pk: bytes) -> bytes:
    """Return ``pk`` if it is a usable public key, else raise.

    Raises
    ------
    EncodingError
        If ``pk`` is not 48 bytes.
    InvalidKeyError
        If ``pk`` does not decompress to a point of the prime-order subgroup of G1, or is the
        point at infinity (KeyValidate).
    """
    require_length(pk, BLS_PUBLIC_KEY_BYTES, "public key")
    if not _Ciphersuite.KeyValidate(BLSPubkey(pk)):
        raise InvalidKeyError("public key is not a valid BLS12-381 G1 subgroup point")
    return pk


def sign(sk: SecretKey, message: bytes) -> bytes:
    """Return the 96-byte signature of ``message`` under ``sk``.

    Raises
    ------
    EncodingError
        If ``message`` is not ``bytes``.
    """
    if not isinstance(message, bytes):
        raise EncodingError(f"a message must be bytes, got {type(message).__name__}")
    return active_backend().sign(sk.scalar, message)


def verify(pk: bytes, message: bytes, signature: bytes) -> bool:
    """Return whether ``signature`` is a valid signature of ``message`` under ``pk``.

    Parameters
    ----------
    pk
        48 bytes; any bytes that are not a valid subgroup point make the result False.
    message
        The signed bytes.
    signature
        96 bytes; any bytes that are not a valid subgroup point make the result False.

    Raises
    ------
    EncodingError
        If ``pk`` is not 48 bytes, ``signature`` not 96 bytes, or ``message`` not ``bytes``: the
        input has the wrong shape, as opposed to being a wrong signature.
    """
    require_length(pk, BLS_PUBLIC_KEY_BYTES, "public key")
    require_length(signature, BLS_SIGNATURE_BYTES, "signature")
    if not isinstance(message, bytes):
        raise EncodingError(f"a message must be bytes, got {type(message).__name__}")
    return active_backend().verify(pk, message, signature)


_PRINTABLE_ASCII = re.compile(f"[{re.escape(PRINTABLE_ASCII_FIRST)}-{re.escape(PRINTABLE_ASCII_LAST)}]*")


def _is_printable_ascii(text: str) -> bool:
    # One regex match, not a Python loop per character: a digits bundle signs 400k characters.
    return _PRINTABLE_ASCII.fullmatch(text) is not None


def _check_json_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and not _is_printable_ascii(value):
            raise EncodingError(f"signing body {where} must be a printable ASCII string")
        return
    if isinstance(value, int):
        if abs(value) > JSON_SAFE_INTEGER_MAX:
            raise EncodingError(
                f"signing body {where} must be an integer of magnitude at most 2**53 - 1; "
                "write larger values as strings"
            )
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_value(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError(f"signing body {where} has a key that is not a string")
            if not _is_printable_ascii(key):
                raise EncodingError(f"signing body {where} has a key that is not printable ASCII")
            _check_json_value(item, f"{where}.{key}")
        return
    raise EncodingError(
        f"signing body {where} must be null, a bool, an int, a str, a list or an object, "
        f"got {type(value).__name__}"
    )


def signing_json(body: Mapping[str, Any]) -> bytes:
    """Return the canonical JSON of a signing body, as ASCII bytes.

    Keys are sorted by code point, no whitespace (separators ``,`` and ``:``). Only objects with
    string keys, lists, strings, integers of magnitude at most 2**53 - 1, booleans and null are
    allowed, and every key and string is printable ASCII (0x20 to 0x7e), so the only escapes are
    ``\\"`` and ``\\\\``. The output is then also the RFC 8785 (JCS) form of the body, and standard
    JSON writers reproduce it (Go's with HTML escaping turned off).

    Raises
    ------
    EncodingError
        If ``body`` is not an object or holds a float, a tuple, bytes, a non-string key, a key or
        string with a character outside printable ASCII, or an integer out of range.
    """
    if not isinstance(body, dict):
        raise EncodingError(f"a signing body must be a JSON object, got {type(body).__name__}")
    _check_json_value(body, "$")
    return canonical_json(body)


def signing_digest(body: Mapping[str, Any]) -> bytes:
    """Return the 32-byte message to sign for ``body``: ``keccak256(signing_json(body))``.

    Raises
    ------
    EncodingError
        As :func:`signing_json`.
    """
    return keccak256(signing_json(body))


def sign_body(sk: SecretKey, body: Mapping[str, Any]) -> bytes:
    """Return the signature of :func:`signing_digest` of ``body`` under ``sk``."""
    return sign(sk, signing_digest(body))


def verify_body(pk: bytes, body: Mapping[str, Any], signature: bytes) -> bool:
    """Return whether ``signature`` signs :func:`signing_digest` of ``body`` under ``pk``.

    Raises
    ------
    EncodingError
        As :func:`signing_json` and :func:`verify`.
    """
    return verify(pk, signing_digest(body), signature)


def encode_secret_key_file(sk: SecretKey) -> bytes:
    """Return the contents of a secret key file: ``0x`` + 64 lowercase hex digits + ``\\n``."""
    return (HEX_PREFIX + sk.scalar.to_bytes(SECRET_KEY_BYTES, "big").hex() + "\n").encode("ascii")


def decode_secret_key_file(data: bytes) -> SecretKey:
    """Parse the contents of a secret key file, strictly; messages never include the contents.

    Raises
    ------
    MalformedKeyFileError
        If ``data`` is not exactly ``0x`` + 64 lowercase hex digits + ``\\n``, or the scalar is not
        in ``[1, r)``.
    """
    expected = f"{HEX_PREFIX} followed by {2 * SECRET_KEY_BYTES} lowercase hex digits and a newline"
    if len(data) != SECRET_KEY_FILE_BYTES or not data.endswith(b"\n"):
        raise MalformedKeyFileError(f"a secret key file must hold exactly {expected}")
    digits = data[len(HEX_PREFIX) : -1]
    if not data.startswith(HEX_PREFIX.encode("ascii")) or any(
        byte not in b"0123456789abcdef" for byte in digits
    ):
        raise MalformedKeyFileError(f"a secret key file must hold exactly {expected}")
    scalar = int(digits, 16)
    if not 0 < scalar < BLS12_381_SCALAR_ORDER:
        raise MalformedKeyFileError(
            "a secret key file must hold a scalar 1 <= sk < r (BLS12-381 order)"
        )
    return SecretKey(scalar)


def save_secret_key(path: str | os.PathLike[str], sk: SecretKey) -> None:
    """Write ``sk`` to a new file at ``path`` with mode 0600.

    The file is created with ``O_CREAT | O_EXCL`` (an existing file or a dangling symlink at
    ``path`` is never followed or overwritten) and its mode set to exactly 0600 regardless of
    the umask, before any secret byte is written.

    Raises
    ------
    KeyFileError
        If ``path`` exists or the file cannot be created or written.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, SECRET_KEY_FILE_MODE)
    except FileExistsError as e:
        raise KeyFileError(f"refusing to overwrite existing file {os.fspath(path)}") from e
    except OSError as e:
        raise KeyFileError(f"cannot create key file {os.fspath(path)}: {e.strerror}") from e
    try:
        os.fchmod(fd, SECRET_KEY_FILE_MODE)
        data = encode_secret_key_file(sk)
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    except OSError as e:
        raise KeyFileError(f"cannot write key file {os.fspath(path)}: {e.strerror}") from e
    finally:
        os.close(fd)


def load_secret_key(path: str | os.PathLike[str]) -> SecretKey:
    """Read a secret key file written by :func:`save_secret_key`.

    The permissions are checked on the opened file (no race between check and read). The file is
    opened without blocking, so a FIFO at ``path`` is refused instead of waiting for a writer.

    Raises
    ------
    InsecureKeyFileError
        If the file grants any permission to its group or others (mode & 0o077 != 0).
    KeyFileError
        If the file is missing, not a regular file, or unreadable.
    MalformedKeyFileError
        If the file does not hold one canonical secret key.
    """
    name = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as e:
        raise KeyFileError(f"no key file at {name}") from e
    except OSError as e:
        raise KeyFileError(f"cannot open key file {name}: {e.strerror}") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {name} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & SECRET_KEY_FILE_FORBIDDEN_BITS:
            raise InsecureKeyFileError(
                f"key file {name} is accessible by group or others (mode {mode:04o}); "
                f"run: chmod 600 {name}"
            )
        chunks = []
        size = 0
        while size <= SECRET_KEY_FILE_BYTES:
            chunk = os.read(fd, SECRET_KEY_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise KeyFileError(f"cannot read key file {name}: {e.strerror}") from e
    finally:
        os.close(fd)
    try:
        return decode_secret_key_file(b"".join(chunks))
    except MalformedKeyFileError as e:
        raise MalformedKeyFileError(f"key file {name}: {e}") from e
