"""The canonical, versioned encoding of a job's training hyperparameters.

The ``hyperparams`` field of a TRAIN_REQUEST is this encoding. Version 1 is a fixed 75-byte record
of big-endian fixed-width fields, so every valid value has exactly one encoding; the decoder rejects
unknown versions, short or trailing bytes, zeros where a count must be positive, and out-of-range
enum values. The learning rate is fixed point: ``lr = lr_q16 / 2**16``.

Version 1 layout (offsets and sizes in bytes)::

    offset size field              rule
    0      1    version            = 1
    1      4    lr_q16             >= 1; lr = lr_q16 / 65536
    5      2    local_epochs       >= 1
    7      4    batch_size         >= 1
    11     2    samples_per_round  k: 1 <= k <= steps_per_round (challenged steps per round)
    13     4    steps_per_round    T: 1 <= T <= MAX_STEPS_PER_ROUND
    17     1    loss_id            LossId: 0 cross-entropy, 1 mean squared error
    18     32   model_spec_id      non-zero: content hash of the model spec
    50     8    param_count        1 <= n <= MAX_PARAM_COUNT: length of a weight vector
    58     1    aggregation_rule   AggregationRule: 0..4
    59     4    rule_param         see AggregationRule
    63     4    join_blocks        >= 1: blocks after the request during which trainers join
    67     4    submit_blocks      >= 1: blocks after a round opens during which trainers submit
    71     4    proof_blocks       >= 1: blocks after the submit deadline during which proofs land
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass

from pot.aggregation.params import AggregationRule
from pot.chain.errors import HyperparamsError
from pot.chain.fixed_types import U8, U16, U32, U64, Bytes32

HYPERPARAMS_VERSION = 1

MAX_STEPS_PER_ROUND = 1 << 20
MAX_PARAM_COUNT = 1 << 22
# Centered clipping's radius uses the same fixed-point scale as the learning rate.
FIXED_POINT_ONE_Q16 = 1 << 16


class LossId(enum.IntEnum):
    """The loss a trainer minimises; the circuit of the model spec proves this loss."""

    CROSS_ENTROPY = 0
    MSE = 1


RULES_WITHOUT_PARAM = frozenset({AggregationRule.FEDAVG, AggregationRule.MEDIAN})


@dataclass(frozen=True)
class Hyperparams:
    """The decoded hyperparameters of a job (see the module docstring for each field's rule)."""

    lr_q16: U32
    local_epochs: U16
    batch_size: U32
    samples_per_round: U16
    steps_per_round: U32
    loss_id: LossId
    model_spec_id: Bytes32
    param_count: U64
    aggregation_rule: AggregationRule
    rule_param: U32
    join_blocks: U32
    submit_blocks: U32
    proof_blocks: U32


# Offsets of the version-1 fields, in bytes; each field ends where the next begins.
VERSION_OFFSET = 0
LR_Q16_OFFSET = 1
LOCAL_EPOCHS_OFFSET = 5
BATCH_SIZE_OFFSET = 7
SAMPLES_PER_ROUND_OFFSET = 11
STEPS_PER_ROUND_OFFSET = 13
LOSS_ID_OFFSET = 17
MODEL_SPEC_ID_OFFSET = 18
PARAM_COUNT_OFFSET = 50
AGGREGATION_RULE_OFFSET = 58
RULE_PARAM_OFFSET = 59
JOIN_BLOCKS_OFFSET = 63
SUBMIT_BLOCKS_OFFSET = 67
PROOF_BLOCKS_OFFSET = 71
HYPERPARAMS_V1_BYTES = 75

# Each field starts where the previous one ends: (offset, width of its type).
_LAYOUT = (
    (VERSION_OFFSET, U8.width_bytes()),
    (LR_Q16_OFFSET, U32.width_bytes()),
    (LOCAL_EPOCHS_OFFSET, U16.width_bytes()),
    (BATCH_SIZE_OFFSET, U32.width_bytes()),
    (SAMPLES_PER_ROUND_OFFSET, U16.width_bytes()),
    (STEPS_PER_ROUND_OFFSET, U32.width_bytes()),
    (LOSS_ID_OFFSET, U8.width_bytes()),
    (MODEL_SPEC_ID_OFFSET, Bytes32.LENGTH),
    (PARAM_COUNT_OFFSET, U64.width_bytes()),
    (AGGREGATION_RULE_OFFSET, U8.width_bytes()),
    (RULE_PARAM_OFFSET, U32.width_bytes()),
    (JOIN_BLOCKS_OFFSET, U32.width_bytes()),
    (SUBMIT_BLOCKS_OFFSET, U32.width_bytes()),
    (PROOF_BLOCKS_OFFSET, U32.width_bytes()),
    (HYPERPARAMS_V1_BYTES, 0),
)
for (_start, _width), (_next, _) in itertools.pairwise(_LAYOUT):
    if _start + _width != _next:
        raise AssertionError(f"hyperparams layout breaks at offset {_next}")


MIN_CLIPPING_RADIUS_Q16 = 8
"""Smallest centered-clipping radius (Q16): 8 / 2**16 = 2**-13, one unit of the weights' fixed
point (``pot.aggregation.FRAC_BITS`` = 13); below it the aggregation's ``tau`` is 0."""


def check_hyperparams(hp: Hyperparams) -> None:
    """Check every rule of a :class:`Hyperparams` value.

    Raises
    ------
    HyperparamsError
        Naming the first field that breaks its rule.
    """
    positive = {
        "lr_q16": hp.lr_q16,
        "local_epochs": hp.local_epochs,
        "batch_size": hp.batch_size,
        "samples_per_round": hp.samples_per_round,
        "join_blocks": hp.join_blocks,
        "submit_blocks": hp.submit_blocks,
        "proof_blocks": hp.proof_blocks,
    }
    for name, value in positive.items():
        if value == 0:
            raise HyperparamsError(f"hyperparams: {name} must be at least 1")
    if not 1 <= hp.steps_per_round <= MAX_STEPS_PER_ROUND:
        raise HyperparamsError(
            f"hyperparams: steps_per_round {hp.steps_per_round} is outside "
            f"[1, {MAX_STEPS_PER_ROUND}]"
        )
    if hp.samples_per_round > hp.steps_per_round:
        raise HyperparamsError(
            f"hyperparams: samples_per_round {hp.samples_per_round} exceeds steps_per_round "
            f"{hp.steps_per_round}"
        )
    if hp.model_spec_id.is_zero():
        raise HyperparamsError("hyperparams: model_spec_id is zero")
    if not 1 <= hp.param_count <= MAX_PARAM_COUNT:
        raise HyperparamsError(
            f"hyperparams: param_count {hp.param_count} is outside [1, {MAX_PARAM_COUNT}]"
        )
    if hp.aggregation_rule in RULES_WITHOUT_PARAM:
        if hp.rule_param != 0:
            raise HyperparamsError(
                f"hyperparams: rule {hp.aggregation_rule.name} takes no parameter, "
                f"rule_param must be 0, got {hp.rule_param}"
            )
    elif hp.rule_param == 0:
        raise HyperparamsError(
            f"hyperparams: rule {hp.aggregation_rule.name} needs rule_param >= 1"
        )
    if (
        hp.aggregation_rule == AggregationRule.CENTERED_CLIPPING
        and hp.rule_param < MIN_CLIPPING_RADIUS_Q16
    ):
        raise HyperparamsError(
            f"hyperparams: centered clipping's radius rule_param {hp.rule_param} (Q16) is below "
            f"{MIN_CLIPPING_RADIUS_Q16}, one unit of the weights' fixed point; no round could "
            "be aggregated"
        )


def encode_hyperparams(hp: Hyperparams) -> bytes:
    """Encode hyperparameters as their one canonical version-1 byte string.

    Parameters
    ----------
    hp
        The hyperparameters; every field must satisfy its rule.

    Returns
    -------
    bytes
        ``HYPERPARAMS_V1_BYTES`` bytes laid out as in the module docstring.

    Raises
    ------
    HyperparamsError
        If a field breaks its rule (an invalid value has no encoding).
    """
    check_hyperparams(hp)
    encoded = b"".join(
        (
            U8(HYPERPARAMS_VERSION).to_be_bytes(),
            U32(hp.lr_q16).to_be_bytes(),
            U16(hp.local_epochs).to_be_bytes(),
            U32(hp.batch_size).to_be_bytes(),
            U16(hp.samples_per_round).to_be_bytes(),
            U32(hp.steps_per_round).to_be_bytes(),
            U8(int(hp.loss_id)).to_be_bytes(),
            bytes(Bytes32(hp.model_spec_id)),
            U64(hp.param_count).to_be_bytes(),
            U8(int(hp.aggregation_rule)).to_be_bytes(),
            U32(hp.rule_param).to_be_bytes(),
            U32(hp.join_blocks).to_be_bytes(),
            U32(hp.submit_blocks).to_be_bytes(),
            U32(hp.proof_blocks).to_be_bytes(),
        )
    )
    if len(encoded) != HYPERPARAMS_V1_BYTES:
        raise HyperparamsError(f"encoded hyperparams are {len(encoded)} bytes, not {HYPERPARAMS_V1_BYTES}")
    return encoded


def decode_hyperparams(data: bytes) -> Hyperparams:
    """Decode the canonical encoding of hyperparameters, strictly.

    Parameters
    ----------
    data
        The ``hyperparams`` bytes of a TRAIN_REQUEST.

    Returns
    -------
    Hyperparams
        The decoded value; ``encode_hyperparams`` of it gives back ``data``.

    Raises
    ------
    HyperparamsError
        If ``data`` is empty, has an unknown version, is not exactly ``HYPERPARAMS_V1_BYTES`` long,
        holds an out-of-range enum, or a field breaks its rule.
    """
    if len(data) == 0:
        raise HyperparamsError("hyperparams: empty, a version byte is needed")
    version = data[VERSION_OFFSET]
    if version != HYPERPARAMS_VERSION:
        raise HyperparamsError(
            f"hyperparams: unknown version {version}, this executor reads version "
            f"{HYPERPARAMS_VERSION}"
        )
    if len(data) < HYPERPARAMS_V1_BYTES:
        raise HyperparamsError(
            f"hyperparams: {len(data)} bytes, version 1 needs {HYPERPARAMS_V1_BYTES}"
        )
    if len(data) > HYPERPARAMS_V1_BYTES:
        raise HyperparamsError(
            f"hyperparams: {len(data) - HYPERPARAMS_V1_BYTES} trailing bytes after the "
            f"{HYPERPARAMS_V1_BYTES}-byte version 1 record"
        )
    data = bytes(data)

    loss_byte = data[LOSS_ID_OFFSET]
    if loss_byte not in LossId._value2member_map_:
        raise HyperparamsError(f"hyperparams: unknown loss_id {loss_byte}")
    rule_byte = data[AGGREGATION_RULE_OFFSET]
    if rule_byte not in AggregationRule._value2member_map_:
        raise HyperparamsError(f"hyperparams: unknown aggregation_rule {rule_byte}")

    hp = Hyperparams(
        lr_q16=U32.from_be_bytes(data[LR_Q16_OFFSET:LOCAL_EPOCHS_OFFSET]),
        local_epochs=U16.from_be_bytes(data[LOCAL_EPOCHS_OFFSET:BATCH_SIZE_OFFSET]),
        batch_size=U32.from_be_bytes(data[BATCH_SIZE_OFFSET:SAMPLES_PER_ROUND_OFFSET]),
        samples_per_round=U16.from_be_bytes(
            data[SAMPLES_PER_ROUND_OFFSET:STEPS_PER_ROUND_OFFSET]
        ),
        steps_per_round=U32.from_be_bytes(data[STEPS_PER_ROUND_OFFSET:LOSS_ID_OFFSET]),
        loss_id=LossId(loss_byte),
        model_spec_id=Bytes32(data[MODEL_SPEC_ID_OFFSET:PARAM_COUNT_OFFSET]),
        param_count=U64.from_be_bytes(data[PARAM_COUNT_OFFSET:AGGREGATION_RULE_OFFSET]),
        aggregation_rule=AggregationRule(rule_byte),
        rule_param=U32.from_be_bytes(data[RULE_PARAM_OFFSET:JOIN_BLOCKS_OFFSET]),
        join_blocks=U32.from_be_bytes(data[JOIN_BLOCKS_OFFSET:SUBMIT_BLOCKS_OFFSET]),
        submit_blocks=U32.from_be_bytes(data[SUBMIT_BLOCKS_OFFSET:PROOF_BLOCKS_OFFSET]),
        proof_blocks=U32.from_be_bytes(data[PROOF_BLOCKS_OFFSET:HYPERPARAMS_V1_BYTES]),
    )
    check_hyperparams(hp)
    return hp
