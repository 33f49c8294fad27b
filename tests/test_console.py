"""The browser console's server side: console tokens (minted through the admin API, scoped to one secretary of one
tenant, short-lived), the page and its assets, and the WebSocket protocol, against a real uvicorn on the real
database with a stand-in call (tests/fakes/console_call.py) behind the socket."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fakes.console_call import EchoCall, Stats
from helpers import free_port
from voice_ai.main import create_app
from voice_ai.runtime import Runtime
from voice_ai.streaming.console.tokens import ConsoleTokens


@dataclass
class Server:
    base: str
    app: Any
    calls: list[Stats] = field(default_factory=list)

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://") + "/api/v1/stream/console"


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """uvicorn in this event loop (the runtime's database pool lives here), on a free port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="module")
async def server(runtime: Runtime) -> AsyncIterator[Server]:
    app = create_app(runtime.settings, runtime=runtime)
    async with serve(app) as base:
        state = Server(base, app)

        def factory(setup: Any) -> EchoCall:
            stats = Stats()
            state.calls.append(stats)
            return EchoCall(setup.transport, stats)

        app.state.console_call_factory = factory
        yield state


@pytest.fixture
async def tenants(
    client: httpx.AsyncClient, new_domain: Callable[[str], Awaitable[str]]
) -> tuple[tuple[str, str], tuple[str, str]]:
    """Two tenants, one secretary each: ((domain A, secretary A), (domain B, secretary B))."""
    pairs = []
    for name in ("a", "b"):
        domain = await new_domain(f"console-{name}-{uuid.uuid4().hex[:6]}.example.com")
        created = await client.post(f"/api/v1/domains/{domain}/secretaries", json={"name": f"Console {name}"})
        assert created.status_code == 201, created.text
        pairs.append((domain, created.json()["voice_secretary_uuid"]))
    return pairs[0], pairs[1]


async def mint(client: httpx.AsyncClient, domain: str, secretary: str, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/domains/{domain}/secretaries/{secretary}/console-token", json=body or None)


async def events_until(ws: ClientConnection, kind: str, wait_s: float = 20) -> list[dict[str, Any]]:
    """JSON messages up to and including the first of ``kind``."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(wait_s):
        while True:
            message = await ws.recv()
            assert isinstance(message, str), "the console sends JSON text only"
            event = json.loads(message)
            seen.append(event)
            if event["type"] == kind:
                return seen


def voice(seconds: float, rate: int = 16000) -> list[bytes]:
    """20 ms frames of a loud 300 Hz tone (what the stand-in counts as voice)."""
    import math

    frames = []
    per_frame = rate // 50
    for index in range(int(seconds * 50)):
        samples = [int(8000 * math.sin(2 * math.pi * 300 * (index * per_frame + n) / rate)) for n in range(per_frame)]
        frames.append(struct.pack(f"<{per_frame}h", *samples))
    return frames


# ---- tokens -------------------------------------------------------------------------------------------------------


async def test_a_console_token_is_minted_only_for_the_tenants_own_secretary(
    client: httpx.AsyncClient, tenants: Any
) -> None:
    (domain_a, secretary_a), (_, secretary_b) = tenants
    minted = await mint(client, domain_a, secretary_a)
    assert minted.status_code == 201, minted.text
    body = minted.json()
    assert body["console_path"] == f"/console?token={body['token']}"
    assert (
        500
        < (time.mktime(time.strptime(body["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.mktime(time.gmtime()))
        <= 600
    )
    # another tenant's secretary through this tenant's path, an unknown secretary, an unknown domain: 404 alike
    assert (await mint(client, domain_a, secretary_b)).status_code == 404
    assert (await mint(client, domain_a, str(uuid.uuid4()))).status_code == 404
    assert (await mint(client, str(uuid.uuid4()), secretary_a)).status_code == 404
    assert (await mint(client, domain_a, secretary_a, ttl_s=5)).status_code == 422
    assert (await mint(client, domain_a, secretary_a, ttl_s=7200)).status_code == 422


def test_tokens_carry_their_scope_and_expire(runtime: Runtime) -> None:
    tokens = ConsoleTokens.from_settings(runtime.settings)
    domain, secretary = uuid.uuid4(), uuid.uuid4()
    token, _ = tokens.mint(domain, secretary, 60, now=1_000_000)
    grant = tokens.verify(token, now=1_000_030)
    assert (grant.domain_uuid, grant.secretary_uuid) == (domain, secretary)
    with pytest.raises(Exception, match="expired"):
        tokens.verify(token, now=1_000_061)
    forged, _ = ConsoleTokens([Fernet.generate_key().decode()]).mint(domain, secretary, 60, now=1_000_000)
    with pytest.raises(Exception, match="invalid"):
        tokens.verify(forged, now=1_000_030)
    # rotation: a token signed with the old key still opens while the old key is listed second
    old = ConsoleTokens(["old-key-old-key-old-key"])
    rotated = ConsoleTokens(["new-key-new-key-new-key", "old-key-old-key-old-key"])
    assert rotated.verify(old.mint(domain, secretary, 60)[0]).secretary_uuid == secretary
    # a secret encrypted at rest is not a console token, though both come from the same key
    assert runtime.secret_box.encrypt("sk-123").startswith("enc:v1:")
    with pytest.raises(Exception, match="invalid"):
        tokens.verify(runtime.secret_box.encrypt("sk-123")[len("enc:v1:") :])


# ---- the page ------------------------------------------------------------------------------------------------------


async def test_the_page_needs_a_valid_token_and_loads_nothing_from_elsewhere(
    server: Server, client: httpx.AsyncClient, tenants: Any
) -> None:
    (domain_a, secretary_a), _ = tenants
    token = (await mint(client, domain_a, secretary_a)).json()["token"]
    expired, _ = ConsoleTokens.from_settings(server.app.state.runtime.settings).mint(
        uuid.UUID(domain_a), uuid.UUID(secretary_a), 60, now=time.time() - 120
    )
    forged, _ = ConsoleTokens(["someone-elses-key-0123456789"]).mint(uuid.UUID(domain_a), uuid.UUID(secretary_a))
    async with httpx.AsyncClient(base_url=server.base) as http:
        for bad in ("", "?token=", "?token=abc", f"?token={forged}", f"?token={expired}"):
            refused = await http.get(f"/console{bad}")
            assert refused.status_code == 401, bad
            assert "Open the console again" in refused.text
        assert "expired" in (await http.get(f"/console?token={expired}")).text
        page = await http.get("/console", params={"token": token})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", page.text), "everything from this origin"
        # relative to the page, so that a proxy may serve the console under a path prefix
        assets = ["/" + a for a in re.findall(r"(?:src|href)=\"(console/assets/[^\"]+)\"", page.text)]
        assert sorted(assets) == ["/console/assets/console.css", "/console/assets/console.js"]
        script = (await http.get("/console/assets/console.js")).text
        worklet_path = re.search(r"addModule\(new URL\('(console/assets/[^']+)'", script)
        assert worklet_path is not None
        assert "new URL(`api/v1/stream/console?token=" in script
        for path, kind in (
            *((a, "text/css" if a.endswith("css") else "javascript") for a in assets),
            ("/" + worklet_path[1], "javascript"),
        ):
            asset = await http.get(path)
            assert asset.status_code == 200, path
            assert kind in asset.headers["content-type"], (path, asset.headers["content-type"])
            assert "http://" not in asset.text and "https://" not in asset.text, path
        assert (await http.get("/console/assets/../tokens.py")).status_code == 404


# ---- the socket ----------------------------------------------------------------------------------------------------


async def refused(server: Server, query: str) -> dict[str, Any]:
    async with connect(server.ws + query) as ws:
        event = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert isinstance(event, dict)
    return event


async def test_the_socket_refuses_missing_forged_and_expired_tokens(server: Server, tenants: Any) -> None:
    (domain_a, secretary_a), _ = tenants
    settings = server.app.state.runtime.settings
    expired, _ = ConsoleTokens.from_settings(settings).mint(
        uuid.UUID(domain_a), uuid.UUID(secretary_a), 60, now=time.time() - 61
    )
    forged, _ = ConsoleTokens(["someone-elses-key-0123456789"]).mint(uuid.UUID(domain_a), uuid.UUID(secretary_a))
    calls = len(server.calls)
    for query, reason in (
        ("", "missing"),
        ("?token=x", "invalid"),
        (f"?token={forged}", "invalid"),
        (f"?token={expired}", "expired"),
    ):
        event = await refused(server, query)
        assert event["type"] == "error" and reason in event["message"], (query, event)
    assert len(server.calls) == calls, "no call was started"


async def test_a_token_cannot_reach_another_tenants_secretary(server: Server, tenants: Any) -> None:
    """Even a genuine token that pairs tenant A with tenant B's secretary (no route mints one) reaches nothing: the
    secretary is looked up inside the token's tenant."""
    (domain_a, _), (_, secretary_b) = tenants
    token, _ = ConsoleTokens.from_settings(server.app.state.runtime.settings).mint(
        uuid.UUID(domain_a), uuid.UUID(secretary_b)
    )
    calls = len(server.calls)
    event = await refused(server, f"?token={token}")
    assert event == {"type": "error", "message": "secretary not found (deleted, or not this tenant's)"}
    assert len(server.calls) == calls


async def test_a_console_session_round_trip(server: Server, client: httpx.AsyncClient, tenants: Any) -> None:
    """ready → the greeting clip → voice up → transcript, reply, its clip, latency → played reports reach the call →
    barge-in clears → key 0 transfers: the action is shown, the session ends."""
    (domain_a, secretary_a), _ = tenants
    token = (await mint(client, domain_a, secretary_a)).json()["token"]
    async with connect(f"{server.ws}?token={token}") as ws:
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready" and ready["sample_rate"] == 16000 and ready["frame_ms"] == 20
        assert ready["secretary"]["uuid"] == secretary_a and ready["secretary"]["name"] == "Console a"
        assert ready["call_uuid"].startswith("console-")
        greeting = (await events_until(ws, "play"))[-1]
        pcm = base64.b64decode(greeting["audio"])
        assert greeting["sample_rate"] == 16000 and len(pcm) == 2 * int(0.3 * 16000)
        await ws.send(json.dumps({"type": "playing", "id": greeting["id"]}))
        await ws.send(json.dumps({"type": "played", "id": greeting["id"], "completed": True, "played_ms": 300}))
        for frame in voice(0.7):
            await ws.send(frame)
        seen = await events_until(ws, "latency")
        kinds = [event["type"] for event in seen]
        assert kinds.index("transcript") < kinds.index("reply") < kinds.index("play") < kinds.index("latency")
        reply_clip = next(event for event in seen if event["type"] == "play")
        await ws.send(json.dumps({"type": "played", "id": reply_clip["id"], "completed": False, "played_ms": 120}))
        await ws.send(json.dumps({"type": "dtmf", "digit": "*"}))  # the stand-in's barge-in
        assert (await events_until(ws, "clear"))[-1] == {"type": "clear"}
        await ws.send(json.dumps({"type": "dtmf", "digit": "#"}))  # the stand-in's paused-then-resumed clip
        held = await events_until(ws, "resume")
        assert [e["type"] for e in held] == ["play", "pause", "resume"]
        await ws.send(b"\x00")  # odd length: refused, the session goes on
        assert "L16" in (await events_until(ws, "error"))[-1]["message"]
        await ws.send("not json")
        assert (await events_until(ws, "error"))[-1]["message"] == "expected a JSON object with a type"
        await ws.send(json.dumps({"type": "dtmf", "digit": "0"}))
        seen = await events_until(ws, "end")
        action = next(event for event in seen if event["type"] == "action")
        assert action == {"type": "action", "action": "transfer", "destination": "100", "context": "demo.localhost"}
        assert seen[-1] == {"type": "end", "reason": "transfer", "destination": "100", "context": "demo.localhost"}
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    stats = server.calls[-1]
    assert stats.frames >= 35 and stats.bytes == stats.frames * 640 + 0
    assert stats.voiced_s >= 0.6 and stats.turns == 1
    assert stats.started == [greeting["id"]]
    assert stats.stopped == [(greeting["id"], True), (reply_clip["id"], False)]
    assert stats.digits == ["*", "#", "0"]


async def test_audio_faster_than_real_time_closes_the_session(
    server: Server, client: httpx.AsyncClient, tenants: Any
) -> None:
    """A microphone sends in real time; a client pushing minutes of audio at once would make every call on this
    service wait for its voice detection: it is told why and closed (1008)."""
    (domain_a, secretary_a), _ = tenants
    token = (await mint(client, domain_a, secretary_a)).json()["token"]
    async with connect(f"{server.ws}?token={token}") as ws:
        await events_until(ws, "play")
        frames = voice(4.0)
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(20):  # without the limit the server would just keep feeding the call
                for frame in frames:
                    await ws.send(frame)
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "real time" in closed.value.rcvd.reason
    assert server.calls[-1].frames < len(frames), "the flood was not fed to the call"


async def test_stopping_or_leaving_hangs_the_call_up(server: Server, client: httpx.AsyncClient, tenants: Any) -> None:
    (domain_a, secretary_a), _ = tenants
    token = (await mint(client, domain_a, secretary_a)).json()["token"]
    async with connect(f"{server.ws}?token={token}") as ws:
        await events_until(ws, "play")
        await ws.send(json.dumps({"type": "stop"}))
        assert (await events_until(ws, "end"))[-1] == {"type": "end", "reason": "stopped"}
    assert server.calls[-1].closed == "stopped"
    async with connect(f"{server.ws}?token={token}") as ws:  # the same token opens another session while valid
        await events_until(ws, "play")
    for _ in range(100):  # the browser went away without a word
        if server.calls[-1].closed:
            break
        await asyncio.sleep(0.05)
    assert server.calls[-1].closed == "closed"


async def test_with_an_api_token_the_console_uses_its_own_token(
    runtime: Runtime, client: httpx.AsyncClient, tenants: Any
) -> None:
    """A service with VOICE_AI_API_TOKEN: the admin API needs the bearer token, the console's page, assets and socket
    need the console token instead (the browser never holds the API key)."""
    (domain_a, secretary_a), _ = tenants
    token = (await mint(client, domain_a, secretary_a)).json()["token"]
    guarded = runtime.settings.model_copy(update={"api_token": SecretStr("a-long-api-token-0123456789")})
    app = create_app(guarded, runtime=runtime)
    stats = Stats()
    app.state.console_call_factory = lambda setup: EchoCall(setup.transport, stats)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as http:
        assert (await http.get(f"/api/v1/domains/{domain_a}/secretaries")).status_code == 401
        assert (
            await http.post(f"/api/v1/domains/{domain_a}/secretaries/{secretary_a}/console-token")
        ).status_code == 401
        assert (await http.get("/docs")).status_code == 401
        assert (await http.get("/console", params={"token": token})).status_code == 200
        assert (await http.get("/console", params={"token": "forged"})).status_code == 401
        assert (await http.get("/console/assets/console.js")).status_code == 200
        async with connect(f"{base.replace('http', 'ws')}/api/v1/stream/console?token={token}") as ws:
            assert json.loads(await ws.recv())["type"] == "ready"
