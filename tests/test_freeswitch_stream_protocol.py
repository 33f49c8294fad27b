"""The FreeSWITCH streaming pieces at the wire level, without FreeSWITCH: the event socket protocol (a scripted
FreeSWITCH on a real TCP connection), the one-time WebSocket tokens and the route, the channel's data, and what the
transport sends for each action. The same code against the real FreeSWITCH: test_freeswitch_stream_primitives.py."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import uuid
import wave
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voice_ai.core.config import Settings
from voice_ai.core.security import BearerTokenMiddleware
from voice_ai.main import create_app
from voice_ai.providers.audio import Audio
from voice_ai.streaming.contracts import CALLER_LEFT, Clip
from voice_ai.streaming.freeswitch import route
from voice_ai.streaming.freeswitch import transport as transport_module
from voice_ai.streaming.freeswitch.channel import ChannelInfo, literal_pattern
from voice_ai.streaming.freeswitch.esl import EslConnection, EslError, EslEvent
from voice_ai.streaming.freeswitch.pairing import Pairings
from voice_ai.streaming.freeswitch.session import AudioLink, FreeswitchCallSession
from voice_ai.streaming.freeswitch.transport import FreeswitchTransport
from voice_ai.telephony.freeswitch import render_dialplan

CALL = "0b6f7c1e-9d7a-4a57-8a5e-1c2d3e4f5a6b"
DOMAIN = "5f0e2ad2-7a4c-4c8e-9a55-0d2b8c9a1e01"

# The event socket protocol ----------------------------------------------------------------------------------


def reply(text: str) -> bytes:
    return f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode()


def api_response(text: str) -> bytes:
    body = text.encode()
    return b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body)


def event(data: dict[str, Any]) -> bytes:
    body = json.dumps(data).encode()
    return b"Content-Type: text/event-json\nContent-Length: %d\n\n%s" % (len(body), body)


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def connected(script: Script) -> AsyncIterator[EslConnection]:
    """Our side of an outbound event socket connection whose FreeSWITCH side runs ``script``."""
    ours: asyncio.Future[EslConnection] = asyncio.get_running_loop().create_future()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ours.set_result(EslConnection(reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # FreeSWITCH's socket app connecting
    esl = await ours
    esl.start()
    freeswitch = asyncio.create_task(script(reader, writer))
    try:
        yield esl
    finally:
        await esl.close()
        freeswitch.cancel()
        writer.close()
        server.close()


async def read_command(reader: asyncio.StreamReader) -> str:
    return (await reader.readuntil(b"\n\n")).decode().strip()


async def test_commands_are_answered_in_order_while_events_arrive_between() -> None:
    seen: list[str] = []

    async def freeswitch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_command(reader))
        writer.write(
            b"Content-Type: command/reply\nReply-Text: +OK\nUnique-ID: " + CALL.encode() + b"\n"
            b"Caller-Caller-ID-Name: Maria%20Jos%C3%A9\nvariable_domain_uuid: " + DOMAIN.encode() + b"\n\n"
        )
        seen.append(await read_command(reader))
        seen.append(await read_command(reader))
        # an event between the command and its answer; a CUSTOM event's body; then both answers, in order
        writer.write(event({"Event-Name": "DTMF", "DTMF-Digit": "5", "Unique-ID": CALL}))
        writer.write(event({"Event-Name": "CUSTOM", "Event-Subclass": "mod_audio_stream::play", "_body": '{"a":1}'}))
        writer.write(api_response("+OK Success\n"))
        writer.write(reply("-ERR no such thing"))
        await writer.drain()

    async with connected(freeswitch) as esl:
        connect = await esl.send("connect")
        assert connect.headers["Caller-Caller-ID-Name"] == "Maria José"  # values are URL-encoded on the wire
        channel = ChannelInfo.from_headers(connect.headers)
        assert (channel.call_uuid, str(channel.domain_uuid)) == (CALL, DOMAIN)
        api, bad = await asyncio.gather(esl.api("uuid_break x all"), esl.send("sendmsg", headers={"x": "y"}))
        assert api == "+OK Success"
        assert (bad.ok, bad.reply_text) == (False, "-ERR no such thing")
        assert seen == ["connect", "api uuid_break x all", "sendmsg\nx: y"]
        first, second = await esl.events.get(), await esl.events.get()
        assert first is not None and (first.name, first.get("DTMF-Digit")) == ("DTMF", "5")
        assert second is not None and (second.subclass, second.body) == ("mod_audio_stream::play", '{"a":1}')


async def test_a_closed_connection_fails_what_waits_and_ends_the_events() -> None:
    async def freeswitch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_command(reader)
        writer.write(b"Content-Type: text/disconnect-notice\nContent-Length: 3\n\nbye")
        writer.close()

    async with connected(freeswitch) as esl:
        with pytest.raises(EslError):
            await esl.command("myevents json")
        assert await esl.events.get() is None
        assert esl.closed.is_set()
        with pytest.raises(EslError, match="closed"):
            await esl.api("status")


async def test_a_command_error_raises_and_line_breaks_are_refused() -> None:
    async def freeswitch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_command(reader)
        writer.write(reply("-ERR invalid"))
        await writer.drain()
        await asyncio.sleep(5)

    async with connected(freeswitch) as esl:
        with pytest.raises(EslError, match="-ERR invalid"):
            await esl.command("linger 10")
        with pytest.raises(ValueError, match="line break"):
            await esl.execute("playback", "/fs/temp/x.wav\n\napi fsctl shutdown")


# Channel data ---------------------------------------------------------------------------------------------


def test_channel_info_reads_what_the_entry_script_left() -> None:
    headers = {
        "Unique-ID": CALL,
        "Caller-Caller-ID-Number": "+5531999990000",
        "Caller-Destination-Number": "8000",
        "variable_domain_uuid": DOMAIN,
        "variable_domain_name": "acme.example.com",
        "variable_voice_ai_secretary": "8000",
        "variable_voice_ai_fallback_destination": "200",
        "variable_voice_ai_scripts_dir": "/usr/share/freeswitch/scripts",
        "variable_test": "x",
    }
    channel = ChannelInfo.from_headers(headers)
    assert channel.problems == []
    assert channel.fallback_context == "acme.example.com"  # as the Lua flow: the domain's context
    assert channel.scripts_dir == "/usr/share/freeswitch/scripts"
    assert channel.variable("test") == "x"
    odd = ChannelInfo.from_headers({**headers, "variable_voice_ai_scripts_dir": "/a b", "variable_domain_uuid": "x"})
    assert odd.scripts_dir is None  # not one dialplan token: the transfer names the script without a path
    assert odd.problems == ["channel variable domain_uuid is not set (or not a uuid)"]
    with pytest.raises(ValueError, match="Unique-ID"):
        ChannelInfo.from_headers({"Unique-ID": "a b"})


def test_literal_pattern_matches_the_lua_flows() -> None:
    assert literal_pattern("+2099") == r"\+2099"
    assert literal_pattern("200") == "200"
    assert literal_pattern("a.b*") == r"a\.b\*"


# Pairing and the WebSocket route --------------------------------------------------------------------------


async def test_a_token_pairs_once() -> None:
    pairings = Pairings()
    token, future = pairings.mint()
    assert len(token) >= 40 and pairings.waiting(token)
    assert pairings.claim(token, "ws")
    assert await future == "ws"
    assert not pairings.claim(token, "again") and not pairings.waiting(token)
    assert not pairings.claim("made-up", "x")
    other, later = pairings.mint()
    pairings.discard(other)
    assert later.cancelled() and len(pairings) == 0


class Hub:
    def __init__(self) -> None:
        self.pairings = Pairings()


def stream_app(token: str | None = None) -> tuple[FastAPI, Hub]:
    app = FastAPI()
    app.include_router(route.router)
    if token:
        app.add_middleware(BearerTokenMiddleware, token=token, public=route.PUBLIC_PATHS)

    @app.websocket("/v1/other")
    async def other(websocket: Any) -> None:
        await websocket.accept()
        await websocket.close()

    hub = Hub()
    app.state.freeswitch_streaming = hub
    return app, hub


def test_the_app_lets_the_freeswitch_websocket_through_the_api_key() -> None:
    """create_app gives the middleware the route's public prefix (the token in the path is the credential)."""
    app = create_app(Settings(api_token="a-long-api-token-for-tests", esl_port=0))
    middleware = next(m for m in app.user_middleware if m.cls is BearerTokenMiddleware)
    assert route.PATH_PREFIX in middleware.kwargs["public"]


