"""The interface every layer entry of :mod:`pot.layers` implements.

A layer entry is a small frozen dataclass holding the layer's hyperparameters (what its JSON object
says) and, side by side, its forward, its explicit backward and what its circuit needs, in the way
of tinygrad's ``function.py`` and PyTorch's ``derivatives.yaml``. Shapes passed around are one
sample's shape (no batch dimension); the tensors the callables take carry the batch first.

The callables are pure functions of explicit tensors, so that the SGD step can be cut per layer
(forward of layer i, loss, backward of layer i, update) and each piece exported on its own:

* ``forward(torch, params, x) -> y``: ``params`` the layer's trainable tensors in :meth:`params`
  order, ``x`` ``(B, *in_shape)``, ``y`` ``(B, *out_shape)``;
* ``backward(torch, params, x, y, g, need_input) -> (g_x, grads)``: ``g = dL/dy`` (already scaled
  by the learning rate in pot's step), ``grads`` one per parameter, ``g_x = dL/dx`` or ``None``
  when ``need_input`` is false (the first layer's input gradient is never needed: it saves rows).

``torch`` is passed in rather than imported so that :mod:`pot.layers` imports without it (a
validator checks specs and needs no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from pot.errors import SpecError

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Param:
    """One trainable tensor of a layer.

    Attributes
    ----------
    role
        ``"weight"`` or ``"bias"`` (pot names them ``w{i}`` / ``b{i}``, ``i`` counting layers
        with parameters from 1).
    shape
        The tensor's shape, as in the matching ``torch.nn`` module.
    fan_in
        Inputs feeding one output (He-uniform init bound ``sqrt(6 / fan_in)``); 0 means the tensor
        starts at zero (biases).
    """

    role: str
    shape: Shape
    fan_in: int


def check_int(obj: dict[str, Any], key: str, lo: int, hi: int, kind: str) -> int:
    """``obj[key]`` as an int in ``lo..hi``, or :class:`SpecError` naming the layer and key."""
    value = obj[key]
    if type(value) is not int or not lo <= value <= hi:
        raise SpecError(f"{kind} layer: {key!r} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def check_pair(obj: dict[str, Any], key: str, lo: int, hi: int, kind: str) -> tuple[int, int]:
    """``obj[key]`` given as one int or a pair ``[h, w]``, as a pair in ``lo..hi``."""
    value = obj[key]
    if type(value) is int:
        value = [value, value]
    if (not isinstance(value, list | tuple) or len(value) != 2
            or any(type(v) is not int or not lo <= v <= hi for v in value)):
        raise SpecError(f"{kind} layer: {key!r} must be an integer or a pair of integers in "
                        f"{lo}..{hi}, got {value!r}")
    return int(value[0]), int(value[1])


def check_keys(obj: dict[str, Any], required: set[str], optional: set[str], kind: str) -> None:
    """Refuse a layer object with a missing or unknown key."""
    missing = required - set(obj)
    if missing:
        raise SpecError(f"{kind} layer is missing: {', '.join(sorted(missing))}")
    unknown = set(obj) - required - optional - {"type"}
    if unknown:
        raise SpecError(f"{kind} layer has unknown keys: {', '.join(sorted(unknown))}")


class Layer:
    """Base class of the layer entries (see the module docstring for the callables' contract).

    Class attributes
    ----------------
    kind
        The ``"type"`` of the layer's JSON object.
    onnx_ops
        The ONNX operators its forward and backward export to: what the layer's circuit needs
        from ezkl (all proven by ezkl 23.0.5; ``tests/test_layers.py`` compiles them).
    """

    kind: ClassVar[str]
    onnx_ops: ClassVar[tuple[str, ...]]

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Layer:
        """The entry of a layer's JSON object (defaults filled in). Raises SpecError."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """The layer's canonical JSON object: every key, defaults included."""
        raise NotImplementedError

    def out_shape(self, in_shape: Shape) -> Shape:
        """One sample's output shape, or :class:`SpecError` if ``in_shape`` does not fit."""
        raise NotImplementedError

    def params(self, in_shape: Shape) -> list[Param]:
        """The trainable tensors, in graph order (weight, then bias). Default: none."""
        return []

    def forward(self, torch: Any, params: list[Any], x: Any) -> Any:
        raise NotImplementedError

    def backward(self, torch: Any, params: list[Any], x: Any, y: Any, g: Any,
                 need_input: bool) -> tuple[Any, list[Any]]:
        raise NotImplementedError

    def to_torch(self, torch: Any, in_shape: Shape) -> Any:
        """The matching ``torch.nn`` module (the reference the tests hold the entry against)."""
        raise NotImplementedError

    def macs(self, in_shape: Shape) -> int:
        """Multiplications of one sample's forward (a size figure for ``pot spec show``)."""
        return 0


def numel(shape: Shape) -> int:
    """Number of values in a tensor of ``shape``."""
    return math.prod(shape)
