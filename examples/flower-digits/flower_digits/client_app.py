"""The ClientApp: each node answers pot's ``train`` and ``train.prove`` messages on its shard."""

from __future__ import annotations

from flwr.app import Context

from flower_digits.task import DigitsTrainer, JobOptions
from pot.flower import PotTrainer, pot_client_app


def make_trainer(context: Context) -> PotTrainer:
    """The node's trainer, from the run config and its partition."""
    return DigitsTrainer(JobOptions.from_run_config(context.run_config))(context)


app = pot_client_app(make_trainer)
