"""The pluggable functions of the executor, their value types, and their working defaults.

The executor calls out at three places, and each is a plain function injected into
:class:`pot.chain.executor.Executor`:

``verify(bundle, context) -> Verdict``
    Judges a trainer's proof bundle for one round. pot's verifier is plugged in here. Whatever it
    raises is recorded as a rejection, never a crash (see :mod:`pot.chain.executor`).
``aggregate(updates, rule, rule_param) -> (weights, info)``
    Turns the accepted updates of a round into the next global model. The default,
    :func:`fedavg_aggregate`, is integer FedAvg weighted by verified samples, whatever the job's
    rule: the robust rules are filled in by a later issue, and ``info`` records which rule was
    applied.
``settle(SettlementInput) -> SettlementOutput``
    Decides the money of a round: what the job's escrow pays in, what each trainer earns from the
    job's pool, and which rejected or unproven trainers are slashed. The executor checks that the
    decision conserves wei and applies it. The default, :func:`no_payments`, moves nothing; pot's
    node settles with :func:`pot.chain.settler.economics_settle`.

Weights are int64 vectors (quantised fixed-point values). Their wire form, the update payload, is
the little-endian int64 encoding; a vector's commitment is computed by the executor's ``commit``
hook: ``keccak256`` of the payload by default (:func:`weights_commitment`), the protocol's KZG-point
``commit(W)`` in pot's node (:mod:`pot.node`). Everything here is integer-only and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from eth_hash.auto import keccak

from pot.chain.fixed_types import U16, U32, U64, U256, Bytes32, Bytes48
from pot.chain.hyperparams import AggregationRule, Hyperparams
from pot.verdict import Verdict

WEIGHT_DTYPE = np.dtype("<i8")
WEIGHT_BYTES = WEIGHT_DTYPE.itemsize

REASON_OK = "ok"
REASON_MALFORMED = "malformed"
REASON_VERIFIER_ERROR = "verifier_error"
REASON_BAD_VERDICT = "bad_verdict"
REASON_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
VALIDATOR_SIDE_REASONS = frozenset({REASON_VERIFIER_ERROR, REASON_BAD_VERDICT})
"""Rejection reasons that are the validator's fault, not the trainer's: the verifier crashed or
broke its contract. They are never slashed, and they prove nothing in an appeal or fraud proof."""

# Bounds of a verdict's verified sample count; an accepted update weighs this much in FedAvg.
MIN_VERIFIED_SAMPLES = 1
MAX_VERIFIED_SAMPLES = 1 << 40

# int64 arithmetic is exact while |2 * sum(w * x) + W| < 2**63; FedAvg uses it below this bound.
_INT64_SAFE_BOUND = 1 << 62


@dataclass(frozen=True)
class SubmissionContext:
    """What the chain knows about one submission when its proof bundle arrives.

    Attributes
    ----------
    job_id, round, trainer
        Which submission: the job, the round index, the trainer's BLS12-381 G1 public key.
    trajectory_root
        The Merkle root of the trainer's committed SGD trajectory for the round.
    steps
        ``T``, the number of SGD steps the trajectory commits to.
    beacon
        The revealed challenge seed of the round.
    samples_per_round
        ``k``, how many steps the beacon challenges.
    update_commitment
        Commitment to the trainer's final weights (the executor's ``commit`` of the payload).
    dataset_commitment
        The Merkle root of the trainer's batch commitments, given when it joined.
    global_model_commitment
        Commitment to the global model the round starts from: the job's ``model_id`` in round 0, the
        commitment of the previous round's aggregate after that.
    model_spec_id
        Content hash of the model spec.
    hyperparams
        The job's full hyperparameters (learning rate, batch size, loss, ...).
    """

    job_id: Bytes32
    round: U64
    trainer: Bytes48
    trajectory_root: Bytes32
    steps: U32
    beacon: Bytes32
    samples_per_round: U16
    update_commitment: Bytes32
    dataset_commitment: Bytes32
    global_model_commitment: Bytes32
    model_spec_id: Bytes32
    hyperparams: Hyperparams


Verifier = Callable[[bytes, SubmissionContext], Verdict]


@dataclass(frozen=True)
class AcceptedUpdate:
    """One accepted update of a round, as the aggregator sees it.

    Attributes
    ----------
    trainer
        The trainer's public key.
    weights
        Its final weights, int64, shape ``(param_count,)``.
    verified_samples
        The verified sample count from its verdict (the FedAvg weight).
    update_commitment
        The executor's ``commit`` of the update payload.
    """

    trainer: Bytes48
    weights: np.ndarray
    verified_samples: U64
    update_commitment: Bytes32


Aggregator = Callable[
    [Sequence[AcceptedUpdate], AggregationRule, int], tuple[np.ndarray, dict[str, Any]]
]

TrainerStatus = Literal["accepted", "rejected", "unproven", "absent"]
RoundOutcome = Literal["finalized", "failed"]


@dataclass(frozen=True)
class TrainerOutcome:
    """What one trainer of the job did in a round.

    ``status`` is ``accepted`` or ``rejected`` (a verdict was recorded, ``reason`` gives its code),
    ``unproven`` (it submitted but no proof was judged by the deadline) or ``absent`` (no
    submission). ``verified_samples`` is 0 unless accepted.
    """

    trainer: Bytes48
    stake: U256
    status: TrainerStatus
    reason: str
    verified_samples: int


@dataclass(frozen=True)
class SettlementInput:
    """The facts :data:`Settler` functions decide rewards and slashes from.

    Attributes
    ----------
    job_id, round
        The job and the round being closed.
    outcome
        ``finalized`` (a new global model, committed in ``global_model_commitment``) or
        ``failed`` (fewer than ``min_participants`` accepted updates; no model, the job fails).
    min_participants
        The job's quorum.
    trainers
        Every trainer of the job, sorted by public key.
    global_model_commitment
        The new global model's commitment, ``None`` when the round failed.
    rounds_left
        Rounds of the job from this one to the last, this one included (at least 1).
    escrow_wei
        The job's escrow before the round is settled (wei).
    pool_wei
        The job's pool before the round is settled: emission shares and carried remainders (wei).
    excluded
        Accepted trainers whose update the aggregator left out (its ``info["excluded"]``); empty
        when the round failed.
    """

    job_id: Bytes32
    round: U64
    outcome: RoundOutcome
    min_participants: U64
    trainers: tuple[TrainerOutcome, ...]
    global_model_commitment: Bytes32 | None
    rounds_left: U64
    escrow_wei: U256
    pool_wei: U256
    excluded: frozenset[Bytes48]


@dataclass(frozen=True)
class SettlementOutput:
    """A settler's decision for one round (all wei).

    Attributes
    ----------
    rewards
        Wei paid to each trainer's account, out of the job's pool plus ``escrow_draw_wei``.
    slashes
        Wei taken from the stake of rejected or unproven trainers; each becomes a pending slash.
    escrow_draw_wei
        Wei moved from the job's escrow into its pool before the rewards are paid. What the
        rewards leave of the pool stays in it for the next round.
    """

    rewards: Mapping[Bytes48, U256]
    slashes: Mapping[Bytes48, U256]
    escrow_draw_wei: int = 0


Settler = Callable[[SettlementInput], SettlementOutput]


def weights_commitment(payload: bytes) -> Bytes32:
    """Return the commitment of a weight vector: ``keccak256`` of its little-endian int64 bytes.

    Parameters
    ----------
    payload
        The update payload (``param_count * 8`` bytes).

    Returns
    -------
    Bytes32
        ``keccak256(payload)``.
    """
    return Bytes32(keccak(bytes(payload)))


def weights_from_payload(payload: bytes) -> np.ndarray:
    """Decode an update payload into a read-only int64 vector (native byte order)."""
    return np.frombuffer(payload, dtype=WEIGHT_DTYPE).astype(np.int64)


def weights_to_payload(weights: np.ndarray) -> bytes:
    """Encode an int64 vector as its little-endian payload."""
    return np.ascontiguousarray(weights, dtype=WEIGHT_DTYPE).tobytes()


def _fedavg_shape(updates: Sequence[AcceptedUpdate]) -> tuple[int, int]:
    """Check FedAvg's preconditions; return the vector length and the total weight."""
    if not updates:
        raise ValueError("FedAvg needs at least one update")
    length = len(updates[0].weights)
    if any(len(u.weights) != length for u in updates):
        raise ValueError("FedAvg needs updates of one length")
    if any(u.verified_samples < 1 for u in updates):
        raise ValueError("FedAvg needs verified_samples >= 1 for every update")
    return length, sum(int(u.verified_samples) for u in updates)


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def fedavg_reference(updates: Sequence[AcceptedUpdate]) -> list[int]:
    """Weighted integer FedAvg, written plainly with Python integers (the reference twin).

    For each coordinate ``j``: ``round(sum_i w_i * x_ij / W)`` with ``w_i`` the verified samples
    and ``W = sum_i w_i``, rounded to the nearest integer, ties toward +infinity:
    ``floor((2 * sum_i w_i * x_ij + W) / (2 * W))``. The result lies between the smallest and
    largest input value of the coordinate, so it fits int64. The order of ``updates`` does not
    matter.

    Parameters
    ----------
    updates
        At least one accepted update; all of one length.

    Returns
    -------
    list[int]
        The averaged weights.

    Raises
    ------
    ValueError
        If ``updates`` is empty, lengths differ, or a weight is below 1.
    """
    length, total = _fedavg_shape(updates)
    result = []
    for j in range(length):
        numerator = sum(int(u.verified_samples) * int(u.weights[j]) for u in updates)
        result.append(_round_half_up(numerator, total))
    return result


