"""Model specs: the layers, loss, optimizer and data settings that a job names (``docs/specs.md``).

A spec is a small JSON object in the versioned schema ``pot.spec/2`` (the zoo lives in ``models/``,
installed as ``pot.models``; users keep theirs in a spec store, :func:`spec_store`). Its id is
``keccak256(canonical_json(spec.to_json()))``, where canonical JSON has sorted keys and no spaces
and ``to_json`` writes every default out; that id is the ``model spec id`` carried in a
TRAIN_REQUEST's hyperparams. A ``torch.nn.Sequential`` converts to the same spec
(:meth:`ModelSpec.from_torch`) and so to the same id.

Only what pot can export and prove is accepted (:mod:`pot.layers`); anything else raises
:class:`pot.errors.SpecError` naming it, before any work. The learning rate obeys one rule,
:func:`check_learning_rate`, which setup, prove and the chain all apply.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from pot.errors import SpecError
from pot.jsonio import canonical_json
from pot.layers import LOSSES, MOMENTUM_PREFIX, SGD, Layer, layer_from_json, layer_from_torch, refuse
from pot.layers.base import Param

SPEC_VERSION = "pot.spec/2"
SUPPORTED_LOSSES = tuple(LOSSES)
SUPPORTED_DATASETS = ("digits", "digits4x4", "diabetes")
SPEC_KEYS = frozenset({"batch_size", "dataset", "description", "init_seed", "input_shape",
                       "layers", "loss", "name", "optimizer", "scale", "version"})
OPTIONAL_KEYS = frozenset({"dataset", "description"})
OPTIMIZER_KEYS = frozenset({"type", "learning_rate", "momentum", "weight_decay"})
V1_KEYS = frozenset({"activation", "batch_size", "dataset", "description", "init_seed", "layers",
                     "learning_rate", "loss", "name", "scale"})
MAX_LAYER_WIDTH = 4096  # values in one dimension of the input shape
MAX_LAYERS = 32
MAX_INPUT_VALUES = 65536  # values of one sample
MAX_BATCH_SIZE = 1024
MIN_SCALE_BITS, MAX_SCALE_BITS = 4, 20
LR_FRACTION_BITS = 16  # the chain's hyperparams carry lr as lr_q16 / 2**16 (pot.chain.hyperparams)
MAX_LR_Q16 = 2**32 - 1  # lr_q16 is a U32
DECIMAL_RE = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SPECS_ENV = "POT_SPECS"
DEFAULT_SPECS_DIR = Path("specs")


def parse_decimal(text: Any, what: str) -> Fraction:
    """A non-negative decimal string (``"0.5"``, ``"3"``; no sign, exponent or fraction) exactly.

    Raises
    ------
    SpecError
        If ``text`` is not such a string.
    """
    if not isinstance(text, str) or not DECIMAL_RE.match(text):
        raise SpecError(f"{what} {text!r} is not a decimal string like \"0.5\"")
    return Fraction(text)


def decimal_string(value: Fraction) -> str:
    """The shortest decimal string of ``value`` (a finite decimal): ``Fraction(1, 2) -> "0.5"``."""
    whole, rest = divmod(value, 1)
    if rest == 0:
        return str(whole)
    digits = 0
    while (rest * 10**digits).denominator != 1:
        digits += 1
        if digits > 64:
            raise SpecError(f"{value} is not a finite decimal")
    return f"{whole}.{int(rest * 10**digits):0{digits}d}"


def check_learning_rate(lr: Fraction) -> int:
    """The one learning-rate rule, and the rate as the chain's ``lr_q16``.

    A learning rate is positive and an exact multiple of ``2**-16`` below ``2**16``, because the
    chain's hyperparams carry it as the U32 ``lr_q16 = lr * 2**16`` (:mod:`pot.chain.hyperparams`).
    Spec validation (so setup and prove), ``pot chain request`` and the node all call this.

    Raises
    ------
    SpecError
        If ``lr`` breaks the rule; the message gives the nearest rates that keep it.
    """
    if lr <= 0:
        raise SpecError(f"learning_rate must be > 0, got {decimal_string(lr)}")
    q = lr * (1 << LR_FRACTION_BITS)
    if q.denominator != 1:
        lo = Fraction(math.floor(q), 1 << LR_FRACTION_BITS)
        hi = Fraction(math.ceil(q), 1 << LR_FRACTION_BITS)
        raise SpecError(f"learning_rate {decimal_string(lr)} is not a multiple of 2**-16 (the "
                        f"chain carries lr in Q16 fixed point); the nearest are "
                        f"{decimal_string(lo)} and {decimal_string(hi)}")
    if q > MAX_LR_Q16:
        raise SpecError(f"learning_rate {decimal_string(lr)} is over the chain's largest, "
                        f"{decimal_string(Fraction(MAX_LR_Q16, 1 << LR_FRACTION_BITS))}")
    return int(q)


@dataclass(frozen=True)
class ModelSpec:
    """One model: its layers, loss, SGD settings and fixed-point scale.

    Attributes
    ----------
    name
        Short name, e.g. ``"mlp-digits"`` (names a circuit folder; letters, digits, ``._-``).
    input_shape
        One sample's shape, e.g. ``(64,)`` or ``(1, 8, 8)`` (channels, height, width). Data is
        given flat, ``(B, n_features)``; the step reshapes it.
    layers
        The layer entries (:mod:`pot.layers`), in order.
    loss
        ``"softmax_cross_entropy"`` (one-hot targets) or ``"mse"``; means over the batch.
    batch_size
        Samples per SGD step (one proof proves one step on one batch).
    learning_rate, momentum, weight_decay
        Decimal strings, canonical (``"0.5"``), kept exact; see :attr:`optimizer`.
    scale
        Fixed-point fractional bits: a value ``v`` is the integer ``round(v * 2**scale)``.
    init_seed
        Seed of the initial weights (trainer-side only; W_0 comes from the chain in a job).
    dataset
        Optional built-in dataset name (``SUPPORTED_DATASETS``).
    description
        Free text.
    """

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    loss: str
    batch_size: int
    learning_rate: str
    scale: int
    init_seed: int
    momentum: str = "0"
    weight_decay: str = "0"
    dataset: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        where = f"spec {self.name!r}"
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise SpecError(f"spec name {self.name!r} must be 1-64 letters, digits, '.', '_' or "
                            "'-'")
        if self.loss not in LOSSES:
            raise refuse(self.loss, "loss")
        if self.dataset is not None and self.dataset not in SUPPORTED_DATASETS:
            raise SpecError(f"unknown dataset {self.dataset!r} in {where}; built in: "
                            f"{', '.join(SUPPORTED_DATASETS)}")
        if (not 1 <= len(self.input_shape) <= 3
                or any(not 1 <= d <= MAX_LAYER_WIDTH for d in self.input_shape)
                or math.prod(self.input_shape) > MAX_INPUT_VALUES):
            raise SpecError(f"{where}: input_shape must be 1 to 3 sizes in 1..{MAX_LAYER_WIDTH} "
                            f"with at most {MAX_INPUT_VALUES} values, got {list(self.input_shape)}")
        if not 1 <= len(self.layers) <= MAX_LAYERS:
            raise SpecError(f"{where}: layers must hold 1..{MAX_LAYERS} layers")
        shapes = [self.input_shape]
        for i, layer in enumerate(self.layers):
            try:
                shapes.append(layer.out_shape(shapes[-1]))
            except SpecError as e:
                raise SpecError(f"{where}, layer {i} ({layer.kind}): {e}") from e
        if len(shapes[-1]) != 1:
            raise SpecError(f"{where}: the last layer's output must be flat (n_outputs,), got "
                            f"{list(shapes[-1])}; end with a linear layer")
        if LOSSES[self.loss].classifies and shapes[-1][0] < 2:
            raise SpecError(f"{where}: softmax_cross_entropy needs at least 2 outputs")
        object.__setattr__(self, "_shapes", tuple(shapes))
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise SpecError(f"{where}: batch_size must be in 1..{MAX_BATCH_SIZE}")
        if not MIN_SCALE_BITS <= self.scale <= MAX_SCALE_BITS:
            raise SpecError(f"{where}: scale must be in {MIN_SCALE_BITS}..{MAX_SCALE_BITS}")
        try:
            check_learning_rate(parse_decimal(self.learning_rate, "learning_rate"))
            momentum = parse_decimal(self.momentum, "momentum")
            if momentum >= 1 or (momentum * (1 << LR_FRACTION_BITS)).denominator != 1:
                raise SpecError(f"momentum {self.momentum} must be below 1 and a multiple of "
                                "2**-16")
            decay = parse_decimal(self.weight_decay, "weight_decay")
            if (decay * (1 << LR_FRACTION_BITS)).denominator != 1:
                raise SpecError(f"weight_decay {self.weight_decay} must be a multiple of 2**-16")
        except SpecError as e:
            raise SpecError(f"{where}: {e}") from e
        for key, value in (("learning_rate", self.learning_rate), ("momentum", self.momentum),
                           ("weight_decay", self.weight_decay)):
            object.__setattr__(self, key, decimal_string(Fraction(value)))

    # -- shapes and parameters -------------------------------------------------------------

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """One sample's shape before each layer and after the last: ``shapes[i]`` feeds layer i."""
        return self._shapes  # type: ignore[attr-defined]

    @property
    def n_features(self) -> int:
        """Values of one sample: ``prod(input_shape)`` (data is given flat)."""
        return math.prod(self.input_shape)

    @property
    def n_outputs(self) -> int:
        """Outputs of the model for one sample (classes, or regression targets)."""
        return self.shapes[-1][0]

    @property
    def n_classes(self) -> int:
        """Width of a target row: the classes of a classifier (one-hot), or the MSE targets."""
        return self.n_outputs

    @property
    def classifies(self) -> bool:
        """True for a classifier (softmax cross-entropy on class labels)."""
        return LOSSES[self.loss].classifies

    def layer_params(self, i: int) -> list[tuple[str, Param]]:
        """Names and entries of layer ``i``'s trainable tensors (``w{k}``, ``b{k}``)."""
        k = sum(1 for j in range(i) if self.layers[j].params(self.shapes[j])) + 1
        letter = {"weight": "w", "bias": "b"}
        return [(f"{letter[p.role]}{k}", p) for p in self.layers[i].params(self.shapes[i])]

    def trainable_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """Trainable parameter names and shapes in graph order: ``w1, b1, w2, b2, ...``."""
        return [(name, p.shape) for i in range(len(self.layers)) for name, p in self.layer_params(i)]

    def param_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """The committed state's tensors in graph order: the trainable parameters, then (with
        momentum) one buffer ``m_<name>`` per parameter, same shape. A checkpoint holds these."""
        shapes = self.trainable_shapes()
        if Fraction(self.momentum):
            shapes += [(MOMENTUM_PREFIX + name, shape) for name, shape in shapes]
        return shapes

    def fan_in(self, name: str) -> int:
        """The He-init fan-in of state tensor ``name``; 0 for one that starts at zero.

        Raises
        ------
        SpecError
            If the spec has no such tensor.
        """
        for i in range(len(self.layers)):
            for pname, p in self.layer_params(i):
                if pname == name:
                    return p.fan_in
        if name.startswith(MOMENTUM_PREFIX) and name in dict(self.param_shapes()):
            return 0
        raise SpecError(f"spec {self.name!r} has no tensor {name!r}")

    @property
    def n_params(self) -> int:
        """Trainable parameter count (momentum buffers not included)."""
        return sum(math.prod(shape) for _, shape in self.trainable_shapes())

    @property
    def n_state_values(self) -> int:
        """Values of the committed state: parameters plus momentum buffers. This is the chain's
        ``param_count`` (an update's payload holds the whole state)."""
        return sum(math.prod(shape) for _, shape in self.param_shapes())

    # -- optimizer -----------------------------------------------------------------------

    @property
    def lr(self) -> Fraction:
        """The learning rate, exact."""
        return Fraction(self.learning_rate)

    @property
    def lr_q16(self) -> int:
        """The learning rate in the chain's Q16 fixed point (exact: :func:`check_learning_rate`)."""
        return check_learning_rate(self.lr)

    @property
    def optimizer(self) -> SGD:
        """The exact SGD settings."""
        return SGD(self.lr, Fraction(self.momentum), Fraction(self.weight_decay))

    # -- JSON, torch and the id ----------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON object (every default written out): what the id hashes."""
        obj: dict[str, Any] = {
            "version": SPEC_VERSION,
            "name": self.name,
            "description": self.description,
            "input_shape": list(self.input_shape),
            "layers": [layer.to_json() for layer in self.layers],
            "loss": self.loss,
            "optimizer": {"type": "sgd", "learning_rate": self.learning_rate,
                          "momentum": self.momentum, "weight_decay": self.weight_decay},
            "batch_size": self.batch_size,
            "scale": self.scale,
            "init_seed": self.init_seed,
        }
        if self.dataset is not None:
            obj["dataset"] = self.dataset
        return obj

    @property
    def spec_id(self) -> bytes:
        """keccak256 of the canonical JSON: the 32-byte model spec id."""
        return bytes(keccak(canonical_json(self.to_json())))

    @property
    def spec_id_hex(self) -> str:
        """``0x`` + the spec id in hex."""
        return "0x" + self.spec_id.hex()

    @classmethod
    def from_json(cls, obj: Any) -> ModelSpec:
        """Build a spec from its JSON object (``pot.spec/2``; a version-less ``pot.spec/1`` MLP
        object, a list of Linear widths, is upgraded).

        Raises
        ------
        SpecError
            On a missing or unknown key, a wrong type, a wrong version, or an unsupported layer,
            loss or optimizer (named).
        """
        if not isinstance(obj, dict):
            raise SpecError("a spec must be a JSON object")
        if "version" not in obj and "activation" in obj:
            obj = _upgrade_v1(obj)
        if obj.get("version") != SPEC_VERSION:
            raise SpecError(f"spec version {obj.get('version')!r} is not {SPEC_VERSION!r}")
        unknown = set(obj) - SPEC_KEYS
        if unknown:
            raise SpecError(f"unknown spec keys: {', '.join(sorted(unknown))}")
        missing = SPEC_KEYS - OPTIONAL_KEYS - set(obj)
        if missing:
            raise SpecError(f"spec is missing: {', '.join(sorted(missing))}")
        for key in ("batch_size", "init_seed", "scale"):
            if type(obj[key]) is not int:
                raise SpecError(f"spec key {key!r} must be an integer")
        for key in ("name", "loss"):
            if not isinstance(obj[key], str):
                raise SpecError(f"spec key {key!r} must be a string")
        for key in ("dataset", "description"):
            if key in obj and not isinstance(obj[key], str):
                raise SpecError(f"spec key {key!r} must be a string")
        shape = obj["input_shape"]
        if not isinstance(shape, list) or any(type(d) is not int for d in shape):
            raise SpecError("spec key 'input_shape' must be a list of integers")
        layers = obj["layers"]
        if not isinstance(layers, list):
            raise SpecError("spec key 'layers' must be a list of layer objects")
        opt = obj["optimizer"]
        if not isinstance(opt, dict):
            raise SpecError("spec key 'optimizer' must be an object")
        if opt.get("type") != "sgd":
            raise refuse(str(opt.get("type")), "optimizer")
        if set(opt) - OPTIMIZER_KEYS:
            raise SpecError(f"unknown optimizer keys: {', '.join(sorted(set(opt) - OPTIMIZER_KEYS))}")
        if "learning_rate" not in opt:
            raise SpecError("optimizer is missing: learning_rate")
        return cls(
            name=obj["name"],
            input_shape=tuple(shape),
            layers=tuple(layer_from_json(layer) for layer in layers),
            loss=obj["loss"],
            batch_size=obj["batch_size"],
            learning_rate=opt["learning_rate"],
            momentum=opt.get("momentum", "0"),
            weight_decay=opt.get("weight_decay", "0"),
            scale=obj["scale"],
            init_seed=obj["init_seed"],
            dataset=obj.get("dataset"),
            description=obj.get("description", ""),
        )

    @classmethod
    def from_torch(cls, model: Any, *, name: str, input_shape: tuple[int, ...], loss: str,
                   batch_size: int, learning_rate: str, scale: int, init_seed: int = 0,
                   momentum: str = "0", weight_decay: str = "0", dataset: str | None = None,
                   description: str = "") -> ModelSpec:
        """The spec of a ``torch.nn.Sequential`` (its layers; the rest as given).

        The result, and so its id, equals the spec of the same layers written as JSON. The
        module's weights are not part of a spec (W_0 is derived from the spec id).

        Raises
        ------
        SpecError
            If ``model`` is not a Sequential, or holds a module pot cannot prove (named).
        """
        import torch

        if not isinstance(model, torch.nn.Sequential):
            raise SpecError(f"a torch model must be a torch.nn.Sequential, got {type(model).__name__}")
        return cls(name=name, input_shape=tuple(input_shape),
                   layers=tuple(layer_from_torch(torch, m) for m in model),
                   loss=loss, batch_size=batch_size, learning_rate=learning_rate,
                   momentum=momentum, weight_decay=weight_decay, scale=scale,
                   init_seed=init_seed, dataset=dataset, description=description)


