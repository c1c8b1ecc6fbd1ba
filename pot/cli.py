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

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from pot import __version__
from pot.clikit import (
    EXIT_INVALID,
    EXIT_MALFORMED,
    EXIT_OK,
    PotClickException,
    allow_dev_srs_option,
    boundary,
    circuits_option,
    emit_json,
    json_option,
)
from pot.errors import MalformedInputError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pot")
def main() -> None:
    """pot: zero-knowledge proof of training for federated learning.

    \b
    Example:
        pot simulate            # a whole job on scikit-learn digits, real proofs
        pot verify bundle.json --circuit circuits/tiny-...
    """


@contextlib.contextmanager
def phase_status(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A rich status line on stderr showing the current phase of a long operation."""
    if not enabled:
        yield lambda _: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("starting") as status:
        yield lambda phase: status.update(f"[bold]{phase}[/bold] ...")


@main.command()
@click.option("--spec", "spec_name", default="mlp-digits", show_default=True,
              help="Zoo name or path of a spec JSON file.")
@click.option("--srs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ceremony SRS file. Without it a development SRS (insecure) is generated.")
@circuits_option
@json_option
@boundary
def setup(spec_name: str, srs: Path | None, circuits_dir: Path, as_json: bool) -> None:
    """Build (or reuse) the circuit of one SGD step of a spec.

    \b
    Example:
        pot setup --spec mlp-tiny
    """
    from pot.circuit import build_circuit
    from pot.spec import load_spec

    spec = load_spec(spec_name)
    with phase_status(not as_json) as progress:
        circuit = build_circuit(spec, circuits_dir, srs=srs, progress=progress)
    info = {"circuit": str(circuit.path), "circuit_id": circuit.circuit_id,
            "logrows": circuit.logrows, "dev_srs": circuit.dev_srs}
    if as_json:
        emit_json(info)
    else:
        click.echo(f"circuit {circuit.circuit_id}")
        click.echo(f"folder  {circuit.path} (logrows {circuit.logrows}"
                   f"{', development SRS' if circuit.dev_srs else ''})")


@main.command()
@click.option("--spec", "spec_name", default="mlp-digits", show_default=True,
              help="Zoo name or path of a spec JSON file.")
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Weights W_t (.npz of int64 fixed point). Default: the spec's initial weights.")
@click.option("--batch", "batch_spec", default="0:16", show_default=True,
              help="Sample indices into the spec's dataset: 'start:stop' or 'i,j,k'.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("step-proof.json"), show_default=True, help="Where to write the proof.")
@click.option("--next-checkpoint", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write W_{t+1} (the circuit's output) here, to chain the next step.")
@click.option("--srs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ceremony SRS file for the circuit (see pot setup).")
@circuits_option
@json_option
@boundary
def prove(spec_name: str, checkpoint: Path | None, batch_spec: str, out: Path,
          next_checkpoint: Path | None, srs: Path | None, circuits_dir: Path,
          as_json: bool) -> None:
    """Prove one SGD step of a spec on a batch of real data.

    Builds the circuit first if needed (cached). Writes a step proof: the proof, its public
    instances, the circuit id and the commitments to W_t, the batch and W_{t+1}.

    \b
    Example:
        pot prove --spec mlp-tiny --batch 0:4 --out step.json
    """
    import time

    from pot.circuit import build_circuit
    from pot.data import (
        batch_arrays,
        initial_checkpoint,
        load_checkpoint,
        load_dataset,
        parse_indices,
        save_checkpoint,
    )
    from pot.prover import prove_step
    from pot.spec import load_spec

    spec = load_spec(spec_name)
    params = load_checkpoint(checkpoint, spec) if checkpoint else initial_checkpoint(spec)
    data = load_dataset(spec.dataset)
    if batch_spec == "0:16" and spec.batch_size != 16:
        batch_spec = f"0:{spec.batch_size}"
    x, y = batch_arrays(data, parse_indices(batch_spec, len(data)), spec)
    with phase_status(not as_json) as progress:
        circuit = build_circuit(spec, circuits_dir, srs=srs, progress=progress)
        progress("proving (witness + prove)")
        start = time.perf_counter()
        step, witness = prove_step(circuit, params, x, y)
        seconds = time.perf_counter() - start
    _write_atomic(out, json.dumps(step.to_json(), indent=1, sort_keys=True) + "\n")
    if next_checkpoint:
        save_checkpoint(next_checkpoint, witness.params_next, spec)
    info = {"proof": str(out), "circuit_id": circuit.circuit_id, "prove_seconds": seconds,
            **{k: v for k, v in step.to_json()["commitments"].items()}}
    if as_json:
        emit_json(info)
    else:
        click.echo(f"proved one SGD step of {spec.name} in {seconds:.1f} s -> {out}")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


@main.command()
@click.argument("proofs", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--circuit", "circuit_path", type=click.Path(file_okay=False, path_type=Path),
              help="The pinned circuit folder.")
@click.option("--circuit-id", help="The pinned circuit id, looked up under --circuits.")
@allow_dev_srs_option
@circuits_option
@json_option
def verify(proofs: tuple[Path, ...], circuit_path: Path | None, circuit_id: str | None,
           allow_dev_srs: bool, circuits_dir: Path, as_json: bool) -> None:
    """Verify step proofs against a pinned circuit.

    Exit code 0 if every proof is valid, 1 if any is invalid, 2 if any input is malformed or the
    circuit cannot be loaded.

    \b
    Example:
        pot verify step.json --circuit circuits/mlp-tiny-0123abcd --allow-dev-srs --json
    """
    from pot.circuit import find_circuit, load_circuit
    from pot.errors import CircuitError
    from pot.verifier import read_step_proof, verify_step_proof

    if (circuit_path is None) == (circuit_id is None):
        raise PotClickException("give exactly one of --circuit or --circuit-id", EXIT_MALFORMED)
    try:
        circuit = (load_circuit(circuit_path) if circuit_path is not None
                   else find_circuit(str(circuit_id), circuits_dir))
    except CircuitError as e:
        raise PotClickException(str(e), EXIT_MALFORMED) from e
    results = []
    worst = EXIT_OK
    for path in proofs:
        try:
            verdict = verify_step_proof(read_step_proof(path), circuit, allow_dev_srs)
            entry = {"file": str(path), **verdict.to_json()}
            worst = max(worst, EXIT_OK if verdict.ok else EXIT_INVALID)
        except MalformedInputError as e:
            entry = {"file": str(path), "valid": False, "reason": "malformed", "detail": str(e)}
            worst = EXIT_MALFORMED
        results.append(entry)
        if not as_json:
            mark = "valid" if entry["valid"] else f"INVALID ({entry['reason']})"
            click.echo(f"{path}: {mark}" + ("" if entry["valid"] else f": {entry['detail']}"))
    if as_json:
        emit_json({"circuit_id": circuit.circuit_id, "results": results,
                   "valid": worst == EXIT_OK})
    sys.exit(worst)


# Command groups live next to the library code they wrap; each is attached here, once.
# Keep these imports light: `pot verify` must not import torch (trainer code imports it lazily).
from pot.chain.cli import chain  # noqa: E402
from pot.protocol.cli import keys, security  # noqa: E402

main.add_command(chain)
main.add_command(keys)
main.add_command(security)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
