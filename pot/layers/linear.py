"""Linear (fully connected) layer: ``y = x W^T + b``, as ``torch.nn.Linear``.

* forward  ``y = x W^T + b``                       ONNX: MatMul/Gemm, Add
* backward ``dW = g^T x``, ``db = sum_rows(g)``, ``dx = g W``   ONNX: MatMul, ReduceSum
* circuit  one product per weight per sample, forward and backward (``B * in * out`` each).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pot.errors import SpecError
from pot.layers.base import Layer, Param, Shape, check_int, check_keys

MAX_FEATURES = 4096


@dataclass(frozen=True)
class Linear(Layer):
    """``torch.nn.Linear(in, out_features)`` with bias; the input must be flat ``(in,)``."""

    out_features: int
    kind: ClassVar[str] = "linear"
    onnx_ops: ClassVar[tuple[str, ...]] = ("MatMul", "Add", "ReduceSum", "Transpose")

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Linear:
        check_keys(obj, {"out_features"}, set(), cls.kind)
        return cls(check_int(obj, "out_features", 1, MAX_FEATURES, cls.kind))

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "out_features": self.out_features}

    def out_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 1:
            raise SpecError(f"linear layer needs a flat input, got shape {list(in_shape)}; "
                            "put a flatten layer before it")
        if in_shape[0] > MAX_FEATURES:
            raise SpecError(f"linear layer input of {in_shape[0]} features is over {MAX_FEATURES}")
        return (self.out_features,)

    def params(self, in_shape: Shape) -> list[Param]:
        return [Param("weight", (self.out_features, in_shape[0]), in_shape[0]),
                Param("bias", (self.out_features,), 0)]

    def forward(self, torch: Any, params: list[Any], x: Any) -> Any:
        w, b = params
        return x @ w.t() + b

    def backward(self, torch: Any, params: list[Any], x: Any, y: Any, g: Any,
                 need_input: bool) -> tuple[Any, list[Any]]:
        w, _ = params
        return (g @ w if need_input else None), [g.t() @ x, g.sum(0)]

    def to_torch(self, torch: Any, in_shape: Shape) -> Any:
        return torch.nn.Linear(in_shape[0], self.out_features)

    def macs(self, in_shape: Shape) -> int:
        return in_shape[0] * self.out_features
