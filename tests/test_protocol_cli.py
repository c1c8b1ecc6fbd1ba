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
