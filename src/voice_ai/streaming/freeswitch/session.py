"""One FreeSWITCH streaming call, from the event socket connection to its end.

The entry script (voice_ai.stream) runs ``socket <service>:<esl port> async full``; FreeSWITCH connects and this
session:

1. ``connect`` (the channel's data), ``myevents json`` (this call's events), ``linger`` (the last events after a
   hang-up) and the events we act on. No ``resume``: the entry script set ``socket_resume=true`` itself (so a
   service that dies at any moment still gives the call back), and the transport turns it off before it hands
   the call elsewhere (a ``resume`` flag cannot be taken back, and an event socket that closes with it set
   after a transfer would reset the channel wherever it is then);
2. mints a one-time token and starts ``uuid_audio_stream <uuid> start ws://…/v1/stream/freeswitch/<token> mono 8k``;
   the WebSocket that presents the token (route.py) is this call's audio (no API key: FreeSWITCH cannot send one;
   the token is single use, unguessable and expires in seconds);
3. builds the call's controller (the streaming call) with a :class:`FreeswitchTransport` and runs it, feeding it
   the caller's audio (binary L16 frames), keys, playback events and the end of the call.

Whatever goes wrong before the controller runs — a channel without a tenant, no WebSocket within the deadline,
a controller that cannot start — the session fails over: the entry script plays the apology and hands the caller to
the fallback destination.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from voice_ai.streaming.freeswitch.channel import ChannelInfo
from voice_ai.streaming.freeswitch.esl import EslConnection, EslError, EslEvent
from voice_ai.streaming.freeswitch.pairing import Pairings
from voice_ai.streaming.freeswitch.transport import FreeswitchTransport

logger = logging.getLogger(__name__)

EVENTS = (
    "event json CHANNEL_HANGUP DTMF PLAYBACK_START PLAYBACK_STOP CHANNEL_BRIDGE CHANNEL_EXECUTE_COMPLETE "
    "CUSTOM mod_audio_stream::play mod_audio_stream::error mod_audio_stream::disconnect"
)
LINGER_S = 10
WS_DEADLINE_S = 5.0  # mod_audio_stream connects within milliseconds on a healthy host
END_GRACE_S = 10.0  # how long a controller may take to wind down after the caller left
# the audio WebSocket closes as the caller's channel hangs up, and FreeSWITCH's CHANNEL_HANGUP may reach the event
# socket a moment later: how long a closed WebSocket waits for it before it counts as a failed link
HANGUP_GRACE_S = 1.0


class CallController(Protocol):
    """What the session drives: the streaming call (voice_ai.streaming.call.StreamingCall, through glue.py)."""

    async def run(self) -> None:
        """Drive the call until it ends (greeting, turns, the final action)."""
        ...

    def feed(self, pcm: bytes) -> None: ...

    def dtmf(self, digit: str) -> None: ...

    def playback_started(self, clip_id: str) -> None: ...

    def playback_stopped(self, clip_id: str, *, finished: bool) -> None: ...

    def closed(self) -> None:
        """The caller hung up, or the link to FreeSWITCH is gone."""
        ...

    def failed(self, reason: str) -> None:
        """The call's audio link failed while the service is alive; the transport already handed the caller to the
        entry script's fallback (apology + operator): the conversation ends as an error, not as the caller's hang-up."""
        ...


ControllerFactory = Callable[[ChannelInfo, FreeswitchTransport], CallController]


@dataclass
class AudioLink:
    """What the WebSocket route hands the session: the accepted WebSocket, and the event the route waits on (a
    WebSocket lives as long as its route handler)."""

    websocket: WebSocket
    done: asyncio.Event = field(default_factory=asyncio.Event)


class FreeswitchCallSession:
    def __init__(
        self,
        esl: EslConnection,
        *,
        pairings: Pairings,
        ws_base: str,
        factory: ControllerFactory,
        sample_rate: int = 8000,
    ) -> None:
        self.esl = esl
        self.pairings = pairings
        self.ws_base = ws_base.rstrip("/")
        self.factory = factory
        self.sample_rate = sample_rate
        self.channel: ChannelInfo | None = None
        self.transport: FreeswitchTransport | None = None
        self.controller: CallController | None = None
        self.websocket: WebSocket | None = None
        self.hung_up = False
        self.frames = 0
        self._finished = asyncio.Event()
        self._link_done: asyncio.Event | None = None

    async def run(self) -> None:
        esl = self.esl
        esl.start()
        try:
            connected = await esl.send("connect")
            self.channel = channel = ChannelInfo.from_headers(connected.headers)
            for command in ("myevents json", f"linger {LINGER_S}", EVENTS):
                await esl.command(command)
        except (EslError, TimeoutError, ValueError) as exc:
            logger.warning("event socket: a call could not be set up: %s", exc)
            await esl.close()
            self._finished.set()
            return
        problems = channel.problems
        if problems:
            logger.error("call %s: %s", channel.call_uuid, "; ".join(problems))
            await self._give_back("; ".join(problems))
            return
        token, attached = self.pairings.mint()
        try:
            rate = "16k" if self.sample_rate == 16000 else "8k"
            url = f"{self.ws_base}/v1/stream/freeswitch/{token}"
            started = await esl.api(f"uuid_audio_stream {channel.call_uuid} start {url} mono {rate}")
            if not started.startswith("+OK"):
                raise EslError(f"uuid_audio_stream start: {started}")
            link: AudioLink = await asyncio.wait_for(attached, WS_DEADLINE_S)
            self.websocket, self._link_done = link.websocket, link.done
        except (EslError, TimeoutError) as exc:
            self.pairings.discard(token)
            logger.error("call %s: no audio stream: %s", channel.call_uuid, exc)
            await self._give_back(f"no audio stream from mod_audio_stream: {exc}")
            return
        self.transport = FreeswitchTransport(esl, self.websocket, channel, sample_rate=self.sample_rate)
        try:
            self.controller = self.factory(channel, self.transport)
        except Exception as exc:
            logger.exception("call %s: the streaming call could not be built", channel.call_uuid)
            await self._give_back(f"the streaming call could not start: {exc}")
            return
        self.transport.listener = self.controller
        await self._drive(self.controller, self.transport)

    async def _drive(self, controller: CallController, transport: FreeswitchTransport) -> None:
        assert self.websocket is not None
        pumps = [
            asyncio.create_task(self._pump_events(controller, transport), name="fs-events"),
            asyncio.create_task(self._pump_audio(controller, self.websocket), name="fs-audio"),
        ]
        call = asyncio.create_task(controller.run(), name="fs-call")
        try:
            done, _ = await asyncio.wait([call, *pumps], return_when=asyncio.FIRST_COMPLETED)
            if call not in done:
                events = pumps[0]
                if events not in done and not transport.ended and not self.hung_up:
                    # the WebSocket closed first: a hang-up's CHANNEL_HANGUP may be on its way (the caller left —
                    # not a failed link); the event pump returns on it, or when the event socket closes
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(events), HANGUP_GRACE_S)
                # the caller or the link went away first: let the call wind down (store the end) within a grace
                if not transport.ended and not self.hung_up and not self.esl.closed.is_set():
                    reason = "the audio WebSocket closed"
                    await transport.fail(reason)
                    controller.failed(reason)
                else:
                    controller.closed()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(call), END_GRACE_S)
            if call.done() and not call.cancelled() and call.exception() is not None:
                logger.error("call %s: the streaming call failed", self.uuid, exc_info=call.exception())
                if not transport.ended and not self.hung_up:
                    await transport.fail(f"the streaming call failed: {call.exception()}")
            elif call.done() and not transport.ended and not self.hung_up:
                # the controller returned without ending the call: never leave the caller in silence
                await transport.fail("the streaming call ended without an action")
        finally:
            for task in (call, *pumps):
                task.cancel()
            for task in (call, *pumps):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self._close()

    async def _pump_events(self, controller: CallController, transport: FreeswitchTransport) -> None:
        while (event := await self.esl.events.get()) is not None:
            try:
                await self._on_event(event, controller, transport)
            except (EslError, TimeoutError) as exc:
                logger.info("call %s: %s while handling %s", self.uuid, exc, event.name)
            if self.hung_up:
                return

    async def _on_event(self, event: EslEvent, controller: CallController, transport: FreeswitchTransport) -> None:
        name, subclass = event.name, event.subclass
        if name == "DTMF":
            digit = event.get("DTMF-Digit")
            if digit:
                controller.dtmf(digit[:1])
        elif name == "CHANNEL_HANGUP":
            self.hung_up = True
            transport.caller_left()
        elif subclass in ("mod_audio_stream::error", "mod_audio_stream::disconnect"):
            logger.warning("call %s: %s %s", self.uuid, subclass, event.body[:300])
        else:
            await transport.on_event(event)

    async def _pump_audio(self, controller: CallController, websocket: WebSocket) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                if data:
                    self.frames += 1
                    controller.feed(data)
                # text: the optional metadata (we send none); nothing else comes from mod_audio_stream

    async def _give_back(self, reason: str) -> None:
        """Before any controller exists: the entry script's fallback takes the caller."""
        assert self.channel is not None
        with contextlib.suppress(EslError, TimeoutError):
            await self.esl.api(f"uuid_setvar {self.channel.call_uuid} voice_ai_stream_error {reason[:400]}")
        await self._close()

    async def _close(self) -> None:
        if self.websocket is not None:
            with contextlib.suppress(Exception):
                await self.websocket.close()
        await self.esl.close()
        if self._link_done is not None:
            self._link_done.set()
        self._finished.set()

    async def wait(self) -> None:
        await self._finished.wait()

    @property
    def uuid(self) -> str:
        return self.channel.call_uuid if self.channel else "?"
