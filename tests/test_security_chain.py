"""Several real ``pot chain`` processes on one SQLite state: nothing corrupted, no write lost.

``tests/test_chain_store.py`` runs two writers through the library and ``tests/test_chain_crash.py``
kills a writer mid-call. Here the writers are the command line itself, started at the same moment:
the calls that touch one shared row (trainers joining one job) and the calls that race on one
nonce (a caller's requests without ``--nonce``) must all land, or fail loudly with their revert.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from test_chain_cli import request_args
from test_chain_support import DATASET_COMMITMENT, pubkey, secret

from pot.chain.store import Store
from pot.chain.tx import address_of
from pot.circuit import Circuit
from pot.protocol.keys import save_secret_key

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
WRITERS = 4


def start(state: Path, circuits: Path, *args: str) -> subprocess.Popen[str]:
    """Start ``pot chain <args> --state <state> --json`` from this checkout.

    ``circuits`` is the folder holding the tiny spec's circuit: ``request`` commits to the round-0
    model under it (``$POT_CIRCUITS``), and a clean checkout has no ``circuits/mlp-tiny-*``.
    """
    command, *rest = args
    env = {**os.environ, "PYTHONPATH": str(ROOT), "POT_CIRCUITS": str(circuits)}
    return subprocess.Popen(
        [sys.executable, "-m", "pot.cli", "chain", command, "--state", str(state), *rest, "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        results.append((process.returncode, out, err))
    return results


def all_at_once(state: Path, circuits: Path, calls: list[list[str]]) -> list[tuple[int, str, str]]:
    return finish([start(state, circuits, *call) for call in calls])


def key_path(folder: Path, i: int) -> str:
    """The secret key file of :func:`pubkey` ``(i)`` under ``folder`` (written on first use)."""
    path = folder / f"{i}.key"
    if not path.exists():
        save_secret_key(path, secret(i))
    return str(path)


def assert_consistent(state: Path) -> None:
    with sqlite3.connect(state) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = Store.open(state)
    try:
        assert store.state_root() == store.recompute_state_root()
    finally:
        store.close()


def test_concurrent_requests_and_joins_from_separate_processes_all_land(
        tmp_path: Path, tiny_circuit: Circuit) -> None:
    state = tmp_path / "state.db"
    circuits = tiny_circuit.path.parent
    alloc = [arg for i in range(WRITERS) for arg in ("--alloc", f"{pubkey(i).to_hex()}=1000")]
    assert all_at_once(state, circuits, [["init", "--chain-id", "1", *alloc]])[0][0] == 0

    requests = all_at_once(state, circuits, [
        ["request", *request_args(**{"--key": key_path(tmp_path, 10 + i)})]
        for i in range(WRITERS)])
    assert [rc for rc, _, _ in requests] == [0] * WRITERS, [err for _, _, err in requests]
    jobs = [json.loads(out)["job_id"] for _, out, _ in requests]
    assert len(set(jobs)) == WRITERS

    job = jobs[0]
    joins = all_at_once(state, circuits, [
        ["join", "--job", job, "--key", key_path(tmp_path, i), "--stake", "1000",
         "--dataset-commitment", DATASET_COMMITMENT.to_hex(), "--samples", str(50 + i),
         "--height", "11"]
        for i in range(WRITERS)])
    assert [rc for rc, _, _ in joins] == [0] * WRITERS, [err for _, _, err in joins]

    shown = all_at_once(state, circuits, [["show"], ["show", "--job", job]])
    summary, detail = (json.loads(out) for _, out, _ in shown)
    assert sorted(j["job_id"] for j in summary["jobs"]) == sorted(jobs)
    assert sorted(detail["trainers"]) == sorted(pubkey(i).to_hex() for i in range(WRITERS))
    assert {t["num_samples"] for t in detail["trainers"].values()} == {50 + i for i in range(WRITERS)}
    assert_consistent(state)


def test_one_caller_racing_itself_loses_no_write_silently(tmp_path: Path, tiny_circuit: Circuit) -> None:
    # Without --nonce each process reads the caller's next nonce, then requests with it: two
    # processes may read the same one. The loser must revert with its reason, not vanish.
    state = tmp_path / "state.db"
    circuits = tiny_circuit.path.parent
    assert all_at_once(state, circuits, [["init", "--chain-id", "1"]])[0][0] == 0
    results = all_at_once(state, circuits, [
        ["request", *request_args(**{"--key": key_path(tmp_path, 10), "--rounds": str(i + 1)})]
        for i in range(WRITERS)])
    landed = [json.loads(out)["job_id"] for rc, out, _ in results if rc == 0]
    for rc, _, err in results:
        assert rc == 0 or (rc == 1 and "reverted (NonceReplayError)" in err), err
    assert landed
    store = Store.open(state)
    try:
        assert sorted(j.to_hex() for j in store.job_ids()) == sorted(landed)
        assert store.next_nonce(address_of(pubkey(10))) == len(landed)
    finally:
        store.close()
    assert_consistent(state)
