"""Crash consistency: a process SIGKILLed inside a call leaves the state as before or after it.

Each test runs one executor call in a child process whose checkpoint function SIGKILLs the child
at a named point between the call's writes (or just before or after its COMMIT), then reopens the
file and compares its state root and full export with the state before and after the call.
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

import pytest
from test_chain_support import (
    CALLER,
    CRASH_CALLS,
    GAS_LIMIT,
    REQUEST_HEIGHT,
    Scenario,
    accept_all,
    make_calldata,
    open_job,
    perform_call,
    pubkey,
)

from pot.chain.executor import CHECKPOINTS, Executor
from pot.chain.store import Store

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import os, signal, sys
from pathlib import Path
from test_chain_support import accept_all, perform_call
from pot.chain.executor import Executor
from pot.chain.fixed_types import Bytes48
from pot.chain.store import Store

path, call, kill_at, height, trainer = sys.argv[1:6]

def checkpoint(name):
    if name == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

executor = Executor(Store.open(Path(path)), verify=accept_all(), checkpoint=checkpoint)
perform_call(executor, call, int(height), Bytes48.from_hex(trainer))
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    return env


def run_child(path: Path, call: str, kill_at: str, height: int) -> int:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), call, kill_at, str(height), pubkey(0).to_hex()],
        env=child_env(), capture_output=True, timeout=60,
    )
    assert child.returncode in (0, -signal.SIGKILL), child.stderr.decode()
    return child.returncode


def before_request(path: Path) -> int:
    Store.create(path, 1).close()
    return REQUEST_HEIGHT


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


def before_finalize(path: Path) -> int:
    s: Scenario = open_job(path)
    s.submit_all(0)
    s.reveal(0)
    s.prove_all(0)
    s.store.close()
    return s.height


SETUPS: dict[str, Callable[[Path], int]] = {
    "request": before_request,
    "join": before_join,
    "submit": before_submit,
    "beacon": before_beacon,
    "proof": before_proof,
    "finalize": before_finalize,
}
CASES = [
    ("request", "request:after_job"),
    ("request", "request:after_nonce"),
    ("request", "commit:before"),
    ("request", "commit:after"),
    ("join", "join:after_trainer"),
    ("submit", "submit:after_submission"),
    ("beacon", "beacon:after_beacon"),
    ("proof", "proof:after_verdict"),
    ("finalize", "finalize:after_round"),
    ("finalize", "finalize:after_settlement"),
    ("finalize", "finalize:after_job"),
    ("finalize", "commit:before"),
    ("finalize", "commit:after"),
]


def test_every_checkpoint_and_call_is_exercised() -> None:
    assert {point for _, point in CASES} == set(CHECKPOINTS)
    assert {call for call, _ in CASES} == set(CRASH_CALLS) == set(SETUPS)


def snapshot(path: Path) -> tuple[str, dict[str, object]]:
    store = Store.open(path)
    try:
        assert store.state_root() == store.recompute_state_root()
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
    executor = Executor(Store.open(reference), verify=accept_all())
    perform_call(executor, call, height, pubkey(0))
    executor.store.close()
    after = snapshot(reference)
    assert after[0] != before[0]

    assert run_child(path, call, kill_at, height) == -signal.SIGKILL
    survived = snapshot(path)
    expected = after if kill_at == "commit:after" else before
    assert survived == expected


_LOOP = """
import sys
from pathlib import Path
from test_chain_support import CALLER, GAS_LIMIT, make_calldata
from pot.chain.executor import Executor
from pot.chain.store import Store

executor = Executor(Store.open(Path(sys.argv[1])))
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
    reference = Executor(Store.create(tmp_path / "reference.db", 1))
    for nonce in range(done):
        reference.train_request(CALLER, nonce, make_calldata(), GAS_LIMIT, 10)
    assert reference.store.state_root().to_hex() == root
    # The crashed file takes the next call as if nothing had happened.
    resumed = Executor(store).train_request(CALLER, done, make_calldata(), GAS_LIMIT, 10)
    expected = reference.train_request(CALLER, done, make_calldata(), GAS_LIMIT, 10)
    assert resumed.state_root == expected.state_root
