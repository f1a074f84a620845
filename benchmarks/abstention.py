"""When to answer: a confidence model learned from answerable questions and near misses.

Part of `make bench-quality` (after quality.py, whose indexes it reuses). Answerable: SQuAD dev
(a fixed sample) against SQuAD's articles; XQuAD's English and Vietnamese questions, and the
Vietnamese ones without diacritics, against XQuAD's 240 English paragraphs; dev.jsonl against
the seeds. Near misses, which must not be answered: (a) the same SQuAD/XQuAD questions asked
while their own article is out of the index (removed in place and its vectors compacted away,
no re-embedding, and re-added from the embedding cache afterwards); (b) answerable questions
with one name swapped for one the corpus never mentions (`entity_swaps.py`), dev.jsonl's too;
(c) NQ-open against the seeds, and XQuAD's Vietnamese questions against the seeds.

Every question's features (`embeddings.search.signals`, read through `Retriever.assess`) are
stored in benchmarks/results/abstention/; a logistic regression per language is fitted on the
questions of a training half of the articles (no article on both sides), its threshold chosen
there for at most 3% of answerable questions refused, and both it and today's threshold rule
are scored on the held-out half. Prints the table, writes benchmarks/results/abstention.json,
and with --write-model the fitted coefficients to embeddings/search/confidence.json.

    .venv/bin/python benchmarks/abstention.py                 # collect (cached), fit, report
    .venv/bin/python benchmarks/abstention.py --reuse         # refit on the stored features
    .venv/bin/python benchmarks/abstention.py --write-model   # and commit the coefficients
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    DATA,
    REPO,
    RESULTS,
    SHARED,
    SQUAD_DEV,
    question_contexts,
    require,
    squad_questions,
)

OUT = RESULTS / "abstention"
MODEL_FILE = REPO / "embeddings" / "search" / "confidence.json"
TEST_SHARE = 0.4  # of the articles (and of NQ-open's questions) held out for scoring
TARGETS = {"false_abstention": 0.03, "leave_out": 0.10, "swap": 0.10, "nq_open": 0.01}
# The features each language's model reads. A Vietnamese question's dense space is e5 itself.
_VI = ["dense", "dense_margin", "dense_gap", "fused", "fused_margin", "keyword",
       "keyword_margin", "highlight", "terms_excerpt", "terms_article", "terms_corpus",
       "names_excerpt", "names_article", "names_corpus", "has_names", "date_asked", "date_match",
       "n_terms"]
FEATURES = {  # by model key (`embeddings.search.confidence.model_key`)
    "en": ["dense", "dense_margin", "dense_gap", "e5", "e5_margin", "e5_gap", "fused",
           "fused_margin", "keyword", "keyword_margin", "highlight", "terms_excerpt",
           "terms_article", "terms_corpus", "names_excerpt", "names_article", "names_corpus",
           "has_names", "date_asked", "date_match", "corrected", "n_terms"],
    "vi": _VI, "vi-plain": _VI,
}
RATIOS = [round(0.5 + 0.025 * i, 3) for i in range(21)]


@dataclass(frozen=True)
class Question:
    """A question to ask, where it comes from and what answers it."""

    text: str
    group: str
    kind: str
    """``answerable``, ``leave_out``, ``swap``, ``nq_open`` or ``off_topic`` (and
    ``unanswerable``)."""
    split: str
    """The article it is about (or its own id): train and test never share one."""
    gold: tuple[str, ...] = ()
    """Ids of the indexed articles that answer it (none for near misses)."""
    asked_in: str = "en"
    """The language it is asked in: ``en``, ``vi``, or ``vi-plain`` (without accents)."""


# --- collecting --------------------------------------------------------------------------


def strip_diacritics(text: str) -> str:
    """Vietnamese as typed without accents: NFD, combining marks dropped, đ -> d."""
    text = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(c for c in text
                                                if not unicodedata.combining(c)))


def assess_all(retriever: Any, questions: Sequence[Question]) -> list[dict[str, Any]]:
    """Ask each question (k=3); one record with its results' features and labels."""
    for encoder in retriever.encoders.spaces().values():
        if hasattr(encoder, "prefill_queries"):
            encoder.prefill_queries([q.text for q in questions])
    records = []
    for q in questions:
        assessment = retriever.assess(q.text, 3)
        record: dict[str, Any] = {**asdict(q), "language": "en", "rule": False,
                                  "rule_dense": None, "results": []}
        if assessment is not None:
            answer = assessment.answer
            record.update(language=answer.language, rule=assessment.rule_answers,
                          rule_dense=assessment.evidence.dense)
            record["results"] = [
                {"article": r.article_id, "gold": r.article_id in q.gold,
                 "features": {k: (None if math.isnan(v) else round(v, 6))
                              for k, v in f.items()}}
                for r, f in zip(answer.results, assessment.features, strict=True)]
        records.append(record)
    return records


