"""Training economics of pot: emission, per-round rewards, slashing and the insurance fund.

Consensus code: integer-only (amounts are uint256 wei), deterministic, every wei accounted for.
The rules are pure functions (:func:`emit_block`, :func:`settle_round`, :func:`round_rewards`,
:func:`slash_amount`, :func:`insurance_payout`). :func:`incentive_check` answers, in exact
rationals, whether a job's sampling and stake make fabricating steps unprofitable. The rules
and their rounding are written up in ``docs/economics.md``.
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
from pot.economics.incentive import (
    IncentiveReport,
    detection_probability,
    incentive_check,
    min_k_for_target,
    min_stake,
)
from pot.economics.insurance import insurance_payout
from pot.economics.rewards import RoundSettlement, contribution, round_rewards, settle_round
from pot.economics.slashing import Offence, SlashStatus, release_block, slash_amount

__all__ = [
    "ACCOUNT_ID_BYTES",
    "BPS_DENOMINATOR",
    "CHALLENGE_WINDOW_BLOCKS",
    "INSURANCE_CLAIM_CAP_BPS",
    "JOB_ID_BYTES",
    "QUALITY_FULL_BPS",
    "SLASH_BPS",
    "TRAINING_POOL_BPS",
    "UINT64_MAX",
    "UINT256_MAX_WEI",
    "AmountError",
    "ConstantsError",
    "DoubleSlashError",
    "EconomicsError",
    "Emission",
    "IncentiveReport",
    "LedgerError",
    "Offence",
    "ParameterError",
    "RoundSettlement",
    "SlashStatus",
    "check_wei",
    "contribution",
    "detection_probability",
    "emit_block",
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
