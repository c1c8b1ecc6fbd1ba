"""The server's rules for one pot round on Flower: beacon, commitment checks, judging, aggregation.

Pure functions over pot values; :class:`pot.flower.strategy.PotStrategy` only unpacks Flower
messages, calls these, and repacks. Nothing here depends on the order replies arrive in.

The beacon (``docs/flower.md``) is fixed only after every trainer's trajectory root is in::

    beacon = keccak256(BEACON_TAG ‖ seed ‖ job_id ‖ uint64_be(round) ‖ uint64_be(n)
                       ‖ pubkey_1 ‖ root_1 ‖ ... ‖ pubkey_n ‖ root_n)

with the n committed (pubkey, root) pairs sorted, and ``seed`` 32 secret bytes the
server holds for the whole job (published only as ``keccak256(SEED_TAG ‖ seed)``). A trainer
cannot know its challenge before it commits; an auditor given the seed can recompute every beacon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pot.aggregation.params import AggregationRule
from pot.bundle import load_bundle
from pot.chain.fixed_types import U64, Bytes48
from pot.chain.hooks import AcceptedUpdate, weights_commitment, weights_to_payload
from pot.circuit import Circuit
from pot.errors import MalformedInputError
from pot.flower.records import Commitment
from pot.node import robust_aggregate
from pot.protocol.domains import ALL_DOMAINS, DOMAIN_TAG_BYTES, keccak256
from pot.protocol.encoding import (
    BLS_PUBLIC_KEY_BYTES,
    BYTES32_BYTES,
    format_hex,
    require_length,
    uint64_bytes,
)
from pot.tensors import IntArray
from pot.verdict import Verdict
from pot.verifier import Expected, verify_bundle

BEACON_TAG = b"pot/flower/v1/beacon".ljust(DOMAIN_TAG_BYTES, b"\x00")
"""Prefix of the round beacon's hash."""
SEED_TAG = b"pot/flower/v1/beacon-seed".ljust(DOMAIN_TAG_BYTES, b"\x00")
"""Prefix of the published commitment to the beacon seed."""
BEACON_SEED_BYTES = 32

if len({BEACON_TAG, SEED_TAG, *ALL_DOMAINS.values()}) != len(ALL_DOMAINS) + 2:
    raise AssertionError("the Flower beacon tags must differ from the protocol's domain tags")

# Reason codes the strategy adds to the verifier's (pot.verifier), for replies never judged.
NO_REPLY = "no_reply"
"""The node did not reply within the timeout."""
CLIENT_ERROR = "client_error"
"""The node replied with an error instead of content."""
MALFORMED = "malformed"
"""The reply's records do not decode (see :mod:`pot.flower.records`)."""
DUPLICATE_TRAINER = "duplicate_trainer"
"""Another node already registered this trainer key."""


def seed_commitment(seed: bytes) -> bytes:
    """``keccak256(SEED_TAG ‖ seed)``: what the server publishes about its beacon seed."""
    return keccak256(SEED_TAG + require_length(seed, BEACON_SEED_BYTES, "beacon seed"))


def round_beacon(seed: bytes, job_id: bytes, round_number: int,
                 commits: Sequence[tuple[bytes, bytes]]) -> bytes:
    """The round's beacon, from the seed and every committed (trainer key -> trajectory root).

    Parameters
    ----------
    seed
        The server's 32 secret bytes for the job.
    job_id
        32 bytes.
    round_number
        ``0 <= round < 2**64``.
    commits
        (48-byte trainer public key, 32-byte trajectory root) of every commitment accepted this
        round, in any order: they are hashed sorted.

    Raises
    ------
    EncodingError
        If a value has the wrong length or the round is not an unsigned 64-bit integer.
    """
    parts = [BEACON_TAG, require_length(seed, BEACON_SEED_BYTES, "beacon seed"),
             require_length(job_id, BYTES32_BYTES, "job id"), uint64_bytes(round_number, "round"),
             uint64_bytes(len(commits), "trainer count")]
    for trainer, root in sorted(commits):
        parts.append(require_length(trainer, BLS_PUBLIC_KEY_BYTES, "trainer public key"))
        parts.append(require_length(root, BYTES32_BYTES, "trajectory root"))
    return keccak256(b"".join(parts))


@dataclass(frozen=True)
class Registration:
    """A node's trainer key and dataset commitment, fixed at the first round its bundle verified
    (so a node cannot take another trainer's public key: it cannot sign for it)."""

    node_id: int
    trainer: bytes
    dataset_root: bytes
    n_batches: int
    first_round: int

    def to_json(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "trainer": format_hex(self.trainer),
                "dataset_root": format_hex(self.dataset_root), "n_batches": self.n_batches,
                "first_round": self.first_round}


def check_commitment(node_id: int, commit: Commitment, steps: int,
                     registry: Mapping[int, Registration]) -> Verdict | None:
    """The commitment's first failed check against the job and the registry, or ``None``.

    A node must reply with the T it was sent, and with the trainer key and dataset commitment it
    registered (at its first accepted round); a new node may not claim a key another node holds.
    """
    if commit.steps != steps:
        return Verdict(False, "wrong_steps",
                       detail=f"the node ran T = {commit.steps}, the round asks {steps}")
    reg = registry.get(node_id)
    if reg is None:
        for other in registry.values():
            if other.trainer == commit.trainer:
                return Verdict(False, DUPLICATE_TRAINER, detail=f"node {other.node_id} registered this "
                               "trainer key first")
        return None
    if commit.trainer != reg.trainer:
        return Verdict(False, "wrong_trainer", detail=f"the node registered another trainer key in round "
                       f"{reg.first_round}")
    if (commit.dataset_root, commit.n_batches) != (reg.dataset_root, reg.n_batches):
        return Verdict(False, "wrong_dataset", detail=f"the node registered another dataset commitment in "
                       f"round {reg.first_round}")
    return None


