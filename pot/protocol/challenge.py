"""The challenge: which k of a trainer's T committed steps it must prove.

The challenge is drawn from a seed that binds the job, the round, the trainer, its trajectory
commitment and a public random beacon published after the commitment, so a trainer cannot know
its challenge before it commits::

    seed = keccak256(DOMAIN_CHALLENGE_SEED ‖ job_id ‖ uint64_be(round) ‖ pubkey ‖ root ‖ beacon)
            32 + 32 + 8 + 48 + 32 + 32 = 184 bytes hashed

Indices are drawn one at a time from 256-bit words ``w_c = keccak256(seed ‖ uint64_be(c))`` for
c = 0, 1, 2, ...: a word at or above ``2**256 - (2**256 mod T)`` is rejected (so ``w mod T`` is
exactly uniform), an index already drawn is skipped, and drawing stops at k distinct indices.
The result is in draw order, so the first j indices of a k-challenge are the j-challenge.

Source: docs/protocol.md, section "Challenge".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pot.protocol.domains import DOMAIN_CHALLENGE_SEED, keccak256, tagged_hash
from pot.protocol.encoding import (
    BLS_PUBLIC_KEY_BYTES,
    BYTES32_BYTES,
    UINT64_BYTES,
    UINT64_MAX,
    require_length,
    uint64_bytes,
)
from pot.protocol.errors import ChallengeError

WORD_BITS = 256
"""Width of one draw word, in bits."""
WORD_SPACE = 2**WORD_BITS
"""Number of distinct draw words."""
SEED_PREIMAGE_BYTES = (
    len(DOMAIN_CHALLENGE_SEED)
    + BYTES32_BYTES
    + UINT64_BYTES
    + BLS_PUBLIC_KEY_BYTES
    + BYTES32_BYTES
    + BYTES32_BYTES
)
"""Length of the seed's hashed bytes: tag, job id, round, public key, root, beacon (184)."""
DRAW_PREIMAGE_BYTES = BYTES32_BYTES + UINT64_BYTES
"""Length of a draw word's hashed bytes: seed, counter (40)."""

if SEED_PREIMAGE_BYTES != 184 or DRAW_PREIMAGE_BYTES != 40:
    raise AssertionError("challenge layouts must match docs/protocol.md")


def challenge_seed(
    job_id: bytes, round_number: int, trainer_pubkey: bytes, trajectory_root: bytes, beacon: bytes
) -> bytes:
    """Return the 32-byte challenge seed of one trainer's round.

    Parameters
    ----------
    job_id
        The job, 32 bytes.
    round_number
        The round, ``0 <= round < 2**64``.
    trainer_pubkey
        The trainer's compressed BLS12-381 public key, 48 bytes.
    trajectory_root
        The trainer's trajectory commitment for this round, 32 bytes.
    beacon
        The random beacon output for this round, 32 bytes, published after the commitment.

    Returns
    -------
    bytes
        ``keccak256(DOMAIN_CHALLENGE_SEED ‖ job_id ‖ uint64_be(round) ‖ trainer_pubkey ‖
        trajectory_root ‖ beacon)``.

    Raises
    ------
    EncodingError
        If a byte string has the wrong length or ``round_number`` is not an unsigned 64-bit integer.
    """
    return tagged_hash(
        DOMAIN_CHALLENGE_SEED,
        require_length(job_id, BYTES32_BYTES, "job id"),
        uint64_bytes(round_number, "round"),
        require_length(trainer_pubkey, BLS_PUBLIC_KEY_BYTES, "trainer public key"),
        require_length(trajectory_root, BYTES32_BYTES, "trajectory root"),
        require_length(beacon, BYTES32_BYTES, "beacon"),
    )


def draw_word(seed: bytes, counter: int) -> int:
    """Return draw word ``counter``: ``keccak256(seed ‖ uint64_be(counter))`` as a big-endian int.

    Raises
    ------
    EncodingError
        If ``seed`` is not 32 bytes or ``counter`` is not an unsigned 64-bit integer.
    """
    preimage = require_length(seed, BYTES32_BYTES, "seed") + uint64_bytes(counter, "counter")
    return int.from_bytes(keccak256(preimage), "big")


def rejection_limit(n: int) -> int:
    """Return the first rejected word for a uniform draw from ``[0, n)``: ``2**256 - 2**256 % n``.

    Words below the limit cover every residue mod ``n`` equally often.
    """
    return WORD_SPACE - WORD_SPACE % n


