"""The layering rules of the project, checked on its import graph.

    bot.cli ──▶ bot.telegram_bot ──▶ bot (settings, runtime)
        │              │
        └──────┬───────┘
               ▼
    embeddings.service, embeddings.evaluation          the facade
               ▼
    embeddings.{articles,corpus,chunking,encoders,index,search}, embeddings.config
               ▼
    embeddings.errors, embeddings.text, embeddings.answers        base

An arrow is "may import". Nothing imports upwards: the core never imports `bot` (nor the
Telegram library), a stage never imports the facade, the base imports only the base, and
`bot` imports only the facade and the result types.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.imports import Import, cycles, import_graph, imports_of, modules

FACADE = ("embeddings.service", "embeddings.evaluation")
RESULT_TYPES = ("embeddings.answers", "embeddings.errors")
BASE = ("embeddings.errors", "embeddings.text", "embeddings.answers")
FRONT_END_ONLY = ("telegram", "argparse", "dotenv", "tqdm")
"""Libraries of the front ends: the core never imports them."""


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _rule_broken(imp: Import, target: str) -> str | None:
    """Why an import between project modules breaks the layering, or None."""
    source = imp.source
    if (source.startswith("bot") and target.startswith("embeddings.")
            and not _within(target, FACADE + RESULT_TYPES)):
        return ("bot/ imports only the facade (embeddings.service, embeddings.evaluation) "
                "and the result types (embeddings.answers, embeddings.errors)")
    if source.startswith("embeddings") and target.startswith("bot"):
        return "the core never imports the front ends"
    if _within(source, ("bot.telegram_bot",)) and _within(target, ("bot.cli",)):
        return "the Telegram front end never imports the CLI"
    if _within(source, BASE) and target.startswith("embeddings.") and not _within(target, BASE):
        return "the base modules (errors, text, answers) import only each other"
    if (source.startswith("embeddings.") and not _within(source, FACADE)
            and _within(target, FACADE)):
        return "only front ends import the facade; the core's stages never do"
    return None


def violations(root: Path) -> list[str]:
    """Every import under `root` that breaks the layering, and every import cycle."""
    found = modules(root)
    out = []
    for name, path in found.items():
        for imp in imports_of(name, path):
            top = imp.target.split(".")[0]
            if name.startswith("embeddings") and top in FRONT_END_ONLY:
                out.append(f"{path}:{imp.line}: {name} imports {imp.target}: the core never "
                           "imports a front end's libraries")
                continue
            is_module = imp.target in found and imp.target != name
            # A front end's import of any name deeper in the core counts, module or not.
            if not is_module and not (name.startswith("bot") and
                                      imp.target.startswith("embeddings.")):
                continue
            reason = _rule_broken(imp, imp.target)
            if reason is not None:
                out.append(f"{path}:{imp.line}: {name} imports {imp.target}: {reason}")
    out += [f"import cycle: {' ↔ '.join(group)}" for group in cycles(import_graph(root))]
    return sorted(set(out))
