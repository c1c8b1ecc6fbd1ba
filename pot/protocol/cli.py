"""Command line of the protocol primitives: ``pot keys`` and ``pot security``.

A thin shell: each command parses its options, calls :mod:`pot.protocol.keys` or
:mod:`pot.protocol.security`, and prints. Library errors become messages and exit codes at the
:func:`pot.cli.boundary`. The commands are attached to the ``pot`` group in :mod:`pot.cli`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import click

from pot.clikit import boundary, emit_json, json_option
from pot.protocol.encoding import format_hex
from pot.protocol.exceptions import SecurityParameterError
from pot.protocol.keys import generate_secret_key, load_secret_key, public_key, save_secret_key
from pot.protocol.security import (
    DEFAULT_TARGET_TEXT,
    detection_probability,
    format_probability,
    min_samples,
    parse_probability,
)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(name="keys", context_settings=CONTEXT_SETTINGS)
def keys() -> None:
    """Create and inspect BLS12-381 secret key files (mode 0600).

    \b
    Example:
        pot keys new trainer.key     # prints the new public key
        pot keys show trainer.key
    """


@keys.command(name="new")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@boundary
def keys_new(path: Path, as_json: bool) -> None:
    """Write a new secret key to PATH (mode 0600); print its public key.

    Never overwrites an existing file.

    \b
    Example:
        pot keys new trainer.key
        pot keys new trainer.key --json
    """
    sk = generate_secret_key()
    save_secret_key(path, sk)
    pk = format_hex(public_key(sk))
    if as_json:
        emit_json({"path": str(path), "public_key": pk})
    else:
        click.echo(pk)


@keys.command(name="show")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@boundary
def keys_show(path: Path, as_json: bool) -> None:
    """Print the public key of the secret key file PATH (never the secret).

    Refuses a file that its group or others may access.

    \b
    Example:
        pot keys show trainer.key
    """
    pk = format_hex(public_key(load_secret_key(path)))
    if as_json:
        emit_json({"path": str(path), "public_key": pk})
    else:
        click.echo(pk)


def _probability_option(ctx: click.Context, param: click.Parameter, value: str) -> Fraction:
    try:
        return parse_probability(value)
    except SecurityParameterError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from e


@click.command(name="security", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--steps", "n_steps", type=click.IntRange(min=1), required=True, help="T, the committed steps."
)
@click.option(
    "--fabricated",
    "n_fabricated",
    type=click.IntRange(min=0),
    required=True,
    help="m, the fabricated steps.",
)
@click.option("--samples", "n_samples", type=click.IntRange(min=0), help="k, the challenged steps.")
@click.option(
    "--target",
    default=DEFAULT_TARGET_TEXT,
    show_default=True,
    callback=_probability_option,
    help="Detection probability to reach: a decimal (0.99) or a fraction (99/100).",
)
@json_option
@boundary
def security(
    n_steps: int, n_fabricated: int, n_samples: int | None, target: Fraction, as_json: bool
) -> None:
    """Exact chance that a challenge of k steps catches m fabricated steps out of T.

    Prints P(detect) = 1 - C(T-m, k) / C(T, k) for --samples, and the smallest k that reaches
    --target. Decimals are rounded down; --json gives exact fractions.

    \b
    Example:
        pot security --steps 100 --fabricated 5 --samples 10
        pot security --steps 100 --fabricated 5 --target 99/100 --json
    """
    try:
        probability = None
        if n_samples is not None:
            probability = detection_probability(n_steps, n_fabricated, n_samples)
        needed = min_samples(n_steps, n_fabricated, target)
    except SecurityParameterError as e:
        raise click.UsageError(str(e)) from e  # the question itself is ill-posed: exit 2
    reached = detection_probability(n_steps, n_fabricated, needed)
    if as_json:
        emit_json(
            {
                "steps": n_steps,
                "fabricated": n_fabricated,
                "samples": n_samples,
                "detection_probability": None if probability is None else str(probability),
                "target": str(target),
                "min_samples": needed,
                "min_samples_probability": str(reached),
            }
        )
        return
    if probability is not None:
        click.echo(
            f"P(detect) with k={n_samples} of T={n_steps}, m={n_fabricated} fabricated: "
            f"{format_probability(probability)}"
        )
    click.echo(
        f"smallest k with P(detect) >= {format_probability(target)}: {needed} "
        f"(P = {format_probability(reached)})"
    )
