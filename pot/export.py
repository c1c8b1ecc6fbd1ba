"""Export one SGD step of a spec to ONNX (trainer side; imports torch).

The step is assembled from the layer library's entries (:mod:`pot.layers`), never written per
model. With layers ``f_1 .. f_L``, parameters ``theta_i``, loss head ``h`` and factor ``c``
(:mod:`pot.layers.losses`):

* forward  ``a_0 = reshape(x, (B, *input_shape))``, ``a_i = f_i(theta_i, a_{i-1})``;
* the loss gradient already multiplied by the learning rate, ``g_L = (h(a_L) - y) * (lr * c)``
  (``c = 1/B`` for softmax cross-entropy, ``2/(B n)`` for MSE);
* backward ``(g_{i-1}, G_i) = f_i.backward(theta_i, a_{i-1}, a_i, g_i)``, so that
  ``G_i = lr * dL/dtheta_i`` (the first layer's input gradient is not computed);
* update  :class:`pot.layers.SGD`: weight decay, momentum (buffers ``m_<name>`` are state
  tensors that chain from step to step), ``theta_i' = theta_i - G_i`` (or ``- V_i'``).

Folding ``lr`` into the ``(B, n)`` loss gradient instead of multiplying every ``dW`` by it is the
same SGD step (the backward pass is linear in the gradient) and saves one constant product and
one fixed-point rescale per parameter: a third of the digits circuit's rows (``docs/performance.md``).

The backward pass is written out explicitly rather than traced from autograd, so every op is one
ezkl compiles (each entry lists its ``onnx_ops``), and constants such as ``lr / B`` come from the
spec in Python, never from tensor shapes. Graph inputs are the state tensors in
:meth:`ModelSpec.param_shapes` order, then ``x`` ``(B, n_features)`` (flat) and ``y``
``(B, n_outputs)`` (one-hot labels, or regression targets); the outputs are the next state in the
same order, named ``<name>_next``.

The per-layer pieces (:func:`forward_pass`, :func:`backward_pass`, :func:`loss_gradient`,
:func:`update`) take explicit tensors, so a step can be cut per layer into shards.

``tests/test_layers.py`` holds every layer, loss and optimizer option against torch autograd and
``torch.optim.SGD``; ``tests/test_export.py`` the zoo's steps.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pot.errors import ExportError
from pot.layers import LOSSES, MOMENTUM_PREFIX, SOFTMAX_CLAMP, Linear, ReLU
from pot.spec import ModelSpec

ONNX_OPSET = 17
__all__ = ["ONNX_OPSET", "SOFTMAX_CLAMP", "backward_pass", "export_split", "export_step",
           "forward_pass", "input_names", "layer_tensors", "loss_gradient", "predict",
           "step_module", "torch_sgd_step", "update"]


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ExportError("exporting a step needs torch: pip install 'pot[train]'") from e
    return torch


def layer_tensors(spec: ModelSpec, state: dict[str, Any]) -> list[list[Any]]:
    """The trainable tensors of each layer, from state tensors by name (``[]`` for none)."""
    return [[state[name] for name, _ in spec.layer_params(i)] for i in range(len(spec.layers))]


def forward_pass(torch: Any, spec: ModelSpec, params: list[list[Any]], x: Any) -> list[Any]:
    """``[a_0, a_1, ..., a_L]``: the reshaped input and every layer's output, batch first.

    Parameters
    ----------
    params
        Per-layer trainable tensors (:func:`layer_tensors`).
    x
        ``(B, n_features)``, flat.
    """
    acts = [x.reshape(spec.batch_size, *spec.input_shape) if len(spec.input_shape) > 1 else x]
    for layer, theta in zip(spec.layers, params, strict=True):
        acts.append(layer.forward(torch, theta, acts[-1]))
    return acts


def loss_gradient(torch: Any, spec: ModelSpec, z: Any, y: Any, fold_lr: bool = True) -> Any:
    """``dL/dz`` ``(B, n_outputs)`` of the spec's loss, times ``lr`` when ``fold_lr``."""
    loss = LOSSES[spec.loss]
    factor = loss.factor(spec.batch_size, spec.n_outputs) * (spec.lr if fold_lr else 1)
    return loss.grad(torch, loss.head(torch, z), y, float(factor))


def backward_pass(torch: Any, spec: ModelSpec, params: list[list[Any]], acts: list[Any],
                  g: Any) -> list[list[Any]]:
    """Each layer's parameter gradients (scaled as ``g`` is), from the last layer's ``g``."""
    grads: list[list[Any]] = [[] for _ in spec.layers]
    for i in reversed(range(len(spec.layers))):
        g, grads[i] = spec.layers[i].backward(torch, params[i], acts[i], acts[i + 1], g,
                                              need_input=i > 0)
    return grads


