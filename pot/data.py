"""Datasets, batches and checkpoints on the trainer side.

The datasets are scikit-learn's bundled ``load_digits`` (1797 real 8x8 images, shipped inside the
wheel; no download), either as 64 features scaled to [0, 1] by dividing by 16, or average-pooled
2x2 to 4x4 = 16 features. Both are exact multiples of 2**-6, so they quantise exactly at any scale
>= 6 bits: a batch's fixed-point values, and hence its commitment, do not depend on float
rounding.

A user's own data comes as an ``.npz`` file holding ``x`` and ``y``, or a ``.csv`` file with a header
row and a label column (:func:`load_data_file`). It is validated against the spec (sample shape,
finite values, the value range the fixed-point circuit takes, labels or targets) and snapped to the
fixed-point grid at the spec's scale, exactly as the circuit quantises its inputs, so that batch
commitments are over the same integers the circuit sees.

Checkpoints are ``.npz`` files (``allow_pickle=False``) holding one int64 array per parameter
(``w1, b1, w2, ...``) in fixed point at the spec's scale, plus a 0-d ``scale`` array.
"""

from __future__ import annotations

import csv
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from eth_hash.auto import keccak

from pot.errors import DataError, MalformedInputError
from pot.spec import ModelSpec

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
TEST_FRACTION_DEN = 5  # every 5th sample (by a seeded permutation) is held out for testing
MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024
INIT_DOMAIN = b"pot/v1/init"
NPZ_MAGIC = b"PK\x03\x04"  # an .npz is a zip archive
MAX_DATA_FILE_BYTES = 256 * 1024 * 1024
MAX_DATA_SAMPLES = 1_000_000
CIRCUIT_RANGE_BITS = 27
"""ezkl 23.0.5 decomposes every value it compares or rescales into ``decomp_legs = 2`` digits of
base ``decomp_base = 2**14`` (its defaults, which pot keeps), so a value must stay within
``+-2**27`` quanta."""
DATA_HEADROOM_BITS = 8
"""Bits of that range kept back for the sums a layer makes over its inputs (a fan-in of 256 at
weight 1), so an input value may use ``CIRCUIT_RANGE_BITS - DATA_HEADROOM_BITS`` bits in all."""
LOSS_CROSS_ENTROPY = "softmax_cross_entropy"


@dataclass(frozen=True)
class Dataset:
    """A labelled dataset.

    Attributes
    ----------
    x
        ``(n, n_features)`` float64, one flattened sample a row (the circuit reshapes it to the
        spec's ``input_shape``), each value on the spec's fixed-point grid (bundled digits: in
        [0, 1], exact multiples of 2**-6).
    y
        ``(n,)`` int64 class labels in ``0..classes-1`` (cross-entropy), or ``(n, outputs)``
        float64 targets on the fixed-point grid (MSE).
    classes
        Number of classes (cross-entropy) or of target values per sample (MSE).
    """

    x: FloatArray
    y: npt.NDArray[Any]
    classes: int

    def __len__(self) -> int:
        return int(self.y.shape[0])


def load_dataset(name: str | None) -> Dataset:
    """Load a bundled dataset by name (a spec's optional ``dataset``).

    Raises
    ------
    DataError
        If the name is unknown, or ``None`` (the spec names no built-in dataset).
    """
    from sklearn.datasets import load_digits  # trainer-only dependency

    if name is None:
        raise DataError("the spec names no built-in dataset: give a data file (--data)")
    if name == "diabetes":
        return _diabetes()
    if name not in ("digits", "digits4x4"):
        raise DataError(f"unknown dataset {name!r}; known: digits, digits4x4, diabetes")
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0  # (1797, 8, 8)
    if name == "digits4x4":
        images = images.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4))
    x = images.reshape(images.shape[0], -1)
    return Dataset(x=x, y=np.asarray(bunch.target, dtype=np.int64), classes=10)


