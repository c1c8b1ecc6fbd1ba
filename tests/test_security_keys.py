"""Secret keys: written 0600 by a real ``pot keys`` process, never printed or logged, refused when
others may read them, and never waited on.

``tests/test_keys_files.py`` and ``tests/test_keys_cli.py`` cover the file format, modes and
messages in-process; these tests run the installed command line as a user would, with a permissive
umask, and look for the secret in everything it writes.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pot.cli import main
from pot.protocol.errors import InsecureKeyFileError, KeyFileError
from pot.protocol.keys import derive_secret_key, load_secret_key, save_secret_key

ROOT = Path(__file__).resolve().parents[1]


def pot(*args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    """Run ``pot`` from this checkout in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pot.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60, preexec_fn=lambda: os.umask(umask))


def secret_digits(path: Path) -> str:
    return path.read_text()[2:-1]


def test_keys_new_writes_0600_under_umask_0_and_prints_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "trainer.key"
    made = pot("keys", "new", str(path), umask=0)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = secret_digits(path)
    shown = pot("keys", "show", str(path), "--json")
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["public_key"] == made.stdout.strip()
    again = pot("keys", "new", str(path))  # refuses to overwrite, without showing the old key
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
    for output in (made.stdout, made.stderr, shown.stdout, shown.stderr, again.stdout, again.stderr):
        assert secret not in output and secret.upper() not in output


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o666, 0o601, 0o610])
def test_a_key_others_may_read_is_refused_even_through_a_symlink(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "trainer.key"
    save_secret_key(path, derive_secret_key(b"\x01" * 32))
    path.chmod(mode)
    link = tmp_path / "link.key"
    link.symlink_to(path)
    for target in (path, link):
        with pytest.raises(InsecureKeyFileError, match="accessible by group or others"):
            load_secret_key(target)


def test_keys_show_refuses_a_world_readable_key_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "trainer.key"
    save_secret_key(path, derive_secret_key(b"\x01" * 32))
    path.chmod(0o644)
    link = tmp_path / "link.key"
    link.symlink_to(path)
    shown = pot("keys", "show", str(link))
    assert shown.returncode == 1
    assert f"accessible by group or others (mode 0644); run: chmod 600 {link}" in shown.stderr
    assert secret_digits(path) not in shown.stdout + shown.stderr


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    # Opening a FIFO for reading blocks until a writer comes: `pot keys show` used to hang.
    fifo = tmp_path / "trainer.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_secret_key(fifo)
    shown = pot("keys", "show", str(fifo))
    assert shown.returncode == 1 and "not a regular file" in shown.stderr


def test_a_directory_or_device_is_refused(tmp_path: Path) -> None:
    for path in (tmp_path, Path("/dev/zero")):
        with pytest.raises(KeyFileError):
            load_secret_key(path)


def test_nothing_is_logged_or_echoed_with_the_secret(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "trainer.key"
    runner = CliRunner()
    with caplog.at_level(logging.DEBUG):
        outputs = [runner.invoke(main, ["keys", "new", str(path), "--json"]).output,
                   runner.invoke(main, ["keys", "show", str(path)]).output]
        path.chmod(0o644)
        outputs.append(runner.invoke(main, ["keys", "show", str(path)]).output)
    secret = secret_digits(path)
    assert all(secret not in text for text in outputs)
    assert all(secret not in record.getMessage() for record in caplog.records)
    sk = derive_secret_key(b"\x02" * 32)
    assert str(sk.scalar) not in repr(sk) and format(sk.scalar, "x") not in str(sk)
