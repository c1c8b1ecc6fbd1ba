"""KZG commitments of fixed-point tensors, as the step circuit exposes them.

The step circuit's inputs and outputs have ezkl's ``polycommit`` visibility: each tensor sits in
its own unblinded advice column(s) of the circuit and the proof opens with one KZG commitment per
tensor, a BN254 G1 point ``P = sum_i v_i * L_i(tau)`` over the circuit's SRS (``L_i`` the Lagrange
basis of the 2^logrows domain, ``v_i`` the tensor's elements row-major, negative values wrapped to
``r - |v|``). The point depends only on the values, the logrows and the SRS, so step t's output
points equal step t+1's input points and a validator can recompute the point of any tensor it holds
(a submitted update, the genesis model) with the circuit's public files.

pot encodes a point as 64 bytes ``be32(x) ‖ be32(y)`` (the encoding of the EVM's BN254 precompiles
and of the proof itself) and reduces it to one *tensor digest*, a BN254 scalar field element::

    tensor_digest(P) = keccak256(DOMAIN_TENSOR ‖ be32(x) ‖ be32(y)) mod r

which :func:`pot.protocol.commitments.weights_commitment` and ``batch_commitment`` take.
``tests/test_tensors.py`` checks :func:`tensor_points` against the points in real witnesses and proofs.

Source: docs/protocol.md, section "Tensor commitments".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from pot.errors import MalformedInputError, ProvingError
from pot.protocol.commitments import batch_commitment, weights_commitment
from pot.protocol.domains import DOMAIN_TENSOR, tagged_hash
from pot.protocol.encoding import BN254_SCALAR_ORDER
from pot.spec import ModelSpec

if TYPE_CHECKING:
    from pot.circuit import Circuit

IntArray = npt.NDArray[np.int64]

G1_POINT_BYTES = 64
"""An uncompressed BN254 G1 point: ``be32(x) ‖ be32(y)``."""
COMMIT_CALL_VALUES = 1 << 21
"""Column values (zero padding included) per ``ezkl.kzg_commit`` call: each call reloads the
circuit's files, so tensors are committed many at a time, up to about 200 MB of message text."""


def _base_order() -> int:
    from py_ecc.bn128 import field_modulus

    return int(field_modulus)


def _on_curve(x: int, y: int) -> bool:
    """Whether ``(x, y)``, both below the base field modulus, is on ``y^2 = x^3 + 3`` (py_ecc)."""
    from py_ecc.bn128 import FQ, b, is_on_curve

    return bool(is_on_curve((FQ(x), FQ(y)), b))


def check_g1_point(point: bytes, what: str = "point") -> bytes:
    """Return ``point`` if it is 64 bytes encoding a BN254 G1 point on the curve, else raise.

    Raises
    ------
    MalformedInputError
        On a wrong length, a coordinate ``>= p`` or a point off ``y^2 = x^3 + 3``. The identity
        (which no honest tensor commits to) is rejected too.
    """
    if not isinstance(point, bytes) or len(point) != G1_POINT_BYTES:
        raise MalformedInputError(f"{what} must be {G1_POINT_BYTES} bytes")
    p = _base_order()
    x, y = int.from_bytes(point[:32], "big"), int.from_bytes(point[32:], "big")
    if x >= p or y >= p:
        raise MalformedInputError(f"{what} has a coordinate outside the BN254 base field")
    if not _on_curve(x, y):
        raise MalformedInputError(f"{what} is not on the BN254 curve")
    return point


