"""pot's node (:mod:`pot.node`): zoo specs, Poseidon commitments, the bundle verifier, economics.

These run the executor with pot's real hooks. No circuit is built: the verifier paths exercised
here (an unreadable bundle, a node without the job's circuit) are decided before any proof is
checked, and the accepted path is covered by the ezkl tests of :mod:`pot.verifier`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from test_chain_support import (
    BEACON,
    CALLER,
    CHAIN_ID,
    DATASET_COMMITMENT,
    GAS_LIMIT,
    REQUEST_HEIGHT,
    STAKE_WEI,
    TRAJECTORY_ROOT,
    VALIDATORS,
    Chain,
    assert_reverts,
    genesis_alloc,
    make_calldata,
    make_hyperparams,
    pubkey,
    tiny_hyperparams,
    well_formed_bundle,
)

from pot.chain.errors import HyperparamsError, NoVerifierError
from pot.chain.executor import Sender
from pot.chain.fixed_types import U32, U64, Bytes32
from pot.chain.hooks import no_payments, weights_commitment, weights_to_payload
from pot.chain.settler import economics_settle
from pot.chain.store import Store
from pot.chain.tx import address_of
from pot.circuit import Circuit
from pot.data import initial_checkpoint
from pot.errors import MalformedInputError, SpecError
from pot.node import BundleVerifier, SpecCircuits, job_spec, node_executor
from pot.spec import load_spec
from pot.tensors import checkpoint_commitment, flatten_params

SPEC = load_spec("mlp-tiny")


def w0_payload() -> bytes:
    return weights_to_payload(flatten_params(initial_checkpoint(SPEC), SPEC))


@dataclasses.dataclass
class Node:
    executor: Chain
    job_id: Bytes32


@pytest.fixture
def circuits(tiny_circuit: Circuit) -> Path:
    """A node's circuits folder holding the tiny spec's circuit."""
    return tiny_circuit.path.parent


def node_job(tmp_path: Path, circuits: Path, **hooks: object) -> Node:
    """pot's node on a fresh state: a one-round mlp-tiny job with two trainers who submitted."""
    store = Store.create(tmp_path / "state.db", CHAIN_ID, genesis_alloc(), VALIDATORS)
    executor = Chain(node_executor(store, circuits, **hooks))
    calldata = make_calldata(total_rounds=1, min_participants=1, **tiny_hyperparams())
    job_id = executor.train_request(CALLER, 0, calldata, GAS_LIMIT, REQUEST_HEIGHT, 1000).job_id
    for i in range(2):
        executor.join(job_id, pubkey(i), STAKE_WEI, DATASET_COMMITMENT, 100, REQUEST_HEIGHT + 1)
    payload = w0_payload()
    for i in range(2):
        executor.submit(
            job_id, 0, pubkey(i), TRAJECTORY_ROOT, 8, executor.update_commitment(job_id, payload),
            payload, 15,
        )
    executor.beacon(job_id, 0, BEACON, 21)
    return Node(executor, job_id)


def test_job_spec_checks_the_hyperparams_against_the_zoo() -> None:
    assert job_spec(make_hyperparams(**tiny_hyperparams())).name == "mlp-tiny"
    with pytest.raises(SpecError, match="param_count 4 != 226; batch_size 16 != 4"):
        job_spec(make_hyperparams(**tiny_hyperparams(param_count=U64(4), batch_size=U32(16))))
    with pytest.raises(SpecError, match="is neither in the zoo nor in the spec store"):
        job_spec(make_hyperparams())


def test_commitments_are_the_protocols_commit_of_the_weights_kzg_points(
        tiny_circuit: Circuit, circuits: Path) -> None:
    hp = make_hyperparams(**tiny_hyperparams())
    pinned = SpecCircuits(circuits)
    w0 = checkpoint_commitment(initial_checkpoint(SPEC), tiny_circuit)
    assert pinned.payload_commitment(w0_payload(), hp) == Bytes32(w0)
    assert pinned.genesis(None, hp) == Bytes32(w0)  # type: ignore[arg-type]
    assert pinned.payload_commitment(w0_payload(), hp) != weights_commitment(w0_payload())
    changed = np.frombuffer(w0_payload(), dtype="<i8").copy()
    changed[-1] += 1
    assert pinned.payload_commitment(changed.tobytes(), hp) != Bytes32(w0)


def test_a_node_without_the_circuit_cannot_commit(tmp_path: Path) -> None:
    hp = make_hyperparams(**tiny_hyperparams())
    with pytest.raises(NoVerifierError, match="no circuit for spec 'mlp-tiny'"):
        SpecCircuits(tmp_path / "none").payload_commitment(w0_payload(), hp)
    store = Store.create(tmp_path / "state.db", CHAIN_ID, genesis_alloc(), VALIDATORS)
    executor = Chain(node_executor(store, tmp_path / "none"))
    calldata = make_calldata(total_rounds=1, min_participants=1, **tiny_hyperparams())
    assert_reverts(store, HyperparamsError, "no round-0 model for this request: .*no circuit for spec",
                   lambda: executor.train_request(CALLER, 0, calldata, GAS_LIMIT, REQUEST_HEIGHT, 1000))