def _diabetes() -> Dataset:
    """scikit-learn's bundled ``load_diabetes`` (442 patients, 10 features, disease progression):
    features and target standardised, clipped to 4 standard deviations and rounded to 2**-6, so
    they quantise exactly like the digits. ``y`` is the ``(442, 1)`` target."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    x = np.asarray(bunch.data, dtype=np.float64)
    t = np.asarray(bunch.target, dtype=np.float64)
    x = np.clip((x - x.mean(axis=0)) / x.std(axis=0), -4, 4)
    t = np.clip((t - t.mean()) / t.std(), -4, 4)
    return Dataset(x=np.round(x * 64) / 64, y=(np.round(t * 64) / 64).reshape(-1, 1), classes=1)


def train_test_split(data: Dataset, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split into (train, test) by a seeded permutation; 1 in ``TEST_FRACTION_DEN`` is test."""
    perm = np.random.default_rng(seed).permutation(len(data))
    n_test = len(data) // TEST_FRACTION_DEN
    test, train = perm[:n_test], perm[n_test:]
    return (Dataset(data.x[train], data.y[train], data.classes),
            Dataset(data.x[test], data.y[test], data.classes))


def one_hot(y: IntArray, classes: int) -> FloatArray:
    """``(n,)`` labels to ``(n, classes)`` float64 one-hot rows."""
    out = np.zeros((y.shape[0], classes), dtype=np.float64)
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def targets(y: npt.NDArray[Any], spec: ModelSpec) -> FloatArray:
    """The circuit's ``y`` input for labels or targets ``y``: ``(n, n_outputs)`` float64.

    One-hot rows of the class labels for cross-entropy; the targets themselves for MSE.
    """
    if not spec.classifies:
        return np.asarray(y, dtype=np.float64).reshape(y.shape[0], spec.n_outputs)
    return one_hot(np.asarray(y, dtype=np.int64), spec.n_outputs)


def data_limit(scale: int) -> float:
    """The largest absolute value (real units) a data value may take at ``scale`` fractional bits.

    ``2**(CIRCUIT_RANGE_BITS - DATA_HEADROOM_BITS - scale)``: 64 at scale 13. Source: ezkl's
    decomposition range (:data:`CIRCUIT_RANGE_BITS`).
    """
    return float(2 ** (CIRCUIT_RANGE_BITS - DATA_HEADROOM_BITS - scale))


def load_data(spec: ModelSpec, path: Path | None = None, label_column: str | None = None) -> Dataset:
    """The user's data file if ``path`` is given (:func:`load_data_file`), else the spec's bundled
    dataset (:func:`load_dataset`)."""
    if path is None:
        return load_dataset(spec.dataset)
    return load_data_file(path, spec, label_column)