def update(torch: Any, spec: ModelSpec, state: dict[str, Any], grads: list[list[Any]],
           fold_lr: bool = True) -> dict[str, Any]:
    """The next state (parameters and momentum buffers) by name."""
    opt = spec.optimizer
    out: dict[str, Any] = {}
    for i in range(len(spec.layers)):
        for (name, _), grad in zip(spec.layer_params(i), grads[i], strict=True):
            buf = state.get(MOMENTUM_PREFIX + name) if opt.momentum else None
            out[name], v_next = opt.update(torch, state[name], grad, buf, folded=fold_lr)
            if v_next is not None:
                out[MOMENTUM_PREFIX + name] = v_next
    return out


def step_module(spec: ModelSpec, fold_lr: bool = True) -> Any:
    """A ``torch.nn.Module`` whose forward is one SGD step of ``spec`` (see the module docstring).

    ``fold_lr=False`` gives the textbook graph, with the learning rate applied to every
    parameter's gradient: the same step, with more rows; it is the naive baseline of
    ``benchmarks/prove_cost.py``.
    """
    torch = _torch()
    names = [name for name, _ in spec.param_shapes()]

    class SGDStep(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, *tensors: Any) -> tuple[Any, ...]:
            state = dict(zip(names, tensors[: len(names)], strict=True))
            x, y = tensors[len(names)], tensors[len(names) + 1]
            params = layer_tensors(spec, state)
            acts = forward_pass(torch, spec, params, x)
            g = loss_gradient(torch, spec, acts[-1], y, fold_lr)
            nxt = update(torch, spec, state, backward_pass(torch, spec, params, acts, g), fold_lr)
            return tuple(nxt[name] for name in names)

    return SGDStep()


def _mlp_widths(spec: ModelSpec) -> list[int]:
    """Widths of a plain MLP spec (linear, relu, linear, ..., linear); ExportError otherwise."""
    kinds = [type(layer) for layer in spec.layers]
    want = [Linear if i % 2 == 0 else ReLU for i in range(len(kinds))]
    if kinds != want or len(kinds) % 2 == 0 or Linear is not kinds[-1] or spec.optimizer.momentum \
            or spec.optimizer.weight_decay or not spec.classifies:
        raise ExportError(f"spec {spec.name!r}: the split benchmark takes plain-SGD "
                          "cross-entropy MLPs only")
    return [spec.n_features] + [spec.shapes[i + 1][0] for i in range(0, len(kinds), 2)]


def split_modules(spec: ModelSpec) -> tuple[Any, Any]:
    """The step of :func:`step_module` cut into two graphs, for proof splitting (benchmark only;
    plain-SGD cross-entropy MLPs).

    * forward: ``(params..., x) -> (a_1, ..., a_{L-1}, p)``, the hidden (ReLU) activations and
      the clamped softmax ``p`` ``(B, classes)``;
    * backward: ``(params..., x, y, a_1, ..., a_{L-1}, p) -> (params'...)``: the loss gradient
      ``g = (p - y) * lr / B``, then the backward pass, the ReLU masks taken from ``a_i > 0``.

    The cut is at ``p`` rather than ``g``: ezkl keeps ``g`` at a finer scale inside one circuit, and
    cutting there would round it to the input scale. Proven separately, the two proofs are linked
    by the KZG points of the tensors they share, which needs both circuits at the same logrows.
    """
    torch = _torch()
    _mlp_widths(spec)
    names = [name for name, _ in spec.param_shapes()]
    loss = LOSSES[spec.loss]
    factor = float(loss.factor(spec.batch_size, spec.n_outputs) * spec.lr)

    class Forward(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, *tensors: Any) -> tuple[Any, ...]:
            params = layer_tensors(spec, dict(zip(names, tensors, strict=False)))
            acts = forward_pass(torch, spec, params, tensors[len(names)])
            return (*acts[2:-1:2], loss.head(torch, acts[-1]))

    class Backward(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, *tensors: Any) -> tuple[Any, ...]:
            state = dict(zip(names, tensors, strict=False))
            params = layer_tensors(spec, state)
            x, y = tensors[len(names)], tensors[len(names) + 1]
            hidden, p = list(tensors[len(names) + 2: -1]), tensors[-1]
            acts: list[Any] = [x]
            for a in hidden:  # linear outputs are not needed by the backward pass
                acts += [None, a]
            acts.append(None)
            grads = backward_pass(torch, spec, params, acts, loss.grad(torch, p, y, factor))
            nxt = update(torch, spec, state, grads)
            return tuple(nxt[name] for name in names)

    return Forward(), Backward()


