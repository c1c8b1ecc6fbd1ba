"""Export one SGD step of a spec to ONNX (trainer side; imports torch).

The graph computes, for an MLP with ReLU hidden layers and mean softmax cross-entropy:

* forward  ``z_i = a_{i-1} W_i^T + b_i``, ``a_i = relu(z_i)``,
  ``p = softmax(max(z_L - rowmax(z_L), -SOFTMAX_CLAMP))``;
* the loss gradient already multiplied by the learning rate, ``g_L = (p - y) * (lr / B)``;
* backward ``G_i = g_i^T a_{i-1}``, ``gb_i = sum_rows(g_i)``,
  ``g_{i-1} = (g_i W_i) * [z_{i-1} > 0]``, so that ``G_i = lr * dL/dW_i``;
* update ``W_i' = W_i - G_i``, ``b_i' = b_i - gb_i`` (plain SGD, no momentum or weight decay).

Folding ``lr`` into the ``(B, classes)`` loss gradient instead of multiplying every ``dW`` by it is
the same SGD step (the backward pass is linear in the gradient) and saves one constant product and
one fixed-point rescale per parameter: a third of the digits circuit's rows (``docs/performance.md``).

The clamp keeps every input of the circuit's exp lookup inside ``[-SOFTMAX_CLAMP, 0]``, so the
lookup table is small and no honest step can fall outside it; softmax is shift-invariant, and the
clamp changes a probability only when a logit trails the largest by more than 8, by at most
``exp(-8) = 3.4e-4``.

The backward pass is written out explicitly rather than traced from autograd: ezkl compiles these ops
(MatMul, Relu, Softmax, Greater, Mul, ReduceSum, Sub), and the constant ``lr / B`` comes from
the spec in Python, never from tensor shapes. Graph inputs are the parameters in
:meth:`ModelSpec.param_shapes` order, then ``x`` ``(B, in)`` and one-hot ``y`` ``(B, classes)``; the
outputs are the updated parameters in the same order.

``tests/test_export.py`` checks the ONNX step (onnxruntime) against ``torch.optim.SGD`` to 1e-5.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pot.errors import ExportError
from pot.spec import ModelSpec

ONNX_OPSET = 17
SOFTMAX_CLAMP = 8  # logit gap below which softmax inputs are clamped (natural-log units)


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ExportError("exporting a step needs torch: pip install 'pot[train]'") from e
    return torch


def _forward(torch: Any, ws: Any, bs: Any, x: Any) -> tuple[list[Any], list[Any], Any]:
    """Forward pass: ``(acts, pre, p)`` with ``acts = [x, a_1, ...]``, ``pre = [z_1, ..., z_L]``
    and the clamped softmax ``p`` ``(B, classes)``."""
    n_layers = len(ws)
    acts, pre = [x], []
    for i in range(n_layers):
        z = acts[-1] @ ws[i].t() + bs[i]
        pre.append(z)
        acts.append(torch.relu(z) if i < n_layers - 1 else z)
    logits = pre[-1]
    shifted = logits - logits.max(dim=1, keepdim=True).values
    return acts, pre, torch.softmax(torch.clamp(shifted, min=-float(SOFTMAX_CLAMP)), dim=1)


def _backward(ws: Any, bs: Any, acts: list[Any], gates: list[Any], g: Any, lr: float | None) -> list[Any]:
    """Backward pass and update: the new parameters in :meth:`ModelSpec.param_shapes` order.

    ``gates[i - 1] > 0`` is the ReLU mask of hidden layer ``i`` (``z_i`` or ``a_i``: the same mask);
    ``lr`` multiplies each weight's gradient, or ``None`` when it is already folded into ``g``.
    """
    n_layers = len(ws)
    new: list[Any] = [None] * (2 * n_layers)
    for i in reversed(range(n_layers)):
        step_w = g.t() @ acts[i]
        step_b = g.sum(0)
        if i > 0:
            g = (g @ ws[i]) * (gates[i - 1] > 0).to(g.dtype)
        if lr is None:
            new[2 * i], new[2 * i + 1] = ws[i] - step_w, bs[i] - step_b
        else:
            new[2 * i] = ws[i] - lr * step_w
            new[2 * i + 1] = bs[i] - lr * step_b
    return new


def step_module(spec: ModelSpec, fold_lr: bool = True) -> Any:
    """A ``torch.nn.Module`` whose forward is one SGD step of ``spec`` (see the module docstring).

    ``fold_lr=False`` gives the textbook graph, ``W' = W - lr * ((p - y) / B)^T a``, with the
    learning rate applied to every weight's gradient: the same step, with more rows; it is the
    naive baseline of ``benchmarks/prove_cost.py``.
    """
    torch = _torch()
    n_layers = len(spec.layers) - 1
    lr_over_batch = float(spec.lr / spec.batch_size) if fold_lr else 1.0 / spec.batch_size
    lr = None if fold_lr else float(spec.lr)

    class SGDStep(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, *tensors: Any) -> tuple[Any, ...]:
            params = tensors[: 2 * n_layers]
            x, y = tensors[2 * n_layers], tensors[2 * n_layers + 1]
            ws, bs = params[0::2], params[1::2]
            acts, pre, p = _forward(torch, ws, bs, x)
            return tuple(_backward(ws, bs, acts, pre[:-1], (p - y) * lr_over_batch, lr))

    return SGDStep()


def split_modules(spec: ModelSpec) -> tuple[Any, Any]:
    """The step of :func:`step_module` cut into two graphs, for proof splitting (benchmark only).

    * forward: ``(params..., x) -> (a_1, ..., a_{L-1}, p)``, the hidden activations and the
      clamped softmax ``p`` ``(B, classes)``;
    * backward: ``(params..., x, y, a_1, ..., a_{L-1}, p) -> (params'...)``: the loss gradient
      ``g = (p - y) * lr / B``, then the backward pass with the ReLU masks taken from ``a_i > 0``.

    The cut is at ``p`` rather than ``g``: ezkl keeps ``g`` at a finer scale inside one circuit, and
    cutting there would round it to the input scale.

    Chained, they compute exactly :func:`step_module`'s step. Proven separately, the two proofs are
    linked by the KZG points of the tensors they share (forward outputs = backward inputs), which
    needs both circuits at the same logrows (a point depends on the domain size).
    ``benchmarks/prove_cost.py --configs split`` measures what that costs.
    """
    torch = _torch()
    n_layers = len(spec.layers) - 1
    lr_over_batch = float(spec.lr / spec.batch_size)

    class Forward(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, *tensors: Any) -> tuple[Any, ...]:
            ws, bs = tensors[0 : 2 * n_layers : 2], tensors[1 : 2 * n_layers : 2]
            acts, _, p = _forward(torch, ws, bs, tensors[2 * n_layers])
            return (*acts[1:-1], p)

    class Backward(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, *tensors: Any) -> tuple[Any, ...]:
            ws, bs = tensors[0 : 2 * n_layers : 2], tensors[1 : 2 * n_layers : 2]
            x, y = tensors[2 * n_layers], tensors[2 * n_layers + 1]
            hidden, p = list(tensors[2 * n_layers + 2 : -1]), tensors[-1]
            return tuple(_backward(ws, bs, [x, *hidden], hidden, (p - y) * lr_over_batch, None))

    return Forward(), Backward()


def input_names(spec: ModelSpec) -> list[str]:
    """Graph input names: parameters, then ``x`` and ``y``."""
    return [name for name, _ in spec.param_shapes()] + ["x", "y"]


def _export(module: Any, args: list[Any], path: Path, inputs: list[str], outputs: list[str],
            what: str) -> None:
    torch = _torch()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # legacy exporter, on purpose
            torch.onnx.export(module, tuple(args), str(path), opset_version=ONNX_OPSET, dynamo=False,
                              input_names=inputs, output_names=outputs)
    except Exception as e:  # torch raises many unrelated types here
        raise ExportError(f"ONNX export of {what} failed: {e}") from e


def export_step(spec: ModelSpec, path: Path, fold_lr: bool = True) -> None:
    """Write the ONNX graph of one SGD step of ``spec`` to ``path`` (opset 17); ``fold_lr`` as in
    :func:`step_module`.

    Raises
    ------
    ExportError
        If torch's exporter fails.
    """
    torch = _torch()
    args = [torch.zeros(shape) for _, shape in spec.param_shapes()]
    args += [torch.zeros(spec.batch_size, spec.n_features),
             torch.zeros(spec.batch_size, spec.n_classes)]
    outputs = [f"{name}_next" for name, _ in spec.param_shapes()]
    _export(step_module(spec, fold_lr), args, path, input_names(spec), outputs, f"spec {spec.name!r}")


def export_split(spec: ModelSpec, forward_path: Path, backward_path: Path) -> None:
    """Write the two ONNX graphs of :func:`split_modules` (opset 17).

    Forward inputs are the parameters and ``x``; its outputs ``a1 .. a{L-1}`` and ``p``. Backward
    inputs are the parameters, ``x``, ``y``, ``a1 .. a{L-1}`` and ``p``; its outputs the updated
    parameters.

    Raises
    ------
    ExportError
        If torch's exporter fails.
    """
    torch = _torch()
    forward, backward = split_modules(spec)
    params = [torch.zeros(shape) for _, shape in spec.param_shapes()]
    x = torch.zeros(spec.batch_size, spec.n_features)
    hidden = [f"a{i}" for i in range(1, len(spec.layers) - 1)]
    acts = [torch.zeros(spec.batch_size, w) for w in spec.layers[1:-1]]
    y = torch.zeros(spec.batch_size, spec.n_classes)
    names = [name for name, _ in spec.param_shapes()]
    _export(forward, [*params, x], forward_path, [*names, "x"], [*hidden, "p"],
            f"the forward half of spec {spec.name!r}")
    _export(backward, [*params, x, y, *acts, torch.zeros_like(y)], backward_path,
            [*names, "x", "y", *hidden, "p"], [f"{name}_next" for name in names],
            f"the backward half of spec {spec.name!r}")


def torch_sgd_step(
    spec: ModelSpec, params: dict[str, np.ndarray], x: np.ndarray, y_onehot: np.ndarray
) -> dict[str, np.ndarray]:
    """Reference: one ``torch.optim.SGD`` step of the spec's model in float64.

    Parameters
    ----------
    params
        Float parameters by name, shapes as in :meth:`ModelSpec.param_shapes`.
    x, y_onehot
        ``(B, in)`` and ``(B, classes)``.

    Returns
    -------
    dict
        The updated float64 parameters.
    """
    torch = _torch()
    layers: list[Any] = []
    for i in range(1, len(spec.layers)):
        lin = torch.nn.Linear(spec.layers[i - 1], spec.layers[i]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.asarray(params[f"w{i}"], dtype=np.float64)))
            lin.bias.copy_(torch.from_numpy(np.asarray(params[f"b{i}"], dtype=np.float64)))
        layers.append(lin)
        if i < len(spec.layers) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=float(spec.lr))
    opt.zero_grad()
    logits = model(torch.from_numpy(np.asarray(x, dtype=np.float64)))
    target = torch.from_numpy(np.asarray(y_onehot, dtype=np.float64))
    loss = torch.nn.functional.cross_entropy(logits, target)
    loss.backward()
    opt.step()
    out: dict[str, np.ndarray] = {}
    for i, lin in enumerate((m for m in layers if isinstance(m, torch.nn.Linear)), start=1):
        out[f"w{i}"] = lin.weight.detach().numpy().copy()
        out[f"b{i}"] = lin.bias.detach().numpy().copy()
    return out
