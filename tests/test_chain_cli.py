"""``pot chain``: each command through click's CliRunner, exit codes and messages included."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from multiformats import CID
from test_chain_support import (
    CALLER,
    CHAIN_ID,
    DATASET_COMMITMENT,
    TRAJECTORY_ROOT,
    accept_all,
    make_calldata,
    payload_of,
    pubkey,
)

from pot.chain.cli import chain, lr_to_q16
from pot.chain.fixed_types import U64, Bytes32
from pot.chain.hooks import Verifier, weights_commitment
from pot.chain.request import compute_job_id
from pot.chain.store import Store, state_root_of_export

MODEL_CID = str(CID("base32", 1, "raw", ("sha2-256", hashlib.sha256(b"model").digest())))
DATASET_CID = str(CID("base32", 1, "raw", ("sha2-256", hashlib.sha256(b"data").digest())))
SPEC = "0x" + "03" * 32


class Chain:
    """Runs ``pot chain`` commands against one state file."""

    def __init__(self, state: Path, verify: Verifier | None = None) -> None:
        self.state = state
        self.runner = CliRunner()
        self.obj: dict[str, Any] = {} if verify is None else {"verify": verify}

    def __call__(self, *args: str) -> Result:
        command, *rest = args
        return self.runner.invoke(
            chain, [command, "--state", str(self.state), *rest], obj=self.obj
        )

    def json(self, *args: str) -> dict[str, Any]:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


def request_args(**overrides: str) -> list[str]:
    options = {
        "--caller": CALLER.to_hex(), "--height": "10", "--model": MODEL_CID,
        "--dataset": DATASET_CID, "--rounds": "1", "--min-participants": "1", "--lr": "0.01",
        "-k": "2", "--steps": "8", "--model-spec-id": SPEC, "--param-count": "4",
        "--join-blocks": "5", "--submit-blocks": "5", "--proof-blocks": "5",
    }
    options.update(overrides)
    return [item for pair in options.items() for item in pair]


@pytest.fixture
def cli(tmp_path: Path) -> Chain:
    run = Chain(tmp_path / "state.db", verify=accept_all(12))
    assert run("init", "--chain-id", str(CHAIN_ID)).exit_code == 0
    return run


def test_request_prints_job_id_and_gas(cli: Chain) -> None:
    result = cli("request", *request_args())
    assert result.exit_code == 0, result.output
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["gas_used"] == str(30_000 + 12 * 288)
    store = Store.open(cli.state)
    assert store.job_ids()[0].to_hex() == lines["job_id"]
    job = store.job(store.job_ids()[0])
    assert job is not None
    assert bytes(job.calldata[:32]) == hashlib.sha256(b"model").digest()


def test_request_with_raw_calldata_gives_the_documented_job_id(cli: Chain) -> None:
    calldata = make_calldata()
    out = cli.json(
        "request", "--caller", CALLER.to_hex(), "--height", "10", "--calldata",
        "0x" + calldata.hex(),
    )
    assert out["job_id"] == compute_job_id(U64(CHAIN_ID), CALLER, U64(0), calldata).to_hex()
    assert out["gas_used"] == 30_000 + 12 * len(calldata)


def test_replayed_nonce_exits_1_with_the_named_error(cli: Chain) -> None:
    assert cli("request", *request_args()).exit_code == 0
    result = cli("request", *request_args(), "--nonce", "0")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: reverted (NonceReplayError): nonce 0 of {CALLER.to_hex()} was already used; "
        "next is 1\n"
    )


def test_out_of_gas_exits_1(cli: Chain) -> None:
    result = cli("request", *request_args(), "--gas-limit", "100")
    assert result.exit_code == 1
    assert "reverted (OutOfGasError): out of gas: the call needs 33456 gas" in result.output


def test_usage_errors_exit_2(cli: Chain) -> None:
    bad_hex = cli("request", *request_args(**{"--caller": "0x12"}))
    assert bad_hex.exit_code == 2
    assert "'0x12' is not 0x followed by 40 hex digits" in bad_hex.output
    bad_cid = cli("request", *request_args(**{"--model": "nonsense"}))
    assert bad_cid.exit_code == 2 and "not a CID" in bad_cid.output
    missing = cli("request", "--caller", CALLER.to_hex(), "--height", "1", "--rounds", "1")
    assert missing.exit_code == 2
    assert "missing request options: --model, --dataset, --min-participants" in missing.output
    both = cli("request", *request_args(), "--calldata", "0x00")
    assert both.exit_code == 2 and "--calldata replaces the request options" in both.output
    zero_lr = cli("request", *request_args(**{"--lr": "0.000001"}))
    assert zero_lr.exit_code == 2 and "must be in [1, 2**32)" in zero_lr.output


def test_learning_rate_rounds_to_nearest_q16() -> None:
    assert lr_to_q16("0.01") == 655  # 655.36
    assert lr_to_q16("1") == 65536
    assert lr_to_q16("1/3") == 21845  # 21845.33


def test_missing_state_file_exits_1(tmp_path: Path) -> None:
    result = Chain(tmp_path / "none.db")("show")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: no state file at {tmp_path / 'none.db'}; create one with `pot chain init`\n"
    )


def test_full_job_through_the_cli(cli: Chain, tmp_path: Path) -> None:
    job = cli.json("request", *request_args())["job_id"]
    key = pubkey(0).to_hex()
    cli.json(
        "join", "--job", job, "--pubkey", key, "--stake", "1000",
        "--dataset-commitment", DATASET_COMMITMENT.to_hex(), "--samples", "50", "--height", "11",
    )
    payload = payload_of([1, -2, 3, -4])
    (tmp_path / "w.i64").write_bytes(payload)
    submitted = cli.json(
        "submit", "--job", job, "--round", "0", "--trainer", key, "--root",
        TRAJECTORY_ROOT.to_hex(), "--steps", "8", "--payload", str(tmp_path / "w.i64"),
        "--height", "15",
    )
    assert submitted["update_commitment"] == weights_commitment(payload).to_hex()
    cli.json("beacon", "--job", job, "--round", "0", "--value", "0x" + "06" * 32, "--height", "21")
    (tmp_path / "bundle.json").write_text("{}")
    proof = cli.json(
        "prove-submit", "--job", job, "--round", "0", "--trainer", key, "--bundle",
        str(tmp_path / "bundle.json"), "--height", "21",
    )
    assert (proof["verdict"], proof["reason"], proof["verified_samples"]) == ("accepted", "ok", 12)
    final = cli.json("finalize", "--job", job, "--round", "0", "--height", "22")
    assert (final["outcome"], final["accepted"], final["job_status"]) == (
        "finalized", 1, "completed",
    )
    assert final["global_commitment"] == weights_commitment(payload).to_hex()

    summary = cli.json("show")
    assert summary["jobs"] == [{"job_id": job, "status": "completed", "current_round": 0}]
    assert summary["state_root"] == final["state_root"]
    detail = cli.json(
        "show", "--job", job, "--round", "0", "--model-out", str(tmp_path / "g.i64")
    )
    assert (tmp_path / "g.i64").read_bytes() == payload
    assert detail["request"]["hyperparams"]["lr_q16"] == 655
    assert detail["request"]["hyperparams"]["aggregation_rule"] == "fedavg"
    assert detail["trainers"][key]["num_samples"] == 50

    text = cli("show")
    assert text.exit_code == 0
    assert f"job {job} completed round 0" in text.stdout

    exported = cli("export", str(tmp_path / "state.json"))
    assert exported.exit_code == 0, exported.output
    export = json.loads((tmp_path / "state.json").read_text())
    assert state_root_of_export(export).to_hex() == final["state_root"]
    replica = Chain(tmp_path / "replica.db")
    imported = replica.json("import", str(tmp_path / "state.json"))
    assert imported["state_root"] == final["state_root"]


def test_prove_submit_without_a_verifier_reverts(cli: Chain, tmp_path: Path) -> None:
    job = cli.json("request", *request_args())["job_id"]
    (tmp_path / "bundle.json").write_text("{}")
    bare = Chain(cli.state)
    result = bare(
        "prove-submit", "--job", job, "--round", "0", "--trainer", pubkey(0).to_hex(),
        "--bundle", str(tmp_path / "bundle.json"), "--height", "21",
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: reverted (NoVerifierError): this executor has no")


def test_unknown_job_reverts_in_show(cli: Chain) -> None:
    result = cli("show", "--job", Bytes32(b"\x09" * 32).to_hex())
    assert result.exit_code == 1
    assert result.output == f"Error: reverted (UnknownJobError): no job 0x{'09' * 32}\n"


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    for name in chain.list_commands(None):  # type: ignore[arg-type]
        result = runner.invoke(chain, [name, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output, name
