"""Convergence of pot's aggregation rules on scikit-learn digits, 10 non-IID trainers.

Ten trainers hold two labels each (McMahan et al. 2017's pathological split: the training set is
sorted by label and cut into 20 shards; trainer ``i`` gets one shard of label ``i`` and one of label
``i + 1 mod 10``). Each round every trainer runs local SGD on a small MLP from the global model and
sends its weight delta in fixed point (``FRAC_BITS`` = 13); pot aggregates the deltas, and the chain
state, the global model, stays in fixed point. The script prints:

1. FedAvg test accuracy against rounds, with centralised SGD on the pooled data (same model, same
   number of epochs) as the reference;
2. top-k 1 % with error feedback and int8 values against dense FedAvg: accuracy and bytes sent;
3. two poisoning trainers out of ten (scaled sign-flip, and "A Little Is Enough", Baruch et al.
   2019): plain FedAvg against multi-Krum, trimmed mean, coordinate-wise median and centered
   clipping.

Training is float64 numpy on the trainer side (as in pot, where only aggregation is consensus code),
seeded, so the figures repeat. ``tests/test_aggregation_convergence.py`` runs a shorter version and
asserts the direction of each result.

This module is the study (not consensus code: the trainers' side is float); ``benchmarks/
convergence.py`` runs it, and the test reuses it. Run: ``python benchmarks/convergence.py
[--rounds 100]`` (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from pot.aggregation import (
    RULE_CENTERED_CLIPPING,
    RULE_FEDAVG,
    RULE_MEDIAN,
    RULE_MULTI_KRUM,
    RULE_NAMES,
    RULE_TRIMMED_MEAN,
    AggregationParams,
    Update,
    aggregate,
    decode_sparse,
    encode_sparse,
    from_fixed,
    to_fixed,
    topk_compress,
)
from pot.aggregation.fixedpoint import MAX_ABS_VALUE

NUM_TRAINERS = 10
NUM_CLASSES = 10
NUM_FEATURES = 64
HIDDEN_UNITS = 32
TEST_FRACTION = 0.3
WEIGHT_LIMIT = 100.0
"""Trainers clip their local weights to this magnitude (real units) before sending, so a poisoned
global model cannot push an honest trainer's fixed-point values out of range."""
DENSE_BYTES_PER_PARAM = 4
"""Baseline wire size of a dense update: float32 per parameter (bytes); pot's dense int64 is 8."""
NUM_ATTACKERS = 2


def alie_z(n: int, f: int) -> float:
    """Baruch et al.'s z_max: ``s = floor(n/2 + 1) - f``, ``z = Phi^-1((n - s) / n)``."""
    s = n // 2 + 1 - f
    return statistics.NormalDist().inv_cdf((n - s) / n)


ALIE_Z = alie_z(NUM_TRAINERS, NUM_ATTACKERS)
"""0.253 for n = 10, f = 2."""
SIGN_FLIP_SCALE = 5
"""A sign-flipping trainer sends -5 times its honest delta."""


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Digits:
    """The digits data, split into a test set and ten trainers' shards."""

    x_train: NDArray[np.float64]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.float64]
    y_test: NDArray[np.int64]
    shards: list[NDArray[np.int64]]


def load_split(seed: int = 0) -> Digits:
    """Load digits, hold out a stratified test set, and deal McMahan's two-label shards."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=seed
    )
    shards: list[list[int]] = [[] for _ in range(NUM_TRAINERS)]
    for label in range(NUM_CLASSES):
        members = np.flatnonzero(y_train == label)
        half = members.size // 2
        shards[label].extend(members[:half].tolist())  # shard 0 of label i -> trainer i
        shards[(label - 1) % NUM_TRAINERS].extend(members[half:].tolist())  # shard 1 -> i - 1
    return Digits(
        x_train,
        y_train.astype(np.int64),
        x_test,
        y_test.astype(np.int64),
        [np.array(sorted(s), dtype=np.int64) for s in shards],
    )


# ---------------------------------------------------------------------------------------------
# Model: a one-hidden-layer MLP on a flat parameter vector

SHAPES = [
    (NUM_FEATURES, HIDDEN_UNITS),
    (HIDDEN_UNITS,),
    (HIDDEN_UNITS, NUM_CLASSES),
    (NUM_CLASSES,),
]
NUM_PARAMS = sum(int(np.prod(s)) for s in SHAPES)


def unflatten(w: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    parts, offset = [], 0
    for shape in SHAPES:
        size = int(np.prod(shape))
        parts.append(w[offset : offset + size].reshape(shape))
        offset += size
    return parts


def init_params(seed: int) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, np.sqrt(2 / NUM_FEATURES), (NUM_FEATURES, HIDDEN_UNITS))
    w2 = rng.normal(0, np.sqrt(2 / HIDDEN_UNITS), (HIDDEN_UNITS, NUM_CLASSES))
    return np.concatenate([w1.ravel(), np.zeros(HIDDEN_UNITS), w2.ravel(), np.zeros(NUM_CLASSES)])


def logits(w: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    w1, b1, w2, b2 = unflatten(w)
    return np.asarray(np.maximum(x @ w1 + b1, 0.0) @ w2 + b2)


def accuracy(w: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    return float(np.mean(np.argmax(logits(w, x), axis=1) == y))


def gradient(
    w: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Gradient of the mean cross-entropy, by hand-written backpropagation."""
    w1, b1, w2, b2 = unflatten(w)
    hidden_pre = x @ w1 + b1
    hidden = np.maximum(hidden_pre, 0.0)
    z = hidden @ w2 + b2
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(y.size), y] -= 1.0
    p /= y.size
    g_w2 = hidden.T @ p
    g_hidden = (p @ w2.T) * (hidden_pre > 0)
    return np.concatenate([(x.T @ g_hidden).ravel(), g_hidden.sum(0), g_w2.ravel(), p.sum(0)])


