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
130
    Interrupted (Ctrl-C): the work in flight was stopped and nothing half-written was left.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from pot import __version__
from pot.aggregation.params import RULE_BY_NAME
from pot.clikit import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_MALFORMED,
    EXIT_OK,
    PotClickException,
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
        pot verify bundle.json --circuit circuits/mlp-tiny-<key> --allow-dev-srs
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


def sharding_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--sharded/--monolithic, --shard-logrows and --tile-rows (pot setup and pot prove)."""
    func = click.option("--tile-rows", type=click.IntRange(min=1), multiple=True,
                        help="Sharded: rows of W_i per tile, one per hidden layer (repeat); "
                             "default the largest tiles that fit --shard-logrows.")(func)
    func = click.option("--shard-logrows", type=click.IntRange(min=15, max=20), default=16,
                        show_default=True, help="Sharded: the one logrows of every shard.")(func)
    return click.option("--sharded/--monolithic", default=None,
                        help="Prove the step as linked shards, or as one circuit (default: "
                             "sharded when the one circuit would not fit in memory).")(func)


@main.command()
@click.option("--spec", "spec_name", default="mlp-digits", show_default=True,
              help="Zoo name or path of a spec JSON file.")
@click.option("--srs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ceremony SRS file. Without it a development SRS (insecure) is generated.")
@sharding_options
@circuits_option
@json_option
@boundary
def setup(spec_name: str, srs: Path | None, sharded: bool | None, shard_logrows: int,
          tile_rows: tuple[int, ...], circuits_dir: Path, as_json: bool) -> None:
    """Build (or reuse) the circuit of one SGD step of a spec.

    With --sharded, builds the shard circuits instead (one per shard kind, all at --shard-logrows
    over one SRS; docs/protocol.md, "Sharded step proofs"); a spec whose monolithic circuit would
    not fit this machine's memory is sharded without asking.

    \b
    Example:
        pot setup --spec mlp-tiny
        pot setup --spec mlp-digits --sharded --shard-logrows 16
    """
    from pot.spec import load_spec

    spec = load_spec(spec_name)
    with phase_status(not as_json) as progress:
        circuit = _build(spec, srs, sharded, shard_logrows, tile_rows, circuits_dir, progress)
    info = {"circuit": str(circuit.path), "circuit_id": circuit.circuit_id,
            "logrows": circuit.logrows, "dev_srs": circuit.dev_srs,
            "vka": str(circuit.file("vka.bin"))}
    if as_json:
        emit_json(info)
    else:
        click.echo(f"circuit {circuit.circuit_id}")
        click.echo(f"folder  {circuit.path} (logrows {circuit.logrows}"
                   f"{', development SRS' if circuit.dev_srs else ''})")


data_option = click.option(
    "--data", "data_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Your data: .npz with arrays x and y, or .csv with a header row and a label column "
         "(default: the spec's bundled dataset).")
label_column_option = click.option(
    "--label-column", help="CSV label column's name (default: the last column).")


def check_output_path(path: Path, option: str) -> None:
    """Refuse, before any work, an output path whose folder is missing or not writable.

    Raises
    ------
    MalformedInputError
        Naming the option and the folder.
    """
    folder = path.parent
    if not folder.is_dir():
        raise MalformedInputError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise MalformedInputError(f"{option} {path}: folder {folder} is not writable")
    if path.is_dir():
        raise MalformedInputError(f"{option} {path} is a folder; give a file name")


@main.command()
@click.option("--spec", "spec_name", default="mlp-digits", show_default=True,
              help="Zoo name or path of a spec JSON file.")
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Weights W_t (.npz of int64 fixed point). Default: the spec's initial weights.")
@data_option
@label_column_option
@click.option("--batch", "batch_spec", default="0:16", show_default=True,
              help="Sample indices into the data: 'start:stop' or 'i,j,k'.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("step-proof.json"), show_default=True, help="Where to write the proof.")
@click.option("--next-checkpoint", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write W_{t+1} (the circuit's output) here, to chain the next step.")
@click.option("--srs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ceremony SRS file for the circuit (see pot setup).")
@sharding_options
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Sharded: local prover processes (default: as many as memory and cores allow).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Sharded: prove shards on a local process pool or on a Ray cluster.")
@click.option("--address", default=None,
              help="Sharded, --executor ray: the cluster address, as ray.init takes it ('auto', "
                   "'ray://host:10001'); default a local Ray.")
@circuits_option
@json_option
@boundary
def prove(spec_name: str, checkpoint: Path | None, data_file: Path | None,
          label_column: str | None, batch_spec: str, out: Path, next_checkpoint: Path | None,
          srs: Path | None, sharded: bool | None, shard_logrows: int, tile_rows: tuple[int, ...],
          workers: int | None, executor: str, address: str | None, circuits_dir: Path,
          as_json: bool) -> None:
    """Prove one SGD step of a spec on a batch of real data.

    Builds the circuit first if needed (cached). Writes a step proof: the proof, the KZG
    points of its tensors, the circuit id and the commitments to W_t, the batch and W_{t+1}.
    The proof runs in a child process: Ctrl-C stops it at once (exit 130, nothing written).

    With --sharded (or when the spec's monolithic circuit would not fit in memory) the step is
    proven as linked shards (pot.step-proof/3): each shard proof is written to OUT.shards/ as it
    is done, and a stopped run started again resumes with the shards already there.

    \b
    Example:
        pot prove --spec mlp-tiny --batch 0:4 --out step.json
        pot prove --spec mlp-tiny --data mine.npz --batch 8:12 --out step.json
        pot prove --spec mlp-digits --sharded --workers 2 --out step.json
        pot prove --spec mlp-digits --sharded --executor ray --address auto
    """
    import time

    from pot.data import (
        batch_arrays,
        initial_checkpoint,
        load_checkpoint,
        load_data,
        parse_indices,
        save_checkpoint,
    )
    from pot.executors import ProofTask, prove_in_children
    from pot.spec import load_spec

    check_output_path(out, "--out")
    if next_checkpoint:
        check_output_path(next_checkpoint, "--next-checkpoint")
    spec = load_spec(spec_name)
    params = load_checkpoint(checkpoint, spec) if checkpoint else initial_checkpoint(spec)
    data = load_data(spec, data_file, label_column)
    if batch_spec == "0:16" and spec.batch_size != 16:
        batch_spec = f"0:{spec.batch_size}"
    x, y = batch_arrays(data, parse_indices(batch_spec, len(data)), spec)
    from pot.shard.circuits import ShardedCircuit

    with phase_status(not as_json) as progress:
        built = _build(spec, srs, sharded, shard_logrows, tile_rows, circuits_dir, progress)
    if isinstance(built, ShardedCircuit):
        _prove_sharded(built, params, x, y, out, next_checkpoint, workers, executor, address,
                       as_json)
        return
    circuit = built
    with phase_status(not as_json) as progress:
        progress("proving (witness + prove; Ctrl-C stops)")
        start = time.perf_counter()
        try:
            [(step, witness)] = prove_in_children(circuit, [ProofTask(params, x, y)])
        except KeyboardInterrupt:
            raise PotClickException("interrupted: the proof was stopped; nothing was written",
                                    EXIT_INTERRUPTED) from None
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


def _build(spec: Any, srs: Path | None, sharded: bool | None, shard_logrows: int,
           tile_rows: tuple[int, ...], circuits_dir: Path, progress: Callable[[str], None]) -> Any:
    """The spec's monolithic circuit, or its sharded one (asked for, or needed by memory).

    Raises
    ------
    SetupError
        If the monolithic circuit is predicted not to fit (:func:`pot.cost.check_fits`) and the
        spec cannot be sharded to fit either; the message gives both reasons.
    """
    from pot.circuit import build_circuit
    from pot.cost import check_fits
    from pot.errors import SetupError, SpecError
    from pot.shard.circuits import build_sharded, choose_tile_rows
    from pot.shard.plan import ShardPlan

    if sharded is False:
        return build_circuit(spec, circuits_dir, srs=srs, progress=progress)
    unfit: SetupError | None = None
    if sharded is None:
        try:
            check_fits(spec)
        except SetupError as e:
            unfit = e  # too large as one circuit: shard it
        else:
            return build_circuit(spec, circuits_dir, srs=srs, progress=progress)
    progress("choosing tiles")
    try:
        tiles = tile_rows or choose_tile_rows(spec, shard_logrows)
    except (SetupError, SpecError) as e:
        if unfit is None:
            raise
        raise SetupError(f"{unfit}; nor does it fit as shards at logrows {shard_logrows}: {e}") from e
    try:
        plan = ShardPlan(spec, tuple(tiles))
    except SpecError as e:
        raise PotClickException(f"--tile-rows: {e}", EXIT_MALFORMED) from e
    return build_sharded(plan, circuits_dir, shard_logrows, srs, progress)


def _prove_sharded(sc: Any, params: Any, x: Any, y: Any, out: Path, next_checkpoint: Path | None,
                   workers: int | None, executor: str, address: str | None, as_json: bool) -> None:
    """``pot prove`` of a sharded circuit: witnesses, then shard proofs with a progress bar."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pot.data import save_checkpoint
    from pot.shard.prover import (
        LocalShardPool,
        RayShardPool,
        memory_workers,
        params_next,
        prove_sharded,
        run_sharded,
    )

    pool: Any = (RayShardPool(address) if executor == "ray"
                 else LocalShardPool(workers or memory_workers(sc.logrows)))
    start = time.perf_counter()
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, disable=as_json) as bar:
        step_task = bar.add_task(f"step of {sc.spec.name}: witnesses", total=None)
        witness = run_sharded(sc, params, x, y)
        bar.update(step_task, description=f"step of {sc.spec.name}: shards",
                   total=len(sc.plan.shards), completed=0)

        def done(name: str, seconds: float) -> None:
            bar.advance(step_task)
            if not as_json:
                bar.console.log(f"shard {name}: " + (f"proven in {seconds:.1f} s" if seconds
                                                     else "kept from an earlier run"))

        step = prove_sharded(sc, witness, out.with_name(out.name + ".shards"), pool, done)
    seconds = time.perf_counter() - start
    _write_atomic(out, json.dumps(step.to_json(), indent=1, sort_keys=True) + "\n")
    if next_checkpoint:
        save_checkpoint(next_checkpoint, params_next(sc, witness), sc.spec)
    info = {"proof": str(out), "circuit_id": sc.circuit_id, "prove_seconds": seconds,
            "shards": len(step.shards), **step.to_json()["commitments"]}
    if as_json:
        emit_json(info)
    else:
        click.echo(f"proved one SGD step of {sc.spec.name} as {len(step.shards)} linked shards in "
                   f"{seconds:.1f} s -> {out}")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


