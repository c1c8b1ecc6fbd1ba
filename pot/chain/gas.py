"""The gas schedule of the chain-side executor.

Only TRAIN_REQUEST (opcode ``0x14``) is metered. Its cost depends on the calldata length alone, so
it is charged before any decoding::

    gas = GAS_TRAIN_REQUEST_BASE + GAS_TRAIN_REQUEST_PER_BYTE * len(calldata)
        = 30,000 + 12 * len(calldata)          (the reference node's schedule)

 Calldata above ``MAX_CALLDATA_BYTES`` (128 KiB) is
refused before gas is charged. The lifecycle calls (join, submit, beacon, submit_proof,
finalize_round) are not metered here; the node that carries them meters its own transactions.
"""

from pot.chain.errors import OutOfGasError
from pot.chain.fixed_types import U64

TRAIN_REQUEST_OPCODE = 0x14

GAS_TRAIN_REQUEST_BASE = 30_000
GAS_TRAIN_REQUEST_PER_BYTE = 12
MAX_CALLDATA_BYTES = 128 * 1024

# The most a TRAIN_REQUEST can cost; it must fit the U64 gas counter.
if GAS_TRAIN_REQUEST_BASE + GAS_TRAIN_REQUEST_PER_BYTE * MAX_CALLDATA_BYTES >= 2**64:
    raise AssertionError("the largest TRAIN_REQUEST charge must fit a uint64")


def train_request_gas(calldata_length: int) -> U64:
    """Return the gas TRAIN_REQUEST charges for calldata of ``calldata_length`` bytes.

    Parameters
    ----------
    calldata_length
        Length of the calldata in bytes, at most ``MAX_CALLDATA_BYTES``.

    Returns
    -------
    U64
        ``GAS_TRAIN_REQUEST_BASE + GAS_TRAIN_REQUEST_PER_BYTE * calldata_length``.
    """
    return U64(GAS_TRAIN_REQUEST_BASE + GAS_TRAIN_REQUEST_PER_BYTE * calldata_length)


def charge_gas(gas_limit: U64, amount: U64) -> U64:
    """Charge ``amount`` against ``gas_limit`` and return the gas used.

    Parameters
    ----------
    gas_limit
        The gas the caller made available to the call.
    amount
        The gas the schedule charges.

    Returns
    -------
    U64
        ``amount``, the gas used.

    Raises
    ------
    OutOfGasError
        If ``amount`` exceeds ``gas_limit``; the call reverts with no state change.
    """
    if amount > gas_limit:
        raise OutOfGasError(f"out of gas: the call needs {amount} gas, the limit is {gas_limit}")
    return amount
