"""pot's packages import each other in one direction: no import cycle between them.

A unit is a subpackage (``pot.chain``, ``pot.economics``, ...) or a top-level module (``pot.node``).
The chain imports the pure economics rules, never the reverse (the settler that speaks the chain's
hook types lives in ``pot.chain.settler``); the node binds the chain to pot, and the ``pot chain``
command line, a shell over the node, lives outside the chain (``pot.chain_cli``).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pot

POT_DIR = Path(pot.__file__).parent


def unit_of(module: str) -> str:
    """``pot.chain.executor`` -> ``pot.chain``; ``pot.node`` -> ``pot.node``."""
    return ".".join(module.split(".")[:2])


def import_graph() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the ``module -> module`` lines that import it (absolute imports)."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in POT_DIR.rglob("*.py"):
        parts = path.relative_to(POT_DIR.parent).with_suffix("").parts
        module = ".".join(parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            else:
                continue
            for target in targets:
                if target.startswith("pot.") and unit_of(target) != unit_of(module):
                    graph[unit_of(module)][unit_of(target)].add(f"{module} -> {target}")
    return graph


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected groups of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return found


def test_no_import_cycle_between_pot_packages() -> None:
    graph = import_graph()
    assert "pot.economics" in graph["pot.chain"]
    found = cycles(graph)
    detail = {" <-> ".join(group): sorted(line for a in group for b in group
                                          for line in graph.get(a, {}).get(b, ()))
              for group in found}
    assert detail == {}


def test_economics_never_imports_the_chain_and_the_chain_never_the_node() -> None:
    graph = import_graph()
    assert sorted(graph["pot.economics"].get("pot.chain", ())) == []
    assert sorted(graph["pot.chain"].get("pot.node", ())) == []
