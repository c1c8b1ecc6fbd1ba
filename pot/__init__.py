"""pot: zero-knowledge proof of training for federated learning.

A trainer commits to its SGD trajectory, a beacon-seeded challenge samples some of its steps, and the
trainer proves each sampled step (forward, loss, backward, update) with an ezkl proof. Validators verify
the proofs, replay the deterministic aggregation and apply the rewards and slashing.

The validator side (``pot.verifier``, ``pot.chain``, ``pot.aggregation``, ``pot.economics``) never imports
torch; only the trainer side (``pot.export``, ``pot.train``) does.
"""

import logging

__version__ = "0.1.0"

# ezkl logs a warning ("Using 3 columns for non-linearity table.") on every call that touches
# the circuit; it is expected for pot's lookup range, so only ezkl's errors reach the user.
logging.getLogger("ezkl").setLevel(logging.ERROR)
