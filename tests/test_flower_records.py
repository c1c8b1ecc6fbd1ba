"""pot.flower without a simulation: strict record decoding, the beacon, the commitment checks."""

from __future__ import annotations

import numpy as np
import pytest
from eth_hash.auto import keccak

from pot.data import initial_checkpoint
from pot.errors import MalformedInputError
from pot.protocol.errors import EncodingError
from pot.spec import ModelSpec

pytest.importorskip("flwr")

from flwr.app import Array, ArrayRecord, ConfigRecord

from pot.flower.records import (
    Challenge,
    Commitment,
    TrainInstruction,
    arrays_to_params,
    bundle_from_record,
    bundle_to_record,
    params_to_arrays,
)
from pot.flower.round import (
    BEACON_TAG,
    DUPLICATE_TRAINER,
    Registration,
    check_commitment,
    round_beacon,
)

JOB = bytes(keccak(b"flower records test job"))
KEY_A, KEY_B = b"\xa0" * 48, b"\xb0" * 48
ROOT_A, ROOT_B = b"\x01" * 32, b"\x02" * 32
SEED = b"\x07" * 32


def test_weights_round_trip_exactly(tiny_spec: ModelSpec) -> None:
    params = initial_checkpoint(tiny_spec)
    back = arrays_to_params(params_to_arrays(params, tiny_spec), tiny_spec)
    assert list(back) == [name for name, _ in tiny_spec.param_shapes()]
    for name, value in params.items():
        assert back[name].dtype == np.int64
        assert np.array_equal(back[name], value)


@pytest.mark.parametrize(("change", "message"), [
    (lambda a: a.astype(np.float64), "int64 numpy array"),
    (lambda a: a.astype(np.int32), "int64 numpy array"),
    (lambda a: a.astype(">i8"), "int64 numpy array"),
    (lambda a: a.reshape(-1), "of shape"),
])
def test_weights_of_another_dtype_or_shape_are_refused(tiny_spec: ModelSpec, change, message) -> None:  # type: ignore[no-untyped-def]
    params = initial_checkpoint(tiny_spec)
    record = params_to_arrays(params, tiny_spec)
    record["w1"] = Array(change(params["w1"]))
    with pytest.raises(MalformedInputError, match=message):
        arrays_to_params(record, tiny_spec)


def test_weights_with_missing_or_extra_parameters_are_refused(tiny_spec: ModelSpec) -> None:
    params = initial_checkpoint(tiny_spec)
    record = params_to_arrays(params, tiny_spec)
    del record["b2"]
    with pytest.raises(MalformedInputError, match="exactly the parameters"):
        arrays_to_params(record, tiny_spec)
    record = params_to_arrays(params, tiny_spec)
    record["extra"] = Array(np.zeros(1, dtype=np.int64))
    with pytest.raises(MalformedInputError, match="exactly the parameters"):
        arrays_to_params(record, tiny_spec)
    with pytest.raises(MalformedInputError, match="exactly the parameters"):
        arrays_to_params(ArrayRecord(), tiny_spec)


def test_records_round_trip() -> None:
    order = TrainInstruction(JOB, 3, 8, "0x" + "ab" * 32)
    commit = Commitment(KEY_A, ROOT_B, 60, ROOT_A, 8)
    challenge = Challenge(JOB, 3, ROOT_B, 2)
    assert TrainInstruction.from_record(order.to_record()) == order
    assert Commitment.from_record(commit.to_record()) == commit
    assert Challenge.from_record(challenge.to_record()) == challenge
    assert bundle_from_record(bundle_to_record(b"{}\n")) == b"{}\n"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("round", True, "round must be an integer"),
    ("round", -1, "round must be an integer"),
    ("steps", 0, "steps must be an integer"),
    ("steps", 8.0, "steps must be an integer"),
    ("job-id", JOB[:31], "job-id must be 32 bytes"),
    ("job-id", JOB.hex(), "job-id must be 32 bytes"),
    ("circuit-id", "", "circuit-id must be a non-empty string"),
])
def test_instruction_fields_are_strict(field: str, value: object, message: str) -> None:
    record = TrainInstruction(JOB, 3, 8, "0x" + "ab" * 32).to_record()
    record[field] = value  # type: ignore[assignment]
    with pytest.raises(MalformedInputError, match=message):
        TrainInstruction.from_record(record)


