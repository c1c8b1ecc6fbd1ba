"""The events that drive the economics ledger, and their canonical JSON.

Each event is a frozen dataclass whose fields are checked when it is built; the ledger
(:class:`pot.economics.ledger.Ledger`) applies them in order. In JSON an event is an object with a
``kind`` and its fields: ids as ``0x`` lowercase hex, amounts (wei) and counts as integers,
offences as strings. A chain executor emits, per block: one :class:`Emit`, then the block's other
events in transaction order.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, NamedTuple, get_args

from pot.economics._codec import (
    canonical_json,
    hex_of,
    parse_json,
    read_enum,
    read_id,
    read_object,
    read_u64,
    read_uint,
    read_wei,
)
from pot.economics.amounts import check_bps, check_uint64, check_wei
from pot.economics.constants import (
    ACCOUNT_ID_BYTES,
    BPS_DENOMINATOR,
    JOB_ID_BYTES,
)
from pot.economics.errors import EconomicsError, ParameterError
from pot.economics.slashing import Offence
from pot.errors import MalformedInputError


def check_id(value: object, n_bytes: int, what: str) -> bytes:
    """Return ``value`` if it is a ``bytes`` id of exactly ``n_bytes`` bytes.

    Parameters
    ----------
    value
        The id.
    n_bytes
        Its required length (bytes): ``ACCOUNT_ID_BYTES`` or ``JOB_ID_BYTES``.
    what
        What the id names, for the error message.

    Returns
    -------
    bytes
        ``value`` unchanged.

    Raises
    ------
    ParameterError
        ``value`` is not ``bytes`` of that length.
    """
    if not isinstance(value, bytes) or len(value) != n_bytes:
        raise ParameterError(f"{what} must be {n_bytes} bytes, got {value!r:.40}")
    return value


class _FieldRule(NamedTuple):
    """How one event field is checked in Python and read from JSON."""

    check: Callable[[Any, str], object]
    read: Callable[[Any, str], Any]


def _check_offence(value: object, what: str) -> Offence:
    """Return ``value`` if it is an :class:`Offence`; raise :class:`ParameterError` otherwise."""
    if not isinstance(value, Offence):
        raise ParameterError(f"{what} must be an Offence, got {value!r}")
    return value


_JOB_RULE = _FieldRule(
    lambda v, w: check_id(v, JOB_ID_BYTES, w), lambda v, w: read_id(v, JOB_ID_BYTES, w)
)
_ACCOUNT_RULE = _FieldRule(
    lambda v, w: check_id(v, ACCOUNT_ID_BYTES, w), lambda v, w: read_id(v, ACCOUNT_ID_BYTES, w)
)
_WEI_RULE = _FieldRule(check_wei, read_wei)
_COUNT_RULE = _FieldRule(check_uint64, read_u64)

_FIELD_RULES: dict[str, _FieldRule] = {
    "job": _JOB_RULE,
    "producer": _ACCOUNT_RULE,
    "funder": _ACCOUNT_RULE,
    "trainer": _ACCOUNT_RULE,
    "block_reward_wei": _WEI_RULE,
    "escrow_wei": _WEI_RULE,
    "reward_per_round_wei": _WEI_RULE,
    "amount_wei": _WEI_RULE,
    "stake_wei": _WEI_RULE,
    "block": _COUNT_RULE,
    "round": _COUNT_RULE,
    "verified_samples": _COUNT_RULE,
    "quality_bps": _FieldRule(check_bps, lambda v, w: read_uint(v, BPS_DENOMINATOR, w)),
    "offence": _FieldRule(_check_offence, lambda v, w: read_enum(v, Offence, w)),
}
"""The one table of event field names: every event field is named here, with its rule."""


@dataclass(frozen=True)
class _Event:
    """Base of the events: checks every field against :data:`_FIELD_RULES` when built."""

    KIND: ClassVar[str]

    def __post_init__(self) -> None:
        for field in fields(self):
            _FIELD_RULES[field.name].check(getattr(self, field.name), field.name)


@dataclass(frozen=True)
class Emit(_Event):
    """Block ``block`` mints ``block_reward_wei``; the producer and the training pool share it."""

    KIND = "emit"
    block: int
    producer: bytes
    block_reward_wei: int


@dataclass(frozen=True)
class OpenJob(_Event):
    """A funder opens a job and escrows its budget; the job pays up to a set amount per round."""

    KIND = "open_job"
    job: bytes
    funder: bytes
    escrow_wei: int
    reward_per_round_wei: int


@dataclass(frozen=True)
class FundJob(_Event):
    """The job's funder adds ``amount_wei`` to the job's escrow."""

    KIND = "fund_job"
    job: bytes
    amount_wei: int


@dataclass(frozen=True)
class Join(_Event):
    """A trainer joins an open job, staking ``stake_wei`` from its balance."""

    KIND = "join"
    job: bytes
    trainer: bytes
    stake_wei: int


@dataclass(frozen=True)
class _BundleEvent(_Event):
    """Base of the events about one trainer's bundle in one round of one job."""

    job: bytes
    round: int
    trainer: bytes

    @property
    def key(self) -> tuple[bytes, int, bytes]:
        """(job, round, trainer): the bundle, and the offence it can be slashed for."""
        return (self.job, self.round, self.trainer)


