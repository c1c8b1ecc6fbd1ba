"""Pooling: AvgPool2d and MaxPool2d, each with a square window ``k``, stride ``k``, no padding.

AvgPool2d with a square window ``k``, stride ``k`` and no padding, on ``(C, H, W)`` with ``H`` and
``W`` multiples of ``k`` (what ``torch.nn.AvgPool2d(k)`` does on such inputs):

* forward  ``y = sum of each k x k block * (1 / k**2)``  ONNX: Reshape, ReduceSum, Mul
* backward ``dx = g * (1 / k**2)`` copied over each block          ONNX: Mul, Concat, Reshape
* circuit  one product per output value each way (the sum is additions, the copies are free).

MaxPool2d, on the same inputs as ``torch.nn.MaxPool2d(k)``:

* forward  ``y = max of each k x k block``                 ONNX: Reshape, Transpose, ReduceMax
* backward the gradient goes to the *first* maximum of each block in row-major order, as torch's
  does: ``eq_j = 1 - [y > x_j]``, ``first_j = eq_j * (1 - sum_{i<j} first_i)``,
  ``dx_j = g * first_j`` (exact on ties, which fixed point makes common; ezkl 23.0.5 gets an ONNX
  Equal's scale wrong, so equality is written with Greater)  ONNX: Greater, Cast, Mul, Sub, Concat
* circuit  ``k**2 - 1`` comparisons per output value forward; ``k**2`` equalities and two
  products per input value backward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pot.errors import SpecError
from pot.layers.base import Layer, Shape, check_int, check_keys

MAX_POOL = 8


@dataclass(frozen=True)
class AvgPool2d(Layer):
    """``torch.nn.AvgPool2d(kernel_size)`` (stride = kernel size, no padding)."""

    kernel_size: int
    kind: ClassVar[str] = "avgpool2d"
    onnx_ops: ClassVar[tuple[str, ...]] = ("Reshape", "ReduceSum", "Mul", "Concat")

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AvgPool2d:  # MaxPool2d's too
        check_keys(obj, {"kernel_size"}, {"stride", "padding"}, cls.kind)
        k = check_int(obj, "kernel_size", 1, MAX_POOL, cls.kind)
        if obj.get("stride", k) not in (k, [k, k]):
            raise SpecError(f"{cls.kind} layer: pot proves only stride = kernel_size ({k}), "
                            f"got stride {obj['stride']!r}")
        if obj.get("padding", 0) not in (0, [0, 0]):
            raise SpecError(f"{cls.kind} layer: pot proves only padding 0, got {obj['padding']!r}")
        return cls(k)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "kernel_size": self.kernel_size}

    def out_shape(self, in_shape: Shape) -> Shape:
        k = self.kernel_size
        if len(in_shape) != 3 or in_shape[1] % k or in_shape[2] % k:
            raise SpecError(f"{self.kind} layer with kernel {k} needs an input [channels, height, "
                            f"width] with height and width multiples of {k}, got {list(in_shape)}")
        c, h, w = in_shape
        return (c, h // k, w // k)

    def forward(self, torch: Any, params: list[Any], x: Any) -> Any:
        k = self.kernel_size
        b, c, h, w = (int(d) for d in x.shape)
        blocks = x.reshape(b, c, h // k, k, w // k, k)
        return blocks.sum((3, 5)) * (1.0 / (k * k))

    def backward(self, torch: Any, params: list[Any], x: Any, y: Any, g: Any,
                 need_input: bool) -> tuple[Any, list[Any]]:
        if not need_input:
            return None, []
        k = self.kernel_size
        b, c, h, w = (int(d) for d in x.shape)
        share = (g * (1.0 / (k * k))).reshape(b, c, h // k, 1, w // k, 1)
        share = torch.cat([share] * k, dim=3)  # copies, not products: no rows
        return torch.cat([share] * k, dim=5).reshape(b, c, h, w), []

    def to_torch(self, torch: Any, in_shape: Shape) -> Any:
        return torch.nn.AvgPool2d(self.kernel_size)

    def macs(self, in_shape: Shape) -> int:
        return in_shape[0] * in_shape[1] * in_shape[2]


def _blocks(x: Any, k: int) -> Any:
    """``(B, C, H, W) -> (B, C, H/k, W/k, k*k)``: each k x k block's values, row-major."""
    b, c, h, w = (int(d) for d in x.shape)
    return x.reshape(b, c, h // k, k, w // k, k).permute(0, 1, 2, 4, 3, 5).reshape(
        b, c, h // k, w // k, k * k)


def _unblocks(blocks: Any, k: int) -> Any:
    """The inverse of :func:`_blocks`."""
    b, c, ho, wo, _ = (int(d) for d in blocks.shape)
    return blocks.reshape(b, c, ho, wo, k, k).permute(0, 1, 2, 4, 3, 5).reshape(b, c, ho * k, wo * k)


@dataclass(frozen=True)
class MaxPool2d(AvgPool2d):
    """``torch.nn.MaxPool2d(kernel_size)`` (stride = kernel size, no padding, no dilation)."""

    kind: ClassVar[str] = "maxpool2d"
    onnx_ops: ClassVar[tuple[str, ...]] = ("Reshape", "Transpose", "ReduceMax", "Greater", "Cast",
                                           "Mul", "Sub", "Concat")

    def forward(self, torch: Any, params: list[Any], x: Any) -> Any:
        return torch.amax(_blocks(x, self.kernel_size), dim=4)

    def backward(self, torch: Any, params: list[Any], x: Any, y: Any, g: Any,
                 need_input: bool) -> tuple[Any, list[Any]]:
        if not need_input:
            return None, []
        k = self.kernel_size
        # [x_j == y] as 1 - [y > x_j] (y is the block's maximum): ezkl 23.0.5 yields an ONNX
        # Equal's 1 at the wrong scale (one quantum, 2**-scale), its Greater correctly.
        eq = 1.0 - (y.unsqueeze(-1) > _blocks(x, k)).to(g.dtype)
        free = torch.ones_like(eq[..., 0])
        first = []
        for j in range(k * k):
            m = eq[..., j] * free
            first.append(m)
            if j < k * k - 1:
                free = free - m
        return _unblocks(torch.stack(first, dim=-1) * g.unsqueeze(-1), k), []

    def to_torch(self, torch: Any, in_shape: Shape) -> Any:
        return torch.nn.MaxPool2d(self.kernel_size)
