"""`pot simulate` end to end on real data with real proofs, and its resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pot.circuit import Circuit
from pot.executors import LocalProcessExecutor
from pot.simulate import SimConfig, Simulation, SimulationError

pytestmark = pytest.mark.ezkl

SMALL = SimConfig(spec="mlp-tiny", trainers=2, rounds=1, steps=4, samples=1, cheaters=1, seed=7)


@pytest.fixture(scope="module")
def small_run(tiny_circuit: Circuit, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("sim")
    report = Simulation(SMALL, out, tiny_circuit.path.parent, executor=LocalProcessExecutor(2)).run()
    return {"out": out, "report": report}


def test_cheater_is_rejected_and_honest_trainers_accepted(small_run: dict) -> None:
    (rnd,) = small_run["report"]["rounds"]
    assert rnd["outcome"] == "finalized"
    assert sorted(rnd["accepted"]) == ["h0", "h1"]
    assert rnd["rejected"] == {"c2": "commitment_mismatch"}


def test_report_and_plot_are_written(small_run: dict) -> None:
    out: Path = small_run["out"]
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == json.loads(json.dumps(small_run["report"], sort_keys=True))
    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert 0.0 <= on_disk["rounds"][0]["accuracy"] <= 1.0


def test_a_second_run_in_the_same_folder_needs_resume(small_run: dict, tiny_circuit: Circuit) -> None:
    with pytest.raises(SimulationError, match="pass --resume"):
        Simulation(SMALL, small_run["out"], tiny_circuit.path.parent).run()


def test_resume_after_kill_repeats_no_finished_proof(tiny_circuit: Circuit, tmp_path: Path,
                                                     small_run: dict) -> None:
    out = tmp_path / "run"
    args = [sys.executable, "-m", "pot.cli", "simulate", "--spec", "mlp-tiny", "--trainers", "2",
            "--rounds", "1", "--steps", "4", "--samples", "1", "--cheaters", "1", "--seed", "7",
            "--workers", "1", "--out", str(out), "--circuits", str(tiny_circuit.path.parent),
            "--json"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    proofs = out / "proofs"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not (proofs.exists() and any(proofs.glob("*.json"))):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in proofs.glob("*.json")}
    assert finished, "the run was killed before its first proof finished"

    result = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    for name, mtime in finished.items():
        assert (proofs / name).stat().st_mtime_ns == mtime, f"{name} was proven again"
    # The resumed run reaches the same outcome as the uninterrupted one: the same verdicts, the
    # same aggregate (bit for bit), the same payments. (State roots differ: they cover the
    # bundles' hashes, and ezkl proofs are randomised.)
    timing = ("prove_seconds", "verify_seconds")
    strip = [{k: v for k, v in r.items() if k not in timing} for r in report["rounds"]]
    want = [{k: v for k, v in r.items() if k not in timing} for r in small_run["report"]["rounds"]]
    assert strip == want
    assert strip[0]["global_commitment"]
    assert report["rounds"][0]["rejected"] == {"c2": "commitment_mismatch"}