def test_the_route_refuses_an_unknown_token() -> None:
    app, _ = stream_app()
    with (
        TestClient(app) as client,
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/v1/stream/freeswitch/made-up"),
    ):
        pass
    assert refused.value.code == 1008


def test_the_token_is_the_credential_even_when_the_api_needs_a_bearer_token() -> None:
    """FreeSWITCH cannot send the API key: the route's path passes the middleware, every other WebSocket does not."""
    app, hub = stream_app(token="a-long-api-token-for-tests")
    handed: list[AudioLink] = []

    async def mint() -> str:
        token, future = hub.pairings.mint()
        future.add_done_callback(lambda f: (handed.append(f.result()), f.result().done.set()))
        return token

    with TestClient(app) as client:
        token = client.portal.call(mint)  # type: ignore[union-attr]
        with client.websocket_connect(f"/v1/stream/freeswitch/{token}") as ws:
            # accepted (no bearer token), then closed when the session is done (here: at once)
            assert ws.receive()["type"] == "websocket.close"
        assert len(handed) == 1
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/v1/other"):
            pass
        assert refused.value.code == 1008


# The transport ------------------------------------------------------------------------------------------


class FakeEsl:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed = False
        self.answers: list[str] = []  # the next uuid_fileman answers (default +OK)
        self.during: list[Callable[[], Awaitable[None]]] = []  # what happens while the next uuid_fileman is out
        self.tasks: list[asyncio.Task[None]] = []
        self.refuse: dict[str, str] = {}  # a command's first word → the -ERR FreeSWITCH answers it with

    async def api(self, command: str, **_: Any) -> str:
        self.sent.append(f"api {command}")
        if command.split(" ", 1)[0] in self.refuse:
            return self.refuse[command.split(" ", 1)[0]]
        if command.startswith("uuid_fileman"):
            if self.during:  # an event handled while the answer is on its way (the event pump's task)
                self.tasks.append(asyncio.create_task(self.during.pop(0)()))
                await asyncio.sleep(0)
            if self.answers:
                return self.answers.pop(0)
        return "+OK"

    async def execute(self, app: str, arg: str = "", *, event_lock: bool = False) -> str:
        self.sent.append(f"execute {app} {arg}" + (" (event-lock)" if event_lock else ""))
        return "+OK"

    async def close(self) -> None:
        self.closed = True