def _check_counts(n_steps: int, k: int) -> None:
    for name, symbol, value in (("step count", "T", n_steps), ("sample count", "k", k)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ChallengeError(f"{name} {symbol} must be an int, got {type(value).__name__}")
        if not 0 <= value <= UINT64_MAX:
            raise ChallengeError(f"{name} must satisfy 0 <= {symbol} < 2**64")
    if n_steps == 0:
        raise ChallengeError("a challenge needs at least one step (T >= 1)")
    if k == 0:
        raise ChallengeError("a challenge samples at least one step (k >= 1)")
    if k > n_steps:
        raise ChallengeError(f"cannot sample k={k} distinct steps out of T={n_steps}")


def indices_from_words(words: Iterable[int], n_steps: int, k: int) -> list[int]:
    """Turn a stream of 256-bit words into ``k`` distinct uniform indices from ``[0, n_steps)``.

    A word ``w >= rejection_limit(n_steps)`` is rejected; otherwise its index is ``w mod n_steps``,
    skipped if already drawn. This is the rule of :func:`sample_indices`, apart from where the words
    come from.

    Parameters
    ----------
    words
        Integers in ``[0, 2**256)``; consumed only as far as needed.
    n_steps
        T, ``1 <= T < 2**64``.
    k
        ``1 <= k <= T``.

    Returns
    -------
    list of int
        ``k`` distinct indices in draw order.

    Raises
    ------
    ChallengeError
        If ``T`` or ``k`` is out of range, or ``words`` ends before ``k`` indices are drawn.
    """
    _check_counts(n_steps, k)
    limit = rejection_limit(n_steps)
    drawn: list[int] = []
    seen: set[int] = set()
    stream = iter(words)
    while len(drawn) < k:
        word = next(stream, None)
        if word is None:
            raise ChallengeError(f"the word stream ended after {len(drawn)} of {k} indices")
        if not 0 <= word < limit:
            continue
        index = word % n_steps
        if index in seen:
            continue
        seen.add(index)
        drawn.append(index)
    return drawn


def draw_words(seed: bytes) -> Iterator[int]:
    """Yield :func:`draw_word` ``(seed, c)`` for c = 0, 1, ..., 2**64 - 1.

    Raises
    ------
    EncodingError
        If ``seed`` is not 32 bytes (on the first word).
    """
    for counter in range(UINT64_MAX + 1):
        yield draw_word(seed, counter)


def sample_indices(seed: bytes, n_steps: int, k: int) -> list[int]:
    """Draw ``k`` distinct step indices from ``[0, n_steps)`` without modulo bias.

    Parameters
    ----------
    seed
        The 32-byte :func:`challenge_seed`.
    n_steps
        T, the number of steps of the round, ``1 <= T < 2**64``.
    k
        The number of steps to challenge, ``1 <= k <= T``.

    Returns
    -------
    list of int
        ``k`` distinct indices in draw order (not sorted).

    Raises
    ------
    ChallengeError
        If ``T == 0``, ``k == 0``, ``k > T``, or either is not an int below 2**64.
    EncodingError
        If ``seed`` is not 32 bytes.

    Notes
    -----
    Skipping repeats needs about ``T * (H_T - H_{T-k})`` words (H the harmonic numbers): little
    more than ``k`` when ``k`` is much smaller than ``T``, about ``T ln T`` when ``k == T``.
    """
    require_length(seed, BYTES32_BYTES, "seed")
    return indices_from_words(draw_words(seed), n_steps, k)


def challenge_indices(
    job_id: bytes,
    round_number: int,
    trainer_pubkey: bytes,
    trajectory_root: bytes,
    beacon: bytes,
    n_steps: int,
    k: int,
) -> list[int]:
    """Return the ``k`` challenged steps of a trainer's round: :func:`challenge_seed` then
    :func:`sample_indices`.

    Raises
    ------
    ChallengeError, EncodingError
        As :func:`challenge_seed` and :func:`sample_indices`.
    """
    seed = challenge_seed(job_id, round_number, trainer_pubkey, trajectory_root, beacon)
    return sample_indices(seed, n_steps, k)


# -- the beacon: the chain's RANDAO mix, fixed after the commit deadline ---------------------------

DOMAIN_RANDAO_MIX = b"pot/v1/randao/mix".ljust(32, b"\x00")
"""Tag of a RANDAO mix step: ``mix' = keccak256(tag ‖ mix ‖ keccak256(reveal))``."""
DOMAIN_BEACON = b"pot/v1/beacon".ljust(32, b"\x00")
"""Tag of a round's beacon: ``keccak256(tag ‖ uint64_be(chain_id) ‖ job_id ‖ uint64_be(round) ‖ mix)``."""
GENESIS_RANDAO_MIX = b"\x00" * BYTES32_BYTES
"""The RANDAO mix of a new chain, before any block's reveal."""
BEACON_DELAY_BLOCKS = 1
"""A round's beacon is fixed by the first block at height >= submit_deadline + this delay."""
SIGNATURE_BYTES = 96
"""Width of a BLS reveal (a compressed G2 signature)."""

if DOMAIN_RANDAO_MIX in {DOMAIN_CHALLENGE_SEED} or len(DOMAIN_BEACON) != 32:
    raise AssertionError("beacon domain tags must be distinct 32-byte tags")


def _check_len(data: bytes, length: int, what: str) -> None:
    if not isinstance(data, bytes) or len(data) != length:
        raise ChallengeError(f"{what} must be {length} bytes")


def mix_reveal(mix: bytes, reveal: bytes) -> bytes:
    """Return the RANDAO mix after one block's reveal.

    Parameters
    ----------
    mix
        The mix before the block (32 bytes).
    reveal
        The block producer's BLS signature of its block height (96 bytes): unique for its key and
        height, so the producer's only choice is to reveal it or to withhold it.

    Raises
    ------
    ChallengeError
        If ``mix`` is not 32 bytes or ``reveal`` is not 96 bytes.
    """
    _check_len(mix, BYTES32_BYTES, "RANDAO mix")
    _check_len(reveal, SIGNATURE_BYTES, "RANDAO reveal")
    return keccak256(DOMAIN_RANDAO_MIX + bytes(mix) + keccak256(bytes(reveal)))


def round_beacon(chain_id: int, job_id: bytes, round_number: int, mix: bytes) -> bytes:
    """Return a round's beacon from the RANDAO mix of the block that fixes it.

    Raises
    ------
    ChallengeError
        If a field has the wrong width or is out of range.
    """
    _check_len(job_id, BYTES32_BYTES, "job id")
    _check_len(mix, BYTES32_BYTES, "RANDAO mix")
    if not 0 <= chain_id <= UINT64_MAX or not 0 <= round_number <= UINT64_MAX:
        raise ChallengeError("chain id and round must be uint64")
    return keccak256(
        DOMAIN_BEACON + uint64_bytes(chain_id) + bytes(job_id) + uint64_bytes(round_number)
        + bytes(mix)
    )
