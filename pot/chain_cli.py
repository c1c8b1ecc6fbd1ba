"""``pot chain``: run the chain-side executor against a state file, one call per command.

A thin shell over pot's node, :func:`pot.node.node_executor`: the executor bound to pot's model
zoo (a job names a zoo spec), its weights commitment (KZG points under the spec's circuit), its
bundle verifier and its economics settler. Every command opens the state file given by ``--state`` (default
``pot-chain.db``, or ``$POT_CHAIN_STATE``), runs one call in one transaction and prints its result,
as text or, with ``--json``, as one line of canonical JSON. A reverted call prints
``reverted (ErrorName): message`` and exits with code 1; unusable arguments exit with code 2.

Every call that changes the state is a signed transaction (:mod:`pot.chain.tx`): ``--key PATH``
names the sender's BLS secret key file (``pot keys new``). A trainer's calls act for that key, a
requester's, funder's and claimant's for its 20-byte address (``keccak256(key)[12:]``).
``reveal`` is the block producer's RANDAO reveal, signed by the scheduled validator's key.

``prove-submit``, ``appeal`` and ``prove-fraud`` judge bundles against the circuits under
``--circuits`` (default ``circuits``, or ``$POT_CIRCUITS``); ``--allow-dev-srs`` accepts circuits
made with a development SRS. The other calls that compute a weights commitment (``request``,
``submit``, ``import``) use the circuits under ``$POT_CIRCUITS`` (default ``circuits``).
"""

from __future__ import annotations

import functools
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pot.aggregation.params import RULE_BY_NAME
from pot.chain.abi import TrainRequest, encode_train_request
from pot.chain.cid import reference_to_bytes32
from pot.chain.errors import ChainError, InvalidCidError, OutOfRangeError, StateError
from pot.chain.executor import MAX_BUNDLE_BYTES, ClaimReceipt, Executor
from pot.chain.fixed_types import (
    U16,
    U32,
    U64,
    U256,
    Address,
    Bytes32,
    Bytes48,
    FixedBytes,
)
from pot.chain.hyperparams import (
    AggregationRule,
    Hyperparams,
    LossId,
    encode_hyperparams,
)
from pot.chain.store import Account, Store, account_from_hex, claim_export, slash_export
from pot.chain.wallet import Wallet, produce_block
from pot.clikit import (
    EXIT_INVALID,
    PotClickException,
    allow_dev_srs_option,
    boundary,
    circuits_option,
    emit_json,
    json_option,
)
from pot.errors import MalformedInputError, SpecError
from pot.evm_cli import verifier_export
from pot.jsonio import loads_limited
from pot.protocol.errors import KeyFileError
from pot.protocol.keys import load_secret_key

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_STATE_FILE = "pot-chain.db"
DEFAULT_GAS_LIMIT = 10_000_000
DEFAULT_WINDOW_BLOCKS = 10
MAX_EXPORT_BYTES = 1 << 30
MAX_EXPORT_VALUES = 1 << 26

LOSS_NAMES = {"cross-entropy": LossId.CROSS_ENTROPY, "mse": LossId.MSE}


class HexBytes(click.ParamType):
    """A ``0x`` hex string of a fixed length, converted to its fixed-width bytes type."""

    def __init__(self, kind: type[FixedBytes]) -> None:
        self.kind = kind
        self.name = f"HEX{kind.LENGTH}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.kind):
            return value
        try:
            return self.kind.from_hex(str(value))
        except OutOfRangeError:
            digits = 2 * self.kind.LENGTH
            self.fail(f"{value!r} is not 0x followed by {digits} hex digits", param, ctx)


class Reference(click.ParamType):
    """An IPFS CID (reduced to its sha2-256 digest) or a ``0x`` 32-byte hex word."""

    name = "CID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Bytes32):
            return value
        try:
            return reference_to_bytes32(str(value))
        except InvalidCidError as e:
            self.fail(str(e), param, ctx)


class HexData(click.ParamType):
    """Lower-case ``0x`` hex of any even number of digits, as bytes (nothing else)."""

    name = "HEX"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value)
        digits = text[2:]
        if (
            not text.startswith("0x") or len(digits) % 2
            or any(c not in "0123456789abcdef" for c in digits)
        ):
            self.fail(
                f"{text[:40]!r} is not 0x followed by an even number of lower-case hex digits",
                param, ctx,
            )
        return bytes.fromhex(digits)


class AccountParam(click.ParamType):
    """An account: ``0x`` hex of a 20-byte address or of a 48-byte trainer key."""

    name = "ACCOUNT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Address | Bytes48):
            return value
        try:
            return account_from_hex(str(value))
        except OutOfRangeError:
            self.fail(f"{value!r} is not 0x followed by 40 or 96 hex digits", param, ctx)


