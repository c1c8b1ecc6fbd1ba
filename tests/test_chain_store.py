"""The state file: roots after every call, JSON export and import, and two writers at once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from test_chain_support import CALLER, CHAIN_ID, Scenario, open_job, pubkey

from pot.chain.errors import StateError
from pot.chain.executor import Executor
from pot.chain.fixed_types import U64
from pot.chain.store import Store, state_root_of_export
from pot.chain.tx import address_of
from pot.jsonio import canonical_json

ROOT = Path(__file__).resolve().parents[1]


def played(path: Path) -> tuple[Scenario, list[str]]:
    """Play two rounds of a job; return the scenario and the root after each call."""
    s = open_job(path)
    roots = [s.store.state_root().to_hex()]
    for number in (0, 1):
        s.submit_all(number)
        s.reveal(number)
        s.prove_all(number)
        s.executor.finalize_round(s.job_id, number, s.height)
        roots.append(s.store.state_root().to_hex())
    return s, roots


def test_stored_root_equals_root_recomputed_from_the_export_after_every_call(
    tmp_path: Path,
) -> None:
    s = open_job(tmp_path / "state.db")

    def check() -> None:
        assert s.store.state_root() == s.store.recompute_state_root()

    check()
    s.submit_all(0)
    check()
    s.reveal(0)
    check()
    s.prove_all(0)
    check()
    s.executor.finalize_round(s.job_id, 0, s.height)
    check()


def test_every_committed_call_changes_the_root(tmp_path: Path) -> None:
    _, roots = played(tmp_path / "state.db")
    assert len(set(roots)) == len(roots)


def test_same_calls_give_the_same_root_on_two_files(tmp_path: Path) -> None:
    first, _ = played(tmp_path / "a.db")
    second, _ = played(tmp_path / "b.db")
    assert first.store.state_root() == second.store.state_root()
    assert canonical_json(first.store.export()) == canonical_json(second.store.export())


def test_export_import_round_trip_keeps_state_and_root(tmp_path: Path) -> None:
    s, _ = played(tmp_path / "state.db")
    export = json.loads(json.dumps(s.store.export()))
    copy = Store.import_state(tmp_path / "copy.db", export)
    assert copy.export() == s.store.export()
    assert copy.state_root() == s.store.state_root()
    assert state_root_of_export(export) == s.store.state_root()


def test_root_ignores_blobs_but_binds_them_through_commitments(tmp_path: Path) -> None:
    s, _ = played(tmp_path / "state.db")
    export = s.store.export()
    job = export["jobs"][s.job_id.to_hex()]
    sub = job["submissions"]["0"][pubkey(0).to_hex()]
    sub["payload"] = "0x" + "00" * 32
    # The root is computed without blobs, so it stays; import checks blobs against commitments.
    assert state_root_of_export(export) == s.store.state_root()
    with pytest.raises(StateError, match="payload does not match its update commitment"):
        Store.import_state(tmp_path / "copy.db", export)
    assert not (tmp_path / "copy.db").exists()


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda e, j: e.update(format="other/1"), "export format"),
        (lambda e, j: e["chain"].update(head_height=1), "the export claims"),
        (lambda e, j: e["jobs"][j].update(nonce=5), "id does not match"),
        (lambda e, j: e["jobs"][j].update(calldata="0x00"), "not a valid request"),
        (lambda e, j: e["jobs"][j].update(status="paused"), "job status"),
        (lambda e, j: e["jobs"][j]["rounds"]["0"].update(global_model="0x00"), "differ"),
        (lambda e, j: e["jobs"][j].update(trainers=[]), "malformed state export"),
        (
            lambda e, j: e["economics"].update(supply_wei=e["economics"]["supply_wei"] + 1),
            "the state holds .* wei but its supply is",
        ),
        (
            lambda e, j: e["economics"]["accounts"].update({CALLER.to_hex(): 0}),
            "the state holds .* wei but its supply is",
        ),
        (
            lambda e, j: e["economics"]["funds"].update({"0x" + "77" * 32: {}}),
            "which is not a job of the export",
        ),
        (
            lambda e, j: e["economics"]["accounts"].update({"0x1234": 0}),
            "malformed state export",
        ),
    ],
    ids=[
        "format", "root", "job-id", "calldata", "status", "model", "shape", "supply",
        "balance", "funds-of-a-stranger", "account-width",
    ],
)
def test_import_rejects_a_tampered_export(tmp_path: Path, edit: object, match: str) -> None:
    s, _ = played(tmp_path / "state.db")
    export = s.store.export()
    edit(export, s.job_id.to_hex())  # type: ignore[operator]
    with pytest.raises(StateError, match=match):
        Store.import_state(tmp_path / "copy.db", export)
    assert not (tmp_path / "copy.db").exists()


def test_open_and_create_check_the_file(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="no state file"):
        Store.open(tmp_path / "missing.db")
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StateError, match=r"cannot open state file .* not a database"):
        Store.open(tmp_path / "junk.db")
    sqlite3.connect(tmp_path / "empty.db").execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StateError, match="not a pot chain state file"):
        Store.open(tmp_path / "empty.db")
    Store.create(tmp_path / "state.db", CHAIN_ID).close()
    with pytest.raises(StateError, match="already exists"):
        Store.create(tmp_path / "state.db", CHAIN_ID)


_WRITER = """
import sys
from pathlib import Path
from test_chain_support import GAS_LIMIT, Chain, make_calldata, pubkey
from pot.chain.executor import Executor
from pot.chain.store import Store
from pot.chain.tx import address_of

executor = Chain(Executor(Store.open(Path(sys.argv[1]))))
caller = address_of(pubkey(int(sys.argv[2])))
for nonce in range(int(sys.argv[3])):
    executor.train_request(caller, nonce, make_calldata(), GAS_LIMIT, 10)
"""


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    return env


def test_two_processes_writing_one_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.create(path, CHAIN_ID).close()
    count = 25
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(caller), str(count)],
            env=subprocess_env(), stderr=subprocess.PIPE,
        )
        for caller in (1, 2)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err.decode()
    store = Store.open(path)
    assert len(store.job_ids()) == 2 * count
    assert store.next_nonce(address_of(pubkey(1))) == count
    assert store.next_nonce(address_of(pubkey(2))) == count
    assert store.state_root() == store.recompute_state_root()
    assert Executor(store).load_job(store.job_ids()[0]).row.current_round == U64(0)
