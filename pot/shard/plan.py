"""The shard plan of a step: which tensor is cut where, and which shard reads and writes what.

One SGD step of an MLP spec with ``L`` linear layers is cut into shards (``i`` a layer, ``j`` a
tile of output neurons, i.e. a block of consecutive rows of ``W_i``)::

    fwd{i}.t{j}   i < L   (w{i}.t{j}, b{i}.t{j}, a{i-1}.t*)            -> a{i}.t{j}
    out           i = L   (w{L}, b{L}, a{L-1}.t*, y)                   -> w{L}', b{L}', g{L-1}.t*
    delta{i}      1<i<L   (w{i}.t*, g{i}.t*, a{i-1}.t*)                -> g{i-1}.t*
    bwd{i}.t{j}   i < L   (w{i}.t{j}, b{i}.t{j}, a{i-1}.t*, g{i}.t{j}) -> w{i}.t{j}', b{i}.t{j}'

``a0.t0`` is the batch's ``x``; ``g{i}`` is the loss gradient (learning rate folded in) at the
output of layer ``i``, ReLU mask applied. ``out`` holds the last layer's forward, the clamped
softmax, the loss gradient, its backward, its update and the delta to layer ``L-1``: the loss
gradient of the output layer never leaves the circuit, so no cut rounds it (ezkl keeps it at a
finer scale than the inputs). Every cut tensor (``a``, ``g``) is at the spec's scale in the
monolithic step too, so the chain of shards computes its integers exactly.

A tensor made by one shard and read by others is *linked*: each proof that touches it opens with
its KZG point, and the verifier requires them all equal. Tensors no shard makes (the parameter
tiles, ``x``, ``y``) are the step's inputs; the ``'`` tiles its outputs. Tiles of one layer with
the same number of rows share one circuit (a *kind*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pot.errors import SpecError
from pot.spec import ModelSpec

PLAN_FORMAT = "pot.shard-plan/1"
IO_RANGE_CHECKED = {"fwd": True, "out": True, "delta": False, "bwd": False}
"""Whether ezkl range-checks a kind's inputs and outputs. Every free tensor of the step (the
parameter tiles, ``x``, ``y``) is read by a ``fwd`` or ``out`` shard, which checks it; ``bwd`` and
``delta`` shards read only those same tensors (the same points, by the links) and tensors that
constrained ops computed, so they skip the check: about 5 rows per input value, which for a
784-wide ``x`` read by every tile is most of a backward tile's rows (``docs/performance.md``)."""


def mlp_widths(spec: ModelSpec) -> tuple[int, ...]:
    """The widths ``(in, hidden..., classes)`` of an MLP spec, the models sharding cuts so far.

    Raises
    ------
    SpecError
        If the spec is not Linear layers with ReLU between them on a flat input, trained by
        softmax cross-entropy and plain SGD (no momentum, no weight decay).
    """
    from fractions import Fraction

    from pot.layers.linear import Linear
    from pot.layers.relu import ReLU

    layers = spec.layers
    ok = (len(spec.input_shape) == 1 and spec.classifies and len(layers) % 2 == 1
          and Fraction(spec.momentum) == 0 and Fraction(spec.weight_decay) == 0
          and all(isinstance(layer, Linear) for layer in layers[0::2])
          and all(isinstance(layer, ReLU) for layer in layers[1::2]))
    if not ok:
        raise SpecError(f"spec {spec.name!r}: sharded proving cuts MLPs so far (Linear layers with "
                        "ReLU between them, softmax cross-entropy, plain SGD); prove this spec "
                        "monolithically")
    return (spec.n_features, *(layer.out_features for layer in layers[0::2]
                               if isinstance(layer, Linear)))