class Allocation(click.ParamType):
    """``ACCOUNT=WEI``: a 20-byte address or 48-byte trainer key, and a genesis balance in wei."""

    name = "ACCOUNT=WEI"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        account, sep, amount = str(value).partition("=")
        try:
            if not sep:
                raise ValueError
            return account_from_hex(account), U256(int(amount, 10))
        except (ValueError, OutOfRangeError):
            self.fail(
                f"{value!r} is not ACCOUNT=WEI (ACCOUNT: 0x + 40 or 96 hex digits; WEI: a decimal "
                "uint256)", param, ctx,
            )


ADDRESS = HexBytes(Address)
WORD = HexBytes(Bytes32)
PUBKEY = HexBytes(Bytes48)
WEI = click.IntRange(0, 2**256 - 1)

state_option = click.option(
    "--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATE_FILE, envvar="POT_CHAIN_STATE", show_default=True,
    help="The state file (SQLite). Also read from $POT_CHAIN_STATE.",
)
height_option = click.option(
    "--height", type=click.IntRange(0), required=True, help="Block height of the call."
)
job_option = click.option("--job", "job_id", type=WORD, required=True, help="The job id.")
round_option = click.option(
    "--round", "round_number", type=click.IntRange(0), required=True, help="The round number."
)
trainer_option = click.option(
    "--trainer", type=PUBKEY, required=True, help="Trainer BLS12-381 G1 public key (48 bytes)."
)
key_option = click.option(
    "--key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The sender's BLS secret key file (mode 0600; `pot keys new`); it signs the call.",
)
bundle_option = click.option(
    "--bundle", "bundle_path", required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The proof bundle file.",
)


def bundle_call_options(func: F) -> F:
    """The options of a call that judges a trainer's bundle (``prove-submit``, ``appeal``,
    ``prove-fraud``): the state, the sender's key, the job and round, the bundle, the height and
    the circuits."""
    for option in reversed((
        state_option, key_option, job_option, round_option, bundle_option, height_option,
        circuits_option, allow_dev_srs_option,
    )):
        func = option(func)
    return func


def _wallet(executor: Executor, key_path: Path) -> Wallet:
    """The wallet of the key file ``key_path`` on ``executor``.

    Raises
    ------
    click.BadParameter
        If the key file is missing, unreadable, insecure or malformed (exit 2).
    """
    try:
        secret = load_secret_key(key_path)
    except KeyFileError as e:
        raise click.BadParameter(str(e), param_hint="--key") from e
    return Wallet(executor, secret)


def _read_bundle(path: Path) -> bytes:
    """Read at most ``MAX_BUNDLE_BYTES + 1`` bytes of a bundle file, never blocking.

    The file is opened with ``O_NONBLOCK`` and a FIFO or a socket is refused, so a pipe nobody
    writes to never hangs the command; a device such as ``/dev/zero`` is read up to the cap.

    Raises
    ------
    click.BadParameter
        If the file cannot be opened, or is a FIFO or a socket (exit 2).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise click.BadParameter(f"cannot read {path}: {e.strerror}", param_hint="--bundle") from e
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise click.BadParameter(f"{path} is a FIFO or socket, not a file",
                                     param_hint="--bundle")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_BUNDLE_BYTES + 1)
    except OSError as e:
        raise click.BadParameter(f"cannot read {path}: {e.strerror}", param_hint="--bundle") from e
    finally:
        os.close(fd)


def reverts(func: F) -> F:
    """Turn a revert into ``reverted (ErrorName): message`` with exit code 1.

    A :class:`StateError` (missing or corrupt state file) is not a revert and keeps its message.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StateError:
            raise
        except ChainError as e:
            raise PotClickException(f"reverted ({type(e).__name__}): {e}", EXIT_INVALID) from e

    return wrapper  # type: ignore[return-value]


def _open(state_path: Path) -> Store:
    """Open the state file for this command; it is closed when the command ends."""
    store = Store.open(state_path)
    click.get_current_context().call_on_close(store.close)
    return store


def _default_circuits() -> Path:
    """The circuits folder of a call without ``--circuits``: ``$POT_CIRCUITS`` or ``circuits``."""
    return Path(os.environ.get("POT_CIRCUITS") or "circuits")


def _executor(
    state_path: Path, circuits_dir: Path | None = None, allow_dev_srs: bool = False
) -> Executor:
    """pot's node executor on the state file (see :func:`pot.node.node_executor`)."""
    from pot.node import node_executor  # ezkl and the zoo load only when a command runs

    return node_executor(_open(state_path), circuits_dir or _default_circuits(), allow_dev_srs)


