"""Training economics of pot: emission, per-round rewards, slashing and the insurance fund.

Consensus code: integer-only (amounts are uint256 wei), deterministic, every wei accounted for.
The rules are pure functions (:func:`emit_block`, :func:`settle_round`, :func:`round_rewards`,
:func:`slash_amount`, :func:`insurance_payout`). :class:`Ledger` applies them to a sequence of
events (:mod:`pot.economics.events`) that a chain executor emits and a fixture filler replays.
:func:`incentive_check` answers, in exact rationals, whether a job's sampling and stake make
fabricating steps unprofitable. The rules and their rounding are written up in
``docs/economics.md``.
"""

from pot.economics.amounts import check_wei, mul_bps, pro_rata
from pot.economics.constants import (
    ACCOUNT_ID_BYTES,
    BPS_DENOMINATOR,
    CHALLENGE_WINDOW_BLOCKS,
    INSURANCE_CLAIM_CAP_BPS,
    JOB_ID_BYTES,
    QUALITY_FULL_BPS,
    SLASH_BPS,
    TRAINING_POOL_BPS,
    UINT64_MAX,
    UINT256_MAX_WEI,
)
from pot.economics.emission import Emission, emit_block
from pot.economics.errors import (
    AmountError,
    ConstantsError,
    DoubleSlashError,
    EconomicsError,
    LedgerError,
    ParameterError,
)
from pot.economics.events import (
    EVENT_TYPES,
    Accept,
    CloseJob,
    Emit,
    Event,
    FinalizeRound,
    FundJob,
    Join,
    OpenJob,
    ProveFraud,
    Reject,
    ReleaseSlash,
    Submit,
    UpholdAppeal,
    event_from_json,
    event_from_obj,
    event_to_json,
    event_to_obj,
)
from pot.economics.incentive import (
    IncentiveReport,
    detection_probability,
    incentive_check,
    min_k_for_target,
    min_stake,
)
from pot.economics.insurance import insurance_payout
from pot.economics.ledger import Job, Ledger, Slash, Submission, SubmissionStatus
from pot.economics.rewards import RoundSettlement, contribution, round_rewards, settle_round
from pot.economics.slashing import Offence, SlashStatus, release_block, slash_amount

__all__ = [
    "ACCOUNT_ID_BYTES",
    "BPS_DENOMINATOR",
    "CHALLENGE_WINDOW_BLOCKS",
    "EVENT_TYPES",
    "INSURANCE_CLAIM_CAP_BPS",
    "JOB_ID_BYTES",
    "QUALITY_FULL_BPS",
    "SLASH_BPS",
    "TRAINING_POOL_BPS",
    "UINT64_MAX",
    "UINT256_MAX_WEI",
    "Accept",
    "AmountError",
    "CloseJob",
    "ConstantsError",
    "DoubleSlashError",
    "EconomicsError",
    "Emission",
    "Emit",
    "Event",
    "FinalizeRound",
    "FundJob",
    "IncentiveReport",
    "Job",
    "Join",
    "Ledger",
    "LedgerError",
    "Offence",
    "OpenJob",
    "ParameterError",
    "ProveFraud",
    "Reject",
    "ReleaseSlash",
    "RoundSettlement",
    "Slash",
    "SlashStatus",
    "Submission",
    "SubmissionStatus",
    "Submit",
    "UpholdAppeal",
    "check_wei",
    "contribution",
    "detection_probability",
    "emit_block",
    "event_from_json",
    "event_from_obj",
    "event_to_json",
    "event_to_obj",
    "incentive_check",
    "insurance_payout",
    "min_k_for_target",
    "min_stake",
    "mul_bps",
    "pro_rata",
    "release_block",
    "round_rewards",
    "settle_round",
    "slash_amount",
]
