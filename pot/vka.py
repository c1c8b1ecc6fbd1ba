"""Verification key artifacts (VKAs): what ezkl's reusable EVM verifier needs of one circuit.

The reusable verifier (:mod:`pot.evm.artifact`) holds no circuit: every ``verifyProof`` call
carries the circuit's VKA as a ``bytes32[]``, and the contract accepts it only if its keccak256
was registered with ``registerVka`` before. ``ezkl.create_evm_vka`` derives the VKA from the
circuit's ``vk.key``, ``settings.json`` and SRS (no solc needed, about 0.1 s for mlp-tiny).

File form (``vka.bin``, what ``ezkl.create_evm_vka`` writes): an 8-byte little-endian word count
``n`` followed by ``n`` 32-byte words.

pot never trusts a ``vka.bin`` it is handed: a verifier derives the VKA from the circuit's
``vk.key``, whose sha256 the circuit id pins. ``pot setup`` writes ``vka.bin`` beside ``vk.key``
for deployers (``pot chain verifier-export``); it is not in the manifest, so circuit ids are
unchanged.

Source: ezkl 23.0.5, ``src/bindings/python.rs`` (``create_evm_vka``) and the reusable verifier's
Solidity template (the VKA layout read by :func:`proof_length`).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from pot.errors import EvmError

VKA_FILE = "vka.bin"
WORD_BYTES = 32
COUNT_BYTES = 8  # the little-endian u64 word count that opens vka.bin
MAX_VKA_WORDS = 1 << 16  # 2 MiB of words; mlp-tiny's VKA has 414, mlp-digits' 361

# Offsets into the VKA, in words (the contract copies the VKA to memory at 0xa0, so word i sits at
# memory 0xa0 + 32 * i; the names are the template's).
VKA_NUM_INSTANCES_WORD = 2  # mload(0xe0): public instances the circuit has
VKA_NUM_EVALS_WORD = 3  # mload(0x0100): scalar evaluations in the proof
VKA_CHALLENGE_LEN_WORD = 33  # mload(0x04c0): per phase, the bytes of points and the challenges
G1_POINT_BYTES = 64
OPENING_POINTS = 2  # the batch opening proof's W and W'


def parse_vka(raw: bytes, what: str = "VKA") -> tuple[bytes, ...]:
    """Split ``vka.bin`` bytes into its 32-byte words.

    Raises
    ------
    EvmError
        If the count is zero or over ``MAX_VKA_WORDS``, or the length is not ``8 + 32 * count``.
    """
    if len(raw) < COUNT_BYTES:
        raise EvmError(f"{what} is {len(raw)} bytes, shorter than its word count")
    count = int.from_bytes(raw[:COUNT_BYTES], "little")
    if not 0 < count <= MAX_VKA_WORDS:
        raise EvmError(f"{what} claims {count} words, not 1 to {MAX_VKA_WORDS}")
    if len(raw) != COUNT_BYTES + WORD_BYTES * count:
        raise EvmError(f"{what} is {len(raw)} bytes, its count of {count} words needs "
                       f"{COUNT_BYTES + WORD_BYTES * count}")
    return tuple(raw[COUNT_BYTES + WORD_BYTES * i : COUNT_BYTES + WORD_BYTES * (i + 1)]
                 for i in range(count))


def dump_vka(words: tuple[bytes, ...]) -> bytes:
    """The ``vka.bin`` form of ``words`` (inverse of :func:`parse_vka`)."""
    return len(words).to_bytes(COUNT_BYTES, "little") + b"".join(words)


def run_ezkl(call: Callable[..., Any], *args: Any) -> Any:
    """Run an ezkl binding that needs a running asyncio loop (it returns a future) to its end.

    ezkl 23.0.5's ``create_evm_vka`` and ``create_evm_verifier`` hand their work to a tokio task
    and return an asyncio future; outside a running loop they raise ``no running event loop``.
    """

    async def main() -> Any:
        result = call(*args)
        return await result if isinstance(result, Awaitable) else result

    return asyncio.run(main())


class CircuitFiles(Protocol):
    """What :func:`derive_vka` reads of a circuit (:class:`pot.circuit.Circuit` is one)."""

    @property
    def path(self) -> Path: ...

    def file(self, name: str) -> Path: ...


def derive_vka(circuit: CircuitFiles) -> tuple[bytes, ...]:
    """The circuit's VKA, derived by ezkl from its (manifest-pinned) vk, settings and SRS.

    Raises
    ------
    EvmError
        If ezkl fails or writes something that is not a VKA.
    """
    import ezkl

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / VKA_FILE
        try:
            ok = run_ezkl(ezkl.create_evm_vka, str(circuit.file("vk.key")),
                          str(circuit.file("settings.json")), str(out), str(circuit.file("kzg.srs")))
        except (RuntimeError, ValueError) as e:
            raise EvmError(f"ezkl could not derive the VKA of {circuit.path}: {e}") from e
        if not ok or not out.exists():
            raise EvmError(f"ezkl wrote no VKA for {circuit.path}")
        return parse_vka(out.read_bytes(), f"the VKA of {circuit.path}")


def write_vka(circuit_dir: Path, words: tuple[bytes, ...]) -> Path:
    """Write ``vka.bin`` into a circuit folder (``pot setup``); the file's path."""
    path = circuit_dir / VKA_FILE
    path.write_bytes(dump_vka(words))
    return path


def proof_length(words: tuple[bytes, ...]) -> int:
    """The exact byte length of a proof of the VKA's circuit.

    The reusable verifier reads a proof front to back: per phase, the advice and argument
    commitments (a byte count per phase in the challenge-length words), then the scalar
    evaluations, then the opening proof's two points; it never checks that the proof ends there
    (``proof + 32 bytes`` verifies on the EVM). pot's EVM backend requires this exact length.

    Raises
    ------
    EvmError
        If the VKA is too short for the words read here.
    """
    if len(words) <= VKA_CHALLENGE_LEN_WORD:
        raise EvmError(f"a VKA of {len(words)} words has no challenge-length word")
    value = [int.from_bytes(w, "big") for w in words]
    phases = value[VKA_CHALLENGE_LEN_WORD]
    n_words = phases & 0xFF
    data = phases >> 8
    total = 0
    for i in range(n_words):
        while data:
            total += data & 0xFFFF  # the bytes of this phase's points
            data >>= 24  # and its challenge count (8 bits)
        if i + 1 < n_words:
            if VKA_CHALLENGE_LEN_WORD + i + 1 >= len(words):
                raise EvmError("the VKA ends inside its challenge-length words")
            data = value[VKA_CHALLENGE_LEN_WORD + i + 1]
    return total + WORD_BYTES * value[VKA_NUM_EVALS_WORD] + OPENING_POINTS * G1_POINT_BYTES
