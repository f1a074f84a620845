"""coopbot against txtai 9.14's hybrid search, on SQuAD v1.1 dev, in one run (issue 17).

    .venv/bin/python benchmarks/peer_txtai.py                # 500 sampled questions
    .venv/bin/python benchmarks/peer_txtai.py --quick        # 100 questions
    .venv/bin/python benchmarks/peer_txtai.py --questions 0  # all 10,570

Why: ../shared/BENCHMARKS.md names txtai's hybrid search (BM25 + all-MiniLM-L6-v2, normalised
score fusion) as the strongest reference on SQuAD dev, but its latencies there come from
separate runs (35.3 ms under load, 12.3 ms re-measured) and it asks for speed to be compared
side by side. This script puts both systems on the same machine, the same paragraphs, the same
questions and the same MiniLM weights, one after the other in one run.

What runs:

* txtai 9.14.0, in its own virtualenv (``--peer-venv``, default ``.venv-peer``, created and
  filled on first use with ``pip install torch==2.13.0 txtai==9.14.0``; txtai is never
  installed into coopbot's venv). A small script, written to a temporary folder, runs there as
  a subprocess: it indexes SQuAD dev's 2,067 paragraphs (each prefixed with its article title,
  as the reference did) with ``Embeddings(path=<the packaged MiniLM folder coopbot loads>,
  hybrid=True, content=False)``, then times ``search(q, 5)`` one question at a time, after a
  warm-up, and answers on stdout with each question's top-5 paragraph ids, wall ms and CPU ms
  (``time.process_time`` in that process, so torch's threads count).
* coopbot, in this process: the same paragraphs as SQuAD's 48 articles (the seed folder of
  ``benchmarks/quality.py``), built by ``embeddings.service.build`` with coopbot's default
  settings except the query-vector cache, which is off (``Settings(query_cache=0)``), so
  every timed question is encoded. Two settings on the same index: the default
  (``dense_spaces="both"``: MiniLM and e5 question vectors for English too) and primary-only
  (``RetrievalConfig(dense_spaces="primary")``: MiniLM alone for English), issue 17's item 4.
  For each question, the two take turns (the order alternates) and each is timed twice:
  ``Retriever.retrieve(q, 5)``, the ranking (what txtai's ``search`` returns), and
  ``Retriever.search(q, 5)``, the whole answer (excerpts, highlights, abstention). Encoders
  run with coopbot's own thread settings (MiniLM: ONNX Runtime's default intra-op threads,
  e5: one intra-op thread per run, neither spinning); txtai's torch keeps its own default
  (one thread per core) unless ``--peer-threads`` sets it.

Measures, per system: paragraph R@1 and R@5 (the question's own paragraph among the first 1 or
5 distinct paragraphs ranked; a coopbot passage counts for the paragraph holding most of its
sentences, as in quality.py), article R@1 and R@5 (coopbot: ``search``'s results, one per
article; txtai: the distinct articles of its 5 paragraphs), how often one system is right at
R@1 where the other is not, and the mean, p50 and p95 of wall and CPU ms per question.

Work files (seed folder, index with its embedding cache) are kept in
benchmarks/results/peer_txtai/, so a re-run encodes no passage for coopbot; txtai indexes
from nothing each run (its index time is reported). Results: a table on stdout and
benchmarks/results/peer_txtai[-quick].json (``--out``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    REPO,
    RESULTS,
    SQUAD_DEV,
    percentiles,
    require,
    write_squad_articles,
)
from benchmarks.scale_quality import row_paragraphs  # noqa: E402

SQUAD = SQUAD_DEV
WORK = RESULTS / "peer_txtai"
PEER_VENV = REPO / ".venv-peer"
PEER_PACKAGES = ("torch==2.13.0", "txtai==9.14.0")  # torch 2.13.0: the local CPU build
TXTAI_VERSION = "9.14.0"
SEED = 7  # the question sample's seed, as in quality.py and scale_quality.py
K = 5

Unit = tuple[str, int]  # (article id, paragraph number)

PEER_SCRIPT = r'''
"""Runs in the txtai virtualenv: index paragraphs with hybrid=True, time search(q, k)."""
import json
import os
import sys
import time

def main():
    job = json.load(open(sys.argv[1], encoding="utf-8"))
    import torch
    if job["threads"]:
        torch.set_num_threads(job["threads"])
    from importlib.metadata import version

    import faiss
    from txtai import Embeddings

    embeddings = Embeddings(path=job["model"], hybrid=True, content=False)
    wall, cpu = time.perf_counter(), time.process_time()
    embeddings.index([(i, text, None) for i, text in job["docs"]])
    index_s = time.perf_counter() - wall
    index_cpu_s = time.process_time() - cpu
    for question in job["warmup"]:
        embeddings.search(question, job["k"])
    ranked, wall_ms, cpu_ms = [], [], []
    for question in job["questions"]:
        wall, cpu = time.perf_counter(), time.process_time()
        found = embeddings.search(question, job["k"])
        wall_ms.append((time.perf_counter() - wall) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
        ranked.append([int(uid) for uid, _ in found])
    json.dump({
        "versions": {"txtai": version("txtai"), "torch": torch.__version__,
                     "faiss": faiss.__version__, "python": sys.version.split()[0]},
        "torch_threads": torch.get_num_threads(),
        "vectors": type(embeddings.model).__name__,
        "config": embeddings.config,
        "index_s": round(index_s, 1), "index_cpu_s": round(index_cpu_s, 1),
        "ranked": ranked, "wall_ms": wall_ms, "cpu_ms": cpu_ms,
    }, sys.stdout, default=str)

main()
'''


# --- data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """One SQuAD dev paragraph, where it sits in coopbot's corpus, and its text."""

    article: str
    number: int
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    """A question and its own paragraph (article id, paragraph number)."""

    qid: str
    text: str
    gold: Unit


