"""``pot spec``: check, show and store model specs (``docs/specs.md``).

A thin shell over :mod:`pot.spec` and :mod:`pot.cost`; errors leave through
:func:`pot.clikit.boundary` (a bad spec exits 2 with one line).
"""

from __future__ import annotations

import math
from pathlib import Path

import click

from pot.clikit import boundary, emit_json, json_option

SPEC_ARG = click.argument("spec_file", metavar="FILE")


@click.group("spec", context_settings={"help_option_names": ["-h", "--help"]})
def spec() -> None:
    """Check, show and store model specs (JSON, schema pot.spec/2).

    \b
    Example:
        pot spec check models/mlp-tiny.json
        pot spec show mlp-digits
        pot spec add my-cnn.json
    """


@spec.command()
@SPEC_ARG
@json_option
@boundary
def check(spec_file: str, as_json: bool) -> None:
    """Validate a spec (a file, a zoo name or a stored id); exit 2 with one line if it is bad.

    \b
    Example:
        pot spec check my-cnn.json --json
    """
    from pot.spec import load_spec

    s = load_spec(spec_file)
    if as_json:
        emit_json({"ok": True, "name": s.name, "spec_id": s.spec_id_hex, "version": "pot.spec/2"})
    else:
        click.echo(f"ok {s.name} {s.spec_id_hex}")


@spec.command()
@SPEC_ARG
@click.option("--exact", is_flag=True,
              help="Also count the rows exactly (exports the step and runs ezkl.gen_settings).")
@json_option
@boundary
def show(spec_file: str, exact: bool, as_json: bool) -> None:
    """Print a spec's layers, parameter count, rows, logrows, and the predicted pk size, peak RSS
    and prove time (from measured per-row constants: a prediction, not a measurement).

    \b
    Example:
        pot spec show models/mlp-digits.json
    """
    from pot.circuit import exact_rows
    from pot.cost import machine_memory_bytes, predict
    from pot.spec import load_spec

    s = load_spec(spec_file)
    cost = predict(s)
    measured = exact_rows(s) if exact else None
    layers = []
    for i, layer in enumerate(s.layers):
        n = sum(math.prod(p.shape) for _, p in s.layer_params(i))
        layers.append({"index": i, "type": layer.kind, "out_shape": list(s.shapes[i + 1]),
                       "params": n})
    memory = machine_memory_bytes()
    info = {"name": s.name, "spec_id": s.spec_id_hex, "input_shape": list(s.input_shape),
            "n_outputs": s.n_outputs, "loss": s.loss, "batch_size": s.batch_size,
            "layers": layers, "prediction": cost.to_json(), "machine_memory_bytes": memory,
            "fits": cost.prove_rss_bytes <= 0.9 * memory}
    if measured is not None:
        info["exact"] = predict(s, measured).to_json() | {"predicted": False}
    if as_json:
        emit_json(info)
        return
    click.echo(f"{s.name}  {s.spec_id_hex}")
    click.echo(f"input {list(s.input_shape)} -> {s.n_outputs} outputs, {s.loss}, batch "
               f"{s.batch_size}, scale {s.scale}, lr {s.learning_rate}, momentum {s.momentum}, "
               f"weight decay {s.weight_decay}")
    for row in layers:
        click.echo(f"  {row['index']:>2} {row['type']:<10} -> {row['out_shape']!s:<14} "
                   f"{row['params']:>8,} params")
    click.echo(f"parameters {s.n_params:,}")
    click.echo(f"rows       {cost.rows:,} (logrows {cost.logrows}), predicted")
    if measured is not None:
        click.echo(f"rows       {measured:,} (logrows {predict(s, measured).logrows}), exact "
                   "(ezkl.gen_settings)")
    click.echo(f"pk {cost.pk_bytes / 1e9:.2f} GB, peak RSS of proving {cost.prove_rss_bytes / 1e9:.2f} GB"
               f" (setup {cost.setup_rss_bytes / 1e9:.2f} GB), prove {cost.prove_seconds:.0f} s on "
               "2 cores: predicted from per-row constants measured on mlp-digits")
    click.echo(f"this machine: {memory / 1e9:.1f} GB, "
               f"{'fits' if info['fits'] else 'does NOT fit (pot setup refuses it)'}")


@spec.command()
@SPEC_ARG
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), envvar="POT_SPECS",
              help="Spec store folder (env POT_SPECS; default specs/).")
@json_option
@boundary
def add(spec_file: str, store: Path | None, as_json: bool) -> None:
    """Store a spec in the content-addressed spec store as <spec id>.json, from which
    pot simulate, pot chain request/submit and the node load specs by id.

    \b
    Example:
        pot spec add my-cnn.json && pot chain request --spec 0x<id> ...
    """
    from pot.spec import add_spec, load_spec

    s = load_spec(spec_file)
    path = add_spec(s, store)
    if as_json:
        emit_json({"spec_id": s.spec_id_hex, "path": str(path)})
    else:
        click.echo(f"{s.spec_id_hex} -> {path}")