def fedavg(updates: Sequence[AcceptedUpdate]) -> np.ndarray:
    """Weighted integer FedAvg, vectorised; bit-identical to :func:`fedavg_reference`.

    When ``(2 * max|x| + 1) * W`` stays below 2**62 the sums are exact in int64 and numpy does them;
    otherwise the same formula runs on Python integers (numpy object arrays).

    Parameters
    ----------
    updates
        At least one accepted update; all of one length.

    Returns
    -------
    np.ndarray
        int64, shape ``(param_count,)``.

    Raises
    ------
    ValueError
        As :func:`fedavg_reference`.
    """
    _, total = _fedavg_shape(updates)
    matrix = np.stack([np.asarray(u.weights, dtype=np.int64) for u in updates])
    magnitude = max(int(matrix.max()), -int(matrix.min())) if matrix.size else 0
    if (2 * magnitude + 1) * total < _INT64_SAFE_BOUND:
        weights = np.array([int(u.verified_samples) for u in updates], dtype=np.int64)
        numerator = weights @ matrix
        return ((2 * numerator + total) // (2 * total)).astype(np.int64)
    weights_obj = np.array([int(u.verified_samples) for u in updates], dtype=object)
    numerator_obj = weights_obj @ matrix.astype(object)
    averaged = [(2 * int(n) + total) // (2 * total) for n in numerator_obj]
    return np.array(averaged, dtype=np.int64)


def fedavg_aggregate(
    updates: Sequence[AcceptedUpdate], rule: AggregationRule, rule_param: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """The default aggregator: :func:`fedavg` over the accepted updates, whatever ``rule`` asks.

    Until the robust rules land, a job that asks for Multi-Krum, the median, a trimmed mean or
    centered clipping is aggregated with plain FedAvg, and ``info`` says so: ``rule_applied`` is
    ``"fedavg"`` and ``rule_requested`` names the job's rule.

    Parameters
    ----------
    updates
        The accepted updates of the round, sorted by trainer public key.
    rule, rule_param
        The job's aggregation rule and its parameter.

    Returns
    -------
    tuple[np.ndarray, dict[str, Any]]
        The new global weights (int64) and ``info`` (JSON-ready: strings and integers).
    """
    weights = fedavg(updates)
    info: dict[str, Any] = {
        "rule_applied": "fedavg",
        "rule_requested": AggregationRule(rule).name.lower(),
        "rule_param": int(rule_param),
        "updates": len(updates),
        "total_weight": sum(int(u.verified_samples) for u in updates),
        "rounding": "nearest, ties toward +inf",
    }
    return weights, info


def no_payments(settlement: SettlementInput) -> SettlementOutput:
    """The default settler: no rewards, no slashes, no escrow drawn, whatever happened."""
    return SettlementOutput(rewards={}, slashes={})
