"""A hostile fixture file: ``pot fixtures check`` reports it, in bounded memory, without a
traceback and without letting the file write to the terminal."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from click.testing import CliRunner

from pot.cli import main
from pot.fixtures.check import check_fixtures, printable_ascii
from pot.fixtures.core import content_hash

MIB = 1 << 20


def hyperparams_case(encoded: str) -> dict[str, object]:
    content = {"input": {"operation": "decode", "encoded": encoded},
               "expected_error": "HyperparamsError"}
    return {**content, "_info": {"description": "long", "format": "hyperparams",
                                 "format_version": 1, "hash": content_hash(content),
                                 "pot_version": "0.1.0"}}


def test_a_long_hex_string_is_checked_in_memory_proportional_to_it(tmp_path: Path) -> None:
    # The hex pattern kept a backtracking frame per byte: ~140 bytes of memory per input byte,
    # over 1 GiB for the 16 MiB a fixture file may hold.
    path = tmp_path / "long.json"
    path.write_text(json.dumps({"long_hex": hyperparams_case("0x" + "ab" * (4 * MIB))}))
    tracemalloc.start()
    try:
        report = check_fixtures([path])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.passed == 1  # a 4 MiB record is refused by the decoder, as the case expects
    assert peak < 128 * MIB


def test_names_and_keys_from_the_file_are_printed_escaped(tmp_path: Path) -> None:
    # A lone surrogate made click.echo raise UnicodeEncodeError (a traceback); control
    # characters went to the terminal as they were.
    path = tmp_path / "hostile.json"
    path.write_text('{"a\\ud800\\n\\u001b[2J": {}, "b": {"_info": 1, "input": {"x\\u001b": 1},'
                    ' "expected": 1}}')
    result = CliRunner().invoke(main, ["fixtures", "check", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    assert lines[0] == ("FAIL hostile/a\\ud800\\n\\x1b[2J: a test name is lowercase letters, "
                        "digits and underscores")
    assert all(printable_ascii(line) == line for line in lines)
    assert lines[-1] == "0 passed, 2 failed"


def test_a_repeated_test_name_makes_the_file_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "twice.json"
    case = json.dumps(hyperparams_case("0x00"))
    path.write_text('{"same": ' + case + ', "same": ' + case + "}")
    report = check_fixtures([path])
    assert report.exit_code == 2
    assert "repeats a key" in report.broken_files[0].reason