class FakeWs:
    def __init__(self) -> None:
        self.texts: list[dict[str, Any]] = []

    async def send_text(self, data: str) -> None:
        self.texts.append(json.loads(data))


class Listener:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool | None]] = []

    def playback_started(self, clip_id: str) -> None:
        self.seen.append(("start", clip_id, None))

    def playback_stopped(self, clip_id: str, *, finished: bool) -> None:
        self.seen.append(("stop", clip_id, finished))


def transport(**variables: str) -> tuple[FreeswitchTransport, FakeEsl, FakeWs, Listener]:
    headers = {
        "Unique-ID": CALL,
        "variable_domain_uuid": DOMAIN,
        "variable_domain_name": "acme.example.com",
        "variable_voice_ai_fallback_destination": "200",
        **{f"variable_{k}": v for k, v in variables.items()},
    }
    esl, ws, listener = FakeEsl(), FakeWs(), Listener()
    result = FreeswitchTransport(esl, ws, ChannelInfo.from_headers(headers))  # type: ignore[arg-type]
    result.listener = listener
    return result, esl, ws, listener


def clip(name: str, ms: int = 100) -> Clip:
    return Clip(name, name, Audio.from_pcm16(b"\x10\x00" * (8 * ms), 8000))


def played(name: str, path: str) -> EslEvent:
    return EslEvent(
        {"Event-Name": "CUSTOM", "Event-Subclass": "mod_audio_stream::play"},
        json.dumps({"audioDataType": "wav", "sampleRate": 8000, "clip": name, "file": path}),
    )


def playback(kind: str, path: str, status: str = "done") -> EslEvent:
    return EslEvent({"Event-Name": kind, "Playback-File-Path": path, "Playback-Status": status})


async def test_a_clip_goes_to_the_module_as_a_wav_then_plays_in_order() -> None:
    t, esl, ws, listener = transport()
    await t.play(clip("c1", 200))
    message = ws.texts[0]
    assert message["type"] == "streamAudio"
    assert {k: message["data"][k] for k in ("audioDataType", "sampleRate", "clip")} == {
        "audioDataType": "wav",
        "sampleRate": 8000,
        "clip": "c1",
    }
    with wave.open(io.BytesIO(base64.b64decode(message["data"]["audioData"]))) as wav:
        assert (wav.getframerate(), wav.getnframes()) == (8000, 1600)
    await t.on_event(played("c1", "/fs/temp/x_0.tmp.wav"))
    assert esl.sent == ["execute playback /fs/temp/x_0.tmp.wav (event-lock)"]  # event-lock: one after the other
    await t.on_event(playback("PLAYBACK_START", "/fs/temp/x_0.tmp.wav"))
    await t.on_event(playback("PLAYBACK_STOP", "/fs/temp/x_0.tmp.wav"))
    await t.on_event(playback("PLAYBACK_STOP", "/elsewhere.wav"))  # not ours
    assert listener.seen == [("start", "c1", None), ("stop", "c1", True)]


