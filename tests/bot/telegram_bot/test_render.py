"""Telegram HTML rendering: escaping, citations, limits, splitting, and the bot's texts."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.telegram_bot import render as tr
from bot.telegram_bot.texts import EN, VI, t
from embeddings.answers import Answer, Result
from embeddings.service import ArticleRecord

TITLE = "Vietnam, Thailand foster security cooperation"
R = Result(1, "001_x", TITLE, dt.date(2023, 12, 9), "VNA",
           "First sentence. The answer is here. Last one.", "The answer is here.", 0.61, "001_x#0")
ARTICLE = ArticleRecord("001_x", TITLE, dt.date(2023, 12, 9), "VNA", "Le Minh", "Hanoi",
                        "https://example.com/a?x=1&y=2", "en", "001_x.txt")

# --- a strict validator of Telegram HTML -------------------------------------------------

ALLOWED = {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"}
TOKEN = re.compile(
    r"<(?P<close>/?)(?P<name>[a-z-]+)(?P<attrs>(?:\s+[a-z-]+(?:=\"[^\"<>]*\")?)*)\s*>"
    r"|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);"
    r"|[^<>&]"
)
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def validate(text: str) -> None:
    """Fail unless ``text`` is HTML Telegram accepts: known tags, nested, entities only."""
    text.encode("utf-8")  # no lone surrogates
    assert not CONTROL.search(text), repr(text)
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        assert match, f"bare markup at {pos}: {text[pos:pos + 30]!r}"
        name = match.group("name")
        if name is not None:
            assert name in ALLOWED, name
            if match.group("close"):
                assert stack and stack.pop() == name, f"misnested </{name}> in {text!r}"
            else:
                assert name != "a" or 'href="' in match.group("attrs")
                stack.append(name)
        pos = match.end()
    assert not stack, f"unclosed {stack}"


def visible(text: str) -> str:
    """The text a reader sees."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def result(**changes: object) -> Result:
    return replace(R, **changes)  # type: ignore[arg-type]


# --- texts -------------------------------------------------------------------------------


def test_languages_have_the_same_keys_and_no_markup() -> None:
    assert EN.keys() == VI.keys()
    for text in [*EN.values(), *VI.values()]:
        assert not set("<>&") & set(text)
    for key in (k for k in EN if k.startswith("cmd_")):
        assert 0 < len(EN[key]) <= 256 and 0 < len(VI[key]) <= 256


def test_language_choice_format_and_unknown_keys() -> None:
    assert t("no_answer", "vi") == VI["no_answer"] != EN["no_answer"]
    assert t("no_answer", "fr") == t("no_answer", "en") == EN["no_answer"]
    assert "12/40" in t("reindex_progress", "vi", done=12, total=40)
    assert t("rate_limited", "en", seconds=5) == (
        "Too many questions at once. Please wait 5 s and try again.")
    with pytest.raises(KeyError):
        t("no_such_key", "en")


# --- results and answers -----------------------------------------------------------------


def test_result_puts_the_answer_and_its_citation_first() -> None:
    text = tr.render_result(R, "en", number=1)
    assert text == ("1. <b>The answer is here.</b>\n"
                    "— <i>Vietnam, Thailand foster security cooperation</i> · 2023-12-09 · VNA\n"
                    "<blockquote expandable>First sentence. <b>The answer is here.</b> Last one."
                    "</blockquote>")
    validate(text)
    bare = tr.render_result(result(excerpt="The answer is here."), "en")
    assert "blockquote" not in bare and bare.startswith("<b>The answer is here.</b>\n— <i>")


def test_highlight_is_escaped_inside_the_bold() -> None:
    r = result(excerpt="A & B. C < D is true. End *x* _y_.", highlight="C < D is true.")
    text = tr.render_result(r, "en")
    assert "A &amp; B. <b>C &lt; D is true.</b> End *x* _y_." in text
    assert text.startswith("<b>C &lt; D is true.</b>\n")


def test_missing_highlight_bolds_nothing_and_undated_says_so() -> None:
    text = tr.render_result(result(highlight="not in it", date=None, source=None), "vi")
    assert "<b>" not in text
    assert text.endswith(f"— <i>{TITLE}</i> · không rõ ngày")


