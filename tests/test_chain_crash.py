"""Crash consistency: a process SIGKILLed inside a call leaves the state as before or after it.

Each test runs one executor call in a child process whose checkpoint function SIGKILLs the child
at a named point between the call's writes (or just before or after its COMMIT), then reopens the
file and compares its state root and full export with the state before and after the call. Every
executor here settles with pot's economics, and the finalisation closes a funded job in which
trainers are rewarded, slashed for a rejected and for a missing proof, and refunded, so a kill
inside it tests that the money moves all at once or not at all. The appeal voids the rejected
trainer's slash (the verifier now accepts every bundle) and the fraud proof, run with a verifier
that now rejects every bundle, pays the requester from an insurance fund that holds a released
slash.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_chain_support import (
    BLOCK_REWARD_WEI,
    CALLER,
    CRASH_CALLS,
    ESCROW_WEI,
    GAS_LIMIT,
    PRODUCER,
    REQUEST_HEIGHT,
    VALIDATORS,
    Chain,
    Scenario,
    accept_all,
    genesis_alloc,
    make_calldata,
    open_job,
    perform_call,
    pubkey,
    reject_all,
    verdict_table_verifier,
)

from pot.chain.executor import CHECKPOINTS, Executor
from pot.chain.fixed_types import U64
from pot.chain.settler import economics_settle
from pot.chain.store import Store
from pot.economics.constants import CHALLENGE_WINDOW_BLOCKS
from pot.verdict import Verdict

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import os, signal, sys
from pathlib import Path
from test_chain_support import accept_all, perform_call, reject_all
from pot.chain.executor import Executor
from pot.chain.fixed_types import Bytes48
from pot.chain.store import Store
from pot.chain.settler import economics_settle
from test_chain_support import Chain

path, call, kill_at, height, trainer = sys.argv[1:6]

def checkpoint(name):
    if name == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

verify = reject_all() if call == "fraud" else accept_all()
executor = Chain(Executor(
    Store.open(Path(path)), verify=verify, settle=economics_settle, checkpoint=checkpoint
))
perform_call(executor, call, int(height), Bytes48.from_hex(trainer))
"""

ACCUSED = {"fraud": 1}
"""The trainer a call acts for, when not trainer 0: fraud is shown on accepted trainer 1."""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    return env


def run_child(path: Path, call: str, kill_at: str, height: int) -> int:
    trainer = pubkey(ACCUSED.get(call, 0)).to_hex()
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), call, kill_at, str(height), trainer],
        env=child_env(), capture_output=True, timeout=60,
    )
    assert child.returncode in (0, -signal.SIGKILL), child.stderr.decode()
    return child.returncode


def before_request(path: Path) -> int:
    Store.create(path, 1, genesis_alloc(), VALIDATORS).close()
    return REQUEST_HEIGHT


def before_fund(path: Path) -> int:
    open_job(path).store.close()
    return REQUEST_HEIGHT + 2


def before_join(path: Path) -> int:
    open_job(path, trainers=1).store.close()
    return REQUEST_HEIGHT + 2


def before_submit(path: Path) -> int:
    open_job(path).store.close()
    return 15


def before_beacon(path: Path) -> int:
    s = open_job(path)
    s.submit_all(0)
    s.store.close()
    return 21


def before_proof(path: Path) -> int:
    s = open_job(path)
    s.submit_all(0)
    s.reveal(0)
    s.store.close()
    return s.height


def settled_job(path: Path) -> Scenario:
    """A funded one-round job with a pool, ready to finalize past its proof deadline.

    Trainer 0's proof is rejected, 1 and 2 are accepted, 3 never proves: finalizing it pays
    1 and 2, slashes 0 (invalid proof) and 3 (missed deadline), and closes the job.
    """
    table = {
        (0, bytes(pubkey(0))): Verdict(False, "proof_invalid", 0),
        (0, bytes(pubkey(1))): Verdict(True, "ok", 30),
        (0, bytes(pubkey(2))): Verdict(True, "ok", 10),
    }
    s = open_job(
        path, trainers=4, verify=verdict_table_verifier(table), escrow=ESCROW_WEI,
        executor_kwargs={"settle": economics_settle}, total_rounds=1,
    )
    s.executor.emit(PRODUCER, BLOCK_REWARD_WEI, s.height)
    s.submit_all(0)
    s.reveal(0)
    s.prove_all(0, s.trainers[:3])
    s.after_proof_deadline(0)
    return s


def before_finalize(path: Path) -> int:
    s = settled_job(path)
    s.store.close()
    return s.height


def before_emit(path: Path) -> int:
    s = open_job(path, escrow=ESCROW_WEI)
    s.executor.fund(s.job_id, CALLER, ESCROW_WEI, s.height)
    s.store.close()
    return s.height + 1


def before_release(path: Path) -> int:
    s = settled_job(path)
    s.executor.finalize_round(s.job_id, 0, s.height)
    slash = s.store.slash(s.job_id, U64(0), pubkey(0))
    assert slash is not None and slash.release_height == s.height + CHALLENGE_WINDOW_BLOCKS
    s.store.close()
    return int(slash.release_height)


