"""Tests for embeddings.articles.parsing: parsing real seeds, front matter, and bad files."""

from __future__ import annotations

import datetime
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embeddings.articles.parsing import (
    ARTICLE_SUFFIXES,
    DEFAULT_MAX_FILE_BYTES,
    Article,
    ArticleFormatError,
    FileProblem,
    LoadReport,
    article_files,
    decode_article_bytes,
    load_article_file,
    load_articles,
    parse_article,
    parse_article_with_warnings,
)

SEEDS = Path(__file__).resolve().parents[3] / "seeds"
SEED_000 = SEEDS / "000_0d9ee5e30ea4e9d7.txt"
SEED_001 = SEEDS / "001_838a14d103250a53.txt"
SEED_003 = SEEDS / "003_b710457b8d8033c8.txt"

LEAD_001 = (
    "Deputy Minister of Public Security Sen. Lieut. Gen. Luong Tam Quang had a working session "
    "with Deputy Commissioner-General of the Royal Thai Police, Police-General Surachate Hakparn "
    "in Bangkok on December 8."
)
LEAD_003 = (
    "A training workshop is being held by the police department for investigation of "
    "drug-related crimes under the Vietnamese Ministry of Public Security to help improve the "
    "investigation and drug control capacity of the anti-drug crime force of Cambodia."
)


def load_seed(path: Path) -> Article:
    article, problems = load_article_file(path)
    assert article is not None, problems
    assert problems == []
    return article


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_clean(article: Article) -> None:
    """Invariants every parsed article must meet."""
    assert article.paragraphs
    for paragraph in article.paragraphs:
        assert paragraph == paragraph.strip()
        assert paragraph
        assert "\u00a0" not in paragraph
        assert "(Photo:" not in paragraph
        assert "./." not in paragraph
        assert "  " not in paragraph
    assert "\u00a0" not in article.title


# ------------------------------------------------------------------------------------------
# Real seed articles
# ------------------------------------------------------------------------------------------


def test_seed_000_metadata() -> None:
    article = load_seed(SEED_000)
    assert article.id == "000_0d9ee5e30ea4e9d7"
    assert article.title == "Police of Quang Ninh and Sainyabuli agree to boost cooperation"
    assert article.date == datetime.date(2023, 8, 25)
    assert article.byline == "Duy Tien"
    assert article.source is None
    assert article.place is None
    assert article.url is None
    assert article.language is None
    assert article.path == SEED_000


def test_seed_000_paragraphs() -> None:
    article = load_seed(SEED_000)
    assert_clean(article)
    paragraphs = article.paragraphs
    assert len(paragraphs) == 9
    assert paragraphs[0].startswith("A delegation of the Sainyabuli Provincial Public Security")
    assert paragraphs[-1] == (
        "On this occasion, the Quang Ninh Provincial Police Department presented $5,000, "
        "2 laptops and souvenirs to the Sainyabuli Provincial Public Security Department."
    )
    body = "\n".join(paragraphs)
    # Photo markers, their captions, the date line and the byline are gone.
    assert " -0" not in body
    for caption in (
        "speaks at the meeting.",
        "makes remarks at the meeting.",
        "give gifts to Lao officers.",
        "sign a memorandum of understanding on working cooperation in 2023.",
    ):
        assert caption not in body
    assert article.title not in body
    assert "25/08/2023" not in body
    assert "By Duy Tien" not in body
    # The text itself is kept verbatim, typos included.
    assert any("implementinh the annual cooperation plan" in p for p in paragraphs)
    assert paragraphs[5].endswith("memorandum of understanding on cooperation in 2023.")


def test_seed_001_metadata() -> None:
    article = load_seed(SEED_001)
    assert article.id == "001_838a14d103250a53"
    assert article.title == "Vietnam, Thailand foster security cooperation"
    assert article.date == datetime.date(2023, 12, 9)
    assert article.source == "VNA"
    assert article.place == "Bangkok"
    assert article.byline is None


def test_seed_001_paragraphs() -> None:
    article = load_seed(SEED_001)
    assert_clean(article)
    paragraphs = article.paragraphs
    assert paragraphs[0] == LEAD_001
    body = "\n".join(paragraphs)
    assert body.count("had a working session with Deputy Commissioner-General") == 1
    assert "(L) meets with" not in body
    assert "Bangkok (VNA)" not in body
    assert "date 2023-12-09" not in body
    assert paragraphs[1].startswith("Sen. Lieut. Gen. Quang, who is accompanying")
    assert paragraphs[-1] == (
        "They also agreed to work together in organising the 12th meeting of the Joint Working "
        "Group on Political-Security Cooperation in Vietnam, which is slated for July 2024."
    )
    assert len(paragraphs) == 16