def test_citation_links_a_safe_url_only() -> None:
    linked = tr.citation(result(url="https://x.org/a?b=1&c=2"), "en")
    assert linked.startswith('— <i><a href="https://x.org/a?b=1&amp;c=2">Vietnam')
    assert "href" not in tr.citation(result(url="javascript:alert(1)"), "en")


def test_long_excerpt_is_trimmed_around_the_highlight() -> None:
    before = " ".join(f"Filler sentence number {i}." for i in range(200))
    excerpt = f"{before} The answer is here. {before}"
    text = tr.excerpt_html(excerpt, "The answer is here.", budget=300)
    assert "<b>The answer is here.</b>" in text
    assert text.startswith("… Filler") and text.endswith(". …")
    assert tr.utf16_len(text) <= 300


def test_question_and_article_text_are_escaped_not_formatted() -> None:
    r = result(excerpt="Use <script> & *stars* _under_. The answer is here.")
    text = tr.render_answer(Answer("a < b & *c* _d_?", True, (r,)), "en")
    assert "❓ <i>a &lt; b &amp; *c* _d_?</i>" in text
    assert "Use &lt;script&gt; &amp; *stars* _under_." in text
    validate(text)


def test_an_answer_cites_each_article_once() -> None:
    same = result(rank=2, excerpt="Another passage.", highlight="Another passage.")
    other = result(rank=2, article_id="002_y", title="Other")
    with pytest.raises(ValueError, match="cites each article once"):
        Answer("q", True, (R, same))
    text = tr.render_answer(Answer("q", True, (R, other)), "en")
    assert text.count(TITLE) == 1 and "1. <b>The answer is here.</b>" in text and "\n\n2. " in text


def test_unanswered_shows_no_passage_only_the_closest_titles() -> None:
    text = tr.render_answer(Answer("q", False, (R,)), "en")
    assert EN["no_answer"] in text and R.excerpt not in text and "<b>" not in text
    assert f"{EN['closest_articles']}</i>\n• {TITLE} — 2023-12-09" in text
    assert VI["no_answer"] in tr.render_answer(Answer("q", False, (R,)), "vi")
    assert tr.answer_pages(Answer("q", False, (R,))) == 0
    validate(text)


def test_why_there_is_no_answer_in_both_languages() -> None:
    answer = Answer("q", False, (R,), missing=("Philippines", "coast guard"))
    en = tr.render_answer(answer, "en", articles=3)
    assert "None of the 3 articles mentions “Philippines” or “coast guard”." in en
    vi = tr.render_answer(answer, "vi", articles=3)
    assert "Không bài nào trong 3 bài báo nhắc đến “Philippines” hay “coast guard”." in vi


def test_weaker_results_are_related_titles_not_answers() -> None:
    weak = result(rank=2, article_id="002_y", title="Other article", excerpt="Unrelated text.",
                  highlight="Unrelated text.", relevant=False)
    answer = Answer("q", True, (R, weak))
    text = tr.render_answer(answer, "en")
    assert "1. <b>The answer" in text and "\n\n2. " not in text and "Unrelated text." not in text
    assert f"{EN['related_articles']}</i>\n• Other article — " in text
    assert tr.answer_pages(answer) == 1
    validate(text)


def test_the_byline_is_in_the_citation() -> None:
    text = tr.citation(result(byline="Le Thi <Mai>"), "en")
    assert text.endswith(" · VNA · By Le Thi &lt;Mai&gt;")


def test_corrections_are_mentioned() -> None:
    text = tr.render_answer(Answer("phett", True, (R,), corrections=(("phett", "phet"),)), "en")
    assert "Searched for “phet” instead of “phett”." in text
    vi = tr.render_answer(Answer("x", False, (), corrections=(("a<", "b"),)), "vi")
    assert "Đã tìm “b” thay cho “a&lt;”." in vi


def test_pages_number_results_across_pages() -> None:
    results = tuple(result(rank=i, article_id=f"a{i}", title=f"T{i}") for i in range(1, 6))
    answer = Answer("q", True, results)
    assert tr.answer_pages(answer) == 2
    text = tr.render_answer(answer, "en", page=1)
    assert "4. " in text and "5. " in text and "T1" not in text
    assert "Results 4–5 of 5" in text


