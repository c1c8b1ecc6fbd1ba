"""Every aggregation rule against every attack, on ``pot simulate``'s own job and split.

The job is the default ``pot simulate`` (spec ``softmax-digits``, 3 honest trainers, a seeded
Dirichlet(0.5) label split of the digits training set, ``--rounds`` rounds of ``--steps``
local SGD steps on the scheduled batches) plus one attacker holding a fourth shard. Local
training is the circuit's step in float64 numpy (the same forward, clamped softmax and explicit
backward as :mod:`pot.export`; a proof would show exactly this computation, in fixed point), and
aggregation is the chain's own hook, :func:`pot.node.robust_aggregate`, on the fixed-point
weights with their verified sample counts. Nothing here proves: what a proof rules out (a trainer
that did not run the committed SGD) is rejected before aggregation in ``pot simulate``; what it
cannot rule out is what this benchmark measures.

Attacks (the attacker's submitted weights):

* ``label-flip``: honest SGD on its shard with labels ``y -> 9 - y`` (``pot simulate
  --poisoners``; its steps prove valid);
* ``sign-flip``: ``W0 - 5 (W_T - W0)``, its honest update reversed and scaled;
* ``scaling``: ``W0 + 10 (W_T - W0)``, its honest update boosted (model replacement);
* ``alie``: "A Little Is Enough" (Baruch et al. 2019): the honest trainers' mean minus
  ``ALIE_Z`` = 1 standard deviation per coordinate.

The clean run (3 honest trainers, no attacker, FedAvg) is measured in the same run and printed
first; each cell is the final round's test accuracy on the held-out fifth of the digits, and
``paid`` says in how many rounds the attacker's update entered the aggregate (an update the rule
excludes earns no reward).

Run: ``python benchmarks/robust_rules.py`` (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pot.aggregation.errors import AggregationError
from pot.chain.fixed_types import U64, Bytes32, Bytes48
from pot.chain.hooks import AcceptedUpdate
from pot.chain.hyperparams import AggregationRule
from pot.data import Dataset, dequantize, initial_checkpoint, load_dataset, quantize, train_test_split
from pot.evaluate import evaluate_float
from pot.export import SOFTMAX_CLAMP
from pot.node import robust_aggregate
from pot.simulate import DEFAULT_RULE_PARAMS, DIRICHLET_ALPHA, MIN_SHARD_BATCHES, split_dirichlet
from pot.spec import ModelSpec, load_spec
from pot.tensors import flatten_params, unflatten_params

SPEC = "softmax-digits"
HONEST = 3
SIGN_FLIP_SCALE = 5
BOOST_SCALE = 10
ALIE_Z = 1.0
"""Standard deviations below the honest mean. Baruch et al.'s ``z_max = Phi^-1((n - s) / n)``,
``s = floor(n/2 + 1) - f``, is 0 for ``n = 4, f = 1`` (the honest mean itself), so a fixed 1 is used."""
RULES: dict[str, tuple[AggregationRule, int]] = {
    "fedavg": (AggregationRule.FEDAVG, DEFAULT_RULE_PARAMS["fedavg"]),
    "multi-krum f=1": (AggregationRule.MULTI_KRUM, DEFAULT_RULE_PARAMS["multi-krum"]),
    "median": (AggregationRule.MEDIAN, DEFAULT_RULE_PARAMS["median"]),
    "trimmed-mean b=1": (AggregationRule.TRIMMED_MEAN, DEFAULT_RULE_PARAMS["trimmed-mean"]),
    "centered-clipping r=2": (AggregationRule.CENTERED_CLIPPING,
                              DEFAULT_RULE_PARAMS["centered-clipping"]),
}
"""Each rule with the parameter ``pot simulate`` gives it by default (``rule_param``; the
clipping radius in Q16)."""
ATTACKS = ("label-flip", "sign-flip", "scaling", "alie")
Params = dict[str, NDArray[np.float64]]


def sgd_step(params: Params, x: NDArray[np.float64], y: NDArray[np.int64], lr: float,
             n_layers: int) -> Params:
    """One step of the circuit's SGD (pot.export) in float64: clamped softmax, explicit backward."""
    acts, pre = [x], []
    for i in range(1, n_layers + 1):
        z = acts[-1] @ params[f"w{i}"].T + params[f"b{i}"]
        pre.append(z)
        acts.append(np.maximum(z, 0.0) if i < n_layers else z)
    shifted = np.maximum(pre[-1] - pre[-1].max(axis=1, keepdims=True), -SOFTMAX_CLAMP)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    g = (p - np.eye(p.shape[1])[y]) * (lr / len(y))
    new: Params = {}
    for i in reversed(range(1, n_layers + 1)):
        new[f"w{i}"] = params[f"w{i}"] - g.T @ acts[i - 1]
        new[f"b{i}"] = params[f"b{i}"] - g.sum(axis=0)
        if i > 1:
            g = (g @ params[f"w{i}"]) * (pre[i - 2] > 0)
    return new


def local_training(spec: ModelSpec, w0: Params, x: NDArray[np.float64], y: NDArray[np.int64],
                   steps: int, round_number: int) -> Params:
    """``steps`` SGD steps on the scheduled batches ``(round * T + t) mod N`` (as pot.trainer)."""
    bs = spec.batch_size
    n_batches = len(y) // bs
    params = w0
    for t in range(steps):
        b = (round_number * steps + t) % n_batches
        params = sgd_step(params, x[b * bs:(b + 1) * bs], y[b * bs:(b + 1) * bs], float(spec.lr),
                          len(spec.layers) - 1)
    return params


