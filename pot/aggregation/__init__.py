"""Aggregation that validators can replay bit for bit.

Every validator replays each round's aggregation and must reach the same bits, so the rules here are
pure functions over integer fixed-point vectors (scale ``2**FRAC_BITS``, ``FRAC_BITS = 13`` by
default), independent of the order of their inputs, and seeded by nothing: no rule draws random
numbers. Updates are weighted by *verified* sample counts. The layout follows Flower's
``aggregate.py`` (one pure function per rule), with integer arithmetic instead of floats.

- :mod:`~pot.aggregation.fixedpoint`: scale, bounds table, rounding rule, exact integer kernels.
- :mod:`~pot.aggregation.updates`: :class:`Update`, :class:`SparseUpdate`, canonical order,
  :class:`Evidence`.
- :mod:`~pot.aggregation.fedavg`: fixed-point FedAvg with optional norm clipping.
- :mod:`~pot.aggregation.robust`: multi-Krum, coordinate-wise median, trimmed mean, centered
  clipping; each returns its evidence.
- :mod:`~pot.aggregation.reference`: the readable Python-int twins of all rules.
- :mod:`~pot.aggregation.compression`: top-k with error feedback, int8 quantisation, the sparse
  wire format and its keccak256 commitment.
- :mod:`~pot.aggregation.rules`: ``aggregate(rule_id, updates, params)``.

The validator side never imports torch. No result depends on a float: the only float arithmetic is
the trainer-side conversions :func:`to_fixed` and :func:`from_fixed`, and BLAS products in
:func:`~pot.aggregation.fixedpoint.gram` bounded so that every partial sum is an exact integer.
"""

from pot.aggregation.compression import (
    decode_sparse,
    encode_sparse,
    quantise_int8,
    sparse_commitment,
    top_k_indices,
    topk_compress,
)
from pot.aggregation.errors import AggregationError, MalformedUpdateError
from pot.aggregation.fedavg import fedavg
from pot.aggregation.fixedpoint import FRAC_BITS, MAX_ABS_VALUE, commit_vector, from_fixed, to_fixed
from pot.aggregation.params import (
    RULE_BY_NAME,
    RULE_CENTERED_CLIPPING,
    RULE_FEDAVG,
    RULE_MEDIAN,
    RULE_MULTI_KRUM,
    RULE_NAMES,
    RULE_TRIMMED_MEAN,
    AggregationParams,
    AggregationRule,
)
from pot.aggregation.robust import centered_clipping, coordinate_median, multi_krum, trimmed_mean
from pot.aggregation.rules import aggregate, aggregate_reference
from pot.aggregation.updates import Evidence, SparseUpdate, Update

__all__ = [
    "FRAC_BITS",
    "MAX_ABS_VALUE",
    "RULE_BY_NAME",
    "RULE_CENTERED_CLIPPING",
    "RULE_FEDAVG",
    "RULE_MEDIAN",
    "RULE_MULTI_KRUM",
    "RULE_NAMES",
    "RULE_TRIMMED_MEAN",
    "AggregationError",
    "AggregationParams",
    "AggregationRule",
    "Evidence",
    "MalformedUpdateError",
    "SparseUpdate",
    "Update",
    "aggregate",
    "aggregate_reference",
    "centered_clipping",
    "commit_vector",
    "coordinate_median",
    "decode_sparse",
    "encode_sparse",
    "fedavg",
    "from_fixed",
    "multi_krum",
    "quantise_int8",
    "sparse_commitment",
    "to_fixed",
    "top_k_indices",
    "topk_compress",
    "trimmed_mean",
]
