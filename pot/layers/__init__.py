"""The layer library: every layer, loss and optimizer pot can prove, one entry each.

Each layer entry (:mod:`pot.layers.linear`, ``relu``, ``flatten``, ``conv2d``, ``pool``) holds its
forward, its explicit backward, its parameters' shapes and initialisation, its output shape and the
ONNX operators its circuit needs (:class:`pot.layers.base.Layer`). :mod:`pot.layers.losses` holds
the losses and :mod:`pot.layers.sgd` the optimizer. :mod:`pot.export` assembles one SGD step from
these entries; nothing is written per model.

What pot cannot prove is refused by name before any work (:data:`REFUSED`), with the reason.
"""

from __future__ import annotations

from typing import Any

from pot.errors import SpecError
from pot.layers.base import Layer, Param, Shape
from pot.layers.conv2d import Conv2d
from pot.layers.flatten import Flatten
from pot.layers.linear import Linear
from pot.layers.losses import LOSSES, SOFTMAX_CLAMP, Loss
from pot.layers.pool import AvgPool2d, MaxPool2d
from pot.layers.relu import ReLU
from pot.layers.sgd import MOMENTUM_PREFIX, SGD

LAYERS: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (Linear, ReLU, Flatten, Conv2d, AvgPool2d, MaxPool2d)}

# What pot refuses, by the name a spec or a torch module uses, and why (lower-case keys).
REFUSED: dict[str, str] = {
    "tanh": "no proven tanh backward (it needs a second lookup table); use relu",
    "sigmoid": "no proven sigmoid backward (it needs a second lookup table); use relu",
    "gelu": "no proven gelu; use relu",
    "leakyrelu": "no proven leaky relu; use relu",
    "softmax": "softmax is part of the softmax_cross_entropy loss, not a layer",
    "dropout": "dropout is random; a proven step must be deterministic",
    "batchnorm1d": "no proven batch norm (it divides by a batch statistic)",
    "batchnorm2d": "no proven batch norm (it divides by a batch statistic)",
    "layernorm": "no proven layer norm (it divides by a statistic)",
    "conv1d": "only conv2d is proven",
    "embedding": "no proven embedding",
    "lstm": "no proven recurrent layer",
    "gru": "no proven recurrent layer",
    "adam": "only SGD (with momentum and weight decay) is proven",
    "adamw": "only SGD (with momentum and weight decay) is proven",
    "rmsprop": "only SGD (with momentum and weight decay) is proven",
    "adagrad": "only SGD (with momentum and weight decay) is proven",
}


def refuse(kind: str, what: str) -> SpecError:
    """The :class:`SpecError` for an unsupported ``kind`` of ``what`` (layer, loss, optimizer)."""
    reason = REFUSED.get(kind.lower().replace("_", ""))
    supported = {"layer": sorted(LAYERS), "loss": sorted(LOSSES), "optimizer": ["sgd"]}[what]
    why = f": {reason}" if reason else ""
    return SpecError(f"unsupported {what} {kind!r}{why}; pot proves {', '.join(supported)}")


def layer_from_json(obj: Any) -> Layer:
    """The entry of one layer object ``{"type": ..., ...}``.

    Raises
    ------
    SpecError
        If it is not an object, its type is not proven (naming it), or a key is bad.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise SpecError(f"a layer must be an object with a string 'type', got {obj!r}")
    cls = LAYERS.get(obj["type"])
    if cls is None:
        raise refuse(obj["type"], "layer")
    return cls.from_json(obj)


def layer_from_torch(torch: Any, module: Any) -> Layer:
    """The entry matching one ``torch.nn`` module of a ``Sequential``.

    Raises
    ------
    SpecError
        If the module type is not proven (naming it) or uses an option pot does not prove
        (bias off, dilation, groups, ceil mode, ...).
    """
    nn = torch.nn
    name = type(module).__name__
    if isinstance(module, nn.Linear):
        if module.bias is None:
            raise SpecError("Linear without bias is not supported; pot's linear has a bias")
        return Linear(module.out_features)
    if isinstance(module, nn.ReLU):
        return ReLU()
    if isinstance(module, nn.Flatten):
        if module.start_dim != 1 or module.end_dim != -1:
            raise SpecError("Flatten must flatten all but the batch dimension (start_dim=1)")
        return Flatten()
    if isinstance(module, nn.Conv2d):
        if (module.bias is None or module.groups != 1 or tuple(module.dilation) != (1, 1)
                or module.padding_mode != "zeros" or isinstance(module.padding, str)):
            raise SpecError("Conv2d: pot proves bias on, groups 1, dilation 1, numeric zero "
                            "padding")
        return Conv2d(module.out_channels, tuple(module.kernel_size),
                      tuple(module.stride), tuple(module.padding))
    if isinstance(module, nn.MaxPool2d):
        k = module.kernel_size
        if not isinstance(k, int):
            if len(set(k)) != 1:
                raise SpecError("MaxPool2d: pot proves square windows only")
            k = k[0]
        if module.ceil_mode or module.dilation not in (1, (1, 1)) or module.return_indices:
            raise SpecError("MaxPool2d: ceil_mode, dilation and return_indices are not supported")
        stride, padding = module.stride, module.padding
        return MaxPool2d.from_json({
            "type": "maxpool2d", "kernel_size": k,
            "stride": list(stride) if isinstance(stride, tuple | list) else stride,
            "padding": list(padding) if isinstance(padding, tuple | list) else padding})
    if isinstance(module, nn.AvgPool2d):
        k = module.kernel_size
        if not isinstance(k, int):
            if len(set(k)) != 1:
                raise SpecError("AvgPool2d: pot proves square windows only")
            k = k[0]
        if module.ceil_mode:
            raise SpecError("AvgPool2d: ceil_mode is not supported")
        stride, padding = module.stride, module.padding
        return AvgPool2d.from_json({
            "type": "avgpool2d", "kernel_size": k,
            "stride": list(stride) if isinstance(stride, tuple | list) else stride,
            "padding": list(padding) if isinstance(padding, tuple | list) else padding})
    raise refuse(name, "layer")


__all__ = [
    "LAYERS", "LOSSES", "MOMENTUM_PREFIX", "REFUSED", "SGD", "SOFTMAX_CLAMP", "AvgPool2d", "Conv2d",
    "Flatten", "Layer", "Linear", "Loss", "MaxPool2d", "Param", "ReLU", "Shape", "layer_from_json",
    "layer_from_torch", "refuse",
]
