"""``pot chain``: each command through click's CliRunner, exit codes and messages included.

The CLI is pot's node (:func:`pot.node.node_executor`): jobs train a zoo spec (``mlp-tiny``
here), update commitments are the Poseidon ``commit(W)``, bundles go to the real verifier and
rounds are settled by pot's economics. No circuit is built: the proof path exercised is a bundle
the verifier rejects as unreadable.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from multiformats import CID
from test_chain_support import (
    CALLER,
    CALLER_KEY_INDEX,
    CHAIN_ID,
    DATASET_COMMITMENT,
    PRODUCER_KEY_INDEX,
    TRAJECTORY_ROOT,
    VALIDATOR_KEY_INDEX,
    make_calldata,
    open_job,
    payload_of,
    pubkey,
    secret,
    tiny_hyperparams,
    verdict_table_verifier,
    well_formed_bundle,
)

from pot.chain.fixed_types import U64, Bytes32
from pot.chain.hooks import weights_commitment
from pot.chain.request import compute_job_id
from pot.chain.settler import economics_settle
from pot.chain.store import Store, state_root_of_export
from pot.chain.tx import address_of
from pot.chain_cli import chain, lr_to_q16
from pot.circuit import Circuit
from pot.data import initial_checkpoint
from pot.economics.constants import CHALLENGE_WINDOW_BLOCKS
from pot.protocol.keys import save_secret_key
from pot.spec import load_spec
from pot.tensors import checkpoint_commitment, flatten_params
from pot.verdict import Verdict

MODEL_CID = str(CID("base32", 1, "raw", ("sha2-256", hashlib.sha256(b"model").digest())))
DATASET_CID = str(CID("base32", 1, "raw", ("sha2-256", hashlib.sha256(b"data").digest())))
SPEC = load_spec("mlp-tiny")
PRODUCER = address_of(pubkey(PRODUCER_KEY_INDEX)).to_hex()
_KEY_DIR: list[Path] = []


def key_file(index: int) -> str:
    """The secret key file of :func:`pubkey` ``(index)`` (written on first use, mode 0600)."""
    path = _KEY_DIR[-1] / f"{index}.key"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        save_secret_key(path, secret(index))
    return str(path)
STAKE = 10**18


class Chain:
    """Runs ``pot chain`` commands against one state file."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.runner = CliRunner()
        _KEY_DIR.append(state.parent / "keys")

    def __call__(self, *args: str) -> Result:
        command, *rest = args
        return self.runner.invoke(chain, [command, "--state", str(self.state), *rest])

    def json(self, *args: str) -> dict[str, Any]:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


def request_args(**overrides: str | None) -> list[str]:
    options: dict[str, str | None] = {
        "--key": overrides["--key"] if "--key" in overrides else key_file(CALLER_KEY_INDEX),
        "--height": "10", "--model": MODEL_CID,
        "--dataset": DATASET_CID, "--rounds": "1", "--min-participants": "1",
        "--spec": "mlp-tiny", "-k": "2", "--steps": "8", "--join-blocks": "5",
        "--submit-blocks": "5", "--proof-blocks": "5",
    }
    options.update(overrides)
    return [item for pair in options.items() if pair[1] is not None for item in pair]


@pytest.fixture
def cli(tmp_path: Path, tiny_circuit: Circuit, monkeypatch: pytest.MonkeyPatch) -> Chain:
    # request and submit compute commitments with the spec's circuit under $POT_CIRCUITS
    monkeypatch.setenv("POT_CIRCUITS", str(tiny_circuit.path.parent))
    run = Chain(tmp_path / "state.db")
    result = run(
        "init", "--chain-id", str(CHAIN_ID), "--alloc", f"{CALLER.to_hex()}=5000",
        "--validator", pubkey(VALIDATOR_KEY_INDEX).to_hex(),
        "--alloc", f"{pubkey(0).to_hex()}={2 * STAKE}", "--alloc", f"{pubkey(1).to_hex()}={STAKE}",
    )
    assert result.exit_code == 0, result.output
    return run


