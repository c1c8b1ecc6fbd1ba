"""Circuits: a spec's SGD step compiled by ezkl, with its keys, SRS and manifest.

One folder per circuit, with ezkl's default file names so that anyone who knows ezkl recognises it::

    circuits/<spec>-<cache key>/
        network.onnx     the exported SGD step (pot.export)
        settings.json    ezkl circuit settings
        model.compiled   compiled circuit (prover only; not in git)
        kzg.srs          structured reference string (ceremony file, or a development one)
        vk.key           verifying key
        vka.bin          the vk as ezkl's reusable EVM verifier takes it (pot.vka; not in the
                         manifest, so circuit ids are unchanged: verifiers re-derive it from vk.key)
        pk.key           proving key (prover only; never in git)
        manifest.json    what the circuit is and the sha256 of every file a verifier loads

Weights and batch are graph *inputs* with ``polycommit`` visibility: each input and output tensor
is committed by one unblinded KZG commitment at the start of the proof (:mod:`pot.tensors`), so one
vk serves every checkpoint (``fixed`` would bake the weights into the vk) and the circuit has no
public instances. ``hashed`` (a Poseidon hash per tensor, computed inside the circuit) and
``public`` cost more rows; ``benchmarks/prove_cost.py`` and ``docs/performance.md`` give the
measurements behind the choice. The circuit id is ``0x`` + sha256 of the canonical manifest without
the id.

Building is cached by a content hash of (spec, ezkl version, run args, SRS source): a second
:func:`build_circuit` with the same inputs returns the existing folder without redoing setup.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pot.cost import MIN_LOGROWS, check_fits, logrows_for
from pot.errors import CircuitError, PotError, SetupError
from pot.jsonio import canonical_json
from pot.spec import ModelSpec

EZKL_VERSION = "23.0.5"
MANIFEST_FORMAT = "pot.circuit/2"
INPUT_VISIBILITY = "polycommit"
OUTPUT_VISIBILITY = "polycommit"
PARAM_VISIBILITY = "fixed"  # the graph has no parameters of its own: weights are inputs
CHECK_MODE = "safe"
LOOKUP_HEADROOM = 1024  # quanta above 0 kept in the table
NUM_INNER_COLS = 2  # advice columns per region (ezkl's num_inner_cols); see docs/performance.md
COLUMN_RESERVED_ROWS = 6  # rows of a 2**logrows column ezkl keeps back (blinding and padding)


def lookup_range(spec: ModelSpec) -> tuple[int, int]:
    """The exp lookup table's range: the step clamps softmax inputs to [-SOFTMAX_CLAMP, 0]."""
    from pot.export import SOFTMAX_CLAMP

    return (-(SOFTMAX_CLAMP << spec.scale), LOOKUP_HEADROOM)
VERIFIER_FILES = ("network.onnx", "settings.json", "vk.key", "kzg.srs")
MAX_MANIFEST_BYTES = 1 << 20

Progress = Callable[[str], None]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def srs_logrows(path: Path) -> int:
    """The ``k`` (log2 of the size) in a halo2 KZG SRS file's header.

    Raises
    ------
    SetupError
        If the file cannot be read or is too short to be an SRS.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as e:
        raise SetupError(f"cannot read SRS {path}: {e}") from e
    if len(head) != 4:
        raise SetupError(f"{path} is not a KZG SRS file")
    return int(struct.unpack("<I", head)[0])


def run_args(spec: ModelSpec, logrows: int) -> dict[str, Any]:
    """The ezkl run args pot uses for ``spec`` (a plain dict; see :func:`lookup_range`)."""
    return {
        "input_scale": spec.scale,
        "param_scale": spec.scale,
        "input_visibility": INPUT_VISIBILITY,
        "output_visibility": OUTPUT_VISIBILITY,
        "param_visibility": PARAM_VISIBILITY,
        "check_mode": CHECK_MODE,
        "lookup_range": list(lookup_range(spec)),
        "num_inner_cols": NUM_INNER_COLS,
        "logrows": logrows,
    }


def column_capacity(logrows: int) -> int:
    """Values one committed (polycommit) column holds at ``logrows``."""
    return (1 << logrows) - COLUMN_RESERVED_ROWS


def py_run_args(args: dict[str, Any]) -> Any:
    import ezkl

    ra = ezkl.PyRunArgs()
    for key, value in args.items():
        setattr(ra, key, tuple(value) if isinstance(value, list) else value)
    return ra


@dataclass(frozen=True)
class Circuit:
    """A built circuit folder and its manifest.

    Attributes
    ----------
    path
        The folder.
    manifest
        The parsed ``manifest.json``.
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def circuit_id(self) -> str:
        return str(self.manifest["circuit_id"])

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec.from_json(self.manifest["spec"])

    @property
    def dev_srs(self) -> bool:
        """True if the SRS is a local development one (insecure: its toxic waste is known)."""
        return bool(self.manifest["srs"]["insecure"])

    @property
    def logrows(self) -> int:
        return int(self.manifest["logrows"])

    @property
    def n_input_tensors(self) -> int:
        """Committed input tensors: the parameters, then ``x`` and ``y``."""
        return int(self.manifest["tensors"]["inputs"])

    @property
    def n_output_tensors(self) -> int:
        """Committed output tensors: the updated parameters."""
        return int(self.manifest["tensors"]["outputs"])

    @property
    def column_capacity(self) -> int:
        """Values one committed column holds: ``2**logrows - COLUMN_RESERVED_ROWS``."""
        return column_capacity(self.logrows)

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def can_prove(self) -> bool:
        return self.file("pk.key").exists() and self.file("model.compiled").exists()