def sgd(
    w: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.int64],
    epochs: int,
    lr: float,
    batch: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    w = w.copy()
    for _ in range(epochs):
        order = rng.permutation(y.size)
        for start in range(0, y.size, batch):
            rows = order[start : start + batch]
            w -= lr * gradient(w, x[rows], y[rows])
    return w


# ---------------------------------------------------------------------------------------------
# Federated rounds


@dataclass(frozen=True)
class Setting:
    """One federated run."""

    rounds: int = 100
    local_epochs: int = 1
    lr: float = 0.2
    batch: int = 32
    rule_id: int = RULE_FEDAVG
    params: AggregationParams = field(default_factory=AggregationParams)
    attack: str = ""  # "", "sign-flip" or "alie"
    attackers: tuple[int, ...] = (0, 5)
    topk_fraction: float = 0.0  # 0 = dense
    center_on_previous: bool = False  # centered clipping: center = previous aggregate
    seed: int = 0


@dataclass
class Run:
    """Accuracy after each round and bytes sent by all trainers."""

    accuracy: list[float]
    bytes_sent: int


def trainer_id(i: int) -> bytes:
    return bytes([0xA0 + i]) * 32


def federated(data: Digits, setting: Setting) -> Run:
    """Run ``setting.rounds`` rounds and record the global model's test accuracy after each."""
    global_fixed = to_fixed(init_params(setting.seed))
    rngs = [np.random.default_rng([setting.seed, i]) for i in range(NUM_TRAINERS)]
    residuals = [np.zeros(NUM_PARAMS, dtype=np.int64) for _ in range(NUM_TRAINERS)]
    k = max(1, round(setting.topk_fraction * NUM_PARAMS))
    previous: NDArray[np.int64] | None = None
    history, sent_bytes = [], 0
    for _ in range(setting.rounds):
        w = from_fixed(global_fixed)
        deltas = []
        for i, shard in enumerate(data.shards):
            local = sgd(
                w,
                data.x_train[shard],
                data.y_train[shard],
                setting.local_epochs,
                setting.lr,
                setting.batch,
                rngs[i],
            )
            deltas.append(to_fixed(np.clip(local, -WEIGHT_LIMIT, WEIGHT_LIMIT)) - global_fixed)
        deltas = poison(deltas, setting)
        updates = []
        for i, delta in enumerate(deltas):
            samples = int(data.shards[i].size)  # verified by the protocol, not self-reported
            if setting.topk_fraction:
                sent, residuals[i] = topk_compress(delta, residuals[i], k)
                wire = encode_sparse(sent)
                sent_bytes += len(wire)
                updates.append(Update(trainer_id(i), decode_sparse(wire, NUM_PARAMS, k), samples))
            else:
                sent_bytes += NUM_PARAMS * DENSE_BYTES_PER_PARAM
                updates.append(Update(trainer_id(i), delta, samples))
        params = setting.params
        if setting.center_on_previous:
            params = replace(params, center=previous)
        step, _ = aggregate(setting.rule_id, updates, params)
        previous = step
        global_fixed = np.clip(global_fixed + step, -MAX_ABS_VALUE, MAX_ABS_VALUE)
        history.append(accuracy(from_fixed(global_fixed), data.x_test, data.y_test))
    return Run(history, sent_bytes)


def poison(deltas: list[NDArray[np.int64]], setting: Setting) -> list[NDArray[np.int64]]:
    """Replace the attackers' deltas (they see every honest delta: the strongest threat)."""
    if not setting.attack:
        return deltas
    honest = np.array([d for i, d in enumerate(deltas) if i not in setting.attackers], np.float64)
    out = list(deltas)
    for i in setting.attackers:
        if setting.attack == "sign-flip":
            bad = -SIGN_FLIP_SCALE * deltas[i].astype(np.float64)
        elif setting.attack == "alie":
            bad = honest.mean(axis=0) - ALIE_Z * honest.std(axis=0)
        else:
            raise ValueError(f"unknown attack {setting.attack!r}")
        out[i] = np.clip(np.rint(bad), -MAX_ABS_VALUE, MAX_ABS_VALUE).astype(np.int64)
    return out


