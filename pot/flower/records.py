"""pot's values as Flower records, and back (strict decoding, no Flower orchestration here).

A pot round on Flower is two request/reply exchanges (``docs/flower.md``). Every value that crosses
them is one of the records below, each a :class:`flwr.app.ConfigRecord` or
:class:`flwr.app.ArrayRecord` under a fixed key of the message's :class:`flwr.app.RecordDict`:

=====================  ==============  ===========================================================
key                    direction       content
=====================  ==============  ===========================================================
``arrays``             both            model weights, one int64 :class:`flwr.app.Array` per
                                       parameter (``w1, b1, w2, ...``), fixed point at the spec's
                                       scale: W_0 in a ``train`` message, W_T in its reply
``pot.train``          server->client  :class:`TrainInstruction`: job id, round, T, circuit id
``pot.commit``         client->server  :class:`Commitment`: trainer key, dataset root and batch
                                       count, trajectory root, T
``pot.challenge``      server->client  :class:`Challenge`: job id, round, beacon, k
``pot.bundle``         client->server  the signed bundle's file bytes (:func:`pot.bundle.dump_bundle`)
=====================  ==============  ===========================================================

Decoding is strict: a record with missing or extra fields, a field of the wrong type (a ``bool``
is not an ``int``) or length, or an array whose dtype, serialisation or shape differs from the
spec's raises :class:`pot.errors.MalformedInputError` with a message naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, RecordDict

from pot.bundle import MAX_BATCHES, MAX_BUNDLE_BYTES, MAX_ROUND, MAX_SAMPLED_STEPS, MAX_STEPS
from pot.errors import MalformedInputError
from pot.protocol.encoding import BLS_PUBLIC_KEY_BYTES, BYTES32_BYTES
from pot.spec import ModelSpec
from pot.tensors import IntArray

ARRAYS_KEY = "arrays"
TRAIN_KEY = "pot.train"
COMMIT_KEY = "pot.commit"
CHALLENGE_KEY = "pot.challenge"
BUNDLE_KEY = "pot.bundle"

MESSAGE_TRAIN = "train"
"""Message type of the commit exchange (Flower's ``MessageType.TRAIN``)."""
MESSAGE_PROVE = "train.prove"
"""Message type of the challenge exchange: a ``train`` category message with action ``prove``."""

NUMPY_STYPE = "numpy.ndarray"
INT64_DTYPE = "int64"


@dataclass(frozen=True)
class TrainInstruction:
    """What a ``train`` message asks: run T committed steps of round ``round`` of job ``job_id``.

    Attributes
    ----------
    job_id
        32-byte job id (bound into every challenge and bundle).
    round
        The round number (Flower's ``server_round``).
    steps
        T, the number of SGD steps to run and commit.
    circuit_id
        The circuit the server verifies step proofs against.
    """

    job_id: bytes
    round: int
    steps: int
    circuit_id: str

    def to_record(self) -> ConfigRecord:
        return ConfigRecord({"job-id": self.job_id, "round": self.round, "steps": self.steps,
                             "circuit-id": self.circuit_id})

    @classmethod
    def from_record(cls, record: ConfigRecord) -> TrainInstruction:
        f = _fields(record, TRAIN_KEY, ("job-id", "round", "steps", "circuit-id"))
        return cls(job_id=_bytes(f, "job-id", BYTES32_BYTES), round=_int(f, "round", 0, MAX_ROUND),
                   steps=_int(f, "steps", 1, MAX_STEPS), circuit_id=_str(f, "circuit-id"))


@dataclass(frozen=True)
class Commitment:
    """A trainer's reply to ``train``, beside its W_T: what it commits to before the beacon.

    Attributes
    ----------
    trainer
        48-byte BLS12-381 public key that signs the bundle.
    dataset_root, n_batches
        The trainer's dataset commitment and batch count (registered at its first round).
    root
        The trajectory root of this round.
    steps
        T, as run.
    """

    trainer: bytes
    dataset_root: bytes
    n_batches: int
    root: bytes
    steps: int

    def to_record(self) -> ConfigRecord:
        return ConfigRecord({"trainer": self.trainer, "dataset-root": self.dataset_root,
                             "n-batches": self.n_batches, "root": self.root, "steps": self.steps})

    @classmethod
    def from_record(cls, record: ConfigRecord) -> Commitment:
        f = _fields(record, COMMIT_KEY, ("trainer", "dataset-root", "n-batches", "root", "steps"))
        return cls(trainer=_bytes(f, "trainer", BLS_PUBLIC_KEY_BYTES),
                   dataset_root=_bytes(f, "dataset-root", BYTES32_BYTES),
                   n_batches=_int(f, "n-batches", 1, MAX_BATCHES), root=_bytes(f, "root", BYTES32_BYTES),
                   steps=_int(f, "steps", 1, MAX_STEPS))


@dataclass(frozen=True)
class Challenge:
    """What a ``train.prove`` message asks: prove the k steps this beacon challenges.

    The trainer derives the indices itself (:func:`pot.protocol.challenge.challenge_indices`);
    the verifier checks they are the ones the beacon derives.
    """

    job_id: bytes
    round: int
    beacon: bytes
    samples: int

    def to_record(self) -> ConfigRecord:
        return ConfigRecord({"job-id": self.job_id, "round": self.round, "beacon": self.beacon,
                             "samples": self.samples})

    @classmethod
    def from_record(cls, record: ConfigRecord) -> Challenge:
        f = _fields(record, CHALLENGE_KEY, ("job-id", "round", "beacon", "samples"))
        return cls(job_id=_bytes(f, "job-id", BYTES32_BYTES), round=_int(f, "round", 0, MAX_ROUND),
                   beacon=_bytes(f, "beacon", BYTES32_BYTES),
                   samples=_int(f, "samples", 1, MAX_SAMPLED_STEPS))


def bundle_to_record(raw: bytes) -> ConfigRecord:
    """The ``pot.bundle`` record of a bundle file's bytes."""
    return ConfigRecord({"bundle": raw})


def bundle_from_record(record: ConfigRecord) -> bytes:
    """The bundle file's bytes (parse them with :func:`pot.bundle.load_bundle`).

    Raises
    ------
    MalformedInputError
        If the record is not exactly ``{"bundle": bytes}`` of at most ``MAX_BUNDLE_BYTES``.
    """
    f = _fields(record, BUNDLE_KEY, ("bundle",))
    raw = f["bundle"]
    if type(raw) is not bytes or len(raw) > MAX_BUNDLE_BYTES:
        raise MalformedInputError(f"{BUNDLE_KEY}.bundle must be bytes of at most {MAX_BUNDLE_BYTES}")
    return raw


def params_to_arrays(params: Mapping[str, IntArray], spec: ModelSpec) -> ArrayRecord:
    """The ``arrays`` record of fixed-point weights: one int64 array per parameter, graph order."""
    return ArrayRecord({name: Array(np.ascontiguousarray(params[name], dtype=np.int64))
                        for name, _ in spec.param_shapes()})


def arrays_to_params(record: ArrayRecord, spec: ModelSpec) -> dict[str, IntArray]:
    """Fixed-point weights from an ``arrays`` record, checked against the spec.

    Raises
    ------
    MalformedInputError
        If the parameter names differ from the spec's, or an array is not a native int64 numpy
        array of the parameter's shape.
    """
    shapes = dict(spec.param_shapes())
    if set(record.keys()) != set(shapes):
        raise MalformedInputError(f"{ARRAYS_KEY} must hold exactly the parameters {sorted(shapes)}, "
                                  f"got {sorted(record.keys())}")
    out: dict[str, IntArray] = {}
    for name, shape in shapes.items():
        arr = record[name]
        if arr.stype != NUMPY_STYPE or arr.dtype != INT64_DTYPE or tuple(arr.shape) != tuple(shape):
            raise MalformedInputError(f"{ARRAYS_KEY}.{name} must be an int64 numpy array of shape "
                                      f"{tuple(shape)}, got {arr.dtype} {tuple(arr.shape)} ({arr.stype})")
        try:
            value = arr.numpy()
        except (ValueError, TypeError, OSError) as e:
            raise MalformedInputError(f"{ARRAYS_KEY}.{name} does not decode: {e}") from e
        if value.dtype != np.dtype(np.int64) or value.shape != tuple(shape):
            raise MalformedInputError(f"{ARRAYS_KEY}.{name}'s data is {value.dtype} {value.shape}, "
                                      f"its header says int64 {tuple(shape)}")
        out[name] = np.ascontiguousarray(value)
    return out


def config_record(message: Message, key: str) -> ConfigRecord:
    """The config record ``key`` of a message's content.

    Raises
    ------
    MalformedInputError
        If the message has no content or no config record under ``key``.
    """
    records = _content(message).config_records
    if key not in records:
        raise MalformedInputError(f"the message has no config record {key!r}")
    return records[key]


def array_record(message: Message, key: str = ARRAYS_KEY) -> ArrayRecord:
    """The array record ``key`` of a message's content (raises as :func:`config_record`)."""
    records = _content(message).array_records
    if key not in records:
        raise MalformedInputError(f"the message has no array record {key!r}")
    return records[key]


def _content(message: Message) -> RecordDict:
    if not message.has_content():
        raise MalformedInputError("the message carries no content")
    return message.content


def _fields(record: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(record, ConfigRecord):
        raise MalformedInputError(f"{where} must be a config record")
    got = set(record.keys())
    if got != set(keys):
        missing, extra = sorted(set(keys) - got), sorted(got - set(keys))
        raise MalformedInputError(f"{where}: missing {missing}, unknown {extra}")
    return {k: record[k] for k in keys}


def _int(f: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = f[key]
    if type(v) is not int or not lo <= v <= hi:
        raise MalformedInputError(f"{key} must be an integer in {lo}..{hi}")
    return v


def _bytes(f: dict[str, Any], key: str, length: int) -> bytes:
    v = f[key]
    if type(v) is not bytes or len(v) != length:
        raise MalformedInputError(f"{key} must be {length} bytes")
    return v


def _str(f: dict[str, Any], key: str) -> str:
    v = f[key]
    if type(v) is not str or not v:
        raise MalformedInputError(f"{key} must be a non-empty string")
    return v
