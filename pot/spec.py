"""Model specs: the architecture, loss, data and SGD settings that a job names.

A spec is a small JSON object (the zoo lives in ``models/``, installed as ``pot.models``). Its id is
``keccak256(canonical_json(spec))``, where canonical JSON has sorted keys and no spaces; that id is the
``model spec id`` carried in a TRAIN_REQUEST's hyperparams.

Only what pot can export and prove is accepted: fully connected layers with ReLU between them, and
softmax cross-entropy on one-hot labels. Anything else raises :class:`pot.errors.SpecError` naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from pot.errors import SpecError

SUPPORTED_ACTIVATIONS = ("relu",)
SUPPORTED_LOSSES = ("softmax_cross_entropy",)
SUPPORTED_DATASETS = ("digits", "digits4x4")
SPEC_KEYS = frozenset(
    {
        "activation",
        "batch_size",
        "dataset",
        "description",
        "init_seed",
        "layers",
        "learning_rate",
        "loss",
        "name",
        "scale",
    }
)
MAX_LAYER_WIDTH = 4096
MIN_SCALE_BITS, MAX_SCALE_BITS = 4, 20


def canonical_json(obj: Any) -> bytes:
    """Encode ``obj`` as canonical JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class ModelSpec:
    """One model of the zoo.

    Attributes
    ----------
    name
        Short name, e.g. ``"mlp-digits"``.
    dataset
        ``"digits"`` (64 features) or ``"digits4x4"`` (16 features, 2x2 average-pooled).
    layers
        Widths ``(in, hidden..., classes)``; weight ``w{i}`` has shape ``(layers[i], layers[i-1])``
        as in ``torch.nn.Linear``, bias ``b{i}`` shape ``(layers[i],)``.
    activation, loss
        ``"relu"`` and ``"softmax_cross_entropy"`` (mean over the batch).
    batch_size
        Samples per SGD step (one proof proves one step on one batch).
    learning_rate
        Decimal string, kept exact as a :class:`fractions.Fraction`.
    scale
        Fixed-point fractional bits: a value ``v`` is the integer ``round(v * 2**scale)``.
    init_seed
        Seed of the initial weights (trainer-side only; W_0 comes from the chain in a job).
    """

    name: str
    dataset: str
    layers: tuple[int, ...]
    activation: str
    loss: str
    batch_size: int
    learning_rate: str
    scale: int
    init_seed: int
    description: str = ""

    def __post_init__(self) -> None:
        if self.activation not in SUPPORTED_ACTIVATIONS:
            raise SpecError(f"unsupported activation {self.activation!r} in spec {self.name!r}; "
                            f"pot proves only {', '.join(SUPPORTED_ACTIVATIONS)}")
        if self.loss not in SUPPORTED_LOSSES:
            raise SpecError(f"unsupported loss {self.loss!r} in spec {self.name!r}; "
                            f"pot proves only {', '.join(SUPPORTED_LOSSES)}")
        if self.dataset not in SUPPORTED_DATASETS:
            raise SpecError(f"unknown dataset {self.dataset!r} in spec {self.name!r}")
        if len(self.layers) < 2 or any(not 1 <= w <= MAX_LAYER_WIDTH for w in self.layers):
            raise SpecError(f"spec {self.name!r}: layers must be >= 2 widths in 1..{MAX_LAYER_WIDTH}")
        if self.batch_size < 1:
            raise SpecError(f"spec {self.name!r}: batch_size must be >= 1")
        if not MIN_SCALE_BITS <= self.scale <= MAX_SCALE_BITS:
            raise SpecError(f"spec {self.name!r}: scale must be in {MIN_SCALE_BITS}..{MAX_SCALE_BITS}")
        try:
            lr = Fraction(self.learning_rate)
        except (ValueError, ZeroDivisionError) as e:
            raise SpecError(f"spec {self.name!r}: learning_rate {self.learning_rate!r} "
                            "is not a decimal") from e
        if lr <= 0:
            raise SpecError(f"spec {self.name!r}: learning_rate must be > 0")

    @property
    def lr(self) -> Fraction:
        """The learning rate, exact."""
        return Fraction(self.learning_rate)

    @property
    def n_features(self) -> int:
        return self.layers[0]

    @property
    def n_classes(self) -> int:
        return self.layers[-1]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(features,)`` for an MLP."""
        return (self.layers[0],)

    @property
    def n_outputs(self) -> int:
        """Width of the model's output: classes for cross-entropy, targets for MSE."""
        return self.layers[-1]

    def param_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """Parameter names and shapes in graph order: ``w1, b1, w2, b2, ...``."""
        shapes: list[tuple[str, tuple[int, ...]]] = []
        for i in range(1, len(self.layers)):
            shapes.append((f"w{i}", (self.layers[i], self.layers[i - 1])))
            shapes.append((f"b{i}", (self.layers[i],)))
        return shapes

    @property
    def n_params(self) -> int:
        """Total parameter count."""
        total = 0
        for _, shape in self.param_shapes():
            n = 1
            for d in shape:
                n *= d
            total += n
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "activation": self.activation,
            "batch_size": self.batch_size,
            "dataset": self.dataset,
            "description": self.description,
            "init_seed": self.init_seed,
            "layers": list(self.layers),
            "learning_rate": self.learning_rate,
            "loss": self.loss,
            "name": self.name,
            "scale": self.scale,
        }

    @property
    def spec_id(self) -> bytes:
        """keccak256 of the canonical JSON: the 32-byte model spec id."""
        return bytes(keccak(canonical_json(self.to_json())))

    @classmethod
    def from_json(cls, obj: Any) -> ModelSpec:
        """Build a spec from its JSON object.

        Raises
        ------
        SpecError
            On a missing or unknown key, a wrong type, or an unsupported layer or loss.
        """
        if not isinstance(obj, dict):
            raise SpecError("a spec must be a JSON object")
        unknown = set(obj) - SPEC_KEYS
        if unknown:
            raise SpecError(f"unknown spec keys: {', '.join(sorted(unknown))}")
        missing = SPEC_KEYS - {"description"} - set(obj)
        if missing:
            raise SpecError(f"spec is missing: {', '.join(sorted(missing))}")
        ints = ("batch_size", "init_seed", "scale")
        for key in ints:
            if type(obj[key]) is not int:
                raise SpecError(f"spec key {key!r} must be an integer")
        layers = obj["layers"]
        if not isinstance(layers, list) or any(type(w) is not int for w in layers):
            raise SpecError("spec key 'layers' must be a list of integers")
        for key in ("activation", "dataset", "learning_rate", "loss", "name"):
            if not isinstance(obj[key], str):
                raise SpecError(f"spec key {key!r} must be a string")
        return cls(
            name=obj["name"],
            dataset=obj["dataset"],
            layers=tuple(layers),
            activation=obj["activation"],
            loss=obj["loss"],
            batch_size=obj["batch_size"],
            learning_rate=obj["learning_rate"],
            scale=obj["scale"],
            init_seed=obj["init_seed"],
            description=str(obj.get("description", "")),
        )


def zoo_dir() -> Path:
    """The folder holding the zoo's JSON specs.

    In a wheel install ``models/`` is the package ``pot.models``; in a source checkout (and an
    editable install run from it) it is the ``models/`` folder beside ``pot/``.
    """
    try:
        return Path(str(resources.files("pot.models")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "models"


def zoo_names() -> list[str]:
    """Names of the specs shipped in ``models/``."""
    return sorted(p.stem for p in zoo_dir().glob("*.json"))


def load_spec(name_or_path: str | Path) -> ModelSpec:
    """Load a spec by zoo name (``"mlp-digits"``) or from a JSON file path.

    Raises
    ------
    SpecError
        If the name is not in the zoo, the file cannot be read, or the spec is invalid.
    """
    text: str
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        try:
            text = path.read_text()
        except OSError as e:
            raise SpecError(f"cannot read spec {path}: {e}") from e
    else:
        name = str(name_or_path)
        if name not in zoo_names():
            raise SpecError(f"unknown model spec {name!r}; the zoo has: {', '.join(zoo_names())}")
        text = (zoo_dir() / f"{name}.json").read_text()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"spec {name_or_path} is not valid JSON: {e}") from e
    return ModelSpec.from_json(obj)
