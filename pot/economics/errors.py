"""The economics branch of pot's exception tree.

Every class here derives from :class:`pot.errors.PotError` (the tree is drawn in
:mod:`pot.errors`).
"""

from pot.errors import PotError


class EconomicsError(PotError):
    """Base class of the errors raised by the economics rules."""


class ConstantsError(EconomicsError):
    """The economics constants table is inconsistent (raised when the module loads)."""


class AmountError(EconomicsError):
    """An amount is not an int, is negative, or leaves the uint256 range."""


class ParameterError(EconomicsError):
    """A rule was called with parameters outside its domain (for example m > T)."""
