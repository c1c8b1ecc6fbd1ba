"""BLS12-381 signature backends: py_ecc, the reference, and milagro, its fast twin.

Both implement the Ethereum consensus ciphersuite ``BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_``
(:mod:`pot.protocol.keys` states the rules) behind one API, :class:`BlsBackend`: public key of a
secret scalar, sign, verify. py_ecc (``G2ProofOfPossession``) is plain Python and readable, and a
verification costs about 0.3–0.5 s; milagro (``milagro_bls_binding``, Sigma Prime's Rust
``milagro_bls`` behind a Python binding) gives the same bytes and verdicts about 90 times faster.
pot uses milagro when it is installed (it is a core dependency) and py_ecc otherwise.

The two are kept honest against each other by ``tests/test_bls_backends.py`` (the
reference-and-twin pattern of py_ecc itself): identical public keys and signatures, and identical
verdicts on random valid signatures, tampered messages, signatures and keys, the points at
infinity, points off the prime-order subgroups, points off the curve, coordinates not below the
field modulus and every non-canonical flag combination. They agree on all of these without help,
so pot's :func:`pot.protocol.keys.verify` only checks lengths and types before calling a backend.

Source: docs/protocol.md, section "Keys and signatures"; docs/performance.md for the timings.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

PY_ECC = "py_ecc"
"""Name of the reference backend."""
MILAGRO = "milagro"
"""Name of the fast backend."""
BACKEND_ENV = "POT_BLS_BACKEND"
"""Environment variable that forces a backend by name (for measuring or debugging)."""
SECRET_SCALAR_BYTES = 32
"""Width of a secret scalar handed to milagro, big-endian."""


@dataclass(frozen=True)
class BlsBackend:
    """One implementation of the ciphersuite (``G2ProofOfPossession``).

    Attributes
    ----------
    name
        :data:`PY_ECC` or :data:`MILAGRO`.
    sk_to_pk
        Secret scalar in ``[1, r)`` -> 48-byte compressed G1 public key.
    sign
        (secret scalar, message) -> 96-byte compressed G2 signature.
    verify
        (48-byte key, message, 96-byte signature) -> whether it verifies; False for any key or
        signature that is not a canonical encoding of a subgroup point other than infinity.
        Callers check lengths and types first (:func:`pot.protocol.keys.verify`).
    """

    name: str
    sk_to_pk: Callable[[int], bytes]
    sign: Callable[[int, bytes], bytes]
    verify: Callable[[bytes, bytes, bytes], bool]


def py_ecc_backend() -> BlsBackend:
    """The reference backend: ``py_ecc.bls.G2ProofOfPossession``."""
    from eth_typing import BLSPubkey, BLSSignature
    from py_ecc.bls import G2ProofOfPossession

    def verify(pk: bytes, message: bytes, signature: bytes) -> bool:
        return bool(G2ProofOfPossession.Verify(BLSPubkey(pk), message, BLSSignature(signature)))

    return BlsBackend(PY_ECC, lambda sk: bytes(G2ProofOfPossession.SkToPk(sk)),
                      lambda sk, message: bytes(G2ProofOfPossession.Sign(sk, message)), verify)


def milagro_backend() -> BlsBackend:
    """The fast backend: ``milagro_bls_binding``.

    Raises
    ------
    ImportError
        If ``milagro_bls_binding`` is not installed.
    """
    import milagro_bls_binding as milagro

    def scalar(sk: int) -> bytes:
        return sk.to_bytes(SECRET_SCALAR_BYTES, "big")

    return BlsBackend(MILAGRO, lambda sk: bytes(milagro.SkToPk(scalar(sk))),
                      lambda sk, message: bytes(milagro.Sign(scalar(sk), message)),
                      lambda pk, message, signature: bool(milagro.Verify(pk, message, signature)))


_FACTORIES: dict[str, Callable[[], BlsBackend]] = {PY_ECC: py_ecc_backend, MILAGRO: milagro_backend}


def backend(name: str) -> BlsBackend:
    """The backend called ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not :data:`PY_ECC` or :data:`MILAGRO`.
    ImportError
        If that backend's library is not installed.
    """
    if name not in _FACTORIES:
        raise ValueError(f"unknown BLS backend {name!r}; choose {PY_ECC!r} or {MILAGRO!r}")
    return _FACTORIES[name]()


def default_backend() -> BlsBackend:
    """milagro if installed, else py_ecc; :data:`BACKEND_ENV` names one explicitly.

    Raises
    ------
    ValueError, ImportError
        As :func:`backend`, for a name given in :data:`BACKEND_ENV`.
    """
    forced = os.environ.get(BACKEND_ENV)
    if forced:
        return backend(forced)
    try:
        return milagro_backend()
    except ImportError:
        return py_ecc_backend()


_active: list[BlsBackend] = []


def active_backend() -> BlsBackend:
    """The backend pot signs and verifies with in this process (chosen on first use)."""
    if not _active:
        _active.append(default_backend())
    return _active[-1]


@contextlib.contextmanager
def using_backend(name: str) -> Iterator[BlsBackend]:
    """Sign and verify with the backend ``name`` inside the block (benchmarks and tests)."""
    chosen = backend(name)
    active_backend()
    _active.append(chosen)
    try:
        yield chosen
    finally:
        _active.pop()
