"""Shared pytest fixtures. Expensive ezkl artifacts are built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pot.circuit import Circuit, build_circuit
from pot.data import batch_arrays, initial_checkpoint, load_dataset
from pot.spec import ModelSpec, load_spec


@pytest.fixture(scope="session", autouse=True)
def no_checkout_circuits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point ``$POT_CIRCUITS`` at an empty folder for the whole session.

    Commands that find circuits without ``--circuits`` read ``$POT_CIRCUITS`` (default
    ``circuits``). A developer's checkout usually holds built circuits there and CI's clean clone
    does not, so a test that leaned on them would pass here and fail in CI. Tests that need a
    circuit pass its folder explicitly (``tiny_circuit.path.parent``).
    """
    empty = tmp_path_factory.mktemp("no-circuits")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POT_CIRCUITS", str(empty))
        yield


@pytest.fixture(scope="session")
def tiny_spec() -> ModelSpec:
    return load_spec("mlp-tiny")


@pytest.fixture(scope="session")
def circuits_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("circuits")


@pytest.fixture(scope="session")
def tiny_circuit(tiny_spec: ModelSpec, circuits_root: Path) -> Circuit:
    """The tiny spec's circuit with a development SRS: built once per test session."""
    return build_circuit(tiny_spec, circuits_root)


@pytest.fixture(scope="session")
def tiny_step(tiny_circuit: Circuit, tiny_spec: ModelSpec):  # type: ignore[no-untyped-def]
    """One honest proven step of the tiny spec on the first real batch: (proof, witness, x, y)."""
    from pot.prover import prove_step

    data = load_dataset(tiny_spec.dataset)
    x, y = batch_arrays(data, list(range(tiny_spec.batch_size)), tiny_spec)
    params = initial_checkpoint(tiny_spec)
    proof, witness = prove_step(tiny_circuit, params, x, y)
    return proof, witness, params, x, y


@pytest.fixture(scope="session")
def honest_round(tiny_circuit: Circuit):  # type: ignore[no-untyped-def]
    """An honest signed bundle of the tiny spec: 6 real steps, 2 of them challenged and proven
    (``pot.fuzz.build_honest_round``), with the trainer's key and the chain's expectations."""
    from pot.fuzz import build_honest_round

    return build_honest_round(tiny_circuit)
