"""Model specs: loading, ids and the errors for what pot cannot prove."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pot.errors import SpecError
from pot.spec import ModelSpec, load_spec, zoo_names


def test_zoo_has_digits_and_tiny_specs() -> None:
    assert {"mlp-digits", "mlp-tiny"} <= set(zoo_names())
    digits = load_spec("mlp-digits")
    assert digits.layers == (64, 32, 10)
    assert digits.n_params == 64 * 32 + 32 + 32 * 10 + 10


def test_spec_id_is_keccak_of_canonical_json_and_changes_with_content() -> None:
    spec = load_spec("mlp-tiny")
    assert len(spec.spec_id) == 32
    assert load_spec("mlp-tiny").spec_id == spec.spec_id
    other = ModelSpec.from_json({**spec.to_json(), "learning_rate": "0.25"})
    assert other.spec_id != spec.spec_id


def test_unknown_spec_name_lists_the_zoo() -> None:
    with pytest.raises(SpecError, match=r"unknown model spec 'nope'.*mlp-digits"):
        load_spec("nope")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("loss", "mse", "unsupported loss 'mse'"),
        ("activation", "tanh", "unsupported activation 'tanh'"),
        ("dataset", "mnist", "unknown dataset 'mnist'"),
        ("layers", [16], "layers must be"),
        ("learning_rate", "fast", "is not a decimal"),
    ],
)
def test_unsupported_layer_or_loss_raises_naming_it(key: str, value: object, message: str) -> None:
    obj = {**load_spec("mlp-tiny").to_json(), key: value}
    with pytest.raises(SpecError, match=message):
        ModelSpec.from_json(obj)


def test_spec_file_with_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({**load_spec("mlp-tiny").to_json(), "conv": 3}))
    with pytest.raises(SpecError, match="unknown spec keys: conv"):
        load_spec(path)
