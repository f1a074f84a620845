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
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.imports import PACKAGES, cycles, import_graph, modules  # noqa: E402

LONG_MODULE = 400
LONG_FUNCTION = 60


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
    found = modules(ROOT)
    graph = import_graph(ROOT)
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