def test_init_records_the_genesis_balances(cli: Chain) -> None:
    summary = cli.json("show")
    assert summary["economics"]["supply_wei"] == 5000 + 3 * STAKE
    assert summary["economics"]["accounts"] == {
        CALLER.to_hex(): 5000, pubkey(0).to_hex(): 2 * STAKE, pubkey(1).to_hex(): STAKE,
    }
    bad = Chain(cli.state.parent / "other.db")("init", "--chain-id", "1", "--alloc", "0x12=5")
    assert bad.exit_code == 2 and "is not ACCOUNT=WEI" in bad.output


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


def test_spec_fills_the_hyperparams_and_round_zero_is_its_initial_model(
        cli: Chain, tiny_circuit: Circuit) -> None:
    job = cli.json("request", *request_args(), "--value", "1200")["job_id"]
    detail = cli.json("show", "--job", job)
    hp = detail["request"]["hyperparams"]
    assert (hp["model_spec_id"], hp["param_count"], hp["batch_size"], hp["lr_q16"]) == (
        "0x" + SPEC.spec_id.hex(), 226, 4, 32768,
    )
    w0 = checkpoint_commitment(initial_checkpoint(SPEC), tiny_circuit)
    assert detail["rounds"]["0"]["input_commitment"] == "0x" + w0.hex()
    assert detail["funds"] == {
        "escrow_wei": 1200, "pool_wei": 0, "funded_wei": 1200, "emitted_wei": 0,
    }


def test_request_with_raw_calldata_gives_the_documented_job_id(cli: Chain) -> None:
    calldata = make_calldata(**tiny_hyperparams())
    out = cli.json(
        "request", "--key", key_file(CALLER_KEY_INDEX), "--height", "10", "--calldata",
        "0x" + calldata.hex(),
    )
    assert out["job_id"] == compute_job_id(U64(CHAIN_ID), CALLER, U64(0), calldata).to_hex()
    assert out["gas_used"] == 30_000 + 12 * len(calldata)


def test_a_request_that_does_not_match_its_spec_reverts(cli: Chain) -> None:
    result = cli(
        "request", *request_args(**{"--spec": None}), "--model-spec-id",
        "0x" + SPEC.spec_id.hex(), "--param-count", "4", "--lr", "0.5", "--batch-size", "4",
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: reverted (HyperparamsError): no round-0 model for this request: hyperparams do "
        "not match spec 'mlp-tiny': param_count 4 != 226\n"
    )


def test_replayed_nonce_exits_1_with_the_named_error(cli: Chain) -> None:
    assert cli("request", *request_args()).exit_code == 0
    result = cli("request", *request_args(), "--nonce", "0")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: reverted (NonceReplayError): nonce 0 of {CALLER.to_hex()} was already used; "
        "next is 1\n"
    )


def test_escrow_beyond_the_balance_reverts(cli: Chain) -> None:
    result = cli("request", *request_args(), "--value", "5001")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: reverted (InsufficientBalanceError): the request's escrow needs 5001 wei; "
        f"{CALLER.to_hex()} holds 5000\n"
    )


def test_out_of_gas_exits_1(cli: Chain) -> None:
    result = cli("request", *request_args(), "--gas-limit", "100")
    assert result.exit_code == 1
    assert "reverted (OutOfGasError): out of gas: the call needs 33456 gas" in result.output


