"""``pot spec check/show/add`` and ``pot setup``'s refusal of a circuit that would not fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pot.cli import main
from pot.spec import load_spec

BIG = {"version": "pot.spec/2", "name": "mlp-784", "input_shape": [784],
       "layers": [{"type": "linear", "out_features": 32}, {"type": "relu"},
                  {"type": "linear", "out_features": 10}],
       "loss": "softmax_cross_entropy", "optimizer": {"type": "sgd", "learning_rate": "0.5"},
       "batch_size": 16, "scale": 13, "init_seed": 0, "dataset": "digits"}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_spec_check_prints_the_id(tmp_path: Path) -> None:
    result = run("spec", "check", "mlp-tiny", "--json")
    assert result.exit_code == 0
    out = json.loads(result.output)
    assert out["spec_id"] == load_spec("mlp-tiny").spec_id_hex and out["ok"] is True


def test_spec_check_missing_file_says_no_such_file_and_exits_2(tmp_path: Path) -> None:
    result = run("spec", "check", str(tmp_path / "mine.json"))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: no such file: {tmp_path / 'mine.json'}"]


def test_bad_spec_exits_2_with_one_line_and_json_on_stdout(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**BIG, "layers": [{"type": "tanh"}]}))
    result = CliRunner().invoke(main, ["spec", "check", str(path), "--json"])
    assert result.exit_code == 2
    first = json.loads(result.stdout.splitlines()[0])
    assert first["exit_code"] == 2 and "unsupported layer 'tanh'" in first["error"]["message"]
    plain = CliRunner().invoke(main, ["spec", "check", str(path)])
    assert plain.exit_code == 2 and len(plain.output.strip().splitlines()) == 1


def test_spec_show_predicts_rows_and_costs() -> None:
    result = run("spec", "show", "mlp-digits", "--json")
    assert result.exit_code == 0
    info = json.loads(result.output)
    pred = info["prediction"]
    assert pred["predicted"] is True and pred["params"] == 2410 and pred["logrows"] == 17
    assert abs(pred["rows"] / 123_645 - 1) < 0.1  # ezkl's exact count (docs/performance.md)
    assert [layer["type"] for layer in info["layers"]] == ["linear", "relu", "linear"]
    text = run("spec", "show", "mlp-digits").output
    assert "predicted" in text and "parameters 2,410" in text


def test_setup_refuses_a_circuit_that_will_not_fit_before_any_work(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(BIG))
    circuits = tmp_path / "circuits"
    result = CliRunner().invoke(main, ["setup", "--spec", str(path), "--circuits", str(circuits)])
    assert result.exit_code == 1
    assert "will not fit" in result.output and "25,450 parameters" in result.output
    assert "logrows 20" in result.output and "peak RSS" in result.output
    assert not circuits.exists()  # no half-built folder


def test_spec_add_stores_by_id(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(BIG))
    store = tmp_path / "store"
    result = run("spec", "add", str(path), "--store", str(store), "--json")
    assert result.exit_code == 0
    spec_id = json.loads(result.output)["spec_id"]
    assert (store / f"{spec_id}.json").is_file()


def test_chain_request_with_a_user_spec_file_stores_it_and_the_node_finds_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No circuit is built here: the node finds the user's spec in the store (not "not in the
    # zoo", as before), then reverts the request because it has no circuit for it yet.
    from test_chain_support import pubkey, secret

    from pot.chain.tx import address_of
    from pot.chain_cli import chain
    from pot.protocol.keys import save_secret_key

    monkeypatch.setenv("POT_SPECS", str(tmp_path / "specs"))
    monkeypatch.setenv("POT_CIRCUITS", str(tmp_path / "circuits"))
    obj = {**load_spec("mlp-tiny").to_json(), "name": "mine"}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(obj))
    state = str(tmp_path / "state.db")
    runner = CliRunner()
    key = tmp_path / "caller.key"
    save_secret_key(key, secret(0))
    caller = address_of(pubkey(0)).to_hex()
    assert runner.invoke(chain, ["init", "--state", state, "--chain-id", "1", "--alloc",
                                 f"{caller}=5000"]).exit_code == 0
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    result = runner.invoke(chain, [
        "request", "--state", state, "--key", str(key), "--height", "10", "--model", cid,
        "--dataset", cid, "--rounds", "1", "--min-participants", "1", "--spec", str(path),
        "-k", "2", "--steps", "8"])
    spec = load_spec(path)
    assert (tmp_path / "specs" / f"{spec.spec_id_hex}.json").is_file()
    assert result.exit_code != 0 and "no circuit for spec 'mine'" in result.output, result.output
    bad_lr = tmp_path / "lr.json"
    bad_lr.write_text(json.dumps({**obj, "optimizer": {"type": "sgd", "learning_rate": "0.1"}}))
    refused = runner.invoke(chain, ["request", "--state", state, "--key", str(key), "--height",
                                    "10", "--spec", str(bad_lr)])
    assert refused.exit_code == 2 and "not a multiple of 2**-16" in refused.output
