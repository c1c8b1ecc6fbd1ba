"""Flatten: ``(B, *shape) -> (B, prod(shape))``, as ``torch.nn.Flatten()`` (``start_dim=1``).

* forward  reshape                          ONNX: Reshape (or Flatten)
* backward ``dx = reshape(g, (B, *shape))`` ONNX: Reshape
* circuit  no rows: a reshape only renames cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pot.layers.base import Layer, Shape, check_keys, numel


@dataclass(frozen=True)
class Flatten(Layer):
    """``torch.nn.Flatten()``."""

    kind: ClassVar[str] = "flatten"
    onnx_ops: ClassVar[tuple[str, ...]] = ("Reshape",)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Flatten:
        check_keys(obj, set(), set(), cls.kind)
        return cls()

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind}

    def out_shape(self, in_shape: Shape) -> Shape:
        return (numel(in_shape),)

    def forward(self, torch: Any, params: list[Any], x: Any) -> Any:
        return x.reshape(x.shape[0], -1)

    def backward(self, torch: Any, params: list[Any], x: Any, y: Any, g: Any,
                 need_input: bool) -> tuple[Any, list[Any]]:
        return (g.reshape(x.shape) if need_input else None), []

    def to_torch(self, torch: Any, in_shape: Shape) -> Any:
        return torch.nn.Flatten()