def point_from_ezkl(compressed: str) -> bytes:
    """Decode ezkl's compressed G1 point (32 bytes little-endian hex: x, bit 7 of the last byte =
    y is odd, bit 6 = identity) into the 64-byte ``be32(x) ‖ be32(y)`` form.

    Raises
    ------
    ProvingError
        If the string is not a compressed point of the curve.
    """
    try:
        raw = bytearray(bytes.fromhex(compressed.removeprefix("0x")))
    except ValueError as e:
        raise ProvingError(f"ezkl returned a point that is not hex: {compressed!r}") from e
    if len(raw) != 32 or raw[31] & 0x40:
        raise ProvingError("ezkl returned a commitment that is not a finite compressed G1 point")
    odd = bool(raw[31] & 0x80)
    raw[31] &= 0x3F
    p = _base_order()
    x = int.from_bytes(raw, "little")
    y = pow((x * x * x + 3) % p, (p + 1) // 4, p)  # a square root when one exists (p = 3 mod 4)
    if x >= p or not _on_curve(x, y):
        raise ProvingError("ezkl returned a commitment that is not on the BN254 curve")
    if (y & 1) != odd:
        y = p - y
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def tensor_digest(point: bytes) -> int:
    """The field element a tensor's KZG point stands for in commitments (see the module docstring).

    Raises
    ------
    MalformedInputError
        If ``point`` is not a valid 64-byte G1 point (:func:`check_g1_point`).
    """
    check_g1_point(point)
    return int.from_bytes(tagged_hash(DOMAIN_TENSOR, point), "big") % BN254_SCALAR_ORDER


def tensor_points(circuit: Circuit, tensors: Sequence[npt.ArrayLike]) -> list[bytes]:
    """The KZG point the circuit's proofs carry for each fixed-point tensor.

    Parameters
    ----------
    circuit
        The circuit whose SRS and logrows define the commitment (only its public files are read).
    tensors
        Integers of any shape each (flattened row-major), ``|v| < r / 2``, at most one column
        (``2**logrows - 6`` values) each.

    Returns
    -------
    list of bytes
        One 64-byte point per tensor, in order.

    Raises
    ------
    ProvingError
        If a tensor is longer than a column or ezkl cannot commit.
    """
    import ezkl

    capacity = circuit.column_capacity
    per_call = max(1, COMMIT_CALL_VALUES // capacity)
    zero = bytes(32).hex()
    points: list[bytes] = []
    for start in range(0, len(tensors), per_call):
        message: list[str] = []
        chunk = tensors[start : start + per_call]
        for values in chunk:
            flat = np.asarray(values, dtype=np.int64).ravel()
            if flat.size > capacity:
                raise ProvingError(f"a tensor of {flat.size} values exceeds a column "
                                   f"({capacity} rows)")
            message += [(int(v) % BN254_SCALAR_ORDER).to_bytes(32, "little").hex() for v in flat]
            message += [zero] * (capacity - flat.size)
        try:
            got = ezkl.kzg_commit(message, str(circuit.file("vk.key")),
                                  str(circuit.file("settings.json")), str(circuit.file("kzg.srs")))
        except RuntimeError as e:
            raise ProvingError(f"ezkl could not commit to tensors: {e}") from e
        if len(got) < len(chunk):
            raise ProvingError(f"ezkl returned {len(got)} commitments for {len(chunk)} tensors")
        for g in got[: len(chunk)]:
            # ezkl's stub types PyG1Affine without its x and y (little-endian hex) attributes
            x = int.from_bytes(bytes.fromhex(g.x), "little")  # type: ignore[attr-defined]
            y = int.from_bytes(bytes.fromhex(g.y), "little")  # type: ignore[attr-defined]
            points.append(check_g1_point(x.to_bytes(32, "big") + y.to_bytes(32, "big")))
    return points


def checkpoint_commitment(params: Mapping[str, IntArray], circuit: Circuit) -> bytes:
    """commit(W): the protocol's weights commitment of a fixed-point checkpoint under ``circuit``."""
    points = tensor_points(circuit, [params[name] for name, _ in circuit.spec.param_shapes()])
    return weights_commitment([tensor_digest(p) for p in points])


def batch_commitments(circuit: Circuit, batches: Sequence[tuple[IntArray, IntArray]]) -> list[bytes]:
    """commit(batch) of each quantised batch ``(x (B, in), one-hot y (B, classes))``."""
    points = tensor_points(circuit, [t for pair in batches for t in pair])
    digests = [tensor_digest(p) for p in points]
    return [batch_commitment(digests[2 * i : 2 * i + 2]) for i in range(len(batches))]


def batch_commitment_of(x_q: IntArray, y_q: IntArray, circuit: Circuit) -> bytes:
    """commit(batch) of one quantised batch."""
    return batch_commitments(circuit, [(x_q, y_q)])[0]


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
