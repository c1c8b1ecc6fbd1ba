"""pot on Flower (``pip install 'pot[flower]'``; written against Flower 1.42's Message API).

A Flower round becomes a pot round: trainers run committed quantised SGD trajectories, the server
draws each trainer's challenge only after every trajectory root is in, trainers answer with ezkl
proofs in a signed bundle, and only verified updates enter an integer aggregation weighted by
verified sample counts. ``docs/flower.md`` gives the message flow, the beacon and the reason codes.

- :mod:`~pot.flower.records`: pot values as Flower records, strictly decoded.
- :mod:`~pot.flower.round`: the server's pure rules (beacon, commitment checks, judging,
  aggregation) and the round's evidence.
- :mod:`~pot.flower.client`: :class:`PotTrainer` and :func:`pot_client_app` (the ClientApp side).
- :mod:`~pot.flower.strategy`: :class:`PotStrategy` (the ServerApp side).
"""

from __future__ import annotations

try:
    import flwr  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the installed extras
    raise ImportError("pot.flower needs Flower: pip install 'pot[flower]'") from e

from pot.flower.client import PotTrainer, pot_client_app
from pot.flower.errors import StrategyError, TrainerStateError
from pot.flower.records import MESSAGE_PROVE, MESSAGE_TRAIN, arrays_to_params, params_to_arrays
from pot.flower.round import RoundEvidence, TrainerEvidence, round_beacon, seed_commitment
from pot.flower.strategy import PotStrategy

FLOWER_VERSION = "1.42.0"
"""The Flower release this module is written and tested against."""

__all__ = [
    "FLOWER_VERSION",
    "MESSAGE_PROVE",
    "MESSAGE_TRAIN",
    "PotStrategy",
    "PotTrainer",
    "RoundEvidence",
    "StrategyError",
    "TrainerEvidence",
    "TrainerStateError",
    "arrays_to_params",
    "params_to_arrays",
    "pot_client_app",
    "round_beacon",
    "seed_commitment",
]
