"""Fetch one web page for `coopbot add URL`, with the limits an operator-facing tool needs.

Only http and https are fetched, every redirect hop is checked again (a redirect to
``file://`` or to another scheme is refused, not followed), the body is streamed and cut off at
a size cap, the whole download has a deadline besides httpx's per-read timeout (a server that
trickles bytes cannot hold a build open), and only pages (HTML, plain text, Markdown) are
accepted: a PDF or an image gets a message saying what to do instead.
"""

from __future__ import annotations

import functools
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from embeddings.errors import CoopbotError

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown",
              "text/x-markdown")
_USER_AGENT = "coopbot/0.1 (article import; +https://github.com/coopbot)"


class FetchError(CoopbotError):
    """A URL could not be fetched as an article page; the message says why."""


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one fetch.

    Attributes:
        timeout: seconds to connect, and between two reads.
        deadline: seconds for the whole fetch, redirects included.
        max_bytes: largest body accepted.
        max_redirects: redirects followed before giving up.
    """

    timeout: float = 10.0
    deadline: float = 30.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5


@dataclass(frozen=True)
class FetchedPage:
    """A fetched page: where it ended up after redirects, its media type and raw body."""

    url: str
    content_type: str
    charset: str | None
    body: bytes

    @property
    def is_html(self) -> bool:
        """True for HTML (or a page without a type that starts like HTML)."""
        if self.content_type:
            return self.content_type in ("text/html", "application/xhtml+xml")
        return self.body.lstrip()[:1] == b"<"


def check_url(url: str) -> str:
    """The URL, if it is an absolute http(s) URL with a host.

    Raises:
        FetchError: another scheme (file, ftp, data, javascript...) or no host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        shown = parts.scheme or "no scheme"
        raise FetchError(f"only http and https URLs can be fetched, not {shown}: {url}")
    if not parts.hostname:
        raise FetchError(f"the URL has no host: {url}")
    return url.strip()


def fetch_page(url: str, limits: FetchLimits | None = None) -> FetchedPage:
    """GET a page within `limits`.

    Raises:
        FetchError: bad scheme, connection failure or timeout, an HTTP error status, too many
            redirects, a body over the size cap, or a content type that is not a page.
    """
    import httpx

    limits = limits or FetchLimits()
    current = check_url(url)
    started = time.monotonic()
    with httpx.Client(timeout=limits.timeout, follow_redirects=False, verify=_tls(),
                      headers={"User-Agent": _USER_AGENT}) as client:
        for _ in range(limits.max_redirects + 1):
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        target = urljoin(current, response.headers.get("location", ""))
                        current = _redirect_target(current, target)
                        continue
                    return _read(response, current, limits, started)
            except httpx.TimeoutException as exc:
                raise FetchError(f"{_host(current)} did not answer within {limits.timeout:g} s "
                                 f"({type(exc).__name__})") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"cannot fetch {current}: {exc}") from exc
    raise FetchError(f"more than {limits.max_redirects} redirects, starting at {url}")


@functools.cache
def _tls() -> ssl.SSLContext:
    """The certificates httpx trusts by default (certifi's), loaded once: 0.2 s a fetch
    otherwise."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _redirect_target(source: str, target: str) -> str:
    try:
        return check_url(target)
    except FetchError as exc:
        raise FetchError(f"{source} redirects to {target}, which is refused ({exc})") from exc


def _read(response: object, url: str, limits: FetchLimits, started: float) -> FetchedPage:
    import httpx

    assert isinstance(response, httpx.Response)
    if response.status_code >= 400:
        raise FetchError(f"{url} answered HTTP {response.status_code} "
                         f"{response.reason_phrase}".rstrip())
    media, charset = _content_type(response.headers.get("content-type", ""))
    if media and media not in PAGE_TYPES:
        raise FetchError(f"{url} is {media}, not a web page: save its text as a .txt or .md "
                         "file and add that")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchError(f"{url} is {_mb(int(declared))}, over the {_mb(limits.max_bytes)} limit")
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > limits.max_bytes:
            raise FetchError(f"{url} is over the {_mb(limits.max_bytes)} limit")
        if time.monotonic() - started > limits.deadline:
            raise FetchError(f"{url} took over {limits.deadline:g} s to download")
    return FetchedPage(str(response.url), media, charset, bytes(body))


def _content_type(header: str) -> tuple[str, str | None]:
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
