"""The console's media transport: a :class:`~voice_ai.streaming.contracts.MediaTransport` over the browser's
WebSocket. It moves audio and events and carries out nothing: a transfer or a hang-up is shown (the call's ``action``
event), then the session ends (a browser has nobody to transfer to).

Wire protocol (JSON text messages down, except where said; see ``docs/streaming.md``):

- ``{"type":"play","id","text","sample_rate","audio":"<base64 L16 mono>"}`` — one clip, sent in one go; the page
  queues clips back to back and answers ``played`` for each;
- ``{"type":"clear"}`` — barge-in: stop now and drop the queue;
- ``{"type":"pause"}`` / ``{"type":"resume"}`` — a possible barge-in holds playback where it is (the queue waits);
  a cough or an "uhum" resumes it, a real interruption clears it;
- the call's own events (``transcript``, ``reply``, ``action``, ``latency``, ``barge_in``, ``state``) verbatim;
- ``{"type":"end","reason"[,"destination","context"]}`` before the server closes the socket (``transfer``,
  ``hangup``, ``error``, ``stopped``, ``closed``, ``time limit``); ``{"type":"error","message"}`` on failure.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from voice_ai.streaming.contracts import Clip

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000


class ConsoleTransport:
    """One browser console session's side of a streaming call."""

    sample_rate = SAMPLE_RATE

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket
        self._lock = asyncio.Lock()
        self.ending = asyncio.Event()  # the call ended the session (transfer, hang-up, failure)
        self.ended = False  # the page was told and the socket closed
        self.end_reason: str | None = None
        self.end_details: dict[str, Any] = {}
        self.clips_sent = 0

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message; a browser that went away is not an error (the session is ending anyway)."""
        async with self._lock:
            if self._websocket.application_state != WebSocketState.CONNECTED:
                return
            try:
                await self._websocket.send_json(message)
            except (RuntimeError, OSError, WebSocketDisconnect) as error:  # closed under us
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

    async def pause_playback(self) -> None:
        await self.send({"type": "pause"})

    async def resume_playback(self) -> None:
        await self.send({"type": "resume"})

    async def transfer(self, destination: str, context: str | None) -> None:
        # the call has shown the action (its "action" event); the session ends once the call has ended
        self._ending("transfer", destination=destination, context=context)

    async def hangup(self) -> None:
        self._ending("hangup")

    async def fail(self, reason: str) -> None:
        await self.send({"type": "error", "message": reason})
        self._ending("error")

    async def emit(self, event: dict[str, Any]) -> None:
        await self.send(event)

    def _ending(self, reason: str, **details: Any) -> None:
        if self.end_reason is None:
            self.end_reason = reason
            self.end_details = {key: value for key, value in details.items() if value is not None}
        self.ending.set()

    async def finish(self, reason: str) -> None:
        """End the session: tell the page why (``end``: the reason, a transfer's destination), then close (once)."""
        if self.ended:
            return
        self.ended = True
        self.end_reason = self.end_reason or reason
        await self.send({"type": "end", "reason": self.end_reason, **self.end_details})
        async with self._lock:
            if self._websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                    await self._websocket.close(code=1011 if self.end_reason == "error" else 1000)
