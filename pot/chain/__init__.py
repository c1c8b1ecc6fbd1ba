"""The chain side of pot: the TRAIN_REQUEST opcode (``0x14``) and the lifecycle of a training job.

A requester's TRAIN_REQUEST (:mod:`pot.chain.abi`, :mod:`pot.chain.hyperparams`,
:mod:`pot.chain.request`) opens a job; trainers ``join`` it, ``submit`` committed trajectories and
final weights each round, the first block after the submit deadline fixes the round's beacon from
the chain's RANDAO mix, proofs are judged by pot's verifier (``submit_proof``), and
``finalize_round`` aggregates the accepted updates with the job's rule and settles
(:mod:`pot.chain.hooks`). Every state-changing call is a signed transaction (:mod:`pot.chain.tx`,
sent with a :class:`~pot.chain.wallet.Wallet`). :class:`~pot.chain.executor.Executor` runs the
calls against an embedded SQLite state (:mod:`pot.chain.store`) whose state root is recomputed
after every call. The whole package is integer-only and deterministic. See ``docs/chain.md``.
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
    RevealReceipt,
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
from pot.chain.tx import Tx, address_of, decode_tx, encode_tx, sign_tx
from pot.chain.wallet import Wallet, produce_block

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
    "RevealReceipt",
    "SettlementInput",
    "SettlementOutput",
    "Store",
    "SubmissionContext",
    "TrainRequest",
    "Tx",
    "Verdict",
    "Wallet",
    "address_of",
    "check_train_request",
    "cid_to_bytes32",
    "compute_job_id",
    "decode_hyperparams",
    "decode_train_request",
    "decode_tx",
    "encode_hyperparams",
    "encode_train_request",
    "encode_tx",
    "job_aggregate",
    "no_payments",
    "produce_block",
    "reference_to_bytes32",
    "sign_tx",
    "state_root_of_export",
    "weights_commitment",
]
