"""Plain-text rendering for the terminal: pure functions from core results to strings."""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embeddings.answers import Answer, Result
    from embeddings.evaluation import QuestionOutcome
    from embeddings.service import AddReport, ArticleSummary, BuildReport

BOLD, DIM, RESET = "\033[1m", "\033[2m", "\033[0m"
NO_ANSWER = (
    "No passage in the indexed articles answers this confidently. "
    "Try other words, or see `coopbot status` for what is indexed."
)


def mark(excerpt: str, highlight: str, *, color: bool) -> str:
    """The excerpt with its answering sentence marked: bold on a terminal, **...** otherwise."""
    start, end = (BOLD, RESET) if color else ("**", "**")
    return excerpt.replace(highlight, f"{start}{highlight}{end}", 1) if highlight else excerpt


def citation(result: Result) -> str:
    """Title, date, source, byline and article id on one line."""
    parts = [result.title, result.date.isoformat() if result.date else "undated"]
    if result.source:
        parts.append(result.source)
    if result.byline:
        parts.append(f"by {result.byline}")
    parts.append(f"[{result.article_id}]")
    return " · ".join(parts)


_FACTS = {  # what a metadata question (`Answer.asks`) is told, and what when the article lacks it
    "byline": ("Written by {}.", "The article names no author."),
    "date": ("Published {}.", "The article gives no date."),
    "source": ("Reported by {}.", "The article names no source."),
    "place": ("Filed from {}.", "The article gives no place."),
}


def fact(result: Result, asks: str) -> str:
    """The fact a metadata question asks of the cited article ("Written by Duy Tien."), or
    that the article does not say; "" for any other question."""
    if asks not in _FACTS:
        return ""
    value = {"byline": result.byline, "source": result.source, "place": result.place,
             "date": result.date.isoformat() if result.date else None}[asks]
    stated, lacking = _FACTS[asks]
    return stated.format(value) if value else lacking


def render_result(result: Result, *, color: bool, width: int = 88, asks: str = "passage"
                  ) -> str:
    """One cited excerpt; for a metadata question, the fact asked first."""
    body = "\n".join(
        textwrap.fill(p, width=width, initial_indent="   ", subsequent_indent="   ")
        for p in mark(result.excerpt, result.highlight, color=color).split("\n")
    )
    head = f"{result.rank}. {citation(result)}  (score {result.score:.2f})"
    if stated := fact(result, asks):
        head = f"{result.rank}. {stated}\n   {citation(result)}  (score {result.score:.2f})"
    return f"{BOLD + head + RESET if color else head}\n{body}"


def corrections_note(answer: Answer) -> str:
    """'Searched for X instead of Y.' when typos were corrected, else ''."""
    if not answer.corrections:
        return ""
    pairs = ", ".join(f"“{fixed}” for “{typed}”" for typed, fixed in answer.corrections)
    return f"(Searched for {pairs}.)"


def titles(results: Sequence[Result], header: str, *, color: bool) -> str:
    """Articles as titles only, under a header (results that do not answer)."""
    if not results:
        return ""
    lines = [header, *(f"   - {citation(r)}" for r in results)]
    return DIM + "\n".join(lines) + RESET if color else "\n".join(lines)


def missing_note(answer: Answer, articles: int | None) -> str:
    """'None of the 3 articles mentions “X” or “Y”.' when that is why nothing answers."""
    if not answer.missing or articles is None:
        return ""
    return f"None of the {articles} articles mentions " + " or ".join(
        f"“{m}”" for m in answer.missing[:3]) + "."