async def test_barge_in_breaks_everything_and_a_late_file_is_not_played() -> None:
    t, esl, _, listener = transport()
    await t.play(clip("c1"))
    await t.play(clip("c2"))
    await t.on_event(played("c1", "/fs/temp/x_0.tmp.wav"))
    await t.on_event(playback("PLAYBACK_START", "/fs/temp/x_0.tmp.wav"))
    await t.stop_playback()
    await t.on_event(played("c2", "/fs/temp/x_1.tmp.wav"))  # the module wrote it after the break
    await t.on_event(playback("PLAYBACK_STOP", "/fs/temp/x_0.tmp.wav", "break"))
    assert esl.sent == ["execute playback /fs/temp/x_0.tmp.wav (event-lock)", f"api uuid_break {CALL} all"]
    assert listener.seen == [("start", "c1", None), ("stop", "c1", False)]


def file(name: str) -> str:
    return f"/fs/temp/{name}.tmp.wav"


async def ready(t: FreeswitchTransport, *names: str) -> None:
    """Clips handed over and their files written by the module."""
    for name in names:
        await t.play(clip(name))
    for name in names:
        await t.on_event(played(name, file(name)))


def playbacks(esl: FakeEsl) -> list[str]:
    return [c.split("/")[-1].split(".")[0] for c in esl.sent if c.startswith("execute playback")]


PAUSE = f"api uuid_fileman {CALL} pause"


async def test_one_clip_at_a_time_in_order_even_when_the_files_come_out_of_order() -> None:
    t, esl, _, listener = transport()
    for name in ("c1", "c2", "c3"):
        await t.play(clip(name))
    await t.on_event(played("c2", file("c2")))  # the module wrote c2 first: c1 must still go first
    assert playbacks(esl) == []
    await t.on_event(played("c1", file("c1")))
    await t.on_event(played("c3", file("c3")))
    assert playbacks(esl) == ["c1"]  # the others wait for c1's end: FreeSWITCH only ever holds one
    for name in ("c1", "c2", "c3"):
        await t.on_event(playback("PLAYBACK_START", file(name)))
        await t.on_event(playback("PLAYBACK_STOP", file(name)))
    assert playbacks(esl) == ["c1", "c2", "c3"]
    assert [(e, c) for e, c, _ in listener.seen] == [(e, c) for c in ("c1", "c2", "c3") for e in ("start", "stop")]


async def test_pause_and_resume_a_clip_that_plays() -> None:
    t, esl, _, _ = transport()
    await ready(t, "c1", "c2")
    await t.on_event(playback("PLAYBACK_START", file("c1")))
    await t.pause_playback()
    await t.resume_playback()  # the pause landed (+OK): toggled back
    assert esl.sent[1:] == [PAUSE, PAUSE]
    await t.on_event(playback("PLAYBACK_STOP", file("c1")))
    assert playbacks(esl) == ["c1", "c2"]


async def test_a_pause_between_two_clips_holds_the_next_one_and_toggles_nothing() -> None:
    t, esl, _, _ = transport()
    await ready(t, "c1")
    await t.on_event(playback("PLAYBACK_START", file("c1")))
    await t.on_event(playback("PLAYBACK_STOP", file("c1")))
    await t.pause_playback()  # nothing in FreeSWITCH: no uuid_fileman at all (it would toggle the next clip)
    await ready(t, "c2")
    assert playbacks(esl) == ["c1"]  # held
    await t.resume_playback()
    assert playbacks(esl) == ["c1", "c2"] and PAUSE not in esl.sent


@pytest.mark.parametrize("answer", ["-ERR No file handle!", "+OK"])
async def test_a_clip_that_ends_while_the_pause_is_sent_is_not_toggled_at_resume(answer: str) -> None:
    t, esl, _, _ = transport()
    await ready(t, "c1", "c2")
    await t.on_event(playback("PLAYBACK_START", file("c1")))
    if answer == "+OK":  # the pause reached the file at its very end: it ends anyway, while the answer is out
        esl.during.append(lambda: t.on_event(playback("PLAYBACK_STOP", file("c1"))))
    esl.answers.append(answer)
    await t.pause_playback()
    await asyncio.gather(*esl.tasks)
    if answer.startswith("-ERR"):  # the file had already ended: its STOP comes after the answer
        await t.on_event(playback("PLAYBACK_STOP", file("c1")))
    assert playbacks(esl) == ["c1"]  # c2 is held
    await t.resume_playback()
    assert esl.sent.count(PAUSE) == 1  # no toggle: it would have paused c2
    assert playbacks(esl) == ["c1", "c2"]


async def test_a_pause_before_the_file_opened_lands_when_it_starts() -> None:
    t, esl, _, _ = transport()
    await ready(t, "c1")
    esl.answers.append("-ERR No file handle!")
    await t.pause_playback()
    await t.on_event(playback("PLAYBACK_START", file("c1")))  # it opened after all: paused now
    assert esl.sent.count(PAUSE) == 2
    await t.resume_playback()
    assert esl.sent.count(PAUSE) == 3


