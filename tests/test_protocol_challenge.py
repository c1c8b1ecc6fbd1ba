"""The challenge: seed layout, unbiased draws without repeats, and a second implementation."""

from __future__ import annotations

from collections import Counter

import pytest
from Crypto.Hash import keccak
from hypothesis import given
from hypothesis import strategies as st

from pot.protocol.challenge import (
    challenge_indices,
    challenge_seed,
    draw_word,
    indices_from_words,
    rejection_limit,
    sample_indices,
)
from pot.protocol.errors import ChallengeError, EncodingError

SEED_TAG = b"pot/v1/challenge/seed".ljust(32, b"\x00")
JOB, PK, ROOT, BEACON = b"\x11" * 32, b"\x22" * 48, b"\x33" * 32, b"\x44" * 32


def k256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def reference_sample(seed: bytes, n_steps: int, k: int) -> list[int]:
    """A second, independent reading of docs/protocol.md's challenge rule."""
    usable = (2**256 // n_steps) * n_steps  # words below this are accepted
    out: list[int] = []
    counter = 0
    while len(out) < k:
        word = int(k256(seed + counter.to_bytes(8, "big")).hex(), 16)
        counter += 1
        if word < usable and word % n_steps not in out:
            out.append(word % n_steps)
    return out


def test_seed_layout_by_hand():
    preimage = SEED_TAG + JOB + (7).to_bytes(8, "big") + PK + ROOT + BEACON
    assert len(preimage) == 184
    seed = challenge_seed(JOB, 7, PK, ROOT, BEACON)
    assert seed == k256(preimage)
    assert seed.hex() == "30b19038947e918aee9077fd287f69ceb87bb926996ba14994db076291989d3d"


def test_seed_binds_every_field():
    seeds = {
        challenge_seed(JOB, 7, PK, ROOT, BEACON),
        challenge_seed(b"\x12" * 32, 7, PK, ROOT, BEACON),
        challenge_seed(JOB, 8, PK, ROOT, BEACON),
        challenge_seed(JOB, 7, b"\x23" * 48, ROOT, BEACON),
        challenge_seed(JOB, 7, PK, b"\x34" * 32, BEACON),
        challenge_seed(JOB, 7, PK, ROOT, b"\x45" * 32),
    }
    assert len(seeds) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((JOB[:31], 7, PK, ROOT, BEACON), "job id must be 32 bytes, got 31"),
        ((JOB, 2**64, PK, ROOT, BEACON), "round must satisfy 0 <= x < 2**64"),
        ((JOB, 7, PK[:32], ROOT, BEACON), "trainer public key must be 48 bytes, got 32"),
        ((JOB, 7, PK, ROOT + b"\x00", BEACON), "trajectory root must be 32 bytes, got 33"),
        ((JOB, 7, PK, ROOT, "0x" + "44" * 32), "beacon must be bytes, got str"),
    ],
)
def test_seed_rejects_wrong_lengths(args, message):
    with pytest.raises(EncodingError) as info:
        challenge_seed(*args)
    assert str(info.value) == message


def test_draw_word_by_hand():
    seed = bytes(range(32))
    assert draw_word(seed, 5) == int.from_bytes(k256(seed + bytes(7) + b"\x05"), "big")


def test_rejection_limit_leaves_a_multiple_of_n_words():
    assert rejection_limit(3) == 2**256 - 1  # 2**256 = 1 (mod 3)
    assert rejection_limit(2**10) == 2**256  # a power of two rejects nothing
    for n in (3, 5, 7, 10, 1000, 2**64 - 1):
        assert rejection_limit(n) % n == 0
        assert 2**256 - rejection_limit(n) < n


def test_words_at_or_above_the_limit_are_rejected():
    # (2**256 - 1) mod 3 == 0: modulo alone would give step 0 slightly more often.
    assert indices_from_words([2**256 - 1, 5], 3, 1) == [2]
    assert indices_from_words([2**256 - 2, 5], 3, 1) == [(2**256 - 2) % 3]


