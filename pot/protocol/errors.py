"""The errors of the proof-of-training protocol primitives.

Every class here is empty, carries a docstring, and derives from :class:`pot.errors.PotError`, so
the CLI boundary handles all of them. :class:`EncodingError` also derives from
:class:`pot.errors.MalformedInputError`: a value that is not in its one canonical form was not
judged, it was unreadable, and the CLI maps it to exit code 2; so does
:class:`MalformedKeyFileError`. The rest map to exit code 1.
"""

from pot.errors import MalformedInputError, PotError


class ProtocolError(PotError):
    """Base class of the errors raised by :mod:`pot.protocol`."""


class EncodingError(ProtocolError, MalformedInputError):
    """A value is not in its canonical encoding.

    Wrong byte length, hex that is not lowercase ``0x``-prefixed, a field element that is not
    below the BN254 scalar order or is written with leading zeros, an integer out of its
    fixed-width range, or a signing body that has no canonical JSON form.
    """


class MerkleError(ProtocolError):
    """A Merkle tree or inclusion path is ill-formed (no leaves, index out of range, path of the
    wrong length for its index and leaf count)."""


class ChallengeError(ProtocolError):
    """A challenge cannot be drawn: no steps, no samples, or more samples than steps."""


class KeyFileError(ProtocolError):
    """A secret key file cannot be written or read: it exists already, is missing, or is not a
    regular file."""


class MalformedKeyFileError(KeyFileError, MalformedInputError):
    """A secret key file does not hold exactly one canonical secret key (the CLI exits with 2)."""


class InsecureKeyFileError(KeyFileError):
    """A secret key file grants permissions to its group or to others; it must be mode 0600."""


class InvalidKeyError(ProtocolError):
    """A BLS12-381 key is invalid: a secret key outside ``[1, r)``, or public key bytes that are
    not a point of the prime-order subgroup of G1 (or are the point at infinity)."""


class SecurityParameterError(ProtocolError):
    """The parameters of a detection-probability question are out of range or unreachable."""
