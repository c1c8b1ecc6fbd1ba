"""What both apps share: the job's options, the non-IID digits shards, demo keys and the circuit.

Shards follow ``pot simulate``: scikit-learn's bundled digits (4x4-pooled for ``mlp-tiny``), a
seeded train/test split, and the seeded Dirichlet(0.5) label split of the training set
(:func:`pot.simulate.split_dirichlet`). The last ``dishonest`` partitions fabricate every step they commit.

Keys are derived from the seed and the partition id so that the server can name trainers in its
report. That is a demo shortcut: a real trainer keeps its key to itself (``pot keys new``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from eth_hash.auto import keccak
from flwr.app import Context

from pot.aggregation.params import RULE_BY_NAME, AggregationRule
from pot.circuit import Circuit, build_circuit
from pot.data import Dataset, load_dataset, train_test_split
from pot.flower import PotTrainer
from pot.protocol.keys import SecretKey, derive_secret_key, public_key
from pot.simulate import DIRICHLET_ALPHA, MIN_SHARD_BATCHES, split_dirichlet
from pot.spec import ModelSpec, load_spec
from pot.trainer import LocalData


@dataclass(frozen=True)
class JobOptions:
    """The job, from the app's run config (``[tool.flwr.app.config]``; keys use hyphens)."""

    spec: str = "mlp-tiny"
    num_server_rounds: int = 3
    steps: int = 40
    samples: int = 1
    trainers: int = 4
    dishonest: int = 1
    rule: str = "fedavg"
    rule_param: int = 0
    seed: int = 0
    circuits: str = "~/.cache/pot/circuits"

    @classmethod
    def from_run_config(cls, config: Mapping[str, Any]) -> JobOptions:
        """Options from a Flower run config; absent keys keep their defaults."""
        values = {}
        for f in fields(cls):
            key = f.name.replace("_", "-")
            if key in config:
                values[f.name] = type(getattr(cls(), f.name))(config[key])
        return cls(**values)

    @property
    def model(self) -> ModelSpec:
        return load_spec(self.spec)

    @property
    def job_id(self) -> bytes:
        return bytes(keccak(f"flower-digits/job/{self.seed}".encode()))

    @property
    def aggregation_rule(self) -> AggregationRule:
        return RULE_BY_NAME[self.rule]

    def circuit(self) -> Circuit:
        """The spec's circuit, built once (minutes) and then loaded from ``circuits``."""
        return build_circuit(self.model, Path(self.circuits).expanduser())

    def split(self) -> tuple[Dataset, Dataset]:
        """(train, test) of the spec's dataset."""
        return train_test_split(load_dataset(self.model.dataset), seed=self.seed)

    def is_dishonest(self, partition_id: int, num_partitions: int) -> bool:
        return partition_id >= num_partitions - self.dishonest


@lru_cache(maxsize=8)
def shard(options: JobOptions, partition_id: int, num_partitions: int) -> LocalData:
    """Partition ``partition_id``'s non-IID shard of the training set (cached per process: a
    node's ClientApp is built anew for every message)."""
    train, _ = options.split()
    idx = split_dirichlet(train.y, num_partitions, DIRICHLET_ALPHA, options.seed,
                          MIN_SHARD_BATCHES * options.model.batch_size)[partition_id]
    return LocalData(options.model, train.x[idx], train.y[idx].astype(np.int64))


def demo_key(seed: int, partition_id: int) -> SecretKey:
    """The demo's key of a partition (derived, so the server can name trainers; demo only)."""
    label = f"flower-digits/key/{seed}/{partition_id}".encode()
    return derive_secret_key(bytes(keccak(label)) + bytes(keccak(label + b"/2")))


def trainer_names(options: JobOptions, num_partitions: int) -> dict[bytes, str]:
    """Public key to a display name: ``partition 2`` or ``partition 3 (dishonest)``."""
    return {public_key(demo_key(options.seed, p)):
            f"partition {p}" + (" (dishonest)" if options.is_dishonest(p, num_partitions) else "")
            for p in range(num_partitions)}


@dataclass(frozen=True)
class DigitsTrainer:
    """Builds a node's :class:`PotTrainer` from its Flower context (picklable for Ray)."""

    options: JobOptions

    def __call__(self, context: Context) -> PotTrainer:
        partition = int(context.node_config["partition-id"])
        n = int(context.node_config["num-partitions"])
        return PotTrainer(circuit=self.options.circuit(),
                          secret_key=demo_key(self.options.seed, partition),
                          data=shard(self.options, partition, n),
                          fabricate_every_step=self.options.is_dishonest(partition, n))
