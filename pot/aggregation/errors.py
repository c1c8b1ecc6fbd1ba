"""Errors raised by :mod:`pot.aggregation`.

They extend the one exception tree of pot (:class:`pot.errors.PotError`). Every aggregation error is
also a :class:`ValueError`, so callers that follow Flower's convention (a broken precondition is a
``ValueError``) catch them too. Each is raised with a message that states the rule that was broken,
for example ``"multi-krum needs n > 2f + 2 (n=6, f=2)"``.
"""

from pot.errors import MalformedInputError, PotError


class AggregationError(PotError, ValueError):
    """An aggregation input breaks a rule: a precondition, a bound, or a parameter's range."""


class MalformedUpdateError(AggregationError, MalformedInputError):
    """A sparse update cannot be decoded: bad header, wrong length, bad index, bad value.

    It is also a :class:`pot.errors.MalformedInputError`, so the CLI maps it to exit code 2.
    """
