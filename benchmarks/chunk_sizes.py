"""Which passage size answers best? Answer-in-excerpt hit rates on a SQuAD slice, per size.

Each SQuAD Wikipedia title becomes one article (its paragraphs in order), indexed through the
real pipeline with the default model. A question counts as a hit at k when one of its answer
strings appears in one of the first k excerpts, from the right article.

    .venv/bin/python benchmarks/chunk_sizes.py --titles 6 --questions 400 --sizes 64 96 128 192
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad" / "squad-v1.1-dev.json"


def _write_articles(data: list[dict], folder: Path) -> list[tuple[str, str, list[str]]]:
    questions = []
    for i, article in enumerate(data):
        slug = f"squad-{i:02d}"
        body = "\n\n".join(p["context"] for p in article["paragraphs"])
        title = article["title"].replace("_", " ")
        (folder / f"{slug}.md").write_text(f"---\ntitle: {json.dumps(title)}\n---\n{body}\n")
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                questions.append((slug, qa["question"], [a["text"] for a in qa["answers"]]))
    return questions


def main() -> int:
    """Run the comparison and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--titles", type=int, default=6, help="SQuAD articles to use")
    parser.add_argument("--questions", type=int, default=400, help="questions to ask")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128, 192])
    args = parser.parse_args()
    if not SQUAD.is_file():
        print(f"skipped: {SQUAD} not found", file=sys.stderr)
        return 0
    from bot.runtime import prepare_offline_runtime

    prepare_offline_runtime()
    from embeddings.chunking.chunker import ChunkConfig
    from embeddings.config import IndexConfig
    from embeddings.encoders.base import SentenceTransformerEncoder
    from embeddings.index.builder import build_index
    from embeddings.service import open_retriever

    data = json.loads(SQUAD.read_text())["data"][: args.titles]
    encoder = SentenceTransformerEncoder()
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        questions = _write_articles(data, seeds)[: args.questions]
        for size in args.sizes:
            cfg = IndexConfig(seeds, Path(tmp) / f"ix{size}", ChunkConfig(target_tokens=size))
            report = build_index(cfg, encoder)
            retriever = open_retriever(cfg, encoder)
            hits = {1: 0, 3: 0, 5: 0}
            t0 = time.perf_counter()
            for slug, question, answers in questions:
                results = retriever.search(question, 5).results
                ranks = [r.rank for r in results
                         if r.article_id == slug and any(a in r.excerpt for a in answers)]
                for k in hits:
                    hits[k] += bool(ranks) and min(ranks) <= k
            ms = (time.perf_counter() - t0) / len(questions) * 1000
            rates = " ".join(f"hit@{k} {v / len(questions):.3f}" for k, v in hits.items())
            print(f"target {size:>3} tokens: {report.chunks:>5} passages, {rates}, "
                  f"{ms:.0f} ms/question ({len(questions)} questions)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
