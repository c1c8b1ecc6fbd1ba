"""`pot simulate`'s split, options and output, without proving."""

from __future__ import annotations

import io

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

from pot import cli
from pot.data import load_dataset, train_test_split
from pot.simulate import DIRICHLET_ALPHA, SimConfig, SimulationError, split_dirichlet


def test_dirichlet_split_is_deterministic_disjoint_and_complete() -> None:
    train, _ = train_test_split(load_dataset("digits"), seed=0)
    a = split_dirichlet(train.y, 4, DIRICHLET_ALPHA, seed=3, min_size=16)
    b = split_dirichlet(train.y, 4, DIRICHLET_ALPHA, seed=3, min_size=16)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    together = np.concatenate(a)
    assert sorted(together.tolist()) == list(range(len(train)))
    assert min(len(part) for part in a) >= 16
    other = split_dirichlet(train.y, 4, DIRICHLET_ALPHA, seed=4, min_size=16)
    assert not np.array_equal(a[0], other[0])
    # non-IID: some trainer's label histogram is far from uniform
    shares = [np.bincount(train.y[p], minlength=10) / len(p) for p in a]
    assert max(float(s.max()) for s in shares) > 0.2


def test_a_split_that_cannot_give_each_trainer_enough_samples_is_refused() -> None:
    with pytest.raises(SimulationError, match="cannot be split among 3 trainers with at least "
                                              "100 samples each"):
        split_dirichlet(np.arange(120) % 10, 3, DIRICHLET_ALPHA, seed=0, min_size=100)


def test_multi_krum_without_enough_updates_is_refused_before_any_work() -> None:
    with pytest.raises(SimulationError, match=r"multi-krum with f = 1 needs n >= 2f \+ 3 = 5 "
                                              r"accepted updates, this job has 4"):
        SimConfig(rule="multi-krum", rule_param=1, trainers=3, poisoners=1, cheaters=1).check()
    SimConfig(rule="multi-krum", rule_param=1, trainers=4, poisoners=1).check()


def test_simulate_refuses_a_bad_data_file_with_exit_2_before_building(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(cli.main, ["simulate", "--data", str(bad), "--out",
                                           str(tmp_path / "run"), "--circuits",
                                           str(tmp_path / "c")])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {bad}: a sample of x has shape (1,), spec 'softmax-digits' "
                             "takes (64,)\n")
    assert not (tmp_path / "c").exists() and not (tmp_path / "run").exists()


def test_plain_reporter_prints_stamped_lines(capsys: pytest.CaptureFixture[str]) -> None:
    ui = cli.PlainReporter()
    ui.phase("round 0: local training")
    ui.trainer("h0", "round 0: training 100 steps")
    ui.progress(1, 12)
    ui.progress(1, 12)  # unchanged: no second line
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "round 0: local training", "  h0: round 0: training 100 steps", "  proofs 1/12"]
    assert all(line.startswith("[") and line.split("]")[0].endswith(" s") for line in lines)


def test_the_report_table_fits_80_columns_without_breaking_words(monkeypatch) -> None:
    report = {
        "job_id": "0x" + "ab" * 32, "circuit_id": "0x" + "cd" * 32, "state_root": "0x" + "ef" * 32,
        "dev_srs": True, "wall_seconds": 500.0, "config": {"poisoners": 1},
        "trainers": {"h0": {"role": "honest"}, "c1": {"role": "cheater"},
                     "p2": {"role": "poisoner"}},
        "centralised": {"accuracy": 0.9, "loss": 0.3, "sgd_steps": 1200},
        "dataset": {"file": "runs/simulate/data/digits.csv", "samples": 1797,
                    "cid": "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"},
        "rounds": [{"round": 0, "accuracy": 0.5, "loss": 1.2, "prove_seconds": 123.4,
                    "verify_seconds": 2.3, "accepted": ["h0", "p2"],
                    "rejected": {"c1": "commitment_mismatch"}, "excluded": ["p2"],
                    "rewards_wei": {"h0": 25 * 10**16, "p2": 25 * 10**16},
                    "slashes_wei": {"c1": 10**18}}],
    }
    buffer = io.StringIO()
    monkeypatch.setattr("rich.console.Console", lambda **kw: Console(file=buffer, width=80))
    cli._print_report(report)
    text = buffer.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "commitment_mismatch" in text  # whole, not folded mid-word
    assert "it does not show that the data is good" in " ".join(text.split())
