"""The exported ONNX SGD step matches torch.optim.SGD on the same model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from pot.data import batch_arrays, dequantize, initial_checkpoint, load_dataset
from pot.export import export_split, export_step, input_names, torch_sgd_step
from pot.spec import load_spec

# float32 ONNX against float64 torch: the step's rounding error is far below this.
ONNX_VS_TORCH_ATOL = 1e-5


@pytest.mark.parametrize("name", ["mlp-tiny", "mlp-digits"])
def test_onnx_step_matches_torch_sgd(name: str, tmp_path: Path) -> None:
    spec = load_spec(name)
    path = tmp_path / "network.onnx"
    export_step(spec, path)
    data = load_dataset(spec.dataset)
    x, y = batch_arrays(data, list(range(40, 40 + spec.batch_size)), spec)
    params = {k: dequantize(v, spec.scale) for k, v in initial_checkpoint(spec).items()}
    feeds = {k: v.astype(np.float32) for k, v in params.items()}
    feeds.update(x=x.astype(np.float32), y=y.astype(np.float32))
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == input_names(spec)
    outputs = session.run(None, feeds)
    reference = torch_sgd_step(spec, params, x, y)
    for (pname, shape), got in zip(spec.param_shapes(), outputs, strict=True):
        assert got.shape == shape
        np.testing.assert_allclose(got, reference[pname], atol=ONNX_VS_TORCH_ATOL, rtol=0)
        # The step really moved the weights (so the comparison is not vacuous).
    assert np.abs(reference["w1"] - params["w1"]).max() > 100 * ONNX_VS_TORCH_ATOL


@pytest.mark.parametrize("name", ["mlp-tiny", "mlp-digits"])
def test_split_halves_chain_to_the_step(name: str, tmp_path: Path) -> None:
    # The forward and backward graphs of the proof-splitting benchmark, run one after the other,
    # compute the step's graph: the same float32 ops, so the same outputs to float32 rounding.
    spec = load_spec(name)
    export_step(spec, tmp_path / "step.onnx")
    export_split(spec, tmp_path / "forward.onnx", tmp_path / "backward.onnx")
    data = load_dataset(spec.dataset)
    x, y = batch_arrays(data, list(range(spec.batch_size)), spec)
    feeds = {k: dequantize(v, spec.scale).astype(np.float32) for k, v in initial_checkpoint(spec).items()}
    feeds.update(x=x.astype(np.float32))
    forward = ort.InferenceSession(str(tmp_path / "forward.onnx"))
    shared = forward.run(None, feeds)
    hidden = [f"a{i}" for i in range(1, len(spec.layers) - 1)]
    assert [o.name for o in forward.get_outputs()] == [*hidden, "p"]
    np.testing.assert_allclose(shared[-1].sum(axis=1), 1.0, atol=1e-6)  # p is a softmax
    backward = ort.InferenceSession(str(tmp_path / "backward.onnx"))
    chained = backward.run(None, {**feeds, "y": y.astype(np.float32),
                                  **{o.name: v for o, v in zip(forward.get_outputs(), shared, strict=True)}})
    whole = ort.InferenceSession(str(tmp_path / "step.onnx")).run(None, {**feeds, "y": y.astype(np.float32)})
    for got, want in zip(chained, whole, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    assert np.abs(whole[0] - feeds["w1"]).max() > 1e-4  # the step moved the weights
