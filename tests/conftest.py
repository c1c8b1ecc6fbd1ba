"""Shared pytest fixtures. Expensive ezkl artifacts are built once per session."""
