"""The command line as a whole: help, version, and the validator's install staying torch-free."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from pot import __version__
from pot.cli import main


def test_version_and_help_list_every_command() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output == f"pot, version {__version__}\n"
    out = runner.invoke(main, ["-h"]).output
    for command in ("simulate", "setup", "prove", "verify", "security", "keys", "chain", "fixtures"):
        assert f"  {command} " in out


def test_every_command_has_an_example_in_its_help() -> None:
    runner = CliRunner()
    for command in ("simulate", "setup", "prove", "verify"):
        assert "Example:" in runner.invoke(main, [command, "-h"]).output, command


def test_verify_and_chain_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from pot.cli import main\n"
        "r = CliRunner().invoke(main, ['verify', 'missing.json', '--circuit',"
        " 'fixtures/bundles/circuit', '--allow-dev-srs'])\n"
        "assert r.exit_code == 2, r.output\n"
        "CliRunner().invoke(main, ['chain', 'show', '-h'])\n"
        "heavy = sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'sklearn') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
