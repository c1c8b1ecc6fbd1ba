"""Shard circuits: one ezkl circuit per shard kind, all at one logrows over one SRS.

A sharded circuit is a folder of kind folders, each laid out as :mod:`pot.circuit`'s (ezkl's
default names), plus the plan and one manifest naming them all::

    circuits/<spec>-sharded-<cache key>/
        manifest.json    pot.sharded-circuit/1: plan, logrows, SRS, each kind's circuit id; its id
        kzg.srs          the one SRS every kind uses (hard-linked into each kind folder)
        <kind>/          network.onnx settings.json model.compiled vk.key pk.key kzg.srs manifest.json

A linked tensor's KZG point is the commitment of its column polynomial over the ``2**logrows``
domain, so every kind is built at the same logrows and over the same SRS: only then do a
producer's output point and a consumer's input point of one tensor agree. The logrows is the
largest any kind needs; :func:`choose_tile_rows` picks the tile sizes so that it stays at the one
asked for.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pot.circuit import (
    CHECK_MODE,
    EZKL_VERSION,
    INPUT_VISIBILITY,
    MAX_MANIFEST_BYTES,
    NUM_INNER_COLS,
    OUTPUT_VISIBILITY,
    VERIFIER_FILES,
    Circuit,
    Progress,
    _noop,
    column_capacity,
    logrows_for,
    lookup_range,
    py_run_args,
    run_args,
    sha256_file,
    srs_logrows,
)
from pot.errors import CircuitError, SetupError
from pot.shard.plan import ShardPlan, mlp_widths
from pot.spec import ModelSpec, canonical_json

SHARDED_FORMAT = "pot.sharded-circuit/1"
KIND_FORMAT = "pot.shard-circuit/1"
DEFAULT_SHARD_LOGROWS = 16  # 2**16 rows: about 3 GB peak to prove one shard
PROVE_BYTES_PER_ROW = 47_000  # peak RSS of ezkl's prover per 2**logrows row (6.13 GB at 2**17)


def kind_run_args(plan: ShardPlan, kind: str, logrows: int) -> dict[str, Any]:
    """pot's run args (:func:`pot.circuit.run_args`) with the kind's IO range check
    (:data:`pot.shard.plan.IO_RANGE_CHECKED`)."""
    args = run_args(plan.spec, logrows)
    args["ignore_range_check_inputs_outputs"] = not plan.kinds[kind].io_range_checked
    return args


def _id(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "circuit_id"}
    return "0x" + hashlib.sha256(canonical_json(body)).hexdigest()


def _read_manifest(path: Path, fmt: str) -> dict[str, Any]:
    mpath = path / "manifest.json"
    try:
        if mpath.stat().st_size > MAX_MANIFEST_BYTES:
            raise CircuitError(f"{mpath} is too large to be a manifest")
        manifest = json.loads(mpath.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CircuitError(f"{path} is not a circuit folder (no readable manifest.json): {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        raise CircuitError(f"{mpath} is not a {fmt} manifest")
    if manifest.get("circuit_id") != _id(manifest):
        raise CircuitError(f"{mpath}: circuit_id does not match the manifest's content")
    if manifest.get("ezkl_version") != EZKL_VERSION:
        raise CircuitError(f"circuit {path} was built with another ezkl version")
    return manifest


@dataclass(frozen=True)
class ShardedCircuit:
    """A built sharded circuit: the plan and one :class:`pot.circuit.Circuit` per kind.

    Attributes
    ----------
    path
        The folder.
    manifest
        The parsed top ``manifest.json``.
    plan
        The shard plan it proves.
    kinds
        Kind name -> its circuit (a kind folder; ``Circuit`` API: files, logrows, id).
    """

    path: Path
    manifest: dict[str, Any]
    plan: ShardPlan
    kinds: dict[str, Circuit]

    @property
    def circuit_id(self) -> str:
        return str(self.manifest["circuit_id"])

    @property
    def spec(self) -> ModelSpec:
        return self.plan.spec

    @property
    def logrows(self) -> int:
        return int(self.manifest["logrows"])

    @property
    def dev_srs(self) -> bool:
        return bool(self.manifest["srs"]["insecure"])

    @property
    def can_prove(self) -> bool:
        return all(c.can_prove for c in self.kinds.values())

    def commit_circuit(self) -> Circuit:
        """A kind circuit to commit tensors with (every kind has the same SRS and logrows)."""
        return self.kinds[self.plan.shards[0].kind]


def load_sharded(path: Path, check_files: bool = True) -> ShardedCircuit:
    """Load and check a sharded circuit folder.

    Raises
    ------
    CircuitError
        If a manifest is missing or malformed, an id or a file hash does not match, or the kinds
        differ in logrows or SRS.
    """
    top = _read_manifest(path, SHARDED_FORMAT)
    try:
        spec = ModelSpec.from_json(top["spec"])
        plan = ShardPlan(spec, tuple(int(r) for r in top["tile_rows"]))
        if plan.to_json() != top["plan"]:
            raise CircuitError(f"{path}: the plan does not match its spec and tile rows")
        kinds: dict[str, Circuit] = {}
        for name, cid in top["kinds"].items():
            kpath = path / name
            manifest = _read_manifest(kpath, KIND_FORMAT)
            if manifest["circuit_id"] != cid or manifest["kind"] != plan.kinds[name].to_json():
                raise CircuitError(f"{path}: kind {name} is not the one the manifest names")
            if manifest["logrows"] != top["logrows"] or manifest["files"]["kzg.srs"] != top["srs"]["sha256"]:
                raise CircuitError(f"{path}: kind {name} has another logrows or SRS")
            if check_files:
                for fname in VERIFIER_FILES:
                    fpath = kpath / fname
                    if not fpath.exists() or sha256_file(fpath) != manifest["files"][fname]:
                        raise CircuitError(f"circuit {kpath}: {fname} is missing or does not "
                                           "match its manifest hash")
            kinds[name] = Circuit(path=kpath, manifest=manifest)
        if set(kinds) != set(plan.kinds):
            raise CircuitError(f"{path}: the kinds are not the plan's")
    except (KeyError, TypeError, ValueError) as e:
        raise CircuitError(f"{path / 'manifest.json'} is missing a field: {e}") from e
    return ShardedCircuit(path, top, plan, kinds)


def kind_rows(plan: ShardPlan, kind: str, work: Path) -> int:
    """Rows ezkl lays out for one kind (export + gen_settings; seconds, no setup)."""
    import ezkl

    from pot.shard.graphs import export_kind

    export_kind(plan, kind, work / "network.onnx")
    try:
        ezkl.gen_settings(str(work / "network.onnx"), str(work / "settings.json"),
                          py_run_args=py_run_args(kind_run_args(plan, kind, 15)))
    except RuntimeError as e:
        raise SetupError(f"ezkl could not lay out shard kind {kind}: {e}") from e
    return int(json.loads((work / "settings.json").read_text())["num_rows"])


def choose_tile_rows(spec: ModelSpec, logrows: int) -> tuple[int, ...]:
    """The largest tile (rows of ``W_i``) per hidden layer whose shards fit ``2**logrows`` rows.

    Rows grow linearly with a tile's rows; two layouts (1 and 2 rows) give the line, the fitted
    tile is then laid out to confirm, and shrunk until it fits.

    Raises
    ------
    SetupError
        If even a one-row tile, or the output shard, does not fit.
    """
    widths_all = mlp_widths(spec)
    n_layers = len(widths_all) - 1
    limit = (1 << logrows) - 64
    tiles = [1] * (n_layers - 1)

    def fits(t: tuple[int, ...], layer: int) -> int:
        plan = ShardPlan(spec, t)
        worst = 0
        with tempfile.TemporaryDirectory(prefix="pot-tile-") as tmp:
            for name, kind in plan.kinds.items():
                if kind.layer == layer or (layer == n_layers and kind.role == "out"):
                    worst = max(worst, kind_rows(plan, name, Path(tmp)))
        return worst

    for layer in range(1, n_layers):
        one = fits(tuple(tiles), layer)
        tiles[layer - 1] = 2
        two = fits(tuple(tiles), layer)
        slope, base = max(1, two - one), one - max(1, two - one)
        r = max(1, min(widths_all[layer], (limit - base) // slope))
        if one > limit:
            raise SetupError(f"spec {spec.name!r}: one row of layer {layer} needs {one} rows, "
                             f"more than logrows {logrows} holds")
        while True:
            tiles[layer - 1] = r
            if r == 1 or fits(tuple(tiles), layer) <= limit:
                break
            r = max(1, int(r * 0.9))
    if fits(tuple(tiles), n_layers) > limit:
        raise SetupError(f"spec {spec.name!r}: the output shard does not fit logrows {logrows}")
    return tuple(tiles)


def cache_key(plan: ShardPlan, logrows: int, srs: Path | None) -> str:
    body = {"plan": plan.to_json(), "ezkl": EZKL_VERSION, "logrows": logrows,
            "run_args": run_args(plan.spec, logrows),
            "srs": sha256_file(srs) if srs is not None else "development"}
    return hashlib.sha256(canonical_json(body)).hexdigest()[:16]


def build_sharded(plan: ShardPlan, root: Path, logrows: int = DEFAULT_SHARD_LOGROWS,
                  srs: Path | None = None, progress: Progress = _noop) -> ShardedCircuit:
    """Build (or reuse) every kind circuit of ``plan`` at ``logrows`` over one SRS.

    Parameters
    ----------
    plan
        The shard plan (:func:`choose_tile_rows` gives tile rows that fit ``logrows``).
    root
        Folder holding circuit folders.
    logrows
        The one logrows of every kind.
    srs
        A ceremony SRS; without it a development SRS is made (labelled insecure).
    progress
        Called with ``"<kind>: <phase>"`` before each phase.

    Raises
    ------
    SetupError
        If a kind needs more rows than ``2**logrows`` holds, or an ezkl phase fails.
    """
    import ezkl

    from pot.shard.graphs import export_kind, kind_io

    spec = plan.spec
    folder = root / f"{spec.name}-sharded-{cache_key(plan, logrows, srs)}"
    if (folder / "manifest.json").exists():
        built = load_sharded(folder)
        if built.can_prove:
            return built
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.name}-sharded-", dir=root))
    try:
        srs_path = work / "kzg.srs"
        if srs is None:
            progress("srs")
            ezkl.gen_srs(str(srs_path), logrows)
        else:
            if srs_logrows(srs) < logrows:
                raise SetupError(f"SRS {srs} has logrows {srs_logrows(srs)}, the shards need {logrows}")
            shutil.copyfile(srs, srs_path)
        kind_ids: dict[str, str] = {}
        for name, kind in plan.kinds.items():
            kdir = work / name
            kdir.mkdir()
            progress(f"{name}: export")
            export_kind(plan, name, kdir / "network.onnx")
            settings = kdir / "settings.json"
            try:
                progress(f"{name}: settings")
                ezkl.gen_settings(str(kdir / "network.onnx"), str(settings),
                                  py_run_args=py_run_args(kind_run_args(plan, name, logrows)))
                rows = int(json.loads(settings.read_text())["num_rows"])
                if logrows_for(rows) > logrows:
                    raise SetupError(f"shard kind {name} needs {rows} rows, more than logrows "
                                     f"{logrows} holds; use smaller tiles")
                inputs, outputs = kind_io(plan, name)
                largest = max(math.prod(shape) for _, shape in inputs)
                if largest > column_capacity(logrows):
                    raise SetupError(f"shard kind {name} has a tensor of {largest} values, more "
                                     f"than one committed column holds at logrows {logrows}")
                progress(f"{name}: compile")
                ezkl.compile_circuit(str(kdir / "network.onnx"), str(kdir / "model.compiled"),
                                     str(settings))
                os.link(srs_path, kdir / "kzg.srs")
                progress(f"{name}: setup")
                ezkl.setup(str(kdir / "model.compiled"), str(kdir / "vk.key"), str(kdir / "pk.key"),
                           str(kdir / "kzg.srs"), None, False)
            except RuntimeError as e:
                raise SetupError(f"ezkl failed while building shard kind {name}: {e}") from e
            manifest: dict[str, Any] = {
                "format": KIND_FORMAT, "spec": spec.to_json(), "kind": kind.to_json(),
                "ezkl_version": EZKL_VERSION, "logrows": logrows, "rows": rows, "scale": spec.scale,
                "lookup_range": list(lookup_range(spec)), "num_inner_cols": NUM_INNER_COLS,
                "visibility": {"input": INPUT_VISIBILITY, "output": OUTPUT_VISIBILITY},
                "check_mode": CHECK_MODE, "io_range_checked": kind.io_range_checked,
                "tensors": {"inputs": len(inputs), "outputs": len(outputs)},
                "srs": {"kind": "development" if srs is None else "ceremony", "insecure": srs is None,
                        "logrows": srs_logrows(srs_path)},
                "files": {f: sha256_file(kdir / f) for f in VERIFIER_FILES},
            }
            manifest["circuit_id"] = _id(manifest)
            (kdir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            kind_ids[name] = manifest["circuit_id"]
        top: dict[str, Any] = {
            "format": SHARDED_FORMAT, "spec": spec.to_json(), "spec_id": "0x" + spec.spec_id.hex(),
            "ezkl_version": EZKL_VERSION, "logrows": logrows, "tile_rows": list(plan.tile_rows),
            "plan": plan.to_json(), "kinds": kind_ids,
            "srs": {"kind": "development" if srs is None else "ceremony", "insecure": srs is None,
                    "logrows": srs_logrows(srs_path), "sha256": sha256_file(srs_path)},
        }
        top["circuit_id"] = _id(top)
        (work / "manifest.json").write_text(json.dumps(top, indent=2, sort_keys=True) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        work.rename(folder)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return load_sharded(folder)


def load_any_circuit(path: Path, check_files: bool = True) -> Circuit | ShardedCircuit:
    """A pinned circuit folder of either kind: monolithic (``pot.circuit/2``) or sharded.

    Raises
    ------
    CircuitError
        As :func:`pot.circuit.load_circuit` or :func:`load_sharded`.
    """
    from pot.circuit import load_circuit

    try:
        fmt = json.loads((path / "manifest.json").read_text()).get("format")
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        fmt = None
    if fmt == SHARDED_FORMAT:
        return load_sharded(path, check_files)
    return load_circuit(path, check_files)


def find_any_circuit(circuit_id: str, root: Path) -> Circuit | ShardedCircuit:
    """The monolithic or sharded circuit with ``circuit_id`` under ``root``.

    Raises
    ------
    CircuitError
        If no folder under ``root`` holds that circuit.
    """
    from pot.circuit import find_circuit

    found: Circuit | ShardedCircuit = find_circuit(circuit_id, root, load_any_circuit)
    return found


def monolithic_fits(spec: ModelSpec, budget_bytes: int | None = None) -> bool:
    """Whether the spec's monolithic step circuit fits this machine, by :func:`pot.cost.check_fits`
    (its predicted rows, logrows and peak RSS of proving; ``budget_bytes`` stands for the
    machine's memory when given)."""
    from pot.cost import check_fits

    try:
        check_fits(spec, memory_bytes=budget_bytes)
    except SetupError:
        return False
    return True