def paragraphs_and_questions(data: dict[str, Any]) -> tuple[list[Paragraph], list[Question]]:
    """Every paragraph in file order (ids as `write_squad_articles` gives them) and question."""
    paragraphs: list[Paragraph] = []
    questions: list[Question] = []
    for i, article in enumerate(data["data"]):
        article_id, title = f"squad-{i:02d}", article["title"].replace("_", " ")
        for number, p in enumerate(article["paragraphs"]):
            text = p["context"].strip().replace("\n", " ")
            paragraphs.append(Paragraph(article_id, number, title, text))
            questions.extend(Question(qa["id"], qa["question"], (article_id, number))
                             for qa in p["qas"])
    return paragraphs, questions


def sample(questions: list[Question], count: int, warmup: int
           ) -> tuple[list[Question], list[str]]:
    """`count` questions sampled with the fixed seed (0: all), and warm-up questions apart."""
    picked = (list(questions) if count <= 0 or count >= len(questions)
              else random.Random(SEED).sample(questions, count))
    chosen = {q.qid for q in picked}
    rest = [q.text for q in questions if q.qid not in chosen]
    spare = random.Random(SEED + 1).sample(rest, min(warmup, len(rest))) if rest else []
    return picked, spare or [q.text for q in picked[:warmup]]


# --- the peer: txtai in its own virtualenv ------------------------------------------------


def peer_python(venv: Path, install: bool) -> Path:
    """The peer venv's interpreter, with txtai 9.14.0; created and filled here if missing."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import sys, importlib.metadata as m, txtai; "
             f"sys.exit(m.version('txtai') != {TXTAI_VERSION!r})"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    if not install:
        raise SystemExit(f"{venv} has no txtai {TXTAI_VERSION}: run `{sys.executable} -m venv "
                         f"{venv} && {python} -m pip install {' '.join(PEER_PACKAGES)}`, or "
                         "drop --no-install")
    print(f"== creating {venv} with {' '.join(PEER_PACKAGES)} (once)", file=sys.stderr,
          flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # Keep the folder out of git's view without touching the repository's .gitignore.
        (venv / ".gitignore").write_text("*\n", encoding="utf-8")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES],
                   check=True)
    subprocess.run(check, check=True)
    return python


def run_peer(python: Path, model: str, paragraphs: Sequence[Paragraph],
             questions: Sequence[Question], warmup: Sequence[str], threads: int | None
             ) -> dict[str, Any]:
    """txtai's index and timed searches, in a subprocess of the peer venv."""
    job = {"model": model, "k": K, "threads": threads, "warmup": list(warmup),
           "docs": [[i, f"{p.title}\n{p.text}"] for i, p in enumerate(paragraphs)],
           "questions": [q.text for q in questions]}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONNOUSERSITE": "1"}
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory(prefix="peer_txtai-") as folder:
        script, job_file = Path(folder) / "peer.py", Path(folder) / "job.json"
        script.write_text(PEER_SCRIPT, encoding="utf-8")
        job_file.write_text(json.dumps(job), encoding="utf-8")
        done = subprocess.run([str(python), str(script), str(job_file)], cwd=folder, env=env,
                              stdout=subprocess.PIPE, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- coopbot ------------------------------------------------------------------------------


@dataclass
class Timings:
    """Wall and CPU ms of one call per question."""

    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, float]]:
        return {"wall_ms": percentiles(self.wall_ms), "cpu_ms": percentiles(self.cpu_ms)}