def load_data_file(path: Path, spec: ModelSpec, label_column: str | None = None) -> Dataset:
    """Read, validate and quantise a user's data file for ``spec``.

    Parameters
    ----------
    path
        ``.npz`` holding arrays ``x`` ``(n, *input_shape)`` (or ``(n, prod(input_shape))``) and
        ``y`` (``(n,)`` labels, or ``(n, outputs)`` targets for MSE); or ``.csv`` with a header
        row, one sample per row, the feature columns in row-major order and the label column(s).
    spec
        The model spec the data is for (input shape, loss, outputs, scale).
    label_column
        CSV only: the label column's name (default the last column); for MSE with several
        outputs, comma-separated names (default the last ``outputs`` columns).

    Returns
    -------
    Dataset
        ``x`` snapped to the fixed-point grid at ``spec.scale`` (the circuit's own quantisation,
        :func:`quantize`), and the labels or targets (targets snapped likewise).

    Raises
    ------
    DataError
        With a one-line message for each failure: an unreadable or oversized file, a wrong
        format, a wrong sample shape, a NaN or infinity, a value outside ``+-data_limit(scale)``,
        a label outside the spec's classes (or targets of the wrong shape), no samples, or more
        than :data:`MAX_DATA_SAMPLES`.
    """
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_DATA_FILE_BYTES:
        raise DataError(f"data file {path} is {size} bytes, over the limit of "
                        f"{MAX_DATA_FILE_BYTES}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        if label_column is not None:
            raise DataError("--label-column is for CSV files; an .npz holds arrays x and y")
        x, y = _read_npz(path)
    elif suffix == ".csv":
        x, y = _read_csv(path, spec, label_column)
    else:
        raise DataError(f"data file {path} must be .npz (arrays x and y) or .csv (a header row "
                        "and a label column)")
    return validate_data(x, y, spec, str(path))


def _read_npz(path: Path) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    with open(path, "rb") as fh:
        magic = fh.read(len(NPZ_MAGIC))
    if magic != NPZ_MAGIC:
        raise DataError(f"{path} is not an .npz file (numpy.savez writes one)")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            if not {"x", "y"} <= names:
                raise DataError(f"{path} must hold arrays 'x' and 'y', it holds: "
                                f"{', '.join(sorted(names)) or 'nothing'}")
            if names - {"x", "y"}:
                raise DataError(f"{path} holds arrays other than 'x' and 'y': "
                                f"{', '.join(sorted(names - {'x', 'y'}))}")
            x, y = z["x"], z["y"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"cannot read {path}: {str(e).splitlines()[0]}") from e
    for name, arr in (("x", x), ("y", y)):
        if arr.dtype.kind not in "biuf":
            raise DataError(f"{path}: array {name!r} has dtype {arr.dtype}, not numbers")
    return x, y


def _read_csv(path: Path, spec: ModelSpec,
              label_column: str | None) -> tuple[FloatArray, FloatArray]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh)
            header = next(rows, None)
            if header is None:
                raise DataError(f"{path} is empty: a CSV needs a header row and samples")
            header = [h.strip() for h in header]
            n_labels = spec.n_outputs if not spec.classifies else 1
            names = ([n.strip() for n in label_column.split(",")] if label_column
                     else header[-n_labels:])
            for name in names:
                if name not in header:
                    raise DataError(f"{path} has no column {name!r}; its columns: "
                                    f"{', '.join(header)}")
            if len(set(names)) != len(names) or len(names) >= len(header):
                raise DataError(f"{path}: label columns {names} must be distinct and leave "
                                "feature columns")
            label_idx = [header.index(n) for n in names]
            feature_idx = [i for i in range(len(header)) if i not in label_idx]
            values: list[list[float]] = []
            for row in rows:
                if not row:
                    continue
                line = rows.line_num
                if len(row) != len(header):
                    raise DataError(f"{path}:{line}: {len(row)} fields, the header has "
                                    f"{len(header)}")
                if len(values) >= MAX_DATA_SAMPLES:
                    raise DataError(f"{path} has more than {MAX_DATA_SAMPLES} samples")
                parsed = []
                for i, field in enumerate(row):
                    try:
                        parsed.append(float(field))
                    except ValueError:
                        raise DataError(f"{path}:{line}: column {header[i]!r}: {field!r} is not "
                                        "a number") from None
                values.append(parsed)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read {path}: {e}") from e
    table = np.asarray(values, dtype=np.float64).reshape(len(values), len(header))
    y = table[:, label_idx]
    return table[:, feature_idx], (y[:, 0] if spec.classifies else y)


def validate_data(x: npt.NDArray[Any], y: npt.NDArray[Any], spec: ModelSpec,
                  source: str = "data") -> Dataset:
    """Check ``(x, y)`` against ``spec`` and snap it to the fixed-point grid (see
    :func:`load_data_file`, which calls this on a file's arrays).

    Raises
    ------
    DataError
        As :func:`load_data_file`.
    """
    shape = tuple(spec.input_shape)
    n = int(x.shape[0]) if x.ndim >= 1 else 0
    if n == 0:
        raise DataError(f"{source} holds no samples")
    if n > MAX_DATA_SAMPLES:
        raise DataError(f"{source} has {n} samples, over the limit of {MAX_DATA_SAMPLES}")
    if y.ndim == 0 or y.shape[0] != n:
        raise DataError(f"{source}: x has {n} samples, y has "
                        f"{y.shape[0] if y.ndim else 0}")
    if tuple(x.shape[1:]) != shape and not (x.ndim == 2 and x.shape[1] == math.prod(shape)):
        raise DataError(f"{source}: a sample of x has shape {tuple(x.shape[1:])}, spec "
                        f"{spec.name!r} takes {shape}")
    x = x.reshape(n, math.prod(shape))  # the circuit's x is flat: (B, n_features)
    limit = data_limit(spec.scale)
    xf = _checked_values(np.asarray(x, dtype=np.float64), "x", source, limit, spec.scale)
    if not spec.classifies:
        outputs = spec.n_outputs
        if y.ndim == 1 and outputs == 1:
            y = y.reshape(n, 1)
        if y.shape[1:] != (outputs,):
            raise DataError(f"{source}: targets y have shape {tuple(y.shape[1:])} per sample, "
                            f"spec {spec.name!r} has {outputs} outputs")
        yf = _checked_values(np.asarray(y, dtype=np.float64), "y", source, limit, spec.scale)
        return Dataset(x=dequantize(quantize(xf, spec.scale), spec.scale),
                       y=dequantize(quantize(yf, spec.scale), spec.scale), classes=outputs)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{source}: labels y must be one class per sample, got shape "
                        f"{tuple(y.shape)}")
    yf = np.asarray(y, dtype=np.float64)
    classes = spec.n_outputs
    bad = np.flatnonzero(~np.isfinite(yf) | (yf != np.round(yf)) | (yf < 0) | (yf >= classes))
    if bad.size:
        raise DataError(f"{source}: label {yf[bad[0]]:g} of sample {bad[0]} is not a class of "
                        f"spec {spec.name!r} (0..{classes - 1})")
    return Dataset(x=dequantize(quantize(xf, spec.scale), spec.scale),
                   y=yf.astype(np.int64), classes=classes)


