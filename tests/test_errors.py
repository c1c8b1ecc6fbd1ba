"""pot's one exception tree: every exception class pot defines is a ``PotError``, empty, documented,
and its branch is drawn in ``pot.errors``' docstring."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pot
import pot.errors
from pot.errors import PotError

POT_DIR = Path(pot.__file__).parent
OPTIONAL_IMPORTS = ("pot.flower",)
"""Packages that need an optional dependency (flwr); their source is still parsed below."""
NOT_POT_ERRORS = {"PotClickException", "CaseTimeout"}
"""The exceptions that are not pot errors: click's, raised only at the CLI boundary, and the fuzz
harness's alarm, a ``BaseException`` so that the code under test cannot catch it."""


def defined_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of pot, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(pot.__path__, "pot."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            if info.name.startswith(OPTIONAL_IMPORTS):
                continue
            raise
        for value in vars(module).values():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{value.__name__}"] = value
    return found


def test_every_exception_of_pot_is_a_pot_error() -> None:
    classes = defined_exceptions()
    assert len(classes) > 60
    strays = [name for name, cls in classes.items()
              if not issubclass(cls, PotError) and cls.__name__ not in NOT_POT_ERRORS]
    assert strays == []


def test_every_exception_class_is_empty_and_documented() -> None:
    offenders = []
    for path in POT_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef) or not node.name.endswith("Error"):
                continue
            body = node.body
            first = body[0]
            documented = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                          and isinstance(first.value.value, str))
            if not documented or len(body) != 1:
                offenders.append(f"{path.relative_to(POT_DIR)}:{node.name}")
    assert offenders == []


def test_every_branch_of_the_tree_is_drawn_in_pot_errors() -> None:
    doc = pot.errors.__doc__ or ""
    roots = {cls.__name__ for cls in defined_exceptions().values() if PotError in cls.__bases__}
    assert {"ChainError", "ProtocolError", "EconomicsError", "AggregationError"} <= roots
    assert sorted(r for r in roots if r not in doc) == []


def test_no_module_is_called_exceptions() -> None:
    assert sorted(str(p.relative_to(POT_DIR)) for p in POT_DIR.rglob("exceptions.py")) == []
