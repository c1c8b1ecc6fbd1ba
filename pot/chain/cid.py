"""Reduce an IPFS reference (a CID given as text) to the ``bytes32`` a TRAIN_REQUEST carries.

Rule: the ``bytes32`` of a CID is the raw 32-byte sha2-256 digest inside its multihash. A CIDv1 must
name ``sha2-256`` with a 32-byte digest; any codec (``dag-pb``, ``raw``, ...) and any multibase
is accepted, and the codec is not kept: two CIDs that differ only in codec or base reduce to the
same word. A CIDv0 (``Qm...``) is by definition a ``dag-pb`` sha2-256 CID; it reduces to the digest
of its CIDv1 form, which is the same digest. Parsing is done by the ``multiformats`` library.

For convenience the CLI also accepts the word itself as ``0x`` followed by 64 hex digits.
"""

from __future__ import annotations

from multiformats import CID

from pot.chain.errors import InvalidCidError, OutOfRangeError
from pot.chain.fixed_types import Bytes32

CID_HASH_FUNCTION = "sha2-256"
CID_DIGEST_BYTES = 32


def cid_to_bytes32(text: str) -> Bytes32:
    """Reduce a CID given as text to its sha2-256 digest.

    Parameters
    ----------
    text
        A CIDv1 in any multibase, or a base58btc CIDv0.

    Returns
    -------
    Bytes32
        The raw sha2-256 digest of the CID's multihash.

    Raises
    ------
    InvalidCidError
        If ``text`` is not a CID, or its multihash is not a 32-byte sha2-256 digest.
    """
    try:
        cid = CID.decode(text)
    except (ValueError, KeyError) as e:
        raise InvalidCidError(f"not a CID: {text!r}: {e}") from e
    if cid.version == 0:
        cid = cid.set(version=1)
    if cid.hashfun.name != CID_HASH_FUNCTION:
        raise InvalidCidError(
            f"CID {text!r} uses {cid.hashfun.name}; only {CID_HASH_FUNCTION} reduces to bytes32"
        )
    digest = bytes(cid.raw_digest)
    if len(digest) != CID_DIGEST_BYTES:
        raise InvalidCidError(
            f"CID {text!r} has a {len(digest)}-byte digest, {CID_DIGEST_BYTES} are needed"
        )
    return Bytes32(digest)


def reference_to_bytes32(text: str) -> Bytes32:
    """Parse a reference given either as a CID or as ``0x`` + 64 hex digits.

    Parameters
    ----------
    text
        A CID (see :func:`cid_to_bytes32`) or a ``0x``-prefixed 32-byte hex word.

    Returns
    -------
    Bytes32
        The reference as a word.

    Raises
    ------
    InvalidCidError
        If ``text`` is neither a CID nor a 32-byte hex word.
    """
    if text.startswith(("0x", "0X")):
        try:
            return Bytes32.from_hex(text)
        except OutOfRangeError as e:
            raise InvalidCidError(f"not a 32-byte hex word: {text!r}") from e
    return cid_to_bytes32(text)
