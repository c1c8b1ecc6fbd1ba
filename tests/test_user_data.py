"""A user's own data (``--data FILE``): reading, validation, quantisation, and the CLI's answers.

None of these build a circuit: every refusal happens before any ezkl work.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from pot.cli import main
from pot.data import (
    MAX_DATA_SAMPLES,
    data_limit,
    dequantize,
    file_cid,
    load_data_file,
    quantize,
    validate_data,
)
from pot.errors import DataError, MalformedInputError
from pot.spec import ModelSpec, load_spec


@pytest.fixture
def spec() -> ModelSpec:
    return load_spec("mlp-tiny")  # 16 features, 10 classes, scale 13


def _npz(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    np.savez(path, x=x, y=y)
    return path


def _good(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(-2, 2, size=(n, 16)), np.arange(n) % 10


def test_npz_is_read_and_snapped_to_the_circuits_grid(tmp_path: Path, spec: ModelSpec) -> None:
    x, y = _good()
    data = load_data_file(_npz(tmp_path / "d.npz", x, y), spec)
    assert data.x.shape == (12, 16) and data.y.dtype == np.int64 and data.classes == 10
    assert np.array_equal(data.x, dequantize(quantize(x, 13), 13))
    assert np.array_equal(quantize(data.x, 13), quantize(x, 13))  # on the grid: exact
    assert np.array_equal(data.y, y)


def test_csv_label_column_by_name_or_last(tmp_path: Path, spec: ModelSpec) -> None:
    x, y = _good(5)
    header = [f"f{i}" for i in range(16)]
    pairs = list(zip(x, y, strict=True))
    last = tmp_path / "last.csv"
    last.write_text(",".join([*header, "digit"]) + "\n"
                    + "".join(",".join([*map(str, row), str(lab)]) + "\n" for row, lab in pairs))
    first = tmp_path / "first.csv"
    first.write_text(",".join(["digit", *header]) + "\n"
                     + "".join(",".join([str(lab), *map(str, row)]) + "\n" for row, lab in pairs))
    a = load_data_file(last, spec)
    b = load_data_file(first, spec, label_column="digit")
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and np.array_equal(a.y, y)


BAD_NPZ = [
    ("shape", lambda x, y: (x[:, :15], y), "a sample of x has shape (15,), spec 'mlp-tiny' takes (16,)"),
    ("nan", lambda x, y: (np.where(np.arange(16) == 3, np.nan, x), y),
     "x of sample 0 is nan (values must be finite)"),
    ("range", lambda x, y: (x * 0 + np.where(np.arange(16) == 0, 65.0, 0.0), y),
     "x of sample 0 is 65, outside [-64, 64], the range the fixed-point circuit takes at scale 13; "
     "rescale the data"),
    ("label", lambda x, y: (x, np.where(np.arange(12) == 4, 10, y)),
     "label 10 of sample 4 is not a class of spec 'mlp-tiny' (0..9)"),
    ("fraction", lambda x, y: (x, y + 0.5), "label 0.5 of sample 0 is not a class"),
    ("empty", lambda x, y: (x[:0], y[:0]), "holds no samples"),
    ("count", lambda x, y: (x, y[:5]), "x has 12 samples, y has 5"),
]


@pytest.mark.parametrize("change,message", [(c, m) for _, c, m in BAD_NPZ],
                         ids=[name for name, _, _ in BAD_NPZ])
def test_each_bad_npz_is_one_data_error(tmp_path: Path, spec: ModelSpec, change, message) -> None:
    path = _npz(tmp_path / "bad.npz", *change(*_good()))
    with pytest.raises(DataError, match=None) as info:
        load_data_file(path, spec)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_files_and_formats(tmp_path: Path, spec: ModelSpec) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_data_file(tmp_path / "none.npz", spec)
    (tmp_path / "d.txt").write_text("1,2\n")
    with pytest.raises(DataError, match=r"must be \.npz"):
        load_data_file(tmp_path / "d.txt", spec)
    (tmp_path / "fake.npz").write_text('{"x": 1}')
    with pytest.raises(DataError, match=r"is not an \.npz file"):
        load_data_file(tmp_path / "fake.npz", spec)
    np.savez(tmp_path / "keys.npz", features=np.zeros((2, 16)), y=np.zeros(2))
    with pytest.raises(DataError, match="must hold arrays 'x' and 'y', it holds: features, y"):
        load_data_file(tmp_path / "keys.npz", spec)
    np.savez(tmp_path / "str.npz", x=np.array([["a"] * 16]), y=np.zeros(1))
    with pytest.raises(DataError, match="array 'x' has dtype <U1, not numbers"):
        load_data_file(tmp_path / "str.npz", spec)
    (tmp_path / "t.csv").write_text("a,b\n1,x\n")
    with pytest.raises(DataError, match=r"t.csv:2: column 'b': 'x' is not a number"):
        load_data_file(tmp_path / "t.csv", spec)
    (tmp_path / "u.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="has no column 'label'; its columns: a, b"):
        load_data_file(tmp_path / "u.csv", spec, label_column="label")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_data_file(tmp_path / "e.csv", spec)
    with pytest.raises(DataError, match="--label-column is for CSV files"):
        load_data_file(_npz(tmp_path / "ok.npz", *_good()), spec, label_column="y")


def test_size_limit_and_error_class(spec: ModelSpec) -> None:
    huge = np.zeros((MAX_DATA_SAMPLES + 1, 0))
    with pytest.raises(DataError, match=f"over the limit of {MAX_DATA_SAMPLES}"):
        validate_data(huge, np.zeros(MAX_DATA_SAMPLES + 1), spec)
    assert issubclass(DataError, MalformedInputError)  # exit code 2 at the CLI
    assert data_limit(13) == 64.0


def test_mse_targets_are_floats_of_the_output_width() -> None:
    mse = SimpleNamespace(name="reg", loss="mse", classifies=False, n_outputs=2, input_shape=(3,),
                          n_features=3, scale=13)
    x = np.ones((4, 3))
    data = validate_data(x, np.full((4, 2), 0.3), mse)  # type: ignore[arg-type]
    assert data.y.shape == (4, 2) and data.y.dtype == np.float64
    assert np.array_equal(data.y, dequantize(quantize(np.full((4, 2), 0.3), 13), 13))
    with pytest.raises(DataError, match="targets y have shape \\(3,\\) per sample, spec 'reg' "
                                        "has 2 outputs"):
        validate_data(x, np.ones((4, 3)), mse)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="y of sample 1 is inf"):
        validate_data(x, np.array([[0, 0], [np.inf, 0], [0, 0], [0, 0]]), mse)  # type: ignore[arg-type]


def test_file_cid_is_the_raw_sha256_cid(tmp_path: Path) -> None:
    from pot.chain.cid import cid_to_bytes32

    path = tmp_path / "d.bin"
    path.write_bytes(b"hello")
    cid = file_cid(path)
    assert cid == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
    assert bytes(cid_to_bytes32(cid)).hex() == (
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")


# -- the CLI: every refusal before any work, exit 2, one line, JSON on stdout under --json ----------

def _prove(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["prove", "--spec", "mlp-tiny", *args])
    return result.exit_code, result.stdout, result.stderr


def test_prove_refuses_an_out_path_in_a_missing_folder_before_any_work(tmp_path: Path) -> None:
    code, _, err = _prove("--out", "/nonexistent/dir/x.json", "--circuits", str(tmp_path))
    assert code == 2
    assert err == "Error: --out /nonexistent/dir/x.json: folder /nonexistent/dir does not exist\n"
    assert not any(tmp_path.iterdir())  # no circuit was built
    code, _, err = _prove("--next-checkpoint", "/nonexistent/w.npz", "--circuits", str(tmp_path))
    assert code == 2 and "folder /nonexistent does not exist" in err


def test_prove_refuses_bad_data_with_exit_2_and_json(tmp_path: Path) -> None:
    x, y = _good()
    bad = _npz(tmp_path / "bad.npz", x, np.where(np.arange(12) == 4, 10, y))
    args = ("--data", str(bad), "--out", str(tmp_path / "p.json"), "--circuits", str(tmp_path))
    code, out, err = _prove(*args)
    assert code == 2 and out == ""
    assert err == (f"Error: {bad}: label 10 of sample 4 is not a class of spec 'mlp-tiny' "
                   "(0..9)\n")
    code, out, _ = _prove(*args, "--json")
    assert code == 2
    assert json.loads(out) == {"error": {"kind": "DataError", "message": err[7:-1]},
                               "exit_code": 2}


def test_prove_refuses_a_json_checkpoint_clearly(tmp_path: Path) -> None:
    ckpt = tmp_path / "w.json"
    ckpt.write_text('{"w1": []}')
    code, _, err = _prove("--checkpoint", str(ckpt), "--out", str(tmp_path / "p.json"),
                          "--circuits", str(tmp_path))
    assert code == 2
    assert err == (f"Error: checkpoint {ckpt} is not an .npz file (pot prove --next-checkpoint "
                   "and pot simulate write them)\n")
    assert "pickle" not in err


def test_prove_refuses_a_batch_outside_the_users_data(tmp_path: Path) -> None:
    path = _npz(tmp_path / "d.npz", *_good())
    code, _, err = _prove("--data", str(path), "--batch", "10:14", "--out",
                          str(tmp_path / "p.json"), "--circuits", str(tmp_path))
    assert code == 2 and err == "Error: batch index 12 is outside the dataset (0..11)\n"


def test_data_commit_refuses_bad_data_before_building_a_circuit(tmp_path: Path) -> None:
    x, y = _good()
    bad = _npz(tmp_path / "bad.npz", x[:, :4], y)
    circuits = tmp_path / "circuits"
    result = CliRunner().invoke(main, ["data", "commit", str(bad), "--spec", "mlp-tiny",
                                       "--circuits", str(circuits), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == {
        "kind": "DataError",
        "message": f"{bad}: a sample of x has shape (4,), spec 'mlp-tiny' takes (16,)"}
    assert not circuits.exists()
    missing = CliRunner().invoke(main, ["data", "commit", str(bad)])
    assert missing.exit_code == 2 and "Missing option '--spec'" in missing.stderr
