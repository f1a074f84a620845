"""The request layer under getUpdates: a rejected token is noticed, and each batch is
screened before python-telegram-bot reads it.

PTB's polling loop stops for good on a rejected token (a 401, or a 404, which it also reads as
an invalid token) but leaves the process running, answering nothing. Watching getUpdates'
answers, through PTB's public `BaseRequest` seam, lets `coopbot serve` stop and exit non-zero
instead, so that a supervisor restarts it or alerts. The same seam hands each batch to
`bot.telegram_bot.intake` first: the inbox stores it, and unreadable updates are set aside.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

REJECTED = (401, 404)
"""The statuses PTB turns into `InvalidToken`."""
_NO_UPDATES = b'{"ok": true, "result": []}'


class WatchedPolling(HTTPXRequest):
    """PTB's HTTP request for getUpdates, calling `on_rejected` once the token is refused.

    Args:
        on_rejected: called (once, in the event loop) when getUpdates is answered 401 or 404;
            None leaves a rejected token to PTB, which stops polling.
        screen: called with each batch of raw updates; what it returns is what PTB reads.
        **kwargs: passed to `HTTPXRequest` (PTB's defaults for getUpdates apply otherwise).
    """

    def __init__(
        self,
        on_rejected: Callable[[], None] | None,
        screen: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._on_rejected = on_rejected
        self._screen = screen
        self._told = False

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        """Send the request. A rejected token is reported, and PTB is handed an empty batch
        instead: its polling loop would otherwise die with the error, and the shutdown that
        `on_rejected` starts would end in tracebacks of half-stopped tasks."""
        status, payload = await super().do_request(url, method, *args, **kwargs)
        if status in REJECTED and self._on_rejected and url.endswith("/getUpdates"):
            if not self._told:
                self._told = True
                self._on_rejected()
            return 200, _NO_UPDATES
        if status == 200 and self._screen is not None and url.endswith("/getUpdates"):
            return status, self._screened(payload)
        return status, payload

    def _screened(self, payload: bytes) -> bytes:
        """The batch after `screen`; a payload that is not a batch goes to PTB unchanged, to
        be reported as it would be without this layer."""
        try:
            answer = json.loads(payload)
        except ValueError:
            return payload
        batch = answer.get("result") if isinstance(answer, dict) else None
        if not answer.get("ok") or not isinstance(batch, list) or not batch:
            return payload
        updates = [u for u in batch if isinstance(u, dict)]
        answer["result"] = self._screen(updates) if self._screen else updates
        return json.dumps(answer).encode()