async def test_stop_after_a_pause_breaks_and_a_resume_after_it_does_nothing() -> None:
    t, esl, _, listener = transport()
    await ready(t, "c1", "c2")
    await t.on_event(playback("PLAYBACK_START", file("c1")))
    await t.pause_playback()
    await t.stop_playback()
    await t.resume_playback()  # a late resume (the call decided to stop first): nothing more goes out
    assert esl.sent[1:] == [PAUSE, f"api uuid_break {CALL} all"]
    await t.on_event(playback("PLAYBACK_STOP", file("c1"), "break"))
    assert playbacks(esl) == ["c1"] and listener.seen[-1] == ("stop", "c1", False)
    await ready(t, "c3")  # the next reply plays normally
    assert playbacks(esl) == ["c1", "c3"]


async def test_a_stop_before_the_playback_started_does_not_block_the_next_reply() -> None:
    t, esl, _, _ = transport()
    await ready(t, "c1")
    await t.stop_playback()  # uuid_break flushes the queued playback: no START or STOP will ever come for it
    await ready(t, "c2")
    assert playbacks(esl) == ["c1", "c2"]


async def test_a_transfer_leaves_what_the_no_route_script_needs_then_transfers() -> None:
    t, esl, _, _ = transport(voice_ai_scripts_dir="/usr/share/freeswitch/scripts")
    t.operator, t.conversation_uuid, t.language = ("200", "acme.example.com"), "conv-1", "pt-BR"
    await t.transfer("+2099", None)
    setvars = {c.split(" ")[3]: " ".join(c.split(" ")[4:]) for c in esl.sent if c.startswith("api uuid_setvar")}
    assert setvars["voice_ai_transfer_destination"] == "+2099"
    assert setvars["voice_ai_transfer_context"] == "acme.example.com"
    assert setvars["voice_ai_transfer_pattern"] == r"\+2099"
    assert setvars["voice_ai_operator_destination"] == "200"
    assert setvars["voice_ai_call_started"] == "true"
    assert setvars["socket_resume"] == "false"  # our socket closing must not reset a transferred channel
    assert setvars["force_transfer_dialplan"] == "XML"
    assert esl.sent[-2:] == [
        f"api uuid_audio_stream {CALL} stop",
        f"api uuid_transfer {CALL} +2099 XML,inline:lua:/usr/share/freeswitch/scripts/voice_ai_no_route.lua "
        "acme.example.com",
    ]
    sent = len(esl.sent)
    await t.hangup()  # the call is no longer ours
    assert len(esl.sent) == sent


async def until(condition: Callable[[], bool], tries: int = 200) -> None:
    """Let the transport's task run until ``condition`` holds (a bounded number of loop turns)."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.001)


def bridged(esl: FakeEsl) -> bool:
    return any(c.startswith("execute bridge") for c in esl.sent)


async def rung(t: FreeswitchTransport, esl: FakeEsl, *events: EslEvent) -> str | None:
    """``t.ring`` until the bridge is queued, then FreeSWITCH's ``events``; what ring returned."""
    ringing = asyncio.create_task(t.ring("2001", None, 20))
    await until(lambda: bridged(esl))
    for item in events:
        await t.on_event(item)
    return await asyncio.wait_for(ringing, 5)


def setvars(esl: FakeEsl) -> list[tuple[str, str]]:
    return [(c.split(" ")[3], " ".join(c.split(" ")[4:])) for c in esl.sent if c.startswith("api uuid_setvar")]


async def test_ring_bridges_with_the_ring_time_and_ringback_and_an_answer_hands_the_call_over() -> None:
    t, esl, _, _ = transport()
    answered = await rung(t, esl, EslEvent({"Event-Name": "CHANNEL_BRIDGE"}))
    assert answered is None
    assert setvars(esl)[:3] == [
        ("continue_on_fail", "true"),  # a failed bridge must leave the caller with us (seen on 1.10.12)
        ("hangup_after_bridge", "true"),
        ("transfer_ringback", "%(1000,4000,425)"),  # the caller's channel is answered: transfer_ringback plays
    ]
    assert (
        f"execute bridge {{originate_timeout=20,ignore_early_media=true,voice_ai_call_uuid={CALL},"
        f"domain_uuid={DOMAIN},domain_name=acme.example.com}}loopback/2001/acme.example.com (event-lock)"
    ) in esl.sent
    assert ("socket_resume", "false") in setvars(esl)  # our socket closing must not touch the bridged call
    assert esl.sent[-1] == f"api uuid_audio_stream {CALL} stop"
    assert t.ended == "transfer" and t.finished.is_set() and not esl.closed


async def test_ring_keeps_a_ringback_the_channel_has() -> None:
    t, esl, _, _ = transport(ringback="%(2000,4000,440,480)")
    await rung(t, esl, EslEvent({"Event-Name": "CHANNEL_BRIDGE"}))
    assert ("transfer_ringback", "%(2000,4000,440,480)") in setvars(esl)


