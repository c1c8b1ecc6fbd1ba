"""`pot fixtures fill`: deterministic files, equal to the committed ones, covering every rule.

The test that compares the committed ``fixtures/`` with a fresh fill is the CI re-fill check: CI runs
pytest, so a change to the library or a filler that is not re-filled and committed fails here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_hash.auto import keccak
from test_fixtures_support import COMMITTED, REPO, load

from pot import __version__
from pot.chain import errors as chain_errors
from pot.fixtures.challenge import replay as challenge_replay
from pot.fixtures.core import CaseSpec, FixtureFormat
from pot.fixtures.errors import FillError
from pot.fixtures.fill import fill_cases, fill_fixtures, render
from pot.fixtures.formats import FORMATS, PLAIN_FORMATS, SEPARATE_FORMATS, check_table
from pot.fixtures.hyperparams import RULE_BREAKS
from pot.protocol.challenge import challenge_seed
from pot.protocol.errors import ChallengeError

PROTOCOL_DOC = (REPO / "docs" / "protocol.md").read_text()


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fresh fill, shared by the tests of this module."""
    out = tmp_path_factory.mktemp("filled")
    fill_fixtures(out)
    return out


def cases_of(filled: Path, name: str) -> dict[str, Any]:
    return load(filled / f"{name}.json")