def plain(text: str) -> str:
    """A Telegram HTML text as plain text, for the terminal (the bot's wording, one copy)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def filters_note(answer: Answer) -> str:
    """Which articles were searched, when the question had filters (as the bot says it)."""
    from bot.telegram_bot.render import filters_line

    return plain(filters_line(answer.filters, "en")) if answer.filters else ""


def render_answer(answer: Answer, *, color: bool, articles: int | None = None) -> str:
    """The results that answer, then the weaker ones as titles; or 'nothing found', why, and
    the closest articles as titles."""
    parts = [p for p in (filters_note(answer), corrections_note(answer)) if p]
    answers = answer.answers
    if not answers:
        parts += [NO_ANSWER, missing_note(answer, articles),
                  titles(answer.results, "Closest articles (they do not answer this):",
                         color=color)]
    else:
        if answer.asks == "period" and answer.period is not None:
            first, last = (d.isoformat() for d in answer.period)
            parts.append(f"Articles dated {first} to {last}, newest first:")
        # Numbered as shown: the answers first, whatever their rank among all results.
        parts += [render_result(replace(r, rank=i), color=color, asks=answer.asks)
                  for i, r in enumerate(answers, 1)]
        parts.append(titles(answer.related, "Related articles (they may not answer this):",
                            color=color))
    return "\n\n".join(p for p in parts if p)


_MAX_LISTED = 20  # problems listed one per line; a big corpus can have thousands


def render_build(report: BuildReport) -> str:
    """The summary printed after `coopbot index`."""
    if report.unchanged:
        lines = [f"Index is up to date: {report.articles} articles, {report.chunks} passages "
                 f"(checked in {report.seconds:.1f} s)"]
    else:
        verb = "Built" if report.full else "Updated"
        change = "" if report.full else f": added {report.added}, removed {report.removed}"
        lines = [
            f"{verb} the index in {report.seconds:.1f} s{change}. {report.articles} articles, "
            f"{report.chunks} passages; embedded {report.embedded}, reused {report.reused} "
            "from cache" + (f" (encoding {report.encode_seconds:.1f} s)" if report.embedded
                            else ""),
        ]
    lines += [f"Note: {note}" for note in report.notes]
    skipped = [p for p in report.problems if p.skipped]
    warned = [p for p in report.problems if not p.skipped]
    for label, problems in (("Skipped", skipped), ("Repaired", warned)):
        if problems:
            lines.append(f"{label} {len(problems)} file(s):")
            lines += [f"  {p.path.name}: {p.reason}" for p in problems[:_MAX_LISTED]]
            if len(problems) > _MAX_LISTED:
                lines.append(f"  ... and {len(problems) - _MAX_LISTED} more "
                             "(`coopbot status --json` lists every skipped one)")
    lines.append(f"Index: {report.build_path}")
    return "\n".join(lines)


def render_added(report: AddReport) -> str:
    """`coopbot add`: per source, the article added (title, date, source, passages, file) or
    why not; then the index update."""
    lines = []
    for o in report.outcomes:
        if o.problem is None and o.article is not None and o.path is not None:
            a = o.article
            about = ", ".join(x for x in (a.date.isoformat() if a.date else "no date", a.source)
                              if x)
            lines += [f"Added {a.title!r} ({about}): {o.passages} passages, id {a.id}",
                      f"  saved as {o.path}"]
        else:
            lines.append(f"Not added {o.source}: {o.problem}")
    if report.build is not None:
        lines.append(render_build(report.build))
    else:
        lines.append("Nothing added; the index is unchanged.")
    return "\n".join(lines)


def render_article_list(summaries: Sequence[ArticleSummary]) -> str:
    """`coopbot list`: one line per article, newest first."""
    if not summaries:
        return "The index holds no article."
    width = min(max(len(a.id) for a in summaries), 40)
    lines = [f"{'id':<{width}}  {'date':<10}  {'passages':>8}  title · source · countries"]
    for a in summaries:
        when = a.date.isoformat() if a.date else "-"
        source = f" · {a.source}" if a.source else ""
        countries = f" · {', '.join(a.countries)}" if a.countries else ""
        lines.append(f"{a.id:<{width}}  {when:<10}  {a.passages:>8}  "
                     f"{a.title}{source}{countries}")
    lines.append(f"{len(summaries)} article(s)")
    return "\n".join(lines)


def render_status(status: dict[str, Any]) -> str:
    """`coopbot status` for people (the dict is what --json prints)."""
    from embeddings.service import describe_settings

    if not status.get("built"):
        return f"No index in {status['index_dir']}: run `coopbot index`. ({status['reason']})"
    dates = status["date_range"]
    lines = [
        f"Index:     {status['build']} (built {status['built_at']} in {status['build_seconds']} s)",
        f"Model:     {status['model']} ({status['dimension']} dimensions, "
        f"{status['max_tokens']} tokens)",
        f"Also:      {status.get('multilingual_model') or 'no multilingual model'} (Vietnamese)"
        + _filling(status),
        f"Chunker:   {describe_settings(status['chunker'])}",
        f"Articles:  {status['articles']} ({status['chunks']} passages)"
        + (f", {dates[0]} to {dates[1]}" if dates else ""),
        f"Source:    {status['source']}"
        + (f" (last updated {status['updated_at']})" if status.get("updated_at") else ""),
        "Vectors:   " + ", ".join(f"{space} {kind}"
                                  for space, kind in status["vector_index"].items()),
        f"Skipped:   {len(status['skipped'])} file(s)"
        + "".join(f"\n  {name}: {why}" for name, why in status["skipped"].items()),
        "Seeds:     " + ("unchanged since the build" if status["fresh"]
                         else "changed since the build: " + "; ".join(status["changes"])
                         + "\n           run `coopbot index` to refresh"),
    ]
    return "\n".join(lines)


def _filling(status: dict[str, Any]) -> str:
    """", 64% of passages so far" while a fill is pending (`coopbot index` finishes it)."""
    filled, total = status.get("multilingual_passages"), status["chunks"]
    if filled is None or filled >= total:
        return ""
    return (f"\n           Vietnamese search: {filled / total:.0%} of passages so far "
            f"({filled} of {total}); `coopbot index` or a running bot fills in the rest")


def render_eval(summary: dict[str, Any]) -> str:
    """Figures per kind of question as a table."""
    cols = ["n", "hit@1", "hit@3", "hit@5", "mrr", "false_abstention", "abstention"]
    header = f"{'kind':<14}" + "".join(f"{c:>17}" for c in cols)
    rows = [header, "-" * len(header)]
    groups: Sequence[tuple[str, dict[str, Any]]] = [
        *summary["per_kind"].items(), ("all", summary["all"])
    ]
    for kind, row in groups:
        cells = "".join(f"{_fmt(row.get(c)):>17}" for c in cols)
        rows.append(f"{kind:<14}{cells}")
    lat = summary["latency_ms"]
    rows.append(f"\nlatency per question: mean {lat['mean']} ms, p50 {lat['p50']} ms, "
                f"p95 {lat['p95']} ms over {summary['questions']} questions")
    return "\n".join(rows)


def render_outcome(outcome: QuestionOutcome) -> str:
    """One line per question while an evaluation runs (verbose mode)."""
    q = outcome.question
    hit = f"hit@{outcome.hit_rank}" if outcome.hit_rank else "miss"
    if q.kind == "unanswerable":
        hit = "abstained" if not outcome.answered else "ANSWERED"
    return f"{q.id:<6} {q.kind:<13} {hit:<10} {outcome.seconds * 1000:6.0f} ms  {q.q}"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
