"""Fetching pages for `coopbot add`: limits on schemes, redirects, size, time and content type,
against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from embeddings.corpus.fetch import FetchError, FetchLimits, check_url, fetch_page
from tests.support.web_server import Route, WebServer, page, web_server

FAST = FetchLimits(timeout=1.0, deadline=3.0, max_bytes=200_000, max_redirects=3)


@pytest.fixture(scope="module")
def site() -> Iterator[WebServer]:
    routes = {
        "/article": page("news_page.html"),
        "/plain": Route(content_type="text/plain; charset=utf-8", body=b"Plain words."),
        "/moved": Route(301, location="/article"),
        "/hop1": Route(302, location="/hop2"),
        "/hop2": Route(302, location="/moved"),
        "/loop": Route(302, location="/loop"),
        "/to-file": Route(302, location="file:///etc/passwd"),
        "/report.pdf": Route(content_type="application/pdf", body=b"%PDF-1.7 ..."),
        "/huge": Route(body=b"<html><body>" + b"<p>word</p>" * 40_000 + b"</body></html>"),
        "/huge-chunked": Route(body=b"<p>x</p>" * 40_000, trickle=0.0001),
        "/slow": Route(delay=2.5, body=b"<html></html>"),
        "/trickle": Route(body=b"<p>slow</p>" * 600, trickle=0.5),
        "/error": Route(503, "text/plain", b"down"),
    }
    with web_server(routes) as server:
        yield server


def test_a_page_and_its_redirects_are_fetched(site: WebServer) -> None:
    fetched = fetch_page(f"{site.url}/article", FAST)
    assert fetched.is_html and fetched.content_type == "text/html" and fetched.charset == "utf-8"
    assert b"Colonel Tran Van Hieu" in fetched.body
    moved = fetch_page(f"{site.url}/hop1", FAST)  # three hops: within the limit
    assert moved.url == f"{site.url}/article" and moved.body == fetched.body
    plain = fetch_page(f"{site.url}/plain", FAST)
    assert not plain.is_html and plain.body == b"Plain words."


@pytest.mark.parametrize(("path", "message"), [
    ("/loop", "more than 3 redirects"),
    ("/to-file", "redirects to file:///etc/passwd, which is refused"),
    ("/missing", "answered HTTP 404 Not Found"),
    ("/error", "answered HTTP 503"),
    ("/report.pdf", "is application/pdf, not a web page"),
    ("/huge", "over the 0.2 MB limit"),
    ("/huge-chunked", "over the 0.2 MB limit"),
])
def test_each_refusal_says_why(site: WebServer, path: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        fetch_page(f"{site.url}{path}", FAST)


def test_a_slow_server_times_out_and_a_trickle_hits_the_deadline(site: WebServer) -> None:
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="did not answer within 1 s"):
        fetch_page(f"{site.url}/slow", FAST)
    assert time.monotonic() - t0 < 2.5
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="took over 3 s"):
        fetch_page(f"{site.url}/trickle", FAST)  # every read is quick; the whole is not
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.org/a.html", "javascript:alert(1)",
    "data:text/html,<p>x</p>", "example.org/article", "http://",
])
def test_only_http_and_https_urls_are_fetched(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https|no host"):
        check_url(url)


def test_an_unreachable_host_is_a_clear_error() -> None:
    with pytest.raises(FetchError, match="cannot fetch|did not answer"):
        fetch_page("http://127.0.0.1:9/nothing", FAST)  # the discard port: nobody listens
