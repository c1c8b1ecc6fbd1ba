"""The chain side of pot: the TRAIN_REQUEST opcode (``0x14``) and the lifecycle of a training job.

A requester's TRAIN_REQUEST (:mod:`pot.chain.abi`, :mod:`pot.chain.hyperparams`,
:mod:`pot.chain.request`) opens a job; trainers ``join`` it, ``submit`` committed trajectories and
final weights each round, a beacon is revealed, proofs are judged by pot's verifier
(``submit_proof``), and ``finalize_round`` aggregates the accepted updates and settles
(:mod:`pot.chain.hooks`). :class:`~pot.chain.executor.Executor` runs the calls against an embedded
SQLite state (:mod:`pot.chain.store`) whose state root is recomputed after every call. The whole
package is integer-only and deterministic. See ``docs/chain.md``.
"""

from pot.chain.abi import TrainRequest, decode_train_request, encode_train_request
from pot.chain.cid import cid_to_bytes32, reference_to_bytes32
from pot.chain.executor import (
    CHECKPOINTS,
    CallReceipt,
    EmitReceipt,
    Executor,
    FinalizeReceipt,
    ProofReceipt,
    RequestReceipt,
)
from pot.chain.fixed_types import U8, U16, U32, U64, U256, Address, Bytes32, Bytes48
from pot.chain.gas import GAS_TRAIN_REQUEST_BASE, GAS_TRAIN_REQUEST_PER_BYTE, MAX_CALLDATA_BYTES
from pot.chain.hooks import (
    AcceptedUpdate,
    SettlementInput,
    SettlementOutput,
    SubmissionContext,
    Verdict,
    job_aggregate,
    no_payments,
    weights_commitment,
)
from pot.chain.hyperparams import (
    AggregationRule,
    Hyperparams,
    LossId,
    decode_hyperparams,
    encode_hyperparams,
)
from pot.chain.request import check_train_request, compute_job_id
from pot.chain.store import Store, state_root_of_export

__all__ = [
    "CHECKPOINTS",
    "GAS_TRAIN_REQUEST_BASE",
    "GAS_TRAIN_REQUEST_PER_BYTE",
    "MAX_CALLDATA_BYTES",
    "U8",
    "U16",
    "U32",
    "U64",
    "U256",
    "AcceptedUpdate",
    "Address",
    "AggregationRule",
    "Bytes32",
    "Bytes48",
    "CallReceipt",
    "EmitReceipt",
    "Executor",
    "FinalizeReceipt",
    "Hyperparams",
    "LossId",
    "ProofReceipt",
    "RequestReceipt",
    "SettlementInput",
    "SettlementOutput",
    "Store",
    "SubmissionContext",
    "TrainRequest",
    "Verdict",
    "check_train_request",
    "cid_to_bytes32",
    "compute_job_id",
    "decode_hyperparams",
    "decode_train_request",
    "encode_hyperparams",
    "encode_train_request",
    "job_aggregate",
    "no_payments",
    "reference_to_bytes32",
    "state_root_of_export",
    "weights_commitment",
]