def mlp_layers(widths: tuple[int, ...] | list[int]) -> dict[str, Any]:
    """``input_shape`` and ``layers`` of the MLP ``widths[0] -> ... -> widths[-1]`` (ReLU between),
    for ``dataclasses.replace(spec, **mlp_layers((64, 16, 10)))``."""
    from pot.layers import Linear, ReLU

    layers: list[Layer] = []
    for w in widths[1:]:
        layers += [Linear(int(w)), ReLU()]
    return {"input_shape": (int(widths[0]),), "layers": tuple(layers[:-1])}


def _upgrade_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """A ``pot.spec/1`` object (Linear widths, ReLU between) as the same model in ``pot.spec/2``."""
    unknown = set(obj) - V1_KEYS
    if unknown:
        raise SpecError(f"unknown spec keys: {', '.join(sorted(unknown))}")
    widths = obj.get("layers")
    if not isinstance(widths, list) or len(widths) < 2 or any(type(w) is not int for w in widths):
        raise SpecError("a version-1 spec's 'layers' must be a list of >= 2 integer widths")
    if obj.get("activation") != "relu":
        raise refuse(str(obj.get("activation")), "layer")
    layers: list[dict[str, Any]] = []
    for w in widths[1:]:
        layers += [{"type": "linear", "out_features": w}, {"type": "relu"}]
    out = {k: v for k, v in obj.items() if k not in ("activation", "layers", "learning_rate")}
    return {**out, "version": SPEC_VERSION, "input_shape": [widths[0]], "layers": layers[:-1],
            "optimizer": {"type": "sgd", "learning_rate": obj.get("learning_rate")}}


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


