"""The proof-of-training protocol's pure parts: canonical encodings, commitments, Merkle trees,
challenges, keys. Integer-only and deterministic; the byte layouts are in docs/protocol.md."""