def test_usage_errors_exit_2(cli: Chain) -> None:
    no_key = cli("request", *request_args(**{"--key": str(cli.state.parent / "none.key")}))
    assert no_key.exit_code == 2 and "Invalid value for --key: no key file at" in no_key.output
    for text in ("0X00", "00", "0xAB", "0x0", "0xzz"):
        loose = cli("request", "--key", key_file(CALLER_KEY_INDEX), "--height", "10",
                    "--calldata", text)
        assert loose.exit_code == 2, text
        assert "is not 0x followed by an even number of lower-case hex digits" in loose.output
    bad_cid = cli("request", *request_args(**{"--model": "nonsense"}))
    assert bad_cid.exit_code == 2 and "not a CID" in bad_cid.output
    missing = cli("request", "--key", key_file(CALLER_KEY_INDEX), "--height", "1", "--rounds", "1")
    assert missing.exit_code == 2
    assert "missing request options: --model, --dataset, --min-participants" in missing.output
    both = cli("request", *request_args(), "--calldata", "0x00")
    assert both.exit_code == 2 and "--calldata replaces the request options" in both.output
    zero_lr = cli(
        "request", *request_args(**{"--spec": None}), "--lr", "0.000001", "--model-spec-id",
        "0x" + SPEC.spec_id.hex(), "--param-count", "226",
    )
    assert zero_lr.exit_code == 2 and "not a multiple of 2**-16" in zero_lr.output
    spec_and_lr = cli("request", *request_args(), "--lr", "0.5")
    assert spec_and_lr.exit_code == 2 and "--spec fills --lr; give one or the other" in (
        spec_and_lr.output
    )
    unknown = cli("request", *request_args(**{"--spec": "resnet"}))
    assert unknown.exit_code == 2 and "unknown model spec 'resnet'; the zoo has: cnn-digits, " in (
        unknown.output
    )


def test_learning_rate_obeys_the_one_q16_rule() -> None:
    # The rule spec validation (setup, prove) and the node apply: exact Q16, never rounded.
    assert lr_to_q16("1") == 65536
    assert lr_to_q16("0.0078125") == 512
    for bad in ("0.01", "1/3", "0.1"):
        with pytest.raises(click.BadParameter, match=r"multiple of 2|not a decimal"):
            lr_to_q16(bad)


def test_missing_state_file_exits_1(tmp_path: Path) -> None:
    result = Chain(tmp_path / "none.db")("show")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: no state file at {tmp_path / 'none.db'}; create one with `pot chain init`\n"
    )


