"""Starting the FreeSWITCH side of streaming calls with the app: the event socket server, and the controller each
call gets — a :class:`voice_ai.streaming.call.StreamingCall` on the app's call engine (the same
:class:`voice_ai.conversation.engine.CallEngine` turn-based calls use) and the call's :class:`FreeswitchTransport`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

from fastapi import FastAPI

from voice_ai.core.config import Settings
from voice_ai.streaming.freeswitch.channel import ChannelInfo, safe_context, safe_destination
from voice_ai.streaming.freeswitch.server import FreeswitchStreaming, ws_base
from voice_ai.streaming.freeswitch.session import CallController, ControllerFactory
from voice_ai.streaming.freeswitch.transport import FreeswitchTransport

if TYPE_CHECKING:  # the streaming call loads VAD and DSP libraries: only when a call comes
    from voice_ai.streaming.call import StreamingCall
    from voice_ai.streaming.contracts import MediaTransport

logger = logging.getLogger(__name__)


class StreamingController:
    """A :class:`StreamingCall` as the event socket session drives it (session.CallController)."""

    def __init__(self, call: StreamingCall, transport: FreeswitchTransport) -> None:
        self.call = call
        self.transport = transport
        self._closing: asyncio.Task[None] | None = None

    async def run(self) -> None:
        started = await self.call.start()
        if started is not None and not self.transport.ended:
            transport = self.transport
            transport.conversation_uuid = str(started.conversation_uuid)
            transport.language = started.language
            if safe_destination(started.operator_destination) and safe_context(
                started.operator_context or transport.channel.fallback_context
            ):
                assert started.operator_destination is not None
                transport.operator = (
                    started.operator_destination,
                    started.operator_context or transport.channel.fallback_context or "default",
                )
            await transport.remember_start()
        await self.transport.finished.wait()  # an action of ours (transfer, hang-up, failure), or the caller left
        if self._closing is not None:
            await self._closing
        await self.call.wait()

    def feed(self, pcm: bytes) -> None:
        self.call.feed(pcm)

    def dtmf(self, digit: str) -> None:
        self.call.dtmf(digit)

    def playback_started(self, clip_id: str) -> None:
        self.call.playback_started(clip_id)

    def playback_stopped(self, clip_id: str, *, finished: bool) -> None:
        self.call.playback_stopped(clip_id, completed=finished)

    def failed(self, reason: str) -> None:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self.call.failed(reason))
        self.transport.finished.set()

    def closed(self) -> None:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(
                self.call.closed("the caller hung up or the link closed")
            )
        self.transport.finished.set()


def streaming_call_factory(app: FastAPI) -> ControllerFactory:
    """Each call: a StreamingCall on the app's call engine."""

    def build(channel: ChannelInfo, transport: FreeswitchTransport) -> CallController:
        from voice_ai.conversation.engine import CallEngine
        from voice_ai.streaming.call import CallerInfo, StreamingCall

        assert channel.domain_uuid is not None and channel.secretary is not None  # session.run checked them
        call = StreamingCall(
            CallEngine(app.state.runtime),
            cast("MediaTransport", transport),  # with pause_playback / resume_playback (one clip at a time)
            channel.domain_uuid,
            channel.call_uuid,
            channel.secretary,
            CallerInfo(channel.caller_id_number, channel.caller_id_name, channel.destination_number),
        )
        return StreamingController(call, transport)

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
        allow=settings.esl_allow,
    )
    await hub.start()
    app.state.freeswitch_streaming = hub
    try:
        yield hub
    finally:
        await hub.stop()