def _emit(as_json: bool, result: dict[str, Any]) -> None:
    """Print a result as canonical JSON or as ``key value`` lines."""
    if as_json:
        emit_json(result)
        return
    for key, value in result.items():
        click.echo(f"{key} {value}")


def lr_to_q16(text: str) -> U32:
    """Convert a decimal learning rate to Q16 fixed point, exactly, under the one learning-rate
    rule (:func:`pot.spec.check_learning_rate`) that spec validation and the node apply too.

    Raises
    ------
    click.BadParameter
        If ``text`` is not a decimal number, or breaks the rule (not a positive multiple of
        2**-16 below 2**16).
    """
    from pot.spec import check_learning_rate, parse_decimal

    try:
        return U32(check_learning_rate(parse_decimal(text, "learning rate")))
    except SpecError as e:
        raise click.BadParameter(str(e), param_hint="--lr") from e


@click.group("chain", context_settings={"help_option_names": ["-h", "--help"]})
def chain() -> None:
    """Run TRAIN_REQUEST (0x14) and the job lifecycle against a state file.

    \b
    Example:
        pot keys new requester.key
        pot chain init --chain-id 1 --validator 0x...
        pot chain request --key requester.key --model bafy... ...
        pot chain show
    """


@chain.command()
@state_option
@click.option("--chain-id", type=click.IntRange(0, 2**64 - 1), required=True, help="Chain id.")
@click.option("--alloc", "allocations", type=Allocation(), multiple=True,
              help="Genesis balance ACCOUNT=WEI (repeatable); their sum is the initial supply.")
@click.option("--validator", "validators", type=PUBKEY, multiple=True,
              help="A block producer's BLS public key (repeatable, in schedule order): block h "
                   "is revealed by validator h mod n.")
@json_option
@boundary
@reverts
def init(
    state_path: Path, chain_id: int, allocations: tuple[tuple[Account, U256], ...],
    validators: tuple[Bytes48, ...], as_json: bool,
) -> None:
    """Create a state file holding only the genesis balances and the validator list.

    \b
    Example:
        pot chain init --state job.db --chain-id 31337 --validator 0xa1b2... \
            --alloc 0x1111111111111111111111111111111111111111=1000000000000000000000
    """
    alloc: dict[Account, U256] = {}
    for account, amount in allocations:
        if account in alloc:
            raise click.BadParameter(f"{account.to_hex()} is allocated twice", param_hint="--alloc")
        alloc[account] = amount
    store = Store.create(state_path, chain_id, alloc, validators)
    click.get_current_context().call_on_close(store.close)
    _emit(as_json, {
        "state": str(state_path), "supply_wei": int(store.economics().supply),
        "state_root": store.state_root().to_hex(),
    })


_REQUEST_FIELDS = (
    "model", "dataset", "rounds", "min_participants", "lr", "samples_per_round", "steps",
    "model_spec_id", "param_count",
)
_SPEC_FIELDS = ("model_spec_id", "param_count", "lr", "batch_size")
DEFAULT_BATCH_SIZE = 32


def _fill_from_spec(name: str, fields: dict[str, Any]) -> None:
    """Fill the spec-given request options from the spec ``name``: a zoo name, a spec file (then
    added to the spec store, so this node can judge the job) or a stored spec id.

    Raises
    ------
    click.UsageError
        If one of those options is given too.
    click.BadParameter
        If ``name`` is no spec, or the spec is invalid (its learning rate breaks the rule).
    """
    from pot.spec import ensure_stored, load_spec

    given = ["--" + name.replace("_", "-") for name in _SPEC_FIELDS if fields[name] is not None]
    if given:
        raise click.UsageError(f"--spec fills {', '.join(given)}; give one or the other")
    try:
        spec = load_spec(name)
        ensure_stored(spec)
        fields["lr"] = U32(spec.lr_q16)
    except SpecError as e:
        raise click.BadParameter(str(e), param_hint="--spec") from e
    fields["model_spec_id"] = Bytes32(spec.spec_id)
    fields["param_count"] = spec.n_state_values
    fields["batch_size"] = spec.batch_size
    fields["loss"] = "cross-entropy" if spec.classifies else "mse"


@chain.command()
@state_option
@key_option
@click.option("--nonce", type=click.IntRange(0, 2**64 - 1), help="Default: the key's next.")
@click.option("--gas-limit", type=click.IntRange(0, 2**64 - 1), default=DEFAULT_GAS_LIMIT,
              show_default=True)
@height_option
@click.option("--value", type=WEI, default=0, show_default=True,
              help="Wei moved from the caller's balance into the job's escrow.")
@click.option("--calldata", type=HexData(), help="Raw ABI calldata; replaces the options below.")
@click.option("--spec", "spec_name",
              help="Zoo name, spec file (added to the spec store) or stored spec id: fills "
                   "--model-spec-id, --param-count, --lr, --batch-size and --loss.")