def centralised(data: Digits, setting: Setting) -> list[float]:
    """Pooled SGD with the same model, learning rate and batch; accuracy per round-equivalent."""
    w = init_params(setting.seed)
    rng = np.random.default_rng([setting.seed, 99])
    history = []
    for _ in range(setting.rounds):
        w = sgd(w, data.x_train, data.y_train, setting.local_epochs, setting.lr, setting.batch, rng)
        history.append(accuracy(w, data.x_test, data.y_test))
    return history


# ---------------------------------------------------------------------------------------------
# Experiments


CC_TAU = int(to_fixed([0.5])[0])
"""Centered clipping radius: 0.5 in real units (4096 fixed-point units), about half the norm of an
honest delta early in training."""


def robust_settings(base: Setting) -> dict[str, Setting]:
    """The rules compared under attack, with the parameters a job would set for f = 2 of n = 10."""
    krum = AggregationParams(num_byzantine=2, num_selected=8)  # m = n - f
    clipping = AggregationParams(tau=CC_TAU, iterations=3)
    return {
        "fedavg": base,
        "multi-krum f=2 m=8": replace(base, rule_id=RULE_MULTI_KRUM, params=krum),
        "trimmed-mean b=2": replace(
            base, rule_id=RULE_TRIMMED_MEAN, params=AggregationParams(num_trimmed=2)
        ),
        "median": replace(base, rule_id=RULE_MEDIAN),
        "centered-clipping": replace(
            base, rule_id=RULE_CENTERED_CLIPPING, params=clipping, center_on_previous=True
        ),
    }


def final(run: list[float], last: int = 5) -> float:
    """Mean accuracy over the last rounds (less noisy than the very last round)."""
    return statistics.fmean(run[-last:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    data = load_split()
    base = Setting(rounds=args.rounds)
    print(
        f"digits: {data.y_train.size} train / {data.y_test.size} test, {NUM_TRAINERS} trainers "
        f"x 2 labels, MLP {NUM_FEATURES}-{HIDDEN_UNITS}-{NUM_CLASSES} ({NUM_PARAMS} params), "
        f"{base.local_epochs} local epochs/round, lr {base.lr}, batch {base.batch}"
    )

    central = centralised(data, base)
    dense = federated(data, base)
    print("\n1. FedAvg (fixed point) vs centralised SGD: test accuracy (%)")
    print(f"{'round':>6} {'centralised':>12} {'fedavg':>8}")
    for r in sorted({1, 2, 5, 10, 25, 50, 75, args.rounds} & set(range(1, args.rounds + 1))):
        print(f"{r:>6} {100 * central[r - 1]:>12.1f} {100 * dense.accuracy[r - 1]:>8.1f}")
    gap = 100 * (final(central) - final(dense.accuracy))
    print(
        f"final (mean of last 5 rounds): centralised {100 * final(central):.1f}, "
        f"fedavg {100 * final(dense.accuracy):.1f}, gap {gap:.1f} points"
    )

    topk = federated(data, replace(base, topk_fraction=0.01))
    k = max(1, round(0.01 * NUM_PARAMS))
    print(f"\n2. top-k 1 % (k = {k}) + error feedback + int8 values vs dense FedAvg")
    int64_bytes = dense.bytes_sent * 8 // DENSE_BYTES_PER_PARAM
    print(f"{'':>22} {'accuracy %':>11} {'bytes sent':>12}")
    print(f"{'dense float32':>22} {100 * final(dense.accuracy):>11.1f} {dense.bytes_sent:>12,}")
    print(f"{'dense int64 (pot)':>22} {100 * final(dense.accuracy):>11.1f} {int64_bytes:>12,}")
    print(f"{'top-k 1 % sparse':>22} {100 * final(topk.accuracy):>11.1f} {topk.bytes_sent:>12,}")
    print(
        f"top-k sends {dense.bytes_sent / topk.bytes_sent:.0f}x fewer bytes than dense float32 "
        f"and {int64_bytes / topk.bytes_sent:.0f}x fewer than dense int64"
    )
    print(f"accuracy difference: {100 * (final(dense.accuracy) - final(topk.accuracy)):.1f} points")

    print("\n3. two poisoning trainers of ten: final test accuracy (%)")
    attacks = ["", "sign-flip", "alie"]
    print(f"{'rule':>20} " + " ".join(f"{a or 'no attack':>10}" for a in attacks))
    for name, setting in robust_settings(base).items():
        row = [final(federated(data, replace(setting, attack=a)).accuracy) for a in attacks]
        print(f"{name:>20} " + " ".join(f"{100 * v:>10.1f}" for v in row))
    print(
        f"(sign-flip: -{SIGN_FLIP_SCALE} x own delta; alie: mean - {ALIE_Z:.3f} std of the "
        f"honest deltas; centered clipping: tau = {CC_TAU} fixed-point units, 3 iterations, "
        f"center = previous aggregate; rule ids {sorted(RULE_NAMES.items())})"
    )


if __name__ == "__main__":
    main()