def to_vector(params: Params, spec: ModelSpec) -> NDArray[np.int64]:
    return flatten_params({k: quantize(v, spec.scale) for k, v in params.items()}, spec)


def to_params(vector: NDArray[np.int64], spec: ModelSpec) -> Params:
    return {k: dequantize(v, spec.scale) for k, v in unflatten_params(vector, spec).items()}


@dataclass
class Outcome:
    """Final test accuracy and the rounds in which the attacker's update was aggregated."""

    accuracy: list[float]
    attacker_paid_rounds: int


def run_job(spec: ModelSpec, train: Dataset, test: Dataset, shards: list[NDArray[np.int64]],
            rule: tuple[AggregationRule, int], attack: str | None, rounds: int,
            steps: int) -> Outcome:
    """One federated job: the honest trainers hold ``shards[:-1]``; the attacker holds the last
    shard and takes part when ``attack`` is given."""
    honest_n = len(shards) - 1
    global_vec = flatten_params(initial_checkpoint(spec), spec)
    accuracy, paid = [], 0
    samples = U64(steps * spec.batch_size)  # verified samples: steps x batch size, as bundles
    for r in range(rounds):
        w0 = to_params(global_vec, spec)
        honest = [to_vector(local_training(spec, w0, train.x[s], train.y[s], steps, r), spec)
                  for s in shards[:honest_n]]
        vectors = list(honest)
        if attack is not None:
            s = shards[honest_n]
            y = (train.classes - 1 - train.y[s]) if attack == "label-flip" else train.y[s]
            own = to_vector(local_training(spec, w0, train.x[s], y, steps, r), spec)
            if attack == "sign-flip":
                own = global_vec - SIGN_FLIP_SCALE * (own - global_vec)
            elif attack == "scaling":
                own = global_vec + BOOST_SCALE * (own - global_vec)
            elif attack == "alie":
                h = np.array(honest, dtype=np.float64)
                own = np.rint(h.mean(axis=0) - ALIE_Z * h.std(axis=0)).astype(np.int64)
            vectors.append(own)
        updates = [AcceptedUpdate(Bytes48(bytes([i + 1]) * 48), v, samples, Bytes32(b"\0" * 32))
                   for i, v in enumerate(vectors)]
        global_vec, info = robust_aggregate(updates, rule[0], rule[1])
        global_vec = np.asarray(global_vec, dtype=np.int64)
        if attack is not None and "0x" + (bytes([honest_n + 1]) * 48).hex() not in info["excluded"]:
            paid += 1
        accuracy.append(evaluate_float(to_params(global_vec, spec), spec, test)[0])
    return Outcome(accuracy, paid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--honest", type=int, default=HONEST, help="honest trainers (default 3)")
    args = parser.parse_args()
    started = time.perf_counter()
    spec = load_spec(SPEC)
    train, test = train_test_split(load_dataset(spec.dataset), seed=args.seed)
    shards = split_dirichlet(train.y, args.honest + 1, DIRICHLET_ALPHA, args.seed,
                             MIN_SHARD_BATCHES * spec.batch_size)
    clean = run_job(spec, train, test, shards, RULES["fedavg"], None, args.rounds, args.steps)
    print(f"{SPEC} on {spec.dataset}: {args.honest} honest trainers + 1 attacker, Dirichlet("
          f"{DIRICHLET_ALPHA}) split (seed {args.seed}), {args.rounds} rounds x {args.steps} steps "
          f"of batch {spec.batch_size}, lr {spec.learning_rate}; test set {len(test)} samples")
    print(f"clean run ({args.honest} honest, fedavg): accuracy per round "
          + " ".join(f"{a:.3f}" for a in clean.accuracy))
    base = clean.accuracy[-1]
    head = f"{'rule':<22}{'no attacker':>12}" + "".join(f"{a:>16}" for a in ATTACKS)
    print("\nfinal test accuracy (points vs the clean run) [rounds the attacker was paid]")
    print(head)
    refusals = set()
    for name, rule in RULES.items():
        cells = []
        for attack in (None, *ATTACKS):
            try:
                out = run_job(spec, train, test, shards, rule, attack, args.rounds, args.steps)
            except AggregationError as e:
                refusals.add(str(e))
                cells.append(f"{'refused':>{12 if attack is None else 16}}")
                continue
            if attack is None:
                cells.append(f"{out.accuracy[-1]:>12.3f}")
                continue
            delta = 100 * (out.accuracy[-1] - base)
            cells.append(f"{out.accuracy[-1]:>7.3f} ({delta:+5.1f}) [{out.attacker_paid_rounds}]")
        print(f"{name:<22}" + "".join(cells))
    for reason in sorted(refusals):
        print(f"refused: {reason}")
    print(f"\n(sign-flip: W0 - {SIGN_FLIP_SCALE} dW; scaling: W0 + {BOOST_SCALE} dW; alie: honest "
          f"mean - {ALIE_Z:.3f} std; centered clipping: radius "
          f"{DEFAULT_RULE_PARAMS['centered-clipping'] / 65536:g} around the median; multi-krum "
          f"needs n >= 2f + 3 = 5 updates; {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