def test_full_job_through_the_cli_slashes_refunds_and_shows_every_payment(
    cli: Chain, tmp_path: Path, tiny_circuit: Circuit
) -> None:
    job = cli.json("request", *request_args(), "--value", "3000")["job_id"]
    emitted = cli.json("emit", "--producer", PRODUCER, "--reward", "100000", "--height", "10")
    # 5 % of 100000 = 5000 to the only funded job; the producer keeps 95000.
    assert emitted["producer_wei"] == 95_000 and emitted["job_shares_wei"] == {job: 5000}
    cli.json("fund", "--job", job, "--key", key_file(CALLER_KEY_INDEX), "--amount", "1000",
             "--height", "11")
    keys = [pubkey(0).to_hex(), pubkey(1).to_hex()]
    for i in range(len(keys)):
        cli.json(
            "join", "--job", job, "--key", key_file(i), "--stake", str(STAKE),
            "--dataset-commitment", DATASET_COMMITMENT.to_hex(), "--samples", "50",
            "--height", "12",
        )
    payload = flatten_params(initial_checkpoint(SPEC), SPEC).astype("<i8").tobytes()
    (tmp_path / "w.i64").write_bytes(payload)
    for i in range(len(keys)):
        submitted = cli.json(
            "submit", "--job", job, "--round", "0", "--key", key_file(i), "--root",
            TRAJECTORY_ROOT.to_hex(), "--steps", "8", "--payload", str(tmp_path / "w.i64"),
            "--height", "15",
        )
        w0 = checkpoint_commitment(initial_checkpoint(SPEC), tiny_circuit)
        assert submitted["update_commitment"] == "0x" + w0.hex()
    cli.json("reveal", "--key", key_file(VALIDATOR_KEY_INDEX), "--height", "21")
    (tmp_path / "bundle.json").write_text("{}")
    proof = cli.json(
        "prove-submit", "--job", job, "--round", "0", "--key", key_file(0), "--bundle",
        str(tmp_path / "bundle.json"), "--height", "21", "--circuits", str(tmp_path / "none"),
    )
    assert (proof["verdict"], proof["reason"], proof["verified_samples"]) == (
        "rejected", "malformed", 0,
    )
    final = cli.json("finalize", "--key", key_file(CALLER_KEY_INDEX), "--job", job, "--round",
                     "0", "--height", "26")
    assert (final["outcome"], final["accepted"], final["job_status"]) == ("failed", 0, "failed")
    slash = STAKE // 10
    assert final["settlement"] == {
        "pool_wei": 5000, "escrow_draw_wei": 0, "carry_wei": 5000, "rewards": {},
        "slashes": {keys[0]: slash, keys[1]: slash},
        "close": {
            "stakes_returned": {keys[0]: STAKE - slash, keys[1]: STAKE - slash},
            "escrow_refund_wei": 4000, "pool_to_training_pool_wei": 5000,
        },
    }

    summary = cli.json("show")
    assert summary["jobs"] == [{
        "job_id": job, "status": "failed", "current_round": 0, "escrow_wei": 0, "pool_wei": 0,
    }]
    assert summary["state_root"] == final["state_root"]
    assert summary["economics"]["accounts"] == {
        PRODUCER: 95_000, CALLER.to_hex(): 5000, keys[0]: 2 * STAKE - slash,
        keys[1]: STAKE - slash,
    }
    assert summary["economics"]["training_pool_carry_wei"] == 5000
    detail = cli.json("show", "--job", job)
    assert detail["slashes"]["0"][keys[1]] == {
        "offence": "missed_deadline", "amount_wei": slash, "slash_height": 26,
        "release_height": 26 + CHALLENGE_WINDOW_BLOCKS, "status": "pending",
    }
    assert detail["slashes"]["0"][keys[0]]["offence"] == "invalid_proof"
    assert detail["rounds"]["0"]["settlement"] == final["settlement"]

    # Appeals: the real verifier finds the same bundle unreadable again; a missed deadline and a
    # failed round leave nothing to re-verify. Each reverts with its error and changes nothing.
    (tmp_path / "other.json").write_text("[]")
    claim_args = ["--job", job, "--round", "0", "--height", "27", "--circuits",
                  str(tmp_path / "none")]
    mismatch = cli("appeal", *claim_args, "--key", key_file(0), "--bundle",
                   str(tmp_path / "other.json"))
    assert mismatch.exit_code == 1 and "reverted (BundleMismatchError)" in mismatch.output
    again = cli("appeal", *claim_args, "--key", key_file(0), "--bundle",
                str(tmp_path / "bundle.json"))
    assert again.exit_code == 1
    assert again.output == (
        f"Error: reverted (AppealRejectedError): the verifier rejects the bundle of {keys[0]} in "
        "round 0 again (malformed); the slash stands\n"
    )
    missed = cli("appeal", *claim_args, "--key", key_file(1), "--bundle",
                 str(tmp_path / "bundle.json"))
    assert missed.exit_code == 1 and "reverted (NotAppealableError)" in missed.output
    failed = cli("prove-fraud", *claim_args, "--trainer", keys[0], "--bundle",
                 str(tmp_path / "bundle.json"), "--key", key_file(PRODUCER_KEY_INDEX))
    assert failed.exit_code == 1
    assert f"reverted (NotFinalizedError): round 0 of job {job} is failed" in failed.output
    assert cli.json("show")["state_root"] == final["state_root"]

    early = cli("release", "--key", key_file(CALLER_KEY_INDEX), "--job", job, "--round", "0",
                "--trainer", keys[0], "--height", "27")
    assert early.exit_code == 1 and "reverted (ChallengeWindowError)" in early.output
    released = str(26 + CHALLENGE_WINDOW_BLOCKS)
    for key in keys:
        cli.json("release", "--key", key_file(CALLER_KEY_INDEX), "--job", job, "--round", "0",
                 "--trainer", key, "--height", released)
    text = cli("show")
    assert text.exit_code == 0
    assert f"insurance_fund_wei {2 * slash}" in text.stdout
    assert f"job {job} failed round 0 escrow 0 pool 0" in text.stdout
    assert f"account {PRODUCER} 95000" in text.stdout

    exported = cli("export", str(tmp_path / "state.json"))
    assert exported.exit_code == 0, exported.output
    export = json.loads((tmp_path / "state.json").read_text())
    assert state_root_of_export(export).to_hex() == cli.json("show")["state_root"]
    replica = Chain(tmp_path / "replica.db")
    imported = replica.json("import", str(tmp_path / "state.json"))
    assert imported["state_root"] == cli.json("show")["state_root"]


