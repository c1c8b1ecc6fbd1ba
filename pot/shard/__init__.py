"""Sharded step proofs: one SGD step as many small ezkl circuits linked by KZG points.

:mod:`~pot.shard.ops` holds the per-layer ops (forward and backward side by side),
:mod:`~pot.shard.plan` cuts a step into shards and tiles, :mod:`~pot.shard.graphs` exports each
shard kind's ONNX graph, :mod:`~pot.shard.circuits` builds the kind circuits at one logrows over one
SRS, :mod:`~pot.shard.prover` runs and proves a step on a process pool or Ray,
:mod:`~pot.shard.proof` is the ``pot.step-proof/3`` format and :mod:`~pot.shard.verify` checks
every shard proof and every link. ``docs/protocol.md`` ("Sharded step proofs") is the reference.
"""