@pytest.mark.parametrize("cause", ["USER_BUSY", "NO_ROUTE_DESTINATION", "CALL_REJECTED"])
async def test_a_bridge_that_fails_returns_its_cause_and_the_call_stays_ours(cause: str) -> None:
    t, esl, _, _ = transport(hangup_after_bridge="true")
    playback_done = EslEvent({"Event-Name": "CHANNEL_EXECUTE_COMPLETE", "Application": "playback"})
    failed = EslEvent(
        {"Event-Name": "CHANNEL_EXECUTE_COMPLETE", "Application": "bridge", "variable_originate_disposition": cause}
    )
    assert await rung(t, esl, playback_done, failed) == cause
    assert t.ended is None and not t.finished.is_set()
    # the channel's variables as they were, for a later one-way transfer's dialplan
    assert setvars(esl)[-2:] == [("continue_on_fail", ""), ("hangup_after_bridge", "true")]
    assert not any("uuid_audio_stream" in c for c in esl.sent)


async def announced(
    t: FreeswitchTransport, esl: FakeEsl, ws: FakeWs, file: str | None, *events: EslEvent
) -> tuple[str | None, str]:
    """``t.ring`` with an announcement: mod_audio_stream writes it to ``file`` (None: never), the bridge is queued,
    then FreeSWITCH's ``events``; what ring returned, and the bridge's argument."""
    line = clip("announcement.7", 3000)  # a 3 s line
    ringing = asyncio.create_task(t.ring("2001", None, 20, announcement=line))
    await until(lambda: bool(ws.texts))
    assert ws.texts[-1]["data"]["clip"] == "announcement.7"  # written by the module like a clip…
    if file is not None:
        await t.on_event(played("announcement.7", file))
    await until(lambda: bridged(esl))
    for item in events:
        await t.on_event(item)
    cause = await asyncio.wait_for(ringing, 10)
    assert not any(c.startswith("execute playback") for c in esl.sent)  # …and never played to the caller
    return cause, next(c for c in esl.sent if c.startswith("execute bridge"))


def bridge_failed(cause: str, **variables: str) -> EslEvent:
    headers = {
        "Event-Name": "CHANNEL_EXECUTE_COMPLETE",
        "Application": "bridge",
        "variable_originate_disposition": cause,
    }
    return EslEvent(headers | {f"variable_{k}": v for k, v in variables.items()})


async def test_an_announced_transfer_rings_with_a_group_confirm_that_plays_the_line_to_who_answers() -> None:
    t, esl, ws, _ = transport(voice_ai_scripts_dir="/usr/share/freeswitch/scripts")
    answered, bridge = await announced(t, esl, ws, "/fs/temp/abc_3.tmp.wav", EslEvent({"Event-Name": "CHANNEL_BRIDGE"}))
    assert answered is None and t.ended == "transfer"
    confirm = 2 * (3 + 5) + 5  # the line twice, 5 s for the key after each, a margin
    assert bridge == (
        f"execute bridge {{originate_timeout={20 + confirm},ignore_early_media=true,voice_ai_call_uuid={CALL},"
        "domain_uuid=" + DOMAIN + ",domain_name=acme.example.com,group_confirm_key=exec,"
        "group_confirm_file=lua /usr/share/freeswitch/scripts/voice_ai_announce.lua /fs/temp/abc_3.tmp.wav "
        + CALL
        + ","
        f"group_confirm_timeout={confirm}}}[leg_timeout=20]loopback/2001/acme.example.com (event-lock)"
    )
    assert ("voice_ai_announce", "") in setvars(esl)  # a mark left by an earlier attempt is cleared first


async def test_an_announcement_the_person_did_not_take_is_declined() -> None:
    t, esl, ws, _ = transport()
    declined, _ = await announced(
        t, esl, ws, "/fs/temp/abc_3.tmp.wav", bridge_failed("NO_ANSWER", voice_ai_announce="answered")
    )
    assert declined == "DECLINED" and t.ended is None
    t, esl, ws, _ = transport()  # a department that never answered: its own cause
    busy, _ = await announced(t, esl, ws, "/fs/temp/abc_3.tmp.wav", bridge_failed("USER_BUSY"))
    assert busy == "USER_BUSY"


@pytest.mark.parametrize("file", [None, "/fs/temp/a b.wav", "relative.wav"])
async def test_an_announcement_without_a_usable_file_rings_unannounced(
    file: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport_module, "STAGE_S", 0.05)
    t, esl, ws, _ = transport()
    cause, bridge = await announced(t, esl, ws, file, bridge_failed("USER_BUSY", voice_ai_announce="answered"))
    assert "group_confirm" not in bridge and "leg_timeout" not in bridge and "originate_timeout=20," in bridge
    assert cause == "USER_BUSY"  # a stray mark means nothing on an unannounced attempt


