"""`pot simulate --data FILE` and `pot data commit` on the same data, with real proofs; the plain
progress and table a pipe gets; Ctrl-C during `pot prove`."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pot.chain.abi import decode_train_request
from pot.chain.fixed_types import Bytes48
from pot.chain.store import Store
from pot.circuit import Circuit
from pot.cli import main
from pot.data import file_cid, load_dataset

pytestmark = pytest.mark.ezkl

TABLE_COLUMNS = 80  # rich's width when stdout is not a terminal


@pytest.fixture(scope="module")
def user_run(tiny_circuit: Circuit, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small job on a user's .npz (digits4x4 scaled by 3/4, on the circuit's grid), run by the
    CLI with stderr and stdout captured (not terminals)."""
    folder = tmp_path_factory.mktemp("user")
    digits = load_dataset("digits4x4")
    data = folder / "mine.npz"
    np.savez(data, x=digits.x[:600] * 0.75, y=digits.y[:600])
    out = folder / "run"
    result = CliRunner().invoke(main, [
        "simulate", "--spec", "mlp-tiny", "--trainers", "2", "--rounds", "1", "--steps", "4",
        "--poisoners", "1", "--data", str(data), "--out", str(out), "--workers", "2",
        "--circuits", str(tiny_circuit.path.parent)])
    assert result.exit_code == 0, result.output
    return {"data": data, "out": out, "stdout": result.stdout, "stderr": result.stderr,
            "report": json.loads((out / "report.json").read_text())}


def test_dataset_ref_is_the_cid_of_the_users_file(user_run: dict) -> None:
    report, data = user_run["report"], user_run["data"]
    assert report["dataset"]["cid"] == file_cid(data)
    assert report["dataset"]["dataset_ref"] == "0x" + hashlib.sha256(data.read_bytes()).hexdigest()
    assert report["dataset"]["samples"] == 600
    store = Store.open(user_run["out"] / "state.db")
    try:
        (job_id,) = store.job_ids()
        job = store.job(job_id)
        assert job is not None
        request = decode_train_request(job.calldata)
        assert "0x" + bytes(request.dataset_ref).hex() == report["dataset"]["dataset_ref"]
    finally:
        store.close()


def test_data_commit_of_a_shard_gives_the_commitment_the_trainer_joined_with(
        user_run: dict, tiny_circuit: Circuit) -> None:
    store = Store.open(user_run["out"] / "state.db")
    try:
        (job_id,) = store.job_ids()
        for name, info in user_run["report"]["trainers"].items():
            result = CliRunner().invoke(main, [
                "data", "commit", str(user_run["out"] / "data" / f"{name}.npz"), "--spec",
                "mlp-tiny", "--circuits", str(tiny_circuit.path.parent), "--json"])
            assert result.exit_code == 0, result.output
            committed = json.loads(result.stdout)
            joined = store.trainer(job_id, Bytes48.from_hex(info["pubkey"]))
            assert joined is not None
            assert committed["dataset_commitment"] == info["dataset_commitment"]
            assert committed["dataset_commitment"] == "0x" + bytes(joined.dataset_commitment).hex()
            assert committed["samples"] == info["samples"]
    finally:
        store.close()


def test_proof_files_use_the_tables_trainer_names(user_run: dict) -> None:
    names = {p.name.split("-")[1] for p in (user_run["out"] / "proofs").glob("*.json")}
    assert names == {"h0", "h1", "p2"}
    assert set(user_run["report"]["trainers"]) == names


def test_a_pipe_gets_plain_progress_lines_and_an_80_column_table(user_run: dict) -> None:
    lines = user_run["stderr"].splitlines()
    assert any(line.endswith("round 0: proving the challenged steps") for line in lines)
    assert any(line.endswith("proofs 3/3") for line in lines)
    assert all(line.startswith("[") and " s] " in line for line in lines)
    table = [line for line in user_run["stdout"].splitlines() if not line.startswith("report: ")]
    assert all(len(line) <= TABLE_COLUMNS for line in table), table
    assert any("p2" in line for line in table)
    assert "it does not show that the data is good" in " ".join(table)


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def test_ctrl_c_stops_a_running_proof_promptly_with_exit_130(tiny_circuit: Circuit,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "step.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pot.cli", "prove", "--spec", "mlp-tiny", "--out", str(out),
         "--circuits", str(tiny_circuit.path.parent)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _children(proc.pid):
        time.sleep(0.2)
    workers = [k for c in _children(proc.pid) for k in [c, *_children(c)]]
    assert workers, "the prover child never started"
    time.sleep(8)  # past spawning and loading: the child is in ezkl's prove
    assert proc.poll() is None, "the proof finished before the interrupt"
    stopped = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert time.monotonic() - stopped < 10
    assert err == "Error: interrupted: the proof was stopped; nothing was written\n"
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))
    def gone(pid: int) -> bool:
        stat = Path(f"/proc/{pid}/stat")
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            return True

    # no prover is left running (multiprocessing's resource tracker may take a moment to see EOF)
    settle = time.monotonic() + 10
    while time.monotonic() < settle and not all(gone(pid) for pid in workers):
        time.sleep(0.2)
    assert all(gone(pid) for pid in workers)
