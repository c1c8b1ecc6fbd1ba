"""Losses: the head that turns the last layer's output ``z`` ``(B, n)`` into the loss gradient.

pot's step folds the learning rate into the loss gradient: ``g = dL/dz * lr``, one ``(B, n)``
product instead of one per parameter (``docs/performance.md``). Each loss gives its gradient as
``(head(z) - y) * factor``, with the exact constant ``factor`` of :meth:`Loss.factor`:

====================== ============================================ ===========================
loss                   head(z)                                      factor
====================== ============================================ ===========================
softmax_cross_entropy  ``softmax(max(z - rowmax(z), -SOFTMAX_CLAMP))``  ``lr / B``
mse                    ``z``                                         ``2 lr / (B n)``
====================== ============================================ ===========================

Both are means over the batch (and, for MSE, over outputs), as ``torch.nn.CrossEntropyLoss`` and
``torch.nn.MSELoss`` default to. The softmax clamp keeps every input of the circuit's exp lookup in
``[-SOFTMAX_CLAMP, 0]``; it changes a probability only when a logit trails the largest by more than
8, by at most ``exp(-8) = 3.4e-4``. ONNX: ReduceMax, Sub, Max, Softmax (cross-entropy); Sub, Mul.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

SOFTMAX_CLAMP = 8  # logit gap below which softmax inputs are clamped (natural-log units)


@dataclass(frozen=True)
class Loss:
    """One loss entry.

    Attributes
    ----------
    name
        The spec's ``"loss"``.
    classifies
        True when targets are one-hot class labels (the model's outputs are class scores).
    onnx_ops
        What its part of the step needs from ezkl.
    """

    name: str
    classifies: bool
    onnx_ops: tuple[str, ...]

    def head(self, torch: Any, z: Any) -> Any:
        """The loss's own forward on the logits ``z`` ``(B, n)`` (softmax, or nothing)."""
        if self.name == "softmax_cross_entropy":
            shifted = z - z.max(dim=1, keepdim=True).values
            return torch.softmax(torch.clamp(shifted, min=-float(SOFTMAX_CLAMP)), dim=1)
        return z

    def factor(self, batch_size: int, n_outputs: int) -> Fraction:
        """``dL/dz = (head(z) - y) * factor``: ``1 / B`` or ``2 / (B n)`` (times lr when folded)."""
        if self.name == "softmax_cross_entropy":
            return Fraction(1, batch_size)
        return Fraction(2, batch_size * n_outputs)

    def grad(self, torch: Any, h: Any, y: Any, factor: float) -> Any:
        """The loss gradient ``(h - y) * factor`` from the head's output ``h`` and targets ``y``."""
        return (h - y) * factor

    def torch_loss(self, torch: Any, z: Any, y: Any) -> Any:
        """The float reference (mean cross-entropy on one-hot ``y``, or mean squared error)."""
        if self.name == "softmax_cross_entropy":
            return torch.nn.functional.cross_entropy(z, y)
        return torch.nn.functional.mse_loss(z, y)


LOSSES = {
    "softmax_cross_entropy": Loss("softmax_cross_entropy", True,
                                  ("ReduceMax", "Sub", "Max", "Softmax", "Mul")),
    "mse": Loss("mse", False, ("Sub", "Mul")),
}