@dataclass
class CoopbotRun:
    """One coopbot setting: its rankings, search results and timings."""

    paragraphs: list[list[Unit]] = field(default_factory=list)
    articles: list[list[str]] = field(default_factory=list)
    retrieve: Timings = field(default_factory=Timings)
    search: Timings = field(default_factory=Timings)


def build_coopbot(seeds: Path, index_dir: Path) -> tuple[Any, dict[str, Any]]:
    """coopbot's index of the seed folder, default settings, no query cache; (cfg, figures)."""
    from bot.runtime import core_config
    from bot.settings import Settings
    from embeddings.service import BuildObserver, build, fill

    class Progress(BuildObserver):
        def encoding_started(self, total: int, model: str) -> None:
            print(f"  embedding {total} passages with {model}", file=sys.stderr, flush=True)

    cfg = core_config(Settings(seeds_dir=seeds, index_dir=index_dir, query_cache=0))
    wall, cpu = time.perf_counter(), time.process_time()
    report = build(cfg, Progress())
    fill(cfg, Progress())  # the e5 vectors a large build leaves for later: served as filled
    figures = {"articles": report.articles, "passages": report.chunks,
               "embedded": report.embedded, "reused_from_cache": report.reused,
               "seconds": round(time.perf_counter() - wall, 1),
               "cpu_seconds_this_process": round(time.process_time() - cpu, 1)}
    print(f"  coopbot index: {figures}", file=sys.stderr, flush=True)
    return cfg, figures


def coopbot_retrievers(cfg: Any) -> tuple[dict[str, Any], Any]:
    """The two settings on one opened index, with fresh encoders (query cache off)."""
    from embeddings.encoders.loading import load_encoders
    from embeddings.search.retrieval import RetrievalConfig, Retriever
    from embeddings.service import open_retriever

    encoders = load_encoders(cfg.encoders)
    default = open_retriever(cfg.index, encoders, cfg.retrieval)
    primary = Retriever(default.index, encoders, RetrievalConfig(
        min_score=cfg.retrieval.min_score, mode=cfg.retrieval.mode, dense_spaces="primary"))
    return {"coopbot default (MiniLM + e5 + keyword)": default,
            "coopbot primary-only (MiniLM + keyword)": primary}, encoders


def run_coopbot(retrievers: dict[str, Any], questions: Sequence[Question],
                warmup: Sequence[str], rows: dict[int, Unit]) -> dict[str, CoopbotRun]:
    """Each question through every setting, in turns whose order alternates."""
    from embeddings.text import clean_question

    names = list(retrievers)
    for text in warmup:
        for retriever in retrievers.values():
            retriever.retrieve(clean_question(text), K)
            retriever.search(text, K)
    runs = {name: CoopbotRun() for name in names}
    for i, q in enumerate(questions):
        query = clean_question(q.text)
        for name in names[i % len(names):] + names[: i % len(names)]:
            retriever, run = retrievers[name], runs[name]
            wall, cpu = time.perf_counter(), time.process_time()
            found = retriever.retrieve(query, K)
            run.retrieve.wall_ms.append((time.perf_counter() - wall) * 1000)
            run.retrieve.cpu_ms.append((time.process_time() - cpu) * 1000)
            wall, cpu = time.perf_counter(), time.process_time()
            answer = retriever.search(q.text, K)
            run.search.wall_ms.append((time.perf_counter() - wall) * 1000)
            run.search.cpu_ms.append((time.process_time() - cpu) * 1000)
            ranked = [rows.get(c.row, (c.article_id, -1)) for _, c in found.ranked]
            run.paragraphs.append(list(dict.fromkeys(ranked))[:K])
            run.articles.append([r.article_id for r in answer.results][:K])
        if (i + 1) % 100 == 0:
            print(f"  coopbot: {i + 1}/{len(questions)} questions", file=sys.stderr, flush=True)
    return runs


# --- figures ------------------------------------------------------------------------------


def hits(ranked: Sequence[Sequence[Any]], gold: Sequence[Any], k: int) -> list[bool]:
    """Per question: is its gold among the first k ranked?"""
    return [g in list(r)[:k] for r, g in zip(ranked, gold, strict=True)]


