"""pot on the EVM: step proofs checked by ezkl's reusable halo2 verifier contract.

``artifact``        the pinned verifier contract (source, bytecode, keccak256)
``build_verifier``  regenerates and recompiles it (maintainers; needs node and solcjs)
``vka``             a circuit's verification key artifact, derived from its pinned vk
``backend``         the verifier deployed in an in-process EVM (pyrevm, Cancun); pot verify's
                    ``--backend evm``
``gas``             the gas an executor call spent in the EVM verifier (``submit_proof``)
``export``          ``pot chain verifier-export``: what an EVM chain deploys for a circuit
"""