def library_state_with_an_escape(path: Path) -> tuple[str, list[str], int]:
    """A state built through the library executor for the CLI to act on; returns the job id,
    the trainer keys and the height of the last call.

    A one-round ``mlp-tiny`` job (so that pot's node can judge its bundles) settled by pot's
    economics. A verdict table rejects trainer 0 and accepts trainers 1 and 2, whose bundle is
    the six bytes ``bundle``; trainer 3 never proves. Trainer 3's slash is released, so the
    insurance fund holds it.
    """
    table = {
        (0, bytes(pubkey(0))): Verdict(False, "proof_invalid", 0),
        (0, bytes(pubkey(1))): Verdict(True, "ok", 30),
        (0, bytes(pubkey(2))): Verdict(True, "ok", 10),
    }
    s = open_job(
        path, trainers=4, verify=verdict_table_verifier(table), escrow=4000,
        executor_kwargs={"settle": economics_settle}, total_rounds=1, min_participants=1,
        **tiny_hyperparams(),
    )
    s.height = s.round_heights(0)[0]
    for i, key in enumerate(s.trainers):
        payload = payload_of([i] * SPEC.n_params)
        s.executor.submit(
            s.job_id, 0, key, TRAJECTORY_ROOT, 8, weights_commitment(payload), payload, s.height
        )
    s.reveal(0)
    s.prove_all(0, s.trainers[:3])
    s.executor.finalize_round(s.job_id, 0, s.after_proof_deadline(0))
    slash = s.store.slash(s.job_id, U64(0), pubkey(3))
    assert slash is not None
    s.executor.release_slash(s.job_id, 0, pubkey(3), int(slash.release_height))
    s.store.close()
    return s.job_id.to_hex(), [k.to_hex() for k in s.trainers], int(slash.release_height)


def test_prove_fraud_with_the_real_verifier_pays_and_show_lists_slashes_and_claims(
    tmp_path: Path,
) -> None:
    run = Chain(tmp_path / "state.db")
    job, keys, height = library_state_with_an_escape(run.state)
    (tmp_path / "bundle").write_bytes(b"bundle")  # accepted by the table; not a bundle at all
    args = ["--job", job, "--round", "0", "--bundle", str(tmp_path / "bundle"), "--height",
            str(height), "--circuits", str(tmp_path / "none")]
    before = run.json("show")
    assert before["economics"]["insurance_fund_wei"] == STAKE // 10

    out = run.json("prove-fraud", *args, "--trainer", keys[1], "--key",
                  key_file(PRODUCER_KEY_INDEX))
    # round 0 draws all 4000 wei, split 30 : 10; the fund pays min(3000, 10 % stake / 2).
    assert out == {
        "kind": "fraud", "claimant": PRODUCER, "reason": "malformed", "verified_samples": 0,
        "claim_wei": 3000, "paid_wei": 3000, "payee": CALLER.to_hex(), "credited_to": "balance",
        "height": height, "slash_offence": "fraud", "slash_wei": 0, "slash_status": "pending",
        "release_height": height + CHALLENGE_WINDOW_BLOCKS, "state_root": out["state_root"],
    }
    again = run("prove-fraud", *args, "--trainer", keys[1], "--key",
                  key_file(PRODUCER_KEY_INDEX))
    assert again.exit_code == 1 and "reverted (AlreadyClaimedError)" in again.output
    late = run("appeal", *args, "--key", key_file(0))  # its slash and trainer 3's are as old
    assert late.exit_code == 1
    assert late.output.endswith(
        f"open to appeal until height {height - 1}; the call is at {height}\n"
    )
    bad = run("prove-fraud", *args, "--trainer", "0x12", "--key", key_file(PRODUCER_KEY_INDEX))
    assert bad.exit_code == 2 and "'0x12' is not 0x followed by 96 hex digits" in bad.output

    summary = run.json("show")
    assert summary["economics"]["insurance_fund_wei"] == STAKE // 10 - 3000
    slash = STAKE // 10
    assert summary["slashes"] == {
        "pending": {"count": 2, "wei": slash}, "released": {"count": 1, "wei": slash},
        "voided": {"count": 0, "wei": 0},
    }
    assert summary["claims"] == [{
        "job_id": job, "round": 0, "trainer": keys[1], "kind": "fraud", "claimant": PRODUCER,
        "reason": "malformed", "verified_samples": 0, "claim_wei": 3000, "paid_wei": 3000,
        "payee": CALLER.to_hex(), "credited_to": "balance", "height": height,
    }]
    text = run("show").stdout
    assert f"insurance_fund_wei {slash - 3000}\n" in text
    assert f"slashes pending 2 wei {slash}\nslashes released 1 wei {slash}\n" in text
    assert "slashes voided 0 wei 0\n" in text
    assert (
        f"fraud job {job} round 0 trainer {keys[1]} paid 3000 of 3000 to {CALLER.to_hex()} "
        "balance\n"
    ) in text
    detail = run.json("show", "--job", job)
    assert detail["claims"]["0"][keys[1]]["paid_wei"] == 3000
    assert detail["slashes"]["0"][keys[1]]["offence"] == "fraud"