def test_repeated_indices_are_skipped_in_draw_order():
    assert indices_from_words([4, 1, 7, 2, 9], 3, 3) == [1, 2, 0]


def test_running_out_of_words_is_an_error():
    with pytest.raises(ChallengeError) as info:
        indices_from_words([0, 3, 6], 3, 2)
    assert str(info.value) == "the word stream ended after 1 of 2 indices"


@pytest.mark.parametrize(
    ("n_steps", "k", "message"),
    [
        (0, 0, "a challenge needs at least one step (T >= 1)"),
        (0, 1, "a challenge needs at least one step (T >= 1)"),
        (5, 0, "a challenge samples at least one step (k >= 1)"),
        (5, 6, "cannot sample k=6 distinct steps out of T=5"),
        (2**64, 1, "step count must satisfy 0 <= T < 2**64"),
        (-1, 1, "step count must satisfy 0 <= T < 2**64"),
        (5, True, "sample count k must be an int, got bool"),
    ],
)
def test_sample_indices_rejects_bad_counts(n_steps, k, message):
    with pytest.raises(ChallengeError) as info:
        sample_indices(bytes(32), n_steps, k)
    assert str(info.value) == message


def test_sample_indices_rejects_a_short_seed():
    with pytest.raises(EncodingError):
        sample_indices(bytes(31), 5, 1)


seeds = st.binary(min_size=32, max_size=32)


@given(seeds, st.integers(1, 200), st.data())
def test_indices_are_distinct_in_range_deterministic_and_match_a_second_implementation(
    seed, n_steps, data
):
    k = data.draw(st.integers(1, min(n_steps, 20)))
    indices = sample_indices(seed, n_steps, k)
    assert len(indices) == k
    assert len(set(indices)) == k
    assert all(0 <= i < n_steps for i in indices)
    assert sample_indices(seed, n_steps, k) == indices
    assert reference_sample(seed, n_steps, k) == indices


@given(seeds, st.integers(2, 50), st.data())
def test_a_smaller_challenge_is_a_prefix_of_a_larger_one(seed, n_steps, data):
    k = data.draw(st.integers(1, n_steps - 1))
    assert sample_indices(seed, n_steps, n_steps)[:k] == sample_indices(seed, n_steps, k)


def test_k_equal_to_t_is_a_permutation():
    assert sorted(sample_indices(bytes(32), 30, 30)) == list(range(30))


def chi_square(counts: Counter[object], outcomes: int, total: int) -> float:
    expected = total / outcomes
    assert len(counts) <= outcomes
    observed = [*counts.values()] + [0] * (outcomes - len(counts))
    return sum((c - expected) ** 2 / expected for c in observed)


def test_single_draws_are_uniform_on_a_tiny_t():
    seeds_ = [k256(i.to_bytes(8, "big")) for i in range(3000)]
    counts = Counter(sample_indices(s, 3, 1)[0] for s in seeds_)
    assert set(counts) == {0, 1, 2}
    assert chi_square(counts, 3, 3000) < 13.8  # df 2, p = 0.001


def test_ordered_pairs_are_uniform_on_a_tiny_t():
    seeds_ = [k256(b"pairs" + i.to_bytes(8, "big")) for i in range(2400)]
    counts = Counter(tuple(sample_indices(s, 4, 2)) for s in seeds_)
    assert len(counts) == 12  # every ordered pair of distinct steps occurs
    assert chi_square(counts, 12, 2400) < 31.3  # df 11, p = 0.001


def test_challenge_indices_is_seed_then_sample():
    seed = challenge_seed(JOB, 7, PK, ROOT, BEACON)
    assert challenge_indices(JOB, 7, PK, ROOT, BEACON, 100, 5) == sample_indices(seed, 100, 5)
    assert challenge_indices(JOB, 7, PK, ROOT, BEACON, 100, 5) == [32, 27, 59, 2, 97]