def test_seed_003_metadata_and_paragraphs() -> None:
    article = load_seed(SEED_003)
    assert article.title == "Vietnam helps Cambodia’s anti-drug crime force improve capacity"
    assert article.date == datetime.date(2023, 10, 30)
    assert article.source == "VNA"
    assert article.place == "Hanoi"
    assert article.byline is None
    assert_clean(article)
    assert article.paragraphs[0] == LEAD_003
    body = "\n".join(article.paragraphs)
    assert body.count("A training workshop is being held") == 1
    assert "Delegates at the event" not in body
    assert "dangcongsan" not in body
    assert "Hanoi (VNA)" not in body
    assert "Cambodia’s National Authority" in body  # curly apostrophe kept
    assert article.paragraphs[-1].endswith("stable and prosperous socio-economic development.")


def test_seed_folder_loads_cleanly() -> None:
    report = load_articles(SEEDS)
    assert [a.id for a in report.articles][:3] == [
        "000_0d9ee5e30ea4e9d7",
        "001_838a14d103250a53",
        "003_b710457b8d8033c8",
    ]
    assert report.problems == ()


# ------------------------------------------------------------------------------------------
# Other plain-text layouts
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2023-12-09", datetime.date(2023, 12, 9)),
        ("25/08/2023", datetime.date(2023, 8, 25)),
        ("Thứ Sáu, 25/08/2023, 09:40", datetime.date(2023, 8, 25)),
        ("Chủ Nhật, 10/12/2023 07:15 (GMT+7)", datetime.date(2023, 12, 10)),
        ("December 9, 2023", datetime.date(2023, 12, 9)),
        ("Saturday, December 9, 2023 10:30 AM", datetime.date(2023, 12, 9)),
        ("9 December 2023", datetime.date(2023, 12, 9)),
        ("Sat, 9 Dec. 2023, 14:05", datetime.date(2023, 12, 9)),
        ("Updated: 2023-12-09 10:00", datetime.date(2023, 12, 9)),
    ],
)
def test_date_line_near_the_top(tmp_path: Path, line: str, expected: datetime.date) -> None:
    text = f"Some title here\n\n{line}\n\nFirst paragraph.\n\nSecond paragraph.\n"
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.txt")
    assert article.title == "Some title here"
    assert article.date == expected
    assert article.paragraphs == ("First paragraph.", "Second paragraph.")
    assert warnings == []


def test_english_layout_with_byline_and_date_under_the_title(tmp_path: Path) -> None:
    text = "Ministers meet\nBy John Smith\nDecember 9, 2023\n\nFirst.\n\nSecond.\n"
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.txt")
    assert (article.title, article.byline) == ("Ministers meet", "John Smith")
    assert article.date == datetime.date(2023, 12, 9)
    assert article.paragraphs == ("First.", "Second.")
    assert warnings == []


def test_impossible_date_line_is_dropped_with_warning(tmp_path: Path) -> None:
    text = "Title\n31/02/2023\nBody text."
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.txt")
    assert article.date is None
    assert article.paragraphs == ("Body text.",)
    assert any("31/02/2023" in w for w in warnings)


def test_impossible_date_in_agency_header_line(tmp_path: Path) -> None:
    text = " date 2023-13-45 A title\nBody text."
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.txt")
    assert article.title == "A title"
    assert article.date is None
    assert any("2023-13-45" in w for w in warnings)


def test_caption_dateline_that_is_not_a_duplicate_is_kept(tmp_path: Path) -> None:
    text = (
        " date 2024-01-02 Title\n"
        "The lead paragraph.\n"
        "Officials at the talks (Photo: VNA)Vientiane (VNA) – Something new happened.\n"
        "The end./.\n"
    )
    article = parse_article(text, tmp_path / "a.txt")
    assert article.paragraphs == ("The lead paragraph.", "Something new happened.", "The end.")
    assert article.place == "Vientiane"
    assert article.source == "VNA"


def test_caption_only_line_is_dropped(tmp_path: Path) -> None:
    text = "Title\nThe lead.\nDelegates at the event (Photo: VNA)\nMore text."
    assert parse_article(text, tmp_path / "a.txt").paragraphs == ("The lead.", "More text.")