async def test_the_caller_hanging_up_while_it_rings_is_not_a_failed_transfer() -> None:
    t, esl, _, _ = transport()
    ringing = asyncio.create_task(t.ring("2001", "ctx", 20))
    for _ in range(50):
        await asyncio.sleep(0)
    t.caller_left()
    assert await asyncio.wait_for(ringing, 5) == CALLER_LEFT
    # FreeSWITCH ends the attempt NO_ANSWER before the ring time, the hang-up ~50 ms later: still the caller's
    t, esl, _, _ = transport()
    early = EslEvent(
        {
            "Event-Name": "CHANNEL_EXECUTE_COMPLETE",
            "Application": "bridge",
            "variable_originate_disposition": "NO_ANSWER",
        }
    )
    ringing = asyncio.create_task(rung(t, esl, early))
    await asyncio.sleep(0.05)
    t.caller_left()
    assert await asyncio.wait_for(ringing, 5) == CALLER_LEFT


@pytest.mark.parametrize(("destination", "context"), [("200 XML x", "ctx"), ("-bleg", "ctx"), ("200", "a b")])
async def test_a_transfer_to_anything_but_a_dialplan_token_is_refused(destination: str, context: str) -> None:
    t, esl, _, _ = transport()
    with pytest.raises(ValueError, match="not a dialplan destination"):
        await t.transfer(destination, context)
    assert esl.sent == []


async def test_fail_hands_the_call_back_to_the_entry_script() -> None:
    t, esl, _, _ = transport()
    await t.fail("the engine failed:\nboom")
    assert esl.sent == [
        f"api uuid_setvar {CALL} voice_ai_stream_error the engine failed: boom",
        f"api uuid_setvar {CALL} socket_resume true",
        f"api uuid_audio_stream {CALL} stop",
        f"api uuid_break {CALL} all",
    ]
    assert esl.closed
    await t.play(clip("late"))  # nothing more goes out
    assert esl.sent[-1] == f"api uuid_break {CALL} all"


async def test_a_refused_transfer_gives_the_call_back_to_the_entry_script() -> None:
    """socket_resume went false for the transfer; FreeSWITCH refusing it must not leave the caller parked in
    silence once our socket closes: it is true again before the socket closes (apology + operator)."""
    t, esl, _, _ = transport()
    esl.refuse["uuid_transfer"] = "-ERR no such extension"
    await t.transfer("2099", "acme.example.com")
    assert esl.sent[-1] == f"api uuid_break {CALL} all" and esl.closed
    resumes = [c for c in esl.sent if "socket_resume" in c]
    assert resumes[0].endswith("socket_resume false") and resumes[-1].endswith("socket_resume true")
    assert esl.sent.index(resumes[-1]) > next(i for i, c in enumerate(esl.sent) if "uuid_transfer" in c)


async def test_a_refused_hangup_gives_the_call_back_to_the_entry_script() -> None:
    t, esl, _, _ = transport()
    esl.refuse["uuid_kill"] = "-ERR something odd"
    await t.hangup()
    assert f"api uuid_setvar {CALL} socket_resume true" in esl.sent and esl.closed


async def test_hangup() -> None:
    t, esl, _, _ = transport()
    await t.hangup()
    assert esl.sent == [f"api uuid_setvar {CALL} socket_resume false", f"api uuid_kill {CALL} NORMAL_CLEARING"]


# The dialplan entry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["fusionpbx", "freeswitch"])
def test_the_dialplan_entry_carries_the_mode(flavor: str) -> None:
    def modes(mode: str | None) -> list[str]:
        extra = {} if mode is None else {"mode": mode}
        xml = render_dialplan(
            flavor,  # type: ignore[arg-type]
            domain_uuid=uuid.UUID(DOMAIN),
            domain_name="acme.example.com",
            extension="8000",
            secretary="8000",
            fallback_destination="200",
            **extra,  # type: ignore[arg-type]
        )
        root = ET.fromstring(xml)  # noqa: S314 (our own template)
        actions = root.iter("action")
        found = [a.get("data", "") for a in actions if a.get("data", "").startswith("voice_ai_mode=")]
        names = [a.get("application") for a in root.iter("action")]
        assert names.index("lua") > names.index("set")  # the mode is set before the entry script runs
        return found

    assert modes(None) == ["voice_ai_mode=turn"]
    assert modes("stream") == ["voice_ai_mode=stream"]
    with pytest.raises(ValueError, match="turn or stream"):
        modes("both")


# Who may connect to the event socket server ---------------------------------------------------------------


