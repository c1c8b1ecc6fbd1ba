"""Compressed updates: top-k with error feedback, int8 quantisation, and the sparse wire format."""

from __future__ import annotations

import numpy as np
import pytest
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from pot.aggregation import (
    MAX_ABS_VALUE,
    RULE_FEDAVG,
    AggregationError,
    AggregationParams,
    MalformedUpdateError,
    SparseUpdate,
    Update,
    aggregate,
    decode_sparse,
    encode_sparse,
    quantise_int8,
    sparse_commitment,
    top_k_indices,
    topk_compress,
)
from pot.aggregation.updates import MAX_STEP
from pot.errors import MalformedInputError


def ints(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def test_top_k_takes_largest_magnitudes_and_breaks_ties_by_lower_index() -> None:
    assert top_k_indices(ints([1, -9, 3, 9, 0, -3, 3]), 2).tolist() == [1, 3]
    assert top_k_indices(ints([1, -9, 3, 9, 0, -3, 3]), 3).tolist() == [1, 2, 3]
    assert top_k_indices(ints([0, 5, 0, 0]), 3).tolist() == [1]  # zeros are never sent


def test_quantise_uses_one_integer_step_and_rounds_half_to_even() -> None:
    codes, step = quantise_int8(ints([1270, -635, 5, 15, 25]))
    assert step == 10
    assert codes.dtype == np.int8
    assert codes.tolist() == [127, -64, 0, 2, 2]  # -63.5 -> -64, 0.5 -> 0, 1.5 -> 2, 2.5 -> 2


def test_quantise_refuses_values_no_step_can_reach() -> None:
    with pytest.raises(AggregationError, match="cannot quantise"):
        quantise_int8(ints([MAX_ABS_VALUE]))  # 127 * MAX_STEP < MAX_ABS_VALUE


@given(st.lists(st.integers(-127 * MAX_STEP, 127 * MAX_STEP), min_size=1, max_size=50))
def test_quantisation_error_is_at_most_half_a_step(values: list[int]) -> None:
    codes, step = quantise_int8(ints(values))
    assert 1 <= step <= MAX_STEP
    assert np.all(np.abs(codes.astype(np.int64)) <= 127)
    error = np.abs(codes.astype(np.int64) * step - ints(values))
    assert np.all(2 * error <= step)


@settings(deadline=None)
@given(
    st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=60),
    st.data(),
)
def test_error_feedback_loses_nothing(values: list[int], data: st.DataObject) -> None:
    update = ints(values)
    size = len(values)
    residual = ints(data.draw(st.lists(st.integers(-(10**6), 10**6), min_size=size, max_size=size)))
    k = data.draw(st.integers(1, len(values)))
    sent, new_residual = topk_compress(update, residual, k)
    assert sent.indices.size <= k
    assert np.array_equal(sent.to_dense() + new_residual, update + residual)


def test_error_feedback_sends_what_earlier_rounds_held_back() -> None:
    update = ints([5, 4, 3, 0])
    residual = np.zeros(4, dtype=np.int64)
    sent_indices = []
    for _ in range(4):
        sent, residual = topk_compress(update, residual, 1)
        sent_indices.append(sent.indices.tolist())
    # Index 2 is never the largest of one round, but by round 4 it has accumulated 12.
    assert sent_indices == [[0], [1], [0], [2]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((ints([1, 2]), np.zeros(2, dtype=np.int64), 0), r"1 <= k <= d"),
        ((ints([1, 2]), np.zeros(3, dtype=np.int64), 1), "one shape"),
        ((ints([MAX_ABS_VALUE]), ints([1]), 1), "MAX_ABS_VALUE"),
    ],
)
def test_topk_compress_rejects_bad_arguments(args: tuple, message: str) -> None:
    with pytest.raises(AggregationError, match=message):
        topk_compress(*args)


# ---------------------------------------------------------------------------------------------
# Wire format

EXAMPLE = SparseUpdate(10, ints([2, 7]), np.array([5, -3], dtype=np.int8), 100)
EXAMPLE_BYTES = bytes.fromhex(
    "01"  # version
    "0000000a"  # dim 10
    "00000002"  # count 2
    "00000064"  # step 100
    "00000002" "00000007"  # indices
    "05" "fd"  # codes 5, -3
)  # fmt: skip


def test_wire_format_matches_the_documented_layout() -> None:
    assert encode_sparse(EXAMPLE) == EXAMPLE_BYTES
    decoded = decode_sparse(EXAMPLE_BYTES, dim=10, k=2)
    assert decoded.to_dense().tolist() == [0, 0, 500, 0, 0, 0, 0, -300, 0, 0]


def test_commitment_is_keccak256_of_the_wire_bytes() -> None:
    assert sparse_commitment(EXAMPLE_BYTES) == keccak(EXAMPLE_BYTES)
    assert len(sparse_commitment(EXAMPLE_BYTES)) == 32
    assert sparse_commitment(EXAMPLE_BYTES[:-1] + b"\xfe") != sparse_commitment(EXAMPLE_BYTES)