def _checked_values(a: FloatArray, name: str, source: str, limit: float, scale: int) -> FloatArray:
    flat = a.reshape(a.shape[0], -1)
    bad = np.argwhere(~np.isfinite(flat))
    if bad.size:
        raise DataError(f"{source}: {name} of sample {bad[0][0]} is {flat[tuple(bad[0])]} "
                        "(values must be finite)")
    bad = np.argwhere(np.abs(flat) > limit)
    if bad.size:
        raise DataError(f"{source}: {name} of sample {bad[0][0]} is {flat[tuple(bad[0])]:g}, "
                        f"outside [-{limit:g}, {limit:g}], the range the fixed-point circuit "
                        f"takes at scale {scale}; rescale the data")
    return a


def file_cid(path: Path) -> str:
    """The CIDv1 (codec ``raw``, sha2-256, base32) of a file's bytes: its ``dataset_ref``.

    It is what ``ipfs add --cid-version=1 --raw-leaves`` prints for a file of one block (up to
    256 KiB); its bytes32 (:func:`pot.chain.cid.cid_to_bytes32`) is the file's sha256.

    Raises
    ------
    DataError
        If the file cannot be read.
    """
    from multiformats import CID, multihash

    try:
        content = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e}") from e
    return str(CID("base32", 1, "raw", multihash.digest(content, "sha2-256")))


