"""pot: zero-knowledge proof of training for federated learning.

A trainer commits to its SGD trajectory, a beacon-seeded challenge samples some of its steps, and the
trainer proves each sampled step (forward, loss, backward, update) with an ezkl proof. Validators verify
the proofs, replay the deterministic aggregation and apply the rewards and slashing.

The validator side (``pot.verifier``, ``pot.chain``, ``pot.aggregation``, ``pot.economics``) never imports
torch; only the trainer side (``pot.export``, ``pot.train``) does.
"""

__version__ = "0.1.0"
