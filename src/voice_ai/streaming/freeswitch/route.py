"""``/v1/stream/freeswitch/{token}``: the WebSocket mod_audio_stream opens for one streaming call.

The token (pairing.py) is the credential: minted by the call's event socket session, single use, seconds long.
An unknown token is refused before the WebSocket is accepted. The handler lives as long as the call, which the
event socket session drives (session.py)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, WebSocket, status

from voice_ai.streaming.freeswitch.session import AudioLink

router = APIRouter()

PATH_PREFIX = "/v1/stream/freeswitch/"
PUBLIC_PATHS = (PATH_PREFIX,)  # no API key here (core.security's ``public``): the token in the path is the key


@router.websocket("/v1/stream/freeswitch/{token}")
async def freeswitch_stream(websocket: WebSocket, token: str) -> None:
    hub = getattr(websocket.app.state, "freeswitch_streaming", None)
    if hub is None or not hub.pairings.waiting(token):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    link = AudioLink(websocket)
    if not hub.pairings.claim(token, link):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await link.done.wait()
    with contextlib.suppress(RuntimeError):  # the session closed it already
        await websocket.close()