@click.option("--model", type=Reference(), help="model_id: CID (or 0x word) of the model.")
@click.option("--dataset", type=Reference(), help="dataset_ref: CID (or 0x word) of the data.")
@click.option("--rounds", type=click.IntRange(0, 2**256 - 1), help="total_rounds.")
@click.option("--min-participants", type=click.IntRange(0, 2**64 - 1))
@click.option("--lr", help="Learning rate as a decimal; stored as Q16 fixed point.")
@click.option("--epochs", type=click.IntRange(0, 2**16 - 1), default=1, show_default=True)
@click.option("--batch-size", type=click.IntRange(0, 2**32 - 1),
              help=f"Default: the spec's, or {DEFAULT_BATCH_SIZE}.")
@click.option("--samples-per-round", "-k", type=click.IntRange(0, 2**16 - 1),
              help="k: challenged steps per round.")
@click.option("--steps", type=click.IntRange(0, 2**32 - 1), help="T: SGD steps per round.")
@click.option("--loss", type=click.Choice(sorted(LOSS_NAMES)), default="cross-entropy",
              show_default=True)
@click.option("--model-spec-id", type=WORD, help="Content hash of the model spec (0x word).")
@click.option("--param-count", type=click.IntRange(0, 2**64 - 1), help="Weights per update.")
@click.option("--rule", type=click.Choice(list(RULE_BY_NAME)), default="fedavg", show_default=True)
@click.option("--rule-param", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--join-blocks", type=click.IntRange(0, 2**32 - 1),
              default=DEFAULT_WINDOW_BLOCKS, show_default=True)
@click.option("--submit-blocks", type=click.IntRange(0, 2**32 - 1),
              default=DEFAULT_WINDOW_BLOCKS, show_default=True)
@click.option("--proof-blocks", type=click.IntRange(0, 2**32 - 1),
              default=DEFAULT_WINDOW_BLOCKS, show_default=True)
@json_option
@boundary
@reverts
def request(
    state_path: Path,
    key_path: Path,
    nonce: int | None,
    gas_limit: int,
    height: int,
    value: int,
    calldata: bytes | None,
    spec_name: str | None,
    as_json: bool,
    **fields: Any,
) -> None:
    """Execute TRAIN_REQUEST; print the job id and the gas used.

    Give the request either as options (encoded here) or as raw ``--calldata``. The job must
    train a spec of this node's zoo or spec store: ``--spec`` fills its id, parameter count,
    learning rate and batch size. ``--value`` escrows the job's budget from the balance of the key's
    address.

    \b
    Example:
        pot chain request --key requester.key --height 100 \\
            --model bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy \\
            --dataset bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy \\
            --rounds 3 --min-participants 2 --spec mlp-tiny -k 4 --steps 16 \\
            --value 3000000000000000000
    """
    given = [name for name in (*_REQUEST_FIELDS, "batch_size") if fields[name] is not None]
    if calldata is not None:
        if given or spec_name is not None:
            raise click.UsageError(f"--calldata replaces the request options; got {given}")
    else:
        if spec_name is not None:
            _fill_from_spec(spec_name, fields)
        missing = [name for name in _REQUEST_FIELDS if fields[name] is None]
        if missing:
            flags = ", ".join("--" + name.replace("_", "-") for name in missing)
            raise click.UsageError(
                f"missing request options: {flags} (or give --spec, or --calldata)"
            )
        calldata = _encode_request_options(fields)
    receipt = _wallet(_executor(state_path), key_path).request(
        calldata, gas_limit, height, value, nonce=nonce
    )
    _emit(as_json, {
        "job_id": receipt.job_id.to_hex(),
        "gas_used": int(receipt.gas_used),
        "state_root": receipt.state_root.to_hex(),
    })


def _encode_request_options(fields: dict[str, Any]) -> bytes:
    """Encode the request options of ``pot chain request`` as canonical calldata."""
    lr = fields["lr"]
    batch_size = fields["batch_size"]
    hyperparams = Hyperparams(
        lr_q16=lr if isinstance(lr, U32) else lr_to_q16(lr),
        local_epochs=U16(fields["epochs"]),
        batch_size=U32(DEFAULT_BATCH_SIZE if batch_size is None else batch_size),
        samples_per_round=U16(fields["samples_per_round"]),
        steps_per_round=U32(fields["steps"]),
        loss_id=LOSS_NAMES[fields["loss"]],
        model_spec_id=fields["model_spec_id"],
        param_count=U64(fields["param_count"]),
        aggregation_rule=RULE_BY_NAME[fields["rule"]],
        rule_param=U32(fields["rule_param"]),
        join_blocks=U32(fields["join_blocks"]),
        submit_blocks=U32(fields["submit_blocks"]),
        proof_blocks=U32(fields["proof_blocks"]),
    )
    return encode_train_request(
        TrainRequest(
            model_id=fields["model"],
            dataset_ref=fields["dataset"],
            total_rounds=U256(fields["rounds"]),
            min_participants=U64(fields["min_participants"]),
            hyperparams=encode_hyperparams(hyperparams),
        )
    )


