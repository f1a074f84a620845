"""Webhook mode: coopbot's own web server in front of the application, on tornado (which
python-telegram-bot's webhook extra installs).

PTB's built-in webhook server answers an update it cannot parse with HTTP 400, which Telegram
retries for hours, and logs it as CRITICAL with the whole update (names and text). It also
confirms an update before anything has stored it. This server, on one port:

- ``POST /telegram``: checks the secret token, stores the update in the inbox, then queues
  it for the handlers and answers 200. An update PTB cannot read is set aside with one line
  (its keys and the parser's reason, never its content) and answered 200, so Telegram stops
  sending it; a redelivery is answered 200 and not queued again. While the bot stops, an
  update is stored and answered at the next start.
- ``GET /healthz``: 200 when the index is loaded and the Bot API answered within the last
  `Health.BOT_API_TTL_S`, else 503; a JSON body says which part failed (for a load
  balancer's health check).
- ``GET /metrics``: the bot's counters in Prometheus's text format (`metrics.BotMetrics`).

`run_webhook` runs the application around it as PTB's `Application.run_webhook` does
(initialize, post_init, start, run until a signal or `stop_running`, then stop in order).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import tornado.web
from telegram import Update
from telegram.ext import Application, ExtBot
from tornado.httpserver import HTTPServer

from bot.telegram_bot.intake import Intake, unreadable
from bot.telegram_bot.metrics import CONTENT_TYPE, BotMetrics

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATES_PATH = "/telegram"

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


@dataclass
class Health:
    """Whether this replica can answer: its index loaded, the Bot API reachable."""

    application: AnyApplication
    BOT_API_TTL_S = 30.0
    """How long a successful getMe counts: a load balancer polling every few seconds must not
    become a stream of calls to Telegram."""
    BOT_API_TIMEOUT_S = 5.0
    _checked_at: float = field(default=-1e9, init=False)
    _bot_api: str = field(default="not checked", init=False)

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, the parts' states)."""
        from bot.telegram_bot.app import services_of

        parts: dict[str, Any] = {}
        try:
            info = services_of(self.application).library.info()
            parts["index"] = {"articles": info.articles, "passages": info.passages,
                              "built_at": info.built_at}
            index_ok = info.passages > 0
        except Exception as exc:  # noqa: BLE001 - whatever stops the index, health says so
            parts["index"] = f"unavailable: {type(exc).__name__}"
            index_ok = False
        if time.monotonic() - self._checked_at > self.BOT_API_TTL_S or self._bot_api != "ok":
            try:
                await asyncio.wait_for(self.application.bot.get_me(), self.BOT_API_TIMEOUT_S)
                self._bot_api, self._checked_at = "ok", time.monotonic()
            except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
                self._bot_api = f"unreachable: {type(exc).__name__}"
        parts["bot_api"] = self._bot_api
        healthy = index_ok and self._bot_api == "ok"
        parts["status"] = "ok" if healthy else "unavailable"
        return healthy, parts


class WebhookReceiver:
    """Takes updates from the web server into the inbox and the application's queue."""

    def __init__(self, application: AnyApplication, intake: Intake,
                 secret: str | None) -> None:
        self.application = application
        self.intake = intake
        self.secret = secret.encode() if secret else None

    def authorised(self, token: str | None) -> bool:
        """True when the request carries the secret (compared in constant time)."""
        if self.secret is None:
            return True
        return token is not None and hmac.compare_digest(token.encode(), self.secret)

    async def receive(self, body: object) -> None:
        """Store, then queue, one update (see the module docstring); never raises for what
        Telegram sent, so that Telegram always gets its 200."""
        update_id = body.get("update_id") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(update_id, int):
            log.warning("webhook: a request without an update_id was ignored")
            return
        reason = unreadable(body)
        if reason is not None:
            await asyncio.to_thread(self.intake.set_aside, update_id, reason, body)
            return
        fresh = await asyncio.to_thread(self.intake.admit_one, body)
        if not fresh:
            log.info("update %d was delivered before: not answered again", update_id)
            return
        if self.intake.stopping:  # stored: the next start answers it
            return
        bot = self.application.bot
        update = Update.de_json(body, bot)
        if isinstance(bot, ExtBot):  # arbitrary callback data, when the bot uses it
            bot.insert_callback_data(update)
        await self.application.update_queue.put(update)


class _Updates(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("POST",)

    def initialize(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver

    async def post(self) -> None:
        if not self.receiver.authorised(self.request.headers.get(SECRET_HEADER)):
            raise tornado.web.HTTPError(403)
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != "application/json":
            raise tornado.web.HTTPError(415)
        try:
            body = json.loads(self.request.body)
        except ValueError:
            log.warning("webhook: a request body that is not JSON (%d bytes) was refused",
                        len(self.request.body))
            raise tornado.web.HTTPError(400) from None
        await self.receiver.receive(body)
        self.set_status(200)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, tornado.web.HTTPError):  # a refusal is not an error
            super().log_exception(typ, value, tb)


class _Health(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET",)

    def initialize(self, health: Health) -> None:
        self.health = health

    async def get(self) -> None:
        healthy, parts = await self.health.report()
        self.set_status(200 if healthy else 503)
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(parts))


class _Metrics(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET",)

    def initialize(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE)
        self.write(self.metrics.exposition())


class _Quiet(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """No access log: Telegram's requests would be a line per question."""


class WebhookServer:
    """The web server: updates, health and metrics on one address."""

    def __init__(self, receiver: WebhookReceiver, health: Health, metrics: BotMetrics, *,
                 listen: str, port: int) -> None:
        self.listen, self.port = listen, port
        routes: list[Any] = [
            (rf"{UPDATES_PATH}/?", _Updates, {"receiver": receiver}),
            (r"/healthz", _Health, {"health": health}),
            (r"/metrics", _Metrics, {"metrics": metrics}),
        ]
        self._http = HTTPServer(_Quiet(routes))
        self.running = False

    def start(self) -> None:
        """Listen (from within the event loop)."""
        self._http.listen(self.port, address=self.listen)
        self.running = True

    async def stop(self) -> None:
        """Stop listening and close the connections."""
        if self.running:
            self.running = False
            self._http.stop()
            await self._http.close_all_connections()


def run_webhook(application: AnyApplication, server: WebhookServer, *, webhook_url: str,
                secret: str) -> None:
    """Run `application` behind `server` until a stop signal or `stop_running`, registering
    `webhook_url` with Telegram (as PTB's `run_webhook`, whose `stop_running` relies on the
    loop running forever; see the module docstring)."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

    def stop_signal() -> None:
        raise SystemExit

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGABRT):
        # post_init replaces SIGTERM's with one that finishes the questions in hand.
        loop.add_signal_handler(sig, stop_signal)
    try:
        loop.run_until_complete(application.initialize())
        if application.post_init:
            loop.run_until_complete(application.post_init(application))
        server.start()
        loop.run_until_complete(application.bot.set_webhook(
            webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES))
        loop.run_until_complete(application.start())
        log.info("webhook: listening on %s:%d (%s, /healthz, /metrics)", server.listen,
                 server.port, UPDATES_PATH)
        loop.run_forever()
    except (KeyboardInterrupt, SystemExit):
        log.debug("stop signal")
    finally:
        loop.run_until_complete(server.stop())
        if application.running:
            loop.run_until_complete(application.stop())
            if application.post_stop:
                loop.run_until_complete(application.post_stop(application))
        loop.run_until_complete(application.shutdown())
        if application.post_shutdown:
            loop.run_until_complete(application.post_shutdown(application))