PROGRESS_MIN_FILES = 10
"""``pot verify`` shows a progress bar on a terminal's stderr from this many files on."""


def _verify_paths(files: tuple[Path, ...]) -> list[Path]:
    """The files to verify: each file as given, each folder's ``*.json`` in name order."""
    return [p for f in files for p in (sorted(f.glob("*.json")) if f.is_dir() else [f])]


@contextlib.contextmanager
def _file_progress(total: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar over ``total`` files on stderr, if stderr is a terminal and total is
    at least :data:`PROGRESS_MIN_FILES`; yields the function that advances it by one file."""
    from rich.console import Console

    console = Console(stderr=True)
    if total < PROGRESS_MIN_FILES or not console.is_terminal:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("files", total=total)
        yield lambda: bar.advance(task)


def _load_pinned(circuit_paths: tuple[Path, ...], circuit_ids: tuple[str, ...],
                 circuits_dir: Path) -> dict[str, Any]:
    """The pinned circuits by id, each loaded (and its files hashed) once."""
    from pot.errors import CircuitError
    from pot.shard.circuits import find_any_circuit, load_any_circuit

    if not circuit_paths and not circuit_ids:
        raise PotClickException("pin a circuit: --circuit DIR or --circuit-id ID (either may be "
                                "repeated)", EXIT_MALFORMED)
    if circuit_paths and circuit_ids:
        raise PotClickException("pin circuits with --circuit or with --circuit-id, not both",
                                EXIT_MALFORMED)
    try:
        loaded = ([load_any_circuit(p) for p in circuit_paths] if circuit_paths
                  else [find_any_circuit(i, circuits_dir) for i in circuit_ids])
    except CircuitError as e:
        raise PotClickException(str(e), EXIT_MALFORMED) from e
    return {c.circuit_id: c for c in loaded}


@main.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=True, path_type=Path))
@click.option("--circuit", "circuit_paths", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="A pinned circuit folder (repeat to pin several).")
@click.option("--circuit-id", "circuit_ids", multiple=True,
              help="A pinned circuit id, looked up under --circuits (repeat to pin several).")
@click.option("--expect", "expect_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON of what the chain knows about a bundle's submission (docs/protocol.md).")
@click.option("--allow-dev-srs", is_flag=True, help="Accept a development (insecure) SRS.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes verifying files in parallel, each loading the circuits once.")
@click.option("--backend", type=click.Choice(["evm", "ezkl"]), default="evm", show_default=True,
              help="Proof verifier: the pinned verifier contract in an in-process EVM, or ezkl.")
@circuits_option
@json_option
@boundary
def verify(files: tuple[Path, ...], circuit_paths: tuple[Path, ...], circuit_ids: tuple[str, ...],
           expect_path: Path | None, allow_dev_srs: bool, workers: int, backend: str,
           circuits_dir: Path, as_json: bool) -> None:
    """Verify step proofs or proof bundles against pinned circuits, many in one call.

    FILES are step proofs (pot prove; pot.step-proof/3 when sharded, judged under a pinned sharded
    circuit) or bundles (a trainer's signed round), or folders of them
    (every *.json inside, in name order). Each pinned circuit is loaded once; each file is judged
    under the pinned circuit it names (a file naming a circuit that is not pinned is judged under
    the first pinned one, and fails with wrong_circuit). A bundle is checked against --expect
    when given (job, round, trainer, root, steps, beacon, min_samples, dataset_root,
    global_commitment, final_commitment), else for internal consistency, signature and proofs
    only.

    Prints one line per file, and a summary line when there are several; --json prints
    {"results": [{"file", "valid", "reason", "detail"}, ...], "totals": {...}, "valid": ...}.
    A progress bar shows on a terminal's stderr from 10 files on. --workers N verifies with N
    processes (ezkl's verify holds the GIL, so one process uses one core); lines and results keep
    the order of FILES. --backend picks what checks the proofs themselves: evm (the default, the
    faster) calls ezkl's reusable verifier contract in an in-process EVM, ezkl calls ezkl.verify;
    both give the same verdicts.

    Exit code 0 if every file is valid, 1 if any is invalid and none malformed, 2 if any file is
    malformed or unreadable, on a usage error (no circuit, an unloadable circuit or --expect), or
    if a worker process dies.

    \b
    Example:
        pot verify step.json --circuit circuits/mlp-tiny-0123abcd --allow-dev-srs --json
        pot verify bundles/ more/b7.json --circuit-id 0x... --expect round.json
        pot verify bundles/ --circuit-id 0x... --workers 2 --json
        pot verify step.json --circuit circuits/mlp-tiny-0123abcd --backend ezkl
    """
    import time

    from pot.errors import VerifierError
    from pot.verifier import expected_from_json, judge_files

    pinned = _load_pinned(circuit_paths, circuit_ids, circuits_dir)
    try:
        expected = expected_from_json(expect_path) if expect_path else None
    except MalformedInputError as e:
        raise PotClickException(f"--expect: {e}", EXIT_MALFORMED) from e
    paths = _verify_paths(files)
    first = next(iter(pinned.values()))
    results: list[dict[str, Any]] = []
    worst = EXIT_OK
    start = time.perf_counter()
    with _file_progress(len(paths)) as advance:
        try:
            for entry, judged in judge_files(paths, pinned, expected, allow_dev_srs, workers,
                                             backend):
                results.append(entry)
                # a bundle whose values break a protocol rule (a Merkle path of the wrong length,
                # a field out of range) is malformed: not judged, exit 2 as documented
                unjudged = not judged or entry["reason"] == "malformed"
                worst = max(worst, EXIT_MALFORMED if unjudged
                            else EXIT_OK if entry["valid"] else EXIT_INVALID)
                advance()
                if not as_json:
                    mark = ("valid" if entry["valid"]
                            else f"INVALID ({entry['reason']}): {entry['detail']}")
                    click.echo(f"{entry['file']}: {mark}")
        except VerifierError as e:
            raise PotClickException(f"{e} ({len(results)} of {len(paths)} files judged)",
                                    EXIT_MALFORMED) from e
    seconds = time.perf_counter() - start
    valid = sum(1 for r in results if r["valid"])
    malformed = sum(1 for r in results if r["reason"] in ("malformed", "error"))
    totals = {"files": len(results), "valid": valid, "invalid": len(results) - valid - malformed,
              "malformed": malformed, "seconds": round(seconds, 3),
              "files_per_second": round(len(results) / seconds, 2) if seconds > 0 else None}
    if as_json:
        emit_json({"circuit_id": first.circuit_id, "circuit_ids": sorted(pinned),
                   "results": results, "totals": totals, "valid": worst == EXIT_OK})
    elif len(results) > 1:
        click.echo(f"{totals['files']} files: {valid} valid, {totals['invalid']} invalid, "
                   f"{malformed} malformed in {seconds:.2f} s ({totals['files_per_second']} files/s)")
    sys.exit(worst)


@main.group()
def data() -> None:
    """A user's data files: their commitment and reference for a job."""


@data.command("commit")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--spec", "spec_name", required=True, help="Zoo name or path of a spec JSON file.")
@label_column_option
@circuits_option
@json_option
@boundary
def data_commit(file: Path, spec_name: str, label_column: str | None, circuits_dir: Path,
                as_json: bool) -> None:
    """Print a data file's dataset commitment and its CID.

    The file (.npz with x and y, or .csv with a header and a label column) is validated and
    quantised for the spec as the circuit does, cut into batches of the spec's batch size in
    file order (a last partial batch is left out), and each batch committed with the spec's
    circuit (built first if needed). The dataset commitment is the Merkle root of the batch
    commitments: what `pot chain join --dataset-commitment` takes, with --samples. The CID
    (CIDv1, raw, sha2-256 of the file's bytes) is the job's dataset_ref
    (`pot chain request --dataset CID`).

    \b
    Example:
        pot data commit mine.npz --spec mlp-tiny
        pot data commit table.csv --spec mlp-tiny --label-column digit --json
    """
    from pot.chain.cid import cid_to_bytes32
    from pot.circuit import build_circuit
    from pot.data import file_cid, load_data_file
    from pot.spec import load_spec
    from pot.trainer import LocalData, commit_dataset

    spec = load_spec(spec_name)
    dataset = load_data_file(file, spec, label_column)
    cid = file_cid(file)
    with phase_status(not as_json) as progress:
        circuit = build_circuit(spec, circuits_dir, progress=progress)
        progress("committing batches")
        commitment = commit_dataset(LocalData(spec, dataset.x, dataset.y), circuit)
    info = {"file": str(file), "spec": spec.name, "circuit_id": circuit.circuit_id,
            "samples": len(dataset), "batch_size": spec.batch_size,
            "batches": commitment.n_batches,
            "dataset_commitment": "0x" + commitment.root.hex(),
            "cid": cid, "dataset_ref": "0x" + bytes(cid_to_bytes32(cid)).hex()}
    if as_json:
        emit_json(info)
        return
    click.echo(f"dataset commitment  {info['dataset_commitment']}")
    click.echo(f"  {info['batches']} batches of {spec.batch_size} from {len(dataset)} samples "
               f"(pot chain join --dataset-commitment ... --samples {len(dataset)})")
    click.echo(f"cid                 {cid}")
    click.echo(f"dataset_ref         {info['dataset_ref']} (pot chain request --dataset CID)")


class RichReporter:
    """Progress of ``pot simulate`` on stderr: a phase line, a bar over proofs, a line per trainer."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        class CountColumn(MofNCompleteColumn):
            """``done/total`` for the proof bar; nothing for status lines, which have no total."""

            def render(self, task: Any) -> Any:
                from rich.text import Text

                return Text("") if task.total is None else super().render(task)

        self.progress_bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                     CountColumn(), TimeElapsedColumn(),
                                     console=Console(stderr=True))
        self._phase = self.progress_bar.add_task("starting", total=None)
        self._proofs = self.progress_bar.add_task("proofs", total=0, visible=False)
        self._trainers: dict[str, Any] = {}

    def __enter__(self) -> RichReporter:
        self.progress_bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress_bar.stop()

    def phase(self, text: str) -> None:
        self.progress_bar.update(self._phase, description=f"[bold]{text}")

    def trainer(self, name: str, status: str) -> None:
        if name not in self._trainers:
            self._trainers[name] = self.progress_bar.add_task("", total=None)
        self.progress_bar.update(self._trainers[name], description=f"  {name:<12} {status}")

    def progress(self, done: int, total: int) -> None:
        self.progress_bar.update(self._proofs, completed=done, total=max(total, 1), visible=True,
                                 description="  proofs (sampled steps)")


class PlainReporter:
    """Progress of ``pot simulate`` as plain lines on stderr, for a pipe or a log file.

    One line per phase, per trainer status and per finished proof, each stamped with the seconds
    since the start, so a log shows where the time went.
    """

    def __init__(self) -> None:
        import time

        self._clock = time.perf_counter
        self._start = self._clock()
        self._last_done = -1

    def __enter__(self) -> PlainReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _line(self, text: str) -> None:
        click.echo(f"[{self._clock() - self._start:7.1f} s] {text}", err=True)

    def phase(self, text: str) -> None:
        self._line(text)

    def trainer(self, name: str, status: str) -> None:
        self._line(f"  {name}: {status}")

    def progress(self, done: int, total: int) -> None:
        if done != self._last_done and total:
            self._last_done = done
            self._line(f"  proofs {done}/{total}")


PROOF_SCOPE = ("A valid proof shows that an update is honest SGD on the data the trainer committed "
               "to; it does not show that the data is good. A poisoner proves its steps like an "
               "honest trainer and is paid like one; robust aggregation (--rule) is what limits "
               "its effect on the model.")


def _print_report(report: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    def amounts(paid: dict[str, int], sign: str) -> list[str]:
        by_amount: dict[int, list[str]] = {}
        for name, wei in sorted(paid.items()):
            by_amount.setdefault(wei, []).append(name)
        return [f"{' '.join(names)} {sign}{wei:.3g}" for wei, names in by_amount.items()]

    rows = []
    for r in report["rounds"]:
        verdicts = [f"{' '.join(sorted(r['accepted']))} ok"] if r["accepted"] else []
        verdicts += [f"{k} {v}" for k, v in sorted(r["rejected"].items())]
        if r["excluded"]:
            verdicts.append(f"excluded by the rule: {' '.join(r['excluded'])}")
        paid = amounts(r["rewards_wei"], "+") + amounts(r["slashes_wei"], "-")
        rows.append((str(r["round"]), f"{r['accuracy']:.3f}", f"{r['loss']:.3f}",
                     f"{r['prove_seconds']:.0f}", f"{r['verify_seconds']:.1f}",
                     "\n".join(verdicts), "\n".join(paid)))

    def longest_word(column: int) -> int:  # a cell wraps between words, never inside one
        return max((len(w) for row in rows for w in row[column].split()), default=1)

    table = Table(title=f"job {report['job_id'][:18]}... circuit {report['circuit_id'][:18]}...",
                  box=box.SIMPLE_HEAD, caption="prove, verify: seconds; paid (+) and slashed (-): wei")
    for col in ("round", "acc", "loss", "prove", "verify"):
        table.add_column(col, no_wrap=True, justify="right")
    table.add_column("verdicts", min_width=longest_word(5))
    table.add_column("paid/slashed", min_width=longest_word(6))
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print("trainers: " + ", ".join(f"{k} {v['role']}"
                                           for k, v in sorted(report["trainers"].items())))
    c = report["centralised"]
    console.print(f"centralised float SGD ({c['sgd_steps']} steps): accuracy {c['accuracy']:.3f}, "
                  f"loss {c['loss']:.3f}")
    console.print(f"wall time {report['wall_seconds']} s; state root {report['state_root']}"
                  + ("; development SRS (insecure)" if report["dev_srs"] else ""))
    d = report["dataset"]
    console.print(f"data {d['file']} ({d['samples']} samples), dataset_ref {d['cid']}")
    if report["config"]["poisoners"]:
        console.print(PROOF_SCOPE)


@main.command()
@click.option("--spec", "spec_name", default="softmax-digits", show_default=True,
              help="Model spec (softmax-digits and mlp-tiny: 20-60 s per proof; mlp-digits: "
                   "minutes and ~6 GB).")
@click.option("--trainers", default=3, show_default=True, help="Honest trainers.")
@click.option("--rounds", default=4, show_default=True, help="Aggregation rounds.")
@click.option("--steps", default=20, show_default=True,
              help="SGD steps per trainer per round (T); only --samples of them are proven.")
@click.option("--samples", default=1, show_default=True, help="Challenged steps per trainer (k).")
@click.option("--rule", default="fedavg", show_default=True,
              type=click.Choice(list(RULE_BY_NAME)),
              help="Aggregation rule; centered-clipping is the robust one to use against "
                   "poisoners (benchmarks/robust_rules.py).")
@click.option("--rule-param", type=int,
              help="The rule's parameter: f for multi-krum (default 1), trim count (default 1), "
                   "clip radius in Q16 (default 131072 = 2.0).")
@click.option("--cheaters", default=0, show_default=True,
              help="Extra trainers that fabricate their steps.")
@click.option("--poisoners", default=0, show_default=True,
              help="Extra trainers that train honestly on relabelled data.")
@click.option("--seed", default=0, show_default=True, help="Seed of shards, keys and beacons.")
@data_option
@label_column_option
@click.option("--workers", type=int, help="Proving processes (default: one per core).")
@click.option("--executor", "executor_name", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Prove on a local process pool or a Ray cluster.")
@click.option("--address", help="Ray cluster address (with --executor ray; default: local Ray).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("runs/simulate"), show_default=True, help="Report and state folder.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@circuits_option
@json_option
@boundary
def simulate(spec_name: str, trainers: int, rounds: int, steps: int, samples: int, rule: str,
             rule_param: int | None, cheaters: int, poisoners: int, seed: int, data_file: Path | None,
             label_column: str | None, workers: int | None, executor_name: str,
             address: str | None, out: Path, resume: bool, circuits_dir: Path,
             as_json: bool) -> None:
    """Run a whole federated job with real proofs, on scikit-learn digits or on --data FILE.

    A TRAIN_REQUEST creates the job (its dataset_ref is the data file's CID); trainers join with
    non-IID shards (a seeded Dirichlet(0.5) split over labels, each shard written to
    --out/data/NAME.npz); every round runs local training, trajectory commitment, beacon,
    challenge, proving, verification, aggregation and settlement through the chain executor and
    its SQLite state. Writes report.json and report.png to --out. Progress goes to stderr: live
    on a terminal, plain lines otherwise. After Ctrl-C (exit 130), --resume continues the run.

    A proof shows an update is honest SGD on committed data; it cannot show the data is good:
    --poisoners train honestly on flipped labels, and only the --rule can limit them.

    \b
    Example:
        pot simulate --cheaters 1
        pot simulate --poisoners 1 --rule median --out runs/median
        pot simulate --data mine.npz --out runs/mine
        pot simulate --spec mlp-digits --rounds 2 --out runs/digits
        pot simulate --executor ray --address auto
    """
    from pot.executors import LocalProcessExecutor, ProofExecutor, RayExecutor
    from pot.simulate import DEFAULT_RULE_PARAMS, SimConfig, Simulation

    cfg = SimConfig(spec=spec_name, trainers=trainers, rounds=rounds, steps=steps, samples=samples,
                    rule=rule, rule_param=DEFAULT_RULE_PARAMS[rule] if rule_param is None
                    else rule_param, cheaters=cheaters, poisoners=poisoners,
                    seed=seed, data=str(data_file.resolve()) if data_file else "",
                    label_column=label_column or "")
    executor: ProofExecutor = (RayExecutor(address) if executor_name == "ray"
                               else LocalProcessExecutor(workers))
    try:
        if as_json:
            report = Simulation(cfg, out, circuits_dir, resume, executor).run()
            emit_json(report)
            return
        from rich.console import Console

        ui: RichReporter | PlainReporter = (RichReporter() if Console(stderr=True).is_terminal
                                            else PlainReporter())
        with ui:
            report = Simulation(cfg, out, circuits_dir, resume, executor, ui).run()
    except KeyboardInterrupt:
        raise PotClickException(f"interrupted; finished proofs are kept in {out}: run the same "
                                "command with --resume to continue", EXIT_INTERRUPTED) from None
    _print_report(report)
    click.echo(f"report: {out / 'report.json'}, plot: {out / 'report.png'}")


# Command groups live next to the library code they wrap; each is attached here, once.
# Keep these imports light: `pot verify` must not import torch (trainer code imports it lazily).
from pot.chain_cli import chain  # noqa: E402
from pot.fixtures.cli import fixtures  # noqa: E402
from pot.protocol.cli import keys, security  # noqa: E402
from pot.spec_cli import spec as spec_group  # noqa: E402

main.add_command(chain)
main.add_command(fixtures)
main.add_command(keys)
main.add_command(security)
main.add_command(spec_group)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
