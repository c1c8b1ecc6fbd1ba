"""The proof-of-training protocol's pure parts: commitments, Merkle trees, challenges, keys.

* :mod:`~pot.protocol.encoding`: canonical hex, bytes32, field elements and uint64 layouts;
* :mod:`~pot.protocol.domains`: the table of keccak256 domain tags;
* :mod:`~pot.protocol.commitments`: tensor, dataset and trajectory commitments, batch schedule;
* :mod:`~pot.protocol.merkle`: domain-separated Merkle trees and inclusion paths;
* :mod:`~pot.protocol.challenge`: the beacon-seeded choice of steps to prove;
* :mod:`~pot.protocol.keys`: BLS12-381 keys, key files and the signing message rule;
* :mod:`~pot.protocol.security`: exact detection probability of fabricated steps;
* :mod:`~pot.protocol.errors`: the errors, all :class:`pot.errors.PotError`;
* :mod:`~pot.protocol.cli`: the ``keys`` group and the ``security`` command.

Everything here is integer-only and deterministic. The byte layouts are specified in
docs/protocol.md.
"""
