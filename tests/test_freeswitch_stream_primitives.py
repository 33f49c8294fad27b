"""The FreeSWITCH side of streaming calls on the real FreeSWITCH 1.10.12 with mod_audio_stream, under a stand-in
call controller (a fixed clip, keys mapped to actions): the media and control path alone, without the engine.

The service side here is the real code — the event socket server (voice_ai.streaming.freeswitch.server), the
WebSocket route, the transport — in an in-process uvicorn; FreeSWITCH runs our installed entry script with
``voice_ai_mode=stream``. What is checked: the caller's audio reaches the service as L16 frames over the WebSocket;
a clip plays to the caller (its recording) and the playback events come back with the clip's id; barge-in
(``uuid_break … all``) cuts the clip that plays and drops the queued ones; keys reach the service; a transfer goes
where it should, and one that does not route reaches the operator through the no-route script; a hang-up; a
service that fails, or dies, mid-call → the local apology and the operator (the entry script's rescue); without
mod_audio_stream → the turn-based flow. The whole calls with the engine: tests/test_real_freeswitch_stream.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

from helpers import free_port
from real_freeswitch import FIXTURES, MODULES, CallResult, FreeSwitch, Stereo, binary_from_env, reached_extension
from voice_ai.providers.audio import Audio
from voice_ai.streaming.contracts import Clip
from voice_ai.streaming.freeswitch import route
from voice_ai.streaming.freeswitch.channel import ChannelInfo
from voice_ai.streaming.freeswitch.server import FreeswitchStreaming
from voice_ai.streaming.freeswitch.transport import FreeswitchTransport

pytestmark = pytest.mark.slow

CONTEXT = "stream.test"
DOMAIN = "5f0e2ad2-7a4c-4c8e-9a55-0d2b8c9a1e01"
VOICE = 300  # mean |sample| of a 20 ms frame that counts as the caller's voice (their line noise is ~80)


def tone(ms: int, freq: float = 440.0, rate: int = 8000) -> Audio:
    t = np.arange(rate * ms // 1000) / rate
    return Audio.from_pcm16((8000 * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes(), rate)


@dataclass
class StandIn:
    """A call controller that greets with clips, maps keys to actions and, while a clip plays, stops it when the
    caller has spoken ``barge_ms`` (the real one: voice_ai.streaming.call)."""

    channel: ChannelInfo
    transport: FreeswitchTransport
    greeting: list[int] = field(default_factory=lambda: [2000])
    barge_ms: int = 200
    frames: int = 0
    frame_bytes: set[int] = field(default_factory=set)
    voiced_ms: int = 0
    digits: list[str] = field(default_factory=list)
    playback: list[tuple[str, str, bool | None]] = field(default_factory=list)  # (event, clip, finished)
    playing: set[str] = field(default_factory=set)
    barged: bool = False
    was_closed: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        for index, ms in enumerate(self.greeting):
            await self.transport.play(Clip(f"greeting-{index}", "greeting", tone(ms, 440 + 60 * index)))
        await self.done.wait()
        for task in self.tasks:
            await task

    def _do(self, work: Any) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(work))

    def feed(self, pcm: bytes) -> None:
        self.frames += 1
        self.frame_bytes.add(len(pcm))
        samples = np.frombuffer(pcm, dtype="<i2")
        if self.playing and samples.size and float(np.abs(samples.astype(np.int32)).mean()) >= VOICE:
            self.voiced_ms += samples.size * 1000 // self.transport.sample_rate
            if self.voiced_ms >= self.barge_ms and not self.barged:
                self.barged = True
                self._do(self.transport.stop_playback())

    def dtmf(self, digit: str) -> None:
        self.digits.append(digit)
        actions = {
            "1": lambda: self.transport.play(Clip(f"again-{len(self.digits)}", "again", tone(1500, 660))),
            "0": lambda: self.transport.transfer("200", CONTEXT),
            "5": lambda: self.transport.transfer("2099", CONTEXT),  # nobody has 2099
            "7": lambda: self.transport.fail("the engine failed (test)"),
            "8": self._die,
            "9": self.transport.hangup,
        }
        if digit in actions:
            self._do(actions[digit]())
        if digit in "05789":
            self.done.set()

    async def _die(self) -> None:
        """As if the service process were killed: its connections drop, nothing is said."""
        writer = self.transport.esl.writer
        writer.transport.abort()

    def playback_started(self, clip_id: str) -> None:
        self.playing.add(clip_id)
        self.playback.append(("start", clip_id, None))

    def playback_stopped(self, clip_id: str, *, finished: bool) -> None:
        self.playing.discard(clip_id)
        self.playback.append(("stop", clip_id, finished))

    def closed(self) -> None:
        self.was_closed = True
        self.done.set()


class StreamServer:
    """The service's streaming side in a thread of its own: uvicorn (the WebSocket route) and the event socket
    server, with :class:`StandIn` controllers (``plans`` by the caller's ``test_plan`` variable)."""

    def __init__(self) -> None:
        self.http_port, self.esl_port = free_port(), free_port()
        self.calls: dict[str, StandIn] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _factory(self, channel: ChannelInfo, transport: FreeswitchTransport) -> StandIn:
        plan = self.plans.get(channel.variable("test_plan") or "", {})
        call = StandIn(channel, transport, **plan)
        self.calls[channel.call_uuid] = call
        return call

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        app = FastAPI()
        app.include_router(route.router)
        self.hub = FreeswitchStreaming(
            host="127.0.0.1", port=self.esl_port, ws_base=f"ws://127.0.0.1:{self.http_port}", factory=self._factory
        )
        assert await self.hub.start()
        app.state.freeswitch_streaming = self.hub
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.http_port, log_config=None))
        serving = asyncio.create_task(self.server.serve())
        while not self.server.started:  # noqa: ASYNC110 (uvicorn offers a flag, not an event)
            await asyncio.sleep(0.05)
        self.ready.set()
        await serving
        await self.hub.stop()

    def __enter__(self) -> StreamServer:
        self.thread.start()
        assert self.ready.wait(30), "the stream server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def call(self, call_uuid: str) -> StandIn:
        return self.calls[call_uuid]