def before_appeal(path: Path) -> int:
    s = settled_job(path)
    s.executor.finalize_round(s.job_id, 0, s.height)
    s.store.close()
    return s.height


def before_fraud(path: Path) -> int:
    height = before_release(path)
    store = Store.open(path)
    Chain(Executor(store, settle=economics_settle)).release_slash(
        store.job_ids()[0], 0, pubkey(0), height
    )
    assert store.economics().insurance_fund > 0
    store.close()
    return height


SETUPS: dict[str, Callable[[Path], int]] = {
    "request": before_request,
    "fund": before_fund,
    "join": before_join,
    "submit": before_submit,
    "beacon": before_beacon,
    "proof": before_proof,
    "finalize": before_finalize,
    "emit": before_emit,
    "release": before_release,
    "appeal": before_appeal,
    "fraud": before_fraud,
}
CASES = [
    ("request", "request:after_job"),
    ("request", "request:after_escrow"),
    ("request", "request:after_nonce"),
    ("request", "commit:before"),
    ("request", "commit:after"),
    ("fund", "fund:after_escrow"),
    ("join", "join:after_trainer"),
    ("submit", "submit:after_submission"),
    ("beacon", "reveal:after_mix"),
    ("proof", "proof:after_verdict"),
    ("finalize", "finalize:after_round"),
    ("finalize", "finalize:after_settlement"),
    ("finalize", "finalize:after_job"),
    ("finalize", "commit:before"),
    ("finalize", "commit:after"),
    ("emit", "emit:after_producer"),
    ("emit", "commit:before"),
    ("release", "release:after_slash"),
    ("appeal", "appeal:after_slash"),
    ("appeal", "commit:before"),
    ("fraud", "fraud:after_payout"),
    ("fraud", "fraud:after_slash"),
    ("fraud", "commit:before"),
    ("fraud", "commit:after"),
]


def test_every_checkpoint_and_call_is_exercised() -> None:
    assert {point for _, point in CASES} == set(CHECKPOINTS)
    assert {call for call, _ in CASES} == set(CRASH_CALLS) == set(SETUPS)


MONEYLESS_CALLS = ("submit", "beacon", "proof")


def snapshot(path: Path) -> tuple[str, dict[str, Any]]:
    store = Store.open(path)
    try:
        assert store.state_root() == store.recompute_state_root()
        assert store.total_wei() == store.economics().supply
        return store.state_root().to_hex(), store.export()
    finally:
        store.close()


@pytest.mark.parametrize(("call", "kill_at"), CASES, ids=[f"{c}-{k}" for c, k in CASES])
def test_kill_mid_call_leaves_state_before_or_after(
    tmp_path: Path, call: str, kill_at: str
) -> None:
    path = tmp_path / "state.db"
    height = SETUPS[call](path)
    before = snapshot(path)
    reference = tmp_path / "reference.db"
    shutil.copy(path, reference)
    verify = reject_all() if call == "fraud" else accept_all()
    executor = Chain(Executor(Store.open(reference), verify=verify, settle=economics_settle))
    perform_call(executor, call, height, pubkey(ACCUSED.get(call, 0)))
    executor.store.close()
    after = snapshot(reference)
    assert after[0] != before[0]
    assert after[1]["economics"] != before[1]["economics"] or call in MONEYLESS_CALLS

    assert run_child(path, call, kill_at, height) == -signal.SIGKILL
    survived = snapshot(path)
    expected = after if kill_at == "commit:after" else before
    assert survived == expected


_LOOP = """
import sys
from pathlib import Path
from test_chain_support import CALLER, GAS_LIMIT, Chain, make_calldata
from pot.chain.executor import Executor
from pot.chain.store import Store

executor = Chain(Executor(Store.open(Path(sys.argv[1]))))
print("ready", flush=True)
for nonce in range(int(sys.argv[2])):
    executor.train_request(CALLER, nonce, make_calldata(), GAS_LIMIT, 10)
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_at_a_random_moment_leaves_the_root_after_the_committed_calls(
    tmp_path: Path, seed: int
) -> None:
    calls = 300
    path = tmp_path / "state.db"
    Store.create(path, 1).close()
    child = subprocess.Popen(
        [sys.executable, "-c", _LOOP, str(path), str(calls)],
        env=child_env(), stdout=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    time.sleep(random.Random(seed).uniform(0.02, 0.3))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    root, _ = snapshot(path)
    store = Store.open(path)
    done = int(store.next_nonce(CALLER))
    assert len(store.job_ids()) == done
    # The same calls, run to completion on another file, end at the same root.
    reference = Chain(Executor(Store.create(tmp_path / "reference.db", 1)))
    for nonce in range(done):
        reference.train_request(CALLER, nonce, make_calldata(), GAS_LIMIT, 10)
    assert reference.store.state_root().to_hex() == root
    # The crashed file takes the next call as if nothing had happened.
    resumed = Chain(Executor(store)).train_request(CALLER, done, make_calldata(), GAS_LIMIT, 10)
    expected = reference.train_request(CALLER, done, make_calldata(), GAS_LIMIT, 10)
    assert resumed.state_root == expected.state_root
