"""The economics settler: the chain executor's ``settle`` hook, built from the pure rules.

:func:`economics_settle` turns the facts of one closed round (:class:`pot.chain.hooks.SettlementInput`)
into a decision (:class:`pot.chain.hooks.SettlementOutput`) that the executor checks and applies:

Rewards (a ``finalized`` round only)
    Each accepted trainer contributes ``contribution(verified_samples, quality_bps)`` with
    ``quality_bps = QUALITY_FULL_BPS``, or 0 when the aggregator excluded its update
    (``SettlementInput.excluded``). The round is settled by :func:`pot.economics.rewards.settle_round`
    with the job's pool, its escrow and a per-round budget of ``floor(escrow / rounds_left)``, so
    the escrow is spread evenly over the rounds still to come and the last round may draw all of
    it. A ``failed`` round produced no model: it pays nothing and draws nothing.
Slashes
    ``slash_amount(stake)`` from every trainer whose proof was rejected (``invalid_proof``) or not
    judged by the proof deadline (``missed_deadline``, status ``unproven``). A rejection whose
    reason is the validator's own fault (``verifier_error``: the verifier crashed;
    ``bad_verdict``: it broke its contract) is not the trainer's offence and is not slashed.
    Absent trainers are not slashed.

It lives in :mod:`pot.chain` because it speaks the hooks' types: the chain imports the pure
rules of :mod:`pot.economics`, and :mod:`pot.economics` imports nothing of the chain.
"""

from pot.chain.fixed_types import U256, Bytes48
from pot.chain.hooks import VALIDATOR_SIDE_REASONS, SettlementInput, SettlementOutput
from pot.economics.constants import QUALITY_FULL_BPS
from pot.economics.rewards import contribution, settle_round
from pot.economics.slashing import slash_amount


def economics_settle(settlement: SettlementInput) -> SettlementOutput:
    """Decide one round's rewards, escrow draw and slashes by pot's economics rules.

    Parameters
    ----------
    settlement
        The round's facts: outcome, every trainer's status and verified samples, the job's escrow
        and pool (wei), the rounds left, and the trainers the aggregator excluded.

    Returns
    -------
    SettlementOutput
        ``rewards``: every accepted trainer's payout (wei; 0 for an excluded one), empty when the
        round failed; ``slashes``: the offenders' slashes (wei); ``escrow_draw_wei``: what the
        round draws from the escrow.

    Raises
    ------
    EconomicsError
        If an amount leaves the uint256 range (the executor reverts the finalisation then).
    """
    slashes = {
        t.trainer: U256(slash_amount(int(t.stake)))
        for t in settlement.trainers
        if t.status == "unproven"
        or (t.status == "rejected" and t.reason not in VALIDATOR_SIDE_REASONS)
    }
    if settlement.outcome != "finalized":
        return SettlementOutput(rewards={}, slashes=slashes)
    contributions = {
        bytes(t.trainer): contribution(
            t.verified_samples, 0 if t.trainer in settlement.excluded else QUALITY_FULL_BPS
        )
        for t in settlement.trainers
        if t.status == "accepted"
    }
    per_round = int(settlement.escrow_wei) // int(settlement.rounds_left)
    result = settle_round(
        int(settlement.pool_wei), int(settlement.escrow_wei), per_round, contributions
    )
    rewards = {Bytes48(k): U256(v) for k, v in result.payouts_wei.items()}
    return SettlementOutput(
        rewards=rewards, slashes=slashes, escrow_draw_wei=result.escrow_draw_wei
    )