@pytest.fixture(scope="module")
def binary() -> Path:
    path = binary_from_env()
    if path is None:
        pytest.skip("the real FreeSWITCH is not configured (VOICE_AI_TEST_FREESWITCH)")
    return path


@pytest.fixture(scope="module")
def stream_server() -> Iterator[StreamServer]:
    with StreamServer() as server:
        yield server


def secretary_extension(number: str, esl: str) -> str:
    return (
        f'<extension name="secretary_{number}"><condition field="destination_number" expression="^{number}$">'
        f'<action application="set" data="domain_uuid={DOMAIN}"/>'
        f'<action application="set" data="domain_name={CONTEXT}"/>'
        '<action application="set" data="voice_ai_mode=stream"/>'
        f'<action application="set" data="voice_ai_esl={esl}"/>'
        '<action application="set" data="voice_ai_fallback_destination=200"/>'
        f'<action application="set" data="voice_ai_fallback_context={CONTEXT}"/>'
        '<action application="lua" data="secretary_ai.lua 8000"/>'
        "</condition></extension>"
    )


def dialplan(esl_port: int) -> str:
    """8000: the secretary in streaming mode; 8002: the same with a dead service instance listed first."""
    people = "".join(reached_extension(n) for n in ("200", "203"))
    live, dead = f"127.0.0.1:{esl_port}", f"127.0.0.1:{free_port()}"
    return (
        f'<context name="{CONTEXT}">{secretary_extension("8000", live)}'
        f"{secretary_extension('8002', f'{dead}|{live}')}{people}</context>"
    )


@pytest.fixture(scope="module")
def freeswitch(
    binary: Path, stream_server: StreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FreeSwitch]:
    fs = FreeSwitch(
        binary=binary,
        root=tmp_path_factory.mktemp("freeswitch-stream"),
        variables={"voice_ai_url": f"http://127.0.0.1:{free_port()}"},  # nothing there: the service's HTTP API
        dialplan=dialplan(stream_server.esl_port),
        modules=(*MODULES, "mod_audio_stream"),
    )
    fs.start()
    try:
        yield fs
    finally:
        fs.stop()


def place(
    fs: FreeSwitch, server: StreamServer, steps: list[str], extension: str = "8000", **plan: Any
) -> tuple[CallResult, StandIn]:
    name = uuid.uuid4().hex
    server.plans[name] = plan
    call = fs.call(extension, CONTEXT, steps, variables={"test_plan": name}, timeout=90)
    assert call.call_uuid in server.calls, f"the service never got the call\n{fs.tail()}"
    return call, server.call(call.call_uuid)


def played_files(fs: FreeSwitch, call: CallResult) -> list[str]:
    done = [line for line in fs.log_lines("done playing file") if line.startswith(call.call_uuid)]
    return [name for name in (line.rsplit("/", 1)[-1].strip() for line in done) if name.endswith(".wav")]


def log_of(fs: FreeSwitch, call: CallResult) -> str:
    return "\n".join(line for line in fs.log_lines("[voice_ai]") if line.startswith(call.call_uuid))


