"""The request layer under getUpdates: a token Telegram stops accepting is noticed.

PTB's polling loop stops for good on a rejected token (a 401, or a 404, which it also reads as
an invalid token) but leaves the process running, answering nothing. Watching getUpdates'
answers, through PTB's public `BaseRequest` seam, lets `coopbot serve` stop and exit non-zero
instead, so that a supervisor restarts it or alerts.
"""

from __future__ import annotations

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
        on_rejected: called (once, in the event loop) when getUpdates is answered 401 or 404.
        **kwargs: passed to `HTTPXRequest` (PTB's defaults for getUpdates apply otherwise).
    """

    def __init__(self, on_rejected: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_rejected = on_rejected
        self._told = False

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        """Send the request. A rejected token is reported, and PTB is handed an empty batch
        instead: its polling loop would otherwise die with the error, and the shutdown that
        `on_rejected` starts would end in tracebacks of half-stopped tasks."""
        status, payload = await super().do_request(url, method, *args, **kwargs)
        if status in REJECTED and url.endswith("/getUpdates"):
            if not self._told:
                self._told = True
                self._on_rejected()
            return 200, _NO_UPDATES
        return status, payload