def test_answer_fits_a_small_budget() -> None:
    long = " ".join(f"Sentence {i} & more <text>." for i in range(400))
    results = tuple(result(rank=i, article_id=f"a{i}", excerpt=long, highlight="Sentence 7 &"
                           " more <text>.") for i in range(3))
    text = tr.render_answer(Answer("q", True, results), "en", budget=900)
    # Each result: the sentence first, and again in bold inside its excerpt.
    assert tr.utf16_len(text) <= 900 and text.count("<b>Sentence 7") == 6
    validate(text)


def test_inline_helpers_are_plain_and_short() -> None:
    long = result(title="T " * 300, highlight="h\n" * 300, excerpt="h\n" * 300)
    assert tr.utf16_len(tr.inline_title(long)) <= 256
    assert len(tr.inline_description(long)) <= 200 and "\n" not in tr.inline_description(long)
    validate(tr.render_inline_result_text(long, "en"))


# --- other messages ----------------------------------------------------------------------


def test_article_list_and_article() -> None:
    text = tr.render_article_list([(1, "A <b>", dt.date(2024, 1, 2)), (2, "B", None)], 1, 3, "en")
    assert text.startswith("<b>Indexed articles (page 1/3)</b>\n1. A &lt;b&gt; — 2024-01-02\n")
    assert "2. B — no date" in text
    parts = tr.render_article(ARTICLE, ["First & one.", "", "Second."], "en")
    assert parts == [
        f"<b>{TITLE}</b>\n2023-12-09 · VNA · Hanoi · By Le Minh\n"
        '<a href="https://example.com/a?x=1&amp;y=2">Original article</a>\n\n'
        "First &amp; one.\n\nSecond."
    ]


def test_about_and_start() -> None:
    about = tr.render_about("vi", articles=3, chunks=20, model="m<1>", multilingual=None,
                            built_at="2024-01-01")
    assert "m&lt;1&gt;" in about and "không có" in about and "Tìm kiếm tiếng Việt" not in about
    filling = tr.render_about("vi", articles=3, chunks=20, model="m", multilingual="e5",
                              built_at="2024-01-01", filled=0.6412)
    assert filling.endswith("Tìm kiếm tiếng Việt: đã có 64% đoạn văn; phần còn lại đang được "
                            "bổ sung.")
    assert "Vietnamese search: 0% of passages so far" in tr.render_about(
        "en", articles=3, chunks=20, model="m", multilingual="e5", built_at="x", filled=0.0)
    start = tr.render_start("en", articles=3, first=dt.date(2023, 1, 1), last=None,
                            examples=["Who & when?"])
    assert "3 articles, from 2023-01-01 to no date" in start
    assert start.endswith("• <i>Who &amp; when?</i>")


# --- splitting ---------------------------------------------------------------------------


def test_short_message_is_one_part() -> None:
    assert tr.split_message("<b>x</b>") == ["<b>x</b>"]
    assert tr.split_message(" \n ") == []


def test_split_prefers_paragraphs_then_sentences() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 30 for i in range(20)]
    parts = tr.split_message("\n\n".join(p.strip() for p in paragraphs), 500)
    assert all(tr.utf16_len(p) <= 500 for p in parts)
    assert all(p.startswith("Paragraph") and p.endswith("word") for p in parts)
    one = "Sentence one is here. " * 60
    parts = tr.split_message(one.strip(), 200)
    assert all(p.endswith("here.") and tr.utf16_len(p) <= 200 for p in parts)


def test_split_closes_and_reopens_tags_and_keeps_entities() -> None:
    text = "<b>" + "bold &amp; " * 100 + "</b> tail"
    parts = tr.split_message(text, 120)
    assert len(parts) > 1
    for part in parts:
        validate(part)
        assert tr.utf16_len(part) <= 120
    assert parts[0].startswith("<b>") and parts[1].startswith("<b>")
    assert "".join(visible(p) for p in parts).replace(" ", "") == visible(text).replace(" ", "")


def test_split_hard_cuts_a_long_word_and_counts_utf16() -> None:
    assert tr.utf16_len("😀a") == 3
    parts = tr.split_message("😀" * 100, 31)
    assert all(tr.utf16_len(p) <= 31 for p in parts) and "".join(parts) == "😀" * 100
    with pytest.raises(ValueError):
        tr.split_message('<a href="https://example.com/long">' + "x" * 100 + "</a>", 38)


