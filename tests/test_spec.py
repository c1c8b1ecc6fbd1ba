"""Model specs: loading, ids, the spec store, the learning-rate rule and the errors for what pot
cannot prove."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pot.errors import SpecError
from pot.spec import (
    ModelSpec,
    add_spec,
    canonical_json,
    check_learning_rate,
    load_spec,
    spec_by_id,
    zoo_names,
)


def test_zoo_has_digits_and_tiny_specs() -> None:
    assert {"mlp-digits", "mlp-tiny"} <= set(zoo_names())
    digits = load_spec("mlp-digits")
    assert digits.input_shape == (64,) and digits.n_features == 64
    assert digits.n_outputs == digits.n_classes == 10
    assert [name for name, _ in digits.param_shapes()] == ["w1", "b1", "w2", "b2"]
    assert digits.n_params == 64 * 32 + 32 + 32 * 10 + 10


def test_spec_id_is_keccak_of_canonical_json_and_changes_with_content() -> None:
    from eth_hash.auto import keccak

    spec = load_spec("mlp-tiny")
    assert spec.spec_id == keccak(canonical_json(spec.to_json()))
    assert load_spec("mlp-tiny").spec_id == spec.spec_id
    obj = spec.to_json()
    obj["optimizer"] = {**obj["optimizer"], "learning_rate": "0.25"}
    assert ModelSpec.from_json(obj).spec_id != spec.spec_id


def test_unknown_spec_name_lists_the_zoo() -> None:
    with pytest.raises(SpecError, match=r"unknown model spec 'nope'.*mlp-digits"):
        load_spec("nope")


def test_missing_spec_file_says_no_such_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"no such file: .*mine\.json"):
        load_spec(tmp_path / "mine.json")
    with pytest.raises(SpecError, match="no such file"):
        load_spec(str(tmp_path / "mine.json"))


def test_spec_file_with_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({**load_spec("mlp-tiny").to_json(), "conv": 3}))
    with pytest.raises(SpecError, match="unknown spec keys: conv"):
        load_spec(path)


@pytest.mark.parametrize(("lr", "ok"), [("0.5", True), ("0.0000152587890625", True),
                                        ("0.1", False), ("0", False), ("65536", False)])
def test_one_learning_rate_rule_for_spec_and_chain(lr: str, ok: bool) -> None:
    obj = load_spec("mlp-tiny").to_json()
    obj["optimizer"] = {"type": "sgd", "learning_rate": lr}
    if ok:
        assert ModelSpec.from_json(obj).lr_q16 == check_learning_rate(ModelSpec.from_json(obj).lr)
    else:
        with pytest.raises(SpecError, match="learning_rate"):
            ModelSpec.from_json(obj)


def test_lr_point_one_names_the_nearest_rates() -> None:
    from fractions import Fraction

    with pytest.raises(SpecError, match=r"nearest are 0\.0999908447265625 and 0\.100006103515625"):
        check_learning_rate(Fraction("0.1"))


def test_spec_store_holds_specs_by_id_and_checks_the_content(tmp_path: Path) -> None:
    obj = load_spec("mlp-tiny").to_json()
    obj["name"] = "mine"
    spec = ModelSpec.from_json(obj)
    with pytest.raises(SpecError, match="neither in the zoo nor in the spec store"):
        spec_by_id(spec.spec_id, tmp_path)
    path = add_spec(spec, tmp_path)
    assert path.name == spec.spec_id_hex + ".json"
    assert path.read_bytes() == canonical_json(spec.to_json())
    assert spec_by_id(spec.spec_id, tmp_path) == spec
    assert spec_by_id(load_spec("mlp-tiny").spec_id, tmp_path).name == "mlp-tiny"  # zoo first
    other = {**obj, "name": "other"}
    path.write_bytes(canonical_json(other))  # a file that does not hash to its name
    with pytest.raises(SpecError, match="not its name"):
        spec_by_id(spec.spec_id, tmp_path)


def test_load_spec_by_id_reads_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    obj = {**load_spec("mlp-tiny").to_json(), "name": "stored"}
    spec = ModelSpec.from_json(obj)
    monkeypatch.setenv("POT_SPECS", str(tmp_path))
    add_spec(spec)
    assert load_spec(spec.spec_id_hex) == spec


def test_the_zoo_cnn_as_a_torch_sequential_has_the_zoo_spec_id() -> None:
    import torch

    zoo = load_spec("cnn-digits")
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32, 10))
    spec = ModelSpec.from_torch(model, name="cnn-digits", input_shape=(1, 8, 8),
                                loss="softmax_cross_entropy", batch_size=2, learning_rate="0.25",
                                scale=13, dataset="digits", description=zoo.description)
    assert spec.spec_id == zoo.spec_id