def test_round_zero_starts_from_the_specs_initial_model(tmp_path: Path, tiny_circuit: Circuit,
                                                        circuits: Path) -> None:
    node = node_job(tmp_path, circuits)
    rnd = node.executor.store.round(node.job_id, U64(0))
    assert rnd is not None
    assert rnd.input_commitment == Bytes32(checkpoint_commitment(initial_checkpoint(SPEC),
                                                                 tiny_circuit))


def test_a_request_for_a_spec_outside_the_zoo_reverts(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "state.db", CHAIN_ID, genesis_alloc(), VALIDATORS)
    executor = Chain(node_executor(store, tmp_path))
    assert_reverts(
        store, HyperparamsError, "no round-0 model for this request: model spec id 0x0303",
        lambda: executor.train_request(CALLER, 0, make_calldata(), GAS_LIMIT, 10),
    )


def test_an_unreadable_bundle_is_rejected_as_malformed(tmp_path: Path, circuits: Path) -> None:
    node = node_job(tmp_path, circuits)
    store = node.executor.store
    with store.snapshot():
        sender = Sender(pubkey(0), address_of(pubkey(0)), store.next_nonce(address_of(pubkey(0))))
        context = node.executor.inner._proof_context(sender, node.job_id, U64(0), 21)
    with pytest.raises(MalformedInputError, match="bundle"):
        BundleVerifier(tmp_path / "no-circuits")(b"{}", context)
    receipt = node.executor.submit_proof(node.job_id, 0, pubkey(0), b"{}", 21)
    assert (receipt.verdict, receipt.reason, receipt.verified_samples) == ("rejected", "malformed", 0)


def test_a_node_without_the_circuit_reverts_and_records_nothing(tmp_path: Path,
                                                              circuits: Path) -> None:
    node = node_job(tmp_path, circuits)
    bundle = well_formed_bundle(bytes(node.job_id), bytes(pubkey(0)))
    other = Chain(node_executor(node.executor.store, tmp_path / "no-circuits"))
    assert_reverts(
        node.executor.store, NoVerifierError,
        "this node cannot judge the job: no circuit for spec 'mlp-tiny'",
        lambda: other.submit_proof(node.job_id, 0, pubkey(0), bundle, 21),
    )


def test_the_node_settles_with_pots_economics(tmp_path: Path, circuits: Path) -> None:
    node = node_job(tmp_path, circuits)
    node.executor.submit_proof(node.job_id, 0, pubkey(0), b"not json", 21)
    receipt = node.executor.finalize_round(node.job_id, 0, 26)
    # nobody accepted: the round fails, the bad bundle and the missing proof are slashed 10 %.
    assert receipt.outcome == "failed"
    assert receipt.settlement["slashes"] == {
        pubkey(0).to_hex(): STAKE_WEI // 10, pubkey(1).to_hex(): STAKE_WEI // 10,
    }
    assert receipt.settlement["close"]["escrow_refund_wei"] == 1000
    assert node.executor._settle is economics_settle
    assert node_executor(node.executor.store, tmp_path, settle=no_payments)._settle is no_payments


def test_an_export_with_kzg_commitments_imports_only_with_the_nodes_commitment(
    tmp_path: Path, circuits: Path,
) -> None:
    node = node_job(tmp_path, circuits)
    export = node.executor.store.export()
    copy = Store.import_state(tmp_path / "copy.db", export, SpecCircuits(circuits).payload_commitment)
    assert copy.state_root() == node.executor.store.state_root()
    from pot.chain.errors import StateError

    with pytest.raises(StateError, match="payload does not match its update commitment"):
        Store.import_state(tmp_path / "keccak.db", export)


def test_a_validator_lacking_the_jobs_spec_says_so_and_finds_it_once_stored(
    tmp_path: Path, circuits: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pot.spec import ModelSpec, add_spec

    node = node_job(tmp_path, circuits)
    store = node.executor.store
    with store.snapshot():
        sender = Sender(pubkey(0), address_of(pubkey(0)), store.next_nonce(address_of(pubkey(0))))
        context = node.executor.inner._proof_context(sender, node.job_id, U64(0), 21)
    mine = ModelSpec.from_json({**SPEC.to_json(), "name": "mine"})
    ctx = dataclasses.replace(context, hyperparams=dataclasses.replace(
        context.hyperparams, model_spec_id=Bytes32(mine.spec_id)))
    bundle = well_formed_bundle(bytes(node.job_id), bytes(pubkey(0)))
    monkeypatch.setenv("POT_SPECS", str(tmp_path / "specs"))
    with pytest.raises(NoVerifierError, match=rf"cannot judge the job: model spec id "
                       rf"{mine.spec_id_hex} is neither in the zoo nor in the spec store"):
        BundleVerifier(circuits)(bundle, ctx)
    add_spec(mine)  # the spec store now holds it: the node finds the spec (and lacks its circuit)
    with pytest.raises(NoVerifierError, match="no circuit for spec 'mine'"):
        BundleVerifier(circuits)(bundle, ctx)