# --- properties --------------------------------------------------------------------------

NASTY = st.sampled_from(["<", ">", "&", "&amp;", '"', "'", "*", "_", "😀", "\u200f", "\u202e",
                         "\x00", "\x07", "\r", "\n", "\t", "\ud800", ".", " ", "\n\n", "…"])
TEXT = st.lists(st.one_of(NASTY, st.text(max_size=12)), max_size=40).map("".join)


@st.composite
def results(draw: st.DrawFn) -> Result:
    excerpt = draw(TEXT) * draw(st.integers(1, 60))
    start = draw(st.integers(0, len(excerpt)))
    highlight = excerpt[start:start + draw(st.integers(0, 400))]
    return Result(
        draw(st.integers(1, 9)), draw(st.sampled_from(["a", "b", "c", "d"])), draw(TEXT),
        draw(st.none() | st.dates()), draw(st.none() | TEXT), excerpt,
        draw(st.sampled_from([highlight, "", "missing"])), 0.5, "c#0",
        url=draw(st.none() | st.just("https://x.org/?a=1&b=<2>") | TEXT),
        byline=draw(st.none() | TEXT), relevant=draw(st.booleans()),
    )


PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])


@PROPERTY
@given(st.lists(results(), max_size=6, unique_by=lambda r: r.article_id), TEXT, st.booleans(),
       st.integers(0, 3), st.sampled_from(["en", "vi"]), st.sampled_from([4096, 1500, 600]),
       st.lists(st.tuples(TEXT, TEXT), max_size=2))
def test_any_answer_is_valid_and_fits(
    found: list[Result], query: str, answered: bool, page: int, lang: str, budget: int,
    corrections: list[tuple[str, str]],
) -> None:
    answer = Answer(query, answered, tuple(found), lang, tuple(corrections))
    text = tr.render_answer(answer, lang, page=page, budget=budget)
    validate(text)
    assert tr.utf16_len(text) <= budget
    if not answered:
        assert t("no_answer", lang) in text
    for r in found[:1]:
        inline = tr.render_inline_result_text(r, lang)
        validate(inline)
        assert tr.utf16_len(inline) <= tr.MAX_MESSAGE


@PROPERTY
@given(TEXT, st.lists(st.tuples(TEXT, st.integers(1, 300)), max_size=8),
       st.none() | TEXT, st.none() | st.just("https://x.org/a&b"), st.sampled_from([4096, 300]))
def test_any_article_splits_into_valid_parts(
    title: str, paragraphs: list[tuple[str, int]], source: str | None, url: str | None,
    limit: int,
) -> None:
    record = ArticleRecord("id<1>", title, None, source, source, None, url, "en", "f.txt")
    body = [text * times for text, times in paragraphs]
    parts = tr.render_article(record, body, "vi")
    for part in parts:
        validate(part)
        assert tr.utf16_len(part) <= tr.MAX_MESSAGE
        for small in tr.split_message(part, limit):
            validate(small)
            assert tr.utf16_len(small) <= limit
    expected = re.sub(r"\s", "", visible("\n\n".join(parts)))
    seen = re.sub(r"\s", "", "".join(visible(p) for p in tr.split_message("\n\n".join(parts))))
    assert seen == expected


def test_vietnamese_readers_get_their_date_format() -> None:
    answer = Answer("q", True, (R,))
    assert "09/12/2023" in tr.render_answer(answer, "vi")
    assert "2023-12-09" in tr.render_answer(answer, "en")
    assert tr.day(None, "vi") == t("no_date", "vi")


def test_excerpts_in_the_other_language_are_said_to_be_quoted() -> None:
    english = Answer("Ai dẫn đầu đoàn?", True, (R,))
    vietnamese = Answer("Who?", True, (replace(R, excerpt="Đoàn do Thiếu tướng dẫn đầu.",
                                               highlight="Đoàn do Thiếu tướng dẫn đầu."),))
    note_vi, note_en = t("other_language_excerpts", "vi"), t("other_language_excerpts", "en")
    assert note_vi in tr.render_answer(english, "vi")
    assert note_en not in tr.render_answer(english, "en")
    assert note_en in tr.render_answer(vietnamese, "en")
    assert note_vi not in tr.render_answer(vietnamese, "vi")
    validate(tr.render_answer(english, "vi"))
