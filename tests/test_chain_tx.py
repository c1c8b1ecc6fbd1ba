"""Signed transactions: every spoofing attempt is refused before anything is judged.

Each attack of issue 17 is replayed against the executor with real BLS keys: a third party
proving, joining, submitting or appealing in a victim's name, a replayed nonce, a transaction
signed for another chain, tampered arguments. Each is refused with its own error class, the
verifier is never called, and the state (its root and its whole export) is unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_chain_support import (
    CHAIN_ID,
    DATASET_COMMITMENT,
    STAKE_WEI,
    TRAJECTORY_ROOT,
    VALIDATOR_KEY_INDEX,
    Scenario,
    assert_reverts,
    open_job,
    payload_of,
    pubkey,
    secret,
    verdict_table_verifier,
)

from pot.chain.errors import (
    BadSignatureError,
    MalformedTxError,
    NonceGapError,
    NonceReplayError,
    ProofOfPossessionError,
    RevealError,
    UnknownCallError,
    UnknownTrainerError,
    WrongChainError,
)
from pot.chain.fixed_types import U64, Bytes32
from pot.chain.hooks import weights_commitment
from pot.chain.tx import (
    CALLS,
    Tx,
    decode_args,
    decode_tx,
    encode_args,
    encode_tx,
    prove_possession,
    sign_reveal,
    sign_tx,
    signing_message,
)
from pot.chain.wallet import Wallet
from pot.protocol.keys import sign
from pot.verdict import Verdict

VICTIM = 0
ATTACKER = 5
BUNDLE = b"the victim's bundle"


def forged(victim: int, signer: int, nonce: int, call: str, values: tuple[object, ...]) -> Tx:
    """A transaction naming ``victim`` as its sender, signed by ``signer``'s key."""
    args = encode_args(call, values)
    message = signing_message(CHAIN_ID, pubkey(victim), nonce, call, args)
    return Tx(U64(CHAIN_ID), pubkey(victim), U64(nonce), call, args,
              sign(secret(signer), message))


def next_nonce(s: Scenario, index: int) -> int:
    return int(Wallet(s.executor.inner, secret(index)).next_nonce())


@pytest.fixture
def submitted(tmp_path: Path) -> Scenario:
    """A job whose trainers 0..2 submitted in round 0 and whose beacon is fixed; the verifier
    accepts the victim's bundle and records every call."""
    table = {(0, bytes(pubkey(VICTIM))): Verdict(True, "ok", 10)}
    s = open_job(tmp_path / "state.db", verify=verdict_table_verifier(table))
    s.submit_all(0)
    s.reveal(0)
    return s


def _contexts(s: Scenario) -> list[object]:
    return s.executor.inner._verify.contexts  # type: ignore[no-any-return]


def test_a_third_party_cannot_prove_submit_for_a_trainer(submitted: Scenario) -> None:
    s = submitted
    junk = forged(VICTIM, ATTACKER, next_nonce(s, VICTIM), "submit_proof",
                  (s.job_id, 0, b"junk"))
    assert_reverts(s.store, BadSignatureError, "does not verify under its sender",
                   lambda: s.executor.apply(junk, s.height))
    # In its own name, the attacker (who did not join) names no one's submission.
    own = Wallet(s.executor.inner, secret(ATTACKER)).sign("submit_proof", (s.job_id, 0, b"junk"))
    assert_reverts(s.store, UnknownTrainerError, "did not join",
                   lambda: s.executor.apply(own, s.height))
    assert _contexts(s) == []  # refused before anything was judged
    receipt = s.executor.submit_proof(s.job_id, 0, pubkey(VICTIM), BUNDLE, s.height)
    assert (receipt.verdict, receipt.reason) == ("accepted", "ok")


