"""2-D convolution with bias, stride and zero padding, as ``torch.nn.Conv2d`` (dilation 1, groups 1).

With ``x`` ``(B, C, H, W)``, ``W`` ``(O, C, kh, kw)`` and ``y`` ``(B, O, Ho, Wo)``,
``Ho = (H + 2 ph - kh) // sh + 1``:

* forward  ``y = conv2d(x, W, stride, padding) + b``                        ONNX: Conv
* backward ``dW[o, c, i, j] = sum_{b, u, v} g[b, o, u, v] * xp[b, c, i + sh u, j + sw v]``
  (``xp`` the padded input): the ``kh * kw`` strided windows of ``xp`` stacked into columns and
  one matrix product ``g_(O, B Ho Wo) @ cols_(B Ho Wo, C kh kw)``        ONNX: Pad, Slice, MatMul
  ``db = sum_{b, u, v} g``                                               ONNX: ReduceSum
  ``dx = conv_transpose2d(g, W, stride, padding, output_padding)``       ONNX: ConvTranspose
* circuit  ``B * O * C * kh * kw * Ho * Wo`` products for the forward and the same for dW (and
  for dx when the layer is not the first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pot.errors import SpecError
from pot.layers.base import Layer, Param, Shape, check_int, check_keys, check_pair

MAX_CHANNELS = 256
MAX_KERNEL = 11
MAX_STRIDE = 4
MAX_PADDING = 5


@dataclass(frozen=True)
class Conv2d(Layer):
    """``torch.nn.Conv2d(C, out_channels, kernel_size, stride, padding)``; input ``(C, H, W)``."""

    out_channels: int
    kernel_size: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    kind: ClassVar[str] = "conv2d"
    onnx_ops: ClassVar[tuple[str, ...]] = ("Conv", "Pad", "Slice", "Concat", "Transpose",
                                           "Reshape", "MatMul", "ReduceSum", "ConvTranspose")

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Conv2d:
        check_keys(obj, {"out_channels", "kernel_size"}, {"stride", "padding"}, cls.kind)
        obj = {"stride": 1, "padding": 0, **obj}
        return cls(check_int(obj, "out_channels", 1, MAX_CHANNELS, cls.kind),
                   check_pair(obj, "kernel_size", 1, MAX_KERNEL, cls.kind),
                   check_pair(obj, "stride", 1, MAX_STRIDE, cls.kind),
                   check_pair(obj, "padding", 0, MAX_PADDING, cls.kind))

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding)}

    def out_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 3:
            raise SpecError(f"conv2d layer needs an input of shape [channels, height, width], "
                            f"got {list(in_shape)}")
        c, h, w = in_shape
        if c > MAX_CHANNELS:
            raise SpecError(f"conv2d layer input has {c} channels, over {MAX_CHANNELS}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if h + 2 * ph < kh or w + 2 * pw < kw:
            raise SpecError(f"conv2d layer kernel {list(self.kernel_size)} is larger than its "
                            f"padded input {[h + 2 * ph, w + 2 * pw]}")
        return (self.out_channels, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)

    def params(self, in_shape: Shape) -> list[Param]:
        c = in_shape[0]
        kh, kw = self.kernel_size
        return [Param("weight", (self.out_channels, c, kh, kw), c * kh * kw),
                Param("bias", (self.out_channels,), 0)]

    def forward(self, torch: Any, params: list[Any], x: Any) -> Any:
        w, b = params
        return torch.nn.functional.conv2d(x, w, b, stride=self.stride, padding=self.padding)

    def backward(self, torch: Any, params: list[Any], x: Any, y: Any, g: Any,
                 need_input: bool) -> tuple[Any, list[Any]]:
        w, _ = params
        batch, c, h, wd = (int(d) for d in x.shape)
        o, ho, wo = (int(d) for d in g.shape[1:])
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        xp = torch.nn.functional.pad(x, (pw, pw, ph, ph)) if ph or pw else x
        windows = [xp[:, :, i: i + sh * (ho - 1) + 1: sh, j: j + sw * (wo - 1) + 1: sw]
                   for i in range(kh) for j in range(kw)]  # each (B, C, Ho, Wo)
        cols = torch.stack(windows, dim=2)  # (B, C, kh kw, Ho, Wo)
        cols = cols.permute(0, 3, 4, 1, 2).reshape(batch * ho * wo, c * kh * kw)
        gm = g.permute(1, 0, 2, 3).reshape(o, batch * ho * wo)
        dw = (gm @ cols).reshape(o, c, kh, kw)
        db = g.sum((0, 2, 3))
        if not need_input:
            return None, [dw, db]
        out_pad = ((h + 2 * ph - kh) % sh, (wd + 2 * pw - kw) % sw)
        dx = torch.nn.functional.conv_transpose2d(g, w, stride=self.stride, padding=self.padding,
                                                  output_padding=out_pad)
        return dx, [dw, db]

    def to_torch(self, torch: Any, in_shape: Shape) -> Any:
        return torch.nn.Conv2d(in_shape[0], self.out_channels, self.kernel_size,
                               stride=self.stride, padding=self.padding)

    def macs(self, in_shape: Shape) -> int:
        o, ho, wo = self.out_shape(in_shape)
        return o * ho * wo * in_shape[0] * self.kernel_size[0] * self.kernel_size[1]