def spec_store(path: Path | None = None) -> Path:
    """The spec store: a folder of ``<spec id>.json`` files (``0x`` + 64 hex digits), each the
    spec's canonical JSON, so a file's keccak256 is its name. ``path``, else ``$POT_SPECS``, else
    ``specs/``."""
    if path is not None:
        return path
    env = os.environ.get(SPECS_ENV)
    return Path(env) if env else DEFAULT_SPECS_DIR


def add_spec(spec: ModelSpec, store: Path | None = None) -> Path:
    """Store ``spec`` under its id (atomically; storing it again is a no-op) and return the file.

    Raises
    ------
    SpecError
        If the store folder cannot be written.
    """
    folder = spec_store(store)
    target = folder / f"{spec.spec_id_hex}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(canonical_json(spec.to_json()))
        tmp.replace(target)
    except OSError as e:
        raise SpecError(f"cannot write to the spec store {folder}: {e}") from e
    return target


def in_zoo(spec: ModelSpec) -> bool:
    """True when the installed zoo holds ``spec`` (by id)."""
    return any(load_spec(name).spec_id == spec.spec_id for name in zoo_names())


def ensure_stored(spec: ModelSpec, store: Path | None = None) -> Path | None:
    """Put a spec that is not in the zoo into the spec store (so a node can find the job's spec
    by id); the stored file, or ``None`` for a zoo spec."""
    return None if in_zoo(spec) else add_spec(spec, store)


