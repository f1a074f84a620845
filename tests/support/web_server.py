"""A small web server on 127.0.0.1 for fetch and `coopbot add` tests: fixed routes, with
redirects, errors, wrong content types, oversized and slow answers on demand."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Route:
    """One answer: status, headers and body; `delay` seconds before answering, `trickle`
    seconds between 1 KB pieces of the body."""

    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    body: bytes = b""
    location: str | None = None
    delay: float = 0.0
    trickle: float = 0.0


def page(name: str) -> Route:
    """A page from tests/data."""
    return Route(body=(DATA / name).read_bytes())


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Route] = {}
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        self.hits.append(self.path)
        route = self.routes.get(self.path.split("?")[0], Route(404, "text/plain", b"not found"))
        time.sleep(route.delay)
        self.send_response(route.status)
        if route.content_type:
            self.send_header("Content-Type", route.content_type)
        if route.location:
            self.send_header("Location", route.location)
        if not route.trickle:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        try:
            if not route.trickle:
                self.wfile.write(route.body)
                return
            for start in range(0, len(route.body), 1024):
                self.wfile.write(route.body[start : start + 1024])
                self.wfile.flush()
                time.sleep(route.trickle)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: the tests assert on what matters."""


@dataclass
class WebServer:
    """A running server: its base URL, its routes (mutable) and the paths requested."""

    url: str
    routes: dict[str, Route]
    hits: list[str]


@contextmanager
def web_server(routes: dict[str, Route]) -> Iterator[WebServer]:
    """Serve `routes` on 127.0.0.1 (a free port) for the duration of the block."""
    handler: type[_Handler] = type("Handler", (_Handler,), {"routes": dict(routes), "hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebServer(f"http://127.0.0.1:{server.server_address[1]}", handler.routes,
                        handler.hits)
    finally:
        server.shutdown()
        server.server_close()
