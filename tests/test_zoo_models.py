"""The zoo's CNN and regression models, and a MaxPool2d CNN, train, prove and verify with real
ezkl proofs.

``cnn-digits`` (conv -> relu -> avgpool -> flatten -> linear, softmax cross-entropy) and
``reg-diabetes`` (MLP, MSE, SGD with momentum and weight decay: its momentum buffers are committed
state that chains from step to step). Each circuit is built once for the module (CI sizes:
logrows 15).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pot.circuit import Circuit, build_circuit
from pot.data import batch_arrays, dequantize, initial_checkpoint, load_dataset
from pot.evaluate import evaluate
from pot.export import torch_sgd_step
from pot.spec import ModelSpec, load_spec

pytestmark = pytest.mark.ezkl

# MaxPool2d is not in the zoo; this CI-sized CNN on the 4x4 digits proves its step for real.
MAXPOOL = {"version": "pot.spec/2", "name": "maxpool-digits4x4", "input_shape": [1, 4, 4],
           "layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
                      {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
                      {"type": "flatten"}, {"type": "linear", "out_features": 10}],
           "loss": "softmax_cross_entropy", "optimizer": {"type": "sgd", "learning_rate": "0.25"},
           "batch_size": 2, "scale": 13, "init_seed": 0, "dataset": "digits4x4"}
ZOO = ["cnn-digits", "reg-diabetes", "maxpool-digits4x4"]
TRAIN_STEPS = 12
TRAIN_BATCHES = 3
# Fixed point at scale 13: a few quanta per rounding against a weight change of order 1e-2.
UPDATE_RELATIVE_TOLERANCE = 0.02


@pytest.fixture(scope="module", params=ZOO)
def zoo_circuit(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelSpec, Circuit]:
    spec = ModelSpec.from_json(MAXPOOL) if request.param == MAXPOOL["name"] else load_spec(request.param)
    return spec, build_circuit(spec, tmp_path_factory.mktemp(spec.name))


def batch(spec: ModelSpec, b: int) -> tuple[Any, Any]:
    data = load_dataset(spec.dataset)
    return batch_arrays(data, list(range(b * spec.batch_size, (b + 1) * spec.batch_size)), spec)


def test_circuit_step_matches_torch_autograd_and_sgd(zoo_circuit: tuple[ModelSpec, Circuit]) -> None:
    from pot.prover import run_step

    spec, circuit = zoo_circuit
    params = initial_checkpoint(spec)
    for t in range(2):  # two steps, so that a momentum buffer is seen to carry over
        x, y = batch(spec, t)
        floats = {k: dequantize(v, spec.scale) for k, v in params.items()}
        reference = torch_sgd_step(spec, floats, x, y)
        nxt = run_step(circuit, params, x, y).params_next
        change = max(np.abs(reference[k] - floats[k]).max() for k, _ in spec.trainable_shapes())
        assert change > 1e-3
        for name, q in nxt.items():
            err = np.abs(dequantize(q, spec.scale) - reference[name]).max()
            assert err <= UPDATE_RELATIVE_TOLERANCE * change, (spec.name, t, name, err, change)
        params = nxt
    if spec.optimizer.momentum:
        assert any(params[name].any() for name, _ in spec.param_shapes() if name.startswith("m_"))


def test_circuit_steps_train_the_model(zoo_circuit: tuple[ModelSpec, Circuit]) -> None:
    # TRAIN_STEPS of the circuit's own quantised steps, cycling over TRAIN_BATCHES batches, lower
    # the loss on those batches' samples by more than 10% (float SGD: 2.29 -> 1.97 for the CNN).
    from pot.prover import run_step

    spec, circuit = zoo_circuit
    data = load_dataset(spec.dataset)
    seen = list(range(TRAIN_BATCHES * spec.batch_size))
    trained = dataclasses.replace(data, x=data.x[seen], y=data.y[seen])
    params = initial_checkpoint(spec)
    _, loss0 = evaluate(params, spec, trained)
    for t in range(TRAIN_STEPS):
        x, y = batch(spec, t % TRAIN_BATCHES)
        params = run_step(circuit, params, x, y).params_next
    _, loss = evaluate(params, spec, trained)
    assert loss < 0.9 * loss0, (spec.name, loss0, loss)


def test_proof_of_a_step_verifies_and_a_flipped_byte_does_not(
        zoo_circuit: tuple[ModelSpec, Circuit], tmp_path: Path) -> None:
    from pot.prover import prove_step
    from pot.verifier import verify_step_proof

    spec, circuit = zoo_circuit
    x, y = batch(spec, 0)
    proof, _ = prove_step(circuit, initial_checkpoint(spec), x, y)
    assert proof.n_params == len(spec.param_shapes())  # momentum buffers are committed tensors
    assert verify_step_proof(proof, circuit, allow_dev_srs=True).ok
    raw = bytearray(proof.proof)
    raw[len(raw) // 2] ^= 1
    verdict = verify_step_proof(dataclasses.replace(proof, proof=bytes(raw)), circuit, True)
    assert (verdict.ok, verdict.reason) == (False, "proof_invalid")
