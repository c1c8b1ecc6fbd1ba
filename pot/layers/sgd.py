"""SGD with optional momentum and weight decay, as ``torch.optim.SGD`` (dampening 0, not Nesterov).

torch's step, for a parameter ``p`` with gradient ``d``::

    d   = d + weight_decay * p
    buf = momentum * buf + d          (buf = d on the first step: the same as buf = 0 before it)
    p'  = p - lr * buf

pot's step gets ``G = lr * d`` from the backward pass (the learning rate is folded into the loss
gradient) and commits the buffer scaled by the learning rate, ``V = lr * buf``::

    G   = G + (lr * weight_decay) * p      ONNX: Mul, Add   (only when weight_decay > 0)
    V'  = momentum * V + G                 ONNX: Mul, Add   (only when momentum > 0)
    p'  = p - V'   (or p - G without momentum)   ONNX: Sub

This is the same trajectory as torch's for a constant learning rate. ``V`` is part of the committed
state (a graph input and output named ``m_<param>``, starting at zero), so it chains from step to
step like the weights. Each option costs one constant product per parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

MOMENTUM_PREFIX = "m_"  # the momentum buffer of parameter w1 is the state tensor m_w1


@dataclass(frozen=True)
class SGD:
    """Optimizer settings, exact.

    Attributes
    ----------
    lr, momentum, weight_decay
        ``lr > 0``, ``0 <= momentum < 1``, ``weight_decay >= 0``.
    """

    lr: Fraction
    momentum: Fraction = Fraction(0)
    weight_decay: Fraction = Fraction(0)

    def update(self, torch: Any, p: Any, step: Any, v: Any | None,
               folded: bool = True) -> tuple[Any, Any | None]:
        """``(p', V')`` from ``p``, the step ``G`` (``lr * grad`` when ``folded``, else ``grad``)
        and the buffer ``V`` (``None`` without momentum)."""
        if not folded:
            step = step * float(self.lr)
        if self.weight_decay:
            step = step + p * float(self.lr * self.weight_decay)
        if v is None:
            return p - step, None
        v_next = v * float(self.momentum) + step
        return p - v_next, v_next
