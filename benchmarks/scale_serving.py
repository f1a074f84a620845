"""The serving half of benchmarks/scale.py, run in a fresh subprocess per system so that peak
RSS and start-up time belong to that system alone.

    python benchmarks/scale_serving.py coopbot INDEX_DIR SOURCE QUESTIONS.json [--multilingual off]
    python benchmarks/scale_serving.py naive   BASELINE_DIR QUESTIONS.json

Prints one JSON object: ready_s (model loaded and index open, from process start), per-question
latency percentiles warm (the questions are asked once untimed, then timed: the index's pages
are then in memory, as they are in a bot that has been answering for a while), the first
pass's p95 too (pages read from disk on first use), rss_ready_mb and peak_rss_mb.

* coopbot: `Retriever.search(question, 3)`, the function the bot calls (hybrid search, grouping,
  answer sentence, abstention).
* naive: encode the question, `IndexFlatIP.search`, read the top 3 texts from a Python list.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

START = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

K = 3


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's peak at fork.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _coopbot(index_dir: Path, source: Path, multilingual: str) -> Any:
    from bot.runtime import core_config
    from bot.settings import Settings
    from embeddings.encoders.loading import load_encoders
    from embeddings.service import open_retriever

    settings = Settings(seeds_dir=source, index_dir=index_dir, multilingual=multilingual)
    core = core_config(settings)
    encoders = load_encoders(core.encoders)
    retriever = open_retriever(core.index, encoders, core.retrieval)
    retriever.encoder.encode_queries(["load the model"])  # ready means the model is loaded
    if encoders.multilingual is not None and "multilingual" in retriever.index.spaces:
        encoders.multilingual.encode_queries(["load the model"])
    return lambda q: retriever.search(q, K)


def _naive(folder: Path) -> Any:
    import faiss
    import numpy as np

    from bot.runtime import prepare_offline_runtime

    prepare_offline_runtime()
    from embeddings.encoders.base import SentenceTransformerEncoder

    encoder = SentenceTransformerEncoder()
    vectors = np.load(folder / "vectors.npy")
    texts: list[str] = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    del vectors
    encoder.encode_queries(["load the model"])

    def search(question: str) -> list[str]:
        _, rows = index.search(encoder.encode_queries([question]), K)
        return [texts[r] for r in rows[0] if r >= 0]

    return search


def _timed(search: Any, questions: list[str]) -> list[float]:
    times = []
    for question in questions:
        t0 = time.perf_counter()
        search(question)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main(argv: list[str]) -> int:
    """Run one serving measurement and print its JSON."""
    import numpy as np

    if argv[0] == "coopbot":
        multilingual = (argv[argv.index("--multilingual") + 1] if "--multilingual" in argv
                        else "auto")
        search = _coopbot(Path(argv[1]), Path(argv[2]), multilingual)
        questions = json.loads(Path(argv[3]).read_text(encoding="utf-8"))
    else:
        search = _naive(Path(argv[1]))
        questions = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
    ready = time.perf_counter() - START
    rss_ready = _rss_mb()
    first = _timed(search, questions)
    arr = np.asarray(_timed(search, questions))
    print(json.dumps({
        "ready_s": round(ready, 2), "questions": len(arr),
        "p50_ms": round(float(np.percentile(arr, 50)), 1),
        "p95_ms": round(float(np.percentile(arr, 95)), 1),
        "p99_ms": round(float(np.percentile(arr, 99)), 1),
        "first_pass_p95_ms": round(float(np.percentile(first, 95)), 1),
        "rss_ready_mb": round(rss_ready), "peak_rss_mb": round(_peak_mb()),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
