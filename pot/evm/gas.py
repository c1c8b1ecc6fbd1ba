"""The gas the chain executor charges for verifying proofs: what the EVM verifier used.

``submit_proof`` (and ``pot chain prove-submit``) judge a bundle with the node's verifier; with the
EVM backend (the default) every sampled step proof is one ``verifyProof`` call of the pinned
verifier contract (:mod:`pot.evm.backend`), and the executor charges the caller the gas those calls
used, in EVM gas units (each call's figure includes the 21,000 intrinsic gas and its calldata)::

    gas_used(submit_proof) = sum of the EVM gas of the bundle's verifyProof calls

A bundle rejected before its proofs (a bad signature, a wrong root) costs 0; a proof that reverts
costs the gas spent until the revert. ``docs/chain.md`` gives the schedule and measured figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pot.evm.backend import metered


@contextmanager
def verification_gas() -> Iterator[Callable[[], int]]:
    """Meter the EVM verifier's calls this thread makes inside the block.

    Yields
    ------
    Callable[[], int]
        Returns the gas used so far in the block (what the executor charges).
    """
    with metered() as meter:
        yield lambda: meter.gas_used