def recall(paragraphs: Sequence[Sequence[Unit]], articles: Sequence[Sequence[str]],
           questions: Sequence[Question]) -> dict[str, float]:
    """Paragraph and article R@1, R@5."""
    gold = [q.gold for q in questions]
    n = max(1, len(questions))
    out = {}
    for k in (1, K):
        out[f"paragraph R@{k}"] = round(sum(hits(paragraphs, gold, k)) / n, 3)
    for k in (1, K):
        out[f"article R@{k}"] = round(sum(hits(articles, [g[0] for g in gold], k)) / n, 3)
    return out


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: how likely a split this uneven is if neither is better."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return round(min(1.0, 2 * tail), 4)


def head_to_head(mine: Sequence[Sequence[Unit]], theirs: Sequence[Sequence[Unit]],
                 questions: Sequence[Question]) -> dict[str, float]:
    """Questions whose paragraph is at rank 1 for one system only, and the sign test's p."""
    gold = [q.gold for q in questions]
    a, b = hits(mine, gold, 1), hits(theirs, gold, 1)
    wins = sum(x and not y for x, y in zip(a, b, strict=True))
    losses = sum(y and not x for x, y in zip(a, b, strict=True))
    return {"coopbot only": wins, "txtai only": losses,
            "both": sum(x and y for x, y in zip(a, b, strict=True)),
            "neither": sum(not x and not y for x, y in zip(a, b, strict=True)),
            "sign test p": sign_test(wins, losses)}


def machine() -> dict[str, Any]:
    """CPUs, model, memory and software of this machine."""
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text(encoding="utf-8") if cpuinfo.exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("model name")), platform.processor())
    import onnxruntime

    return {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(),
            "cpu_model": model, "platform": platform.platform(),
            "python": platform.python_version(), "onnxruntime": onnxruntime.__version__}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def print_report(out: dict[str, Any]) -> None:
    """The recall table, the latency table, the head-to-head counts."""
    m = out["machine"]
    print(f"\nMachine: {m['nproc']} CPUs, {m['cpu_model']}; load average at start "
          f"{out['load_average']['start']}, at end {out['load_average']['end']}")
    print(f"SQuAD v1.1 dev: {out['corpus']['paragraphs']} paragraphs "
          f"(coopbot: {out['corpus']['coopbot_passages']} passages in "
          f"{out['corpus']['coopbot_articles']} articles); {out['questions']} questions "
          f"(seed {SEED}), k={K}; query cache off")
    cols = ("paragraph R@1", f"paragraph R@{K}", "article R@1", f"article R@{K}")
    print(f"\n{'system':<44}" + "".join(f"{c.replace('paragraph', 'para.'):>13}" for c in cols))
    for name, row in out["systems"].items():
        print(f"{name:<44}" + "".join(f"{row[c]:>13.3f}" for c in cols))
    print(f"\n{'call, ms per question':<58}{'wall mean':>10}{'p50':>7}{'p95':>7}"
          f"{'CPU mean':>10}{'p50':>7}{'p95':>7}")
    for name, row in out["systems"].items():
        for call, t in row["timings"].items():
            w, c = t["wall_ms"], t["cpu_ms"]
            print(f"{name + ', ' + call:<58}{w['mean']:>10.1f}{w['p50']:>7.1f}{w['p95']:>7.1f}"
                  f"{c['mean']:>10.1f}{c['p50']:>7.1f}{c['p95']:>7.1f}")
    print("\nparagraph at rank 1, coopbot vs txtai hybrid:")
    for name, counts in out["head_to_head"].items():
        print(f"  {name}: {counts}")
    peer = out["txtai"]
    print(f"\ntxtai {peer['versions']['txtai']} (torch {peer['versions']['torch']}, "
          f"{peer['torch_threads']} threads, {peer['vectors']}): index of "
          f"{out['corpus']['paragraphs']} paragraphs {peer['index_s']} s wall, "
          f"{peer['index_cpu_s']} CPU s. coopbot build: {out['coopbot_build']}")