def test_dateline_at_start_of_normal_paragraph(tmp_path: Path) -> None:
    text = "Title\n\nHo Chi Minh City (VNA) – The city police held a drill.\n\nIt went well."
    article = parse_article(text, tmp_path / "a.txt")
    assert article.paragraphs == ("The city police held a drill.", "It went well.")
    assert article.place == "Ho Chi Minh City"
    assert article.source == "VNA"


def test_parenthesised_acronym_in_prose_is_not_a_dateline(tmp_path: Path) -> None:
    paragraph = "The Ministry of Public Security (MPS) - the standing body - met on Monday."
    article = parse_article(f"Title\n{paragraph}", tmp_path / "a.txt")
    assert article.paragraphs == (paragraph,)
    assert article.place is None


def test_prose_starting_with_by_is_not_a_byline(tmp_path: Path) -> None:
    article = parse_article("Title\nFirst.\nBy then, all was done.", tmp_path / "a.txt")
    assert article.paragraphs == ("First.", "By then, all was done.")
    assert article.byline is None


def test_blank_line_blocks_join_wrapped_lines(tmp_path: Path) -> None:
    text = "Title\n\nThis paragraph was\nhard wrapped.\n\nSecond\u00a0 one.\u00a0\n"
    article = parse_article(text, tmp_path / "a.txt")
    assert article.paragraphs == ("This paragraph was hard wrapped.", "Second one.")


def test_crlf_and_bom_are_handled(tmp_path: Path) -> None:
    text = "\ufeffTitle\r\n\r\nBody one.\r\n\r\nBody two.\r\n"
    article = parse_article(text, tmp_path / "a.txt")
    assert article.title == "Title"
    assert article.paragraphs == ("Body one.", "Body two.")


def test_only_a_title_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ArticleFormatError, match="no article text"):
        parse_article("Just a title\n\n", tmp_path / "a.txt")


def test_blank_text_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ArticleFormatError, match="no article text"):
        parse_article(" \n\u00a0\n", tmp_path / "a.txt")


# ------------------------------------------------------------------------------------------
# Front matter
# ------------------------------------------------------------------------------------------

GOOD_FRONT_MATTER = """---
title: Vietnam and Laos sign police pact
date: 2024-01-15
source: VNA
url: https://example.com/pact
language: EN
byline: Minh Anh
place: Vientiane
---

# Vietnam and Laos sign police pact

The two **ministries** signed a [memorandum](https://example.com/mou) today.
It covers *drug* crime.

## Next steps

They will meet again in __June__.
"""


def test_front_matter_good(tmp_path: Path) -> None:
    article, warnings = parse_article_with_warnings(
        GOOD_FRONT_MATTER, tmp_path / "2024-01-15-vietnam-laos.md"
    )
    assert warnings == []
    assert article.id == "2024-01-15-vietnam-laos"
    assert article.title == "Vietnam and Laos sign police pact"
    assert article.date == datetime.date(2024, 1, 15)
    assert article.source == "VNA"
    assert article.url == "https://example.com/pact"
    assert article.language == "en"
    assert article.byline == "Minh Anh"
    assert article.place == "Vientiane"
    assert article.paragraphs == (
        "The two ministries signed a memorandum today. It covers drug crime.",
        "Next steps",
        "They will meet again in June.",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-12-09", datetime.date(2023, 12, 9)),
        ("'2023-12-09'", datetime.date(2023, 12, 9)),
        ("2023-12-09 10:30:00", datetime.date(2023, 12, 9)),
        ("2023-12-09T10:30:00+07:00", datetime.date(2023, 12, 9)),
        ("December 9, 2023", datetime.date(2023, 12, 9)),
        ("09/12/2023", datetime.date(2023, 12, 9)),
        ("", None),
    ],
)
def test_front_matter_date_forms(
    tmp_path: Path, value: str, expected: datetime.date | None
) -> None:
    text = f"---\ntitle: T\ndate: {value}\n---\nBody.\n"
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.md")
    assert article.date == expected
    assert warnings == []