@chain.command()
@state_option
@job_option
@key_option
@click.option("--amount", type=WEI, required=True, help="Wei to add to the job's escrow.")
@height_option
@json_option
@boundary
@reverts
def fund(
    state_path: Path, job_id: Bytes32, key_path: Path, amount: int, height: int, as_json: bool
) -> None:
    """Add wei from the job's requester (the key's address) to the job's escrow.

    \b
    Example:
        pot chain fund --job 0x... --key requester.key --amount 1000000000000000000 --height 105
    """
    receipt = _wallet(_executor(state_path), key_path).fund(job_id, amount, height)
    _emit(as_json, {"state_root": receipt.state_root.to_hex()})


@chain.command()
@state_option
@job_option
@key_option
@click.option("--stake", type=WEI, required=True,
              help="Stake in wei, moved from the key's balance until the job ends.")
@click.option("--dataset-commitment", type=WORD, required=True,
              help="Merkle root of the trainer's batch commitments.")
@click.option("--samples", type=click.IntRange(0, 2**64 - 1), required=True,
              help="Samples in the trainer's dataset.")
@height_option
@json_option
@boundary
@reverts
def join(
    state_path: Path,
    job_id: Bytes32,
    key_path: Path,
    stake: int,
    dataset_commitment: Bytes32,
    samples: int,
    height: int,
    as_json: bool,
) -> None:
    """Join a job as the trainer of the key, before its round 0 opens.

    The transaction carries the key's proof of possession.

    \b
    Example:
        pot chain join --job 0x... --key trainer.key --stake 1000000000000000000 \\
            --dataset-commitment 0x... --samples 1797 --height 101
    """
    receipt = _wallet(_executor(state_path), key_path).join(
        job_id, stake, dataset_commitment, samples, height
    )
    _emit(as_json, {"state_root": receipt.state_root.to_hex()})


@chain.command()
@state_option
@job_option
@round_option
@key_option
@click.option("--root", "trajectory_root", type=WORD, required=True,
              help="Merkle root of the SGD trajectory.")
@click.option("--steps", type=click.IntRange(0, 2**32 - 1), required=True, help="T.")
@click.option("--payload", "payload_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File of the final weights: little-endian int64 values.")
@click.option("--update-commitment", type=WORD,
              help="commit(W) of the payload; computed from the file when left out.")
@height_option
@json_option
@boundary
@reverts
def submit(
    state_path: Path,
    job_id: Bytes32,
    round_number: int,
    key_path: Path,
    trajectory_root: Bytes32,
    steps: int,
    payload_path: Path,
    update_commitment: Bytes32 | None,
    height: int,
    as_json: bool,
) -> None:
    """Submit a trajectory root and final weights for the current round.

    \b
    Example:
        pot chain submit --job 0x... --round 0 --key trainer.key --root 0x... \\
            --steps 16 --payload weights.i64 --height 111
    """
    payload = payload_path.read_bytes()
    executor = _executor(state_path)
    wallet = _wallet(executor, key_path)
    commitment = update_commitment or executor.update_commitment(job_id, payload)
    receipt = wallet.submit(
        job_id, round_number, trajectory_root, steps, commitment, payload, height
    )
    _emit(as_json, {
        "update_commitment": commitment.to_hex(), "state_root": receipt.state_root.to_hex(),
    })


@chain.command()
@state_option
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The secret key file of the block's scheduled validator.")
@height_option
@json_option
@boundary
@reverts
def reveal(state_path: Path, key_path: Path, height: int, as_json: bool) -> None:
    """Produce block HEIGHT's RANDAO reveal; it fixes the beacon of every round that is due.

    The block's producer is validator HEIGHT mod n of the chain's list (``init --validator``).
    The first block at or after a round's submit deadline + BEACON_DELAY_BLOCKS fixes the round's
    beacon from the mix; nobody chooses it.

    \b
    Example:
        pot chain reveal --key validator.key --height 122
    """
    try:
        secret = load_secret_key(key_path)
    except KeyFileError as e:
        raise click.BadParameter(str(e), param_hint="--key") from e
    receipt = produce_block(_executor(state_path), [secret], height)
    beacons = {job.to_hex(): {"round": int(number), "beacon": value.to_hex()}
               for job, (number, value) in receipt.beacons.items()}
    _emit(as_json, {
        "mix": receipt.mix.to_hex(),
        "beacons": beacons if as_json else json.dumps(beacons, sort_keys=True),
        "state_root": receipt.state_root.to_hex(),
    })


