"""Fusion, grouping, highlight choice, abstention rule and language detection."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.index.records import ChunkRecord
from embeddings.search.abstention import Abstention, Evidence, Thresholds, keyword_coverage
from embeddings.search.fusion import fuse, normalized_score_fusion, reciprocal_rank_fusion
from embeddings.search.grouping import GAP, build_excerpt, group_by_article
from embeddings.search.highlight import sentence_scores
from embeddings.search.language import detect_language
from tests.support.fake_encoders import HashingEncoder


def test_rrf_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion({"dense": [1, 2, 3], "keyword": [3, 1, 9]}, {})
    assert max(fused, key=fused.__getitem__) == 1
    assert fused[3] > fused[2] and 9 in fused


def test_score_fusion_keeps_margins_that_rrf_drops() -> None:
    lists = {"dense": [(1, 0.80), (2, 0.79), (3, 0.10)], "keyword": [(2, 30.0), (1, 3.0)]}
    score = normalized_score_fusion(lists, {})
    # Keyword ranks 2 far ahead; dense barely prefers 1: the margin decides.
    assert max(score, key=score.__getitem__) == 2
    assert score[3] == pytest.approx(0.0)


@pytest.mark.parametrize("method", ["score", "rrf"])
def test_fuse_scales_to_one_for_first_everywhere(method: str) -> None:
    lists = {"dense": [(5, 0.9), (6, 0.2)], "keyword": [(5, 12.0), (7, 1.0)]}
    fused = fuse(lists, {"dense": 0.5, "keyword": 1.0}, method)
    assert fused[5] == pytest.approx(1.0)
    assert all(0.0 <= v <= 1.0 for v in fused.values())
    assert fuse({"dense": [(1, 0.5)], "keyword": []}, {}, method)[1] == pytest.approx(1.0)


def _chunk(row: int, article: str, start: int, end: int) -> ChunkRecord:
    return ChunkRecord(row, article, row, start, end, f"text {row}")


def test_group_by_article_never_cites_an_article_twice() -> None:
    ranked = [(0.9, _chunk(0, "a", 0, 2)), (0.8, _chunk(1, "b", 0, 2)),
              (0.7, _chunk(2, "a", 4, 6)), (0.2, _chunk(3, "a", 8, 9)), (0.6, _chunk(4, "c", 0, 1))]
    groups = group_by_article(ranked, 2)
    assert [g.article_id for g in groups] == ["a", "b"]
    assert [c.row for c in groups[0].passages] == [0, 2]  # row 3 is too weak to join
    assert groups[0].score == 0.9


def test_excerpt_merges_passages_with_neighbours_and_marks_gaps() -> None:
    sentences = {i: (i // 4, f"Sentence {i}.") for i in range(20)}

    def fetch(article: str, start: int, end: int) -> list[tuple[int, int, str]]:
        return [(i, *sentences[i]) for i in range(start, end) if i in sentences]

    excerpt = build_excerpt([_chunk(0, "a", 5, 7), _chunk(1, "a", 12, 13)], fetch)
    indices = [int(u.text.split()[1][:-1]) for u in excerpt.units]
    assert indices == [4, 5, 6, 7, 11, 12, 13]
    assert GAP in excerpt.text and excerpt.text.startswith("Sentence 4.")
    assert {excerpt.units[i].text for i in excerpt.core} == {"Sentence 5.", "Sentence 6."}
    at_start = build_excerpt([_chunk(0, "a", 0, 1)], fetch)
    assert [u.text for u in at_start.units] == ["Sentence 0.", "Sentence 1."]


def test_sentence_scores_prefer_the_sentence_with_the_answer() -> None:
    enc = HashingEncoder()
    sentences = ["The weather was fine.", "Kham Pheng Phet led the delegation from Sainyabuli."]
    query = "Who led the delegation from Sainyabuli?"
    scores = sentence_scores(sentences, [0.9, 0.5], enc.encode_queries([query])[0], enc,
                             {"led", "delegation", "sainyabuli"})
    assert int(np.argmax(scores)) == 1
    assert sentence_scores([], [], enc.encode_queries([query])[0], enc, set()).shape == (0,)


def test_abstention_rule() -> None:
    rule = Abstention({"primary": Thresholds(strong=0.5, weak=0.3, coverage=0.5)})
    assert rule.answers(Evidence(0.6, "primary", 0.0))
    assert rule.answers(Evidence(0.35, "primary", 0.6))
    assert not rule.answers(Evidence(0.35, "primary", 0.2))
    assert not rule.answers(Evidence(0.2, "primary", 1.0))
    assert rule.answers(Evidence(None, None, 0.8)) and not rule.answers(Evidence(None, None, 0.5))
    override = Abstention({"primary": Thresholds(0.5, 0.3)}, min_score=0.1)
    assert override.answers(Evidence(0.15, "primary", 0.0))


def test_keyword_coverage_uses_crude_stems() -> None:
    assert keyword_coverage(["signed", "memorandum"], "They sign a memorandum.") == 1.0
    assert keyword_coverage(["pho", "recipe"], "Police met in Bangkok.") == 0.0
    assert keyword_coverage([], "anything") == 0.0


@pytest.mark.parametrize(
    ("text", "language"),
    [("Ai là Phó Tổng Tư lệnh Cảnh sát Hoàng gia Thái Lan?", "vi"),
     ("Giá vàng hôm nay là bao nhiêu?", "vi"), ("Viet Nam hop tac voi Lao nhu the nao", "vi"),
     ("Who is Lương Tam Quang?", "en"), ("What did José Martí say about café?", "en"),
     ("", "en"), ("12345", "en"), ("What is a good recipe for pho?", "en")],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_fake_vectors_are_normalised() -> None:
    v = HashingEncoder().encode_queries(["a b c"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
