"""2-D convolution with bias, stride and zero padding, as ``torch.nn.Conv2d`` (dilation 1, groups 1).

With ``x`` ``(B, C, H, W)``, ``W`` ``(O, C, kh, kw)`` and ``y`` ``(B, O, Ho, Wo)``,
``Ho = (H + 2 ph - kh) // sh + 1``:

All three products go through one im2col matrix ``cols`` ``(B Ho Wo, C kh kw)``: the ``kh kw``
strided windows of the zero-padded input ``xp``, stacked (Concat, Slice, Reshape, Transpose: no
rows of their own). With ``g`` ``(B Ho Wo, O)`` the output gradient:

* forward  ``y = cols @ W_(O, C kh kw)^T + b``                          ONNX: MatMul, Add
* backward ``dW = g^T @ cols``, ``db = sum_rows(g)``                    ONNX: MatMul, ReduceSum
  ``dx``: ``dcols = g @ W``, each window's column dilated by the stride and added back where it
  was read (col2im), the padding cut off                                ONNX: MatMul, Concat, Add
* circuit  ``B * O * C * kh * kw * Ho * Wo`` products for each of forward, dW and dx (dx only
  when the layer is not the first).

ezkl 23.0.5 cannot compile ONNX Conv with the kernel and bias as graph inputs (gen_settings
panics, ``assertion left == right: 26 != 13``, a bias added at the product's scale) nor a strided
ConvTranspose (``self.dims[i] > indices[i]``), so the products are written as matrix products,
which it proves as for Linear.
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
    onnx_ops: ClassVar[tuple[str, ...]] = ("Slice", "Concat", "Transpose", "Reshape", "MatMul",
                                           "Add", "ReduceSum")

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

    def _columns(self, torch: Any, x: Any, ho: int, wo: int) -> Any:
        """im2col: ``(B Ho Wo, C kh kw)``, row ``(b, u, v)`` the window under output ``(u, v)``."""
        batch, c = int(x.shape[0]), int(x.shape[1])
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        xp = _zero_pad(torch, x, ph, pw)
        windows = [xp[:, :, i: i + sh * (ho - 1) + 1: sh, j: j + sw * (wo - 1) + 1: sw]
                   for i in range(kh) for j in range(kw)]  # each (B, C, Ho, Wo)
        cols = torch.stack(windows, dim=2)  # (B, C, kh kw, Ho, Wo)
        return cols.permute(0, 3, 4, 1, 2).reshape(batch * ho * wo, c * kh * kw)

    def forward(self, torch: Any, params: list[Any], x: Any) -> Any:
        w, b = params
        batch, c, h, wd = (int(d) for d in x.shape)
        o, ho, wo = self.out_shape((c, h, wd))
        y = self._columns(torch, x, ho, wo) @ w.reshape(o, -1).t() + b  # (B Ho Wo, O)
        return y.reshape(batch, ho, wo, o).permute(0, 3, 1, 2)

    def backward(self, torch: Any, params: list[Any], x: Any, y: Any, g: Any,
                 need_input: bool) -> tuple[Any, list[Any]]:
        w, _ = params
        batch, c, h, wd = (int(d) for d in x.shape)
        o, ho, wo = self.out_shape((c, h, wd))
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        gm = g.permute(0, 2, 3, 1).reshape(batch * ho * wo, o)
        dw = (gm.t() @ self._columns(torch, x, ho, wo)).reshape(o, c, kh, kw)
        db = gm.sum(0)
        if not need_input:
            return None, [dw, db]
        # col2im: each window's gradient, dilated by the stride, added back where it was read.
        dcols = (gm @ w.reshape(o, -1)).reshape(batch, ho, wo, c, kh * kw).permute(0, 3, 4, 1, 2)
        hp, wp = h + 2 * ph, wd + 2 * pw
        acc = None
        for i in range(kh):
            for j in range(kw):
                piece = _dilate(torch, dcols[:, :, i * kw + j], sh, sw)
                placed = _place(torch, piece, i, j, hp, wp)
                acc = placed if acc is None else acc + placed
        assert acc is not None
        return acc[:, :, ph: ph + h, pw: pw + wd], [dw, db]

    def to_torch(self, torch: Any, in_shape: Shape) -> Any:
        return torch.nn.Conv2d(in_shape[0], self.out_channels, self.kernel_size,
                               stride=self.stride, padding=self.padding)

    def macs(self, in_shape: Shape) -> int:
        o, ho, wo = self.out_shape(in_shape)
        return o * ho * wo * in_shape[0] * self.kernel_size[0] * self.kernel_size[1]


def _zero_pad(torch: Any, x: Any, ph: int, pw: int) -> Any:
    """``x`` ``(B, C, H, W)`` with ``ph`` zero rows and ``pw`` zero columns on each side.

    Written as a concatenation with constant zeros: torch exports ``F.pad`` as an ONNX Pad whose
    pads come from a shape subgraph that ezkl 23.0.5's tract cannot analyse ("Failed analyse for
    node Pad").
    """
    b, c, h, w = (int(d) for d in x.shape)
    if ph:
        rows = torch.zeros(b, c, ph, w, dtype=x.dtype)
        x = torch.cat([rows, x, rows], dim=2)
    if pw:
        cols = torch.zeros(b, c, h + 2 * ph, pw, dtype=x.dtype)
        x = torch.cat([cols, x, cols], dim=3)
    return x


def _dilate(torch: Any, x: Any, sh: int, sw: int) -> Any:
    """``(B, C, H, W) -> (B, C, sh (H - 1) + 1, sw (W - 1) + 1)``: ``sh - 1`` zero rows (and
    ``sw - 1`` zero columns) between neighbours."""
    b, c, h, w = (int(d) for d in x.shape)
    if sh > 1:
        x = torch.cat([x.reshape(b, c, h, 1, w), torch.zeros(b, c, h, sh - 1, w, dtype=x.dtype)],
                      dim=3).reshape(b, c, h * sh, w)[:, :, : sh * (h - 1) + 1]
        h = sh * (h - 1) + 1
    if sw > 1:
        x = torch.cat([x.reshape(b, c, h, w, 1), torch.zeros(b, c, h, w, sw - 1, dtype=x.dtype)],
                      dim=4).reshape(b, c, h, w * sw)[:, :, :, : sw * (w - 1) + 1]
    return x


def _place(torch: Any, x: Any, top: int, left: int, height: int, width: int) -> Any:
    """``x`` ``(B, C, h, w)`` at ``(top, left)`` of a ``(B, C, height, width)`` zero tensor."""
    b, c, h, w = (int(d) for d in x.shape)
    parts = [torch.zeros(b, c, top, w, dtype=x.dtype)] if top else []
    parts += [x]
    if height - top - h:
        parts.append(torch.zeros(b, c, height - top - h, w, dtype=x.dtype))
    x = torch.cat(parts, dim=2) if len(parts) > 1 else x
    parts = [torch.zeros(b, c, height, left, dtype=x.dtype)] if left else []
    parts += [x]
    if width - left - w:
        parts.append(torch.zeros(b, c, height, width - left - w, dtype=x.dtype))
    return torch.cat(parts, dim=3) if len(parts) > 1 else x