@chain.command("prove-submit")
@bundle_call_options
@json_option
@boundary
@reverts
def prove_submit(
    state_path: Path,
    key_path: Path,
    job_id: Bytes32,
    round_number: int,
    bundle_path: Path,
    height: int,
    circuits_dir: Path,
    allow_dev_srs: bool,
    as_json: bool,
) -> None:
    """Judge the key's proof bundle with pot's verifier and record the verdict.

    Only the trainer's own key proves for it. The bundle is verified against the job's spec's
    circuit under --circuits. A node without that circuit reverts (NoVerifierError) and records
    nothing; an unreadable bundle is recorded as rejected (malformed).

    \b
    Example:
        pot chain prove-submit --job 0x... --round 0 --key trainer.key \\
            --bundle bundle.json --height 123 --circuits circuits
    """
    bundle = _read_bundle(bundle_path)  # a bundle is anyone's file: at most the cap + 1 bytes
    executor = _executor(state_path, circuits_dir, allow_dev_srs)
    receipt = _wallet(executor, key_path).submit_proof(job_id, round_number, bundle, height)
    _emit(as_json, {
        "verdict": receipt.verdict,
        "reason": receipt.reason,
        "verified_samples": int(receipt.verified_samples),
        "state_root": receipt.state_root.to_hex(),
        "gas_used": int(receipt.gas_used),
    })


@chain.command()
@state_option
@key_option
@job_option
@round_option
@height_option
@json_option
@boundary
@reverts
def finalize(
    state_path: Path, key_path: Path, job_id: Bytes32, round_number: int, height: int,
    as_json: bool,
) -> None:
    """Close the current round: aggregate accepted updates, settle, open the next round.

    Prints the settlement: the escrow drawn, each reward and slash, the pool carried, and, when
    the job ends, the stakes returned and the escrow refunded.

    \b
    Example:
        pot chain finalize --key any.key --job 0x... --round 0 --height 140
    """
    receipt = _wallet(_executor(state_path), key_path).finalize_round(job_id, round_number, height)
    commitment = receipt.global_commitment
    _emit(as_json, {
        "outcome": receipt.outcome,
        "accepted": receipt.accepted,
        "global_commitment": None if commitment is None else commitment.to_hex(),
        "job_status": receipt.job_status,
        "settlement": (
            receipt.settlement if as_json
            else json.dumps(receipt.settlement, sort_keys=True, separators=(",", ":"))
        ),
        "state_root": receipt.state_root.to_hex(),
    })


@chain.command()
@state_option
@click.option("--producer", type=ADDRESS, required=True, help="Block producer (20 bytes hex).")
@click.option("--reward", type=WEI, required=True, help="Wei the block mints.")
@height_option
@json_option
@boundary
@reverts
def emit(state_path: Path, producer: Address, reward: int, height: int, as_json: bool) -> None:
    """Mint a block reward: the producer's part, each open job's pool share, the carry.

    One emission per height, in increasing order of heights.

    \b
    Example:
        pot chain emit --producer 0x2222222222222222222222222222222222222222 \\
            --reward 2000000000000000000 --height 101
    """
    receipt = _executor(state_path).emit(producer, reward, height)
    shares = {job.to_hex(): int(wei) for job, wei in receipt.job_shares_wei.items()}
    _emit(as_json, {
        "producer_wei": int(receipt.producer_wei),
        "job_shares_wei": shares if as_json else json.dumps(shares, sort_keys=True),
        "carry_wei": int(receipt.carry_wei),
        "state_root": receipt.state_root.to_hex(),
    })


@chain.command()
@state_option
@key_option
@job_option
@round_option
@trainer_option
@height_option
@json_option
@boundary
@reverts
def release(
    state_path: Path, key_path: Path, job_id: Bytes32, round_number: int, trainer: Bytes48,
    height: int, as_json: bool,
) -> None:
    """Move a pending slash into the insurance fund once its challenge window has passed.

    \b
    Example:
        pot chain release --key any.key --job 0x... --round 0 --trainer 0x97f1... --height 7400
    """
    receipt = _wallet(_executor(state_path), key_path).release_slash(
        job_id, round_number, trainer, height
    )
    _emit(as_json, {"state_root": receipt.state_root.to_hex()})


def _claim_result(receipt: ClaimReceipt) -> dict[str, Any]:
    """The output of ``appeal`` and ``prove-fraud``: the claim, its slash, the state root."""
    slash = slash_export(receipt.slash)
    return {
        **claim_export(receipt.claim),
        "slash_offence": slash["offence"], "slash_wei": slash["amount_wei"],
        "slash_status": slash["status"], "release_height": slash["release_height"],
        "state_root": receipt.state_root.to_hex(),
    }


