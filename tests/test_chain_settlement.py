"""Settlement is a pure function: ``settle_round`` checks a settler's decision and computes every
value the round writes, with no state file (the executor reads the inputs and writes the outputs).
"""

from __future__ import annotations

import pytest

from pot.chain.errors import FinalizeError
from pot.chain.executor import settle_round
from pot.chain.fixed_types import U64, U256, Address, Bytes32, Bytes48
from pot.chain.hooks import SettlementInput, SettlementOutput, TrainerOutcome
from pot.chain.store import EconomicsRow, FundsRow, TrainerRow

CALLER = Address(b"\xca" * 20)
KEYS = [Bytes48(bytes([i + 1]) * 48) for i in range(3)]
STAKE = 1000
STATUS = ("accepted", "rejected", "unproven")


def _inputs(closing: bool = False) -> dict[str, object]:
    trainers = [TrainerRow(pubkey=k, stake=U256(STAKE), rewards=U256(0),
                           dataset_commitment=Bytes32(b"\x04" * 32), num_samples=U64(10),
                           join_height=U64(1)) for k in KEYS]
    settlement = SettlementInput(
        job_id=Bytes32(b"\x01" * 32), round=U64(0), outcome="finalized", min_participants=U64(1),
        trainers=tuple(TrainerOutcome(k, U256(STAKE), s, "", 10 if s == "accepted" else 0)
                       for k, s in zip(KEYS, STATUS, strict=True)),
        global_model_commitment=Bytes32(b"\x02" * 32), rounds_left=U64(1),
        escrow_wei=U256(500), pool_wei=U256(100), excluded=frozenset(),
    )
    return {
        "settlement": settlement, "trainers": trainers,
        "funds": FundsRow(U256(500), U256(100), U256(500), U256(100)),
        "economics": EconomicsRow(U256(10**6), U256(0), U256(0), None),
        "balances": {**{k: U256(7) for k in KEYS}, CALLER: U256(9)},
        "caller": CALLER, "at": U64(50), "closing": closing,
    }


def _held(payments: object, inputs: dict[str, object]) -> int:
    """Wei held by the round's accounts, stakes, funds, carry and pending slashes."""
    p = payments
    balances = dict(inputs["balances"])  # type: ignore[call-overload]
    balances.update(p.accounts)  # type: ignore[attr-defined]
    return (sum(balances.values()) + sum(s for s, _ in p.trainers.values())  # type: ignore[attr-defined]
            + p.funds.escrow + p.funds.pool + p.economics.training_pool_carry  # type: ignore[attr-defined]
            + sum(s.amount for s in p.slashes))  # type: ignore[attr-defined]


@pytest.mark.parametrize("closing", [False, True])
def test_a_settlement_conserves_wei_without_a_state_file(closing: bool) -> None:
    inputs = _inputs(closing)
    out = SettlementOutput(rewards={KEYS[0]: U256(300)},
                           slashes={KEYS[1]: U256(100), KEYS[2]: U256(100)}, escrow_draw_wei=250)
    before = 3 * STAKE + 3 * 7 + 9 + 500 + 100
    payments = settle_round(out=out, **inputs)  # type: ignore[arg-type]
    assert _held(payments, inputs) == before
    assert payments.record["rewards"] == {KEYS[0].to_hex(): 300}
    assert [(s.trainer, s.offence) for s in payments.slashes] == [
        (KEYS[1], "invalid_proof"), (KEYS[2], "missed_deadline"),
    ]
    if closing:
        assert payments.accounts[CALLER] == 9 + 250 and payments.funds.escrow == 0
        assert payments.economics.training_pool_carry == 50


@pytest.mark.parametrize(
    ("out", "match"),
    [
        (SettlementOutput({}, {}, escrow_draw_wei=501), "draws 501 wei from an escrow of 500"),
        (SettlementOutput({KEYS[0]: U256(101)}, {}), "pays 101 wei from a pool of 100"),
        (SettlementOutput({}, {KEYS[0]: U256(1)}), "which is accepted; only rejected"),
        (SettlementOutput({}, {KEYS[1]: U256(STAKE + 1)}), "slashes 1001 wei from a stake"),
        (SettlementOutput({Bytes48(b"\x09" * 48): U256(1)}, {}), "not a trainer of the job"),
    ],
    ids=["overdraw", "overpay", "slash-accepted", "slash-over-stake", "stranger"],
)
def test_a_decision_that_breaks_a_rule_is_refused(out: SettlementOutput, match: str) -> None:
    with pytest.raises(FinalizeError, match=match):
        settle_round(out=out, **_inputs())  # type: ignore[arg-type]
