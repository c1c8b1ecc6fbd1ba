"""Per-layer ops of the step, each with its forward and its backward side by side (trainer side).

A sharded step is assembled from these entries, never written per model: a shard's graph is a
few ops applied to explicit tensors (:mod:`pot.shard.graphs`). Each op is one small class in the
style of tinygrad's ``function.py``:

==============  =============================================  ===========================================
op              forward                                        backward (``g`` = gradient of the output)
==============  =============================================  ===========================================
``Linear``      ``z = a W^T + b``                              ``step_W = g^T a``, ``step_b = sum_rows g``,
                                                               ``g_a = g W``
``ReLU``        ``a = max(z, 0)``                              ``g_z = g * [a > 0]`` (``a > 0`` iff ``z > 0``)
``SoftmaxCE``   ``p = softmax(max(z - rowmax z, -clamp))``      ``g_z = (p - y) * lr / B`` (lr folded in)
==============  =============================================  ===========================================

The formulas, their order and the constants are those of :mod:`pot.export`'s monolithic step,
so a chain of shards computes the same fixed-point step (``tests/test_shard.py`` checks the
integers). What each op's circuit needs: ``Linear`` a matmul of ``B * in * out`` products (about
one row each), ``ReLU`` a comparison per value, ``SoftmaxCE`` the exp lookup table of
:func:`pot.circuit.lookup_range`. The layer library (``pot.layers``) plugs in by giving its layers
the same three methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol


class LayerOp(Protocol):
    """One op of the step on explicit tensors (torch, traced into a shard's ONNX graph)."""

    def forward(self, torch: Any, params: list[Any], a: Any) -> Any:
        """The op's output for input ``a`` (``(B, in)``) and its parameters."""
        ...

    def backward(self, torch: Any, params: list[Any], a: Any, out: Any,
                 g: Any) -> tuple[Any, list[Any]]:
        """``(g_a, steps)``: the gradient of the input and ``lr * dL/dparam`` for each parameter."""
        ...


@dataclass(frozen=True)
class Linear:
    """``z = a W^T + b`` with ``W`` ``(out, in)`` and ``b`` ``(out,)`` as in ``torch.nn.Linear``."""

    def forward(self, torch: Any, params: list[Any], a: Any) -> Any:
        w, b = params
        return a @ w.t() + b

    def backward(self, torch: Any, params: list[Any], a: Any, out: Any,
                 g: Any) -> tuple[Any, list[Any]]:
        w, _ = params
        return g @ w, [g.t() @ a, g.sum(0)]

    def input_gradient(self, torch: Any, params: list[Any], g: Any) -> Any:
        """Only ``g_a = g W`` (the delta passed to the layer below)."""
        return g @ params[0]


@dataclass(frozen=True)
class ReLU:
    """``max(z, 0)``; its backward masks with ``out > 0``."""

    def forward(self, torch: Any, params: list[Any], a: Any) -> Any:
        return torch.relu(a)

    def backward(self, torch: Any, params: list[Any], a: Any, out: Any,
                 g: Any) -> tuple[Any, list[Any]]:
        return g * (out > 0).to(g.dtype), []


@dataclass(frozen=True)
class SoftmaxCE:
    """Mean softmax cross-entropy over the batch with the learning rate folded into its gradient.

    Attributes
    ----------
    lr_over_batch
        ``lr / B``, exact.
    clamp
        Softmax inputs are clamped to ``[-clamp, 0]`` after the row max is subtracted
        (:data:`pot.export.SOFTMAX_CLAMP`).
    """

    lr_over_batch: Fraction
    clamp: int

    def forward(self, torch: Any, params: list[Any], a: Any) -> Any:
        shifted = a - a.max(dim=1, keepdim=True).values
        return torch.softmax(torch.clamp(shifted, min=-float(self.clamp)), dim=1)

    def backward(self, torch: Any, params: list[Any], a: Any, out: Any,
                 g: Any) -> tuple[Any, list[Any]]:
        """``g`` is the one-hot target ``y`` here: the loss has no upstream gradient."""
        return (out - g) * float(self.lr_over_batch), []