@pytest.mark.parametrize("value", ["next tuesday", "2023-02-30", "42", "[2023, 12]", "yes"])
def test_front_matter_bad_date_is_repaired_with_warning(tmp_path: Path, value: str) -> None:
    text = f"---\ntitle: Good title\ndate: {value}\nsource: VNA\n---\nBody text.\n"
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.md")
    assert article.date is None
    assert article.title == "Good title"
    assert article.source == "VNA"  # the rest of the front matter survives
    assert len(warnings) == 1
    assert "date" in warnings[0]
    assert "not a date" in warnings[0]
    # parse_article repairs silently.
    assert parse_article(text, tmp_path / "a.md") == article


def test_front_matter_bad_date_message(tmp_path: Path) -> None:
    text = "---\ntitle: T\ndate: next tuesday\n---\nBody.\n"
    _, warnings = parse_article_with_warnings(text, tmp_path / "a.md")
    assert warnings == ["front matter date 'next tuesday' is not a date; date left empty"]


def test_front_matter_wrong_types_are_repaired(tmp_path: Path) -> None:
    text = (
        "---\n"
        "title: [Vietnam, Thailand, talks]\n"
        "source: 123\n"
        "author: [Minh Anh, Duy Tien]\n"
        "place: {city: Hanoi}\n"
        "language: no\n"
        "url: null\n"
        "tags: [ignored]\n"
        "---\n"
        "Body text.\n"
    )
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.md")
    assert article.title == "Vietnam Thailand talks"
    assert article.source == "123"
    assert article.byline == "Minh Anh, Duy Tien"
    assert article.place is None
    assert article.language is None
    assert article.url is None
    assert article.paragraphs == ("Body text.",)
    assert len(warnings) == 5
    assert any("title" in w and "list" in w for w in warnings)
    assert any("place" in w for w in warnings)


def test_front_matter_invalid_yaml_keeps_the_body(tmp_path: Path) -> None:
    text = "---\ntitle: [unclosed\ndate: 2023-12-09\n---\n# Heading title\n\nBody text.\n"
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.md")
    assert article.title == "Heading title"
    assert article.date is None
    assert article.paragraphs == ("Body text.",)
    assert len(warnings) == 1
    assert "not valid YAML" in warnings[0]


def test_front_matter_not_a_mapping(tmp_path: Path) -> None:
    text = "---\n- a\n- b\n---\n# A heading\n\nBody text.\n"
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.md")
    assert article.title == "A heading"
    assert article.paragraphs == ("Body text.",)
    assert warnings == ["front matter is not a mapping (got list); metadata ignored"]


def test_title_from_heading_when_front_matter_has_none(tmp_path: Path) -> None:
    text = "---\ndate: 2023-12-09\n---\n\n# The **real** title\n\nBody one.\n\nBody two.\n"
    article, warnings = parse_article_with_warnings(text, tmp_path / "a.md")
    assert article.title == "The real title"
    assert article.paragraphs == ("Body one.", "Body two.")
    assert warnings == []


def test_different_heading_is_kept_as_a_paragraph(tmp_path: Path) -> None:
    text = "---\ntitle: Front title\n---\n# Another heading\n\nBody.\n"
    article = parse_article(text, tmp_path / "a.md")
    assert article.title == "Front title"
    assert article.paragraphs == ("Another heading", "Body.")


def test_no_title_anywhere_uses_file_name(tmp_path: Path) -> None:
    text = "---\nsource: VNA\n---\nBody only.\n"
    article, warnings = parse_article_with_warnings(text, tmp_path / "2024-01-01-slug.md")
    assert article.title == "2024-01-01-slug"
    assert article.paragraphs == ("Body only.",)
    assert any("no title" in w for w in warnings)


def test_front_matter_with_only_title_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ArticleFormatError, match="no article text"):
        parse_article("---\ntitle: T\n---\n# T\n\n", tmp_path / "a.md")


def test_markdown_without_front_matter(tmp_path: Path) -> None:
    text = "# Plain **markdown** title\n\nSee [the report](http://x.org) for *details*.\n"
    article = parse_article(text, tmp_path / "a.md")
    assert article.title == "Plain markdown title"
    assert article.paragraphs == ("See the report for details.",)


# ------------------------------------------------------------------------------------------
# Decoding
# ------------------------------------------------------------------------------------------


def test_decode_utf8_with_and_without_bom() -> None:
    assert decode_article_bytes("Đà Nẵng".encode()) == ("Đà Nẵng", None)
    assert decode_article_bytes(b"\xef\xbb\xbfHello") == ("Hello", None)


