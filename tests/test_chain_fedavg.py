"""Integer FedAvg: the plain reference and the vectorised twin agree bit for bit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pot.chain.fixed_types import U64, Bytes32, Bytes48
from pot.chain.hooks import AcceptedUpdate, fedavg, fedavg_aggregate, fedavg_reference
from pot.chain.hyperparams import AggregationRule

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def updates_of(rows: Sequence[Sequence[int]], weights: Sequence[int]) -> list[AcceptedUpdate]:
    return [
        AcceptedUpdate(
            trainer=Bytes48(bytes([i]) * 48),
            weights=np.array(row, dtype=np.int64),
            verified_samples=U64(w),
            update_commitment=Bytes32(b"\x00" * 32),
        )
        for i, (row, w) in enumerate(zip(rows, weights, strict=True))
    ]


def as_list(result: object) -> list[int]:
    return [int(v) for v in result]  # type: ignore[attr-defined]


IMPLEMENTATIONS: list[Callable[[Sequence[AcceptedUpdate]], object]] = [fedavg_reference, fedavg]


@pytest.mark.parametrize("average", IMPLEMENTATIONS, ids=["reference", "vectorised"])
@pytest.mark.parametrize(
    ("rows", "weights", "expected"),
    [
        ([[4]], [7], [4]),
        ([[0], [1]], [1, 1], [1]),  # 0.5 rounds up
        ([[0], [-1]], [1, 1], [0]),  # -0.5 rounds up, toward +inf
        ([[0, 0, 0, 7], [1, 10, -1, 7]], [1, 3], [1, 8, -1, 7]),
        ([[INT64_MAX], [INT64_MAX]], [2**40, 3], [INT64_MAX]),  # needs the exact path
        ([[INT64_MIN], [INT64_MAX]], [1, 1], [0]),  # -0.5 -> 0
        ([[INT64_MIN], [INT64_MIN]], [5, 2**40], [INT64_MIN]),
    ],
)
def test_known_averages(
    average: Callable[[Sequence[AcceptedUpdate]], object],
    rows: list[list[int]],
    weights: list[int],
    expected: list[int],
) -> None:
    assert as_list(average(updates_of(rows, weights))) == expected


@pytest.mark.parametrize("average", IMPLEMENTATIONS, ids=["reference", "vectorised"])
def test_preconditions_are_value_errors(
    average: Callable[[Sequence[AcceptedUpdate]], object],
) -> None:
    with pytest.raises(ValueError, match="at least one update"):
        average([])
    with pytest.raises(ValueError, match="one length"):
        average(updates_of([[1], [1, 2]], [1, 1]))
    with pytest.raises(ValueError, match="verified_samples >= 1"):
        average(updates_of([[1]], [0]))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.lists(
                st.lists(st.integers(INT64_MIN, INT64_MAX), min_size=3, max_size=3),
                min_size=n, max_size=n,
            ),
            st.lists(st.integers(1, 2**40), min_size=n, max_size=n),
        )
    )
)
def test_twins_agree_and_stay_within_the_inputs(data: tuple[list[list[int]], list[int]]) -> None:
    rows, weights = data
    updates = updates_of(rows, weights)
    reference = fedavg_reference(updates)
    assert as_list(fedavg(updates)) == reference
    assert as_list(fedavg(updates[::-1])) == reference
    for j, value in enumerate(reference):
        column = [row[j] for row in rows]
        assert min(column) <= value <= max(column)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.integers(-(2**20), 2**20), min_size=5, max_size=5), min_size=1,
             max_size=8),
    st.integers(1, 1000),
)
def test_twins_agree_on_the_fast_path(rows: list[list[int]], weight: int) -> None:
    updates = updates_of(rows, [weight + i for i in range(len(rows))])
    assert as_list(fedavg(updates)) == fedavg_reference(updates)


def test_default_aggregator_reports_that_it_applied_fedavg() -> None:
    weights, info = fedavg_aggregate(
        updates_of([[2], [4]], [1, 1]), AggregationRule.MULTI_KRUM, 1
    )
    assert as_list(weights) == [3]
    assert weights.dtype == np.int64
    assert info["rule_applied"] == "fedavg"
    assert info["rule_requested"] == "multi_krum"
