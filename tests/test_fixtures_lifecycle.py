"""The ``lifecycle`` fixtures: deterministic, green, and pinning every refusal of the chain's calls.

The fill-twice and committed-equals-fresh checks of every plain format (this one included) are in
``test_fixtures_fill.py``; here the lifecycle file is filled on its own, twice, and its cases are
read as another client would: the transactions are decoded with eth-abi and their signatures
checked against the message docs/chain.md specifies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from test_fixtures_support import COMMITTED, copy_committed, load, rehash, write

from pot.chain import errors as chain_errors
from pot.fixtures.check import check_fixtures
from pot.fixtures.fill import fill_fixtures
from pot.fixtures.formats import FORMATS
from pot.fixtures.lifecycle import FORMAT_NAME
from pot.protocol.keys import verify

LIFECYCLE = COMMITTED / "lifecycle.json"
ENVELOPE = ["uint64", "bytes", "uint64", "string", "bytes", "bytes"]
TX_DOMAIN = b"pot.chain.tx/1\x00"

PINNED_ELSEWHERE = {
    # TRAIN_REQUEST's calldata rules: fixtures/train_request.json pins each one and their order.
    "CalldataTooLargeError", "BadOffsetError", "NonZeroPaddingError", "Uint64OverflowError",
    "HyperparamsError", "TotalRoundsError", "MinParticipantsError", "ZeroReferenceError",
    "NonceReplayError", "NonceGapError",
}
NOT_PINNED = {
    "JobFullError": "needs 1,024 joins, each with a proof of possession (about 20 minutes to fill)",
    "BundleTooLargeError": "needs a bundle over 16 MiB, over the fixture file cap of 16 MiB",
    "InvalidPubkeyError": "unreachable through Executor.apply: a key that is not a subgroup point "
                          "has no valid signature or proof of possession, refused first",
    "NoRewardError": "unreachable with pot's settler, which records a reward (0 if excluded) for "
                     "every accepted trainer of a finalized round",
    "EmissionError": "emit is a block-production step the format does not carry (see "
                     "fixtures/economics.json for the emission split)",
    "FinalizeError": "a hook broke its contract; pot's aggregator and settler do not",
    "StateError": "an inconsistent state file, which no transaction from genesis produces",
    "InvalidCidError": "CID parsing happens in the CLI, before any transaction exists",
}


@pytest.fixture(scope="module")
def cases() -> dict[str, Any]:
    return load(LIFECYCLE)


def test_filling_the_lifecycle_format_twice_is_byte_identical_and_equals_the_committed_file(
    tmp_path: Path,
) -> None:
    only = {FORMAT_NAME: FORMATS[FORMAT_NAME]}
    fill_fixtures(tmp_path / "a", only)
    fill_fixtures(tmp_path / "b", only)
    first = (tmp_path / "a" / "lifecycle.json").read_bytes()
    assert first == (tmp_path / "b" / "lifecycle.json").read_bytes()
    assert first == LIFECYCLE.read_bytes(), "run `pot fixtures fill` and commit fixtures/"


def test_every_committed_lifecycle_case_replays_green() -> None:
    report = check_fixtures([LIFECYCLE])
    assert report.failures == [] and report.broken_files == []
    assert report.passed == len(load(LIFECYCLE)) >= 90


def test_a_refused_step_leaves_the_root_and_an_applied_one_moves_it(cases: dict[str, Any]) -> None:
    for name, case in cases.items():
        out = case["expected"]
        if out["error"] is None:
            assert out["receipt"]["state_root"] == out["post_state_root"] != out["pre_state_root"], name
        else:
            assert out["receipt"] is None and out["post_state_root"] == out["pre_state_root"], name


def test_each_call_and_step_kind_has_a_valid_and_an_invalid_case(cases: dict[str, Any]) -> None:
    valid: set[str] = set()
    invalid: set[str] = set()
    for case in cases.values():
        step = case["input"]["step"]
        call = "reveal" if step["kind"] == "reveal" else abi_decode(
            ENVELOPE, bytes.fromhex(step["tx"][2:]), strict=False)[3]
        (invalid if case["expected"]["error"] else valid).add(call)
    calls = {"train_request", "fund", "join", "submit", "reveal", "submit_proof", "finalize_round",
             "appeal", "release_slash", "prove_fraud"}
    assert calls <= valid and calls <= invalid


def test_every_refusal_of_the_chain_is_pinned_by_a_fixture(cases: dict[str, Any]) -> None:
    leaves = set()
    stack = [chain_errors.ChainError]
    while stack:
        cls = stack.pop()
        subclasses = cls.__subclasses__()
        stack.extend(subclasses)
        if not subclasses:
            leaves.add(cls.__name__)
    pinned = {c["expected"]["error"] for c in cases.values()} - {None}
    train_request = load(COMMITTED / "train_request.json")
    pinned_there = {c["expected_error"] for c in train_request.values() if "expected_error" in c}
    assert pinned_there >= PINNED_ELSEWHERE
    assert leaves - pinned - PINNED_ELSEWHERE == set(NOT_PINNED), "pin it, or say why not"
    assert not pinned & set(NOT_PINNED)


def test_the_spoofing_attempts_are_refused_each_with_its_own_error(cases: dict[str, Any]) -> None:
    errors = {name: cases[name]["expected"]["error"] for name in (
        "spoof_replayed_tx", "spoof_other_chain_id", "spoof_wrong_signer", "spoof_tampered_args",
        "spoof_other_call_name", "join_bad_proof_of_possession",
    )}
    assert errors == {
        "spoof_replayed_tx": "NonceReplayError", "spoof_other_chain_id": "WrongChainError",
        "spoof_wrong_signer": "BadSignatureError", "spoof_tampered_args": "BadSignatureError",
        "spoof_other_call_name": "BadSignatureError",
        "join_bad_proof_of_possession": "ProofOfPossessionError",
    }


def test_the_transactions_verify_as_another_client_reads_them(cases: dict[str, Any]) -> None:
    """Decode each applied transaction with eth-abi and check its BLS signature over the
    docs/chain.md message, without pot's transaction module."""
    steps = {json.dumps(s, sort_keys=True): s for c in cases.values() for s in c["input"]["setup"]}
    txs = [s for s in steps.values() if s["kind"] == "tx"]
    assert len(txs) >= 15
    for step in txs:
        wire = bytes.fromhex(step["tx"][2:])
        chain_id, sender, nonce, call, args, signature = abi_decode(ENVELOPE, wire)
        assert abi_encode(ENVELOPE, [chain_id, sender, nonce, call, args, signature]) == wire
        message = TX_DOMAIN + abi_encode(ENVELOPE[:5], [chain_id, sender, nonce, call, args])
        assert chain_id == 1 and verify(sender, message, signature), call


def test_a_changed_post_state_root_fails_by_name(tmp_path: Path) -> None:
    path, committed = copy_committed("lifecycle", tmp_path)
    case = committed["fund_valid"]
    case["expected"]["post_state_root"] = "0x" + "00" * 32
    rehash(case)
    write(path, {"fund_valid": case})
    report = check_fixtures([path])
    assert [f.line() for f in report.failures] == [
        "FAIL lifecycle/fund_valid: expected.post_state_root: the fixture has "
        f'"0x{"00" * 32}", the library gives "{load(LIFECYCLE)["fund_valid"]["expected"]["post_state_root"]}"'
    ]


def test_a_refused_setup_step_is_a_malformed_case(tmp_path: Path) -> None:
    path, committed = copy_committed("lifecycle", tmp_path)
    case = committed["fund_valid"]
    request = case["input"]["setup"][0]
    case["input"]["setup"] = [request, request]  # the same request twice: the second is a replay
    rehash(case)
    write(path, {"fund_valid": case})
    [failure] = check_fixtures([path]).failures
    assert "malformed input: input.setup[1] is refused (NonceReplayError" in failure.line()