def judge_bundle(raw: bytes, circuit: Circuit, expected: Expected,
                 allow_dev_srs: bool = False) -> tuple[Verdict, int]:
    """Parse and verify a bundle's bytes: (verdict, verified samples, 0 unless accepted).

    Never raises on the bundle's content: unreadable bytes give the ``malformed`` verdict.
    """
    try:
        bundle = load_bundle(raw)
    except MalformedInputError as e:
        return Verdict(False, MALFORMED, detail=f"the bundle does not parse: {e}"), 0
    verdict = verify_bundle(bundle, circuit, expected, allow_dev_srs)
    return verdict, bundle.verified_samples if verdict.ok else 0


@dataclass(frozen=True)
class VerifiedUpdate:
    """An accepted trainer's update: its key, W_T flattened in graph order, verified samples."""

    trainer: bytes
    vector: IntArray
    verified_samples: int


def aggregate_verified(updates: Sequence[VerifiedUpdate], rule: AggregationRule,
                       rule_param: int) -> tuple[IntArray, dict[str, Any]]:
    """The job's rule over the accepted updates, exactly as a pot node aggregates a round.

    Calls :func:`pot.node.robust_aggregate` (so :func:`pot.aggregation.aggregate`): integer
    fixed point, weights are the verified sample counts, the result does not depend on the order
    of ``updates``.

    Raises
    ------
    AggregationError
        If the rule's precondition fails (for example too few updates for multi-Krum's f).
    """
    accepted = [AcceptedUpdate(Bytes48(u.trainer), np.asarray(u.vector, dtype=np.int64),
                               U64(u.verified_samples),
                               weights_commitment(weights_to_payload(u.vector)))
                for u in updates]
    vector, info = robust_aggregate(accepted, rule, rule_param)
    return np.asarray(vector, dtype=np.int64), info


@dataclass
class TrainerEvidence:
    """One node's part in a round, and the verdict on it.

    Attributes
    ----------
    node_id
        Flower's node id.
    verdict
        ``ok`` if its update entered aggregation, else the first failed check's reason code
        (:mod:`pot.verifier`'s codes, or this module's ``no_reply``, ``client_error``,
        ``malformed``, ``duplicate_trainer``).
    trainer, root, update_commitment
        Its key, trajectory root and commit(W_T), once its commitment was read.
    challenged
        Its commitment passed the checks: its (key, root) entered the beacon and it was sent the
        challenge.
    verified_samples
        T * batch size if accepted, else 0.
    """

    node_id: int
    verdict: Verdict
    trainer: bytes | None = None
    root: bytes | None = None
    update_commitment: bytes | None = None
    challenged: bool = False
    verified_samples: int = 0

    def to_json(self) -> dict[str, Any]:
        def h(b: bytes | None) -> str | None:
            return None if b is None else format_hex(b)

        return {"node_id": self.node_id, "trainer": h(self.trainer), "root": h(self.root),
                "update_commitment": h(self.update_commitment), "challenged": self.challenged,
                "verified_samples": self.verified_samples, "verdict": self.verdict.to_json()}


@dataclass
class RoundEvidence:
    """Everything a round decided, and what an auditor needs to replay it.

    Attributes
    ----------
    round, job_id
        Which round of which job.
    global_commitment
        commit(W_0) of the global model the round started from.
    beacon
        The round's beacon (``None`` if no commitment was accepted).
    trainers
        One entry per node asked, by node id.
    aggregation
        The rule's evidence (:func:`aggregate_verified`), or ``None`` if nothing was aggregated.
    new_global_commitment
        commit(W) of the aggregate, the next round's global model (``None`` if unchanged).
    error
        Why aggregation failed, if it did (the global model is then unchanged).
    """

    round: int
    job_id: bytes
    global_commitment: bytes
    beacon: bytes | None = None
    trainers: list[TrainerEvidence] = field(default_factory=list)
    aggregation: dict[str, Any] | None = None
    new_global_commitment: bytes | None = None
    error: str = ""

    @property
    def verdicts(self) -> dict[int, Verdict]:
        """Node id to its verdict."""
        return {t.node_id: t.verdict for t in self.trainers}

    @property
    def accepted(self) -> list[int]:
        """Node ids whose update entered aggregation."""
        return [t.node_id for t in self.trainers if t.verdict.ok]

    @property
    def rejected(self) -> dict[int, str]:
        """Node id to the reason its reply was dropped."""
        return {t.node_id: t.verdict.reason for t in self.trainers if not t.verdict.ok}

    def to_json(self) -> dict[str, Any]:
        return {
            "round": self.round, "job_id": format_hex(self.job_id),
            "global_commitment": format_hex(self.global_commitment),
            "beacon": None if self.beacon is None else format_hex(self.beacon),
            "trainers": [t.to_json() for t in self.trainers], "aggregation": self.aggregation,
            "new_global_commitment": (None if self.new_global_commitment is None
                                      else format_hex(self.new_global_commitment)),
            "error": self.error,
        }
