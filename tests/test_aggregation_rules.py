"""The aggregation rules: reference and vectorised twins agree bit for bit, in any input order.

One parametrised test per property runs both implementations (py_ecc's pattern); hypothesis draws
rounds with dense and sparse updates, small values (many ties) and values at ``MAX_ABS_VALUE``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from pot.aggregation import (
    MAX_ABS_VALUE,
    RULE_CENTERED_CLIPPING,
    RULE_FEDAVG,
    RULE_MEDIAN,
    RULE_MULTI_KRUM,
    RULE_NAMES,
    RULE_TRIMMED_MEAN,
    AggregationError,
    AggregationParams,
    Evidence,
    SparseUpdate,
    Update,
    aggregate,
    aggregate_reference,
    commit_vector,
)
from pot.aggregation.fixedpoint import GRAM_BLOCK_COLUMNS, SORT_BLOCK_COLUMNS
from pot.aggregation.updates import MAX_STEP
from pot.errors import PotError

Aggregate = Callable[[int, Sequence[Update], AggregationParams], tuple[NDArray[np.int64], Evidence]]
IMPLEMENTATIONS = pytest.mark.parametrize(
    "agg", [aggregate, aggregate_reference], ids=["vectorised", "reference"]
)


def dense_update(trainer: int | bytes, values: Sequence[int], samples: int = 1) -> Update:
    tid = trainer if isinstance(trainer, bytes) else bytes([trainer]) * 4
    return Update(tid, np.array(values, dtype=np.int64), samples)


# ---------------------------------------------------------------------------------------------
# Generated rounds


@st.composite
def vectors(draw: st.DrawFn, dim: int) -> NDArray[np.int64] | SparseUpdate:
    if draw(st.integers(0, 3)) == 0:
        indices = sorted(draw(st.sets(st.integers(0, dim - 1), max_size=dim)))
        codes = [draw(st.integers(1, 127)) * draw(st.sampled_from([-1, 1])) for _ in indices]
        step = draw(st.sampled_from([1, 3, 1000, MAX_STEP]))
        return SparseUpdate(
            dim, np.array(indices, dtype=np.int64), np.array(codes, dtype=np.int8), step
        )
    peak = draw(st.sampled_from([2, 1000, MAX_ABS_VALUE]))
    return np.array(draw(st.lists(st.integers(-peak, peak), min_size=dim, max_size=dim)), np.int64)


@st.composite
def rounds(draw: st.DrawFn, min_n: int = 1, max_n: int = 7) -> list[Update]:
    n = draw(st.integers(min_n, max_n))
    dim = draw(st.integers(1, 6))
    ids = draw(st.lists(st.binary(min_size=1, max_size=3), min_size=n, max_size=n, unique=True))
    return [Update(tid, draw(vectors(dim)), draw(st.integers(1, 10**6))) for tid in ids]


@st.composite
def rounds_with_rule(draw: st.DrawFn) -> tuple[int, list[Update], AggregationParams]:
    rule = draw(st.sampled_from(sorted(RULE_NAMES)))
    updates = draw(rounds(min_n=3 if rule == RULE_MULTI_KRUM else 1))
    n, dim = len(updates), _dim(updates[0])
    if rule == RULE_FEDAVG:
        params = AggregationParams(clip_norm=draw(st.sampled_from([0, 1, 5000, 2**31 - 1])))
    elif rule == RULE_MULTI_KRUM:
        f = draw(st.integers(0, (n - 3) // 2))
        params = AggregationParams(num_byzantine=f, num_selected=draw(st.integers(1, n - f)))
    elif rule == RULE_TRIMMED_MEAN:
        params = AggregationParams(num_trimmed=draw(st.integers(0, (n - 1) // 2)))
    elif rule == RULE_CENTERED_CLIPPING:
        center = draw(st.none() | vectors(dim).filter(lambda v: isinstance(v, np.ndarray)))
        params = AggregationParams(
            tau=draw(st.sampled_from([1, 700, 2**31 - 1])),
            iterations=draw(st.integers(1, 3)),
            center=center if isinstance(center, np.ndarray) else None,
        )
    else:
        params = AggregationParams()
    return rule, updates, params


def _dim(u: Update) -> int:
    return u.vector.dim if isinstance(u.vector, SparseUpdate) else len(u.vector)


@settings(max_examples=300, deadline=None)
@given(rounds_with_rule())
def test_reference_and_vectorised_agree_bit_for_bit(
    case: tuple[int, list[Update], AggregationParams],
) -> None:
    rule, updates, params = case
    fast, fast_evidence = aggregate(rule, updates, params)
    slow, slow_evidence = aggregate_reference(rule, updates, params)
    assert fast.dtype == slow.dtype == np.int64
    assert fast.tolist() == slow.tolist()
    assert fast_evidence == slow_evidence


@settings(max_examples=150, deadline=None)
@given(rounds_with_rule(), st.randoms(use_true_random=False))
def test_result_and_evidence_do_not_depend_on_input_order(
    case: tuple[int, list[Update], AggregationParams], rnd: random.Random
) -> None:
    rule, updates, params = case
    shuffled = list(updates)
    rnd.shuffle(shuffled)
    first, first_evidence = aggregate(rule, updates, params)
    second, second_evidence = aggregate(rule, shuffled, params)
    assert first.tobytes() == second.tobytes()
    assert first_evidence == second_evidence


@settings(max_examples=100, deadline=None)
@given(rounds_with_rule())
def test_sparse_updates_aggregate_like_their_dense_vectors(
    case: tuple[int, list[Update], AggregationParams],
) -> None:
    rule, updates, params = case
    densified = [
        Update(u.trainer_id, u.vector.to_dense(), u.samples)
        if isinstance(u.vector, SparseUpdate)
        else u
        for u in updates
    ]
    assert aggregate(rule, updates, params)[0].tolist() == (
        aggregate(rule, densified, params)[0].tolist()
    )


@settings(max_examples=100, deadline=None)
@given(rounds_with_rule())
def test_evidence_is_json_and_commits_to_the_aggregate(
    case: tuple[int, list[Update], AggregationParams],
) -> None:
    rule, updates, params = case
    result, evidence = aggregate(rule, updates, params)
    assert json.loads(json.dumps(evidence)) == evidence
    assert evidence["rule_id"] == rule and evidence["rule"] == RULE_NAMES[rule]
    assert evidence["aggregate"] == commit_vector(result).hex()
    assert evidence["trainers"] == sorted(evidence["trainers"], key=bytes.fromhex)
    assert len(evidence["scores"]) == len(evidence["samples"]) == len(updates)
    assert set(evidence["selected"]) <= set(evidence["trainers"])


# ---------------------------------------------------------------------------------------------
# Known answers, worked by hand


@IMPLEMENTATIONS
def test_fedavg_weights_by_verified_samples(agg: Aggregate) -> None:
    updates = [dense_update(1, [1, 3], samples=1), dense_update(2, [2, 4], samples=3)]
    result, evidence = agg(RULE_FEDAVG, updates, AggregationParams())
    assert result.tolist() == [2, 4]  # 7/4 = 1.75 -> 2 and 15/4 = 3.75 -> 4
    assert evidence["scores"] == [1, 3]


@IMPLEMENTATIONS
@pytest.mark.parametrize(("a", "b", "expected"), [(1, 2, 2), (2, 3, 2), (-1, -2, -2), (-2, -3, -2)])
def test_fedavg_rounds_exact_halves_to_even(agg: Aggregate, a: int, b: int, expected: int) -> None:
    result, _ = agg(RULE_FEDAVG, [dense_update(1, [a]), dense_update(2, [b])], AggregationParams())
    assert result.tolist() == [expected]


@IMPLEMENTATIONS
def test_fedavg_clips_only_updates_above_the_norm(agg: Aggregate) -> None:
    updates = [dense_update(1, [30, 40]), dense_update(2, [3, 4])]  # norms 50 and 5
    result, evidence = agg(RULE_FEDAVG, updates, AggregationParams(clip_norm=10))
    # [30, 40] -> [6, 8]; mean with [3, 4] is [4.5, 6] -> [4, 6]
    assert result.tolist() == [4, 6]
    assert evidence["clipped"] == [(bytes([1]) * 4).hex()]


KRUM_POINTS = [[0], [1], [2], [3], [100]]  # scores with n - f - 2 = 2 nearest: 5, 2, 2, 5, 19013


@IMPLEMENTATIONS
def test_multi_krum_scores_and_drops_the_outlier(agg: Aggregate) -> None:
    updates = [dense_update(i + 1, p) for i, p in enumerate(KRUM_POINTS)]
    result, evidence = agg(
        RULE_MULTI_KRUM, updates, AggregationParams(num_byzantine=1, num_selected=4)
    )
    assert evidence["scores"] == [5, 2, 2, 5, 19013]
    assert evidence["selected"] == [(bytes([i]) * 4).hex() for i in (1, 2, 3, 4)]
    assert result.tolist() == [2]  # (0 + 1 + 2 + 3) / 4 = 1.5 -> 2


@IMPLEMENTATIONS
def test_multi_krum_breaks_score_ties_by_trainer_id(agg: Aggregate) -> None:
    # Trainers holding [1] and [2] tie at score 2; ids are given so that [2] has the lower id.
    ids = [b"\x05", b"\x04", b"\x03", b"\x02", b"\x01"]
    updates = [dense_update(tid, p) for tid, p in zip(ids, KRUM_POINTS, strict=True)]
    krum = AggregationParams(num_byzantine=1, num_selected=1)
    result, evidence = agg(RULE_MULTI_KRUM, updates, krum)
    assert result.tolist() == [2] and evidence["selected"] == ["03"]
    three = AggregationParams(num_byzantine=1, num_selected=3)  # [0] and [3] tie at 5
    _, evidence = agg(RULE_MULTI_KRUM, updates, three)
    assert evidence["selected"] == ["02", "03", "04"]  # [3] has id 02, [0] has id 05


@IMPLEMENTATIONS
@pytest.mark.parametrize(
    ("points", "expected"), [([1, 5, 3], 3), ([1, 5, 3, 100], 4), ([1, 2], 2), ([7], 7)]
)
def test_median_takes_the_middle_or_the_rounded_mean_of_two(
    agg: Aggregate, points: list[int], expected: int
) -> None:
    updates = [dense_update(i + 1, [p]) for i, p in enumerate(points)]
    assert agg(RULE_MEDIAN, updates, AggregationParams())[0].tolist() == [expected]


@IMPLEMENTATIONS
def test_trimmed_mean_drops_b_values_at_each_end_and_counts_them(agg: Aggregate) -> None:
    updates = [dense_update(i + 1, p) for i, p in enumerate([[1, 9], [3, 3], [5, 5], [100, -50]])]
    result, evidence = agg(RULE_TRIMMED_MEAN, updates, AggregationParams(num_trimmed=1))
    assert result.tolist() == [4, 4]  # kept (3, 5) and (3, 5)
    assert evidence["scores"] == [2, 0, 0, 2]


@IMPLEMENTATIONS
def test_centered_clipping_clips_differences_to_tau(agg: Aggregate) -> None:
    updates = [dense_update(1, [10]), dense_update(2, [2])]
    result, evidence = agg(RULE_CENTERED_CLIPPING, updates, AggregationParams(tau=4))
    assert result.tolist() == [3]  # (clip(10) = 4 + 2) / 2
    assert evidence["scores"] == [100, 4]
    assert evidence["clipped"] == [(bytes([1]) * 4).hex()]


@IMPLEMENTATIONS
def test_centered_clipping_moves_from_the_given_center(agg: Aggregate) -> None:
    updates = [dense_update(1, [110]), dense_update(2, [102])]
    center = np.array([100], dtype=np.int64)
    params = AggregationParams(tau=4, iterations=1, center=center)
    assert agg(RULE_CENTERED_CLIPPING, updates, params)[0].tolist() == [103]


# ---------------------------------------------------------------------------------------------
# Relations between rules


@settings(max_examples=50, deadline=None)
@given(rounds(min_n=3))
def test_rules_reduce_to_fedavg_when_nothing_is_excluded(updates: list[Update]) -> None:
    fedavg, _ = aggregate(RULE_FEDAVG, updates, AggregationParams())
    n = len(updates)
    krum_all = AggregationParams(num_byzantine=0, num_selected=n)
    assert aggregate(RULE_MULTI_KRUM, updates, krum_all)[0].tolist() == fedavg.tolist()
    wide = AggregationParams(tau=2**31 - 1, iterations=1)
    result, evidence = aggregate(RULE_CENTERED_CLIPPING, updates, wide)
    if not evidence["clipped"]:  # every update within tau of the zero center
        assert result.tolist() == fedavg.tolist()


@settings(max_examples=50, deadline=None)
@given(rounds())
def test_median_is_the_widest_trimmed_mean(updates: list[Update]) -> None:
    median, _ = aggregate(RULE_MEDIAN, updates, AggregationParams())
    widest = AggregationParams(num_trimmed=(len(updates) - 1) // 2)
    assert aggregate(RULE_TRIMMED_MEAN, updates, widest)[0].tolist() == median.tolist()


def test_robust_rules_resist_a_scaled_sign_flip() -> None:
    rng = np.random.default_rng(7)
    honest = rng.integers(900, 1100, size=(8, 16))
    attack = -10 * honest[:2]
    updates = [dense_update(i + 1, v.tolist(), 100) for i, v in enumerate([*honest, *attack])]
    mean = honest.mean(axis=0)
    previous = np.full(16, 1000, dtype=np.int64)  # last round's aggregate, the clipping center
    fedavg = aggregate(RULE_FEDAVG, updates, AggregationParams())[0]
    assert np.all(fedavg < 0)  # the attack wins against plain averaging
    for rule, params in [
        (RULE_MULTI_KRUM, AggregationParams(num_byzantine=2, num_selected=6)),
        (RULE_MEDIAN, AggregationParams()),
        (RULE_TRIMMED_MEAN, AggregationParams(num_trimmed=2)),
        (RULE_CENTERED_CLIPPING, AggregationParams(tau=500, iterations=3, center=previous)),
    ]:
        result, evidence = aggregate(rule, updates, params)
        assert np.all(np.abs(result - mean) < 200), RULE_NAMES[rule]
        if rule == RULE_MULTI_KRUM:
            attackers = {u.trainer_id.hex() for u in updates[8:]}
            assert attackers.isdisjoint(evidence["selected"])


# ---------------------------------------------------------------------------------------------
# Blocks, limbs, and replay on any machine


def chain_values(seed: bytes, count: int, peak: int) -> list[int]:
    """Deterministic pseudo-random ints in [-peak, peak], from keccak (no RNG version drift)."""
    out: list[int] = []
    counter = 0
    while len(out) < count:
        digest = keccak(seed + counter.to_bytes(8, "big"))
        out.extend(
            int.from_bytes(digest[i : i + 8], "big") % (2 * peak + 1) - peak for i in (0, 8, 16, 24)
        )
        counter += 1
    return out[:count]


def chain_round(n: int, dim: int, peak: int) -> list[Update]:
    return [
        Update(
            keccak(b"trainer" + bytes([i]))[:8],
            np.array(chain_values(b"update" + bytes([i]), dim, peak), dtype=np.int64),
            1 + i * 37,
        )
        for i in range(n)
    ]


ALL_RULES = [
    (RULE_FEDAVG, AggregationParams(clip_norm=3 * 10**6)),
    (RULE_MULTI_KRUM, AggregationParams(num_byzantine=1, num_selected=2)),
    (RULE_MEDIAN, AggregationParams()),
    (RULE_TRIMMED_MEAN, AggregationParams(num_trimmed=1)),
    (RULE_CENTERED_CLIPPING, AggregationParams(tau=4 * 10**6, iterations=2)),
]


BLOCKED_RULES = ALL_RULES[1:4]  # multi-Krum, median and trimmed mean work block by block


@pytest.mark.parametrize("peak", [3000, MAX_ABS_VALUE], ids=["one-limb", "two-limb"])
@pytest.mark.parametrize(
    ("rule", "params"), BLOCKED_RULES, ids=[RULE_NAMES[r] for r, _ in BLOCKED_RULES]
)
def test_twins_agree_across_many_blocks(rule: int, params: AggregationParams, peak: int) -> None:
    dim = GRAM_BLOCK_COLUMNS + 3 * SORT_BLOCK_COLUMNS + 5  # a partial last block in both kernels
    updates = chain_round(5, dim, peak)
    fast, fast_evidence = aggregate(rule, updates, params)
    slow, slow_evidence = aggregate_reference(rule, updates, params)
    assert np.array_equal(fast, slow)
    assert fast_evidence == slow_evidence


# keccak256 of each rule's aggregate of chain_round(6, 1000, 2**20): pinned, so that any machine,
# BLAS, numpy version or refactoring that changes one bit fails here.
GOLDEN = {
    RULE_FEDAVG: "cca494a456402184cef5ba4471b3723f54a4367e91381ab9cd074d65ed8907e8",
    RULE_MULTI_KRUM: "bb2a9e26ae85768c15b640ecd3a4dce7d1c5cf32c4f86708e78a9d92911dd523",
    RULE_MEDIAN: "4ea8e6603c5e0a5be9853de8e3476e17f7f91fbebd2b7c451a0b30b9950e9f34",
    RULE_TRIMMED_MEAN: "4057f69bf6c37b73b1ea92bb271c3e603b2690621c76459eb9118a891f5ce51a",
    RULE_CENTERED_CLIPPING: "f2ecac917ba0450eccf1c0f3cf577f17d4d193617ac467f9b0d42d2c0b80ed1c",
}


@pytest.mark.parametrize(("rule", "params"), ALL_RULES, ids=[RULE_NAMES[r] for r, _ in ALL_RULES])
def test_aggregates_match_pinned_commitments(rule: int, params: AggregationParams) -> None:
    _, evidence = aggregate(rule, chain_round(6, 1000, 2**20), params)
    assert evidence["aggregate"] == GOLDEN[rule]


# ---------------------------------------------------------------------------------------------
# Preconditions and bad inputs


@IMPLEMENTATIONS
@pytest.mark.parametrize(
    ("n", "rule", "params", "message"),
    [
        (6, RULE_MULTI_KRUM, AggregationParams(num_byzantine=2, num_selected=1),
         r"multi-krum needs n > 2f \+ 2 \(n=6, f=2\)"),
        (7, RULE_MULTI_KRUM, AggregationParams(num_byzantine=2, num_selected=6),
         r"multi-krum needs 1 <= m <= n - f \(n=7, f=2, m=6\)"),
        (7, RULE_MULTI_KRUM, AggregationParams(num_byzantine=1, num_selected=0),
         r"1 <= m <= n - f"),
        (7, RULE_MULTI_KRUM, AggregationParams(num_byzantine=-1, num_selected=1),
         r"multi-krum needs f >= 0"),
        (4, RULE_TRIMMED_MEAN, AggregationParams(num_trimmed=2),
         r"trimmed mean needs 0 <= b and n > 2b \(n=4, b=2\)"),
        (4, RULE_TRIMMED_MEAN, AggregationParams(num_trimmed=-1), r"trimmed mean needs 0 <= b"),
        (2, RULE_CENTERED_CLIPPING, AggregationParams(tau=0), r"needs 1 <= tau"),
        (2, RULE_CENTERED_CLIPPING, AggregationParams(tau=1, iterations=0),
         r"needs 1 <= iterations"),
        (2, RULE_CENTERED_CLIPPING,
         AggregationParams(tau=1, center=np.zeros(3, dtype=np.int64)), r"center must be int64"),
        (2, RULE_FEDAVG, AggregationParams(clip_norm=-1), r"clip_norm must be 0 \(off\)"),
        (2, RULE_FEDAVG, AggregationParams(clip_norm=2**31), r"clip_norm must be 0 \(off\)"),
    ],
)  # fmt: skip
def test_broken_preconditions_raise_value_errors_that_state_the_rule(
    agg: Aggregate, n: int, rule: int, params: AggregationParams, message: str
) -> None:
    updates = [dense_update(i + 1, [i, -i]) for i in range(n)]
    with pytest.raises(ValueError, match=message) as caught:
        agg(rule, updates, params)
    assert isinstance(caught.value, AggregationError) and isinstance(caught.value, PotError)


def _bad_inputs() -> list[tuple[list[Update], str]]:
    ok = dense_update(1, [1, 2])
    return [
        ([], "at least one update"),
        ([ok, dense_update(1, [3, 4])], "appears twice"),
        ([Update(b"", ok.vector, 1)], "non-empty bytes"),
        ([Update("01", ok.vector, 1)], "non-empty bytes"),  # type: ignore[arg-type]
        ([Update(b"a", ok.vector, 0)], "positive int"),
        ([Update(b"a", ok.vector, True)], "positive int"),
        ([Update(b"a", ok.vector, 2.0)], "positive int"),  # type: ignore[arg-type]
        ([Update(b"a", ok.vector, 2**31), Update(b"b", ok.vector, 1)], "MAX_TOTAL_SAMPLES"),
        ([Update(b"a", np.array([1.0, 2.0]), 1)], "1-D int64"),  # type: ignore[arg-type]
        ([Update(b"a", np.ones((1, 2), dtype=np.int64), 1)], "1-D int64"),
        ([Update(b"a", np.array([MAX_ABS_VALUE + 1, 0], dtype=np.int64), 1)], "MAX_ABS_VALUE"),
        ([Update(b"a", np.array([np.iinfo(np.int64).min, 0]), 1)], "MAX_ABS_VALUE"),
        ([ok, dense_update(2, [1, 2, 3])], "one dimension"),
        ([Update(b"a", np.zeros(0, dtype=np.int64), 1)], "dimension must be in"),
    ]


@IMPLEMENTATIONS
@pytest.mark.parametrize(("updates", "message"), _bad_inputs())
def test_invalid_updates_are_rejected_before_any_work(
    agg: Aggregate, updates: list[Update], message: str
) -> None:
    with pytest.raises(AggregationError, match=message):
        agg(RULE_FEDAVG, updates, AggregationParams())


@IMPLEMENTATIONS
def test_unknown_rule_id_is_rejected(agg: Aggregate) -> None:
    with pytest.raises(AggregationError, match="unknown aggregation rule id 5"):
        agg(5, [dense_update(1, [1])], AggregationParams())
