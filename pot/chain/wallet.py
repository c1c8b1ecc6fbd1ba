"""A key that signs chain calls: :class:`Wallet` builds, signs and applies transactions.

The CLI, ``pot simulate``, the Flower server and the tests all send their calls through a wallet,
so each call is a real signed :class:`~pot.chain.tx.Tx` checked by
:meth:`~pot.chain.executor.Executor.apply`. A wallet reads its next nonce from the state before
each call (a caller that races another sender of the same key gets ``NonceReplayError`` and may
retry). :func:`produce_block` is the validators' side: a block's RANDAO reveal.

Source: docs/chain.md, "Transactions".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pot.chain.fixed_types import U64, Address, Bytes32, Bytes48
from pot.chain.tx import Tx, address_of, prove_possession, sign_reveal, sign_tx
from pot.protocol.keys import SecretKey, public_key

if TYPE_CHECKING:
    from pot.chain.executor import (
        CallReceipt,
        ClaimReceipt,
        Executor,
        FinalizeReceipt,
        ProofReceipt,
        RequestReceipt,
        RevealReceipt,
    )


class Wallet:
    """One BLS key acting on one executor.

    Parameters
    ----------
    executor
        The executor the transactions are applied to.
    secret
        The sender's secret key.
    """

    def __init__(self, executor: Executor, secret: SecretKey) -> None:
        self.executor = executor
        self._secret = secret
        self.key = Bytes48(public_key(secret))
        self.address: Address = address_of(self.key)
        self._pop: bytes | None = None

    def next_nonce(self) -> U64:
        """The sender's next nonce, read from the state."""
        with self.executor.store.snapshot():
            return self.executor.store.next_nonce(self.address)

    def sign(self, call: str, values: Sequence[Any], nonce: int | None = None) -> Tx:
        """Return the signed transaction of ``call(values)`` (default nonce: the next one)."""
        with self.executor.store.snapshot():
            chain_id = self.executor.store.chain_id()
        chosen = self.next_nonce() if nonce is None else nonce
        return sign_tx(self._secret, chain_id, chosen, call, values)

    def send(self, call: str, values: Sequence[Any], height: int,
             nonce: int | None = None) -> Any:
        """Sign ``call(values)`` and apply it at ``height``; return the call's receipt."""
        return self.executor.apply(self.sign(call, values, nonce), height)

    def proof_of_possession(self) -> bytes:
        """The key's proof of possession (computed once)."""
        if self._pop is None:
            self._pop = prove_possession(self._secret)
        return self._pop

    # -- one method per call -------------------------------------------------------------------

    def request(self, calldata: bytes, gas_limit: int, height: int, value: int = 0,
                nonce: int | None = None) -> RequestReceipt:
        """TRAIN_REQUEST from this key's address, escrowing ``value`` wei."""
        receipt: RequestReceipt = self.send(
            "train_request", (bytes(calldata), gas_limit, value), height, nonce
        )
        return receipt

    def fund(self, job_id: bytes, amount: int, height: int) -> CallReceipt:
        """Add ``amount`` wei to the escrow of a job this key's address requested."""
        receipt: CallReceipt = self.send("fund", (Bytes32(job_id), amount), height)
        return receipt

    def join(self, job_id: bytes, stake: int, dataset_commitment: bytes, num_samples: int,
             height: int) -> CallReceipt:
        """Join a job with this key, staking ``stake`` wei of its balance."""
        receipt: CallReceipt = self.send(
            "join",
            (Bytes32(job_id), stake, Bytes32(dataset_commitment), num_samples,
             self.proof_of_possession()),
            height,
        )
        return receipt

    def submit(self, job_id: bytes, round_number: int, trajectory_root: bytes, steps: int,
               update_commitment: bytes, payload: bytes, height: int) -> CallReceipt:
        """Submit this key's trajectory root and final weights for a round."""
        receipt: CallReceipt = self.send(
            "submit",
            (Bytes32(job_id), round_number, Bytes32(trajectory_root), steps,
             Bytes32(update_commitment), bytes(payload)),
            height,
        )
        return receipt

    def submit_proof(self, job_id: bytes, round_number: int, bundle: bytes,
                     height: int) -> ProofReceipt:
        """Have this key's proof bundle of a round judged."""
        receipt: ProofReceipt = self.send(
            "submit_proof", (Bytes32(job_id), round_number, bytes(bundle)), height
        )
        return receipt

    def finalize_round(self, job_id: bytes, round_number: int, height: int) -> FinalizeReceipt:
        """Close a round (anyone may)."""
        receipt: FinalizeReceipt = self.send(
            "finalize_round", (Bytes32(job_id), round_number), height
        )
        return receipt

    def release_slash(self, job_id: bytes, round_number: int, trainer: bytes,
                      height: int) -> CallReceipt:
        """Release a trainer's pending slash into the insurance fund (anyone may)."""
        receipt: CallReceipt = self.send(
            "release_slash", (Bytes32(job_id), round_number, bytes(Bytes48(trainer))), height
        )
        return receipt

    def appeal(self, job_id: bytes, round_number: int, bundle: bytes,
               height: int) -> ClaimReceipt:
        """Appeal this key's slash for a rejected proof with the same bundle."""
        receipt: ClaimReceipt = self.send(
            "appeal", (Bytes32(job_id), round_number, bytes(bundle)), height
        )
        return receipt

    def prove_fraud(self, job_id: bytes, round_number: int, trainer: bytes, bundle: bytes,
                    height: int) -> ClaimReceipt:
        """Show that a trainer's accepted bundle is a fraud, as this key's address."""
        receipt: ClaimReceipt = self.send(
            "prove_fraud",
            (Bytes32(job_id), round_number, bytes(Bytes48(trainer)), bytes(bundle)), height,
        )
        return receipt


def produce_block(executor: Executor, validators: Sequence[SecretKey], height: int) -> RevealReceipt:
    """Reveal block ``height`` as its scheduled producer among ``validators`` (the chain's list).

    Raises
    ------
    RevealError
        If none of ``validators`` is the block's scheduled producer (or as ``Executor.reveal``).
    """
    from pot.chain.errors import RevealError

    with executor.store.snapshot():
        scheduled = executor.store.validators()
        chain_id = executor.store.chain_id()
    if not scheduled:
        raise RevealError("this chain has no validators; no block can reveal")
    producer = scheduled[height % len(scheduled)]
    for secret in validators:
        if Bytes48(public_key(secret)) == producer:
            return executor.reveal(sign_reveal(secret, chain_id, height), height)
    raise RevealError(f"no key given is the producer {producer.to_hex()} of block {height}")
