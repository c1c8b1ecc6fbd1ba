"""Shared pieces of pot's command line: exit codes, the error boundary and common options.

Every command module (``pot.cli`` and the groups next to the library code, e.g. ``pot.protocol.cli``)
imports these from here, so that ``pot.cli`` can attach the groups without an import cycle.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pot.errors import MalformedInputError, PotError, SpecError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_MALFORMED = 2

F = TypeVar("F", bound=Callable[..., Any])


class PotClickException(click.ClickException):
    """A click exception that carries pot's documented exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def boundary(func: F) -> F:
    """Turn :class:`PotError` raised by a command into a clean message and exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (MalformedInputError, SpecError) as e:  # a bad spec is malformed input
            _json_error(kwargs, e, EXIT_MALFORMED)
            raise PotClickException(str(e), EXIT_MALFORMED) from e
        except PotError as e:
            _json_error(kwargs, e, EXIT_INVALID)
            raise PotClickException(str(e), EXIT_INVALID) from e
        except KeyboardInterrupt as e:
            raise PotClickException("interrupted", 130) from e

    return wrapper  # type: ignore[return-value]


def _json_error(kwargs: dict[str, Any], error: Exception, code: int) -> None:
    """Under ``--json``, the error as one JSON object on stdout too (the message stays on stderr)."""
    if kwargs.get("as_json"):
        click.echo(json.dumps({"error": str(error), "exit_code": code,
                               "kind": type(error).__name__}, sort_keys=True))


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one machine-readable JSON object on stdout."
)

circuits_option = click.option(
    "--circuits", "circuits_dir", type=click.Path(file_okay=False, path_type=Path),
    default=Path("circuits"), show_default=True, envvar="POT_CIRCUITS",
    help="Folder holding circuit folders (env POT_CIRCUITS).",
)

allow_dev_srs_option = click.option(
    "--allow-dev-srs", is_flag=True, help="Accept a development (insecure) SRS."
)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one line of canonical JSON (sorted keys) on stdout."""
    click.echo(json.dumps(obj, sort_keys=True))
