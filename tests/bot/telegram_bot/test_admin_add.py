"""Adding articles from Telegram: /add URL and documents captioned /add, admins only, in a
private chat; the article answers questions at once. Real `coopbot serve`, real model, the fake
Bot API server and a web server, all on 127.0.0.1."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator

import pytest

from tests.support.telegram_harness import Harness, serving
from tests.support.web_server import Route, WebServer, page, web_server

pytestmark = pytest.mark.slow

ADMIN = 4242
PAGE_PATH = "/security/vietnam-cambodia-joint-patrols-scam-rings"
NOTE = (b"---\ntitle: Quang Ninh coast guard seizes smuggled fuel\ndate: 2024-07-09\n"
        b"source: Coast Guard Bulletin\n---\nThe coast guard in Quang Ninh seized 80,000 litres "
        b"of smuggled diesel from the tanker Hai Long 27 near Co To island on Tuesday.\n")


@pytest.fixture(scope="module")
def site() -> Iterator[WebServer]:
    routes = {PAGE_PATH: page("news_page.html"),
              "/brief.pdf": Route(content_type="application/pdf", body=b"%PDF-1.7")}
    with web_server(routes) as server:
        yield server


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with serving(tmp_path_factory.mktemp("serve-add"), COOPBOT_ADMIN_IDS=str(ADMIN),
                 COOPBOT_RATE_LIMIT="30") as harness:
        yield harness


def _reply(bot: Harness, chat_id: int, send: Callable[[], object],
           wanted: Callable[[str], bool] = lambda text: True, timeout: float = 120) -> str:
    """Send something, then wait for the first new reply in the chat that `wanted` accepts."""
    before = len(bot.replies(chat_id))
    send()

    def match(call: object) -> bool:
        replies = bot.replies(chat_id)[before:]
        return any(wanted(str(c.params["text"])) for c in replies)

    bot.wait_for("sendMessage", lambda c: match(c), timeout=timeout)
    return next(str(c.params["text"]) for c in bot.replies(chat_id)[before:]
                if wanted(str(c.params["text"])))


def _message(bot: Harness, text: str, chat_id: int, user_id: int,
             **kw: object) -> Callable[[], object]:
    return lambda: bot.call(bot.server.push_message, text, chat_id=chat_id, user_id=user_id, **kw)


def _outcome(text: str) -> bool:
    return text.startswith(("Added", "Not added", "Adding failed", "Not allowed", "Please send",
                            "I can add", "Send /add"))


def test_admin_adds_a_url_and_it_answers_at_once(bot: Harness, site: WebServer) -> None:
    done = _reply(bot, ADMIN, _message(bot, f"/add {site.url}{PAGE_PATH}", ADMIN, ADMIN),
                  _outcome)
    assert done.startswith("Added “Vietnam and Cambodia police to run joint patrols against "
                           "online scam rings” (2024-05-14): now searchable")
    saved = sorted(p.name for p in bot.seeds.glob("2024-05-14-*.md"))  # type: ignore[attr-defined]
    assert saved == ["2024-05-14-vietnam-and-cambodia-police-to-run-joint-patrols-against.md"]
    answer = _reply(bot, ADMIN, _message(bot, "How many Vietnamese were rescued from the scam "
                                              "compounds?", ADMIN, ADMIN))
    assert "237" in answer and "Mekong Security Review" in answer
    again = _reply(bot, ADMIN, _message(bot, f"/add {site.url}{PAGE_PATH}", ADMIN, ADMIN),
                   _outcome)
    assert again.startswith("Not added") and "already indexed" in again


def test_admin_adds_a_document_captioned_add(bot: Harness) -> None:
    def send() -> object:
        return bot.call(bot.server.push_document, "coast guard note.md", NOTE, chat_id=ADMIN,
                        user_id=ADMIN, caption="/add", mime_type="text/markdown")

    done = _reply(bot, ADMIN, send, _outcome)
    assert done.startswith("Added “Quang Ninh coast guard seizes smuggled fuel” (2024-07-09)")
    answer = _reply(bot, ADMIN, _message(bot, "How much diesel did the coast guard seize near "
                                              "Co To island?", ADMIN, ADMIN))
    assert "80,000" in answer


def test_refusals_are_clear(bot: Harness, site: WebServer) -> None:
    stranger = 5151
    refused = _reply(bot, stranger, _message(bot, f"/add {site.url}{PAGE_PATH}", stranger,
                                             stranger), _outcome)
    assert refused.startswith("Not allowed")
    in_group = _reply(bot, -700, _message(bot, f"/add {site.url}{PAGE_PATH}", -700, ADMIN,
                                          chat_type="group"), _outcome)
    assert in_group.startswith("Please send /add to me in a private chat")
    pdf = _reply(bot, ADMIN, _message(bot, f"/add {site.url}/brief.pdf", ADMIN, ADMIN), _outcome)
    assert pdf.startswith("Not added") and "application/pdf, not a web page" in pdf
    usage = _reply(bot, ADMIN, _message(bot, "/add", ADMIN, ADMIN), _outcome)
    assert usage.startswith("Send /add followed by the address")

    def send_pdf() -> object:
        return bot.call(bot.server.push_document, "brief.pdf", b"%PDF-1.7", chat_id=ADMIN,
                        user_id=ADMIN, caption="/add", mime_type="application/pdf")

    assert _reply(bot, ADMIN, send_pdf, _outcome).startswith("I can add only .txt, .md, .html")


def test_a_refusal_shows_the_address_as_typed(bot: Harness, site: WebServer) -> None:
    # The reply escapes the URL for HTML, so it must be sent as HTML: as plain text the admin
    # would read "&amp;" (the fake server refuses markup in a text sent without a parse mode).
    url = f"{site.url}/brief.pdf?utm_source=feed&id=7"
    refused = _reply(bot, ADMIN, _message(bot, f"/add {url}", ADMIN, ADMIN), _outcome)
    sent = [c for c in bot.replies(ADMIN) if c.params["text"] == refused][-1]
    assert sent.params.get("parse_mode") == "HTML"
    shown = html.unescape(refused)
    assert refused.startswith("Not added") and url in shown and "&amp;" not in shown