class Corpora:
    """The benchmark's indexes (those of quality.py) and its encoders."""

    def __init__(self) -> None:
        from benchmarks.quality import _encoders, _setup

        _setup()
        self.encoders = _encoders(memo=True)

    def seeds(self) -> Any:
        from benchmarks.quality import _index

        return _index("seeds", REPO / "seeds", self.encoders)

    def squad_like(self, name: str, data: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        """(index config, question id -> gold article id) of a SQuAD-format corpus."""
        from benchmarks.quality import _squad_like_index

        cfg, index, gold_of = _squad_like_index(name, data, self.encoders)
        index.close()
        contexts = question_contexts(data)
        return cfg, {qid: gold_of[ctx][0] for qid, ctx in contexts.items()}

    def retriever(self, cfg: Any) -> Any:
        from embeddings.service import open_retriever

        return open_retriever(cfg, self.encoders)


@contextmanager
def held_out_copy(cfg: Any, encoders: Any, name: str) -> Iterator[Callable[[str], Any]]:
    """A copy of a corpus and its index; yields `without(article_id)`, a context manager
    giving a retriever over the index with that article removed in place (and re-added, from
    the embedding cache, when it exits).

    The copy compacts its vectors at every removal (`compact_at=0`, no re-encoding): left
    dead in the vector index, the article's passages would still top the dense lists and
    weigh in score fusion and the lists' statistics, which a corpus that never held the
    article does not have."""
    from embeddings.config import IndexConfig
    from embeddings.index.builder import build_index
    from embeddings.service import open_retriever, remove_articles

    root = OUT / f"{name}-held-out"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(cfg.seeds_dir, root / "seeds")
    shutil.copytree(cfg.index_dir, root / "index")
    copy = IndexConfig(seeds_dir=root / "seeds", index_dir=root / "index",
                       multilingual_limit=None, multilingual_inline=None,
                       vectors=replace(cfg.vectors, compact_at=0.0))
    build_index(copy, encoders)  # the copy is current (nothing to do, but checked)

    @contextmanager
    def without(article_id: str) -> Iterator[Any]:
        changed, _ = remove_articles(copy, encoders, [article_id])
        retriever = open_retriever(copy, encoders)
        try:
            yield retriever
        finally:
            retriever.index.close()
            for path in changed:
                (root / "seeds" / ".removed" / path.name).replace(path)
            build_index(copy, encoders)

    yield without  # type: ignore[misc]
    shutil.rmtree(root, ignore_errors=True)


def collect_group(name: str, make: Callable[[], list[dict[str, Any]]], reuse: bool) -> list:
    """A group's records, from its file when `reuse` and present, else made and stored."""
    path = OUT / f"{name}.jsonl"
    if reuse and path.exists():
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    t0 = time.perf_counter()
    records = make()
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    print(f"  {name}: {len(records)} questions in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr, flush=True)
    return records


def squad_family(args: argparse.Namespace, corpora: Corpora) -> list[dict[str, Any]]:
    """SQuAD and XQuAD: answerable, with their article held out, and entity-swapped."""
    records: list[dict[str, Any]] = []
    squad_path = SQUAD_DEV
    if "squad" in args.parts and require(squad_path):
        data = json.loads(squad_path.read_text(encoding="utf-8"))
        sampled = random.Random(7).sample(squad_questions(data), args.squad_sample)
        records += _family(args, corpora, "squad", data, {"en": sampled})
    en_path, vi_path = DATA / "xquad" / "xquad.en.json", DATA / "xquad" / "xquad.vi.json"
    if "xquad" in args.parts and require(en_path) and require(vi_path):
        en = json.loads(en_path.read_text(encoding="utf-8"))
        vi = json.loads(vi_path.read_text(encoding="utf-8"))
        vi_questions = squad_questions(vi)
        plain = [(qid, strip_diacritics(q), a) for qid, q, a in vi_questions]
        records += _family(args, corpora, "xquad", en, {
            "en": squad_questions(en), "vi": vi_questions, "vi-plain": plain})
        if "seeds" in args.parts:
            records += off_topic(args, corpora, en, {"vi": vi_questions, "vi-plain": plain})
    return records


def off_topic(
    args: argparse.Namespace, corpora: Corpora, data: dict[str, Any],
    asked: dict[str, list[tuple[str, str, list[str]]]],
) -> list[dict[str, Any]]:
    """XQuAD's Vietnamese questions (about Wikipedia articles) against the seeds (police news),
    which answer none of them: Vietnamese's counterpart of NQ-open, split by their article."""
    title_of = {qa["id"]: article["title"] for article in data["data"]
                for paragraph in article["paragraphs"] for qa in paragraph["qas"]}
    retriever = corpora.retriever(corpora.seeds())
    records: list[dict[str, Any]] = []
    for variant, questions in asked.items():
        group = f"xquad-{variant}-vs-seeds"
        chosen = [Question(q, group, "off_topic", title_of[qid], asked_in=variant)
                  for qid, q, _ in questions]
        records += collect_group(group, lambda qs=chosen: assess_all(retriever, qs), args.reuse)
    retriever.index.close()
    return records


def _family(
    args: argparse.Namespace, corpora: Corpora, name: str, data: dict[str, Any],
    asked: dict[str, list[tuple[str, str, list[str]]]],
) -> list[dict[str, Any]]:
    from benchmarks.entity_swaps import Swapper

    cfg, gold_of = corpora.squad_like(name, data)
    title_of = _titles(data, gold_of)
    by_variant = {
        variant: [Question(q, f"{name}-{variant}", "answerable", title_of[gold_of[qid]],
                           (gold_of[qid],), asked_in=variant) for qid, q, _ in questions]
        for variant, questions in asked.items()}
    retriever = corpora.retriever(cfg)
    records = []
    for variant, questions in by_variant.items():
        records += collect_group(f"{name}-{variant}",
                                 lambda qs=questions: assess_all(retriever, qs), args.reuse)
    swapper = Swapper(retriever.index)
    for variant, questions in by_variant.items():
        if variant == "vi-plain":
            continue
        rng = random.Random(11)
        chosen = rng.sample(questions, min(args.swap_sample, len(questions)))
        swapped = [Question(s.question, f"{name}-{variant}-swap", "swap", q.split,
                            asked_in=variant)
                   for q in chosen
                   for s in swapper.swaps(q.text, "vi" if variant == "vi" else "en")]
        records += collect_group(f"{name}-{variant}-swap",
                                 lambda qs=swapped: assess_all(retriever, qs), args.reuse)
    retriever.index.close()
    groups = [f"{name}-{variant}-leave-out" for variant in by_variant]
    if args.reuse and all((OUT / f"{g}.jsonl").exists() for g in groups):
        for g in groups:
            records += collect_group(g, list, True)
        return records
    by_article: dict[str, list[Question]] = defaultdict(list)
    for variant, questions in by_variant.items():
        for q in questions:
            by_article[q.gold[0]].append(
                Question(q.text, f"{name}-{variant}-leave-out", "leave_out", q.split,
                         asked_in=variant))
    held: dict[str, list[dict[str, Any]]] = defaultdict(list)
    t0 = time.perf_counter()
    with held_out_copy(cfg, corpora.encoders, name) as without:
        for i, (article_id, questions) in enumerate(sorted(by_article.items()), 1):
            with without(article_id) as lacking:
                for record in assess_all(lacking, questions):
                    held[record["group"]].append(record)
            print(f"  [{name}] held out {i}/{len(by_article)} articles, "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    for g in groups:
        records += collect_group(g, lambda g=g: held[g], False)
    return records


def _titles(data: dict[str, Any], gold_of: dict[str, str]) -> dict[str, str]:
    """Article id -> its Wikipedia title (the split key shared by SQuAD and XQuAD)."""
    out = {}
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                out[gold_of[qa["id"]]] = article["title"]
    return out


def seeds_family(args: argparse.Namespace, corpora: Corpora) -> list[dict[str, Any]]:
    """dev.jsonl and its entity swaps, NQ-open, against the seeds."""
    from benchmarks.entity_swaps import Swapper

    cfg = corpora.seeds()
    retriever = corpora.retriever(cfg)
    ids = list(retriever.index.articles())
    records: list[dict[str, Any]] = []
    dev_path = SHARED / "eval" / "dev.jsonl"
    if require(dev_path):
        dev = [json.loads(line) for line in dev_path.read_text(encoding="utf-8").splitlines()]
        answerable = [Question(d["q"], "dev", "answerable", f"seed-{d['doc'][0]}",
                               tuple(i for i in ids if i[:3] in d["doc"]), asked_in=d["lang"])
                      for d in dev if d["doc"]]
        unanswerable = [Question(d["q"], "dev-unanswerable", "unanswerable", f"dev-{d['id']}",
                                 asked_in=d["lang"]) for d in dev if not d["doc"]]
        records += collect_group("dev", lambda: assess_all(retriever, answerable), args.reuse)
        records += collect_group("dev-unanswerable",
                                 lambda: assess_all(retriever, unanswerable), args.reuse)
        swapper = Swapper(retriever.index)
        swapped = [Question(s.question, "dev-swap", "swap", q.split, asked_in=q.asked_in)
                   for q in answerable for s in swapper.swaps(q.text, detect(q.text), most=3)]
        records += collect_group("dev-swap", lambda: assess_all(retriever, swapped), args.reuse)
    nq_path = DATA / "nq-open" / "NQ-open.dev.jsonl"
    if require(nq_path):
        lines = nq_path.read_text(encoding="utf-8").splitlines()
        nq = [Question(json.loads(line)["question"], "nq-open", "nq_open", f"nq-{i}")
              for i, line in enumerate(lines)]
        records += collect_group("nq-open", lambda: assess_all(retriever, nq), args.reuse)
    retriever.index.close()
    return records


def detect(text: str) -> str:
    from embeddings.search.language import detect_language

    return detect_language(text)


# --- fitting and scoring -----------------------------------------------------------------


def is_test(split: str) -> bool:
    """The held-out side of a split key (stable across runs and machines)."""
    return zlib.crc32(split.encode("utf-8")) % 1000 < TEST_SHARE * 1000


def key_of(record: dict[str, Any]) -> str:
    """The model that judges a record's question, as the retriever picks it."""
    from embeddings.search.confidence import model_key

    return model_key(record["text"], record["language"])


def asked_in(record: dict[str, Any]) -> str:
    """The language the question was asked in (not as detected): en, vi or vi-plain."""
    if record.get("asked_in"):
        return str(record["asked_in"])
    group = record["group"]
    if "-vi-plain" in group:
        return "vi-plain"
    return "vi" if "-vi" in group else "en"


def _matrix(records: Sequence[dict[str, Any]], names: Sequence[str], rank: int = 0) -> Any:
    import numpy as np

    return np.array([[_value(r["results"][rank]["features"].get(n)) for n in names]
                     for r in records], dtype=np.float64).reshape(len(records), len(names))


def _value(v: float | None) -> float:
    return math.nan if v is None else float(v)


def _fit(records: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """A standardised logistic regression: is the question answerable, from its first
    result's features. Each kind of question weighs the same in all, however many of it
    there are."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = _matrix(records, names)
    y = np.array([r["kind"] == "answerable" for r in records])
    kinds = [r["kind"] for r in records]
    weight_of = {k: len(kinds) / (len(set(kinds)) * kinds.count(k)) for k in set(kinds)}
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=5000)
    model.fit((x - mean) / scale, y, sample_weight=[weight_of[k] for k in kinds])
    return {"features": list(names), "mean": mean.round(6).tolist(),
            "scale": scale.round(6).tolist(), "coef": model.coef_[0].round(6).tolist(),
            "intercept": round(float(model.intercept_[0]), 6), "threshold": 0.5}


def fit_model(records: Sequence[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """One model's coefficients, and its threshold: the one that refuses the target share of
    the answerable questions, as the model would score them had their articles not been seen
    (5-fold cross-validation by article inside the training side)."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    names = FEATURES[key]
    usable = [r for r in records if r["results"]
              and all(math.isfinite(_value(r["results"][0]["features"].get(n))) for n in names)]
    if len({r["kind"] == "answerable" for r in usable}) < 2:
        return None
    entry = _fit(usable, names)
    groups = [r["split"] for r in usable]
    unseen = np.zeros(len(usable))
    for inside, outside in GroupKFold(n_splits=5).split(usable, groups=groups):
        fold = _fit([usable[i] for i in inside], names)
        unseen[outside] = [probability(fold, usable[i]) for i in outside]
    answerable = [p for p, r in zip(unseen, usable, strict=True) if r["kind"] == "answerable"]
    # Questions without features (nothing found) are refused whatever the threshold.
    missed = sum(r["kind"] == "answerable" for r in records) - len(answerable)
    entry["threshold"] = choose_threshold(answerable, missed)
    return entry


def probability(entry: dict[str, Any], record: dict[str, Any], rank: int = 0) -> float:
    """The model's probability for a record's result (0 when it has none)."""
    if len(record["results"]) <= rank:
        return 0.0
    x = [_value(record["results"][rank]["features"].get(n)) for n in entry["features"]]
    if any(math.isnan(v) for v in x):
        return 0.0
    z = sum((v - m) / s * c for v, m, s, c in
            zip(x, entry["mean"], entry["scale"], entry["coef"], strict=True))
    z += entry["intercept"]
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def choose_threshold(answerable: Sequence[float], missed: int = 0) -> float:
    """The highest threshold that refuses at most the target share of answerable questions
    (`missed` of them are refused anyway), rounded down to 0.001."""
    ordered = sorted(answerable)
    if not ordered:
        return 0.5
    allowed = int(TARGETS["false_abstention"] * (len(ordered) + missed)) - missed
    return math.floor(ordered[max(0, allowed)] * 1000) / 1000


def choose_ratio(records: Sequence[dict[str, Any]], models: dict[str, Any]) -> float:
    """The smallest ratio (of the first result's probability) from which a second or third
    result counts as an answer, such that at most 2% of those from an article that does not
    answer do, over the answered answerable questions of the training side."""
    pairs = _later_results(records, models)
    wrong = [(p, f, t) for p, f, t, gold, _ in pairs if not gold]
    for ratio in RATIOS:
        marked = sum(p >= max(t, ratio * f) for p, f, t in wrong)
        if not wrong or marked / len(wrong) <= 0.02:
            return ratio
    return RATIOS[-1]


def _later_results(records: Sequence[dict[str, Any]], models: dict[str, Any]) -> list[tuple]:
    """(probability, first's probability, threshold, is gold, group) of results 2-3 of the
    answered answerable questions."""
    out = []
    for r in records:
        entry = models.get(key_of(r))
        if entry is None or r["kind"] != "answerable" or not r["results"]:
            continue
        first = probability(entry, r)
        if first < entry["threshold"]:
            continue
        for rank in range(1, len(r["results"])):
            out.append((probability(entry, r, rank), first, entry["threshold"],
                        r["results"][rank]["gold"], r["group"]))
    return out


def score(records: Sequence[dict[str, Any]], answers: Callable[[dict[str, Any]], bool]
          ) -> dict[str, Any]:
    """Answer rates per group and the targets' figures, for one decision rule."""
    by_group: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        by_group[r["group"]].append(answers(r))
    groups = {g: {"n": len(v), "answered": round(sum(v) / len(v), 4)}
              for g, v in sorted(by_group.items())}
    out: dict[str, Any] = {"groups": groups}
    for language in ("en", "vi", "vi-plain"):
        asked = [answers(r) for r in records
                 if r["kind"] == "answerable" and asked_in(r) == language]
        if asked:
            out[f"false_abstention_{language}"] = round(1 - sum(asked) / len(asked), 4)
    for kind in ("leave_out", "swap", "nq_open", "off_topic"):
        asked = [answers(r) for r in records if r["kind"] == kind]
        if asked:
            out[f"answered_{kind}"] = round(sum(asked) / len(asked), 4)
        for language in ("en", "vi", "vi-plain"):
            mine = [answers(r) for r in records if r["kind"] == kind and asked_in(r) == language]
            if mine and kind != "nq_open":
                out[f"answered_{kind}_{language}"] = round(sum(mine) / len(mine), 4)
    return out


def auc(records: Sequence[dict[str, Any]], value: Callable[[dict[str, Any]], float]) -> float:
    """ROC AUC of a score between answerable questions and all the others."""
    from sklearn.metrics import roc_auc_score

    y = [r["kind"] == "answerable" for r in records]
    if len(set(y)) < 2:
        return math.nan
    return round(float(roc_auc_score(y, [value(r) for r in records])), 4)


def relevance(records: Sequence[dict[str, Any]], models: dict[str, Any], ratio: float
              ) -> dict[str, Any]:
    """How often results 2-3 of answered answerable questions are marked as answers, split
    by whether their article answers."""
    pairs = _later_results(records, models)
    out: dict[str, Any] = {}
    for label, gold in (("wrong_article", False), ("gold_article", True)):
        mine = [p >= max(t, ratio * f) for p, f, t, g, _ in pairs if g is gold]
        out[f"{label}_results"] = len(mine)
        out[f"{label}_marked_relevant"] = round(sum(mine) / len(mine), 4) if mine else None
    return out


def fit_and_score(records: list[dict[str, Any]], encoders: dict[str, str | None]
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the model file's content, the report) from all records."""
    train = [r for r in records if not is_test(r["split"])]
    test = [r for r in records if is_test(r["split"])]
    models = {}
    for key in FEATURES:
        entry = fit_model([r for r in train if key_of(r) == key], key)
        if entry is not None:
            models[key] = entry
    ratio = choose_ratio(train, models)

    def model_answers(r: dict[str, Any]) -> bool:
        entry = models.get(key_of(r))
        return entry is not None and probability(entry, r) >= entry["threshold"]

    report: dict[str, Any] = {
        "questions": {"train": len(train), "test": len(test)},
        "test_articles": sorted({r["split"] for r in test
                                 if not r["split"].startswith(("nq-", "dev-", "seed-"))}),
        "model": score(test, model_answers),
        "rule": score(test, lambda r: bool(r["rule"])),
        "model_train": score(train, model_answers),
        "auc": {}, "thresholds": {k: v["threshold"] for k, v in models.items()},
        "relevant_ratio": ratio, "relevance_test": relevance(test, models, ratio),
        "relevance_dev": relevance([r for r in records if r["group"] == "dev"], models, ratio),
    }
    for key, entry in models.items():
        mine = [r for r in test if key_of(r) == key]
        report["auc"][key] = {
            "model": auc(mine, lambda r, e=entry: probability(e, r)),
            "rule_dense_cosine": auc(mine, lambda r: r["rule_dense"] or 0.0)}
    model_file = {"format": 1, "encoders": encoders, "models": models, "relevant_ratio": ratio,
                  "fitted_by": "benchmarks/abstention.py",
                  "training_questions": len(train), "targets": TARGETS}
    return model_file, report


ROWS = [
    ("false abstention, English", "false_abstention_en", "false_abstention"),
    ("false abstention, Vietnamese", "false_abstention_vi", "false_abstention"),
    ("  Vietnamese without accents", "false_abstention_vi-plain", "false_abstention"),
    ("answered: article held out", "answered_leave_out", "leave_out"),
    ("  English", "answered_leave_out_en", "leave_out"),
    ("  Vietnamese", "answered_leave_out_vi", "leave_out"),
    ("  Vietnamese without accents", "answered_leave_out_vi-plain", "leave_out"),
    ("answered: entity swapped", "answered_swap", "swap"),
    ("  English", "answered_swap_en", "swap"),
    ("  Vietnamese", "answered_swap_vi", "swap"),
    ("answered: NQ-open vs seeds", "answered_nq_open", "nq_open"),
    ("answered: XQuAD-vi vs seeds", "answered_off_topic", "nq_open"),
    ("  Vietnamese", "answered_off_topic_vi", "nq_open"),
    ("  Vietnamese without accents", "answered_off_topic_vi-plain", "nq_open"),
]


def print_report(report: dict[str, Any]) -> None:
    """The held-out figures, the fitted model beside today's rule."""
    model, rule = report["model"], report["rule"]
    print(f"\nAbstention, held-out split ({report['questions']['test']} questions; "
          f"trained on {report['questions']['train']})")
    print(f"{'':<34}{'model':>10}{'rule':>10}{'target':>10}")
    for label, key, target in ROWS:
        if key in model:
            print(f"{label:<34}{model[key]:>10.3f}{rule[key]:>10.3f}"
                  f"{'<= ' + format(TARGETS[target], '.2f'):>10}")
    for key, row in report["auc"].items():
        print(f"{'ROC AUC, ' + key:<34}{row['model']:>10.3f}"
              f"{row['rule_dense_cosine']:>10.3f}   (rule: its dense cosine)")
    print(f"\n{'answered, per group':<34}{'n':>6}{'model':>10}{'rule':>10}")
    for group, row in model["groups"].items():
        print(f"  {group:<32}{row['n']:>6}{row['answered']:>10.3f}"
              f"{rule['groups'][group]['answered']:>10.3f}")
    print(f"\nthresholds {report['thresholds']}; results 2-3 are answers from "
          f"{report['relevant_ratio']} x the first one's probability: "
          f"{report['relevance_test']}; dev.jsonl (both sides): {report['relevance_dev']}")


def model_json(model_file: dict[str, Any]) -> str:
    """The model file as JSON with one line per list, so that a refit reads as a small diff."""
    lines = ["{"]
    items = list(model_file.items())
    for i, (key, value) in enumerate(items):
        end = "," if i < len(items) - 1 else ""
        if key == "models":
            lines.append('  "models": {')
            for j, (name, entry) in enumerate(value.items()):
                lines.append(f"    {json.dumps(name)}: {{")
                fields = [f"      {json.dumps(k)}: {json.dumps(v)}" for k, v in entry.items()]
                lines.append(",\n".join(fields))
                lines.append("    }" + ("," if j < len(value) - 1 else ""))
            lines.append("  }" + end)
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{end}")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == model_file
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Collect (or reuse) the features, fit, score, print, write."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad-sample", type=int, default=2000)
    parser.add_argument("--swap-sample", type=int, default=800,
                        help="answerable questions per group tried for an entity swap")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the features stored by the last run")
    parser.add_argument("--write-model", action="store_true",
                        help=f"write the fitted model to {MODEL_FILE.relative_to(REPO)}")
    parser.add_argument("--parts", nargs="+", default=["seeds", "squad", "xquad"])
    parser.add_argument("--json", type=Path, default=RESULTS / "abstention.json")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    corpora = Corpora()
    records = seeds_family(args, corpora) if "seeds" in args.parts else []
    records += squad_family(args, corpora)
    encoders = {"primary": corpora.encoders.primary.name,
                "multilingual": corpora.encoders.multilingual_name}
    model_file, report = fit_and_score(records, encoders)
    report["seconds"] = round(time.perf_counter() - t0)
    print_report(report)
    if args.write_model:
        MODEL_FILE.write_text(model_json(model_file), encoding="utf-8")
        print(f"wrote {MODEL_FILE}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {args.json} ({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
