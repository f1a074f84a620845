"""`coopbot add`: pages and files become front-matter Markdown in the seeds folder, indexed in
place; duplicates (same page, same or nearly the same text) are refused before any write."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from embeddings.articles.web_page import ExtractionError, extract_article
from embeddings.config import IndexConfig
from embeddings.corpus.adding import add_articles, slug
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.layout import current_build
from embeddings.index.summaries import article_summaries
from embeddings.service import open_retriever
from tests.conftest import REPO
from tests.support.fake_encoders import HashingEncoder
from tests.support.web_server import DATA, Route, WebServer, page, web_server

PAGE_PATH = "/security/vietnam-cambodia-joint-patrols-scam-rings"
CANONICAL = f"https://news.example.org{PAGE_PATH}"
BODY_FACTS = ("Colonel Tran Van Hieu", "237 Vietnamese citizens", "Svay Rieng",
              "twelve crossing points", "cryptocurrency payments")
BOILERPLATE = ("cookie", "Subscribe", "Related articles", "Thai police extradite", "Photo:",
               "All rights reserved", "Share on", "newsletter", "Comments", "Great news",
               "Read more", "Editor-in-chief", "Search the archive", "Home")


@pytest.fixture(scope="module")
def site() -> Iterator[WebServer]:
    routes = {PAGE_PATH: page("news_page.html"),
              "/republished": page("news_page_republished.html"),
              "/short": Route(body=b"<html><body><nav>Home</nav><p>Coming soon.</p></body></html>"),
              "/brief.pdf": Route(content_type="application/pdf", body=b"%PDF-1.7"),
              "/empty.txt": Route(content_type="text/plain", body=b"   \n"),
              "/go": Route(302, location=PAGE_PATH)}
    with web_server(routes) as server:
        yield server


@pytest.fixture
def cfg(seeds: Path, tmp_path: Path) -> IndexConfig:
    config = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(config, HashingEncoder())
    return config


def test_the_article_text_keeps_the_body_and_none_of_the_page_furniture() -> None:
    article = extract_article((DATA / "news_page.html").read_bytes(), CANONICAL)
    text = "\n".join(article.paragraphs)
    assert all(fact in text for fact in BODY_FACTS)
    assert [b for b in BOILERPLATE if b.lower() in text.lower()] == []
    assert text.startswith("TAY NINH, May 14 – Police from Vietnam and Cambodia agreed")
    assert article.title == ("Vietnam and Cambodia police to run joint patrols against online "
                             "scam rings")
    assert article.date == datetime.date(2024, 5, 14)
    assert (article.author, article.source) == ("Le Thi Mai", "Mekong Security Review")
    assert article.url == CANONICAL


def test_a_page_without_an_article_is_refused() -> None:
    with pytest.raises(ExtractionError, match="no article text"):
        extract_article(b"<html><body><nav>Home</nav><p>Coming soon.</p></body></html>")


def test_adding_a_url_writes_front_matter_and_embeds_only_the_new_passages(
    cfg: IndexConfig, site: WebServer
) -> None:
    before = current_build(cfg.index_dir)
    encoder = HashingEncoder()
    report = add_articles(cfg, encoder, [f"{site.url}/go?utm_source=telegram"])
    [outcome] = report.outcomes
    assert outcome.problem is None and outcome.path is not None
    assert outcome.path.name == ("2024-05-14-vietnam-and-cambodia-police-to-run-joint-patrols-"
                                 "against.md")
    text = outcome.path.read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---")[1])
    assert front == {"title": outcome.article.title if outcome.article else None,
                     "date": datetime.date(2024, 5, 14), "author": "Le Thi Mai",
                     "source": "Mekong Security Review", "url": CANONICAL}
    assert report.build is not None and not report.build.full and report.build.added == 1
    assert current_build(cfg.index_dir) == before  # updated in place
    assert len(encoder.encoded_texts) == outcome.passages > 0  # only the new passages
    listed = {a.id: a for a in article_summaries(cfg.index_dir)}
    assert listed[outcome.path.stem].source == "Mekong Security Review"
    hits = open_retriever(cfg, HashingEncoder()).search(
        "How many Vietnamese citizens were rescued from scam compounds?", 3).results
    assert hits and hits[0].article_id == outcome.path.stem


def test_the_same_page_again_or_republished_elsewhere_is_not_indexed_twice(
    cfg: IndexConfig, site: WebServer
) -> None:
    first = add_articles(cfg, HashingEncoder(), [f"{site.url}{PAGE_PATH}"])
    assert first.added
    files = sorted(p.name for p in cfg.seeds_dir.iterdir())
    again = add_articles(cfg, HashingEncoder(), [f"{site.url}{PAGE_PATH}#comments",
                                                 f"{site.url}/republished",
                                                 str(DATA / "news_page.html")])
    problems = [o.problem or "" for o in again.outcomes]
    assert all(o.duplicate for o in again.outcomes) and again.build is None
    assert problems[0].startswith("already indexed: ")
    assert "near-duplicate of 2024-05-14-vietnam" in problems[1]
    assert sorted(p.name for p in cfg.seeds_dir.iterdir()) == files  # nothing written


def test_files_and_folders_are_added_and_bad_sources_say_why(
    cfg: IndexConfig, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "note.md").write_text(
        "---\ntitle: Hai Phong port drill\ndate: 2024-06-03\nsource: Port Authority\n---\n"
        "Customs and border guards in Hai Phong held a joint drill on container inspection "
        "with thirty officers from both agencies.\n", encoding="utf-8")
    shutil.copy(DATA / "news_page.html", inbox / "page.html")
    (inbox / "image.png").write_bytes(b"\x89PNG")  # not an article: ignored in a folder
    report = add_articles(cfg, HashingEncoder(), [
        str(inbox), str(tmp_path / "missing.md"), str(inbox / "image.png"), "file:///etc/hosts",
    ])
    names = {o.path.name for o in report.added if o.path}
    assert names == {"2024-06-03-hai-phong-port-drill.md",
                     "2024-05-14-vietnam-and-cambodia-police-to-run-joint-patrols-against.md"}
    problems = [o.problem for o in report.outcomes if o.problem]
    assert problems == ["no such file or folder (URLs start with http:// or https://)",
                        "not an article file (expected .txt, .md, .html, .htm)",
                        "only http and https URLs can be fetched, not file: file:///etc/hosts"]


def test_an_empty_text_page_and_an_oversized_file_are_reasons_not_crashes(
    cfg: IndexConfig, site: WebServer, tmp_path: Path
) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as handle:
        handle.truncate(6_000_000)
    report = add_articles(cfg, HashingEncoder(), [f"{site.url}/empty.txt", str(big)])
    assert [o.problem for o in report.outcomes] == ["no article text",
                                                   "file is 6 MB, over the 5 MB limit"]
    assert report.build is None


def test_a_failed_update_removes_what_it_wrote(
    cfg: IndexConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr("embeddings.corpus.adding.build_index", broken)
    before = sorted(cfg.seeds_dir.iterdir())
    with pytest.raises(OSError, match="No space"):
        add_articles(cfg, HashingEncoder(), [str(DATA / "news_page.html")])
    assert sorted(cfg.seeds_dir.iterdir()) == before


def test_a_jsonl_source_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "c.jsonl"
    source.write_text('{"id": "a", "title": "T", "text": "Body text."}\n', encoding="utf-8")
    with pytest.raises(CoopbotError, match="added to a folder"):
        add_articles(IndexConfig(seeds_dir=source, index_dir=tmp_path / "i"), HashingEncoder(),
                     [str(DATA / "news_page.html")])


@pytest.mark.parametrize(("title", "expected"), [
    ("Công an Việt Nam và Lào đẩy mạnh hợp tác", "cong-an-viet-nam-va-lao-day-manh-hop-tac"),
    ("Police & customs: <joint> task-force!", "police-customs-joint-task-force"),
    ("警察合作", "article"),
])
def test_slugs_are_plain_ascii(title: str, expected: str) -> None:
    assert slug(title) == expected


@pytest.mark.slow
def test_coopbot_add_on_the_command_line_with_the_real_model(
    seeds: Path, tmp_path: Path, site: WebServer
) -> None:
    env_args = ["--seeds", str(seeds), "--index", str(tmp_path / "index")]
    cli = [sys.executable, "-m", "bot.cli", *env_args]
    run = subprocess.run([*cli, "add", "--no-progress", f"{site.url}{PAGE_PATH}",
                          f"{site.url}/brief.pdf"], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 1, run.stderr  # the PDF was refused
    assert ("Added 'Vietnam and Cambodia police to run joint patrols against online scam rings' "
            "(2024-05-14, Mekong Security Review)") in run.stdout
    assert "Not added" in run.stdout and "is application/pdf, not a web page" in run.stdout
    ask = subprocess.run([*cli, "ask", "Who signed the agreement for Tay Ninh police?"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert ask.returncode == 0 and "Tran Van Hieu" in ask.stdout
    again = subprocess.run([*cli, "add", f"{site.url}{PAGE_PATH}"], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already indexed" in again.stdout
