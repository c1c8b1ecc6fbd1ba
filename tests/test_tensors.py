"""KZG tensor points: pot's recomputation equals what ezkl's witness and proof carry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from py_ecc.bn128 import field_modulus

from pot.circuit import Circuit
from pot.data import quantize
from pot.errors import MalformedInputError, ProvingError
from pot.protocol.commitments import batch_commitment, weights_commitment
from pot.tensors import (
    batch_commitment_of,
    batch_commitments,
    check_g1_point,
    checkpoint_commitment,
    point_from_ezkl,
    tensor_digest,
    tensor_points,
)

pytestmark = pytest.mark.ezkl

P = int(field_modulus)
"""The BN254 base field modulus p."""


def test_recomputed_points_are_the_witness_and_proof_points(tiny_step: Any,
                                                           tiny_circuit: Circuit) -> None:
    proof, witness, params, x, y = tiny_step
    spec = tiny_circuit.spec
    tensors = [params[n] for n, _ in spec.param_shapes()]
    tensors += [quantize(x, spec.scale), quantize(y, spec.scale)]
    tensors += [witness.params_next[n] for n, _ in spec.param_shapes()]
    assert tuple(tensor_points(tiny_circuit, tensors)) == proof.points
    assert proof.points == witness.input_points + witness.output_points


def test_commitments_of_a_checkpoint_and_a_batch(tiny_step: Any, tiny_circuit: Circuit) -> None:
    proof, witness, params, x, y = tiny_step
    scale = tiny_circuit.spec.scale
    assert checkpoint_commitment(params, tiny_circuit) == proof.weights_in
    assert checkpoint_commitment(witness.params_next, tiny_circuit) == proof.weights_out
    xq, yq = quantize(x, scale), quantize(y, scale)
    assert batch_commitment_of(xq, yq, tiny_circuit) == proof.batch
    # Batched commitment (several tensors per ezkl call) equals one at a time, order kept.
    other = (np.roll(xq, 1, axis=0), np.roll(yq, 1, axis=0))
    assert batch_commitments(tiny_circuit, [(xq, yq), other, (xq, yq)]) == [
        proof.batch, batch_commitment_of(*other, tiny_circuit), proof.batch]
    assert proof.weights_in == weights_commitment([tensor_digest(p) for p in
                                                   proof.points[: proof.n_params]])
    assert proof.batch == batch_commitment(list(proof.digests[proof.n_params: proof.n_params + 2]))


def test_commitments_do_not_depend_on_how_many_tensors_share_an_ezkl_call(
        tiny_step: Any, tiny_circuit: Circuit, monkeypatch: pytest.MonkeyPatch) -> None:
    import pot.tensors

    _, witness, params, _, _ = tiny_step
    tensors = [params[n] for n, _ in tiny_circuit.spec.param_shapes()]
    tensors += [witness.params_next[n] for n, _ in tiny_circuit.spec.param_shapes()]
    together = tensor_points(tiny_circuit, tensors)
    monkeypatch.setattr(pot.tensors, "COMMIT_CALL_VALUES", 3 * tiny_circuit.column_capacity)
    assert tensor_points(tiny_circuit, tensors) == together  # 3 calls: 3 + 3 + 2 tensors
    assert together[4:] == list(witness.output_points)


def test_points_are_position_and_value_sensitive(tiny_circuit: Circuit) -> None:
    a = np.arange(12, dtype=np.int64)
    b = a.copy()
    b[5] += 1
    pa, pb, pz, pneg = tensor_points(tiny_circuit, [a, b, np.zeros(12, dtype=np.int64), -a])
    assert len({pa, pb, pz, pneg}) == 4
    assert tensor_points(tiny_circuit, [a.reshape(3, 4)]) == [pa]  # row-major flattening


def test_a_tensor_longer_than_a_column_is_refused(tiny_circuit: Circuit) -> None:
    with pytest.raises(ProvingError, match="exceeds a column"):
        tensor_points(tiny_circuit, [np.zeros(tiny_circuit.column_capacity + 1, dtype=np.int64)])


def test_point_decoding_and_checks(tiny_step: Any) -> None:
    witness = tiny_step[1]
    compressed = witness.witness["processed_inputs"]["polycommit"][0][0]
    point = point_from_ezkl(compressed)
    assert point == witness.input_points[0]
    check_g1_point(point)
    x, y = int.from_bytes(point[:32], "big"), int.from_bytes(point[32:], "big")
    for bad, message in [
        (point[:63], "64 bytes"),
        (x.to_bytes(32, "big") + ((y + 1) % P).to_bytes(32, "big"), "not on the BN254 curve"),
        (x.to_bytes(32, "big") + (y + P).to_bytes(32, "big"), "outside the BN254 base field"),
        (bytes(64), "not on the BN254 curve"),  # the EVM's encoding of the identity
    ]:
        with pytest.raises(MalformedInputError, match=message):
            check_g1_point(bad)
        with pytest.raises(MalformedInputError):
            tensor_digest(bad)
    # -P is the other root: flipping the parity bit gives (x, p - y)
    flipped = bytearray(bytes.fromhex(compressed))
    flipped[31] ^= 0x80
    assert point_from_ezkl(flipped.hex()) == x.to_bytes(32, "big") + (P - y).to_bytes(32, "big")
    for bad_text in ["zz", "00" * 31, (bytes(31) + b"\x40").hex()]:
        with pytest.raises(ProvingError):
            point_from_ezkl(bad_text)


def test_digest_is_keccak_of_the_tagged_point_mod_r(tiny_step: Any) -> None:
    from eth_hash.auto import keccak

    from pot.protocol.encoding import BN254_SCALAR_ORDER

    point = tiny_step[0].points[0]
    tag = b"pot/v1/tensor".ljust(32, b"\x00")
    assert tensor_digest(point) == int.from_bytes(keccak(tag + point), "big") % BN254_SCALAR_ORDER
