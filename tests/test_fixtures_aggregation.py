"""The committed ``aggregation`` fixtures, recomputed here without pot's aggregation code.

Each valid case is re-derived from its JSON alone: FedAvg, median and trimmed mean with
``fractions.Fraction`` (half-to-even rounding is Python's ``round``), Krum scores from their
definition, the commitment with keccak, and wire messages with ``struct``. So a filler and a replay
that agreed on a wrong answer would still fail here.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from eth_hash.auto import keccak
from test_fixtures_support import COMMITTED, copy_committed, load, rehash, write

from pot.fixtures.check import check_fixtures

CASES = load(COMMITTED / "aggregation.json")
MAX_ABS_VALUE = 2**31 - 1


def of_operation(operation: str) -> dict[str, Any]:
    return {n: c for n, c in CASES.items() if c["input"]["operation"] == operation and "expected" in c}


def of_rule(rule_id: int) -> dict[str, Any]:
    return {n: c for n, c in of_operation("aggregate").items() if c["input"]["rule_id"] == rule_id}


def updates_of(case: dict[str, Any]) -> list[tuple[bytes, int, list[int]]]:
    """(trainer, samples, values) sorted by trainer id, as every rule orders them."""
    return sorted(
        (bytes.fromhex(u["trainer"][2:]), u["samples"], u["values"]) for u in case["input"]["updates"]
    )


def commitment(values: list[int]) -> str:
    return "0x" + keccak(b"".join(v.to_bytes(8, "big", signed=True) for v in values)).hex()


def weighted_mean(vectors: list[list[int]], weights: list[int]) -> list[int]:
    total = sum(weights)
    return [round(Fraction(sum(w * v[j] for v, w in zip(vectors, weights, strict=True)), total))
            for j in range(len(vectors[0]))]


def trimmed(vectors: list[list[int]], b: int) -> list[int]:
    n = len(vectors)
    return [round(Fraction(sum(sorted(col)[b : n - b]), n - 2 * b)) for col in zip(*vectors, strict=True)]


def test_every_rule_has_valid_and_refused_cases_and_every_operation_is_covered() -> None:
    assert {c["input"]["rule_id"] for c in of_operation("aggregate").values()} == {0, 1, 2, 3, 4}
    errors = {c["expected_error"] for c in CASES.values() if "expected_error" in c}
    assert errors == {"AggregationError", "MalformedUpdateError"}
    for operation in ("aggregate", "decode", "compress"):
        ops = [c for c in CASES.values() if c["input"]["operation"] == operation]
        assert any("expected" in c for c in ops) and any("expected_error" in c for c in ops), operation
    sizes = [(len(c["input"]["updates"]), len(c["input"]["updates"][0]["values"]))
             for c in of_operation("aggregate").values()]
    assert min(n for n, _ in sizes) == 1 and max(n for n, _ in sizes) == 7
    assert max(d for _, d in sizes) == 16


def test_evidence_lists_trainers_in_id_order_and_commits_to_the_aggregate() -> None:
    for name, case in of_operation("aggregate").items():
        evidence, ordered = case["expected"]["evidence"], updates_of(case)
        assert evidence["trainers"] == ["0x" + t.hex() for t, _, _ in ordered], name
        assert evidence["samples"] == [s for _, s, _ in ordered], name
        assert evidence["aggregate"] == commitment(case["expected"]["aggregate"]), name
        assert evidence["rule_id"] == case["input"]["rule_id"], name
        assert len(evidence["scores"]) == len(ordered), name
        assert all(isinstance(s, str) and int(s) >= 0 for s in evidence["scores"]), name


def test_fedavg_without_clipping_is_the_sample_weighted_mean_rounded_half_to_even() -> None:
    cases = {n: c for n, c in of_rule(0).items() if c["input"]["params"]["clip_norm"] == 0}
    assert len(cases) >= 6
    for name, case in cases.items():
        ordered = updates_of(case)
        want = weighted_mean([v for _, _, v in ordered], [s for _, s, _ in ordered])
        assert case["expected"]["aggregate"] == want, name
        assert case["expected"]["evidence"]["clipped"] == [], name
    assert CASES["fedavg_ties_round_half_to_even"]["expected"]["aggregate"] == [0, 2, 0, -2, 2, 4]
    assert CASES["fedavg_weighted_by_verified_samples"]["expected"]["aggregate"] == [75, -75, 1]


def test_fedavg_clips_exactly_the_updates_longer_than_clip_norm() -> None:
    for name in ("fedavg_clip_some", "fedavg_clip_none", "fedavg_clip_norm_1"):
        case = CASES[name]
        bound = case["input"]["params"]["clip_norm"]
        longer = ["0x" + t.hex() for t, _, v in updates_of(case) if sum(x * x for x in v) > bound**2]
        assert case["expected"]["evidence"]["clipped"] == longer, name
    assert 0 < len(CASES["fedavg_clip_some"]["expected"]["evidence"]["clipped"]) < 5
    unclipped = updates_of(CASES["fedavg_clip_none"])
    assert CASES["fedavg_clip_none"]["expected"]["aggregate"] == weighted_mean(
        [v for _, _, v in unclipped], [s for _, s, _ in unclipped])


def test_input_order_changes_nothing() -> None:
    forward, backward = CASES["fedavg_7_updates_16_coords"], CASES["fedavg_input_order_is_irrelevant"]
    assert forward["input"]["updates"] == backward["input"]["updates"][::-1]
    assert forward["expected"] == backward["expected"]


def test_multi_krum_scores_selection_and_ties_follow_the_definition() -> None:
    for name, case in of_rule(1).items():
        ordered = updates_of(case)
        n, f = len(ordered), case["input"]["params"]["num_byzantine"]
        m = case["input"]["params"]["num_selected"]
        vectors = [v for _, _, v in ordered]
        scores = [
            sum(sorted(sum((a - b) ** 2 for a, b in zip(x, y, strict=True))
                       for j, y in enumerate(vectors) if j != i)[: n - f - 2])
            for i, x in enumerate(vectors)
        ]
        ranking = sorted(range(n), key=lambda i: (scores[i], ordered[i][0]))
        chosen = sorted(ranking[:m])
        evidence = case["expected"]["evidence"]
        assert evidence["scores"] == [str(s) for s in scores], name
        assert evidence["selected"] == ["0x" + ordered[i][0].hex() for i in chosen], name
        want = weighted_mean([vectors[i] for i in chosen], [ordered[i][1] for i in chosen])
        assert case["expected"]["aggregate"] == want, name
    tie = CASES["krum_tie_broken_by_trainer_id"]
    twins = [u["trainer"] for u in tie["input"]["updates"][:2]]
    assert tie["input"]["updates"][0]["values"] == tie["input"]["updates"][1]["values"]
    assert twins[0] > twins[1]  # listed with the higher id first; the lower one wins
    assert tie["expected"]["evidence"]["selected"] == [twins[1]]
    outlier = CASES["multi_krum_5_f1_m3"]["input"]["updates"][3]["trainer"]
    assert outlier not in CASES["multi_krum_5_f1_m3"]["expected"]["evidence"]["selected"]


def test_median_and_trimmed_mean_are_the_sorted_middles_averaged() -> None:
    cases = {**of_rule(2), **of_rule(3)}
    assert len(cases) >= 7
    for name, case in cases.items():
        vectors = [v for _, _, v in updates_of(case)]
        n = len(vectors)
        b = case["input"]["params"].get("num_trimmed", (n - 1) // 2)
        assert case["expected"]["aggregate"] == trimmed(vectors, b), name
    assert (CASES["median_7_updates"]["expected"]["aggregate"]
            == CASES["trimmed_mean_7_b3_is_the_median"]["expected"]["aggregate"])


def test_centered_clipping_with_a_wide_radius_is_fedavg() -> None:
    case = CASES["centered_clipping_wide_tau_is_fedavg"]
    ordered = updates_of(case)
    assert case["expected"]["aggregate"] == weighted_mean([v for _, _, v in ordered],
                                                          [s for _, s, _ in ordered])
    assert case["expected"]["evidence"]["params"]["center"] == "0x"
    centered = CASES["centered_clipping_from_a_center"]
    assert centered["expected"]["evidence"]["params"]["center"] == commitment(
        centered["input"]["params"]["center"])
    assert CASES["centered_clipping_tau_small_3_iterations"]["expected"]["evidence"]["clipped"]


def parse_wire(data: bytes) -> tuple[int, int, int, int, list[int], list[int]]:
    version, dim, count, step = struct.unpack_from(">BIII", data)
    indices = [int.from_bytes(data[13 + 4 * e : 17 + 4 * e], "big") for e in range(count)]
    codes = [int.from_bytes(data[13 + 4 * count + e : 14 + 4 * count + e], "big", signed=True)
             for e in range(count)]
    return version, dim, count, step, indices, codes


def test_decoded_updates_are_the_wire_fields_and_commit_by_keccak() -> None:
    cases = of_operation("decode")
    assert len(cases) >= 6
    for name, case in cases.items():
        data = bytes.fromhex(case["input"]["wire"][2:])
        version, dim, count, step, indices, codes = parse_wire(data)
        assert len(data) == 13 + 5 * count and version == 1, name
        assert case["expected"] == {"dim": dim, "indices": indices, "codes": codes, "step": step,
                                    "commitment": "0x" + keccak(data).hex()}, name


def test_every_rule_of_the_wire_format_has_a_malformed_case() -> None:
    rules = ("empty_message", "header_one_byte_short", "version_0", "version_2", "wrong_dimension",
             "count_above_k", "one_byte_short", "one_trailing_byte", "count_says_more", "step_zero",
             "step_above_max", "index_out_of_range", "duplicate_index", "decreasing_index",
             "code_zero", "code_minus_128", "dim_above_max", "earliest_bad_entry_wins")
    for rule in rules:
        assert CASES[f"decode_{rule}"]["expected_error"] == "MalformedUpdateError", rule
    malformed = {n for n, c in CASES.items() if c.get("expected_error") == "MalformedUpdateError"}
    assert malformed == {f"decode_{rule}" for rule in rules}
    for name in ("decode_k_zero", "decode_k_above_dim", "decode_order_k_before_message"):
        assert CASES[name]["expected_error"] == "AggregationError"
    header = parse_wire(bytes.fromhex(CASES["decode_step_above_max"]["input"]["wire"][2:]))
    assert (header[0], header[3]) == (1, MAX_ABS_VALUE // 127 + 1)


def test_compression_keeps_what_it_does_not_send_in_the_residual() -> None:
    cases = of_operation("compress")
    assert len(cases) >= 5
    for name, case in cases.items():
        given = case["input"]
        data = bytes.fromhex(case["expected"]["wire"][2:])
        _, dim, count, step, indices, codes = parse_wire(data)
        sent = [0] * dim
        for i, c in zip(indices, codes, strict=True):
            sent[i] = c * step
        assert count <= given["k"] and 0 not in codes, name
        total = [u + r for u, r in zip(given["update"], given["residual"], strict=True)]
        assert [s + r for s, r in zip(sent, case["expected"]["residual"], strict=True)] == total, name
        assert case["expected"]["commitment"] == "0x" + keccak(data).hex(), name
    ties = CASES["compress_ties_to_the_lower_index"]["expected"]["wire"]
    assert parse_wire(bytes.fromhex(ties[2:]))[4] == [1, 2]


def test_a_wrong_aggregate_with_its_hash_recomputed_fails_naming_the_coordinate(tmp_path: Path) -> None:
    path, cases = copy_committed("aggregation", tmp_path)
    cases["median_5_updates"]["expected"]["aggregate"][2] += 1
    rehash(cases["median_5_updates"])
    write(path, cases)
    report = check_fixtures([path])
    assert [f.line() for f in report.failures] == [
        "FAIL aggregation/median_5_updates: expected.aggregate[2]: the fixture has "
        f"{cases['median_5_updates']['expected']['aggregate'][2]}, the library gives "
        f"{cases['median_5_updates']['expected']['aggregate'][2] - 1}"
    ]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"samples": "3"}, "input.updates[0].samples must be a JSON integer"),
        ({"values": [0.5, 0, 0, 0]}, "content.input.updates[0].values[0]: float is not allowed"),
        ({"extra": 1}, "input.updates[0] has unknown keys: extra"),
    ],
)
def test_a_malformed_update_fails_its_case_as_malformed(tmp_path: Path, change: dict[str, Any],
                                                       why: str) -> None:
    path, cases = copy_committed("aggregation", tmp_path)
    cases["fedavg_3_updates_4_coords"]["input"]["updates"][0].update(change)
    rehash(cases["fedavg_3_updates_4_coords"])
    write(path, cases)
    report = check_fixtures([path])
    assert len(report.failures) == 1 and why in report.failures[0].reason
