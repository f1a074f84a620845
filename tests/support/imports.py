"""The project's import graph, read from the source with `ast` (nothing is imported).

Used by the layering test and by `benchmarks/layout.py`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("embeddings", "bot")


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it is written."""

    source: str
    """The importing module, dotted."""
    target: str
    """The imported module (or module.name for `from module import name`)."""
    line: int


def modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages under `root`."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path) -> Iterator[Import]:
    """Every import a module makes, wherever it is (type-checking-only imports too: a type a
    module names is a dependency of its design, whether or not it runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield Import(name, module, node.lineno)
            for alias in node.names:
                yield Import(name, f"{module}.{alias.name}", node.lineno)


def project_imports(root: Path) -> list[Import]:
    """Imports between the project's own modules (a `from m import name` counts as importing
    m, or m.name when that is a module)."""
    found = modules(root)
    out = []
    for name, path in found.items():
        for imp in imports_of(name, path):
            if imp.target in found and imp.target != name:
                out.append(imp)
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    graph: dict[str, set[str]] = {name: set() for name in modules(root)}
    for imp in project_imports(root):
        graph[imp.source].add(imp.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a loop (Tarjan's strongly
    connected components). A package's __init__ is left out: it imports its own submodules to
    re-export them, which is no cycle of design."""
    plain = {m: {t for t in ts if t not in PACKAGES and t in graph} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(plain.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(plain):
        if node not in index:
            visit(node)
    return groups