@dataclass(frozen=True)
class Submit(_BundleEvent):
    """A trainer submits its bundle (trajectory commitment) for the job's current round."""

    KIND = "submit"


@dataclass(frozen=True)
class Accept(_BundleEvent):
    """A submitted bundle verified; it contributes ``verified_samples`` at ``quality_bps``."""

    KIND = "accept"
    verified_samples: int
    quality_bps: int


@dataclass(frozen=True)
class Reject(_BundleEvent):
    """A submitted bundle failed (invalid proof or missed deadline); the trainer is slashed."""

    KIND = "reject"
    offence: Offence

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.offence is Offence.FRAUD:
            raise ParameterError(
                "a rejection is for invalid_proof or missed_deadline; fraud is ProveFraud"
            )


@dataclass(frozen=True)
class FinalizeRound(_Event):
    """The job's current round closes: its pool is paid out and the next round opens."""

    KIND = "finalize_round"
    job: bytes
    round: int


@dataclass(frozen=True)
class UpholdAppeal(_BundleEvent):
    """Within the challenge window, re-verification showed the rejection was validator-side."""

    KIND = "uphold_appeal"


@dataclass(frozen=True)
class ReleaseSlash(_BundleEvent):
    """After the challenge window, a pending slash moves to the insurance fund."""

    KIND = "release_slash"


@dataclass(frozen=True)
class ProveFraud(_BundleEvent):
    """A rewarded bundle of a finalised round is proven fabricated (an escape)."""

    KIND = "prove_fraud"


@dataclass(frozen=True)
class CloseJob(_Event):
    """The job ends: stakes, escrow and the job's pool are returned."""

    KIND = "close_job"
    job: bytes


Event = (
    Emit
    | OpenJob
    | FundJob
    | Join
    | Submit
    | Accept
    | Reject
    | FinalizeRound
    | UpholdAppeal
    | ReleaseSlash
    | ProveFraud
    | CloseJob
)

EVENT_TYPES: dict[str, type[Event]] = {cls.KIND: cls for cls in get_args(Event)}
"""Event class by its JSON ``kind``."""


def event_to_obj(event: Event) -> dict[str, Any]:
    """Return ``event`` as a JSON-ready object: ``kind`` plus its fields.

    Parameters
    ----------
    event
        The event.

    Returns
    -------
    dict[str, Any]
        Ids as ``0x`` lowercase hex, amounts and counts as ints, offences as strings.
    """
    obj: dict[str, Any] = {"kind": event.KIND}
    for field in fields(event):
        value = getattr(event, field.name)
        obj[field.name] = hex_of(value) if isinstance(value, bytes) else value
    return obj


def event_from_obj(obj: Any) -> Event:
    """Read one event from a parsed JSON object (the inverse of :func:`event_to_obj`).

    Parameters
    ----------
    obj
        The parsed JSON value.

    Returns
    -------
    Event
        The event.

    Raises
    ------
    MalformedInputError
        Unknown kind, missing or unknown fields, or a field of the wrong type or range.
    """
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise MalformedInputError(f"event must be an object with a kind in {sorted(EVENT_TYPES)}")
    cls = EVENT_TYPES[kind]
    names = [field.name for field in fields(cls)]
    read_object(obj, [*names, "kind"], f"{cls.KIND} event")
    values = {name: _FIELD_RULES[name].read(obj[name], f"{cls.KIND}.{name}") for name in names}
    try:
        return cls(**values)
    except EconomicsError as e:
        raise MalformedInputError(f"{cls.KIND} event: {e}") from e


def event_to_json(event: Event) -> str:
    """Return ``event`` as canonical JSON text (sorted keys, no spaces)."""
    return canonical_json(event_to_obj(event))


def event_from_json(text: str) -> Event:
    """Read one event from JSON text.

    Raises
    ------
    MalformedInputError
        The text is not JSON or not a valid event (see :func:`event_from_obj`).
    """
    return event_from_obj(parse_json(text, "event"))
