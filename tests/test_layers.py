"""Every layer, loss and optimizer option of pot.layers against torch autograd + torch.optim.SGD.

Each case exports pot's explicit step (``pot.export``), runs it in onnxruntime (float32) on random
state and data, and compares it with one ``torch.optim.SGD`` step of the same ``nn.Sequential``
computed by autograd in float64: two steps in a row, so momentum buffers are seen to chain.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch

from pot.errors import SpecError
from pot.export import export_step, input_names, torch_sgd_step
from pot.spec import ModelSpec, load_spec

# float32 onnxruntime against float64 torch, on values of order 1.
ATOL, RTOL = 2e-5, 2e-4

MODELS: dict[str, tuple[list[int], list[dict[str, Any]]]] = {
    "linear": ([5], [{"type": "linear", "out_features": 3}]),
    "mlp-relu": ([7], [{"type": "linear", "out_features": 6}, {"type": "relu"},
                       {"type": "linear", "out_features": 4}]),
    "conv-relu-avgpool-flatten-linear": (
        [2, 6, 6], [{"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1},
                    {"type": "relu"}, {"type": "avgpool2d", "kernel_size": 2}, {"type": "flatten"},
                    {"type": "linear", "out_features": 3}]),
    "conv-stride-conv": (  # the second conv needs the first's input gradient (ConvTranspose)
        [1, 7, 7], [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "stride": 2},
                    {"type": "relu"}, {"type": "conv2d", "out_channels": 2, "kernel_size": 2},
                    {"type": "flatten"}, {"type": "linear", "out_features": 2}]),
    "conv-relu-maxpool-conv": (  # max pooling feeding a conv: its backward is needed
        [1, 6, 6], [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
                    {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
                    {"type": "conv2d", "out_channels": 2, "kernel_size": 2},
                    {"type": "flatten"}, {"type": "linear", "out_features": 3}]),
    "conv-pairs-pool-conv": (  # non-square kernel, stride and padding; pool feeding a conv
        [2, 8, 9], [{"type": "conv2d", "out_channels": 2, "kernel_size": [3, 2],
                     "stride": [1, 2], "padding": [1, 0]},
                    {"type": "avgpool2d", "kernel_size": 2},
                    {"type": "conv2d", "out_channels": 3, "kernel_size": 2, "padding": 1},
                    {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 4}]),
}
OPTIMIZERS = {"sgd": ("0", "0"), "momentum": ("0.875", "0"), "weight-decay": ("0", "0.0625"),
              "momentum+weight-decay": ("0.5", "0.03125")}


def make_spec(model: str, loss: str, momentum: str, weight_decay: str, batch: int = 3) -> ModelSpec:
    shape, layers = MODELS[model]
    return ModelSpec.from_json({
        "version": "pot.spec/2", "name": f"t-{model}", "input_shape": shape, "layers": layers,
        "loss": loss, "batch_size": batch, "scale": 13, "init_seed": 0,
        "optimizer": {"type": "sgd", "learning_rate": "0.25", "momentum": momentum,
                      "weight_decay": weight_decay}})


def random_case(spec: ModelSpec, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    state = {name: rng.uniform(-0.5, 0.5, shape) for name, shape in spec.param_shapes()}
    x = rng.uniform(-1, 1, (spec.batch_size, spec.n_features))
    if spec.classifies:
        y = np.eye(spec.n_outputs)[rng.integers(0, spec.n_outputs, spec.batch_size)]
    else:
        y = rng.uniform(-1, 1, (spec.batch_size, spec.n_outputs))
    return state, x, y


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "mse"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_exported_step_matches_torch_autograd_and_sgd(model: str, loss: str, optimizer: str,
                                                      tmp_path: Path) -> None:
    spec = make_spec(model, loss, *OPTIMIZERS[optimizer])
    path = tmp_path / "network.onnx"
    export_step(spec, path)
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == input_names(spec)
    state, x, y = random_case(spec, seed=hash((model, loss, optimizer)) % 2**32)
    if spec.optimizer.momentum:
        assert any(name.startswith("m_") for name in state)
    start = dict(state)
    reference = dict(state)
    for _ in range(2):  # two steps: the momentum buffer chains
        feeds = {k: v.astype(np.float32) for k, v in state.items()}
        feeds.update(x=x.astype(np.float32), y=y.astype(np.float32))
        outputs = session.run(None, feeds)
        reference = torch_sgd_step(spec, reference, x, y)
        state = {}
        for (name, shape), got in zip(spec.param_shapes(), outputs, strict=True):
            assert got.shape == shape
            np.testing.assert_allclose(got, reference[name], atol=ATOL, rtol=RTOL, err_msg=name)
            state[name] = got.astype(np.float64)
    moved = max(np.abs(reference[n] - start[n]).max() for n, _ in spec.trainable_shapes())
    assert moved > 100 * ATOL  # the step really moved the weights: the comparison is not vacuous


def test_momentum_buffer_is_committed_state_starting_at_zero() -> None:
    from pot.data import initial_checkpoint

    spec = make_spec("mlp-relu", "mse", "0.875", "0")
    names = [name for name, _ in spec.param_shapes()]
    assert names == ["w1", "b1", "w2", "b2", "m_w1", "m_b1", "m_w2", "m_b2"]
    assert spec.n_params == 7 * 6 + 6 + 6 * 4 + 4  # buffers are state, not parameters
    w0 = initial_checkpoint(spec)
    assert all(not w0[n].any() for n in names if n.startswith(("m_", "b")))
    assert w0["w1"].any()


def test_sequential_gives_the_same_spec_and_id_as_its_json_twin() -> None:
    shape, _ = MODELS["conv-pairs-pool-conv"]
    seq = torch.nn.Sequential(
        torch.nn.Conv2d(2, 2, (3, 2), stride=(1, 2), padding=(1, 0)), torch.nn.AvgPool2d(2),
        torch.nn.Conv2d(2, 3, 2, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(45, 4))
    from_torch = ModelSpec.from_torch(seq, name="t-conv-pairs-pool-conv", input_shape=tuple(shape),
                                      loss="mse", batch_size=3, learning_rate="0.25", scale=13,
                                      momentum="0.5", weight_decay="0.03125")
    twin = make_spec("conv-pairs-pool-conv", "mse", "0.5", "0.03125")
    assert from_torch == twin
    assert from_torch.spec_id == twin.spec_id
    # Defaults written out or left implicit, and "0.50" for "0.5", give the same id.
    verbose = json.loads(json.dumps(twin.to_json()))
    verbose["optimizer"]["momentum"] = "0.50"
    del verbose["optimizer"]["weight_decay"]
    assert ModelSpec.from_json(verbose).spec_id == make_spec("conv-pairs-pool-conv", "mse", "0.5",
                                                             "0").spec_id


@pytest.mark.parametrize(("module", "name"), [
    (torch.nn.Tanh(), "Tanh"), (torch.nn.MaxPool1d(2), "MaxPool1d"),
    (torch.nn.BatchNorm2d(2), "BatchNorm2d"), (torch.nn.Sigmoid(), "Sigmoid"),
    (torch.nn.Dropout(), "Dropout"), (torch.nn.LSTM(2, 2), "LSTM"),
])
def test_torch_module_pot_cannot_prove_is_refused_by_name(module: Any, name: str) -> None:
    seq = torch.nn.Sequential(torch.nn.Flatten(), module, torch.nn.Linear(4, 2))
    with pytest.raises(SpecError, match=f"unsupported layer '{name}'"):
        ModelSpec.from_torch(seq, name="bad", input_shape=(4,), loss="mse", batch_size=2,
                             learning_rate="0.5", scale=13)


@pytest.mark.parametrize(("patch", "message"), [
    ({"layers": [{"type": "tanh"}]}, "unsupported layer 'tanh': no proven tanh"),
    ({"layers": [{"type": "maxpool2d", "kernel_size": 2, "stride": 1}, {"type": "flatten"},
                 {"type": "linear", "out_features": 2}]}, "maxpool2d layer: pot proves only stride"),
    ({"layers": [{"type": "batchnorm2d"}]}, "unsupported layer 'batchnorm2d'"),
    ({"optimizer": {"type": "adam", "learning_rate": "0.001"}}, "unsupported optimizer 'adam'"),
    ({"loss": "huber"}, "unsupported loss 'huber'"),
    ({"optimizer": {"type": "sgd", "learning_rate": "0.1"}}, r"not a multiple of 2\*\*-16"),
    ({"optimizer": {"type": "sgd", "learning_rate": "0.5", "momentum": "1"}}, "momentum 1 must"),
    ({"optimizer": {"type": "sgd", "learning_rate": "5e-1"}}, "not a decimal string"),
    ({"input_shape": [64]}, "conv2d layer needs an input of shape"),
    ({"layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3}]},
     "the last layer's output must be flat"),
    ({"layers": [{"type": "avgpool2d", "kernel_size": 4}, {"type": "flatten"},
                 {"type": "linear", "out_features": 2}]}, "multiples of 4"),
    ({"layers": [{"type": "avgpool2d", "kernel_size": 2, "stride": 1}, {"type": "flatten"},
                 {"type": "linear", "out_features": 2}]}, "stride = kernel_size"),
    ({"layers": [{"type": "linear", "out_features": 2}]}, "linear layer needs a flat input"),
    ({"layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "dilation": 2}]},
     "unknown keys: dilation"),
    ({"version": "pot.spec/3"}, "spec version 'pot.spec/3'"),
])
def test_what_pot_cannot_prove_is_refused_before_any_work(patch: dict[str, Any], message: str) -> None:
    obj = {**make_spec("conv-relu-avgpool-flatten-linear", "mse", "0", "0").to_json(), **patch}
    with pytest.raises(SpecError, match=message):
        ModelSpec.from_json(obj)


def test_v1_spec_upgrades_to_the_same_model() -> None:
    v1 = {"activation": "relu", "batch_size": 4, "dataset": "digits4x4", "description": "",
          "init_seed": 0, "layers": [16, 8, 10], "learning_rate": "0.5",
          "loss": "softmax_cross_entropy", "name": "mlp-tiny", "scale": 13}
    spec = ModelSpec.from_json(v1)
    tiny = load_spec("mlp-tiny")
    assert spec.param_shapes() == tiny.param_shapes()
    assert spec.lr == Fraction(1, 2) and spec.layers == tiny.layers


def test_maxpool_gradient_goes_to_the_first_maximum_on_ties(tmp_path: Path) -> None:
    # Fixed point makes ties common (e.g. zeros after a ReLU); torch sends the gradient to the
    # first maximum of each window in row-major order, and so must the step.
    spec = ModelSpec.from_json({
        "version": "pot.spec/2", "name": "t-maxpool-ties", "input_shape": [1, 4, 4],
        "layers": [{"type": "conv2d", "out_channels": 1, "kernel_size": 1},
                   {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
                   {"type": "linear", "out_features": 2}],
        "loss": "mse", "batch_size": 2, "scale": 13, "init_seed": 0,
        "optimizer": {"type": "sgd", "learning_rate": "0.25"}})
    export_step(spec, tmp_path / "network.onnx")
    state = {"w1": np.ones((1, 1, 1, 1)), "b1": np.zeros(1), "w2": np.full((2, 4), 0.5),
             "b2": np.zeros(2)}
    x = np.tile(np.array([1.0, 1.0, 0.5, 0.5] * 4), (2, 1))  # every window holds a tie
    x[1, 5] = 2.0  # one window of the second sample has a strict maximum
    y = np.zeros((2, 2))
    feeds = {k: v.astype(np.float32) for k, v in {**state, "x": x, "y": y}.items()}
    got = ort.InferenceSession(str(tmp_path / "network.onnx")).run(None, feeds)
    reference = torch_sgd_step(spec, state, x, y)
    for (name, _), value in zip(spec.param_shapes(), got, strict=True):
        np.testing.assert_allclose(value, reference[name], atol=ATOL, rtol=RTOL, err_msg=name)


@pytest.mark.ezkl
@pytest.mark.parametrize("model", sorted(MODELS))
def test_circuit_witness_of_every_layer_matches_torch(model: str, tmp_path: Path) -> None:
    # onnxruntime runs the graph in float; ezkl runs it in fixed point with its own op semantics
    # (an ONNX Equal's true came out as one quantum). Compile each case (no keys: gen_settings,
    # compile, gen_witness) and hold the circuit's step against torch.
    import ezkl

    from pot.circuit import logrows_for, py_run_args, run_args
    from pot.data import dequantize, quantize
    from pot.prover import input_json, signed_felt

    spec = make_spec(model, "softmax_cross_entropy" if "conv" in model else "mse", "0.5", "0.03125",
                     batch=2)
    onnx, settings = tmp_path / "network.onnx", tmp_path / "settings.json"
    export_step(spec, onnx)
    ezkl.gen_settings(str(onnx), str(settings), py_run_args=py_run_args(run_args(spec, 15)))
    rows = json.loads(settings.read_text())["num_rows"]
    ezkl.gen_settings(str(onnx), str(settings),
                      py_run_args=py_run_args(run_args(spec, logrows_for(rows))))
    ezkl.compile_circuit(str(onnx), str(tmp_path / "model.compiled"), str(settings))
    state, x, y = random_case(spec, seed=7)
    fixed = {k: quantize(v, spec.scale) for k, v in state.items()}
    x, y = dequantize(quantize(x, spec.scale), spec.scale), dequantize(quantize(y, spec.scale),
                                                                       spec.scale)
    (tmp_path / "input.json").write_text(json.dumps(input_json(spec, fixed, x, y)))
    ezkl.gen_witness(str(tmp_path / "input.json"), str(tmp_path / "model.compiled"),
                     str(tmp_path / "witness.json"))
    outputs = json.loads((tmp_path / "witness.json").read_text())["outputs"]
    floats = {k: dequantize(v, spec.scale) for k, v in fixed.items()}
    reference = torch_sgd_step(spec, floats, x, y)
    change = max(np.abs(reference[n] - floats[n]).max() for n, _ in spec.param_shapes())
    for (name, shape), felts in zip(spec.param_shapes(), outputs, strict=True):
        got = dequantize(np.array([signed_felt(f) for f in felts]).reshape(shape), spec.scale)
        assert np.abs(got - reference[name]).max() <= 0.02 * change, (model, name)
