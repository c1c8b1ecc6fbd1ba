"""The economics branch of pot's exception tree.

Every class here derives from :class:`pot.errors.PotError`. They live beside the economics code
until they are moved into :mod:`pot.errors`; callers should import them from
:mod:`pot.economics`.
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
