"""Follow-up questions with and without their context, on the seeds.

    .venv/bin/python benchmarks/followups.py

benchmarks/data/followups.jsonl holds question pairs written for this benchmark (16 English,
16 Vietnamese): a first question, then a follow-up that leans on it ("When did they
arrive?"), and the seed article that answers the follow-up. Each first question is asked;
its answer's first article gives the context (`Conversation`), as the bot keeps it. The
follow-up is then asked twice, in the same run: alone, and with that context; "as the bot
decides" takes the second only for follow-ups that read as such (`reads_as_follow_up`: no
name of its own, a pronoun or a continuation), as in a private chat. hit@1 counts a
follow-up whose first answer (or, unanswered, whose first result) is the right article; also
reported: how many were answered at all. Writes benchmarks/results/followups.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS  # noqa: E402

PAIRS = REPO / "benchmarks" / "data" / "followups.jsonl"


def main() -> int:
    from bot.runtime import core_config, prepare_offline_runtime
    from bot.settings import Settings
    from embeddings.encoders.loading import load_encoders
    from embeddings.search.followup import Conversation, reads_as_follow_up
    from embeddings.service import ensure_index, open_retriever

    prepare_offline_runtime()
    core = core_config(Settings(index_dir=RESULTS / "followups" / "index"))
    encoders = load_encoders(core.encoders)
    ensure_index(core.index, encoders)
    retriever = open_retriever(core.index, encoders, core.retrieval)
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    figures: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    start = time.perf_counter()
    for pair in pairs:
        first = retriever.search(pair["first"], 3)
        top = (first.answers or first.results)[:1]
        after = Conversation(pair["first"], top[0].title if top else "")
        row = {"follow": pair["follow"], "lang": pair["lang"], "doc": pair["doc"],
               "reads_as_follow_up": reads_as_follow_up(pair["follow"])}
        alone = retriever.search(pair["follow"], 3)
        with_context = retriever.search(pair["follow"], 3, after=after)
        decided = with_context if row["reads_as_follow_up"] else alone
        for name, answer in (("alone", alone), ("with context", with_context),
                             ("as the bot decides", decided)):
            shown = (answer.answers or answer.results)[:1]
            row[name] = {"hit": bool(shown) and shown[0].article_id.startswith(pair["doc"]),
                         "answered": answer.answered,
                         "highlight": shown[0].highlight if shown else ""}
        rows.append(row)
    for lang in ("en", "vi", "all"):
        mine = [r for r in rows if lang in ("all", r["lang"])]
        figures[lang] = {name: {"hit@1": round(sum(r[name]["hit"] for r in mine) / len(mine), 3),
                                "answered": round(sum(r[name]["answered"] for r in mine)
                                                  / len(mine), 3)}
                         for name in ("alone", "with context", "as the bot decides")}
        figures[lang]["pairs"] = {"n": len(mine), "read as follow-ups": sum(
            r["reads_as_follow_up"] for r in mine)}
    print(f"\nFollow-up questions on the seeds ({len(rows)} pairs, "
          f"{time.perf_counter() - start:.1f} s)")
    print(f"{'':<6}{'n':>4}{'hit@1 alone':>14}{'with context':>14}{'bot decides':>13}"
          f"{'answered alone':>16}{'with context':>14}{'read as follow-up':>19}")
    for lang, row in figures.items():
        print(f"{lang:<6}{row['pairs']['n']:>4}{row['alone']['hit@1']:>14.3f}"
              f"{row['with context']['hit@1']:>14.3f}"
              f"{row['as the bot decides']['hit@1']:>13.3f}{row['alone']['answered']:>16.3f}"
              f"{row['with context']['answered']:>14.3f}"
              f"{row['pairs']['read as follow-ups']:>19}")
    out = RESULTS / "followups.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"figures": figures, "pairs": rows}, indent=2,
                              ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
