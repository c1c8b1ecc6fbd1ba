"""The one verdict type of pot: a verifier's judgement of a step proof or a proof bundle.

:func:`pot.verifier.verify_bundle` and :func:`pot.verifier.verify_step` return it with a
``detail`` sentence; the chain's ``verify`` hook (:data:`pot.chain.hooks.Verifier`, pot's
:class:`pot.node.BundleVerifier`) returns it with ``verified_samples``, the accepted update's
FedAvg weight; Flower's strategy records it per trainer. The executor records ``reason`` and
``verified_samples`` under the state root; ``detail`` is for people and is never recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """A verifier's judgement of one step proof or proof bundle.

    Attributes
    ----------
    ok
        Whether the proof (or bundle) proves what it claims: True only if every check passed.
    reason
        ``"ok"`` when accepted, else the snake_case code of the first failed check, such as
        ``"bad_signature"`` (matching :data:`pot.chain.hooks.REASON_PATTERN`).
    verified_samples
        How many training samples the verified steps cover (samples): the update's FedAvg weight
        on the chain, between :data:`pot.chain.hooks.MIN_VERIFIED_SAMPLES` and
        :data:`pot.chain.hooks.MAX_VERIFIED_SAMPLES` when ``ok``; 0 when rejected, and 0 where
        no chain reads it (``pot verify``).
    detail
        A human-readable sentence on what passed or failed; not consensus.
    """

    ok: bool
    reason: str
    verified_samples: int = 0
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """The verdict as ``pot verify --json`` prints it: ``{"valid", "reason", "detail"}``."""
        return {"valid": self.ok, "reason": self.reason, "detail": self.detail}