def test_a_third_party_cannot_join_with_a_victims_key(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db", trainers=1)
    victim = 6
    values = (s.job_id, STAKE_WEI, DATASET_COMMITMENT, 1, prove_possession(secret(victim)))
    assert_reverts(s.store, BadSignatureError, "does not verify",
                   lambda: s.executor.apply(forged(victim, ATTACKER, 0, "join", values), 12))
    # Signed by its own key but carrying another key's proof of possession.
    wrong_pop = (s.job_id, STAKE_WEI, DATASET_COMMITMENT, 1, prove_possession(secret(ATTACKER)))
    tx = sign_tx(secret(victim), CHAIN_ID, 0, "join", wrong_pop)
    assert_reverts(s.store, ProofOfPossessionError, "no valid proof of possession",
                   lambda: s.executor.apply(tx, 12))
    assert s.store.balance(pubkey(victim)) == 10**21
    assert s.store.trainer(s.job_id, pubkey(victim)) is None


def test_a_third_party_cannot_submit_or_appeal_for_a_trainer(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db")
    payload = payload_of([1, 2, 3, 4])
    values = (s.job_id, 0, TRAJECTORY_ROOT, 8, weights_commitment(payload), payload)
    assert_reverts(s.store, BadSignatureError, "does not verify",
                   lambda: s.executor.apply(forged(VICTIM, ATTACKER, 1, "submit", values), 15))
    appeal = forged(VICTIM, ATTACKER, 1, "appeal", (s.job_id, 0, BUNDLE))
    assert_reverts(s.store, BadSignatureError, "does not verify",
                   lambda: s.executor.apply(appeal, 15))


def test_a_replayed_or_skipping_nonce_is_refused(submitted: Scenario) -> None:
    s = submitted
    wallet = Wallet(s.executor.inner, secret(VICTIM))
    tx = wallet.sign("submit_proof", (s.job_id, 0, BUNDLE))
    gap = wallet.sign("submit_proof", (s.job_id, 0, BUNDLE), nonce=int(tx.nonce) + 1)
    assert_reverts(s.store, NonceGapError, "skips ahead",
                   lambda: s.executor.apply(gap, s.height))
    assert _contexts(s) == []
    s.executor.apply(tx, s.height)
    assert_reverts(s.store, NonceReplayError, "was already used",
                   lambda: s.executor.apply(tx, s.height))
    assert len(_contexts(s)) == 1


def test_a_transaction_for_another_chain_is_refused(submitted: Scenario) -> None:
    s = submitted
    tx = sign_tx(secret(VICTIM), CHAIN_ID + 1, next_nonce(s, VICTIM), "submit_proof",
                 (s.job_id, 0, BUNDLE))
    assert_reverts(s.store, WrongChainError, f"signed for chain {CHAIN_ID + 1}; this chain is",
                   lambda: s.executor.apply(tx, s.height))
    assert _contexts(s) == []


def test_tampered_arguments_break_the_signature(submitted: Scenario) -> None:
    s = submitted
    tx = Wallet(s.executor.inner, secret(VICTIM)).sign("submit_proof", (s.job_id, 0, BUNDLE))
    other = Tx(tx.chain_id, tx.sender, tx.nonce, tx.call,
               encode_args("submit_proof", (s.job_id, 0, b"junk")), tx.signature)
    renamed = Tx(tx.chain_id, tx.sender, tx.nonce, "appeal", tx.args, tx.signature)
    for bad in (other, renamed):
        assert_reverts(s.store, BadSignatureError, "does not verify",
                       lambda b=bad: s.executor.apply(b, s.height))  # type: ignore[misc]
    assert _contexts(s) == []


def test_the_wire_encoding_round_trips_and_refuses_anything_else(submitted: Scenario) -> None:
    s = submitted
    tx = Wallet(s.executor.inner, secret(VICTIM)).sign("finalize_round", (s.job_id, 0))
    wire = encode_tx(tx)
    assert decode_tx(wire) == tx
    assert decode_args("finalize_round", tx.args) == (bytes(s.job_id), 0)
    with pytest.raises(MalformedTxError, match="not the canonical ABI encoding"):
        decode_tx(wire + bytes(32))
    with pytest.raises(MalformedTxError):
        decode_tx(wire[:-1])
    with pytest.raises(MalformedTxError, match="not the canonical"):
        decode_args("finalize_round", tx.args + bytes(32))
    unknown = Tx(tx.chain_id, tx.sender, tx.nonce, "beacon", tx.args, tx.signature)
    assert_reverts(s.store, UnknownCallError, "unknown call 'beacon'",
                   lambda: s.executor.apply(encode_tx(unknown), s.height))
    assert "beacon" not in CALLS


def test_nobody_chooses_the_beacon(tmp_path: Path) -> None:
    s = open_job(tmp_path / "state.db")
    s.submit_all(0)
    assert not hasattr(s.executor.inner, "beacon")  # no call takes a caller's value
    # A trainer is not the block's producer: its signature over the height is no reveal.
    for index in (VICTIM, ATTACKER):
        assert_reverts(s.store, RevealError, "not a signature of its producer",
                       lambda i=index: s.executor.inner.reveal(  # type: ignore[misc]
                           sign_reveal(secret(i), CHAIN_ID, 21), 21))
    receipt = s.executor.inner.reveal(sign_reveal(secret(VALIDATOR_KEY_INDEX), CHAIN_ID, 21), 21)
    (number, beacon), = receipt.beacons.values()
    assert number == 0 and beacon != Bytes32(bytes(32))
