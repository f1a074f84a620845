"""The layout in numbers: long modules and functions, import cycles, front-end reach into the core.

    .venv/bin/python benchmarks/layout.py [--json]

Counts are read from the source with `ast` (nothing is imported): modules over 400 lines,
functions over 60 lines, cycles among the project's module imports (type-checking-only imports
included), and which core modules `bot/` imports.
"""

from __future__ import annotations

import argparse
import ast
import json
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("embeddings", "bot")
LONG_MODULE = 400
LONG_FUNCTION = 60


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the two packages."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(tree: ast.Module, name: str, is_package: bool) -> Iterator[str]:
    """Modules a module imports, anywhere in it (type-checking-only imports too: a type a
    module names is a dependency of its design, whether or not it runs)."""
    base = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - node.level + 1]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def import_graph(found: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> project modules it imports."""
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = _imports(tree, name, path.name == "__init__.py")
        graph[name] = {t for t in targets if t in found and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), package inits excluded:
    a package importing its own submodules to re-export them is not a cycle of design."""
    plain = {m: {t for t in ts if t not in PACKAGES} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in plain.get(node, ()):
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


def long_functions(found: dict[str, Path]) -> list[tuple[str, int]]:
    """(module:function, lines) for functions longer than LONG_FUNCTION lines."""
    out = []
    for name, path in found.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LONG_FUNCTION:
                    out.append((f"{name}:{node.name}", length))
    return sorted(out, key=lambda item: -item[1])


def report() -> dict[str, object]:
    """Every figure of the layout table."""
    found = modules()
    graph = import_graph(found)
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines())
             for name, path in found.items()}
    core_from_bot = sorted({t for m, ts in graph.items() if m.startswith("bot")
                            for t in ts if t.startswith("embeddings")})
    return {
        "modules": {p: sum(1 for m in found if m.split(".")[0] == p) for p in PACKAGES},
        "modules_over_400_lines": {m: n for m, n in sorted(sizes.items()) if n > LONG_MODULE},
        "functions_over_60_lines": dict(long_functions(found)),
        "import_cycles": cycles(graph),
        "core_modules_imported_by_bot": core_from_bot,
    }


def main() -> None:
    """Print the table (or the JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = report()
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        count = len(value) if isinstance(value, list | dict) and key != "modules" else value
        print(f"{key}: {count}")
        if isinstance(value, dict) and key != "modules":
            for item, n in value.items():
                print(f"    {item}: {n}")
        elif isinstance(value, list):
            for item in value:
                print(f"    {item}")


if __name__ == "__main__":
    main()