def test_prove_submit_on_a_node_without_the_circuit_reverts(cli: Chain, tmp_path: Path) -> None:
    job = cli.json("request", *request_args())["job_id"]
    cli.json(
        "join", "--job", job, "--key", key_file(0), "--stake", "1", "--dataset-commitment",
        DATASET_COMMITMENT.to_hex(), "--samples", "50", "--height", "11",
    )
    (tmp_path / "w.i64").write_bytes(
        flatten_params(initial_checkpoint(SPEC), SPEC).astype("<i8").tobytes()
    )
    cli.json(
        "submit", "--job", job, "--round", "0", "--key", key_file(0), "--root",
        TRAJECTORY_ROOT.to_hex(), "--steps", "8", "--payload", str(tmp_path / "w.i64"),
        "--height", "15",
    )
    cli.json("reveal", "--key", key_file(VALIDATOR_KEY_INDEX), "--height", "21")
    bundle = well_formed_bundle(bytes.fromhex(job[2:]), bytes(pubkey(0)))
    (tmp_path / "bundle.json").write_bytes(bundle)
    root = cli.json("show")["state_root"]
    result = cli(
        "prove-submit", "--job", job, "--round", "0", "--key", key_file(0), "--bundle",
        str(tmp_path / "bundle.json"), "--height", "21", "--circuits", str(tmp_path / "empty"),
    )
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: reverted (NoVerifierError): this node cannot judge the job: no circuit for spec "
        "'mlp-tiny' under "
    )
    assert cli.json("show")["state_root"] == root


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


def test_a_fifo_bundle_is_refused_not_waited_on(tmp_path: Path) -> None:
    # prove-submit (and pot verify's reader) used to open a FIFO nobody writes to and wait forever.
    import os
    import subprocess
    import sys

    from pot.errors import MalformedInputError
    from pot.jsonio import read_json_limited

    fifo = tmp_path / "bundle.fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(MalformedInputError, match="is a FIFO or socket, not a file"):
        read_json_limited(fifo, 4096)
    state, key = tmp_path / "state.db", tmp_path / "trainer.key"
    save_secret_key(key, secret(0))
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    base = [sys.executable, "-m", "pot.cli", "chain"]
    subprocess.run([*base, "init", "--state", str(state), "--chain-id", "1"],
                   env={**os.environ, **env}, check=True, capture_output=True, timeout=120)
    result = subprocess.run(
        [*base, "prove-submit", "--state", str(state), "--key", str(key), "--job",
         "0x" + "11" * 32, "--round", "0", "--bundle", str(fifo), "--height", "21"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "is a FIFO or socket, not a file" in result.stderr
