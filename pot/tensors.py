"""Poseidon hashes and commitments of fixed-point tensors, as the circuit exposes them.

With ``hashed`` visibility, ezkl exposes each input and output tensor of the step as one public
instance: the Poseidon hash (ezkl's ``poseidon_hash``) of the tensor's elements, each a BN254 field
element (negative values wrap to ``r - |v|``), row-major. :func:`tensor_hash` recomputes that hash
from the integers, so a validator can check that an update payload matches the committed W_T, and a
trainer can commit to its dataset's batches, without running the circuit. ``tests/test_tensors.py``
checks it against the hashes in a real witness.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from pot.protocol.commitments import batch_commitment, weights_commitment
from pot.protocol.encoding import BN254_SCALAR_ORDER
from pot.spec import ModelSpec

IntArray = npt.NDArray[np.int64]


def tensor_hash(values: npt.ArrayLike) -> int:
    """The Poseidon hash ezkl exposes for a tensor of fixed-point integers.

    Parameters
    ----------
    values
        Integers of any shape (flattened row-major), ``|v| < r / 2``.

    Returns
    -------
    int
        A canonical BN254 scalar field element.
    """
    import ezkl

    flat = np.asarray(values, dtype=np.int64).ravel()
    felts = [(int(v) % BN254_SCALAR_ORDER).to_bytes(32, "little").hex() for v in flat]
    (digest,) = ezkl.poseidon_hash(felts)
    return int.from_bytes(bytes.fromhex(digest), "little")


def weights_hashes(params: Mapping[str, IntArray], spec: ModelSpec) -> list[int]:
    """Tensor hashes of the parameters in the spec's graph order (``w1, b1, w2, ...``)."""
    return [tensor_hash(params[name]) for name, _ in spec.param_shapes()]


def checkpoint_commitment(params: Mapping[str, IntArray], spec: ModelSpec) -> bytes:
    """commit(W): the protocol's weights commitment of a fixed-point checkpoint."""
    return weights_commitment(weights_hashes(params, spec))


def batch_hashes(x_q: IntArray, y_q: IntArray) -> list[int]:
    """Tensor hashes of a quantised batch: features ``(B, in)`` and one-hot labels ``(B, classes)``."""
    return [tensor_hash(x_q), tensor_hash(y_q)]


def batch_commitment_of(x_q: IntArray, y_q: IntArray) -> bytes:
    """commit(batch) of a quantised batch."""
    return batch_commitment(batch_hashes(x_q, y_q))


def flatten_params(params: Mapping[str, IntArray], spec: ModelSpec) -> IntArray:
    """All parameters as one int64 vector in graph order (the update payload's layout)."""
    return np.concatenate([np.asarray(params[name], dtype=np.int64).ravel()
                           for name, _ in spec.param_shapes()])


def unflatten_params(vector: IntArray, spec: ModelSpec) -> dict[str, IntArray]:
    """Inverse of :func:`flatten_params`.

    Raises
    ------
    ValueError
        If the vector's length is not the spec's parameter count.
    """
    vector = np.asarray(vector, dtype=np.int64)
    if vector.shape != (spec.n_params,):
        raise ValueError(f"spec {spec.name!r} has {spec.n_params} parameters, got {vector.shape}")
    out: dict[str, IntArray] = {}
    offset = 0
    for name, shape in spec.param_shapes():
        size = int(np.prod(shape))
        out[name] = vector[offset : offset + size].reshape(shape).copy()
        offset += size
    return out
