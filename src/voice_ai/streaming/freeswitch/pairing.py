"""One-time tokens that pair a call's audio WebSocket (opened by mod_audio_stream) with its event socket session.

FreeSWITCH cannot send the service's API key on the WebSocket, so the URL carries a token instead: minted by the
event socket session for its call, 32 random bytes, valid once and only until the WebSocket arrives (a few
seconds); anything else presenting itself is refused before the WebSocket is accepted.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any


class Pairings:
    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Any]] = {}

    def mint(self) -> tuple[str, asyncio.Future[Any]]:
        """A new token and the future that receives what presents it (the WebSocket)."""
        token = secrets.token_urlsafe(32)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        return token, future

    def claim(self, token: str, value: Any) -> bool:
        """Hand ``value`` to the session that minted ``token``; False when the token is unknown, used or expired."""
        future = self._waiting.pop(token, None)
        if future is None or future.done():
            return False
        future.set_result(value)
        return True

    def waiting(self, token: str) -> bool:
        future = self._waiting.get(token)
        return future is not None and not future.done()

    def discard(self, token: str) -> None:
        future = self._waiting.pop(token, None)
        if future is not None and not future.done():
            future.cancel()

    def __len__(self) -> int:
        return len(self._waiting)
