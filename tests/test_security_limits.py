"""Every documented limit on untrusted input, and that it is enforced before the expensive work.

Each test feeds an input just over one limit whose *content* would fail later, slower checks too,
and asserts the limit's own message: if a later check ran first, the message would be another.
The limits are tabled in ``docs/security.md``.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from test_chain_support import secret
from test_security_encoding import bundle, step_proof

from pot.aggregation.compression import HEADER_FORMAT, SPARSE_VERSION, decode_sparse
from pot.aggregation.errors import MalformedUpdateError
from pot.bundle import (
    MAX_BUNDLE_BYTES,
    MAX_PATH_NODES,
    MAX_SAMPLED_STEPS,
    MAX_STEPS,
    dump_bundle,
    load_bundle,
)
from pot.chain.executor import MAX_BUNDLE_BYTES as CHAIN_MAX_BUNDLE_BYTES
from pot.chain.hyperparams import MAX_PARAM_COUNT
from pot.errors import MalformedInputError
from pot.fixtures.check import check_fixtures
from pot.fixtures.core import MAX_FIXTURE_FILE_BYTES
from pot.jsonio import MAX_JSON_DEPTH, MAX_JSON_VALUES
from pot.proof import MAX_PROOF_BYTES, MAX_TENSORS
from pot.protocol.keys import save_secret_key
from pot.verifier import MAX_STEP_PROOF_FILE_BYTES, load_step_proof_bytes, read_step_proof

MIB = 1 << 20


def body_with(**fields: object) -> bytes:
    doc = json.loads(dump_bundle(bundle()))
    doc["body"].update(fields)
    return json.dumps(doc).encode()


def test_the_limits_are_the_documented_ones() -> None:
    assert (MAX_BUNDLE_BYTES, CHAIN_MAX_BUNDLE_BYTES) == (16 * MIB, 16 * MIB)
    assert (MAX_STEPS, MAX_SAMPLED_STEPS, MAX_PATH_NODES) == (1 << 20, 64, 64)
    assert (MAX_STEP_PROOF_FILE_BYTES, MAX_PROOF_BYTES, MAX_TENSORS) == (4 * MIB, MIB, 4096)
    assert (MAX_JSON_DEPTH, MAX_JSON_VALUES, MAX_FIXTURE_FILE_BYTES) == (32, 1 << 20, 16 * MIB)
    assert MAX_PARAM_COUNT * 8 == 32 * MIB  # the largest dense update a job can declare


def test_a_bundle_one_byte_over_the_cap_is_refused_unparsed() -> None:
    raw = dump_bundle(bundle())
    at_cap = raw + b" " * (MAX_BUNDLE_BYTES - len(raw))
    assert load_bundle(at_cap) == bundle()
    with pytest.raises(MalformedInputError, match=f"{MAX_BUNDLE_BYTES + 1} bytes, over the"):
        load_bundle(at_cap + b" ")
    with pytest.raises(MalformedInputError, match="over the"):
        load_bundle(b"[" * (MAX_BUNDLE_BYTES + 1))  # not JSON either: the size speaks first


def test_more_openings_than_the_cap_are_refused_before_any_is_read() -> None:
    # 65 openings that are not even objects: the count check names the cap, not opening 0.
    raw = body_with(openings=[None] * (MAX_SAMPLED_STEPS + 1),
                    indices=list(range(MAX_SAMPLED_STEPS + 1)))
    with pytest.raises(MalformedInputError, match=re.escape(f"1..{MAX_SAMPLED_STEPS} entries")):
        load_bundle(raw)
    with pytest.raises(MalformedInputError, match=re.escape("1..64 entries")):
        load_bundle(body_with(openings=[], indices=[]))


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("steps", MAX_STEPS + 1, "steps must be an integer in 1..1048576"),
    ("steps", 0, "steps must be an integer in 1..1048576"),
    ("n_batches", (1 << 20) + 1, "n_batches must be an integer in 1..1048576"),
    ("batch_size", (1 << 16) + 1, "batch_size must be an integer in 1..65536"),
    ("round", 1 << 53, "round must be an integer"),
    ("indices", [MAX_STEPS], "indices\\[0\\] must be an integer in 0..1"),
])
def test_counts_over_their_caps_are_refused(field: str, value: object, rule: str) -> None:
    with pytest.raises(MalformedInputError, match=rule):
        load_bundle(body_with(**{field: value}))


def test_a_merkle_path_over_the_cap_is_refused() -> None:
    with pytest.raises(MalformedInputError, match=f"at most {MAX_PATH_NODES} hashes"):
        load_bundle(body_with(first_path=["0x" + "00" * 32] * (MAX_PATH_NODES + 1)))


def test_point_counts_are_capped_and_paired() -> None:
    doc = step_proof().to_json()
    for count in (MAX_TENSORS + 2, 2, 11):
        doc["points"] = ["0x" + "00" * 64] * count
        with pytest.raises(MalformedInputError, match="2\\*n_params \\+ 2"):
            load_step_proof_bytes(json.dumps(doc).encode())


def test_a_proof_over_its_byte_cap_is_refused() -> None:
    doc = step_proof().to_json()
    doc["proof"] = "0x" + "ab" * (MAX_PROOF_BYTES + 1)
    with pytest.raises(MalformedInputError, match=f"1 to {MAX_PROOF_BYTES} bytes"):
        load_step_proof_bytes(json.dumps(doc).encode())


def test_a_step_proof_file_over_its_cap_is_refused_from_its_size(tmp_path: Path) -> None:
    path = tmp_path / "step.json"
    path.write_bytes(b" " * (MAX_STEP_PROOF_FILE_BYTES + 1))
    with pytest.raises(MalformedInputError, match="over the 4194304-byte limit"):
        read_step_proof(path)
    with pytest.raises(MalformedInputError, match="over the 4194304-byte limit"):
        read_step_proof(Path("/dev/zero"))


def test_a_fixture_file_over_its_cap_is_unreadable_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"[" * (MAX_FIXTURE_FILE_BYTES + 1))
    report = check_fixtures([path])
    assert report.exit_code == 2
    assert "over the 16777216-byte limit" in report.broken_files[0].reason


def sparse_header(dim: int, count: int, step: int = 1) -> bytes:
    return struct.pack(HEADER_FORMAT, SPARSE_VERSION, dim, count, step)


def test_a_compressed_update_is_sized_by_the_job_before_its_entries_are_read() -> None:
    # More entries than k, announced in a header with no entries after it: refused by count.
    with pytest.raises(MalformedUpdateError, match="too many entries: count 5 exceeds k=4"):
        decode_sparse(sparse_header(10, 5), 10, 4)
    with pytest.raises(MalformedUpdateError, match="too many entries"):
        decode_sparse(sparse_header(10, 2**32 - 1), 10, 4)
    # A header that claims a larger model than the job's cannot make the update densify larger.
    with pytest.raises(MalformedUpdateError, match="wrong dimension: header says 1073741824"):
        decode_sparse(sparse_header(1 << 30, 0), 10, 4)
    assert decode_sparse(sparse_header(10, 0), 10, 4).to_dense().nbytes == 10 * 8


def test_prove_submit_reads_no_more_of_a_bundle_than_the_cap(tmp_path: Path) -> None:
    # A device that never ends used to be read to exhaustion before the cap was checked: with the
    # bounded read the call ends (reverted, since the state has no such job) instead of hanging.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    state = tmp_path / "state.db"
    base = [sys.executable, "-m", "pot.cli", "chain"]
    subprocess.run([*base, "init", "--state", str(state), "--chain-id", "1"], env=env, check=True,
                   capture_output=True, timeout=120)
    key = str(tmp_path / "trainer.key")
    save_secret_key(key, secret(0))
    result = subprocess.run(
        [*base, "prove-submit", "--state", str(state), "--job", "0x" + "11" * 32, "--round", "0",
         "--key", key, "--bundle", "/dev/zero", "--height", "21"],
        env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "reverted (" in result.stderr and "Traceback" not in result.stderr


def test_chain_import_of_a_deeply_nested_file_is_a_usage_error_not_a_crash(tmp_path: Path) -> None:
    # json.load recursed into 100 000 arrays and died of a segmentation fault; run it in a child
    # so that a regression fails this test instead of killing the suite.
    source = tmp_path / "export.json"
    source.write_text("[" * 100_000 + "]" * 100_000)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run([sys.executable, "-m", "pot.cli", "chain", "import", "--state",
                             str(tmp_path / "replica.db"), str(source)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "nested deeper than 32 levels" in result.stderr
