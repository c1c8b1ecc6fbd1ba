"""Throughput of the chain-side executor.

Measures, on a fresh SQLite state file in a temporary folder:

1. TRAIN_REQUEST calldata decoded and checked per second (no state);
2. TRAIN_REQUESTs executed per second as signed transactions (``Executor.apply``: decode the
   envelope, check the chain id, verify the sender's BLS signature, then the opcode; one
   committed SQLite transaction each, state root refreshed after each), against the baseline of
   the same opcode called with the sender taken as authenticated (the path every call took before
   transactions were signed);
3. the time of one ``finalize_round`` with ``--trainers`` accepted updates of ``--params`` weights
   (default FedAvg, settled by pot's economics), and of one ``submit_proof``.

Proofs are not verified here: the executor is given ``accept_every_bundle``, which accepts every
bundle, so the figures are the executor's own cost. Run::

    python benchmarks/chain_throughput.py --requests 1000 --trainers 100 --params 10000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from pot.chain.abi import TrainRequest, decode_train_request, encode_train_request
from pot.chain.executor import Executor, Sender
from pot.chain.fixed_types import U16, U32, U64, U256, Address, Bytes32, Bytes48
from pot.chain.hooks import SubmissionContext, weights_commitment
from pot.chain.hyperparams import AggregationRule, Hyperparams, LossId, encode_hyperparams
from pot.chain.request import check_train_request
from pot.chain.settler import economics_settle
from pot.chain.store import Store
from pot.chain.tx import address_of
from pot.chain.wallet import Wallet, produce_block
from pot.protocol.keys import SecretKey, public_key
from pot.verdict import Verdict

CHAIN_ID = 1
GAS_LIMIT = 10_000_000


def accept_every_bundle(bundle: bytes, context: SubmissionContext) -> Verdict:
    """Accept every bundle with 100 verified samples (the benchmark measures the executor only)."""
    return Verdict(True, "ok", 100)


def calldata(params: int, min_participants: int, total_rounds: int = 2) -> bytes:
    hyperparams = Hyperparams(
        lr_q16=U32(655), local_epochs=U16(1), batch_size=U32(32), samples_per_round=U16(4),
        steps_per_round=U32(16), loss_id=LossId.CROSS_ENTROPY,
        model_spec_id=Bytes32(b"\x03" * 32), param_count=U64(params),
        aggregation_rule=AggregationRule.FEDAVG, rule_param=U32(0), join_blocks=U32(10),
        submit_blocks=U32(10), proof_blocks=U32(10),
    )
    return encode_train_request(
        TrainRequest(
            model_id=Bytes32(b"\x01" * 32), dataset_ref=Bytes32(b"\x02" * 32),
            total_rounds=U256(total_rounds), min_participants=U64(min_participants),
            hyperparams=encode_hyperparams(hyperparams),
        )
    )


def bench_decode(count: int) -> float:
    data = calldata(650, 2)
    start = time.perf_counter()
    for _ in range(count):
        check_train_request(decode_train_request(data))
    return count / (time.perf_counter() - start)


def bench_requests(folder: Path, count: int) -> tuple[float, float]:
    """Signed TRAIN_REQUESTs per second, and the unsigned baseline's, on two fresh states."""
    data = calldata(650, 2)
    wallet = Wallet(Executor(Store.create(folder / "signed.db", CHAIN_ID)), SecretKey(7))
    txs = [wallet.sign("train_request", (data, GAS_LIMIT, 0), nonce) for nonce in range(count)]
    start = time.perf_counter()
    for tx in txs:
        wallet.executor.apply(tx, 10)
    signed = count / (time.perf_counter() - start)
    wallet.executor.store.close()
    executor = Executor(Store.create(folder / "unsigned.db", CHAIN_ID))
    caller = address_of(wallet.key)
    start = time.perf_counter()
    for nonce in range(count):
        sender = Sender(key=wallet.key, address=caller, nonce=U64(nonce))
        executor._train_request(sender, data, GAS_LIMIT, 0, 10)
    unsigned = count / (time.perf_counter() - start)
    executor.store.close()
    return signed, unsigned


def bench_finalize(folder: Path, trainers: int, params: int) -> tuple[float, float]:
    secrets = [SecretKey(i + 1) for i in range(trainers)]
    requester, validator = SecretKey(10**6), SecretKey(10**6 + 1)
    alloc: dict[Address | Bytes48, int] = {
        address_of(public_key(requester)): 10**24,
        **{Bytes48(public_key(sk)): 10**18 for sk in secrets},
    }
    executor = Executor(
        Store.create(folder / "finalize.db", CHAIN_ID, alloc, [Bytes48(public_key(validator))]),
        verify=accept_every_bundle, settle=economics_settle,
    )
    wallets = [Wallet(executor, sk) for sk in secrets]
    boss = Wallet(executor, requester)
    job_id = boss.request(calldata(params, trainers), GAS_LIMIT, 10, 10**21).job_id
    for wallet in wallets:
        wallet.join(job_id, 10**18, Bytes32(b"\x04" * 32), 1000, 11)
    rng = np.random.default_rng(0)
    for wallet in wallets:
        payload = rng.integers(-(2**20), 2**20, size=params, dtype="<i8").tobytes()
        wallet.submit(
            job_id, 0, Bytes32(b"\x05" * 32), 16, weights_commitment(payload), payload, 20
        )
    produce_block(executor, [validator], 31)
    proof_start = time.perf_counter()
    for wallet in wallets:
        wallet.submit_proof(job_id, 0, b"bundle", 31)
    proof_time = (time.perf_counter() - proof_start) / trainers
    start = time.perf_counter()
    receipt = boss.finalize_round(job_id, 0, 32)
    finalize_time = time.perf_counter() - start
    assert receipt.outcome == "finalized" and receipt.accepted == trainers
    executor.store.close()
    return finalize_time, proof_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decodes", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--trainers", type=int, default=100)
    parser.add_argument("--params", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        decodes = bench_decode(args.decodes)
        requests, unsigned = bench_requests(folder, args.requests)
        finalize, proof = bench_finalize(folder, args.trainers, args.params)
    result = {
        "decoded_requests_per_s": round(decodes),
        "executed_requests_per_s": round(requests, 1),
        "unsigned_baseline_requests_per_s": round(unsigned, 1),
        "requests": args.requests,
        "finalize_round_s": round(finalize, 4),
        "submit_proof_s": round(proof, 5),
        "trainers": args.trainers,
        "params": args.params,
    }
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return
    print(f"decode+check TRAIN_REQUEST   {decodes:12,.0f} /s")
    print(f"execute TRAIN_REQUEST signed {requests:12,.1f} /s   ({args.requests} requests)")
    print(f"  baseline, unsigned opcode  {unsigned:12,.1f} /s   ({requests / unsigned:.2f}x)")
    print(f"submit_proof signed, no verifier {proof * 1e3:8.2f} ms")
    print(
        f"finalize_round               {finalize * 1e3:12.1f} ms   "
        f"({args.trainers} trainers x {args.params} weights)"
    )


if __name__ == "__main__":
    main()
