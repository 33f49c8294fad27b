"""Starting the FreeSWITCH side of streaming calls with the app: the event socket server, and the controller each
call gets — a :class:`voice_ai.streaming.call.StreamingCall` on the app's call engine and the call's transport."""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from voice_ai.core.config import Settings
from voice_ai.streaming.freeswitch.channel import ChannelInfo
from voice_ai.streaming.freeswitch.server import FreeswitchStreaming, ws_base
from voice_ai.streaming.freeswitch.session import CallController, ControllerFactory
from voice_ai.streaming.freeswitch.transport import FreeswitchTransport

logger = logging.getLogger(__name__)


def streaming_call_factory(app: FastAPI) -> ControllerFactory:
    """Each call: the app's call engine behind a StreamingCall (voice_ai.streaming.call)."""

    def build(channel: ChannelInfo, transport: FreeswitchTransport) -> CallController:
        # voice_ai.streaming.call lands separately (issue 11): until then a streaming call gets the fallback
        streaming_call: Any = importlib.import_module("voice_ai.streaming.call").StreamingCall
        engine: Any = app.state.runtime.call_engine  # the same engine turn-based calls use
        call: CallController = streaming_call(engine=engine, transport=transport)
        return call

    return build


@contextlib.asynccontextmanager
async def freeswitch_streaming(
    app: FastAPI, settings: Settings, factory: ControllerFactory | None = None
) -> AsyncIterator[FreeswitchStreaming | None]:
    """The event socket server for the app's lifetime (none when ``esl_port`` is 0)."""
    if settings.esl_port == 0:
        yield None
        return
    hub = FreeswitchStreaming(
        host=settings.esl_host,
        port=settings.esl_port,
        ws_base=ws_base(settings),
        factory=factory or streaming_call_factory(app),
    )
    await hub.start()
    app.state.freeswitch_streaming = hub
    try:
        yield hub
    finally:
        await hub.stop()