@dataclass(frozen=True)
class Kind:
    """One shard circuit: a graph kind and the shapes that fix it.

    Attributes
    ----------
    name
        ``fwd{i}r{rows}``, ``bwd{i}r{rows}``, ``delta{i}`` or ``out``.
    role
        ``"fwd"``, ``"bwd"``, ``"delta"`` or ``"out"``.
    layer
        The layer ``i`` (1-based).
    rows
        Output neurons per tile (rows of ``W_i``); the layer's width for ``out`` and ``delta``.
    in_tiles
        Widths of the tiles of the layer's input activation ``a_{i-1}``.
    out_tiles
        For ``out`` and ``delta``: widths of the tiles of ``g_{i-1}`` it writes; else empty.
    """

    name: str
    role: str
    layer: int
    rows: int
    in_tiles: tuple[int, ...]
    out_tiles: tuple[int, ...] = ()

    @property
    def io_range_checked(self) -> bool:
        """Whether ezkl range-checks this kind's inputs and outputs (:data:`IO_RANGE_CHECKED`)."""
        return IO_RANGE_CHECKED[self.role]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "layer": self.layer, "rows": self.rows,
                "in_tiles": list(self.in_tiles), "out_tiles": list(self.out_tiles),
                "io_range_checked": self.io_range_checked}


@dataclass(frozen=True)
class Shard:
    """One shard of the step: a kind applied to named tensors (inputs, then outputs)."""

    name: str
    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def tensors(self) -> tuple[str, ...]:
        """Every tensor the shard's proof opens with, in the proof's order."""
        return self.inputs + self.outputs

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "inputs": list(self.inputs),
                "outputs": list(self.outputs)}


@dataclass(frozen=True)
class ShardPlan:
    """The cut of one spec's step (see the module docstring).

    Attributes
    ----------
    spec
        The model spec.
    tile_rows
        Rows of ``W_i`` per tile, for each layer ``i = 1..L-1`` (the output layer is one tile).
    """

    spec: ModelSpec
    tile_rows: tuple[int, ...]
    kinds: dict[str, Kind] = field(init=False, compare=False)
    shards: tuple[Shard, ...] = field(init=False, compare=False)
    shapes: dict[str, tuple[int, ...]] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        spec = self.spec
        widths_all = mlp_widths(spec)
        n_layers = len(widths_all) - 1
        if len(self.tile_rows) != n_layers - 1 or any(
                not 1 <= r <= widths_all[i + 1] for i, r in enumerate(self.tile_rows)):
            raise SpecError(f"spec {spec.name!r}: tile_rows needs one value in 1..width for each "
                            f"of its {n_layers - 1} hidden layers")
        widths: list[tuple[int, ...]] = [(spec.n_features,)]
        for i in range(1, n_layers):
            width, r = widths_all[i], self.tile_rows[i - 1]
            widths.append(tuple(min(r, width - s) for s in range(0, width, r)))
        widths.append((spec.n_classes,))
        kinds: dict[str, Kind] = {}
        shards: list[Shard] = []
        shapes: dict[str, tuple[int, ...]] = {"a0.t0": (spec.batch_size, spec.n_features),
                                              "y": (spec.batch_size, spec.n_classes)}

        def acts(i: int) -> list[str]:
            return [f"a{i}.t{j}" for j in range(len(widths[i]))]

        def grads(i: int) -> list[str]:
            return [f"g{i}.t{j}" for j in range(len(widths[i]))]

        def kind(role: str, i: int, rows: int, out_tiles: tuple[int, ...] = ()) -> str:
            name = role if role == "out" else (f"{role}{i}" if role == "delta" else f"{role}{i}r{rows}")
            kinds.setdefault(name, Kind(name, role, i, rows, widths[i - 1], out_tiles))
            return name

        for i in range(1, n_layers + 1):
            for j, r in enumerate(widths[i]):
                shapes[f"w{i}.t{j}"] = (r, widths_all[i - 1])
                shapes[f"b{i}.t{j}"] = (r,)
                shapes[f"a{i}.t{j}"] = shapes[f"g{i}.t{j}"] = (spec.batch_size, r)
        for i in range(1, n_layers):
            for j, r in enumerate(widths[i]):
                shards.append(Shard(f"fwd{i}.t{j}", kind("fwd", i, r),
                                    (f"w{i}.t{j}", f"b{i}.t{j}", *acts(i - 1)), (f"a{i}.t{j}",)))
        last = n_layers
        below = grads(last - 1) if last > 1 else []
        shards.append(Shard("out", kind("out", last, spec.n_classes, widths[last - 1] if last > 1 else ()),
                            (f"w{last}.t0", f"b{last}.t0", *acts(last - 1), "y"),
                            (f"w{last}.t0'", f"b{last}.t0'", *below)))
        for i in range(last - 1, 0, -1):
            if i > 1:
                shards.append(Shard(f"delta{i}", kind("delta", i, widths_all[i], widths[i - 1]),
                                    (*[f"w{i}.t{j}" for j in range(len(widths[i]))], *grads(i),
                                     *acts(i - 1)), tuple(grads(i - 1))))
            for j, r in enumerate(widths[i]):
                shards.append(Shard(f"bwd{i}.t{j}", kind("bwd", i, r),
                                    (f"w{i}.t{j}", f"b{i}.t{j}", *acts(i - 1), f"g{i}.t{j}"),
                                    (f"w{i}.t{j}'", f"b{i}.t{j}'")))
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "shards", tuple(shards))
        object.__setattr__(self, "shapes", shapes)

    @property
    def n_layers(self) -> int:
        return len(mlp_widths(self.spec)) - 1

    def param_tiles(self) -> list[str]:
        """The parameter tiles in checkpoint order: ``w1.t0, b1.t0, w1.t1, b1.t1, ..., w2.t0, ...``."""
        names = []
        for i in range(1, self.n_layers + 1):
            j = 0
            while f"w{i}.t{j}" in self.shapes:
                names += [f"w{i}.t{j}", f"b{i}.t{j}"]
                j += 1
        return names

    def step_inputs(self) -> list[str]:
        """Tensors no shard makes: the parameter tiles, then ``x`` (``a0.t0``) and ``y``."""
        return [*self.param_tiles(), "a0.t0", "y"]

    def step_outputs(self) -> list[str]:
        """The updated parameter tiles, in checkpoint order."""
        return [name + "'" for name in self.param_tiles()]

    def producers(self) -> dict[str, str]:
        """Tensor -> the shard that writes it."""
        return {t: s.name for s in self.shards for t in s.outputs}

    def shape(self, tensor: str) -> tuple[int, ...]:
        return self.shapes[tensor.rstrip("'")]

    def to_json(self) -> dict[str, Any]:
        return {"format": PLAN_FORMAT, "spec": self.spec.to_json(), "tile_rows": list(self.tile_rows),
                "kinds": [k.to_json() for k in self.kinds.values()],
                "shards": [s.to_json() for s in self.shards]}


