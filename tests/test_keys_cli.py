"""``pot keys``: driven through click's CliRunner, asserting exit codes and exact messages."""

from __future__ import annotations

import json
import os
import stat

from click.testing import CliRunner

from pot.protocol.cli import keys
from pot.protocol.encoding import parse_hex
from pot.protocol.keys import SecretKey, public_key, save_secret_key

SCALAR = 0x263DBD792F5B1BE47ED85F8938C0F29586AF0D3AC7B977F21C278FE1462040E3
SPEC_PK_HEX = (
    "0xa491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20f"
    "d6e10c1b77654d067c0618f6e5a7f79a"
)


def invoke(*args: str):
    return CliRunner().invoke(keys, list(args))


def test_new_writes_a_0600_file_and_prints_only_the_public_key(tmp_path):
    path = tmp_path / "trainer.key"
    result = invoke("new", str(path))
    assert result.exit_code == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    printed = result.output.removesuffix("\n")
    assert len(printed) == 2 + 96 and "\n" not in printed
    secret_digits = path.read_text()[2:-1]
    assert secret_digits not in result.output
    assert parse_hex(printed, 48) == public_key(SecretKey(int(secret_digits, 16)))
    shown = invoke("show", str(path))
    assert (shown.exit_code, shown.output) == (0, result.output)


def test_new_json(tmp_path):
    path = tmp_path / "trainer.key"
    result = invoke("new", str(path), "--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert sorted(doc) == ["path", "public_key"]
    assert doc["path"] == str(path)
    assert result.output == json.dumps(doc, sort_keys=True) + "\n"


def test_new_refuses_to_overwrite(tmp_path):
    path = tmp_path / "trainer.key"
    path.write_text("precious")
    result = invoke("new", str(path))
    assert result.exit_code == 1
    assert result.output == f"Error: refusing to overwrite existing file {path}\n"
    assert path.read_text() == "precious"


def test_show_prints_the_public_key(tmp_path):
    path = tmp_path / "trainer.key"
    save_secret_key(path, SecretKey(SCALAR))
    result = invoke("show", str(path))
    assert (result.exit_code, result.output) == (0, SPEC_PK_HEX + "\n")
    result = invoke("show", str(path), "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {"path": str(path), "public_key": SPEC_PK_HEX}


def test_show_refuses_a_file_readable_by_others(tmp_path):
    path = tmp_path / "trainer.key"
    save_secret_key(path, SecretKey(SCALAR))
    os.chmod(path, 0o644)
    result = invoke("show", str(path))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: key file {path} is accessible by group or others (mode 0644); "
        f"run: chmod 600 {path}\n"
    )


def test_show_reports_a_malformed_file_as_malformed_input(tmp_path):
    path = tmp_path / "trainer.key"
    path.write_text("0x" + "AB" * 32 + "\n")
    os.chmod(path, 0o600)
    result = invoke("show", str(path))
    assert result.exit_code == 2
    assert result.output == (
        f"Error: key file {path}: a secret key file must hold exactly 0x followed by 64 "
        "lowercase hex digits and a newline\n"
    )
    assert "ABAB" not in result.output


def test_show_missing_file_is_a_usage_error(tmp_path):
    result = invoke("show", str(tmp_path / "absent.key"))
    assert result.exit_code == 2
    assert result.output.endswith(
        f"Error: Invalid value for 'PATH': File '{tmp_path / 'absent.key'}' does not exist.\n"
    )


def test_help_has_examples():
    result = invoke("-h")
    assert result.exit_code == 0
    assert "pot keys new trainer.key" in result.output
    assert "Example:" in invoke("new", "--help").output
    assert "Example:" in invoke("show", "--help").output
