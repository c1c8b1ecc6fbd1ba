"""The ``pot`` command line: a thin shell over the library.

Library errors (:class:`pot.errors.PotError`) are caught only here, at the command boundary, and turned
into a message and a documented exit code. Users never see a traceback.

Exit codes
----------
0
    Success; for ``pot verify``, the bundle is valid.
1
    The input was judged and failed (an invalid proof or bundle), or a library operation failed.
2
    Malformed input or a usage error: the input was not judged.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from pot import __version__
from pot.errors import MalformedInputError, PotError

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
        except MalformedInputError as e:
            raise PotClickException(str(e), EXIT_MALFORMED) from e
        except PotError as e:
            raise PotClickException(str(e), EXIT_INVALID) from e
        except KeyboardInterrupt as e:
            raise PotClickException("interrupted", 130) from e

    return wrapper  # type: ignore[return-value]


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one machine-readable JSON object on stdout."
)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one line of canonical JSON (sorted keys) on stdout."""
    click.echo(json.dumps(obj, sort_keys=True))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pot")
def main() -> None:
    """pot: zero-knowledge proof of training for federated learning.

    \b
    Example:
        pot simulate            # a whole job on scikit-learn digits, real proofs
        pot verify bundle.json --circuit circuits/tiny-...
    """


# Command groups live next to the library code they wrap; each is attached here, once.
# Keep these imports light: `pot verify` must not import torch (trainer code imports it lazily).
# (groups are added below as they land)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
