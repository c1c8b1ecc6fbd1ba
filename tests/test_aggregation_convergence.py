"""A short version of ``benchmarks/convergence.py``: the direction of each result, on real data.

Scikit-learn digits, ten trainers with two labels each, 40 rounds (the benchmark runs 100). The
runs are computed once per module; each test asserts one result with a margin well inside what the
seeded runs give (figures in the comments, measured on the development machine).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

pytest.importorskip("sklearn", reason="the digits data comes with scikit-learn (the train extra)")

from pot.convergence import (
    DENSE_BYTES_PER_PARAM,
    Digits,
    Run,
    Setting,
    centralised,
    federated,
    final,
    load_split,
    robust_settings,
)

pytestmark = pytest.mark.slow

ROUNDS = 40
ROBUST = ["multi-krum f=2 m=8", "trimmed-mean b=2", "centered-clipping"]


@pytest.fixture(scope="module")
def data() -> Digits:
    return load_split()


@pytest.fixture(scope="module")
def base() -> Setting:
    return Setting(rounds=ROUNDS)


@pytest.fixture(scope="module")
def dense(data: Digits, base: Setting) -> Run:
    return federated(data, base)


@pytest.fixture(scope="module")
def under_attack(data: Digits, base: Setting) -> dict[tuple[str, str], float]:
    settings = robust_settings(base)
    runs = {(name, "sign-flip") for name in ["fedavg", *ROBUST]}
    runs |= {("fedavg", "alie"), ("multi-krum f=2 m=8", "alie")}
    return {
        (name, attack): final(federated(data, replace(settings[name], attack=attack)).accuracy)
        for name, attack in sorted(runs)
    }


def test_fedavg_learns_the_non_iid_split_and_nears_centralised(
    data: Digits, base: Setting, dense: Run
) -> None:
    central = final(centralised(data, base))  # 97.4 %
    assert dense.accuracy[-1] > dense.accuracy[4] + 0.2  # 55.6 % at round 5, 91 % at 40
    assert central - final(dense.accuracy) < 0.10  # 6.4 points at 40 rounds, 2.0 at 100


def test_topk_one_percent_keeps_accuracy_with_fifty_times_fewer_bytes(
    data: Digits, base: Setting, dense: Run
) -> None:
    topk = federated(data, replace(base, topk_fraction=0.01))
    assert final(dense.accuracy) - final(topk.accuracy) < 0.03  # 1.9 points at 40 rounds
    assert dense.bytes_sent >= 50 * topk.bytes_sent  # 72x fewer than dense float32
    assert dense.bytes_sent * 8 // DENSE_BYTES_PER_PARAM >= 100 * topk.bytes_sent  # and int64


def test_scaled_sign_flip_breaks_fedavg(under_attack: dict[tuple[str, str], float]) -> None:
    assert under_attack["fedavg", "sign-flip"] < 0.3  # 10 %: chance level


@pytest.mark.parametrize("rule", ROBUST)
def test_robust_rules_beat_fedavg_under_sign_flip_by_thirty_points(
    under_attack: dict[tuple[str, str], float], rule: str
) -> None:
    # multi-Krum 88 %, trimmed mean 54 %, centered clipping 54 %, against FedAvg's 10 %
    assert under_attack[rule, "sign-flip"] > under_attack["fedavg", "sign-flip"] + 0.3


def test_a_little_is_enough_hurts_multi_krum_more_than_fedavg(
    under_attack: dict[tuple[str, str], float], dense: Run
) -> None:
    # ALIE's small shift barely moves FedAvg (91.0 -> 88.3 %) but wins multi-Krum's selection
    # (69.4 %): its updates sit at the centre of the honest ones.
    assert final(dense.accuracy) - under_attack["fedavg", "alie"] < 0.05
    assert under_attack["multi-krum f=2 m=8", "alie"] < under_attack["fedavg", "alie"] - 0.1
