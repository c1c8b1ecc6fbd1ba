"""Fuzz every reader of untrusted input: bundles, step proofs, TRAIN_REQUEST calldata, hyperparams,
compressed updates and fixture files.

Each target starts from a corpus of real inputs: an honest signed bundle of the tiny spec and its
step proofs (built once with ezkl and cached under ``--cache``), the calldata and hyperparams of the
committed fixture vectors, real top-k compressed updates, and single cases of the committed fixture
files. Every case mutates one seed, with bit flips, truncations, extensions, inserted, deleted,
duplicated and swapped ranges, ABI words and record fields set to edge values, swapped fields, and
for JSON inputs wrong types, huge numbers, over-long integer literals, ``NaN`` and ``Infinity``,
deep nesting, empty and over-long arrays, removed, unknown and repeated keys, other spellings of a
hex string or field element (case, prefix, leading zeros, ``x + r``, a JSON number), surrogates and
control characters; a few cases only reformat the JSON (whitespace, key order), which must not
change a verdict. Case ``i`` of a target is drawn from ``random.Random(f"{seed}/{target}/{i}")``,
so any case can be replayed alone (``--only``).

What the table counts, per target:

cases
    inputs judged.
tracebacks
    cases that raised anything but the target's clean rejection, or returned an ill-formed
    answer. Clean rejections: ``bundle`` and ``step_proof``: :class:`pot.errors.MalformedInputError`
    from the reader, or a verdict with ``ok = False`` from the verifier, which itself must never
    raise; ``train_request``: a :class:`pot.chain.errors.ChainError` from
    :meth:`pot.chain.executor.Executor.train_request` (the opcode: size cap, gas, decode, rules,
    nonce, on an in-memory state); ``hyperparams``: :class:`~pot.chain.errors.HyperparamsError`;
    ``sparse``: :class:`~pot.aggregation.errors.MalformedUpdateError`; ``fixtures``: nothing, since
    ``check_fixtures`` never raises and the lines ``pot fixtures check`` prints must encode as UTF-8.
false accepts
    ``bundle``: :func:`pot.verifier.verify_bundle`, given the chain's expected values (or none, in
    one case in five, as a bare ``pot verify`` does), accepts a bundle whose parsed value differs
    from the honest bundle. In half of the cases the attacker is the trainer itself: when a mutated
    bundle fails only its signature, the mutation is re-signed with the trainer's key and judged
    again, so every check behind the signature is fuzzed too. ``step_proof``:
    :func:`pot.verifier.verify_step_proof` accepts a proof whose parsed value differs from the
    honest one. ``train_request``, ``hyperparams``, ``sparse``: the decoder accepts an input whose
    canonical re-encoding (``encode_train_request``, ``encode_hyperparams``, ``encode_sparse`` of
    the decoded value) differs from the input: a second encoding of one value. ``fixtures``: a case
    is reported as passed although its hashed content is not that of any committed case and the
    mutation left its hash as it was (integrity; test names are labels, not content); or, in cases
    whose mutation re-hashes the content, a case passes whose ``expected`` or ``expected_error``
    was changed, or whose input was changed in a field the output is a function of
    (``hyperparams``: any input; ``train_request``: ``chain_id``, ``caller``, ``nonce``,
    ``calldata``) while its expected output stayed the same.
accepted
    cases the target accepted (an ok verdict, a decoded value, a fixture case passed): each one was
    checked by the false-accept rule above.
timeouts
    cases that ran longer than the target's limit (``TIME_LIMIT_S``); Python code is interrupted
    there by ``SIGALRM``.
worst s, mem MiB, RSS MiB
    the slowest case; the largest peak resident set of one case above the resident set it started
    from (Linux ``VmHWM``, reset before each case: native allocations included, the input itself
    not); the peak resident set of a worker process (imports, ezkl and the corpus included).

This module is the harness and its command line; the tests reuse its targets and its honest round.
Run (the first run builds the tiny circuit and one honest bundle, a few minutes)::

    python -m pot.fuzz --cases 10000 --workers 2
    python -m pot.fuzz --targets bundle --only 1234      # replay one case, verbosely
    python -m pot.fuzz --limits       # the largest input each limit lets through
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import json
import multiprocessing
import os
import random
import resource
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pot.errors import MalformedInputError
from pot.jsonio import canonical_json
from pot.protocol.encoding import BN254_SCALAR_ORDER

ROOT = Path(__file__).resolve().parents[1]
"""The repository (the committed fixtures are the fuzz corpus; ``runs/`` holds the cache and output)."""

TARGETS = ("bundle", "step_proof", "train_request", "hyperparams", "sparse", "fixtures")
TIME_LIMIT_S = {"bundle": 30.0, "step_proof": 10.0, "train_request": 2.0, "hyperparams": 1.0,
                "sparse": 1.0, "fixtures": 5.0}
DEFAULT_CACHE = ROOT / "runs" / "fuzz-cache"
DEFAULT_OUT = ROOT / "runs" / "fuzz"
HONEST_STEPS, HONEST_SAMPLES, HONEST_ROUND = 6, 2, 1
MIB = 1 << 20


class CaseTimeout(BaseException):  # not an Exception: library code must not catch it
    """Raised by SIGALRM when a case runs past its target's limit."""


@dataclass(frozen=True)
class Judgement:
    """How a target judged one input."""

    accepted: bool
    false_accept: bool
    reason: str


@dataclass
class Stats:
    """Counts for one target (or one chunk of it)."""

    target: str
    cases: int = 0
    accepted: int = 0
    tracebacks: int = 0
    false_accepts: int = 0
    timeouts: int = 0
    worst_s: float = 0.0
    worst_case: int = -1
    worst_mem_bytes: int = 0
    worst_mem_case: int = -1
    peak_rss_bytes: int = 0
    wall_s: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: Stats) -> None:
        for name in ("cases", "accepted", "tracebacks", "false_accepts", "timeouts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.worst_s > self.worst_s:
            self.worst_s, self.worst_case = other.worst_s, other.worst_case
        if other.worst_mem_bytes > self.worst_mem_bytes:
            self.worst_mem_bytes, self.worst_mem_case = other.worst_mem_bytes, other.worst_mem_case
        self.peak_rss_bytes = max(self.peak_rss_bytes, other.peak_rss_bytes)
        self.wall_s += other.wall_s
        self.reasons.update(other.reasons)
        self.failures.extend(other.failures)


# ---- generic mutations ---------------------------------------------------------------------------

INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x22, 0x5C, 0x30, 0x41, 0x61)