def tile_params(plan: ShardPlan, params: dict[str, Any]) -> dict[str, Any]:
    """Cut a checkpoint (``w1, b1, ...``) into the plan's parameter tiles (row blocks of ``W_i``)."""
    out: dict[str, Any] = {}
    for i in range(1, plan.n_layers + 1):
        start, j = 0, 0
        while f"w{i}.t{j}" in plan.shapes:
            r = plan.shapes[f"b{i}.t{j}"][0]
            out[f"w{i}.t{j}"] = params[f"w{i}"][start : start + r]
            out[f"b{i}.t{j}"] = params[f"b{i}"][start : start + r]
            start, j = start + r, j + 1
    return out


def untile_params(plan: ShardPlan, tiles: dict[str, Any], suffix: str = "'") -> dict[str, Any]:
    """Join updated tiles (``w1.t0'``...) back into a checkpoint ``w1, b1, ...``."""
    import numpy as np

    out: dict[str, Any] = {}
    for i in range(1, plan.n_layers + 1):
        n = math.ceil(mlp_widths(plan.spec)[i] / (plan.tile_rows[i - 1] if i < plan.n_layers
                                             else plan.spec.n_classes))
        out[f"w{i}"] = np.concatenate([tiles[f"w{i}.t{j}{suffix}"] for j in range(n)], axis=0)
        out[f"b{i}"] = np.concatenate([tiles[f"b{i}.t{j}{suffix}"] for j in range(n)], axis=0)
    return out