@st.composite
def sparse_updates(draw: st.DrawFn) -> SparseUpdate:
    dim = draw(st.integers(1, 300))
    indices = sorted(draw(st.sets(st.integers(0, dim - 1), max_size=min(dim, 40))))
    codes = [draw(st.integers(1, 127)) * draw(st.sampled_from([-1, 1])) for _ in indices]
    return SparseUpdate(
        dim, ints(indices), np.array(codes, dtype=np.int8), draw(st.integers(1, MAX_STEP))
    )


@given(sparse_updates())
def test_encoding_round_trips_and_is_canonical(update: SparseUpdate) -> None:
    data = encode_sparse(update)
    assert len(data) == 13 + 5 * update.indices.size
    decoded = decode_sparse(data, update.dim, max(1, update.indices.size))
    assert decoded.indices.tolist() == update.indices.tolist()
    assert decoded.codes.tolist() == update.codes.tolist()
    assert decoded.step == update.step
    assert encode_sparse(decoded) == data


def _patch(offset: int, new: bytes) -> bytes:
    return EXAMPLE_BYTES[:offset] + new + EXAMPLE_BYTES[offset + len(new) :]


@pytest.mark.parametrize(
    ("data", "dim", "k", "message"),
    [
        (EXAMPLE_BYTES[:12], 10, 2, "too short: 12 bytes, the header alone is 13"),
        (_patch(0, b"\x02"), 10, 2, "unknown sparse format version 2"),
        (EXAMPLE_BYTES, 11, 2, "wrong dimension: header says 10, the job has 11"),
        (EXAMPLE_BYTES, 10, 1, "too many entries: count 2 exceeds k=1"),
        (EXAMPLE_BYTES[:-1], 10, 2, "wrong length: 22 bytes, count 2 needs 23"),
        (EXAMPLE_BYTES + b"\x00", 10, 2, "wrong length: 24 bytes, count 2 needs 23"),
        (_patch(9, bytes(4)), 10, 2, "step must be in"),
        (_patch(9, (MAX_STEP + 1).to_bytes(4, "big")), 10, 2, "step must be in"),
        (_patch(17, (10).to_bytes(4, "big")), 10, 2, r"entry 1: index out of range: 10 not in"),
        (_patch(17, (2).to_bytes(4, "big")), 10, 2, "entry 1: duplicate index 2"),
        (_patch(17, (1).to_bytes(4, "big")), 10, 2, "entry 1: indices not strictly increasing"),
        (_patch(21, b"\x00"), 10, 2, r"entry 0: code 0 not in \[-127, -1\] or \[1, 127\]"),
        (_patch(22, b"\x80"), 10, 2, r"entry 1: code -128 not in"),
    ],
)
def test_malformed_updates_get_one_clear_error_each(
    data: bytes, dim: int, k: int, message: str
) -> None:
    with pytest.raises(MalformedUpdateError, match=message) as caught:
        decode_sparse(data, dim, k)
    assert isinstance(caught.value, MalformedInputError) and isinstance(caught.value, ValueError)


def test_the_earliest_bad_entry_is_reported() -> None:
    data = _patch(13, (9).to_bytes(4, "big"))  # indices 9, 7: entry 1 decreases
    data = data[:21] + b"\x00\xfd"  # and entry 0 has code 0: entry 0 comes first
    with pytest.raises(MalformedUpdateError, match="entry 0: code 0"):
        decode_sparse(data, 10, 2)


@pytest.mark.parametrize(("dim", "k"), [(10, 0), (10, 11)])
def test_decoding_with_an_impossible_k_is_the_callers_error(dim: int, k: int) -> None:
    with pytest.raises(AggregationError, match="1 <= k <= dim") as caught:
        decode_sparse(EXAMPLE_BYTES, dim, k)
    assert not isinstance(caught.value, MalformedUpdateError)


def test_sparse_update_checks_its_fields_on_construction() -> None:
    with pytest.raises(MalformedUpdateError, match="int64 indices and int8 codes"):
        SparseUpdate(4, np.array([1], dtype=np.int32), np.array([1], dtype=np.int8), 1)  # type: ignore[arg-type]
    with pytest.raises(MalformedUpdateError, match="wrong length"):
        SparseUpdate(4, ints([1, 2]), np.array([1], dtype=np.int8), 1)
    with pytest.raises(MalformedUpdateError, match="dim must be in"):
        SparseUpdate(0, ints([]), np.array([], dtype=np.int8), 1)
    with pytest.raises(MalformedUpdateError, match="index out of range: -1"):
        SparseUpdate(4, ints([-1]), np.array([1], dtype=np.int8), 1)


def test_aggregator_consumes_decoded_updates_directly() -> None:
    rng = np.random.default_rng(3)
    updates, dense = [], []
    for trainer in range(4):
        values = rng.integers(-5000, 5000, size=200).astype(np.int64)
        sent, _ = topk_compress(values, np.zeros(200, dtype=np.int64), 20)
        wire = encode_sparse(sent)
        updates.append(Update(bytes([trainer + 1]), decode_sparse(wire, 200, 20), 10 + trainer))
        dense.append(Update(bytes([trainer + 1]), sent.to_dense(), 10 + trainer))
    params = AggregationParams(clip_norm=20000)
    sparse_result, sparse_evidence = aggregate(RULE_FEDAVG, updates, params)
    dense_result, dense_evidence = aggregate(RULE_FEDAVG, dense, params)
    assert np.array_equal(sparse_result, dense_result)
    assert sparse_evidence == dense_evidence
