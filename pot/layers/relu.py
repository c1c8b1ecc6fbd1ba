"""ReLU: ``y = max(x, 0)``, as ``torch.nn.ReLU``.

* forward  ``y = relu(x)``                 ONNX: Relu
* backward ``dx = g * [y > 0]`` (the same mask as ``x > 0``)   ONNX: Greater, Cast, Mul
* circuit  one comparison and one product per value (no parameters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pot.layers.base import Layer, Shape, check_keys


@dataclass(frozen=True)
class ReLU(Layer):
    """``torch.nn.ReLU()``; any input shape."""

    kind: ClassVar[str] = "relu"
    onnx_ops: ClassVar[tuple[str, ...]] = ("Relu", "Greater", "Cast", "Mul")

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ReLU:
        check_keys(obj, set(), set(), cls.kind)
        return cls()

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind}

    def out_shape(self, in_shape: Shape) -> Shape:
        return in_shape

    def forward(self, torch: Any, params: list[Any], x: Any) -> Any:
        return torch.relu(x)

    def backward(self, torch: Any, params: list[Any], x: Any, y: Any, g: Any,
                 need_input: bool) -> tuple[Any, list[Any]]:
        return (g * (y > 0).to(g.dtype) if need_input else None), []

    def to_torch(self, torch: Any, in_shape: Shape) -> Any:
        return torch.nn.ReLU()