def test_decode_falls_back_to_cp1252_then_latin1() -> None:
    text, warning = decode_article_bytes("café “quoted”".encode("cp1252"))
    assert text == "café “quoted”"
    assert warning == "not UTF-8; decoded as cp1252"
    data = b"Police met at a caf\xe9 \x81 in Hanoi."  # 0x81 is undefined in cp1252
    text, warning = decode_article_bytes(data)
    assert text == "Police met at a caf\xe9 \x81 in Hanoi."
    assert warning == "not UTF-8; decoded as latin-1"


def test_decode_utf16_with_bom() -> None:
    text, warning = decode_article_bytes("Title\nBody.".encode("utf-16"))
    assert text == "Title\nBody."
    assert warning is not None and "UTF-16" in warning


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\t\r\n", "empty file"),
        (b"\xef\xbb\xbf", "empty file"),
        (b"Title\x00Body", "binary file (contains NUL bytes)"),
        (bytes(range(1, 9)) * 20 + b"abc", "binary file (mostly control characters)"),
    ],
)
def test_decode_rejects_empty_and_binary(data: bytes, reason: str) -> None:
    with pytest.raises(ArticleFormatError) as info:
        decode_article_bytes(data)
    assert str(info.value) == reason


# ------------------------------------------------------------------------------------------
# Files and folders
# ------------------------------------------------------------------------------------------


def test_constants() -> None:
    assert DEFAULT_MAX_FILE_BYTES == 5_000_000
    assert ARTICLE_SUFFIXES == (".txt", ".md")


def test_article_files_lists_only_visible_regular_article_files(tmp_path: Path) -> None:
    write(tmp_path, "b.txt", "x")
    write(tmp_path, "a.md", "x")
    write(tmp_path, "C.TXT", "x")
    write(tmp_path, ".hidden.txt", "x")
    write(tmp_path, "notes.rst", "x")
    (tmp_path / "folder.txt").mkdir()
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "nested.txt", "x")
    (tmp_path / "broken.txt").symlink_to(tmp_path / "missing.txt")
    (tmp_path / "link.txt").symlink_to(tmp_path / "b.txt")
    names = [p.name for p in article_files(tmp_path)]
    assert names == ["C.TXT", "a.md", "b.txt", "link.txt"]


def test_load_article_file_reports_missing_file(tmp_path: Path) -> None:
    article, problems = load_article_file(tmp_path / "gone.txt")
    assert article is None
    assert len(problems) == 1
    assert problems[0].skipped
    assert problems[0].reason.startswith("cannot read file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission")
def test_load_article_file_reports_permission_denied(tmp_path: Path) -> None:
    path = write(tmp_path, "secret.txt", "Title\nBody.")
    path.chmod(0)
    try:
        article, problems = load_article_file(path)
    finally:
        path.chmod(0o644)
    assert article is None
    assert problems[0].skipped
    assert "ermission" in problems[0].reason


def test_load_article_file_refuses_special_files(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # reading it would block forever
    (tmp_path / "dir.txt").mkdir()
    for path in (fifo, tmp_path / "dir.txt"):
        article, problems = load_article_file(path)
        assert article is None
        assert problems == [FileProblem(path, "not a regular file", skipped=True)]
    report = load_articles(tmp_path)
    assert [p.path.name for p in report.skipped] == ["dir.txt", "pipe.txt"]


def test_load_article_file_size_limit_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", "Title\n" + "Body text. " * 200)
    article, problems = load_article_file(path, max_bytes=100)
    assert article is None
    assert problems == [
        FileProblem(path, "file is 2.2 kB, over the 100 bytes limit", skipped=True)
    ]


def test_load_articles_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_articles(tmp_path / "nope")


def test_load_articles_folder_is_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, "file.txt", "x")
    with pytest.raises(NotADirectoryError):
        load_articles(path)


def test_load_articles_empty_folder(tmp_path: Path) -> None:
    assert load_articles(tmp_path) == LoadReport(articles=(), problems=())


