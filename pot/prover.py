"""Run and prove SGD steps with ezkl (trainer side; no torch needed once the circuit exists).

The step a trainer runs *is* the circuit's quantised step: :func:`run_step` calls ezkl's witness
generation on the fixed-point weights and batch, and the updated weights it returns are the circuit's
outputs. Feeding them to the next step makes step t's outputs equal step t+1's inputs
bit for bit (their KZG points are equal, :mod:`pot.tensors`), which is what chains the trajectory
commitment (``docs/protocol.md``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pot.circuit import Circuit
from pot.data import FloatArray, IntArray, check_checkpoint, dequantize
from pot.errors import ProvingError
from pot.proof import BN254_SCALAR_ORDER, StepProof
from pot.spec import ModelSpec
from pot.tensors import point_from_ezkl, tensor_digest


@dataclass(frozen=True)
class StepWitness:
    """The result of running one step through the circuit.

    Attributes
    ----------
    params_next
        Updated parameters, int64 fixed point at the spec's scale, shapes as the inputs.
    input_points, output_points
        KZG points (64 bytes, :mod:`pot.tensors`) of each input tensor (parameters, x, y) and each
        output tensor.
    witness
        ezkl's witness JSON, as written by ``gen_witness``.
    """

    params_next: dict[str, IntArray]
    input_points: tuple[bytes, ...]
    output_points: tuple[bytes, ...]
    witness: dict[str, Any]

    @property
    def input_digests(self) -> tuple[int, ...]:
        return tuple(tensor_digest(p) for p in self.input_points)

    @property
    def output_digests(self) -> tuple[int, ...]:
        return tuple(tensor_digest(p) for p in self.output_points)


def le_felt(value: str) -> int:
    """A field element as ezkl's witness and proof files spell it: 32 bytes little-endian hex."""
    return int.from_bytes(bytes.fromhex(value.removeprefix("0x")), "little")


def signed_felt(value: str) -> int:
    """A witness field element as a signed integer in ``(-r/2, r/2]`` (fixed-point values)."""
    x = le_felt(value)
    return x - BN254_SCALAR_ORDER if x > BN254_SCALAR_ORDER // 2 else x


def input_json(spec: ModelSpec, params: dict[str, IntArray], x: FloatArray,
               y: FloatArray) -> dict[str, Any]:
    """ezkl's input JSON for one step: the parameters in graph order, then ``x`` and ``y``, as floats.

    Raises
    ------
    MalformedInputError
        If ``params`` is not a checkpoint of ``spec`` (:func:`pot.data.check_checkpoint`).
    """
    check_checkpoint(params, spec)
    data = [dequantize(params[name], spec.scale).ravel().tolist() for name, _ in spec.param_shapes()]
    data += [np.asarray(x, dtype=np.float64).ravel().tolist(),
             np.asarray(y, dtype=np.float64).ravel().tolist()]
    return {"input_data": data}


def run_step(circuit: Circuit, params: dict[str, IntArray], x: FloatArray, y: FloatArray,
             workdir: Path | None = None) -> StepWitness:
    """Run one quantised SGD step through the circuit (ezkl witness generation).

    Parameters
    ----------
    params
        Fixed-point parameters (int64, spec scale), e.g. from :func:`pot.data.load_checkpoint`.
    x, y
        The batch: ``(B, in)`` float64 features and ``(B, classes)`` one-hot labels, exact
        multiples of ``2**-scale``.

    Raises
    ------
    ProvingError
        If ezkl cannot generate the witness (e.g. a value outside the lookup range).
    """
    import ezkl

    spec = circuit.spec
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        inp = Path(tmp) / "input.json"
        out = Path(tmp) / "witness.json"
        inp.write_text(json.dumps(input_json(spec, params, x, y)))
        try:
            ezkl.gen_witness(str(inp), str(circuit.file("model.compiled")), str(out),
                             str(circuit.file("vk.key")), str(circuit.file("kzg.srs")))
        except RuntimeError as e:
            raise ProvingError(f"witness generation failed: {e}") from e
        witness = json.loads(out.read_text())
    outputs = witness["outputs"]
    params_next: dict[str, IntArray] = {}
    for (name, shape), felts in zip(spec.param_shapes(), outputs, strict=True):
        params_next[name] = np.array([signed_felt(f) for f in felts], dtype=np.int64).reshape(shape)
    in_points = _witness_points(witness["processed_inputs"]["polycommit"], circuit.n_input_tensors)
    out_points = _witness_points(witness["processed_outputs"]["polycommit"],
                                 circuit.n_output_tensors)
    return StepWitness(params_next, in_points, out_points, witness)


def _witness_points(entries: Any, count: int) -> tuple[bytes, ...]:
    """The witness's polycommit entries (one list of compressed points per tensor) as points."""
    if not isinstance(entries, list) or len(entries) != count or any(
            not isinstance(e, list) or len(e) != 1 for e in entries):
        raise ProvingError(f"the witness does not hold one KZG point for each of {count} tensors")
    return tuple(point_from_ezkl(e[0]) for e in entries)


def prove_witness(circuit: Circuit, step: StepWitness, workdir: Path | None = None) -> StepProof:
    """Prove a step whose witness :func:`run_step` produced.

    Raises
    ------
    ProvingError
        If the circuit has no proving key, or ezkl's prover fails.
    """
    import ezkl

    if not circuit.can_prove:
        raise ProvingError(f"circuit {circuit.path} has no pk.key/model.compiled; run `pot setup`")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        wpath = Path(tmp) / "witness.json"
        ppath = Path(tmp) / "proof.json"
        wpath.write_text(json.dumps(step.witness))
        try:
            ezkl.prove(str(wpath), str(circuit.file("model.compiled")), str(circuit.file("pk.key")),
                       str(ppath), str(circuit.file("kzg.srs")))
        except RuntimeError as e:
            raise ProvingError(f"ezkl could not prove the step: {e}") from e
        proof = json.loads(ppath.read_text())
    result = StepProof(
        circuit_id=circuit.circuit_id,
        proof=bytes(proof["proof"]),
        n_params=circuit.n_output_tensors,
    )
    if result.points != step.input_points + step.output_points:
        raise ProvingError("the proof's tensor commitments differ from the witness's")
    return result


def prove_step(circuit: Circuit, params: dict[str, IntArray], x: FloatArray, y: FloatArray,
               workdir: Path | None = None) -> tuple[StepProof, StepWitness]:
    """Run and prove one step: :func:`run_step` then :func:`prove_witness`."""
    step = run_step(circuit, params, x, y, workdir)
    return prove_witness(circuit, step, workdir), step
