"""docs/protocol.md's worked example, recomputed: every value it prints must be what the code gives.

Run ``PYTHONPATH=. python tests/test_protocol_docs.py`` to print the values when the example
changes.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from pot.protocol.challenge import challenge_seed, draw_word, sample_indices
from pot.protocol.commitments import (
    batch_commitment,
    batch_index,
    dataset_root,
    trajectory_leaves,
    trajectory_root,
    weights_commitment,
)
from pot.protocol.domains import ALL_DOMAINS
from pot.protocol.encoding import BN254_SCALAR_ORDER, format_hex
from pot.protocol.keys import SecretKey, public_key, sign, signing_digest, signing_json
from pot.protocol.merkle import DATASET_TREE, TRAJECTORY_TREE, merkle_path
from pot.protocol.security import detection_probability, format_probability, min_samples

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"

# The example's inputs, as docs/protocol.md states them.
N_STEPS = 4
BATCH_HASHES = [[0x100 + j, 0x200 + j] for j in range(3)]  # (inputs, labels) per batch
WEIGHT_HASHES = [[t + 1, BN254_SCALAR_ORDER - 1 - t] for t in range(N_STEPS + 1)]
JOB_ID = b"\x11" * 32
ROUND = 7
BEACON = b"\x44" * 32
N_SAMPLES = 3
N_WORDS_SHOWN = 4
SECRET_SCALAR = 0x263DBD792F5B1BE47ED85F8938C0F29586AF0D3AC7B977F21C278FE1462040E3


def worked_example() -> dict[str, str]:
    """Every value the worked example prints, by name."""
    values: dict[str, str] = {}
    for name, tag in ALL_DOMAINS.items():
        values[name] = format_hex(tag)
    batches = [batch_commitment(h) for h in BATCH_HASHES]
    for j, b in enumerate(batches):
        values[f"batch_commitment[{j}]"] = format_hex(b)
    values["dataset_root"] = format_hex(dataset_root(batches))
    for i, sibling in enumerate(merkle_path(DATASET_TREE, batches, 2)):
        values[f"dataset_path[2][{i}]"] = format_hex(sibling)
    values["weights_preimage[0]"] = format_hex(
        ALL_DOMAINS["DOMAIN_WEIGHTS"] + b"".join(h.to_bytes(32, "big") for h in WEIGHT_HASHES[0])
    )
    weights = [weights_commitment(h) for h in WEIGHT_HASHES]
    for t, w in enumerate(weights):
        values[f"weights_commitment[{t}]"] = format_hex(w)
    schedule = [batch_index(t, len(batches)) for t in range(N_STEPS)]
    values["schedule"] = f"b(t) = t mod 3 for t = 0..3: {', '.join(str(j) for j in schedule)}."
    step_batches = [batches[j] for j in schedule]
    leaves = trajectory_leaves(weights, step_batches)
    for t, leaf in enumerate(leaves):
        values[f"trajectory_leaf[{t}]"] = format_hex(leaf)
    root = trajectory_root(weights, step_batches)
    values["trajectory_root"] = format_hex(root)
    for index in (1, 4):
        for i, sibling in enumerate(merkle_path(TRAJECTORY_TREE, leaves, index)):
            values[f"trajectory_path[{index}][{i}]"] = format_hex(sibling)
    sk = SecretKey(SECRET_SCALAR)
    pk = public_key(sk)
    values["public_key"] = format_hex(pk)
    seed = challenge_seed(JOB_ID, ROUND, pk, root, BEACON)
    values["seed"] = format_hex(seed)
    values["seed_preimage"] = format_hex(
        b"".join([ALL_DOMAINS["DOMAIN_CHALLENGE_SEED"], JOB_ID, ROUND.to_bytes(8, "big"), pk])
        + root
        + BEACON
    )
    for counter in range(N_WORDS_SHOWN):
        values[f"word[{counter}]"] = format_hex(draw_word(seed, counter).to_bytes(32, "big"))
    challenge = sample_indices(seed, N_STEPS, N_SAMPLES)
    values["challenge"] = f"The challenge is steps {', '.join(str(i) for i in challenge)}"
    body = {"job_id": format_hex(JOB_ID), "round": ROUND, "trajectory_root": format_hex(root)}
    values["signing_json"] = signing_json(body).decode("ascii")
    digest = signing_digest(body)
    values["signing_digest"] = format_hex(digest)
    values["signature"] = format_hex(sign(sk, digest))
    p = detection_probability(100, 5, 10)
    values["p_detect"] = f"P(detect) = {p} = {format_probability(p)}"
    least = min_samples(100, 5, Fraction(99, 100))
    values["min_samples"] = f"the least k reaching 0.99 is {least}"
    return values


def test_the_worked_example_in_the_docs_is_what_the_code_computes():
    text = DOC.read_text(encoding="utf-8")
    missing = {name: value for name, value in worked_example().items() if value not in text}
    assert missing == {}


if __name__ == "__main__":
    for key, value in worked_example().items():
        print(f"{key}: {value}")