def _range(rng: random.Random, n: int) -> tuple[int, int]:
    start = rng.randrange(n + 1)
    return start, rng.randint(start, min(n, start + rng.choice((1, 2, 4, 8, 32, 256))))


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """One byte-level mutation of ``data``: ``(name, result)``."""
    b = bytearray(data)
    n = len(b)
    op = rng.choice(("flip", "flip", "set", "truncate", "extend", "insert", "delete", "duplicate",
                     "swap", "splice_self"))
    if op == "flip" and n:
        for _ in range(rng.choice((1, 1, 2, 3, 8))):
            b[rng.randrange(n)] ^= 1 << rng.randrange(8)
    elif op == "set" and n:
        b[rng.randrange(n)] = rng.choice(INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
    elif op == "truncate":
        del b[rng.randrange(n + 1):]
    elif op == "extend":
        k = rng.choice((1, 2, 31, 32, 33, 64, 4096))
        b += rng.choice((bytes(k), b"\xff" * k, rng.randbytes(k), bytes(b[-k:]) or b"\x00"))
    elif op == "insert":
        at = rng.randrange(n + 1)
        b[at:at] = rng.randbytes(rng.choice((1, 2, 4, 32)))
    elif op == "delete":
        start, stop = _range(rng, n)
        del b[start:stop]
    elif op == "duplicate":
        start, stop = _range(rng, n)
        b[stop:stop] = b[start:stop]
    elif op == "swap" and n >= 2:
        width = rng.choice((1, 4, 8, 32))
        if n >= 2 * width:
            i, j = sorted(rng.sample(range(0, n - width + 1), 2))
            if j >= i + width:
                b[i:i + width], b[j:j + width] = b[j:j + width], b[i:i + width]
    elif op == "splice_self" and n:
        start, stop = _range(rng, n)
        at = rng.randrange(n + 1)
        b[at:at + (stop - start)] = b[start:stop]
    return op, bytes(b)


# ---- JSON mutations ------------------------------------------------------------------------------

RAW = "\x00raw:"
"""Prefix of a sentinel string that is replaced by raw JSON text after dumping (for NaN, deep
nesting, long literals, surrogates and repeated keys, which ``json.dumps`` cannot write)."""


def _raw(text: str) -> str:
    return RAW + text


def dump_json(value: Any, rng: random.Random | None = None) -> bytes:
    """Canonical JSON (sorted, compact), or with ``rng`` sometimes another valid layout; sentinels
    made by :func:`_raw` are replaced by their raw text."""
    style = rng.random() if rng is not None else 1.0
    if style < 0.04:
        text = json.dumps(value, indent=rng.choice((1, 2, "\t")))  # type: ignore[union-attr]
    elif style < 0.06:
        text = json.dumps(value, sort_keys=False, separators=(", ", ": "))
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    marker = json.dumps(RAW)[:-1]  # the opening quote and the escaped prefix, as in the text
    while marker in text:
        start = text.index(marker)
        sentinel, end = json.decoder.scanstring(text, start + 1)  # type: ignore[attr-defined]
        text = text[:start] + sentinel[len(RAW):] + text[end:]
    return text.encode("utf-8", "surrogatepass")


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every node of a JSON value, as a path of keys and indices (the root is ``()``)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(json_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(json_paths(item, (*prefix, i)))
    return out


def get_at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def set_at(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    get_at(value, path[:-1])[path[-1]] = new
    return value


def _hex_variants(rng: random.Random, s: str) -> str:
    digits = s[2:] if s.startswith("0x") else s
    choice = rng.randrange(16)
    if choice == 14:  # whole bytes appended: a padded proof, a longer key
        return s + rng.choice(("00", "ff", "00" * 32, "01" * 4096))
    if choice == 15:  # one whole byte dropped
        return s[:-2]
    if choice == 0:
        return s.upper()
    if choice == 1:
        return "0X" + digits
    if choice == 2:
        return digits
    if choice == 3:
        return "0x0" + digits
    if choice == 4:
        return "0x00" + digits
    if choice == 5:
        return s[:-1]
    if choice == 6:
        return s + rng.choice("0f")
    if choice == 7 and digits:
        i = rng.randrange(len(digits))
        return "0x" + digits[:i] + rng.choice("0123456789abcdefABCDEFgx ") + digits[i + 1:]
    if choice == 8:
        return rng.choice((" ", "\n", "\t")) + s if rng.random() < 0.5 else s + " "
    if choice == 9:  # full-width digits look like hex to a careless parser
        return "0x" + digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if choice == 10 and all(c in "0123456789abcdef" for c in digits) and digits:
        value = int(digits, 16)
        return hex(value + BN254_SCALAR_ORDER * rng.choice((1, 2)))  # the same field element, x + r
    if choice == 11 and all(c in "0123456789abcdef" for c in digits) and digits:
        return "0x" + format(int(digits, 16), "x")  # minimal form (a second spelling of bytes)
    if choice == 12:
        return "0x" + "0" * len(digits)
    return "0x" + "f" * len(digits)


HUGE_NUMBERS = (2**53, 2**53 - 1, 2**63, 2**64, 2**64 - 1, 2**256, -1, -(2**63), 10**40,
                2**20, 2**20 + 1, 1 << 16, (1 << 16) + 1, 64, 65)


def mutate_json_node(rng: random.Random, doc: Any, path: tuple[Any, ...]) -> tuple[str, Any]:
    """One structural mutation of the node at ``path`` of ``doc`` (mutated in place)."""
    node = get_at(doc, path)
    parent = get_at(doc, path[:-1]) if path else None
    ops = ["wrong_type", "raw_token", "deep", "swap_with_other"]
    if isinstance(node, bool):
        ops += ["bool_flip"]
    elif isinstance(node, int):
        ops += ["int_edge", "int_edge", "int_as_string", "int_as_float"]
    elif isinstance(node, str):
        ops += ["hex", "hex", "hex", "str_as_number", "str_odd", "str_long"]
    elif isinstance(node, list):
        ops += ["list_empty", "list_dup", "list_drop", "list_swap", "list_reverse", "list_many",
                "list_nest"]
    elif isinstance(node, dict):
        ops += ["dict_drop", "dict_unknown", "dict_repeat_key", "dict_swap_values", "dict_rename"]
    if isinstance(parent, dict | list):
        ops += ["remove"]
    op = rng.choice(ops)
    new: Any = node
    if op == "wrong_type":
        new = rng.choice((None, True, False, 0, 1, -1, 1.5, 0.0, "", "0x", [], {}, "abc", [node],
                          {"x": node}))
    elif op == "raw_token":
        new = _raw(rng.choice(("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 5000,
                               "-0", "1.0", "1E2", '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"',
                               '"\\u001b[2J"', "00", "+1", "0x10", "tru", "nul", "[1,]", "{,}")))
    elif op == "deep":
        depth = rng.choice((31, 32, 33, 100, 5000))
        new = _raw("[" * depth + "0" + "]" * depth)
    elif op == "swap_with_other":
        others = [p for p in json_paths(doc) if p and p[:len(path)] != path
                  and path[:len(p)] != p]
        if others:
            other = rng.choice(others)
            value = copy.deepcopy(get_at(doc, other))
            set_at(doc, other, copy.deepcopy(node))
            new = value
    elif op == "bool_flip":
        new = not node
    elif op == "int_edge":
        new = rng.choice((node + 1, node - 1, 0, node * 2, *HUGE_NUMBERS))
    elif op == "int_as_string":
        new = str(node)
    elif op == "int_as_float":
        new = float(node) if abs(node) < 2**60 else 1e300
    elif op == "hex":
        new = _hex_variants(rng, node)
    elif op == "str_as_number":
        digits = node[2:] if node.startswith("0x") else node
        if digits and len(digits) <= 64 and all(c in "0123456789abcdef" for c in digits):
            new = int(digits, 16)  # the same value as a JSON number
        else:
            new = _raw(str(len(digits) or 1))
    elif op == "str_odd":
        new = rng.choice(("", "0x", node + "\x00", node + "\n", "\u202e" + node, node * 2,
                          _raw('"' + node + '\\ud800"')))
    elif op == "str_long":
        new = "0x" + "ab" * rng.choice((1 << 10, 1 << 18, 1 << 20))
    elif op == "list_empty":
        new = []
    elif op == "list_dup" and node:
        i = rng.randrange(len(node))
        new = [*node[: i + 1], copy.deepcopy(node[i]), *node[i + 1:]]
    elif op == "list_drop" and node:
        i = rng.randrange(len(node))
        new = node[:i] + node[i + 1:]
    elif op == "list_swap" and len(node) >= 2:
        i, j = rng.sample(range(len(node)), 2)
        new = list(node)
        new[i], new[j] = new[j], new[i]
    elif op == "list_reverse":
        new = node[::-1]
    elif op == "list_many" and node:
        new = node + [node[-1]] * rng.choice((1, 63, 64, 65, 1000))
    elif op == "list_nest":
        new = [node]
    elif op == "dict_drop" and node:
        new = dict(node)
        del new[rng.choice(sorted(new))]
    elif op == "dict_unknown":
        new = {**node, rng.choice(("extra", "Format", "__proto__", "")): rng.choice((0, "x", None))}
    elif op == "dict_repeat_key" and node:
        key = rng.choice(sorted(node))
        first_values: tuple[Any, ...] = (node[key], 0, "0x00", None)
        other = rng.choice(first_values)
        new = _repeat_key(node, key, other)
    elif op == "dict_swap_values" and len(node) >= 2:
        a, b = rng.sample(sorted(node), 2)
        new = dict(node)
        new[a], new[b] = new[b], new[a]
    elif op == "dict_rename" and node:
        key = rng.choice(sorted(node))
        new = {(k.upper() if k == key else k): v for k, v in node.items()}
    elif op == "remove":
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            del parent[path[-1]]  # type: ignore[union-attr]
        return op, doc
    return op, set_at(doc, path, new)


def _repeat_key(node: dict[str, Any], key: str, other: Any) -> str:
    """A sentinel for ``node`` written with ``key`` twice (first ``other``, then its value)."""
    body = json.dumps(node, sort_keys=True, separators=(",", ":"))
    head = json.dumps(key) + ":" + json.dumps(other) + ","
    return _raw("{" + head + body[1:])


def mutate_json(rng: random.Random, doc: Any, rounds: int = 1,
                where: Callable[[tuple[Any, ...]], bool] | None = None) -> tuple[str, bytes]:
    """``rounds`` structural mutations of a copy of ``doc``, dumped (sometimes re-laid out)."""
    doc = copy.deepcopy(doc)
    ops = []
    for _ in range(rounds):
        paths = [p for p in json_paths(doc) if where is None or where(p)]
        if not paths:
            break
        path = rng.choice(paths)
        op, doc = mutate_json_node(rng, doc, path)
        ops.append(f"{op}@{'.'.join(map(str, path))}")
        if isinstance(doc, str) and doc.startswith(RAW):
            break
    return " ".join(ops), dump_json(doc, rng)


def reformat_json(rng: random.Random, doc: Any) -> tuple[str, bytes]:
    """The same document in another valid layout (must not change any verdict)."""
    style = rng.randrange(4)
    if style == 0:
        return "reformat:indent", json.dumps(doc, indent=rng.choice((1, 4))).encode()
    if style == 1:
        return "reformat:spaces", json.dumps(doc, separators=(" , ", " : ")).encode()
    if style == 2:
        return "reformat:trailing_ws", json.dumps(doc).encode() + b" \n\t\r\n"
    return "reformat:escaped", json.dumps(doc, ensure_ascii=True).replace("x", "\\u0078").encode()


def mutate_document(rng: random.Random, doc: Any, canonical: bytes,
                    where: Callable[[tuple[Any, ...]], bool] | None = None,
                    limit_bytes: int | None = None) -> tuple[str, bytes]:
    """A mutated JSON document: structural (most), byte-level on its text, or reformatted."""
    roll = rng.random()
    if roll < 0.60:
        return mutate_json(rng, doc, rng.choice((1, 1, 1, 2, 3)), where)
    if roll < 0.90:
        op, data = mutate_bytes(rng, canonical)
        return "bytes:" + op, data
    if roll < 0.97 or limit_bytes is None:
        return reformat_json(rng, doc)
    pad = limit_bytes - len(canonical) + rng.choice((0, 1))  # at the cap, and one over it
    return f"pad_to_cap{'+1' if pad + len(canonical) > limit_bytes else ''}", canonical + b" " * pad


# ---- timing and memory --------------------------------------------------------------------------


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---- targets -------------------------------------------------------------------------------------


class Target:
    """A reader of untrusted input under fuzz: a seed corpus, a mutator and a judge."""

    name = ""

    def generate(self, rng: random.Random) -> tuple[str, Any]:
        """``(description of the mutation, input)`` for one case."""
        raise NotImplementedError

    def judge(self, case: Any) -> Judgement:
        """Judge one input; raising anything is a traceback."""
        raise NotImplementedError

    def save(self, case: Any) -> bytes:
        """The bytes to save for a failing case."""
        return case if isinstance(case, bytes) else repr(case).encode()


@dataclass(frozen=True)
class HonestRound:
    """An honest signed bundle, the trainer's key, and what the chain expects of it."""

    bundle: Any
    sk: Any
    expected: Any


TRAINER_KEY_LABEL = b"pot fuzz trainer"


def trainer_key() -> Any:
    from eth_hash.auto import keccak

    from pot.protocol.keys import derive_secret_key

    return derive_secret_key(keccak(TRAINER_KEY_LABEL) + keccak(TRAINER_KEY_LABEL + b"/2"))


def expected_of(bundle: Any) -> Any:
    """What the chain knows of an honest bundle's submission: the bundle's own values."""
    from pot.verifier import Expected

    return Expected(job_id=bundle.job_id, round=bundle.round, trainer=bundle.trainer,
                    root=bundle.root, steps=bundle.steps, beacon=bundle.beacon,
                    min_samples=len(bundle.indices), dataset_root=bundle.dataset_root,
                    n_batches=bundle.n_batches, global_commitment=bundle.global_commitment,
                    final_commitment=bundle.final_commitment)


def build_honest_round(circuit: Any, steps: int = HONEST_STEPS, samples: int = HONEST_SAMPLES,
                       round_number: int = HONEST_ROUND) -> HonestRound:
    """Train ``steps`` real steps of the circuit's spec on digits and prove ``samples`` of them."""
    from eth_hash.auto import keccak

    from pot.data import initial_checkpoint, load_dataset, train_test_split
    from pot.executors import LocalProcessExecutor
    from pot.protocol.challenge import challenge_indices
    from pot.protocol.keys import public_key
    from pot.trainer import LocalData, build_bundle, commit_dataset, prove_challenged, run_trajectory

    spec = circuit.spec
    train, _ = train_test_split(load_dataset(spec.dataset))
    shard = LocalData(spec, train.x[: 10 * spec.batch_size], train.y[: 10 * spec.batch_size])
    dataset = commit_dataset(shard, circuit)
    sk = trainer_key()
    job_id, beacon = keccak(b"pot fuzz job"), keccak(b"pot fuzz beacon")
    traj = run_trajectory(circuit, initial_checkpoint(spec), shard, dataset, steps, round_number)
    indices = challenge_indices(job_id, round_number, public_key(sk), traj.root, beacon, steps,
                                samples)
    proofs = prove_challenged(circuit, traj, shard, dataset.n_batches, indices, round_number,
                              executor=LocalProcessExecutor(min(2, samples)))
    bundle = build_bundle(sk=sk, job_id=job_id, round_number=round_number, circuit=circuit,
                          traj=traj, dataset=dataset, beacon=beacon, indices=indices,
                          proofs=proofs)
    return HonestRound(bundle, sk, expected_of(bundle))


def cached_honest_round(cache: Path) -> tuple[Any, HonestRound]:
    """The tiny circuit and an honest round under ``cache``, built on first use."""
    from pot.bundle import dump_bundle, load_bundle
    from pot.circuit import build_circuit
    from pot.spec import load_spec

    circuit = build_circuit(load_spec("mlp-tiny"), cache / "circuits")
    path = cache / f"bundle-{circuit.circuit_id[2:18]}.json"
    if not path.exists():
        honest = build_honest_round(circuit)
        path.write_bytes(dump_bundle(honest.bundle))
    bundle = load_bundle(path.read_bytes())
    return circuit, HonestRound(bundle, trainer_key(), expected_of(bundle))


class BundleTarget(Target):
    """``load_bundle`` then ``verify_bundle``; an insider re-signs what fails only its signature."""

    name = "bundle"

    def __init__(self, circuit: Any, honest: HonestRound, backend: str = "evm") -> None:
        from pot.bundle import MAX_BUNDLE_BYTES, dump_bundle

        self.circuit, self.honest, self.backend = circuit, honest, backend
        self.canonical = dump_bundle(honest.bundle)
        self.doc = json.loads(self.canonical)
        self.limit = MAX_BUNDLE_BYTES

    def generate(self, rng: random.Random) -> tuple[str, Any]:
        op, data = mutate_document(rng, self.doc, self.canonical, limit_bytes=self.limit)
        insider = rng.random() < 0.5
        with_context = rng.random() < 0.8
        return f"{op} insider={insider} context={with_context}", (data, insider, with_context)

    def judge(self, case: Any) -> Judgement:
        from pot.bundle import load_bundle
        from pot.verdict import Verdict
        from pot.verifier import verify_bundle

        data, insider, with_context = case
        try:
            bundle = load_bundle(data)
        except MalformedInputError:
            return Judgement(False, False, "malformed")
        expected = self.honest.expected if with_context else None
        verdict = verify_bundle(bundle, self.circuit, expected, True, self.backend)
        if (insider and verdict.reason == "bad_signature"
                and bundle.body() != self.honest.bundle.body()):
            bundle = bundle.signed(self.honest.sk)
            verdict = verify_bundle(bundle, self.circuit, expected, True, self.backend)
            if not verdict.ok:
                verdict = dataclasses.replace(verdict, reason="resigned:" + verdict.reason)
        if not isinstance(verdict, Verdict) or not isinstance(verdict.ok, bool):
            raise TypeError(f"verify_bundle returned {verdict!r}")
        return Judgement(verdict.ok, verdict.ok and bundle != self.honest.bundle, verdict.reason)

    def save(self, case: Any) -> bytes:
        return case[0]


class StepProofTarget(Target):
    """``load_step_proof_bytes`` then ``verify_step_proof`` (what ``pot verify`` runs)."""

    name = "step_proof"

    def __init__(self, circuit: Any, honest: HonestRound, backend: str = "evm") -> None:
        from pot.verifier import MAX_STEP_PROOF_FILE_BYTES

        self.circuit, self.backend = circuit, backend
        self.proofs = [o.proof for o in honest.bundle.openings]
        self.docs = [p.to_json() for p in self.proofs]
        self.limit = MAX_STEP_PROOF_FILE_BYTES

    def generate(self, rng: random.Random) -> tuple[str, Any]:
        i = rng.randrange(len(self.docs))
        canonical = canonical_json(self.docs[i])
        op, data = mutate_document(rng, self.docs[i], canonical, limit_bytes=self.limit)
        return f"seed={i} {op}", (data, i)

    def judge(self, case: Any) -> Judgement:
        from pot.verifier import load_step_proof_bytes, verify_step_proof

        data, i = case
        try:
            step = load_step_proof_bytes(data)
        except MalformedInputError:
            return Judgement(False, False, "malformed")
        verdict = verify_step_proof(step, self.circuit, True, self.backend)
        return Judgement(verdict.ok, verdict.ok and step != self.proofs[i], verdict.reason)

    def save(self, case: Any) -> bytes:
        return case[0]


def fixture_cases(fixtures_dir: Path = ROOT / "fixtures") -> dict[str, dict[str, Any]]:
    """Every committed fixture case by format, then test name."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(fixtures_dir.glob("*.json"))}


def _hex_input(case: dict[str, Any], key: str) -> bytes | None:
    value = case.get("input", {}).get(key)
    return bytes.fromhex(value[2:]) if isinstance(value, str) and value.startswith("0x") else None


class TrainRequestTarget(Target):
    """The TRAIN_REQUEST opcode (``Executor.train_request``) on an in-memory state."""

    name = "train_request"

    def __init__(self) -> None:
        from pot.chain.abi import decode_train_request
        from pot.chain.executor import Executor
        from pot.chain.fixed_types import Address
        from pot.chain.store import Store

        self.seeds = [d for case in fixture_cases()["train_request"].values()
                      if (d := _hex_input(case, "calldata")) is not None]
        self.valid = []
        for data in self.seeds:
            with contextlib.suppress(Exception):
                self.valid.append(decode_train_request(data))
        self.executor = Executor(Store.create(":memory:", 1))
        self.caller = Address(b"\x5a" * 20)
        self.nonce = 0

    def sender(self) -> Any:
        """The opcode's sender as ``Executor.apply`` passes it once the transaction is
        authenticated (the fuzzer targets the opcode, not the signature)."""
        from pot.chain.executor import Sender
        from pot.chain.fixed_types import U64, Bytes48

        return Sender(key=Bytes48(bytes(48)), address=self.caller, nonce=U64(self.nonce))

    def generate(self, rng: random.Random) -> tuple[str, Any]:
        from pot.chain.abi import encode_train_request
        from pot.chain.fixed_types import U64, U256, Bytes32

        roll = rng.random()
        if roll < 0.25 and self.valid:  # a re-encoded request with edge values in its fields
            request = rng.choice(self.valid)
            name, value = rng.choice((
                ("total_rounds", rng.choice((0, 1, 10_000, 10_001, 2**64, 2**256 - 1))),
                ("min_participants", rng.choice((0, 1, 2, 3, 1024, 1025, 2**64 - 1))),
                ("model_id", rng.choice((bytes(32), b"\xff" * 32))),
                ("dataset_ref", rng.choice((bytes(32), b"\x01" * 32))),
                ("hyperparams", rng.choice((b"", b"\x01", bytes(request.hyperparams) + b"\x00",
                                            mutate_bytes(rng, bytes(request.hyperparams))[1]))),
            ))
            kind = {"total_rounds": U256, "min_participants": U64, "model_id": Bytes32,
                    "dataset_ref": Bytes32, "hyperparams": bytes}[name]
            try:
                data = encode_train_request(dataclasses.replace(request, **{name: kind(value)}))
            except Exception:
                data = bytes(rng.choice(self.seeds))
            return f"reencode:{name}", data
        seed = rng.choice(self.seeds)
        if roll < 0.55:  # an ABI word set to an edge value, or two words swapped
            b = bytearray(seed)
            words = max(1, len(b) // 32)
            w = rng.randrange(min(words, 8))
            value = rng.choice((0, 1, 32, 0xA0, 0xA0 + 32, 0xC0, 75, 76, 2**64 - 1, 2**64,
                                2**255, 2**256 - 1, len(b), max(0, len(b) - 192)))
            if rng.random() < 0.8:
                b[32 * w:32 * w + 32] = value.to_bytes(32, "big")
                return f"word{w}={value}", bytes(b)
            v = rng.randrange(min(words, 8))
            b[32 * w:32 * w + 32], b[32 * v:32 * v + 32] = b[32 * v:32 * v + 32], b[32 * w:32 * w + 32]
            return f"swap_words:{w},{v}", bytes(b)
        op, data = mutate_bytes(rng, seed)
        if rng.random() < 0.02:
            data = data + bytes(128 * 1024 + 1 - len(data))  # the size cap, plus one
            op += "+over_cap"
        return op, data

    def judge(self, case: Any) -> Judgement:
        from pot.chain.abi import decode_train_request, encode_train_request
        from pot.chain.errors import ChainError

        try:
            receipt = self.executor._train_request(self.sender(), case, 2**64 - 1, 0,
                                                   1 + self.nonce)
        except ChainError as e:
            return Judgement(False, False, type(e).__name__)
        self.nonce += 1
        if len(receipt.job_id) != 32:
            raise TypeError(f"a job id of {len(receipt.job_id)} bytes")
        return Judgement(True, encode_train_request(decode_train_request(case)) != case, "ok")


def _hyperparams_fields() -> list[tuple[int, int]]:
    """(offset, width) of every field of the version-1 hyperparams record."""
    from pot.chain import hyperparams as h

    offsets = sorted(v for k, v in vars(h).items() if k.endswith("_OFFSET"))
    return list(zip(offsets, [b - a for a, b in zip(offsets, [*offsets[1:], h.HYPERPARAMS_V1_BYTES],
                                                      strict=True)], strict=True))


HYPERPARAMS_FIELDS = _hyperparams_fields()


class HyperparamsTarget(Target):
    """``decode_hyperparams``."""

    name = "hyperparams"

    def __init__(self) -> None:
        from pot.chain.abi import decode_train_request

        cases = fixture_cases()
        seeds = [d for case in cases["hyperparams"].values()
                 if (d := _hex_input(case, "encoded")) is not None]
        for case in cases["train_request"].values():
            with contextlib.suppress(Exception):
                seeds.append(bytes(decode_train_request(_hex_input(case, "calldata") or b"")
                                   .hyperparams))
        self.seeds = [s for s in seeds if len(s) < 4096] or [b"\x01"]

    def generate(self, rng: random.Random) -> tuple[str, Any]:
        seed = rng.choice(self.seeds)
        if rng.random() < 0.5 and len(seed) >= 75:  # one field set to an edge value
            offset, width = rng.choice(HYPERPARAMS_FIELDS)
            top = (1 << (8 * width)) - 1
            value = rng.choice((0, 1, 2, 3, 4, 5, top, top - 1, 1 << 20, (1 << 20) + 1, 1 << 22,
                                (1 << 22) + 1, rng.randrange(top + 1)))
            b = bytearray(seed)
            b[offset:offset + width] = (value & top).to_bytes(width, "big")
            return f"field@{offset}={value & top}", bytes(b)
        return mutate_bytes(rng, seed)

    def judge(self, case: Any) -> Judgement:
        from pot.chain.errors import HyperparamsError
        from pot.chain.hyperparams import decode_hyperparams, encode_hyperparams

        try:
            hp = decode_hyperparams(case)
        except HyperparamsError as e:
            return Judgement(False, False, " ".join(str(e).split()[1:3]))
        return Judgement(True, encode_hyperparams(hp) != case, "ok")


SPARSE_DIM, SPARSE_K = 226, 32  # the tiny spec's parameter count, and a job's k


class SparseTarget(Target):
    """``decode_sparse`` for a job of ``SPARSE_DIM`` weights and ``k = SPARSE_K``, then densify."""

    name = "sparse"

    def __init__(self) -> None:
        from pot.aggregation.compression import encode_sparse, topk_compress

        gen = np.random.default_rng(0)
        self.seeds = []
        for scale in (1, 100, 10**6, 2**31 - 1):
            update = gen.integers(-scale, scale, SPARSE_DIM, dtype=np.int64, endpoint=True)
            residual = np.zeros(SPARSE_DIM, dtype=np.int64)
            for k in (1, 8, SPARSE_K):
                sent, _ = topk_compress(update, residual.copy(), k)
                self.seeds.append(encode_sparse(sent))

    def generate(self, rng: random.Random) -> tuple[str, Any]:
        seed = rng.choice(self.seeds)
        count = struct.unpack_from(">I", seed, 5)[0]
        roll = rng.random()
        b = bytearray(seed)
        if roll < 0.2:  # a header field set to an edge value
            name, offset, fmt, values = rng.choice((
                ("version", 0, ">B", (0, 2, 255)),
                ("dim", 1, ">I", (0, SPARSE_DIM - 1, SPARSE_DIM + 1, 2**32 - 1)),
                ("count", 5, ">I", (0, count - 1, count + 1, SPARSE_K, SPARSE_K + 1, 2**32 - 1)),
                ("step", 9, ">I", (0, 1, 2**31 - 1, (2**31 - 1) // 127, (2**31 - 1) // 127 + 1,
                                   2**32 - 1)),
            ))
            value = rng.choice(values) % (256 if fmt == ">B" else 2**32)
            struct.pack_into(fmt, b, offset, value)
            return f"{name}={value}", bytes(b)
        if roll < 0.45 and count:  # one entry's index or code set to an edge value
            e = rng.randrange(count)
            if rng.random() < 0.5:
                prev = struct.unpack_from(">I", b, 13 + 4 * (e - 1))[0] if e else 0
                value = rng.choice((0, prev, prev - 1 if prev else 0, SPARSE_DIM - 1, SPARSE_DIM,
                                    2**31, 2**32 - 1))
                struct.pack_into(">I", b, 13 + 4 * e, value)
                return f"index[{e}]={value}", bytes(b)
            code = rng.choice((0, -128, -127, 127, 1, -1))
            struct.pack_into(">b", b, 13 + 4 * count + e, code)
            return f"code[{e}]={code}", bytes(b)
        return mutate_bytes(rng, seed)

    def judge(self, case: Any) -> Judgement:
        from pot.aggregation.compression import decode_sparse, encode_sparse
        from pot.aggregation.errors import MalformedUpdateError

        try:
            update = decode_sparse(case, SPARSE_DIM, SPARSE_K)
        except MalformedUpdateError as e:
            return Judgement(False, False, str(e).split(":")[0][:40])
        dense = update.to_dense()
        if dense.shape != (SPARSE_DIM,) or dense.dtype != np.int64:
            raise TypeError(f"decoded to {dense.dtype} {dense.shape}")
        return Judgement(True, encode_sparse(update) != case, "ok")


def case_content_hash(case: dict[str, Any]) -> str:
    """The hash of a fixture case's content (the case without ``_info``)."""
    from pot.fixtures.core import content_hash

    return content_hash({k: v for k, v in case.items() if k != "_info"})


FIXTURE_BOUND_KEYS = {"hyperparams": None, "train_request": {"chain_id", "caller", "nonce",
                                                             "calldata"}}
"""Formats whose expected output is a function of these input keys (``None``: of all of them)."""


class FixturesTarget(Target):
    """``check_fixtures`` on a file of one or two committed cases, and the lines it prints."""

    name = "fixtures"

    def __init__(self) -> None:
        self.cases = {name: case for cases in fixture_cases().values()
                      for name, case in cases.items()}
        # The 128 KiB calldata cases make a fuzz case slow without reaching new code.
        self.names = sorted(n for n, c in self.cases.items() if len(json.dumps(c)) < 20_000)
        self.hashes = {case_content_hash(case) for case in self.cases.values()}
        self.tmp = Path(tempfile.mkdtemp(prefix="pot-fuzz-fixtures-"))

    def generate(self, rng: random.Random) -> tuple[str, Any]:
        from pot.fixtures.core import content_hash

        names = rng.sample(self.names, rng.choice((1, 1, 2)))
        doc = {name: copy.deepcopy(self.cases[name]) for name in names}
        canonical = json.dumps(doc, indent=1, sort_keys=True).encode()
        mutated_name, rehashed, part = "", False, ""
        roll = rng.random()
        if roll < 0.35:  # change a case's content and fix its hash: the replay must catch it
            mutated_name = rng.choice(names)
            case = doc[mutated_name]
            part = rng.choice(("input", "input", "expected" if "expected" in case else
                               "expected_error"))
            op, mutated = mutate_json(rng, {part: case[part]}, 1, where=lambda p: len(p) >= 2)
            try:
                new_part = json.loads(mutated)[part]
                case[part] = new_part
                content = {k: v for k, v in case.items() if k != "_info"}
                case["_info"]["hash"] = content_hash(content)
                rehashed = True
                data = json.dumps(doc, indent=1, sort_keys=True).encode()
            except Exception:  # no canonical content (a float, a long string): keep it unhashed
                data = mutated if rng.random() < 0.1 else canonical
            desc = f"rehash:{part}:{op}"
        elif roll < 0.75:
            desc, data = mutate_json(rng, doc, rng.choice((1, 1, 2)))
        else:
            op, data = mutate_bytes(rng, canonical)
            desc = "bytes:" + op
        return desc, (data, mutated_name if rehashed else "", part)

    def judge(self, case: Any) -> Judgement:
        from pot.fixtures.check import check_fixtures
        from pot.jsonio import loads_limited

        data, rehashed_name, part = case
        path = self.tmp / "case.json"
        path.write_bytes(data)
        report = check_fixtures([path])
        printed = "\n".join(report.lines()).encode("utf-8")  # what `pot fixtures check` prints
        json.dumps(report.to_json()).encode("ascii")
        del printed
        if report.passed == 0:
            return Judgement(False, False, "no case passed")
        doc = loads_limited(data, "fixture", len(data))  # a case passed: it is a JSON object
        failed = {f.name for f in report.failures}
        false = False
        for name in set(doc) - failed:
            mutated = doc[name]
            if case_content_hash(mutated) in self.hashes:
                continue  # a committed case, perhaps under another name: names are not hashed
            original = self.cases.get(name)
            if name != rehashed_name or original is None:
                false = True  # content changed and still passed with the committed hash
            elif part != "input":
                false = True  # a changed expected output passed
            else:
                fmt = original["_info"]["format"]
                if fmt in FIXTURE_BOUND_KEYS and "expected" in original:
                    keys = FIXTURE_BOUND_KEYS[fmt]
                    changed = {k for k in set(original["input"]) | set(mutated["input"])
                               if original["input"].get(k) != mutated["input"].get(k)}
                    if keys is None or changed & keys:
                        false = True
        return Judgement(True, false, f"{report.passed} passed")

    def save(self, case: Any) -> bytes:
        return case[0]


def make_target(name: str, cache: Path, backend: str = "evm") -> Target:
    if name in ("bundle", "step_proof"):
        circuit, honest = cached_honest_round(cache)
        make = BundleTarget if name == "bundle" else StepProofTarget
        return make(circuit, honest, backend)
    return {"train_request": TrainRequestTarget, "hyperparams": HyperparamsTarget,
            "sparse": SparseTarget, "fixtures": FixturesTarget}[name]()


# ---- running -------------------------------------------------------------------------------------


def case_rng(seed: int, target: str, i: int) -> random.Random:
    return random.Random(f"{seed}/{target}/{i}")


def rss_bytes() -> int:
    """The resident set of this process now."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def peak_rss_bytes() -> int:
    """The high-water mark of this process's resident set since the last :func:`reset_peak`."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak() -> None:
    """Start the high-water mark again from the current resident set (Linux ``clear_refs``)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def run_cases(target: Target, start: int, stop: int, seed: int,
              out: Path | None = None, verbose: bool = False) -> Stats:
    """Run cases ``start .. stop - 1`` of ``target`` in this process."""
    stats = Stats(target.name)
    limit = TIME_LIMIT_S[target.name]
    began = time.perf_counter()
    with contextlib.suppress(Exception):  # imports and caches, untimed
        target.judge(target.generate(random.Random("warm-up"))[1])
    process_peak = 0
    try:
        for i in range(start, stop):
            desc, case = target.generate(case_rng(seed, target.name, i))
            failure = None
            process_peak = max(process_peak, peak_rss_bytes())
            reset_peak()
            before = rss_bytes()
            t0 = time.perf_counter()
            try:
                with time_limit(limit):
                    judgement = target.judge(case)
            except CaseTimeout:
                judgement, failure = None, "timeout"
                stats.timeouts += 1
            except Exception:
                judgement, failure = None, traceback.format_exc()
                stats.tracebacks += 1
            elapsed = time.perf_counter() - t0
            stats.cases += 1
            used = peak_rss_bytes() - before  # this case's peak above where it started
            if used > stats.worst_mem_bytes:
                stats.worst_mem_bytes, stats.worst_mem_case = used, i
            if elapsed > stats.worst_s:
                stats.worst_s, stats.worst_case = elapsed, i
            if elapsed > limit and failure is None:
                stats.timeouts += 1
                failure = f"took {elapsed:.1f} s"
            if judgement is not None:
                stats.accepted += judgement.accepted
                stats.reasons[judgement.reason] += 1
                if judgement.false_accept:
                    stats.false_accepts += 1
                    failure = f"false accept ({judgement.reason})"
            if verbose:
                print(f"case {i}: {desc}\n  -> {judgement or failure} in {elapsed:.3f} s")
            if failure is not None:
                stats.failures.append({"case": i, "mutation": desc, "failure": failure[-2000:]})
                if out is not None:
                    out.mkdir(parents=True, exist_ok=True)
                    (out / f"{target.name}-{i}.bin").write_bytes(target.save(case))
                    (out / f"{target.name}-{i}.txt").write_text(f"{desc}\n{failure}\n")
    finally:
        stats.wall_s = time.perf_counter() - began
        stats.peak_rss_bytes = max(process_peak, peak_rss_bytes())
    return stats


Job = tuple[str, int, int, int, str, str, str]


def _chunk(job: Job) -> Stats:
    name, start, stop, seed, cache, out, backend = job
    return run_cases(make_target(name, Path(cache), backend), start, stop, seed, Path(out))


def _quiet_worker() -> None:
    """Send a worker's stdout to /dev/null: ezkl prints a line per verification."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _run_jobs(jobs: list[Job], workers: int) -> tuple[list[Stats], list[Job]]:
    """Run jobs in fresh processes; return their stats and the jobs whose process died."""
    done: list[Stats] = []
    pending = list(jobs)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_quiet_worker,
                             max_tasks_per_child=1) as pool:
        futures = {pool.submit(_chunk, job): job for job in jobs}
        for future in as_completed(futures):
            with contextlib.suppress(BrokenProcessPool):
                done.append(future.result())
                pending.remove(futures[future])
    return done, pending


def run_target(name: str, cases: int, seed: int = 0, workers: int = 1, cache: Path = DEFAULT_CACHE,
               out: Path = DEFAULT_OUT, chunk: int = 1000, backend: str = "evm") -> Stats:
    """Run ``cases`` cases of one target over ``workers`` fresh processes; merged counts.

    A worker that dies (a crash in native code) breaks the pool; its unfinished jobs are then run
    again one process each, and a job that kills its process again counts as one traceback.
    """
    total = Stats(name)
    began = time.perf_counter()
    jobs = [(name, a, min(a + chunk, cases), seed, str(cache), str(out), backend)
            for a in range(0, cases, chunk)]
    done, pending = _run_jobs(jobs, workers)
    for job in pending:
        again, died = _run_jobs([job], 1)
        done += again
        if died:
            total.tracebacks += 1
            total.failures.append({"case": job[1], "mutation": f"cases {job[1]}..{job[2] - 1}",
                                   "failure": "the worker process died"})
    for stats in done:
        total.merge(stats)
    total.wall_s = time.perf_counter() - began
    return total


# ---- the largest inputs each limit lets through ----------------------------------------------------


def _fill(unit: bytes, cap: int, head: bytes = b"[", tail: bytes = b"]") -> bytes:
    """``head + unit,unit,... + tail`` of at most ``cap`` bytes."""
    n = (cap - len(head) - len(tail) + 1) // (len(unit) + 1)
    return head + b",".join([unit] * n) + tail


def _largest_step_proof_hex(cache: Path) -> bytes:
    from pot.verifier import MAX_STEP_PROOF_FILE_BYTES

    _, honest = cached_honest_round(cache)
    doc = honest.bundle.openings[0].proof.to_json()
    doc["proof"] = "0x" + "ab" * ((MAX_STEP_PROOF_FILE_BYTES - 2000) // 2)
    return json.dumps(doc).encode()


def _judge_bundle_bytes(data: bytes) -> str:
    from pot.bundle import load_bundle

    try:
        load_bundle(data)
        return "accepted"
    except MalformedInputError as e:
        return "malformed: " + str(e)[:60]


def _judge_step_proof_bytes(data: bytes) -> str:
    from pot.verifier import load_step_proof_bytes

    try:
        load_step_proof_bytes(data)
        return "accepted"
    except MalformedInputError as e:
        return "malformed: " + str(e)[:60]


def _judge_calldata(data: bytes) -> str:
    from pot.chain.errors import ChainError

    target = TrainRequestTarget()
    try:
        target.executor._train_request(target.sender(), data, 2**64 - 1, 0, 1)
        return "accepted"
    except ChainError as e:
        return type(e).__name__


def _judge_fixture_file(data: bytes) -> str:
    from pot.fixtures.check import check_fixtures

    path = Path(tempfile.mkdtemp(prefix="pot-fuzz-limit-")) / "big.json"
    path.write_bytes(data)
    report = check_fixtures([path])
    return f"{report.passed} passed, {len(report.failures)} failed" + "".join(
        f"; {f.reason[:60]}" for f in report.broken_files)


def _largest_calldata() -> bytes:
    from pot.chain.abi import HYPERPARAMS_DATA_OFFSET, HYPERPARAMS_HEAD_OFFSET
    from pot.chain.gas import MAX_CALLDATA_BYTES

    body = bytes(MAX_CALLDATA_BYTES - HYPERPARAMS_DATA_OFFSET)
    return (b"\x01" * HYPERPARAMS_HEAD_OFFSET + (HYPERPARAMS_HEAD_OFFSET + 32).to_bytes(32, "big")
            + len(body).to_bytes(32, "big") + body)


def _largest_fixture_file() -> bytes:
    from pot.fixtures.core import MAX_FIXTURE_FILE_BYTES

    one = json.dumps(next(iter(fixture_cases()["hyperparams"].values()))).encode()
    n = MAX_FIXTURE_FILE_BYTES // (len(one) + 16)
    return b"{" + b",".join(b'"c%d":' % i + one for i in range(n)) + b"}"


def _probe_input(name: str, cache: Path) -> tuple[Callable[[bytes], str], bytes]:
    """The largest input of one kind that its limits let through, and its reader."""
    from pot.bundle import MAX_BUNDLE_BYTES
    from pot.jsonio import MAX_JSON_VALUES

    cap, values = MAX_BUNDLE_BYTES, MAX_JSON_VALUES - 2
    inputs: dict[str, tuple[Callable[[bytes], str], Callable[[], bytes]]] = {
        "bundle: 16 MiB of [] arrays": (_judge_bundle_bytes, lambda: _fill(b"[]", cap)),
        "bundle: 2^20 values of [] arrays": (_judge_bundle_bytes,
                                             lambda: b"[" + b",".join([b"[]"] * (values // 2)) + b"]"),
        "bundle: 2^20 values of {} objects": (_judge_bundle_bytes,
                                              lambda: b"[" + b",".join([b"{}"] * (values // 2)) + b"]"),
        "bundle: 2^20 short strings": (_judge_bundle_bytes,
                                       lambda: b"[" + b",".join([b'"0x12"'] * values) + b"]"),
        "bundle: 16 MiB of 80-digit integers": (_judge_bundle_bytes, lambda: _fill(b"9" * 80, cap)),
        "bundle: 16 MiB, nested 32 deep": (_judge_bundle_bytes,
                                           lambda: _fill(b"[" * 31 + b"0" + b"]" * 31, cap)),
        "bundle: 16 MiB string": (_judge_bundle_bytes, lambda: b'"' + b"a" * (cap - 2) + b'"'),
        "bundle: 16 MiB + 1 byte": (_judge_bundle_bytes, lambda: b" " * (cap + 1)),
        "step_proof: 4 MiB of proof hex": (_judge_step_proof_bytes,
                                           lambda: _largest_step_proof_hex(cache)),
        "train_request: 128 KiB calldata": (_judge_calldata, _largest_calldata),
        "fixtures: 16 MiB file of small cases": (_judge_fixture_file, _largest_fixture_file),
    }
    reader, build = inputs[name]
    return reader, build()


def _run_probe(args: tuple[str, str]) -> dict[str, Any]:
    name, cache = args
    reader, data = _probe_input(name, Path(cache))
    reset_peak()  # the input is built: count only the reading
    baseline = rss_bytes()
    t0 = time.perf_counter()
    outcome = reader(data)
    return {"input": name, "size": f"{len(data) / MIB:.2f} MiB", "outcome": outcome,
            "seconds": time.perf_counter() - t0,
            "mem_mib": max(0, peak_rss_bytes() - baseline) / MIB}


LIMIT_PROBES = (
    "bundle: 16 MiB of [] arrays", "bundle: 2^20 values of [] arrays",
    "bundle: 2^20 values of {} objects", "bundle: 2^20 short strings",
    "bundle: 16 MiB of 80-digit integers", "bundle: 16 MiB, nested 32 deep",
    "bundle: 16 MiB string", "bundle: 16 MiB + 1 byte", "step_proof: 4 MiB of proof hex",
    "train_request: 128 KiB calldata", "fixtures: 16 MiB file of small cases",
)


def run_limits(cache: Path) -> list[dict[str, Any]]:
    """Each probe in a fresh process, so its memory is its own."""
    ctx = multiprocessing.get_context("spawn")
    rows = []
    for name in LIMIT_PROBES:
        with ProcessPoolExecutor(1, mp_context=ctx, initializer=_quiet_worker) as pool:
            rows.append(pool.submit(_run_probe, (name, str(cache))).result())
    return rows


HEADER = ("target", "cases", "tracebacks", "false accepts", "timeouts", "accepted", "worst s",
          "mem MiB", "RSS MiB", "wall s")


def table(rows: list[Stats]) -> str:
    """The result table, one row per target."""
    body = [HEADER] + [
        (s.target, str(s.cases), str(s.tracebacks), str(s.false_accepts), str(s.timeouts),
         str(s.accepted), f"{s.worst_s:.3f}", f"{s.worst_mem_bytes / MIB:.1f}",
         f"{s.peak_rss_bytes / MIB:.0f}", f"{s.wall_s:.0f}")
        for s in rows
    ]
    widths = [max(len(r[c]) for r in body) for c in range(len(HEADER))]
    lines = ["  ".join(cell.rjust(w) if c else cell.ljust(w) for c, (cell, w) in
                       enumerate(zip(row, widths, strict=True))) for row in body]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="cases per target")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes per target")
    parser.add_argument("--chunk", type=int, default=1000, help="cases per worker process")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="where the tiny circuit and the honest bundle are kept")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="failing inputs are saved here, with their traceback")
    parser.add_argument("--only", type=int, help="replay this one case of each target, verbosely")
    parser.add_argument("--limits", action="store_true",
                        help="time and memory of the largest input each limit lets through")
    parser.add_argument("--json", dest="as_json", action="store_true", help="also print JSON")
    parser.add_argument("--backend", choices=("evm", "ezkl"), default="evm",
                        help="proof verifier of the bundle and step_proof targets")
    args = parser.parse_args(argv)

    if args.limits:
        for row in run_limits(args.cache):
            print(f"{row['input']:<38} {row['size']:>10}  {row['seconds']:6.2f} s  "
                  f"{row['mem_mib']:6.0f} MiB  {row['outcome']}", flush=True)
        return 0
    if args.only is not None:
        for name in args.targets:
            stats = run_cases(make_target(name, args.cache, args.backend), args.only,
                              args.only + 1, args.seed, args.out, verbose=True)
            for f in stats.failures:
                print(f["failure"])
        return 0
    if {"bundle", "step_proof"} & set(args.targets):
        cached_honest_round(args.cache)  # build once, before the workers start
    rows = []
    for name in args.targets:
        stats = run_target(name, args.cases, args.seed, args.workers, args.cache, args.out,
                           args.chunk, args.backend)
        rows.append(stats)
        print(f"{name}: {stats.cases} cases in {stats.wall_s:.0f} s, slowest case "
              f"{stats.worst_case}, largest memory case {stats.worst_mem_case}; top outcomes: "
              + ", ".join(f"{r} {n}" for r, n in stats.reasons.most_common(6)), flush=True)
        for f in stats.failures[:5]:
            print(f"  case {f['case']} ({f['mutation']}): {f['failure'].strip().splitlines()[-1]}")
    print()
    print(table(rows))
    if args.as_json:
        print(json.dumps([{**dataclasses.asdict(s), "reasons": dict(s.reasons)} for s in rows]))
    bad = sum(s.tracebacks + s.false_accepts + s.timeouts for s in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
