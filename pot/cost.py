"""What a spec's circuit will cost, predicted before any work: rows, logrows, pk, peak RSS, time.

Rows are predicted from the spec alone by a linear model fitted on ezkl's exact counts
(``benchmarks/spec_rows.py --fit``; the exact count needs an export and ``ezkl.gen_settings``),
then logrows as :func:`logrows_for`. The pk size, peak RSS of proving and proving time
are a step function of logrows: measured at logrows 17 on the 2-core machine and doubling with
each step (``docs/performance.md``, "How the cost grows": pk 0.69 / 2.66 / 5.32 GB and peak RSS
1.65 / 6.13 / 12.2 GB at logrows 15 / 17 / 18). Every figure is a prediction and says so.

:func:`check_fits` is what ``pot setup`` (and any circuit build) calls before exporting anything:
a circuit predicted to need more memory than the machine has is refused with these figures.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from pot.errors import SetupError
from pot.layers import LOSSES, ReLU
from pot.spec import ModelSpec

MIN_LOGROWS = 15  # ezkl 23.0.5's minimum
MAX_LOGROWS = 20  # logrows 21 does not fit in 24 GiB
ROW_HEADROOM = 64  # rows ezkl reserves for blinding and padding beyond num_rows


def logrows_for(rows: int) -> int:
    """The least usable logrows for a circuit of ``rows`` rows (ezkl keeps ``ROW_HEADROOM`` back)."""
    return max(MIN_LOGROWS, math.ceil(math.log2(rows + ROW_HEADROOM)))

# Rows = ROWS_FIXED + sum(c * feature): least squares over the specs of benchmarks/spec_rows.py.
ROW_FEATURES = ("params", "batch_products", "batch_activations", "optimizer_values")
ROWS_FIXED = 3_585
ROWS_PER_FEATURE = {"params": 25.79, "batch_products": 0.43, "batch_activations": 58.97,
                    "optimizer_values": 29.57}
BASE_LOGROWS = 17  # the logrows the per-circuit figures below were measured at
PK_BYTES_AT_BASE = 2_660_000_000  # mlp-digits, logrows 17 (docs/performance.md)
PROVE_RSS_BYTES_AT_BASE = 6_130_000_000
SETUP_RSS_BYTES_AT_BASE = 3_200_000_000
PROVE_SECONDS_AT_BASE = 77.0
MEMORY_FRACTION_USABLE = 0.9  # refuse a circuit whose predicted peak RSS passes 90% of RAM


def row_features(spec: ModelSpec) -> list[int]:
    """The spec's values of :data:`ROW_FEATURES`:

    * ``params``: trainable parameters (each is read, updated and rescaled);
    * ``batch_products``: ``B`` times the products of one sample's forward (the backward's are
      proportional);
    * ``batch_activations``: ``B`` times the values each ReLU and the loss head see (comparisons,
      the exp lookup);
    * ``optimizer_values``: parameters times the optimizer options on (momentum, weight decay).
    """
    b = spec.batch_size
    products = sum(layer.macs(spec.shapes[i]) for i, layer in enumerate(spec.layers))
    acts = sum(math.prod(spec.shapes[i + 1]) for i, layer in enumerate(spec.layers)
               if isinstance(layer, ReLU))
    if LOSSES[spec.loss].classifies:
        acts += spec.n_outputs
    opt = spec.optimizer
    return [spec.n_params, b * products, b * acts,
            spec.n_params * (int(opt.momentum > 0) + int(opt.weight_decay > 0))]


def predict_rows(spec: ModelSpec) -> int:
    """Predicted rows of the spec's step circuit (within about 25% on the benchmark's specs)."""
    total = ROWS_FIXED + sum(ROWS_PER_FEATURE[name] * value
                             for name, value in zip(ROW_FEATURES, row_features(spec), strict=True))
    return round(total)


@dataclass(frozen=True)
class CostPrediction:
    """Predicted size and cost of one spec's circuit (all predictions, none measured).

    Attributes
    ----------
    params, rows, logrows
        Trainable parameters, predicted rows, and the logrows they need.
    pk_bytes, prove_rss_bytes, setup_rss_bytes
        Proving key size and peak resident memory of proving and of setup, in bytes.
    prove_seconds
        One proof on the 2-core machine the constants were measured on.
    """

    params: int
    rows: int
    logrows: int
    pk_bytes: int
    prove_rss_bytes: int
    setup_rss_bytes: int
    prove_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"params": self.params, "rows": self.rows, "logrows": self.logrows,
                "pk_bytes": self.pk_bytes, "prove_rss_bytes": self.prove_rss_bytes,
                "setup_rss_bytes": self.setup_rss_bytes, "prove_seconds": self.prove_seconds,
                "predicted": True}

    def summary(self) -> str:
        """One line: ``rows 12,789 (logrows 15): pk 0.7 GB, peak RSS 1.5 GB, prove 19 s``."""
        return (f"rows {self.rows:,} (logrows {self.logrows}): pk {self.pk_bytes / 1e9:.1f} GB, "
                f"peak RSS {self.prove_rss_bytes / 1e9:.1f} GB, prove {self.prove_seconds:.0f} s "
                "(predicted)")


def predict(spec: ModelSpec, rows: int | None = None) -> CostPrediction:
    """The cost prediction of ``spec``'s circuit; ``rows`` an exact count when known."""
    n = predict_rows(spec) if rows is None else rows
    logrows = logrows_for(n)
    factor = 2.0 ** (logrows - BASE_LOGROWS)
    return CostPrediction(spec.n_params, n, logrows, int(PK_BYTES_AT_BASE * factor),
                          int(PROVE_RSS_BYTES_AT_BASE * factor),
                          int(SETUP_RSS_BYTES_AT_BASE * factor),
                          round(PROVE_SECONDS_AT_BASE * factor, 1))


def machine_memory_bytes() -> int:
    """Physical memory of this machine (``sysconf``), in bytes."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_fits(spec: ModelSpec, rows: int | None = None, memory_bytes: int | None = None) -> CostPrediction:
    """Refuse a circuit predicted not to fit this machine's memory, before any work.

    Raises
    ------
    SetupError
        If the predicted peak RSS of proving passes ``MEMORY_FRACTION_USABLE`` of the memory, or
        the logrows pass :data:`MAX_LOGROWS`; the message gives the figures.
    """
    cost = predict(spec, rows)
    memory = machine_memory_bytes() if memory_bytes is None else memory_bytes
    if cost.prove_rss_bytes > MEMORY_FRACTION_USABLE * memory or cost.logrows > MAX_LOGROWS:
        raise SetupError(f"spec {spec.name!r} ({spec.n_params:,} parameters) will not fit: "
                         f"{cost.summary()}, this machine has {memory / 1e9:.1f} GB; "
                         "use fewer parameters or a smaller batch (pot spec show)")
    return cost