def parse_indices(text: str, n: int) -> list[int]:
    """Parse ``"0:16"`` (a slice) or ``"3,5,8"`` (a list) into sample indices below ``n``.

    Raises
    ------
    DataError
        On bad syntax or an index outside ``0..n-1``.
    """
    try:
        if ":" in text:
            lo_s, hi_s = text.split(":", 1)
            idx = list(range(int(lo_s), int(hi_s)))
        else:
            idx = [int(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise DataError(f"bad batch indices {text!r}: use 'start:stop' or 'i,j,k'") from e
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        raise DataError(f"batch index {bad[0]} is outside the dataset (0..{n - 1})")
    return idx


def batch_arrays(data: Dataset, indices: list[int], spec: ModelSpec) -> tuple[FloatArray, FloatArray]:
    """The ``(x, y)`` arrays of one batch: ``(B, n_features)`` and ``(B, outputs)`` float64
    (one-hot labels for cross-entropy, targets for MSE).

    Raises
    ------
    DataError
        If the batch size differs from the spec's or the features do not match.
    """
    if len(indices) != spec.batch_size:
        raise DataError(f"a batch of spec {spec.name!r} has {spec.batch_size} samples, "
                        f"got {len(indices)}")
    x = data.x[indices]
    if x.shape[1] != spec.n_features:
        raise DataError(f"a sample of the dataset has {x.shape[1]} values, spec {spec.name!r} "
                        f"takes {spec.n_features} (shape {tuple(spec.input_shape)})")
    return x, targets(data.y[indices], spec)


def initial_checkpoint(spec: ModelSpec) -> dict[str, IntArray]:
    """The spec's initial weights W_0, fixed point, derived with integers only.

    Weight ``w_i[j]`` (row-major index ``j``) is He-uniform on the fixed-point grid:
    ``u mod (2q + 1) - q`` with ``q = isqrt(6 * 4**scale // fan_in)`` and
    ``u = keccak256(b"pot/v1/init" || spec_id || name || uint64_be(j))`` read big-endian, and
    ``fan_in`` from :meth:`ModelSpec.fan_in` (inputs per output); biases and momentum buffers
    are 0. Any client derives the same W_0 from the spec id, with no float or RNG involved.
    """
    params: dict[str, IntArray] = {}
    spec_id = spec.spec_id
    for name, shape in spec.param_shapes():
        size = int(np.prod(shape))
        fan_in = spec.fan_in(name)
        if fan_in == 0:  # biases and momentum buffers
            params[name] = np.zeros(shape, dtype=np.int64)
            continue
        q = math.isqrt(6 * 4**spec.scale // fan_in)
        prefix = INIT_DOMAIN + spec_id + name.encode()
        vals = [int.from_bytes(keccak(prefix + j.to_bytes(8, "big")), "big") % (2 * q + 1) - q
                for j in range(size)]
        params[name] = np.array(vals, dtype=np.int64).reshape(shape)
    return params


def quantize(x: npt.ArrayLike, scale: int) -> IntArray:
    """Round ``x * 2**scale`` half away from zero to int64 (ezkl's rounding of inputs)."""
    arr = np.asarray(x, dtype=np.float64) * float(2**scale)
    return (np.sign(arr) * np.floor(np.abs(arr) + 0.5)).astype(np.int64)


def dequantize(q: npt.ArrayLike, scale: int) -> FloatArray:
    """``q / 2**scale`` as float64 (exact for |q| < 2**53)."""
    return np.asarray(q, dtype=np.float64) / float(2**scale)


def save_checkpoint(path: Path, params: dict[str, IntArray], spec: ModelSpec) -> None:
    """Write a checkpoint atomically (a temporary file, then rename)."""
    check_checkpoint(params, spec)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        arrays: dict[str, npt.NDArray[np.int64]] = {"scale": np.asarray(spec.scale, dtype=np.int64)}
        arrays.update(params)
        np.savez(fh, allow_pickle=False, **arrays)
    tmp.replace(path)


def load_checkpoint(path: Path, spec: ModelSpec) -> dict[str, IntArray]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    MalformedInputError
        If the file is not an ``.npz`` of int64 arrays with the spec's names, shapes and scale.
    """
    try:
        if path.stat().st_size > MAX_CHECKPOINT_BYTES:
            raise MalformedInputError(f"checkpoint {path} is over {MAX_CHECKPOINT_BYTES} bytes")
        with open(path, "rb") as fh:
            magic = fh.read(len(NPZ_MAGIC))
        if magic != NPZ_MAGIC:
            raise MalformedInputError(f"checkpoint {path} is not an .npz file (pot prove "
                                      "--next-checkpoint and pot simulate write them)")
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise MalformedInputError(f"cannot read checkpoint {path}: {e}") from e
    scale = arrays.pop("scale", None)
    if scale is None or scale.shape != () or int(scale) != spec.scale:
        raise MalformedInputError(f"checkpoint {path} is not at scale {spec.scale}")
    params = {k: v for k, v in arrays.items()}
    check_checkpoint(params, spec)
    return params


def check_checkpoint(params: dict[str, IntArray], spec: ModelSpec) -> None:
    """Check names, shapes and dtype against the spec.

    Raises
    ------
    MalformedInputError
        On a missing or extra parameter, a wrong shape or a non-int64 array.
    """
    expected = dict(spec.param_shapes())
    if set(params) != set(expected):
        raise MalformedInputError(f"checkpoint has parameters {sorted(params)}, spec "
                                  f"{spec.name!r} needs {sorted(expected)}")
    for name, shape in expected.items():
        arr = params[name]
        if arr.dtype != np.int64 or arr.shape != shape:
            raise MalformedInputError(f"checkpoint parameter {name} must be int64 {shape}, "
                                      f"got {arr.dtype} {arr.shape}")
