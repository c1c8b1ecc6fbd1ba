"""Each shard kind's graph, assembled from the per-layer ops, and its ONNX export (trainer side).

The graphs apply :mod:`pot.shard.ops` to explicit tensors in the order :mod:`pot.export`'s
monolithic step does, so each shard's integers are the monolithic circuit's. Inputs and outputs
are named by position (``i0``.., ``o0``..; :func:`kind_io`): tiles of one kind share one ONNX
file byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pot.errors import ExportError
from pot.export import SOFTMAX_CLAMP, _export, _torch
from pot.shard.ops import Linear, ReLU, SoftmaxCE
from pot.shard.plan import Kind, ShardPlan
from pot.spec import ModelSpec


def _split(torch: Any, t: Any, widths: tuple[int, ...]) -> tuple[Any, ...]:
    return tuple(torch.split(t, list(widths), dim=1)) if len(widths) > 1 else (t,)


def _cat(torch: Any, ts: tuple[Any, ...], dim: int) -> Any:
    return torch.cat(list(ts), dim=dim) if len(ts) > 1 else ts[0]


def kind_module(spec: ModelSpec, kind: Kind) -> Any:
    """A ``torch.nn.Module`` computing one shard kind (see :mod:`pot.shard.plan`)."""
    torch = _torch()
    linear, relu = Linear(), ReLU()
    loss = SoftmaxCE(spec.lr / spec.batch_size, SOFTMAX_CLAMP)
    n_in = len(kind.in_tiles)

    class Fwd(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, w: Any, b: Any, *acts: Any) -> Any:
            a = _cat(torch, acts, 1)
            return relu.forward(torch, [], linear.forward(torch, [w, b], a))

    class Out(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, w: Any, b: Any, *rest: Any) -> tuple[Any, ...]:
            a, y = _cat(torch, rest[:n_in], 1), rest[n_in]
            p = loss.forward(torch, [], linear.forward(torch, [w, b], a))
            g, _ = loss.backward(torch, [], None, p, y)
            step_w, step_b = g.t() @ a, g.sum(0)
            new = (w - step_w, b - step_b)
            if not kind.out_tiles:
                return new
            g_below, _ = relu.backward(torch, [], None, a, linear.input_gradient(torch, [w, b], g))
            return (*new, *_split(torch, g_below, kind.out_tiles))

    class Delta(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, *rest: Any) -> tuple[Any, ...]:
            n_rows = (len(rest) - n_in) // 2
            w = _cat(torch, rest[:n_rows], 0)
            g = _cat(torch, rest[n_rows : 2 * n_rows], 1)
            a = _cat(torch, rest[2 * n_rows :], 1)
            g_below, _ = relu.backward(torch, [], None, a, linear.input_gradient(torch, [w], g))
            return _split(torch, g_below, kind.out_tiles)

    class Bwd(torch.nn.Module):  # type: ignore[name-defined]
        def forward(self, w: Any, b: Any, *rest: Any) -> tuple[Any, Any]:
            a, g = _cat(torch, rest[:n_in], 1), rest[n_in]
            step_w, step_b = g.t() @ a, g.sum(0)
            return w - step_w, b - step_b

    modules = {"fwd": Fwd, "out": Out, "delta": Delta, "bwd": Bwd}
    if kind.role not in modules:
        raise ExportError(f"unknown shard role {kind.role!r}")
    return modules[kind.role]()


def kind_io(plan: ShardPlan, kind: str) -> tuple[list[tuple[str, tuple[int, ...]]], list[str]]:
    """The kind's input names and shapes and its output names, in the proof's order (taken from
    the plan's first shard of that kind; every shard of a kind has the same shapes)."""
    shard = next(s for s in plan.shards if s.kind == kind)
    return ([(f"i{k}", plan.shape(t)) for k, t in enumerate(shard.inputs)],
            [f"o{k}" for k in range(len(shard.outputs))])


def export_kind(plan: ShardPlan, kind: str, path: Path) -> None:
    """Write the ONNX graph (opset 17) of one shard kind.

    Raises
    ------
    ExportError
        If torch's exporter fails.
    """
    torch = _torch()
    inputs, outputs = kind_io(plan, kind)
    args = [torch.zeros(shape) for _, shape in inputs]
    _export(kind_module(plan.spec, plan.kinds[kind]), args, path, [n for n, _ in inputs], outputs,
            f"shard kind {kind!r} of spec {plan.spec.name!r}")
