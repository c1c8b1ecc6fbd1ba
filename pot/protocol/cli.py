"""Command line of the protocol primitives: ``pot keys`` and ``pot security``.

A thin shell: each command parses its options, calls :mod:`pot.protocol.keys` or
:mod:`pot.protocol.security`, and prints. Library errors become messages and exit codes at the
:func:`pot.cli.boundary`. The commands are attached to the ``pot`` group in :mod:`pot.cli`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from pot.clikit import boundary, emit_json, json_option
from pot.economics.errors import EconomicsError
from pot.economics.incentive import IncentiveReport, incentive_check
from pot.protocol.encoding import format_hex
from pot.protocol.errors import SecurityParameterError
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
@click.option("--reward", "reward_wei", type=click.IntRange(min=0),
              help="R, the round reward in wei: with --stake, run the incentive check.")
@click.option("--stake", "stake_wei", type=click.IntRange(min=0),
              help="The trainer's stake in wei (slashed SLASH_BPS when caught).")
@json_option
@boundary
def security(
    n_steps: int,
    n_fabricated: int,
    n_samples: int | None,
    target: Fraction,
    reward_wei: int | None,
    stake_wei: int | None,
    as_json: bool,
) -> None:
    """Exact chance that a challenge of k steps catches m fabricated steps out of T.

    Prints P(detect) = 1 - C(T-m, k) / C(T, k) for --samples, and the smallest k that reaches
    --target. With --reward and --stake it also runs the incentive check: the expected value of
    fabricating m steps, EV = (1 - P) * R - P * slash(stake), whether cheating is unprofitable
    (EV <= 0), and the smallest k (at this stake) and stake (at this k) that make it so.
    Decimals are rounded down; --json gives exact fractions.

    \b
    Example:
        pot security --steps 100 --fabricated 5 --samples 10
        pot security --steps 100 --fabricated 5 --target 99/100 --json
        pot security --steps 1000 --samples 10 --fabricated 1 \\
            --reward 1000000000000000000 --stake 10000000000000000000
    """
    if (reward_wei is None) != (stake_wei is None):
        raise click.UsageError("--reward and --stake go together")
    if reward_wei is not None and n_samples is None:
        raise click.UsageError("the incentive check (--reward, --stake) needs --samples")
    try:
        probability = None
        if n_samples is not None:
            probability = detection_probability(n_steps, n_fabricated, n_samples)
        needed = min_samples(n_steps, n_fabricated, target)
    except SecurityParameterError as e:
        raise click.UsageError(str(e)) from e  # the question itself is ill-posed: exit 2
    reached = detection_probability(n_steps, n_fabricated, needed)
    report = None
    if reward_wei is not None and stake_wei is not None and n_samples is not None:
        try:
            report = incentive_check(n_steps, n_samples, n_fabricated, reward_wei, stake_wei)
        except EconomicsError as e:
            raise click.UsageError(str(e)) from e
    if as_json:
        result: dict[str, Any] = {
            "steps": n_steps,
            "fabricated": n_fabricated,
            "samples": n_samples,
            "detection_probability": None if probability is None else str(probability),
            "target": str(target),
            "min_samples": needed,
            "min_samples_probability": str(reached),
        }
        if report is not None:
            result["incentive"] = report.to_json_obj()
        emit_json(result)
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
    if report is not None:
        _echo_incentive(report)


def _wei_text(value: Fraction) -> str:
    """A wei amount: the integer, or the exact fraction and its floor."""
    if value.denominator == 1:
        return f"{value.numerator} wei"
    return f"{value.numerator}/{value.denominator} wei (floor {value.numerator // value.denominator})"


def _echo_incentive(report: IncentiveReport) -> None:
    """Print the incentive check's lines of ``pot security``."""
    click.echo(
        f"expected value of fabricating m={report.m} steps with R={report.reward_per_round_wei} "
        f"wei, stake={report.stake_wei} wei (slash {report.slash_wei} wei): "
        f"{_wei_text(report.expected_value_wei)}"
    )
    click.echo(f"cheating is unprofitable: {'yes' if report.unprofitable else 'no'}")
    click.echo(f"smallest k that makes it unprofitable at this stake: {report.min_k}")
    stake = report.min_stake_wei
    click.echo(
        "smallest stake that makes it unprofitable at this k: "
        + ("none (no uint256 stake deters it)" if stake is None else f"{stake} wei")
    )
