"""Fuzzing the bundle and step-proof verifier in the test suite: a sample of the mutation corpus of
``pot.fuzz`` and a hypothesis property, on a real honest bundle.

A mutated bundle must be refused (malformed input, or a verdict with a reason) unless it means
exactly the honest bundle; the verifier never raises. Half of the bundle cases are re-signed by
the trainer, so the checks behind the signature are fuzzed too.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pot.bundle import dump_bundle, load_bundle
from pot.circuit import Circuit
from pot.errors import MalformedInputError
from pot.fuzz import BundleTarget, StepProofTarget, json_paths, run_cases, set_at
from pot.verifier import verify_bundle

pytestmark = pytest.mark.ezkl


@pytest.mark.parametrize("backend", ["evm", "ezkl"])
@pytest.mark.parametrize(("make", "cases"), [(BundleTarget, 60), (StepProofTarget, 60)])
def test_a_sample_of_the_mutation_corpus_finds_no_traceback_false_accept_or_timeout(
        honest_round: Any, tiny_circuit: Circuit, make: Any, cases: int, backend: str) -> None:
    stats = run_cases(make(tiny_circuit, honest_round, backend), 0, cases, seed=1)
    assert (stats.tracebacks, stats.false_accepts, stats.timeouts) == (0, 0, 0), stats.failures[:3]
    assert stats.reasons["malformed"] < stats.cases  # some cases reach the verifier's checks


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(["0x", "0x0", "0x" + "00" * 32, "0x" + "ff" * 48]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6),
                                                                     children, max_size=3),
    max_leaves=8)


@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_value_anywhere_in_a_bundle_is_refused_or_means_the_honest_bundle(
        honest_round: Any, tiny_circuit: Circuit, data: st.DataObject) -> None:
    doc = json.loads(dump_bundle(honest_round.bundle))
    path = data.draw(st.sampled_from(json_paths(doc)[1:]))
    mutated = set_at(copy.deepcopy(doc), path, data.draw(JSON_VALUES))
    try:
        bundle = load_bundle(json.dumps(mutated).encode())
    except MalformedInputError:
        return
    verdict = verify_bundle(bundle, tiny_circuit, honest_round.expected, allow_dev_srs=True)
    assert not verdict.ok or bundle == honest_round.bundle, verdict