def spec_by_id(spec_id: bytes, store: Path | None = None) -> ModelSpec:
    """The spec with this id: from the zoo, else from the spec store (:func:`spec_store`).

    This is the one lookup the node, ``pot simulate`` and ``pot chain request/submit`` use.

    Raises
    ------
    SpecError
        If neither holds it (saying where it looked and how to add it), or the stored file's
        content does not hash to its name.
    """
    want = bytes(spec_id)
    for name in zoo_names():
        spec = load_spec(name)
        if spec.spec_id == want:
            return spec
    folder = spec_store(store)
    path = folder / f"0x{want.hex()}.json"
    if not path.is_file():
        raise SpecError(f"model spec id 0x{want.hex()} is neither in the zoo nor in the spec store "
                        f"{folder} (add it with: pot spec add FILE)")
    spec = _read_spec_file(path)
    if spec.spec_id != want:
        raise SpecError(f"spec store file {path} holds spec {spec.spec_id_hex}, not its name")
    return spec


def _read_spec_file(path: Path) -> ModelSpec:
    try:
        text = path.read_text()
    except FileNotFoundError as e:
        raise SpecError(f"no such file: {path}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"cannot read spec {path}: {e}") from e
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"spec {path} is not valid JSON: {e}") from e
    return ModelSpec.from_json(obj)


def load_spec(name_or_path: str | Path) -> ModelSpec:
    """Load a spec by zoo name (``"mlp-digits"``), by id from the spec store (``"0x..."``), or
    from a JSON file path (anything with a ``/`` or a ``.json`` suffix).

    Raises
    ------
    SpecError
        If there is no such file, the name is not in the zoo, the id not in the store, or the
        spec is invalid.
    """
    text = str(name_or_path)
    if re.fullmatch(r"0x[0-9a-fA-F]{64}", text):
        return spec_by_id(bytes.fromhex(text[2:]))
    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or path.suffix == ".json" or "/" in text or path.exists():
        return _read_spec_file(path)
    if text not in zoo_names():
        raise SpecError(f"unknown model spec {text!r}; the zoo has: {', '.join(zoo_names())} "
                        "(or give a spec file path or a spec id)")
    return _read_spec_file(zoo_dir() / f"{text}.json")
