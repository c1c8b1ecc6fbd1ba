"""The canonical hyperparams record: round trips, and one rejection per broken rule."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_chain_support import make_hyperparams

from pot.chain.errors import HyperparamsError
from pot.chain.fixed_types import U16, U32, U64, Bytes32
from pot.chain.hyperparams import (
    AGGREGATION_RULE_OFFSET,
    HYPERPARAMS_V1_BYTES,
    LOSS_ID_OFFSET,
    MAX_PARAM_COUNT,
    MAX_STEPS_PER_ROUND,
    MIN_CLIPPING_RADIUS_Q16,
    AggregationRule,
    Hyperparams,
    LossId,
    check_hyperparams,
    decode_hyperparams,
    encode_hyperparams,
)


@st.composite
def valid_hyperparams(draw: st.DrawFn) -> Hyperparams:
    steps = draw(st.integers(min_value=1, max_value=MAX_STEPS_PER_ROUND))
    rule = draw(st.sampled_from(list(AggregationRule)))
    no_param = rule in (AggregationRule.FEDAVG, AggregationRule.MEDIAN)
    return Hyperparams(
        lr_q16=U32(draw(st.integers(1, 2**32 - 1))),
        local_epochs=U16(draw(st.integers(1, 2**16 - 1))),
        batch_size=U32(draw(st.integers(1, 2**32 - 1))),
        samples_per_round=U16(draw(st.integers(1, min(steps, 2**16 - 1)))),
        steps_per_round=U32(steps),
        loss_id=draw(st.sampled_from(list(LossId))),
        model_spec_id=Bytes32(draw(st.binary(min_size=32, max_size=32).filter(any))),
        param_count=U64(draw(st.integers(1, MAX_PARAM_COUNT))),
        aggregation_rule=rule,
        rule_param=U32(0 if no_param else draw(st.integers(
            MIN_CLIPPING_RADIUS_Q16 if rule == AggregationRule.CENTERED_CLIPPING else 1,
            2**32 - 1))),
        join_blocks=U32(draw(st.integers(1, 2**32 - 1))),
        submit_blocks=U32(draw(st.integers(1, 2**32 - 1))),
        proof_blocks=U32(draw(st.integers(1, 2**32 - 1))),
    )


@settings(max_examples=200, deadline=None)
@given(valid_hyperparams())
def test_round_trip_is_exact(hp: Hyperparams) -> None:
    encoded = encode_hyperparams(hp)
    assert len(encoded) == HYPERPARAMS_V1_BYTES
    assert decode_hyperparams(encoded) == hp


@settings(max_examples=300, deadline=None)
@given(valid_hyperparams(), st.data())
def test_a_mutated_record_is_rejected_or_re_encodes_to_itself(
    hp: Hyperparams, data: st.DataObject
) -> None:
    encoded = bytearray(encode_hyperparams(hp))
    index = data.draw(st.integers(0, len(encoded) - 1))
    encoded[index] = data.draw(st.integers(0, 255))
    try:
        decoded = decode_hyperparams(bytes(encoded))
    except HyperparamsError:
        return
    assert encode_hyperparams(decoded) == bytes(encoded)


def test_layout_of_the_sample_record() -> None:
    encoded = encode_hyperparams(make_hyperparams())
    assert encoded.hex() == (
        "01" "0000028f" "0001" "00000010" "0002" "00000008" "00" + "03" * 32
        + "0000000000000004" "00" "00000000" "00000005" "00000005" "00000005"
    )


def test_empty_record_is_rejected() -> None:
    with pytest.raises(HyperparamsError, match="empty"):
        decode_hyperparams(b"")


def test_unknown_version_is_rejected() -> None:
    encoded = bytearray(encode_hyperparams(make_hyperparams()))
    encoded[0] = 2
    with pytest.raises(HyperparamsError, match="unknown version 2"):
        decode_hyperparams(bytes(encoded))


def test_short_record_is_rejected() -> None:
    with pytest.raises(HyperparamsError, match="74 bytes, version 1 needs 75"):
        decode_hyperparams(encode_hyperparams(make_hyperparams())[:-1])


def test_trailing_bytes_are_rejected() -> None:
    with pytest.raises(HyperparamsError, match="1 trailing bytes"):
        decode_hyperparams(encode_hyperparams(make_hyperparams()) + b"\x00")


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (LOSS_ID_OFFSET, "unknown loss_id 9"),
        (AGGREGATION_RULE_OFFSET, "unknown aggregation_rule 9"),
    ],
)
def test_out_of_range_enum_is_rejected(offset: int, message: str) -> None:
    encoded = bytearray(encode_hyperparams(make_hyperparams()))
    encoded[offset] = 9
    with pytest.raises(HyperparamsError, match=message):
        decode_hyperparams(bytes(encoded))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lr_q16": U32(0)}, "lr_q16 must be at least 1"),
        ({"local_epochs": U16(0)}, "local_epochs must be at least 1"),
        ({"batch_size": U32(0)}, "batch_size must be at least 1"),
        ({"samples_per_round": U16(0)}, "samples_per_round must be at least 1"),
        ({"join_blocks": U32(0)}, "join_blocks must be at least 1"),
        ({"submit_blocks": U32(0)}, "submit_blocks must be at least 1"),
        ({"proof_blocks": U32(0)}, "proof_blocks must be at least 1"),
        ({"steps_per_round": U32(0)}, "steps_per_round 0 is outside"),
        ({"steps_per_round": U32(MAX_STEPS_PER_ROUND + 1)}, "steps_per_round 1048577 is outside"),
        ({"samples_per_round": U16(9)}, "samples_per_round 9 exceeds steps_per_round 8"),
        ({"model_spec_id": Bytes32(b"\x00" * 32)}, "model_spec_id is zero"),
        ({"param_count": U64(0)}, "param_count 0 is outside"),
        ({"param_count": U64(MAX_PARAM_COUNT + 1)}, "param_count 4194305 is outside"),
        ({"rule_param": U32(1)}, "FEDAVG takes no parameter"),
        (
            {"aggregation_rule": AggregationRule.MEDIAN, "rule_param": U32(2)},
            "MEDIAN takes no parameter",
        ),
        (
            {"aggregation_rule": AggregationRule.MULTI_KRUM, "rule_param": U32(0)},
            "MULTI_KRUM needs rule_param >= 1",
        ),
        (
            {"aggregation_rule": AggregationRule.CENTERED_CLIPPING, "rule_param": U32(0)},
            "CENTERED_CLIPPING needs rule_param >= 1",
        ),
    ],
)
def test_each_broken_rule_is_rejected_by_encoder_and_decoder(
    overrides: dict[str, object], message: str
) -> None:
    bad = dataclasses.replace(make_hyperparams(), **overrides)
    with pytest.raises(HyperparamsError, match=message):
        encode_hyperparams(bad)
    # Build the same bytes by hand from a valid record, then decode them.
    good = make_hyperparams()
    raw = bytearray(encode_hyperparams(good))
    for name, value in overrides.items():
        raw = bytearray(_with_field(bytes(raw), name, value))
    with pytest.raises(HyperparamsError, match=message):
        decode_hyperparams(bytes(raw))


_FIELD_SLICES = {
    "lr_q16": (1, 5),
    "local_epochs": (5, 7),
    "batch_size": (7, 11),
    "samples_per_round": (11, 13),
    "steps_per_round": (13, 17),
    "model_spec_id": (18, 50),
    "param_count": (50, 58),
    "aggregation_rule": (58, 59),
    "rule_param": (59, 63),
    "join_blocks": (63, 67),
    "submit_blocks": (67, 71),
    "proof_blocks": (71, 75),
}


def _with_field(raw: bytes, name: str, value: object) -> bytes:
    start, end = _FIELD_SLICES[name]
    chunk = bytes(value) if isinstance(value, bytes) else int(value).to_bytes(end - start, "big")  # type: ignore[call-overload]
    return raw[:start] + chunk + raw[end:]


def test_a_clipping_radius_below_one_fixed_point_unit_is_refused() -> None:
    # tau = (rule_param << 13) >> 16 would be 0, and every finalize of the job would fail.
    hp = make_hyperparams(aggregation_rule=AggregationRule.CENTERED_CLIPPING,
                          rule_param=U32(MIN_CLIPPING_RADIUS_Q16 - 1))
    with pytest.raises(HyperparamsError, match="radius rule_param 7 \\(Q16\\) is below 8"):
        check_hyperparams(hp)
    check_hyperparams(dataclasses.replace(hp, rule_param=U32(MIN_CLIPPING_RADIUS_Q16)))