def input_names(spec: ModelSpec) -> list[str]:
    """Graph input names: the state tensors, then ``x`` and ``y``."""
    return [name for name, _ in spec.param_shapes()] + ["x", "y"]


def _export(module: Any, args: list[Any], path: Path, inputs: list[str], outputs: list[str],
            what: str) -> None:
    torch = _torch()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # legacy exporter on purpose; tracer shape notes
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
             torch.zeros(spec.batch_size, spec.n_outputs)]
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
        If the spec is not a plain MLP, or torch's exporter fails.
    """
    torch = _torch()
    widths = _mlp_widths(spec)
    forward, backward = split_modules(spec)
    params = [torch.zeros(shape) for _, shape in spec.param_shapes()]
    x = torch.zeros(spec.batch_size, spec.n_features)
    hidden = [f"a{i}" for i in range(1, len(widths) - 1)]
    acts = [torch.zeros(spec.batch_size, w) for w in widths[1:-1]]
    y = torch.zeros(spec.batch_size, spec.n_classes)
    names = [name for name, _ in spec.param_shapes()]
    _export(forward, [*params, x], forward_path, [*names, "x"], [*hidden, "p"],
            f"the forward half of spec {spec.name!r}")
    _export(backward, [*params, x, y, *acts, torch.zeros_like(y)], backward_path,
            [*names, "x", "y", *hidden, "p"], [f"{name}_next" for name in names],
            f"the backward half of spec {spec.name!r}")


def torch_model(spec: ModelSpec, params: dict[str, np.ndarray]) -> Any:
    """The spec's model as a float64 ``torch.nn.Sequential`` holding ``params`` (the reference)."""
    torch = _torch()
    modules = []
    for i, layer in enumerate(spec.layers):
        module = layer.to_torch(torch, spec.shapes[i]).double()
        named = spec.layer_params(i)
        if named:
            with torch.no_grad():
                module.weight.copy_(torch.from_numpy(np.asarray(params[named[0][0]], np.float64)))
                module.bias.copy_(torch.from_numpy(np.asarray(params[named[1][0]], np.float64)))
        modules.append(module)
    return torch.nn.Sequential(*modules)


def predict(spec: ModelSpec, params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``(n, n_outputs)`` float64 outputs of the model with float ``params`` on flat ``x``."""
    torch = _torch()
    model = torch_model(spec, params)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64)).reshape(-1, *spec.input_shape)
    with torch.no_grad():
        return np.asarray(model(xt).numpy())


def torch_sgd_step(
    spec: ModelSpec, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> dict[str, np.ndarray]:
    """Reference: one ``torch.optim.SGD`` step of the spec's model in float64, by autograd.

    Parameters
    ----------
    params
        Float state by name, shapes as in :meth:`ModelSpec.param_shapes` (with momentum, the
        buffers ``m_<name>`` hold ``lr * buf`` in torch's terms, see :mod:`pot.layers.sgd`).
    x, y
        ``(B, n_features)`` and ``(B, n_outputs)`` (one-hot labels, or targets).

    Returns
    -------
    dict
        The next float64 state.
    """
    torch = _torch()
    model = torch_model(spec, params)
    opt = spec.optimizer
    sgd = torch.optim.SGD(model.parameters(), lr=float(opt.lr), momentum=float(opt.momentum),
                          weight_decay=float(opt.weight_decay))
    names = [name for name, _ in spec.trainable_shapes()]
    tensors = [p for module in model if hasattr(module, "weight")
               for p in (module.weight, module.bias)]
    if opt.momentum:
        for name, p in zip(names, tensors, strict=True):
            buf = np.asarray(params[MOMENTUM_PREFIX + name], np.float64) / float(opt.lr)
            sgd.state[p]["momentum_buffer"] = torch.from_numpy(buf.copy())
    sgd.zero_grad()
    out_z = model(torch.from_numpy(np.asarray(x, dtype=np.float64)).reshape(-1, *spec.input_shape))
    loss = LOSSES[spec.loss].torch_loss(torch, out_z, torch.from_numpy(np.asarray(y, np.float64)))
    loss.backward()
    sgd.step()
    out: dict[str, np.ndarray] = {}
    for name, p in zip(names, tensors, strict=True):
        out[name] = p.detach().numpy().copy()
        if opt.momentum:
            out[MOMENTUM_PREFIX + name] = sgd.state[p]["momentum_buffer"].numpy() * float(opt.lr)
    return out
