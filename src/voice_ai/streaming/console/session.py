"""One console session: the WebSocket ``/api/v1/stream/console?token=…`` between the browser and a streaming call.

Browser → server: binary messages are the microphone, L16 mono at 16 kHz (the page sends 20 ms frames; any size
up to :data:`MAX_FRAME_BYTES` is accepted); text messages are JSON:

- ``{"type":"playing","id"}`` — a clip started to play;
- ``{"type":"played","id","completed":bool,"played_ms"}`` — a clip finished, or was cut (``clear``) after
  ``played_ms`` of it (the call takes the message's arrival as the moment it stopped);
- ``{"type":"dtmf","digit"}`` — a key of the page's keypad (``0`` operator, ``*`` repeat, ``#`` end of turn);
- ``{"type":"stop"}`` — the admin ended the session (as a caller hanging up).

Server → browser: ``{"type":"ready",…}`` first, then what :class:`~.transport.ConsoleTransport` sends.

The call behind it is made by the app's ``console_call_factory`` (``app.state``; the streaming call by default,
a stand-in in tests). The tenant and the secretary come from the token only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from voice_ai.conversation.engine import CallEngine
from voice_ai.db.repositories.entities import SecretaryRepository
from voice_ai.runtime import Runtime
from voice_ai.streaming.call import CallerInfo, StreamingCall
from voice_ai.streaming.console.tokens import ConsoleGrant, ConsoleTokens, InvalidConsoleToken
from voice_ai.streaming.console.transport import SAMPLE_RATE, ConsoleTransport
from voice_ai.streaming.contracts import StreamingEngine

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 32000  # one second of 16 kHz L16: the page sends 640-byte frames
MAX_TEXT_CHARS = 2000
MAX_SESSION_S = 30 * 60.0  # a console session is a test conversation, not a line left open
MAX_AHEAD_S = 2.0  # a microphone sends audio in real time: a client this far ahead is flooding (closed, 1008)
DTMF_DIGITS = frozenset("0123456789*#")


class ConsoleCall(Protocol):
    """What the session drives: :class:`voice_ai.streaming.call.StreamingCall` (or a stand-in with its methods)."""

    async def start(self) -> object:
        """Start the conversation and play the greeting (returns once started; the call then lives on its own)."""
        ...

    def feed(self, pcm: bytes) -> None: ...

    def dtmf(self, digit: str) -> None: ...

    def playback_started(self, clip_id: str, at: float | None = None) -> None: ...

    def playback_stopped(self, clip_id: str, at: float | None = None, completed: bool = True) -> None: ...

    async def closed(self, reason: str) -> None:
        """The browser went away or pressed stop: the caller hung up."""
        ...

    async def wait(self) -> None:
        """Until every task of the call is over."""
        ...


@dataclass(frozen=True)
class CallSetup:
    runtime: Runtime
    transport: ConsoleTransport
    domain_uuid: uuid.UUID
    secretary_uuid: uuid.UUID
    call_uuid: str


CallFactory = Callable[[CallSetup], ConsoleCall]


def streaming_call(setup: CallSetup, engine: StreamingEngine | None = None) -> ConsoleCall:
    """The streaming call over the shared call engine (the default factory; tests may pass another engine)."""
    return StreamingCall(
        engine or CallEngine(setup.runtime),
        setup.transport,
        setup.domain_uuid,
        setup.call_uuid,
        str(setup.secretary_uuid),
        CallerInfo(caller_id_number="console", caller_id_name="Console", destination_number=None),
    )


def console_tokens(app_state: Any, runtime: Runtime) -> ConsoleTokens:
    """The app's token signer, made once from the runtime's settings."""
    tokens: ConsoleTokens | None = getattr(app_state, "console_tokens", None)
    if tokens is None:
        tokens = ConsoleTokens.from_settings(runtime.settings)
        app_state.console_tokens = tokens
    return tokens


async def _refuse(websocket: WebSocket, message: str) -> None:
    """Accepted, told why, closed (a refused handshake would leave the page without a reason to show)."""
    await websocket.accept()
    await websocket.send_json({"type": "error", "message": message})
    await websocket.close(code=1008, reason=message[:120])


async def console_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    try:
        grant = console_tokens(websocket.app.state, runtime).verify(websocket.query_params.get("token"))
    except InvalidConsoleToken as error:
        await _refuse(websocket, str(error))
        return
    secretary = await _secretary(runtime, grant)
    if secretary is None:
        await _refuse(websocket, "secretary not found (deleted, or not this tenant's)")
        return
    await websocket.accept()
    transport = ConsoleTransport(websocket)
    call_uuid = f"console-{uuid.uuid4().hex}"
    await transport.send(
        {
            "type": "ready",
            "call_uuid": call_uuid,
            "sample_rate": SAMPLE_RATE,
            "frame_ms": 20,
            "secretary": secretary,
            "expires_at": grant.expires_at,
        }
    )
    factory: CallFactory = getattr(websocket.app.state, "console_call_factory", None) or streaming_call
    call = factory(CallSetup(runtime, transport, grant.domain_uuid, grant.secretary_uuid, call_uuid))
    await Session(websocket, transport, call).run()


async def _secretary(runtime: Runtime, grant: ConsoleGrant) -> dict[str, Any] | None:
    async with runtime.sessionmaker() as session:
        row = await SecretaryRepository(session).get(grant.domain_uuid, grant.secretary_uuid)
        if row is None:
            return None
        return {
            "uuid": str(row.voice_secretary_uuid),
            "name": row.name,
            "language": row.language,
            "extension": row.extension,
            "enabled": row.enabled,
            "call_mode": row.call_mode,
        }


class Session:
    """Runs the call and the browser's messages side by side until either ends."""

    def __init__(self, websocket: WebSocket, transport: ConsoleTransport, call: ConsoleCall) -> None:
        self.websocket = websocket
        self.transport = transport
        self.call = call
        self.stopped = False

    async def run(self) -> None:
        call_task = asyncio.create_task(self._run_call(), name="console-call")
        reader = asyncio.create_task(self._read(), name="console-read")
        try:
            done, _ = await asyncio.wait({call_task, reader}, timeout=MAX_SESSION_S, return_when="FIRST_COMPLETED")
            if call_task not in done:  # the browser left or pressed stop, or the time is up: the caller hung up
                reason = "stopped" if self.stopped else ("closed" if done else "time limit")
                self.transport.end_reason = self.transport.end_reason or reason
                try:
                    await asyncio.wait_for(self._hang_up(reason), timeout=15)
                except Exception:
                    logger.exception("console call: ending it failed")
                call_task.cancel()
        finally:
            for task in (reader, call_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.transport.finish("closed")

    async def _hang_up(self, reason: str) -> None:
        await self.call.closed(reason)
        await self.call.wait()

    async def _run_call(self) -> None:
        """The call's life: started, then on its own until it ends the session (transfer, hang-up, failure)."""
        try:
            await self.call.start()
            await self.transport.ending.wait()
            await asyncio.wait_for(self.call.wait(), timeout=15)  # its last events (the action) are sent first
        except asyncio.CancelledError:
            raise
        except Exception as error:
            logger.exception("console call failed")
            await self.transport.fail(f"the call failed: {type(error).__name__}")

    async def _read(self) -> None:
        started: float | None = None
        audio_s = 0.0
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                if data is not None:
                    if len(data) > MAX_FRAME_BYTES or len(data) % 2:
                        await self.transport.send(
                            {"type": "error", "message": "audio frames are L16 (even length), at most 1 s each"}
                        )
                        continue
                    # paced like a microphone: the voice detector runs inline for every call on this loop, so a
                    # client sending faster than real time would slow everyone's calls down
                    now = time.monotonic()
                    started = now if started is None else started
                    audio_s += len(data) / 2 / SAMPLE_RATE
                    if audio_s > now - started + MAX_AHEAD_S:
                        await self.transport.send(
                            {"type": "error", "message": "audio is arriving faster than real time; closing"}
                        )
                        await self.websocket.close(code=1008, reason="audio faster than real time")
                        return
                    self.call.feed(data)
                    continue
                text = message.get("text")
                if text is not None and await self._control(text):
                    return
        except WebSocketDisconnect:
            return

    async def _control(self, text: str) -> bool:
        """One JSON message from the page; True when the session should end."""
        try:
            event = json.loads(text) if len(text) <= MAX_TEXT_CHARS else None
        except ValueError:
            event = None
        kind = event.get("type") if isinstance(event, dict) else None
        if event is None or not isinstance(kind, str):
            await self.transport.send({"type": "error", "message": "expected a JSON object with a type"})
            return False
        clip_id = str(event.get("id", ""))[:100]
        if kind == "playing":
            self.call.playback_started(clip_id)
        elif kind == "played":  # when it reaches us is when it stopped (the page's played_ms is informational)
            self.call.playback_stopped(clip_id, completed=bool(event.get("completed", True)))
        elif kind == "dtmf" and isinstance(event.get("digit"), str) and event["digit"] in DTMF_DIGITS:
            self.call.dtmf(event["digit"])
        elif kind == "stop":
            self.stopped = True
            return True
        else:
            await self.transport.send({"type": "error", "message": f"unknown message type {kind[:40]!r}"})
        return False