@chain.command()
@bundle_call_options
@json_option
@boundary
@reverts
def appeal(
    state_path: Path,
    key_path: Path,
    job_id: Bytes32,
    round_number: int,
    bundle_path: Path,
    height: int,
    circuits_dir: Path,
    allow_dev_srs: bool,
    as_json: bool,
) -> None:
    """Appeal the key's slash for a rejected proof: re-verify the same bundle; if it passes,
    void it (only the trainer's own key appeals for it).

    Within the challenge window (below the slash's release height) the bundle whose verdict was
    recorded (the same bytes) is judged again with the round's stored context. If pot's verifier
    now accepts it, the slash is voided and returned to the trainer's stake (job open) or balance
    (job ended); the round's verdict, model and settlement stand. A rejection again reverts
    (AppealRejectedError) and changes nothing.

    \b
    Example:
        pot chain appeal --job 0x... --round 0 --key trainer.key \\
            --bundle bundle.json --height 130 --circuits circuits
    """
    bundle = _read_bundle(bundle_path)
    executor = _executor(state_path, circuits_dir, allow_dev_srs)
    receipt = _wallet(executor, key_path).appeal(job_id, round_number, bundle, height)
    _emit(as_json, _claim_result(receipt))


@chain.command("prove-fraud")
@bundle_call_options
@trainer_option
@json_option
@boundary
@reverts
def prove_fraud(
    state_path: Path,
    key_path: Path,
    job_id: Bytes32,
    round_number: int,
    bundle_path: Path,
    trainer: Bytes48,
    height: int,
    circuits_dir: Path,
    allow_dev_srs: bool,
    as_json: bool,
) -> None:
    """Prove an accepted, rewarded bundle a fraud: pot's verifier now rejects the same bytes.

    The bundle of an accepted submission of a finalized round is judged again with the round's
    stored context. If pot's verifier (e.g. after a fix) rejects it, the insurance fund pays the
    job's requester the trainer's reward for the round, capped at INSURANCE_CLAIM_CAP_BPS of the
    fund, and the trainer is slashed SLASH_BPS of its stake left in the job (pending, not
    appealable). Each submission is proven a fraud once. The claimant recorded is the key's
    address.

    \b
    Example:
        pot chain prove-fraud --key claimant.key --job 0x... --round 0 --trainer 0x97f1... \\
            --bundle bundle.json --height 9000 --circuits circuits
    """
    bundle = _read_bundle(bundle_path)
    executor = _executor(state_path, circuits_dir, allow_dev_srs)
    receipt = _wallet(executor, key_path).prove_fraud(job_id, round_number, trainer, bundle, height)
    _emit(as_json, _claim_result(receipt))


@chain.command()
@state_option
@click.option("--job", "job_id", type=WORD, help="Show this job in full.")
@click.option("--model-out", type=click.Path(dir_okay=False, path_type=Path),
              help="With --job and --round: write the global model that round produced.")
