"""``pot security``: driven through click's CliRunner, asserting exit codes and exact output."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pot.protocol.cli import security


def invoke(*args: str):
    return CliRunner().invoke(security, list(args))


def test_probability_and_least_samples():
    result = invoke("--steps", "100", "--fabricated", "5", "--samples", "10")
    assert result.exit_code == 0
    assert result.output == (
        "P(detect) with k=10 of T=100, m=5 fabricated: 0.416247\n"
        "smallest k with P(detect) >= 0.990000: 59 (P = 0.990046)\n"
    )


def test_target_as_a_fraction():
    # P(13) = 1 - (87*86*85*84*83) / (100*99*98*97*96) = 0.50921..., P(12) = 0.47965...
    result = invoke("--steps", "100", "--fabricated", "5", "--target", "1/2")
    assert (result.exit_code, result.output) == (
        0,
        "smallest k with P(detect) >= 0.500000: 13 (P = 0.509216)\n",
    )


def test_json_gives_exact_fractions():
    result = invoke("--steps", "100", "--fabricated", "5", "--samples", "10", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "steps": 100,
        "fabricated": 5,
        "samples": 10,
        "detection_probability": "79137/190120",
        "target": "99/100",
        "min_samples": 59,
        "min_samples_probability": "37269061/37643760",
    }
    assert result.output == json.dumps(json.loads(result.output), sort_keys=True) + "\n"


def test_json_without_samples_has_null_probability():
    result = invoke("--steps", "10", "--fabricated", "10", "--json")
    assert json.loads(result.output)["detection_probability"] is None
    assert json.loads(result.output)["min_samples"] == 1


def test_ill_posed_questions_are_usage_errors():
    cases = [
        (
            ["--steps", "100", "--fabricated", "500"],
            "Error: fabricated count must satisfy 0 <= m <= T, got m=500, T=100\n",
        ),
        (
            ["--steps", "100", "--fabricated", "5", "--samples", "101"],
            "Error: sample count must satisfy 0 <= k <= T, got k=101, T=100\n",
        ),
        (
            ["--steps", "100", "--fabricated", "0"],
            "Error: no number of samples detects a trainer that fabricated no step (m = 0)\n",
        ),
        (
            ["--steps", "100", "--fabricated", "5", "--target", "0.995x"],
            "Error: Invalid value for '--target': a probability must be a decimal like 0.99 or a "
            "fraction like 99/100\n",
        ),
        (
            ["--steps", "100", "--fabricated", "5", "--target", "0"],
            "Error: Invalid value for '--target': a probability must satisfy 0 < p <= 1\n",
        ),
        (
            ["--steps", "0", "--fabricated", "0"],
            "Error: Invalid value for '--steps': 0 is not in the range x>=1.\n",
        ),
    ]
    for args, last_line in cases:
        result = invoke(*args)
        assert result.exit_code == 2, args
        assert result.output.endswith(last_line), result.output


def test_help_has_examples():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "pot security --steps 100 --fabricated 5 --samples 10" in result.output


ETH = 10**18


def test_incentive_check_reports_the_docs_worked_example():
    # docs/economics.md, section 6: T = 1000, k = 10, m = 1, R = 1 ETH, stake = 10 ETH.
    result = invoke(
        "--steps", "1000", "--samples", "10", "--fabricated", "1", "--reward", str(ETH),
        "--stake", str(10 * ETH),
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2:] == [
        f"expected value of fabricating m=1 steps with R={ETH} wei, stake={10 * ETH} wei "
        f"(slash {ETH} wei): {98 * ETH // 100} wei",
        "cheating is unprofitable: no",
        "smallest k that makes it unprofitable at this stake: 500",
        f"smallest stake that makes it unprofitable at this k: {990 * ETH} wei",
    ]


def test_incentive_check_json_and_an_unprofitable_cheat():
    result = invoke(
        "--steps", "100", "--samples", "50", "--fabricated", "1", "--reward", "3",
        "--stake", "100", "--json",
    )
    assert result.exit_code == 0, result.output
    incentive = json.loads(result.output)["incentive"]
    # p = 50/100; slash = floor(100 * 10 %) = 10; EV = 3/2 - 10/2 = -7/2.
    assert incentive == {
        "T": 100, "k": 50, "m": 1, "reward_per_round_wei": 3, "stake_wei": 100, "slash_wei": 10,
        "detection_probability": "1/2", "expected_value_wei": "-7/2", "unprofitable": True,
        "min_k": 24, "min_stake_wei": 30,
    }
    text = invoke(
        "--steps", "100", "--samples", "50", "--fabricated", "1", "--reward", "3", "--stake", "100"
    )
    assert "): -7/2 wei (floor -4)" in text.output
    assert "cheating is unprofitable: yes" in text.output


def test_incentive_check_without_a_deterring_stake():
    result = invoke(
        "--steps", "100", "--samples", "0", "--fabricated", "1", "--reward", "3", "--stake", "7"
    )
    assert result.exit_code == 0
    assert result.output.endswith(
        "smallest stake that makes it unprofitable at this k: none (no uint256 stake deters it)\n"
    )


def test_incentive_check_usage_errors():
    base = ["--steps", "100", "--fabricated", "1"]
    cases = [
        ([*base, "--samples", "5", "--reward", "3"], "Error: --reward and --stake go together\n"),
        (
            [*base, "--reward", "3", "--stake", "5"],
            "Error: the incentive check (--reward, --stake) needs --samples\n",
        ),
        (
            ["--steps", "100", "--fabricated", "0", "--samples", "5", "--reward", "3",
             "--stake", "5", "--target", "0.5"],
            "Error: no number of samples detects a trainer that fabricated no step (m = 0)\n",
        ),
    ]
    for args, last_line in cases:
        result = invoke(*args)
        assert result.exit_code == 2, args
        assert result.output.endswith(last_line), result.output