def test_peers_are_checked_against_the_allowed_networks() -> None:
    from voice_ai.streaming.freeswitch.server import allowed_networks, peer_allowed

    allow = allowed_networks("127.0.0.1, ::1, 10.0.1.0/24")
    assert peer_allowed(("127.0.0.1", 5000), allow) and peer_allowed(("::1", 5000, 0, 0), allow)
    assert peer_allowed(("10.0.1.77", 5000), allow) and peer_allowed(("::ffff:10.0.1.77", 5000, 0, 0), allow)
    assert not peer_allowed(("10.0.2.1", 5000), allow) and not peer_allowed(("192.168.0.9", 5000), allow)
    assert not peer_allowed(None, allow) and not peer_allowed("unix-socket", allow)
    with pytest.raises(ValueError, match="esl_allow"):
        Settings(esl_allow="10.0.0.0/33")


async def test_a_connection_from_outside_the_allowed_networks_is_refused_before_a_word() -> None:
    """The protocol has no authentication: whoever connects would be taken for a call of any tenant."""
    from voice_ai.streaming.freeswitch.server import FreeswitchStreaming

    started: list[object] = []

    def factory(*args: Any, **kw: Any) -> Any:
        started.append(args)
        raise AssertionError("no call may start")

    for allow, refused in (("10.9.9.9", True), ("127.0.0.1", False)):
        hub = FreeswitchStreaming(host="127.0.0.1", port=0, ws_base="ws://127.0.0.1:1", factory=factory, allow=allow)
        assert await hub.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", hub.port)
            first = await asyncio.wait_for(reader.read(100), 5)
            if refused:
                assert first == b"", "closed at once, nothing sent"
            else:
                assert first.startswith(b"connect"), first  # an allowed peer is served (the session begins)
            writer.close()
        finally:
            await hub.stop()
    assert started == []


# The session: a caller's hang-up is not a failed link ----------------------------------------------------------


class SessionEsl(FakeEsl):
    """The call's event socket as the session reads it: its events, and whether it closed."""

    def __init__(self) -> None:
        super().__init__()
        self.events: asyncio.Queue[EslEvent | None] = asyncio.Queue()
        self.closed: asyncio.Event = asyncio.Event()  # type: ignore[assignment]

    async def close(self) -> None:
        self.closed.set()


class ClosedWebSocket:
    """mod_audio_stream's WebSocket, closed by FreeSWITCH as the caller's channel goes away."""

    async def receive(self) -> dict[str, Any]:
        return {"type": "websocket.disconnect"}

    async def close(self) -> None:
        return None


class Controller:
    def __init__(self) -> None:
        self.ended = asyncio.Event()
        self.how: list[str] = []

    async def run(self) -> None:
        await self.ended.wait()

    def feed(self, pcm: bytes) -> None: ...

    def dtmf(self, digit: str) -> None: ...

    def playback_started(self, clip_id: str) -> None: ...

    def playback_stopped(self, clip_id: str, *, finished: bool) -> None: ...

    def closed(self) -> None:
        self.how.append("closed")
        self.ended.set()

    def failed(self, reason: str) -> None:
        self.how.append(f"failed: {reason}")
        self.ended.set()


@pytest.mark.parametrize(("hangup_after_s", "how"), [(0.2, "closed"), (None, "failed: the audio WebSocket closed")])
async def test_a_websocket_that_closes_just_before_the_hang_up_event_is_the_caller_leaving(
    hangup_after_s: float | None, how: str
) -> None:
    """FreeSWITCH closes the audio WebSocket as the caller hangs up, and its CHANNEL_HANGUP may reach the event
    socket a moment later: that is the caller leaving (the call ends ``hangup``), not a failed link (``error``, the
    caller handed to the fallback). A WebSocket that closes while the channel stays up is still a failed link."""
    esl = SessionEsl()
    session = FreeswitchCallSession(esl, pairings=Pairings(), ws_base="ws://x", factory=lambda c, t: Controller())  # type: ignore[arg-type]
    session.channel = ChannelInfo.from_headers({"Unique-ID": CALL, "variable_domain_uuid": DOMAIN})
    session.websocket = ClosedWebSocket()  # type: ignore[assignment]
    transport = FreeswitchTransport(esl, FakeWs(), session.channel)  # type: ignore[arg-type]
    controller = Controller()

    async def hang_up() -> None:
        assert hangup_after_s is not None
        await asyncio.sleep(hangup_after_s)
        esl.events.put_nowait(EslEvent({"Event-Name": "CHANNEL_HANGUP"}))

    later = asyncio.create_task(hang_up()) if hangup_after_s is not None else None
    await asyncio.wait_for(session._drive(controller, transport), 10)  # the session's own loop
    if later is not None:
        await later
    assert controller.how == [how]
    assert (transport.ended == "fail") is how.startswith("failed")