@click.option("--round", "round_number", type=click.IntRange(0), help="See --model-out.")
@json_option
@boundary
@reverts
def show(
    state_path: Path,
    job_id: Bytes32 | None,
    model_out: Path | None,
    round_number: int | None,
    as_json: bool,
) -> None:
    """Show the chain (head, state root, money, jobs), or one job with its rounds and trainers.

    The chain view gives the supply, the training-pool carry, the insurance fund, every
    account's balance, each job's escrow and pool, the slashes pending, released to the fund
    and voided by appeals (count and wei), and every claim: each upheld appeal and proven fraud
    with what it paid to whom. The job view gives its escrow and pool, each trainer's stake and
    rewards, each round's settlement (escrow drawn, rewards, slashes, refunds), its slashes and
    its claims.

    \b
    Example:
        pot chain show
        pot chain show --job 0x... --json
        pot chain show --job 0x... --round 0 --model-out global-0.i64
    """
    executor = _executor(state_path)
    store = executor.store
    if (model_out is None) != (round_number is None) or (model_out and job_id is None):
        raise click.UsageError("--model-out and --round go together, with --job")
    if job_id is None:
        with store.snapshot():
            summary = _chain_summary(executor)
        if as_json:
            emit_json(summary)
            return
        for key in ("chain_id", "head_height", "state_root"):
            click.echo(f"{key} {summary[key]}")
        economics = summary["economics"]
        for key in ("supply_wei", "training_pool_carry_wei", "insurance_fund_wei",
                    "emission_height"):
            click.echo(f"{key} {economics[key]}")
        for account, balance in economics["accounts"].items():
            click.echo(f"account {account} {balance}")
        for entry in summary["jobs"]:
            click.echo(
                f"job {entry['job_id']} {entry['status']} round {entry['current_round']} "
                f"escrow {entry['escrow_wei']} pool {entry['pool_wei']}"
            )
        for status, total in summary["slashes"].items():
            click.echo(f"slashes {status} {total['count']} wei {total['wei']}")
        for c in summary["claims"]:
            click.echo(
                f"{c['kind']} job {c['job_id']} round {c['round']} trainer {c['trainer']} paid "
                f"{c['paid_wei']} of {c['claim_wei']} to {c['payee']} {c['credited_to']}"
            )
        return

    job = executor.load_job(job_id)
    if model_out is not None and round_number is not None:
        model = store.global_model(job_id, U64(round_number))
        if model is None:
            raise PotClickException(f"round {round_number} produced no global model")
        model_out.write_bytes(model)
    export = store.export_job(job_id)
    funds = store.funds(job_id)
    export["funds"] = {
        "escrow_wei": int(funds.escrow), "pool_wei": int(funds.pool),
        "funded_wei": int(funds.funded), "emitted_wei": int(funds.emitted),
    }
    for rnd in export["rounds"].values():
        rnd.pop("global_model", None)
    for subs in export["submissions"].values():
        for sub in subs.values():
            sub.pop("payload", None)
    hp = job.hyperparams
    export["request"] = {
        "model_id": job.request.model_id.to_hex(),
        "dataset_ref": job.request.dataset_ref.to_hex(),
        "total_rounds": int(job.request.total_rounds),
        "min_participants": int(job.request.min_participants),
        "hyperparams": {
            name: (value.to_hex() if isinstance(value, Bytes32) else
                   value.name.lower() if isinstance(value, LossId | AggregationRule) else
                   int(value))
            for name, value in vars(hp).items()
        },
    }
    export["job_id"] = job_id.to_hex()
    if as_json:
        emit_json(export)
    else:
        click.echo(json.dumps(export, indent=2, sort_keys=True))


def _chain_summary(executor: Executor) -> dict[str, Any]:
    """The chain view of ``show``: head, root, the economics export, and one line per job."""
    store = executor.store
    money = store.economics_export()
    jobs = []
    slashes = {status: {"count": 0, "wei": 0} for status in ("pending", "released", "voided")}
    claims = []
    for jid in store.job_ids():
        row = executor.load_job(jid).row
        funds = money["funds"][jid.to_hex()]
        jobs.append({
            "job_id": jid.to_hex(), "status": row.status, "current_round": int(row.current_round),
            "escrow_wei": funds["escrow_wei"], "pool_wei": funds["pool_wei"],
        })
        for slash in store.slashes(jid):
            slashes[slash.status]["count"] += 1
            slashes[slash.status]["wei"] += int(slash.amount)
        for claim in store.claims(jid):
            claims.append({
                "job_id": jid.to_hex(), "round": int(claim.round),
                "trainer": claim.trainer.to_hex(), **claim_export(claim),
            })
    return {
        "chain_id": int(store.chain_id()), "head_height": int(store.head_height()),
        "state_root": store.state_root().to_hex(),
        "economics": {k: v for k, v in money.items() if k != "funds"}, "jobs": jobs,
        "slashes": slashes, "claims": claims,
    }


@chain.command("export")
@state_option
@click.argument("output", type=click.File("w"), default="-")
@boundary
@reverts
def export_command(state_path: Path, output: Any) -> None:
    """Write the whole state, blobs included, as canonical JSON (default: stdout).

    \b
    Example:
        pot chain export state.json
    """
    store = _open(state_path)
    output.write(json.dumps(store.export(), sort_keys=True, separators=(",", ":")) + "\n")


@chain.command("import")
@state_option
@click.argument("source", type=click.File("rb"))
@json_option
@boundary
@reverts
def import_command(state_path: Path, source: Any, as_json: bool) -> None:
    """Create a state file from an export, checking every blob and the state root.

    \b
    Example:
        pot chain import --state replica.db state.json
    """
    # An export may come from a peer: read it through the guarded parser (a deeply nested file
    # crashed json.load with a segmentation fault), within generous size and value caps.
    try:
        export = loads_limited(source.read(MAX_EXPORT_BYTES + 1), "state export", MAX_EXPORT_BYTES,
                               max_values=MAX_EXPORT_VALUES)
    except MalformedInputError as e:
        raise click.BadParameter(f"not JSON: {e}", param_hint="SOURCE") from e
    from pot.node import SpecCircuits

    store = Store.import_state(state_path, export, SpecCircuits(_default_circuits()).payload_commitment)
    click.get_current_context().call_on_close(store.close)
    _emit(as_json, {"state": str(state_path), "state_root": store.state_root().to_hex()})


chain.add_command(verifier_export)