def _manifest_id(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "circuit_id"}
    return "0x" + hashlib.sha256(canonical_json(body)).hexdigest()


def load_circuit(path: Path, check_files: bool = True) -> Circuit:
    """Load and check a circuit folder.

    Parameters
    ----------
    path
        The circuit folder.
    check_files
        Recompute the sha256 of every verifier file and compare with the manifest.

    Raises
    ------
    CircuitError
        If the folder or a file is missing, the manifest is malformed, a file's hash or the circuit
        id does not match, or the circuit was made with another ezkl version.
    """
    mpath = path / "manifest.json"
    try:
        if mpath.stat().st_size > MAX_MANIFEST_BYTES:
            raise CircuitError(f"{mpath} is too large to be a manifest")
        manifest = json.loads(mpath.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CircuitError(f"{path} is not a circuit folder (no readable manifest.json): {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise CircuitError(f"{mpath} is not a {MANIFEST_FORMAT} manifest")
    try:
        if manifest["circuit_id"] != _manifest_id(manifest):
            raise CircuitError(f"{mpath}: circuit_id does not match the manifest's content")
        if manifest["ezkl_version"] != EZKL_VERSION:
            raise CircuitError(f"circuit {path} was built with ezkl {manifest['ezkl_version']}, "
                               f"this pot uses {EZKL_VERSION}")
        ModelSpec.from_json(manifest["spec"])
        files = manifest["files"]
        if check_files:
            for name in VERIFIER_FILES:
                fpath = path / name
                if not fpath.exists():
                    raise CircuitError(f"circuit {path} is missing {name}")
                if sha256_file(fpath) != files[name]:
                    raise CircuitError(f"circuit {path}: {name} does not match its manifest hash")
    except (KeyError, TypeError) as e:
        raise CircuitError(f"{mpath} is missing a field: {e}") from e
    return Circuit(path=path, manifest=manifest)


def find_circuit(circuit_id: str, root: Path, load: Callable[[Path], Any] | None = None) -> Any:
    """Find the circuit with ``circuit_id`` among the folders under ``root``.

    ``load`` reads the folder found (default :func:`load_circuit`;
    :func:`pot.shard.circuits.load_any_circuit` for a monolithic or sharded one).

    Raises
    ------
    CircuitError
        If no folder under ``root`` holds that circuit.
    """
    if root.is_dir():
        for mpath in sorted(root.glob("*/manifest.json")):
            try:
                manifest = json.loads(mpath.read_text())
            except (OSError, json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(manifest, dict) and manifest.get("circuit_id") == circuit_id:
                return (load or load_circuit)(mpath.parent)
    raise CircuitError(f"no circuit {circuit_id} under {root}; build it with `pot setup`")


def cache_key(spec: ModelSpec, srs: Path | None) -> str:
    """Content hash naming a circuit folder: spec, ezkl version, run args and SRS source."""
    body = {
        "spec": spec.to_json(),
        "ezkl": EZKL_VERSION,
        "run_args": run_args(spec, 0),
        "srs": sha256_file(srs) if srs is not None else "development",
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()[:16]


def _noop(_: str) -> None:
    pass


def build_circuit(
    spec: ModelSpec,
    root: Path,
    srs: Path | None = None,
    progress: Progress = _noop,
) -> Circuit:
    """Build (or reuse) the circuit of one SGD step of ``spec`` under ``root``.

    Runs export -> gen_settings -> compile -> SRS -> setup, then writes the manifest last, so a
    folder without a manifest is an interrupted build and is rebuilt.

    Parameters
    ----------
    spec
        The model spec.
    root
        Folder holding circuit folders (usually ``circuits/``).
    srs
        A ceremony SRS file (what production uses). Without it a local development SRS is made
        with ``ezkl.gen_srs`` and the manifest labels it insecure.
    progress
        Called with a short phase name before each phase.

    Returns
    -------
    Circuit
        The loaded circuit (prover files included).

    Raises
    ------
    SetupError
        If an ezkl phase fails, or the circuit is predicted not to fit this machine's memory
        (:func:`pot.cost.check_fits`: refused before any file is written, then again from the
        exact row count before compiling).
    """
    import ezkl

    from pot.export import export_step, input_names

    key = cache_key(spec, srs)
    folder = root / f"{spec.name}-{key}"
    if (folder / "manifest.json").exists():
        circuit = load_circuit(folder)
        if circuit.can_prove:
            _ensure_vka(circuit)
            return circuit

    check_fits(spec)  # predicted from the spec alone: refused before any file is written
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=root))
    try:
        progress("export")
        export_step(spec, work / "network.onnx")
        settings = work / "settings.json"
        progress("settings")
        logrows = MIN_LOGROWS
        try:
            ezkl.gen_settings(str(work / "network.onnx"), str(settings), py_run_args=py_run_args(
                run_args(spec, logrows)))
            rows = int(json.loads(settings.read_text())["num_rows"])
            logrows = logrows_for(rows)
            check_fits(spec, rows)  # the exact count, before compile and setup
            largest = max(spec.batch_size * max(spec.n_features, spec.n_classes),
                          *(math.prod(shape) for _, shape in spec.param_shapes()))
            if largest > column_capacity(logrows):
                raise SetupError(f"spec {spec.name!r} has a tensor of {largest} values, more than "
                                 f"one committed column holds at logrows {logrows}")
            ezkl.gen_settings(str(work / "network.onnx"), str(settings), py_run_args=py_run_args(
                run_args(spec, logrows)))
            progress("compile")
            ezkl.compile_circuit(str(work / "network.onnx"), str(work / "model.compiled"), str(settings))
            progress("srs")
            srs_path = work / "kzg.srs"
            if srs is None:
                ezkl.gen_srs(str(srs_path), logrows)
            else:
                if srs_logrows(srs) < logrows:
                    raise SetupError(f"SRS {srs} has logrows {srs_logrows(srs)}, the circuit "
                                     f"needs {logrows}")
                shutil.copyfile(srs, srs_path)
            progress("setup")
            ezkl.setup(str(work / "model.compiled"), str(work / "vk.key"), str(work / "pk.key"),
                       str(srs_path), None, False)
        except RuntimeError as e:
            raise SetupError(f"ezkl failed while building {spec.name!r}: {e}") from e
        n_in = len(input_names(spec))
        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "spec": spec.to_json(),
            "spec_id": "0x" + spec.spec_id.hex(),
            "ezkl_version": EZKL_VERSION,
            "logrows": logrows,
            "scale": spec.scale,
            "lookup_range": list(lookup_range(spec)),
            "visibility": {"input": INPUT_VISIBILITY, "output": OUTPUT_VISIBILITY,
                           "param": PARAM_VISIBILITY},
            "num_inner_cols": NUM_INNER_COLS,
            "tensors": {"inputs": n_in, "outputs": n_in - 2},
            "srs": {
                "kind": "development" if srs is None else "ceremony",
                "insecure": srs is None,
                "logrows": srs_logrows(work / "kzg.srs"),
            },
            "files": {name: sha256_file(work / name) for name in VERIFIER_FILES},
        }
        manifest["circuit_id"] = _manifest_id(manifest)
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        work.rename(folder)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    circuit = load_circuit(folder)
    _ensure_vka(circuit)
    return circuit


def _ensure_vka(circuit: Circuit) -> None:
    """Write the circuit's ``vka.bin`` (:mod:`pot.vka`) if it is missing or stale."""
    from pot.vka import VKA_FILE, derive_vka, parse_vka, write_vka

    words = derive_vka(circuit)
    path = circuit.file(VKA_FILE)
    try:
        if path.exists() and parse_vka(path.read_bytes()) == words:
            return
    except PotError:
        pass
    write_vka(circuit.path, words)


def exact_rows(spec: ModelSpec) -> int:
    """ezkl's exact row count of the spec's step: export, then ``ezkl.gen_settings`` (seconds; no
    keys). Needs torch and ezkl.

    Raises
    ------
    SetupError
        If ezkl cannot lay out the step.
    """
    import ezkl

    from pot.export import export_step

    with tempfile.TemporaryDirectory() as tmp:
        onnx, settings = Path(tmp) / "network.onnx", Path(tmp) / "settings.json"
        export_step(spec, onnx)
        try:
            ezkl.gen_settings(str(onnx), str(settings),
                              py_run_args=py_run_args(run_args(spec, MIN_LOGROWS)))
        except RuntimeError as e:
            raise SetupError(f"ezkl cannot lay out spec {spec.name!r}: {e}") from e
        return int(json.loads(settings.read_text())["num_rows"])