def test_filling_twice_gives_byte_identical_files(filled: Path, tmp_path: Path) -> None:
    counts = fill_fixtures(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.json" for n in PLAIN_FORMATS)
    for name, count in counts.items():
        assert (tmp_path / f"{name}.json").read_bytes() == (filled / f"{name}.json").read_bytes()
        assert len(load(tmp_path / f"{name}.json")) == count


def test_committed_fixtures_equal_a_fresh_fill(filled: Path) -> None:
    committed = sorted(p.name for p in COMMITTED.glob("*.json") if p.stem not in SEPARATE_FORMATS)
    assert committed == sorted(p.name for p in filled.glob("*.json")), "run `pot fixtures fill`"
    for path in sorted(filled.glob("*.json")):
        assert (COMMITTED / path.name).read_bytes() == path.read_bytes(), (
            f"fixtures/{path.name} differs from a fresh fill: run `pot fixtures fill` and commit"
        )


def test_files_are_sorted_one_space_indented_ascii_with_a_final_newline(filled: Path) -> None:
    for path in filled.glob("*.json"):
        text = path.read_text(encoding="ascii")
        assert text == render(json.loads(text))
        assert text.endswith("}\n") and text.startswith('{\n "')


def test_every_case_has_its_info_and_the_sha256_of_its_canonical_content(filled: Path) -> None:
    for name, fmt in PLAIN_FORMATS.items():
        for test, case in cases_of(filled, name).items():
            info = case["_info"]
            assert set(info) == {"description", "pot_version", "format", "format_version", "hash"}
            assert (info["format"], info["format_version"], info["pot_version"]) == (
                name, fmt.version, __version__
            ), test
            assert info["description"]
            content = {k: v for k, v in case.items() if k != "_info"}
            assert set(content) in ({"input", "expected"}, {"input", "expected_error"}), test
            canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
            assert info["hash"] == "sha256:" + hashlib.sha256(canonical).hexdigest(), test


def error_names(cases: dict[str, Any]) -> set[str]:
    return {case["expected_error"] for case in cases.values() if "expected_error" in case}


def test_train_request_covers_every_revert_a_request_can_hit(filled: Path) -> None:
    wanted = {
        cls.__name__
        for base in (chain_errors.CalldataError, chain_errors.RequestError)
        for cls in [base, *base.__subclasses__()]
        if cls not in (chain_errors.CalldataError, chain_errors.RequestError)
    } | {"OutOfGasError", "NonceReplayError", "NonceGapError"}
    assert wanted == {
        "CalldataTooLargeError", "CalldataLengthError", "BadOffsetError", "NonZeroPaddingError",
        "Uint64OverflowError", "HyperparamsError", "TotalRoundsError", "MinParticipantsError",
        "ZeroReferenceError", "OutOfGasError", "NonceReplayError", "NonceGapError",
    }
    assert error_names(cases_of(filled, "train_request")) == wanted


def test_train_request_outputs_agree_with_eth_abi_and_the_job_id_rule(filled: Path) -> None:
    """Recompute each valid case without pot: eth-abi decodes it, keccak gives its job id."""
    valid = {n: c for n, c in cases_of(filled, "train_request").items() if "expected" in c}
    assert len(valid) >= 10
    for name, case in valid.items():
        given = case["input"]
        calldata = bytes.fromhex(given["calldata"][2:])
        model_id, dataset_ref, rounds, quorum, hyperparams = abi_decode(
            ["bytes32", "bytes32", "uint256", "uint64", "bytes"], calldata
        )
        assert any(model_id) and any(dataset_ref), name
        assert 1 <= rounds <= 10_000 and 1 <= quorum <= 1_024 and len(hyperparams) == 75, name
        preimage = (
            b"\x14" + int(given["chain_id"]).to_bytes(8, "big") + bytes.fromhex(given["caller"][2:])
            + int(given["nonce"]).to_bytes(8, "big") + calldata
        )
        expected = dict(case["expected"])
        root = expected.pop("state_root")
        assert expected == {
            "job_id": "0x" + keccak(preimage).hex(),
            "gas_used": str(30_000 + 12 * len(calldata)),
        }, name
        assert len(bytes.fromhex(root[2:])) == 32, name
    # The gas limit is not state: requests that differ only in it commit the same root, and
    # requests with different job ids commit different roots.
    pairs = {(c["expected"]["job_id"], c["expected"]["state_root"]) for c in valid.values()}
    assert len({job for job, _ in pairs}) == len({root for _, root in pairs}) == len(pairs)


def test_train_request_edge_values(filled: Path) -> None:
    cases = cases_of(filled, "train_request")
    assert cases["valid_gas_limit_exact"]["input"]["gas_limit"] == "33456"
    assert cases["out_of_gas_one_below"]["input"]["gas_limit"] == "33455"
    assert cases["valid_gas_limit_uint64_max"]["input"]["gas_limit"] == str(2**64 - 1)
    too_large = bytes.fromhex(cases["calldata_too_large_before_gas"]["input"]["calldata"][2:])
    at_cap = bytes.fromhex(cases["calldata_at_size_cap"]["input"]["calldata"][2:])
    assert (len(too_large), len(at_cap)) == (128 * 1024 + 1, 128 * 1024)

    def word(name: str, offset: int) -> int:
        calldata = bytes.fromhex(cases[name]["input"]["calldata"][2:])
        return int.from_bytes(calldata[offset : offset + 32], "big")

    assert word("valid_total_rounds_cap", 64) == 10_000
    assert word("total_rounds_above_cap", 64) == 10_001
    assert word("min_participants_uint64_max", 96) == 2**64 - 1
    assert word("min_participants_two_pow_64", 96) == 2**64


def test_hyperparams_break_each_rule_in_both_directions(filled: Path) -> None:
    cases = cases_of(filled, "hyperparams")
    for rule in RULE_BREAKS:
        assert cases[f"decode_{rule}"]["expected_error"] == "HyperparamsError"
        assert cases[f"encode_{rule}"]["expected_error"] == "HyperparamsError"
    for structural in ("empty", "version_two", "one_byte_short", "one_trailing_byte", "loss_id_2",
                       "aggregation_rule_5"):
        assert cases[f"decode_{structural}"]["expected_error"] == "HyperparamsError"


def test_hyperparams_decode_and_encode_cases_are_inverse(filled: Path) -> None:
    cases = cases_of(filled, "hyperparams")
    valid = [
        n.removeprefix("decode_") for n, c in cases.items() if n.startswith("decode_") and "expected" in c
    ]
    assert len(valid) >= 9
    for name in valid:
        decoded, encoded = cases[f"decode_{name}"], cases[f"encode_{name}"]
        assert encoded["input"]["fields"] == decoded["expected"], name
        assert encoded["expected"]["encoded"] == decoded["input"]["encoded"], name


def test_challenge_and_merkle_reproduce_the_protocol_worked_example(filled: Path) -> None:
    challenge = cases_of(filled, "challenge")["protocol_md_worked_example"]
    assert challenge["expected"]["indices"] == ["3", "0", "2"]
    assert challenge["expected"]["seed"] in PROTOCOL_DOC
    merkle = cases_of(filled, "merkle")
    dataset = merkle["tree_dataset_protocol_md_worked_example"]["expected"]
    assert f"dataset root      {dataset['root']}" in PROTOCOL_DOC
    assert f"path of batch 2   {dataset['paths'][2][0]}" in PROTOCOL_DOC
    trajectory = merkle["trajectory_protocol_md_worked_example"]["expected"]
    assert f"trajectory root   {trajectory['root']}" in PROTOCOL_DOC
    for t, leaf in enumerate(trajectory["leaves"]):
        assert f"leaf {t}  {leaf}" in PROTOCOL_DOC


def test_challenge_seed_of_every_case_is_recomputed_by_the_library(filled: Path) -> None:
    for name, case in cases_of(filled, "challenge").items():
        if "expected" not in case:
            continue
        given = {
            k: bytes.fromhex(v[2:]) if v.startswith("0x") else int(v) for k, v in case["input"].items()
        }
        seed = challenge_seed(given["job_id"], given["round"], given["trainer_pubkey"],
                              given["trajectory_root"], given["beacon"])
        indices = [int(i) for i in case["expected"]["indices"]]
        assert case["expected"]["seed"] == "0x" + seed.hex(), name
        assert len(set(indices)) == given["k"] and all(0 <= i < given["n_steps"] for i in indices), name


def test_big_integers_are_decimal_strings_and_small_ones_numbers(filled: Path) -> None:
    case = cases_of(filled, "hyperparams")["decode_greatest_values"]["expected"]
    assert case["param_count"] == str(2**22) and case["lr_q16"] == 2**32 - 1
    assert cases_of(filled, "merkle")["verify_leaf_count_uint64_max"]["input"]["n_leaves"] == str(2**64 - 1)


def one_case_format(spec: CaseSpec) -> FixtureFormat:
    """A format with the challenge consumer and a single declared case."""
    return FixtureFormat("probe", 1, "one case", lambda folder: [spec], challenge_replay)


def challenge_input(k: str) -> dict[str, str]:
    return {"job_id": "0x" + "11" * 32, "round": "0", "trainer_pubkey": "0x" + "22" * 48,
            "trajectory_root": "0x" + "33" * 32, "beacon": "0x" + "44" * 32, "n_steps": "4", "k": k}


def test_a_case_that_misses_its_declared_outcome_stops_the_fill() -> None:
    wrong_output = one_case_format(CaseSpec("k_zero", "k = 0.", challenge_input("0")))
    with pytest.raises(FillError, match=r"^probe/k_zero: the filler declares an output, the library "
                                        r"gives ChallengeError \(a challenge samples at least one step"):
        fill_cases(wrong_output, REPO)
    wrong_error = one_case_format(CaseSpec("k_two", "k = 2.", challenge_input("2"), ChallengeError))
    with pytest.raises(FillError, match=r"^probe/k_two: the filler declares ChallengeError, the "
                                        r"library gives an output$"):
        fill_cases(wrong_error, REPO)


def test_a_malformed_or_repeated_case_stops_the_fill() -> None:
    upper = challenge_input("1") | {"beacon": "0x" + "AA" * 32}
    with pytest.raises(FillError, match=r"^probe/upper: the filler wrote a malformed case: "
                                        r"input.beacon must be 0x followed by lowercase hex"):
        fill_cases(one_case_format(CaseSpec("upper", "Upper-case hex.", upper)), REPO)
    spec = CaseSpec("twice", "Twice.", challenge_input("1"))
    twice = FixtureFormat("probe", 1, "two cases", lambda folder: [spec, spec], challenge_replay)
    with pytest.raises(FillError, match=r"^probe/twice: two cases share this name$"):
        fill_cases(twice, REPO)
    with pytest.raises(FillError, match=r"^probe/Bad-Name: a test name is lowercase"):
        fill_cases(one_case_format(CaseSpec("Bad-Name", "Bad name.", challenge_input("1"))), REPO)


def test_the_format_table_refuses_clashing_or_malformed_entries() -> None:
    fmt = FORMATS["challenge"]
    with pytest.raises(AssertionError, match="share a name"):
        check_table((fmt, fmt))
    with pytest.raises(AssertionError, match="not lowercase snake case"):
        check_table((FixtureFormat("Challenge", 1, "", fmt.fill, fmt.replay),))
    with pytest.raises(AssertionError, match="version >= 1"):
        check_table((FixtureFormat("challenge", 0, "", fmt.fill, fmt.replay),))


def test_a_case_whose_output_misses_a_declared_entry_stops_the_fill() -> None:
    spec = CaseSpec("k_one", "k = 1.", challenge_input("1"), expect={"indices": ["1"]})
    with pytest.raises(FillError, match=r"^probe/k_one: the filler declares an output with "
                                        r"indices = \['2'\], not \['1'\]$"):
        fill_cases(one_case_format(spec), REPO)
    met = CaseSpec("k_one", "k = 1.", challenge_input("1"), expect={"indices": ["2"]})
    assert fill_cases(one_case_format(met), REPO)["k_one"]["expected"]["indices"] == ["2"]


def test_the_plain_fill_leaves_out_the_separate_formats() -> None:
    assert set(PLAIN_FORMATS) == {name for name, fmt in FORMATS.items() if not fmt.separate}
    assert set(PLAIN_FORMATS) >= {"train_request", "hyperparams", "challenge", "merkle"}
