"""Fuzzing the decoders in the test suite: hypothesis properties, and a sample of the mutation
corpus of ``pot.fuzz`` (which runs 10,000 cases per target).

The property of every decoder is the same: any bytes either decode, and then re-encode to exactly
those bytes (one encoding per value), or are refused with the decoder's own error. The fixture
reader never raises, and what ``pot fixtures check`` prints is printable ASCII.
"""

from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pot.aggregation.compression import HEADER_FORMAT, decode_sparse, encode_sparse
from pot.aggregation.errors import MalformedUpdateError
from pot.chain.abi import decode_train_request, encode_train_request
from pot.chain.errors import ChainError, HyperparamsError
from pot.chain.hyperparams import HYPERPARAMS_V1_BYTES, decode_hyperparams, encode_hyperparams
from pot.chain.request import check_train_request
from pot.errors import MalformedInputError
from pot.fixtures.check import check_fixtures, printable_ascii
from pot.fuzz import (
    SPARSE_DIM,
    SPARSE_K,
    FixturesTarget,
    HyperparamsTarget,
    SparseTarget,
    Target,
    TrainRequestTarget,
    run_cases,
)
from pot.jsonio import loads_limited

SAMPLE_CASES = {"train_request": 400, "hyperparams": 400, "sparse": 400, "fixtures": 120}


@pytest.mark.parametrize("make", [TrainRequestTarget, HyperparamsTarget, SparseTarget,
                                  FixturesTarget])
def test_a_sample_of_the_mutation_corpus_finds_no_traceback_false_accept_or_timeout(
        make: type[Target]) -> None:
    target = make()
    stats = run_cases(target, 0, SAMPLE_CASES[target.name], seed=1)  # the benchmark's is 0
    assert (stats.tracebacks, stats.false_accepts, stats.timeouts) == (0, 0, 0), stats.failures[:3]
    # Both outcomes are reached, so the sample exercises the decoder, not just its first check.
    assert 0 < stats.accepted < stats.cases
    assert len(stats.reasons) >= 3


WORDS = st.one_of(
    st.binary(min_size=32, max_size=32),
    st.sampled_from([0, 1, 2, 75, 0xA0, 0xC0, 10_000, 2**64 - 1, 2**64, 2**256 - 1])
    .map(lambda v: v.to_bytes(32, "big")),
)


@given(st.one_of(st.binary(max_size=600),
                 st.builds(lambda words, tail: b"".join(words) + tail,
                           st.lists(WORDS, min_size=5, max_size=10), st.binary(max_size=96))))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_calldata_decodes_to_its_one_encoding_or_is_refused(calldata: bytes) -> None:
    try:
        request = decode_train_request(calldata)
    except ChainError:
        return
    assert encode_train_request(request) == calldata
    with contextlib.suppress(ChainError):  # the rules may refuse it; they must not raise else
        check_train_request(request)


@st.composite
def hyperparams_records(draw: st.DrawFn) -> bytes:
    record = bytearray(draw(st.binary(min_size=HYPERPARAMS_V1_BYTES, max_size=HYPERPARAMS_V1_BYTES)))
    record[0] = draw(st.sampled_from([1, 1, 1, 0, 2]))
    record[17] = draw(st.integers(0, 2))       # loss_id, mostly valid
    record[58] = draw(st.integers(0, 5))       # aggregation rule, mostly valid
    for offset, width in ((1, 4), (5, 2), (7, 4), (11, 2), (13, 4), (63, 4), (67, 4), (71, 4)):
        if draw(st.booleans()):  # small positive counts reach the later rules
            record[offset:offset + width] = draw(st.integers(0, 16)).to_bytes(width, "big")
    if draw(st.booleans()):
        record[50:58] = draw(st.integers(0, 1 << 23)).to_bytes(8, "big")
        record[59:63] = draw(st.integers(0, 3)).to_bytes(4, "big")
    return bytes(record) + draw(st.sampled_from([b"", b"", b"\x00"]))


@given(st.one_of(st.binary(max_size=100), hyperparams_records()))
@settings(max_examples=250, deadline=None)
def test_hyperparams_decode_to_their_one_encoding_or_are_refused(data: bytes) -> None:
    try:
        hp = decode_hyperparams(data)
    except HyperparamsError:
        return
    assert encode_hyperparams(hp) == data


@st.composite
def sparse_messages(draw: st.DrawFn) -> bytes:
    count = draw(st.integers(0, SPARSE_K + 1))
    version = draw(st.sampled_from([1, 1, 1, 0, 2]))
    dim = draw(st.sampled_from([SPARSE_DIM] * 4 + [SPARSE_DIM - 1, SPARSE_DIM + 1, 2**32 - 1]))
    step = draw(st.sampled_from([1, 2, 7, 16_909_320, 16_909_321, 0]))
    if draw(st.booleans()):
        indices = sorted(draw(st.sets(st.integers(0, SPARSE_DIM - 1), min_size=count,
                                      max_size=count)))
    else:
        indices = draw(st.lists(st.integers(0, 2**32 - 1), min_size=count, max_size=count))
    codes = draw(st.lists(st.integers(-128, 127), min_size=count, max_size=count))
    tail = draw(st.sampled_from([b"", b"", b"\x00"]))
    return (struct.pack(HEADER_FORMAT, version, dim, count, step)
            + b"".join(i.to_bytes(4, "big") for i in indices)
            + np.array(codes, dtype=np.int8).tobytes() + tail)


@given(st.one_of(st.binary(max_size=200), sparse_messages()))
@settings(max_examples=250, deadline=None)
def test_compressed_updates_decode_to_their_one_encoding_or_are_refused(data: bytes) -> None:
    try:
        update = decode_sparse(data, SPARSE_DIM, SPARSE_K)
    except MalformedUpdateError:
        return
    assert encode_sparse(update) == data
    dense = update.to_dense()
    assert dense.shape == (SPARSE_DIM,) and np.count_nonzero(dense) == update.indices.size


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)


@given(st.one_of(JSON_VALUES, st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=3)))
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_json_fixture_file_is_reported_never_raised(tmp_path: Path, value: object) -> None:
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(value))
    report = check_fixtures([path])
    lines = report.lines()
    assert all(printable_ascii(line) == line for line in lines)
    json.dumps(report.to_json()).encode("ascii")
    assert report.exit_code in (1, 2)


@given(st.binary(max_size=300))
@settings(max_examples=250, deadline=None)
def test_any_bytes_are_json_or_malformed_input(raw: bytes) -> None:
    with contextlib.suppress(MalformedInputError):
        loads_limited(raw, "fuzz", 1000)