def test_commitment_with_missing_or_unknown_fields_is_refused() -> None:
    record = Commitment(KEY_A, ROOT_B, 60, ROOT_A, 8).to_record()
    record["extra"] = 1
    with pytest.raises(MalformedInputError, match=r"missing \[\], unknown \['extra'\]"):
        Commitment.from_record(record)
    record = Commitment(KEY_A, ROOT_B, 60, ROOT_A, 8).to_record()
    del record["trainer"]
    with pytest.raises(MalformedInputError, match=r"missing \['trainer'\]"):
        Commitment.from_record(record)
    record = Commitment(KEY_A, ROOT_B, 60, ROOT_A, 8).to_record()
    record["trainer"] = KEY_A[:32]
    with pytest.raises(MalformedInputError, match="trainer must be 48 bytes"):
        Commitment.from_record(record)


def test_bundle_record_must_hold_bytes() -> None:
    with pytest.raises(MalformedInputError, match="must be bytes"):
        bundle_from_record(ConfigRecord({"bundle": "{}"}))
    with pytest.raises(MalformedInputError, match="unknown"):
        bundle_from_record(ConfigRecord({"bundle": b"{}", "more": b""}))


def test_beacon_layout() -> None:
    want = keccak(BEACON_TAG + SEED + JOB + (5).to_bytes(8, "big") + (2).to_bytes(8, "big")
                  + KEY_A + ROOT_B + KEY_B + ROOT_A)
    assert round_beacon(SEED, JOB, 5, [(KEY_B, ROOT_A), (KEY_A, ROOT_B)]) == bytes(want)


def test_beacon_ignores_arrival_order_and_binds_every_input() -> None:
    commits = [(KEY_A, ROOT_A), (KEY_B, ROOT_B)]
    beacon = round_beacon(SEED, JOB, 1, commits)
    assert round_beacon(SEED, JOB, 1, commits[::-1]) == beacon
    others = {
        round_beacon(b"\x08" * 32, JOB, 1, commits),
        round_beacon(SEED, bytes(32), 1, commits),
        round_beacon(SEED, JOB, 2, commits),
        round_beacon(SEED, JOB, 1, [(KEY_A, ROOT_B), (KEY_B, ROOT_B)]),
        round_beacon(SEED, JOB, 1, commits[:1]),
    }
    assert beacon not in others
    assert len(others) == 5


def test_beacon_refuses_values_of_the_wrong_length() -> None:
    with pytest.raises(EncodingError, match="beacon seed"):
        round_beacon(SEED[:16], JOB, 1, [])
    with pytest.raises(EncodingError, match="trainer public key"):
        round_beacon(SEED, JOB, 1, [(KEY_A[:32], ROOT_A)])


def test_commitment_checks_against_the_registry() -> None:
    registry = {7: Registration(7, KEY_A, ROOT_B, 60, 1)}
    ok = Commitment(KEY_A, ROOT_B, 60, ROOT_A, 8)
    assert check_commitment(7, ok, 8, registry) is None
    assert check_commitment(9, Commitment(KEY_B, ROOT_A, 10, ROOT_A, 8), 8, registry) is None

    def reason(node: int, commit: Commitment) -> str:
        verdict = check_commitment(node, commit, 8, registry)
        assert verdict is not None and not verdict.ok
        return verdict.reason

    assert reason(7, Commitment(KEY_A, ROOT_B, 60, ROOT_A, 9)) == "wrong_steps"
    assert reason(7, Commitment(KEY_B, ROOT_B, 60, ROOT_A, 8)) == "wrong_trainer"
    assert reason(7, Commitment(KEY_A, ROOT_A, 60, ROOT_A, 8)) == "wrong_dataset"
    assert reason(7, Commitment(KEY_A, ROOT_B, 61, ROOT_A, 8)) == "wrong_dataset"
    assert reason(9, Commitment(KEY_A, ROOT_B, 60, ROOT_A, 8)) == DUPLICATE_TRAINER
