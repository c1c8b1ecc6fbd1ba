"""The single entry point of round finalisation: ``aggregate(rule_id, updates, params)``.

The job's hyperparams name the rule by id (``RULE_FEDAVG = 0``, ``RULE_MULTI_KRUM = 1``,
``RULE_MEDIAN = 2``, ``RULE_TRIMMED_MEAN = 3``, ``RULE_CENTERED_CLIPPING = 4``) and give its integer
parameters in :class:`pot.aggregation.params.AggregationParams`. :func:`aggregate` runs the
vectorised rules; :func:`aggregate_reference` runs the readable Python-int twins, which must give
the same bits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from pot.aggregation import reference, robust
from pot.aggregation.errors import AggregationError
from pot.aggregation.fedavg import fedavg
from pot.aggregation.params import (
    RULE_CENTERED_CLIPPING,
    RULE_FEDAVG,
    RULE_MEDIAN,
    RULE_MULTI_KRUM,
    RULE_NAMES,
    RULE_TRIMMED_MEAN,
    AggregationParams,
)
from pot.aggregation.updates import Evidence, Update

Result = tuple[NDArray[np.int64], Evidence]
Rule = Callable[[Sequence[Update], AggregationParams], Result]


def rule_table(
    mean: Callable[[Sequence[Update], int], Result],
    krum: Callable[[Sequence[Update], int, int], Result],
    median: Callable[[Sequence[Update]], Result],
    trimmed: Callable[[Sequence[Update], int], Result],
    clipping: Callable[[Sequence[Update], int, int, NDArray[np.int64] | None], Result],
) -> dict[int, Rule]:
    """Map each rule id to its function, reading the rule's own fields of the params."""
    return {
        RULE_FEDAVG: lambda u, p: mean(u, p.clip_norm),
        RULE_MULTI_KRUM: lambda u, p: krum(u, p.num_byzantine, p.num_selected),
        RULE_MEDIAN: lambda u, p: median(u),
        RULE_TRIMMED_MEAN: lambda u, p: trimmed(u, p.num_trimmed),
        RULE_CENTERED_CLIPPING: lambda u, p: clipping(u, p.tau, p.iterations, p.center),
    }


VECTORISED_RULES = rule_table(
    fedavg,
    robust.multi_krum,
    robust.coordinate_median,
    robust.trimmed_mean,
    robust.centered_clipping,
)
"""Rule id to the vectorised implementation."""

REFERENCE_RULES = rule_table(
    reference.fedavg,
    reference.multi_krum,
    reference.coordinate_median,
    reference.trimmed_mean,
    reference.centered_clipping,
)
"""Rule id to the reference implementation."""


def aggregate(
    rule_id: int, updates: Sequence[Update], params: AggregationParams
) -> tuple[NDArray[np.int64], Evidence]:
    """Aggregate a round's updates with the rule a job chose.

    Parameters
    ----------
    rule_id
        One of ``RULE_NAMES``' keys.
    updates
        The round's updates (dense or sparse), any order.
    params
        The rule's parameters; fields of other rules are ignored.

    Returns
    -------
    tuple[NDArray[np.int64], Evidence]
        The aggregate, shape ``(d,)`` in fixed-point units, and the JSON-serialisable evidence.

    Raises
    ------
    AggregationError
        If ``rule_id`` is unknown, or the rule's precondition or an input's bound fails.
    """
    return _rule(VECTORISED_RULES, rule_id)(updates, params)


def aggregate_reference(
    rule_id: int, updates: Sequence[Update], params: AggregationParams
) -> tuple[NDArray[np.int64], Evidence]:
    """:func:`aggregate` with the reference implementations (slow; for tests and fixtures)."""
    return _rule(REFERENCE_RULES, rule_id)(updates, params)


def _rule(table: dict[int, Rule], rule_id: int) -> Rule:
    if rule_id not in table:
        raise AggregationError(
            f"unknown aggregation rule id {rule_id}; known: {sorted(RULE_NAMES)}"
        )
    return table[rule_id]
