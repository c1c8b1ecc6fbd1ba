"""The errors of pot's Flower integration: the ``pot.flower`` branch of pot's exception tree.

Both derive from :class:`pot.errors.PotError` (the tree is drawn in :mod:`pot.errors`).
"""

from pot.errors import PotError


class StrategyError(PotError):
    """The strategy cannot run a round (too few nodes connected in time, rounds out of order)."""


class TrainerStateError(PotError):
    """A message this node cannot answer: a challenge for a round it did not commit, or a round
    on another circuit than the node's."""
