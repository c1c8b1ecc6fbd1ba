"""TRAIN_REQUEST's semantic rules and its job id.

:func:`pot.chain.abi.decode_train_request` gives the tuple; :func:`check_train_request` applies
the rules of a request to it, each broken rule with its own error, and :func:`compute_job_id`
derives the job id.

Job id preimage (all integers big-endian, fixed width)::

    job_id = keccak256(0x14 || chain_id (8) || caller (20) || nonce (8) || calldata)

The 37-byte prefix has a fixed width, so two requests that differ in chain, caller or nonce have
different preimages; the calldata is canonical (one encoding per request), so the job id is a
function of the request itself. A caller's nonce must be exactly its next nonce; a used nonce is a
replay.
"""

from __future__ import annotations

from eth_hash.auto import keccak

from pot.chain.abi import TrainRequest
from pot.chain.errors import MinParticipantsError, TotalRoundsError, ZeroReferenceError
from pot.chain.fixed_types import U8, U64, Address, Bytes32
from pot.chain.gas import TRAIN_REQUEST_OPCODE
from pot.chain.hyperparams import AggregationRule, Hyperparams, decode_hyperparams

MAX_TOTAL_ROUNDS = 10_000
MAX_TRAINERS_PER_JOB = 1_024


def participants_needed(rule: AggregationRule, rule_param: int) -> int:
    """Return the fewest accepted updates the aggregation rule can run on.

    Multi-Krum with ``f`` Byzantine trainers needs ``n >= 2f + 3``; a trimmed mean that trims ``t``
    values from each end needs ``n >= 2t + 1``; the other rules need one update.
    """
    if rule == AggregationRule.MULTI_KRUM:
        return 2 * rule_param + 3
    if rule == AggregationRule.TRIMMED_MEAN:
        return 2 * rule_param + 1
    return 1


def check_train_request(request: TrainRequest) -> Hyperparams:
    """Apply the rules of a TRAIN_REQUEST to its decoded tuple.

    Parameters
    ----------
    request
        The tuple from :func:`pot.chain.abi.decode_train_request`.

    Returns
    -------
    Hyperparams
        The decoded hyperparameters.

    Raises
    ------
    TotalRoundsError
        If ``total_rounds`` is 0 or above ``MAX_TOTAL_ROUNDS``.
    MinParticipantsError
        If ``min_participants`` is 0, above ``MAX_TRAINERS_PER_JOB``, or below what the
        aggregation rule needs.
    ZeroReferenceError
        If ``model_id`` or ``dataset_ref`` is zero.
    HyperparamsError
        If the hyperparams are not a canonical encoding of a valid record.
    """
    if request.total_rounds == 0:
        raise TotalRoundsError("total_rounds is 0; a job has at least one round")
    if request.total_rounds > MAX_TOTAL_ROUNDS:
        raise TotalRoundsError(
            f"total_rounds {request.total_rounds} is above the cap of {MAX_TOTAL_ROUNDS}"
        )
    if request.min_participants == 0:
        raise MinParticipantsError("min_participants is 0; a round needs at least one update")
    if request.min_participants > MAX_TRAINERS_PER_JOB:
        raise MinParticipantsError(
            f"min_participants {request.min_participants} is above the {MAX_TRAINERS_PER_JOB} "
            "trainers a job can hold"
        )
    if request.model_id.is_zero():
        raise ZeroReferenceError("model_id is zero")
    if request.dataset_ref.is_zero():
        raise ZeroReferenceError("dataset_ref is zero")

    hyperparams = decode_hyperparams(request.hyperparams)

    needed = participants_needed(hyperparams.aggregation_rule, hyperparams.rule_param)
    if request.min_participants < needed:
        raise MinParticipantsError(
            f"min_participants {request.min_participants} is below the {needed} that "
            f"{hyperparams.aggregation_rule.name} with rule_param {hyperparams.rule_param} needs"
        )
    return hyperparams


def compute_job_id(chain_id: U64, caller: Address, nonce: U64, calldata: bytes) -> Bytes32:
    """Derive the job id of a TRAIN_REQUEST.

    Parameters
    ----------
    chain_id
        The chain's id.
    caller
        The 20-byte address of the requester.
    nonce
        The requester's nonce for this request.
    calldata
        The canonical calldata.

    Returns
    -------
    Bytes32
        ``keccak256(0x14 || chain_id || caller || nonce || calldata)``.
    """
    preimage = b"".join(
        (
            U8(TRAIN_REQUEST_OPCODE).to_be_bytes(),
            U64(chain_id).to_be_bytes(),
            bytes(Address(caller)),
            U64(nonce).to_be_bytes(),
            bytes(calldata),
        )
    )
    return Bytes32(keccak(preimage))
