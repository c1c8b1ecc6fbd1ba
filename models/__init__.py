"""The model zoo: one JSON spec per model, loaded by :func:`pot.spec.load_spec`.

This folder is installed as the package ``pot.models``. Each ``<name>.json`` fixes a model's
architecture, loss, dataset, batch size, learning rate and fixed-point scale; its id is the keccak256
of its canonical JSON (see ``docs/protocol.md``).
"""
