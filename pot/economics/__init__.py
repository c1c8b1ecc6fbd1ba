"""Training economics of pot: emission, per-round rewards, slashing and the insurance fund.

Consensus code: integer-only (amounts are uint256 wei), deterministic, every wei accounted for.
The rules are pure functions (:func:`emit_block`, :func:`settle_round`, :func:`round_rewards`,
:func:`slash_amount`, :func:`release_block`, :func:`insurance_payout`); the chain is the one money
model that applies them (:mod:`pot.chain.executor`, and :mod:`pot.chain.settler` for a round's
rewards and slashes), and the ``economics`` fixtures call them as the chain does.
:func:`incentive_check` answers, in exact rationals, whether a job's sampling and stake make
fabricating steps unprofitable. The rules and their rounding are written up in
``docs/economics.md``.
"""

from pot.economics.amounts import check_wei, mul_bps, pro_rata
from pot.economics.constants import (
    BPS_DENOMINATOR,
    CHALLENGE_WINDOW_BLOCKS,
    INSURANCE_CLAIM_CAP_BPS,
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
    EconomicsError,
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
from pot.economics.slashing import release_block, slash_amount

__all__ = [
    "BPS_DENOMINATOR",
    "CHALLENGE_WINDOW_BLOCKS",
    "INSURANCE_CLAIM_CAP_BPS",
    "QUALITY_FULL_BPS",
    "SLASH_BPS",
    "TRAINING_POOL_BPS",
    "UINT64_MAX",
    "UINT256_MAX_WEI",
    "AmountError",
    "ConstantsError",
    "EconomicsError",
    "Emission",
    "IncentiveReport",
    "ParameterError",
    "RoundSettlement",
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
