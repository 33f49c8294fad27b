"""An upload bound applied before the body is parsed: a call turn's form larger than any turn can be is refused
with 413 (JSON) from its ``Content-Length``, or as soon as that many bytes arrived, instead of being spooled,
parsed and decoded first."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voice_ai.services.turn_audio import MAX_TURN_FORM_BYTES, too_large

TURN_PATH = re.compile(r"^/api/v1/calls/[^/]+/turns$")


class TurnUploadLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_TURN_FORM_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {"detail": too_large(f"the upload is larger than {self.max_bytes / (1024 * 1024):.1f} MiB").message}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not TURN_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received, refused = 0, False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # no Content-Length (chunked), or a lying one
                    refused = True
                    await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:  # the app's own answer to the cut-off body is dropped: the 413 was sent
                await send(message)

        await self.app(scope, counted, guarded)
