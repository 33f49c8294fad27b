"""The console's media transport: a :class:`~voice_ai.streaming.contracts.MediaTransport` over the browser's
WebSocket. It moves audio and events and carries out nothing: a transfer or a hang-up is shown, then the session
ends (a browser has nobody to transfer to).

Wire protocol (JSON text messages down, except where said; see ``docs/streaming.md``):

- ``{"type":"play","id","text","sample_rate","audio":"<base64 L16 mono>"}`` — one clip, sent in one go; the page
  queues clips back to back and answers ``played`` for each;
- ``{"type":"clear"}`` — barge-in: stop now and drop the queue;
- the call's own events (``transcript``, ``reply``, ``action``, ``latency``, ``barge_in``, ``state``) verbatim;
- ``{"type":"end","reason"}`` before the server closes the socket; ``{"type":"error","message"}`` on failure.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from voice_ai.streaming.contracts import Clip

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000


class ConsoleTransport:
    """One browser console session's side of a streaming call."""

    sample_rate = SAMPLE_RATE

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket
        self._lock = asyncio.Lock()
        self.ended = asyncio.Event()
        self.end_reason: str | None = None
        self.clips_sent = 0

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message; a browser that went away is not an error (the session is ending anyway)."""
        async with self._lock:
            if self._websocket.application_state != WebSocketState.CONNECTED:
                return
            try:
                await self._websocket.send_json(message)
            except (RuntimeError, OSError) as error:  # closed under us
                logger.debug("console: send after close (%s)", error)

    async def play(self, clip: Clip) -> None:
        self.clips_sent += 1
        await self.send(
            {
                "type": "play",
                "id": clip.id,
                "text": clip.text,
                "sample_rate": clip.audio.sample_rate,
                "audio": base64.b64encode(clip.audio.pcm).decode("ascii"),
            }
        )

    async def stop_playback(self) -> None:
        await self.send({"type": "clear"})

    async def transfer(self, destination: str, context: str | None) -> None:
        await self.send(
            {"type": "action", "action": "transfer", "destination": destination, "context": context, "shown_only": True}
        )
        await self.finish("transfer")

    async def hangup(self) -> None:
        await self.send({"type": "action", "action": "hangup", "shown_only": True})
        await self.finish("hangup")

    async def fail(self, reason: str) -> None:
        await self.send({"type": "error", "message": reason})
        await self.finish("error", code=1011)

    async def emit(self, event: dict[str, Any]) -> None:
        await self.send(event)

    async def finish(self, reason: str, *, code: int = 1000) -> None:
        """End the session: tell the page why, then close the socket (once)."""
        if self.ended.is_set():
            return
        self.end_reason = reason
        self.ended.set()
        await self.send({"type": "end", "reason": reason})
        async with self._lock:
            if self._websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, OSError):
                    await self._websocket.close(code=code, reason=reason[:120])
