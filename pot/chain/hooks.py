"""The pluggable functions of the executor, their value types, and their working defaults.

The executor calls out at three places, and each is a plain function injected into
:class:`pot.chain.executor.Executor`:

``verify(bundle, context) -> Verdict``
    Judges a trainer's proof bundle for one round. pot's verifier is plugged in here. A
    :class:`~pot.errors.PotError` it raises is recorded as a ``malformed`` rejection; any other
    fault of it reverts the call and records nothing (see :mod:`pot.chain.executor`).
``aggregate(updates, rule, rule_param) -> (weights, info)``
    Turns the accepted updates of a round into the next global model. The default,
    :func:`job_aggregate`, applies the job's rule with :func:`pot.aggregation.aggregate` (pot's
    one FedAvg, integer, ties to even, weighted by verified samples, and its robust rules).
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


def aggregation_params(rule: AggregationRule, rule_param: int, n_updates: int,
                       center: np.ndarray | None = None) -> Any:
    """The :class:`pot.aggregation.AggregationParams` of a job's ``(rule, rule_param)``.

    Multi-Krum takes ``f = rule_param`` and averages the ``n - f`` best-scored updates; trimmed
    mean drops ``rule_param`` values at each end; centered clipping's radius is ``rule_param`` in
    Q16, converted to the weights' ``2**-FRAC_BITS`` fixed point (rounded down).
    """
    from pot.aggregation import FRAC_BITS, AggregationParams

    if rule == AggregationRule.MULTI_KRUM:
        return AggregationParams(num_byzantine=rule_param,
                                 num_selected=max(1, n_updates - rule_param))
    if rule == AggregationRule.TRIMMED_MEAN:
        return AggregationParams(num_trimmed=rule_param)
    if rule == AggregationRule.CENTERED_CLIPPING:
        return AggregationParams(tau=(rule_param << FRAC_BITS) >> 16, center=center)
    return AggregationParams()


def job_aggregate(updates: Sequence[AcceptedUpdate], rule: AggregationRule,
                  rule_param: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The executor's default ``aggregate`` hook: the job's rule, from :mod:`pot.aggregation`.

    This is pot's one FedAvg (and its robust rules): the executor, the node, Flower and the
    fixtures all aggregate through :func:`pot.aggregation.aggregate`, which rounds each weighted
    mean to the nearest integer, ties to even. Every rule weighs updates by their verified
    samples.

    Centered clipping is centred on the coordinate-wise median of the round's accepted updates
    (weighted by verified samples), not on the previous global model, which an aggregator hook
    does not see; ``info["center"]`` records it (``"coordinate_median"``).

    Parameters
    ----------
    updates
        The accepted updates of the round, sorted by trainer key; values within
        ``pot.aggregation.MAX_ABS_VALUE`` (``submit`` refuses others) and verified samples whose
        sum is at most ``MAX_TOTAL_SAMPLES`` (the executor caps each).
    rule, rule_param
        The job's aggregation rule and its parameter.

    Returns
    -------
    tuple[np.ndarray, dict]
        The new global weights (int64, ``param_count``) and the rule's evidence plus
        ``excluded``: the trainers (``0x`` hex) whose update did not enter the aggregate.

    Raises
    ------
    AggregationError
        If the updates break the rule's preconditions (e.g. Multi-Krum's ``n >= 2f + 3``).
    """
    from pot.aggregation import Update, aggregate

    ups = [Update(bytes(u.trainer), np.asarray(u.weights, dtype=np.int64), int(u.verified_samples))
           for u in updates]
    center = None
    if rule == AggregationRule.CENTERED_CLIPPING:
        center, _ = aggregate(int(AggregationRule.MEDIAN), ups, aggregation_params(
            AggregationRule.MEDIAN, 0, len(ups)))
    weights, evidence = aggregate(int(rule), ups, aggregation_params(rule, rule_param, len(ups),
                                                                     center))
    info: dict[str, Any] = dict(evidence)
    selected = set(evidence["selected"])
    info["excluded"] = ["0x" + t for t in evidence["trainers"] if t not in selected]
    if rule == AggregationRule.CENTERED_CLIPPING:
        info["center"] = "coordinate_median"
    return weights, info


def no_payments(settlement: SettlementInput) -> SettlementOutput:
    """The default settler: no rewards, no slashes, no escrow drawn, whatever happened."""
    return SettlementOutput(rewards={}, slashes={})