@pytest.fixture
def messy_folder(tmp_path: Path) -> Path:
    """The three seeds plus one file for every kind of trouble."""
    for seed in (SEED_000, SEED_001, SEED_003):
        shutil.copy(seed, tmp_path / seed.name)
    write(tmp_path, "100_empty.txt", "")
    (tmp_path / "101_binary.txt").write_bytes(os.urandom(64) + b"\x00" + os.urandom(64))
    latin = "Café talks\n\nPolice met at a café in Hanoi on Monday.\n\nThey agreed to cooperate."
    (tmp_path / "102_latin1.txt").write_bytes(latin.encode("latin-1"))
    write(tmp_path, "103_huge.txt", "Huge title\n\n" + "A long paragraph. " * 1000)
    write(tmp_path, "104_bad_date.md", "---\ntitle: Bad date\ndate: next tuesday\n---\nBody.\n")
    write(tmp_path, "105_title_only.txt", "Only a title\n")
    shutil.copy(SEED_001, tmp_path / "106_copy_of_001.txt")
    (tmp_path / "107_broken.txt").symlink_to(tmp_path / "does-not-exist.txt")
    write(tmp_path, "108_notes.rst", "ignored: not an article suffix")
    write(tmp_path, ".109_hidden.txt", "Hidden\nignored")
    return tmp_path


def test_load_articles_survives_every_bad_file(messy_folder: Path) -> None:
    report = load_articles(messy_folder, max_bytes=10_000)
    assert [a.id for a in report.articles] == [
        "000_0d9ee5e30ea4e9d7",
        "001_838a14d103250a53",
        "003_b710457b8d8033c8",
        "102_latin1",
        "104_bad_date",
    ]
    skipped = {p.path.name: p.reason for p in report.skipped}
    assert skipped == {
        "100_empty.txt": "empty file",
        "101_binary.txt": "binary file (contains NUL bytes)",
        "103_huge.txt": "file is 18 kB, over the 10 kB limit",
        "105_title_only.txt": "no article text (only a title)",
        "106_copy_of_001.txt": "duplicate of 001_838a14d103250a53",
        "107_broken.txt": "broken symbolic link (target missing)",
    }
    warnings = {p.path.name: p.reason for p in report.warnings}
    assert warnings == {
        "102_latin1.txt": "not UTF-8; decoded as cp1252",
        "104_bad_date.md": "front matter date 'next tuesday' is not a date; date left empty",
    }
    assert len(report.problems) == len(report.skipped) + len(report.warnings)
    latin = next(a for a in report.articles if a.id == "102_latin1")
    assert latin.title == "Café talks"
    assert "café in Hanoi" in latin.paragraphs[0]


def test_load_articles_same_id_from_two_suffixes(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\ntitle: One\n---\nFirst body.\n")
    write(tmp_path, "a.txt", "Two\nSecond body.\n")
    report = load_articles(tmp_path)
    assert [a.path.name for a in report.articles] == ["a.md"]
    assert [p.path.name for p in report.skipped] == ["a.txt"]
    assert "duplicate id" in report.skipped[0].reason


def test_articles_sorted_by_id(tmp_path: Path) -> None:
    write(tmp_path, "b-c.txt", "T1\nBody one.")
    write(tmp_path, "b.txt", "T2\nBody two.")
    assert [a.id for a in load_articles(tmp_path).articles] == ["b", "b-c"]


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "---",
        "...",
        "",
        "title: T",
        "title: [a, b",
        "date: 2023-02-30",
        "date: next tuesday",
        "- item",
        "# Heading",
        " date 2023-12-09 Title",
        "Thứ Sáu, 25/08/2023, 09:40",
        "Caption (Photo: VNA)Hanoi (VNA) – Text.",
        "Hanoi (VNA) – Text.",
        "Title -0",
        "By Duy Tien",
        "Last./.",
        "\u00a0",
        "**",
        "[x](y)",
    ]
)
_ARTICLE_LIKE = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=30)), max_size=12).map(
    "\n".join
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _ARTICLE_LIKE), st.sampled_from(["x.txt", "x.md"]))
def test_parse_article_returns_article_or_format_error(text: str, name: str) -> None:
    try:
        article = parse_article(text, Path(name))
    except ArticleFormatError:
        return
    assert isinstance(article, Article)
    assert article.title
    assert article.paragraphs
    assert all(p and p == p.strip() and "\u00a0" not in p for p in article.paragraphs)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.one_of(st.binary(max_size=300), _ARTICLE_LIKE.map(str.encode)))
def test_load_article_file_never_raises(tmp_path: Path, data: bytes) -> None:
    # The same file is overwritten by every example, so sharing tmp_path is safe.
    path = tmp_path / "arbitrary.txt"
    path.write_bytes(data)
    article, problems = load_article_file(path, max_bytes=200)
    if article is None:
        assert len(problems) == 1 and problems[0].skipped
    else:
        assert all(not p.skipped for p in problems)
