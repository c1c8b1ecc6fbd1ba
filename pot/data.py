"""Datasets, batches and checkpoints on the trainer side.

The datasets are scikit-learn's bundled ``load_digits`` (1797 real 8x8 images, shipped inside the
wheel; no download), either as 64 features scaled to [0, 1] by dividing by 16, or average-pooled
2x2 to 4x4 = 16 features. Both are exact multiples of 2**-6, so they quantise exactly at any scale
>= 6 bits: a batch's fixed-point values, and hence its commitment, do not depend on float
rounding.

Checkpoints are ``.npz`` files (``allow_pickle=False``) holding one int64 array per parameter
(``w1, b1, w2, ...``) in fixed point at the spec's scale, plus a 0-d ``scale`` array.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Dataset:
    """A labelled dataset.

    Attributes
    ----------
    x
        ``(n, features)`` float64, each an exact multiple of 2**-6 (in [0, 1] for digits).
    y
        ``(n,)`` int64 class labels in ``0..classes-1`` (all 0 for a regression dataset).
    classes
        Number of classes (1 for a regression dataset).
    targets
        ``(n, outputs)`` float64 regression targets (multiples of 2**-6), or ``None`` for a
        classification dataset: what an MSE spec trains on.
    """

    x: FloatArray
    y: IntArray
    classes: int
    targets: FloatArray | None = None

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
        raise DataError("the spec names no built-in dataset")
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
    they quantise exactly like the digits."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    x = np.asarray(bunch.data, dtype=np.float64)
    t = np.asarray(bunch.target, dtype=np.float64)
    x = np.clip((x - x.mean(axis=0)) / x.std(axis=0), -4, 4)
    t = np.clip((t - t.mean()) / t.std(), -4, 4)
    return Dataset(x=np.round(x * 64) / 64, y=np.zeros(len(t), dtype=np.int64), classes=1,
                   targets=(np.round(t * 64) / 64).reshape(-1, 1))


def train_test_split(data: Dataset, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split into (train, test) by a seeded permutation; 1 in ``TEST_FRACTION_DEN`` is test."""
    perm = np.random.default_rng(seed).permutation(len(data))
    n_test = len(data) // TEST_FRACTION_DEN
    test, train = perm[:n_test], perm[n_test:]
    t = data.targets
    return (Dataset(data.x[train], data.y[train], data.classes, None if t is None else t[train]),
            Dataset(data.x[test], data.y[test], data.classes, None if t is None else t[test]))


def one_hot(y: IntArray, classes: int) -> FloatArray:
    """``(n,)`` labels to ``(n, classes)`` float64 one-hot rows."""
    out = np.zeros((y.shape[0], classes), dtype=np.float64)
    out[np.arange(y.shape[0]), y] = 1.0
    return out


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
    """The ``(x, y)`` arrays of one batch: ``(B, features)`` and ``(B, classes)`` float64, ``y``
    one-hot labels for a classifier, the regression targets for an MSE spec.

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
        raise DataError(f"dataset has {x.shape[1]} features, spec {spec.name!r} expects "
                        f"{spec.n_features}")
    if not spec.classifies:
        if data.targets is None or data.targets.shape[1] != spec.n_outputs:
            raise DataError(f"spec {spec.name!r} regresses {spec.n_outputs} targets; the dataset "
                            "has no such targets")
        return x, data.targets[indices]
    return x, one_hot(data.y[indices], spec.n_classes)


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