# --- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Build both indexes, ask both systems the same questions, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 questions, 5 warm-up")
    parser.add_argument("--questions", type=int,
                        help=f"questions sampled with seed {SEED} (default 500; 0: all)")
    parser.add_argument("--warmup", type=int, help="untimed warm-up questions (default 10)")
    parser.add_argument("--peer-venv", type=Path, default=PEER_VENV,
                        help="txtai's virtualenv (created if missing)")
    parser.add_argument("--no-install", action="store_true",
                        help="fail instead of creating or filling the peer virtualenv")
    parser.add_argument("--peer-threads", type=int, default=None,
                        help="torch threads in the txtai process (default: torch's own)")
    parser.add_argument("--work", type=Path, default=WORK, help="coopbot's seeds and index")
    parser.add_argument("--out", type=Path, help="default: results/peer_txtai[-quick].json")
    args = parser.parse_args(argv)
    if not require(SQUAD):
        return 0
    count = args.questions if args.questions is not None else (100 if args.quick else 500)
    warmup_count = args.warmup if args.warmup is not None else (5 if args.quick else 10)
    started, load_start = time.perf_counter(), _load()

    from bot.runtime import prepare_offline_runtime

    prepare_offline_runtime()
    from embeddings.encoders.base import DEFAULT_MODEL, resolve_model

    python = peer_python(args.peer_venv, install=not args.no_install)
    data = json.loads(SQUAD.read_text(encoding="utf-8"))
    paragraphs, every_question = paragraphs_and_questions(data)
    questions, warmup = sample(every_question, count, warmup_count)
    print(f"== {len(paragraphs)} paragraphs, {len(questions)} questions", file=sys.stderr,
          flush=True)

    print("== coopbot index", file=sys.stderr, flush=True)
    write_squad_articles(data, args.work / "seeds")
    cfg, build_figures = build_coopbot(args.work / "seeds", args.work / "index")

    print(f"== txtai {TXTAI_VERSION} hybrid, in {args.peer_venv}", file=sys.stderr, flush=True)
    model_folder = resolve_model(DEFAULT_MODEL)[1]  # the very folder coopbot loads
    load_before_peer = _load()
    peer = run_peer(python, model_folder, paragraphs, questions, warmup, args.peer_threads)
    print(f"  txtai: index {peer['index_s']} s, {len(peer['ranked'])} questions timed",
          file=sys.stderr, flush=True)

    print("== coopbot searches", file=sys.stderr, flush=True)
    retrievers, encoders = coopbot_retrievers(cfg)
    index = next(iter(retrievers.values())).index
    if "multilingual" not in index.spaces:
        print("  warning: the index has no e5 vectors, so the default is primary-only too",
              file=sys.stderr)
    rows = row_paragraphs(index)
    owned = set(rows.values())
    unowned = sum(q.gold not in owned for q in questions)
    load_before_coopbot = _load()
    runs = run_coopbot(retrievers, questions, warmup, rows)

    txtai_paragraphs = [[(paragraphs[i].article, paragraphs[i].number) for i in ranked]
                        for ranked in peer["ranked"]]
    txtai_articles = [list(dict.fromkeys(a for a, _ in units)) for units in txtai_paragraphs]
    systems: dict[str, Any] = {
        "txtai 9.14 hybrid (BM25 + MiniLM)": {
            **recall(txtai_paragraphs, txtai_articles, questions),
            "timings": {"search(q, 5)": Timings(peer["wall_ms"], peer["cpu_ms"]).summary()}},
    }
    for name, run in runs.items():
        systems[name] = {**recall(run.paragraphs, run.articles, questions),
                         "timings": {"retrieve(q, 5)": run.retrieve.summary(),
                                     "search(q, 5)": run.search.summary()}}
    quick = args.quick and args.questions is None
    out: dict[str, Any] = {
        "command": " ".join(["benchmarks/peer_txtai.py", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "questions": len(questions), "seed": SEED, "warmup_questions": len(warmup), "k": K,
        "query_cache": 0,
        "corpus": {"paragraphs": len(paragraphs), "coopbot_passages": len(rows),
                   "coopbot_articles": len({a for a, _ in rows.values()}),
                   "questions_whose_paragraph_owns_no_coopbot_passage": unowned},
        "coopbot_build": build_figures,
        "coopbot_encoders": {"primary": encoders.primary.name,
                             "multilingual": encoders.multilingual_name,
                             "spaces": sorted(index.spaces)},
        "txtai": {k: v for k, v in peer.items() if k not in ("ranked", "wall_ms", "cpu_ms")},
        "systems": systems,
        "head_to_head": {name: head_to_head(run.paragraphs, txtai_paragraphs, questions)
                         for name, run in runs.items()},
        "per_question": {
            "qids": [q.qid for q in questions],
            "txtai": {"ranked": peer["ranked"], "wall_ms": peer["wall_ms"],
                      "cpu_ms": peer["cpu_ms"]},
            **{name: {"retrieve_wall_ms": run.retrieve.wall_ms,
                      "search_wall_ms": run.search.wall_ms} for name, run in runs.items()},
        },
        "load_average": {"start": load_start, "before_txtai": load_before_peer,
                         "before_coopbot_searches": load_before_coopbot, "end": _load()},
        "wall_s": round(time.perf_counter() - started),
    }
    print_report(out)
    target = args.out or RESULTS / ("peer_txtai-quick.json" if quick else "peer_txtai.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"\nJSON: {target} ({out['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