def test_audio_both_ways_keys_and_a_transfer(freeswitch: FreeSwitch, stream_server: StreamServer) -> None:
    call, standin = place(freeswitch, stream_server, ["listen", "dtmf 1", "listen", "dtmf 0", "listen"])
    # the caller's audio reached the service as 20 ms L16 frames at 8 kHz over the WebSocket
    assert standin.frames > 50 and standin.frame_bytes == {320}
    # the clips played to the caller, in order, each to its end, and the playback events named them
    assert [(e, c, f) for e, c, f in standin.playback] == [
        ("start", "greeting-0", None),
        ("stop", "greeting-0", True),
        ("start", "again-1", None),
        ("stop", "again-1", True),
    ]
    heard = Stereo.load(call.recording).heard_segments()
    assert len(heard) >= 2 and heard[0][1] - heard[0][0] >= 1500  # the 2 s greeting, then the repeat
    assert standin.digits == ["1", "0"]
    assert call.reached == f"200@{CONTEXT}"
    assert "did not route" not in log_of(freeswitch, call)


def test_barge_in_cuts_the_clip_and_drops_the_queued_ones(freeswitch: FreeSwitch, stream_server: StreamServer) -> None:
    steps = ["pause 1500", f"say {FIXTURES / 'question_price.wav'}", "pause 1500", "hangup"]
    call, standin = place(freeswitch, stream_server, steps, greeting=[3000, 3000, 3000])
    assert standin.barged
    # the first clip was cut (a break), and the two queued after it never started
    assert standin.playback == [("start", "greeting-0", None), ("stop", "greeting-0", False)]
    recording = Stereo.load(call.recording)
    spoke = recording.said_segments()[0][0]
    heard = recording.heard_segments()
    assert heard and heard[0][1] < spoke + 1500  # the secretary fell silent soon after the caller spoke
    assert recording.first_heard_after(spoke + 1500) is None  # and nothing of it played after that
    assert call.reached is None


def test_a_transfer_that_does_not_route_reaches_the_operator(
    freeswitch: FreeSwitch, stream_server: StreamServer
) -> None:
    call, standin = place(freeswitch, stream_server, ["listen", "dtmf 5", "listen", "listen"])
    assert standin.digits == ["5"]
    assert call.reached == f"200@{CONTEXT}"
    log = log_of(freeswitch, call)
    assert "transfer to 2099@stream.test did not route" in log
    assert played_files(freeswitch, call)[-1] == "error_transfer.wav"


def test_the_service_hangs_up_and_a_dead_instance_listed_first_is_skipped(
    freeswitch: FreeSwitch, stream_server: StreamServer
) -> None:
    call, _ = place(freeswitch, stream_server, ["listen", "dtmf 9", "listen"], extension="8002")
    tried = [line for line in freeswitch.log_lines("Trying host: ") if line.startswith(call.call_uuid)]
    assert len(tried) == 2  # the dead instance first, then the live one took the call
    assert call.reached is None
    assert "error_transfer.wav" not in played_files(freeswitch, call)
    assert "the call left the service (hung up)" in log_of(freeswitch, call)


@pytest.mark.parametrize(
    ("key", "reason"), [("7", "the engine failed (test)"), ("8", "the service closed the event socket")]
)
def test_a_service_that_fails_or_dies_mid_call_hands_the_caller_to_the_apology_and_the_operator(
    freeswitch: FreeSwitch, stream_server: StreamServer, key: str, reason: str
) -> None:
    call, standin = place(freeswitch, stream_server, ["listen", f"dtmf {key}", "listen", "listen"])
    assert standin.digits == [key]
    assert call.reached == f"200@{CONTEXT}"
    assert played_files(freeswitch, call)[-1] == "error_transfer.wav"
    assert f"[stream] {reason}" in log_of(freeswitch, call)


def test_without_mod_audio_stream_the_turn_based_flow_takes_the_call(
    binary: Path, stream_server: StreamServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fs = FreeSwitch(
        binary=binary,
        root=tmp_path_factory.mktemp("freeswitch-no-stream"),
        variables={"voice_ai_url": f"http://127.0.0.1:{free_port()}"},
        dialplan=dialplan(stream_server.esl_port),
    )
    with contextlib.ExitStack() as stack:
        fs.start()
        stack.callback(fs.stop)
        before = len(stream_server.calls)
        call = fs.call("8000", CONTEXT, ["listen", "listen"], timeout=60)
        log = log_of(fs, call)
        assert "mod_audio_stream is not loaded" in log
        assert "start failed (connect)" in log  # the turn-based flow ran: it posts to the service over HTTP
        assert len(stream_server.calls) == before  # nothing reached the event socket server
        assert call.reached == f"200@{CONTEXT}"
