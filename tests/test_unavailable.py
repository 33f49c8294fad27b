"""Degrade, never fail: with PostgreSQL unreachable, or the connection pool past capacity, every endpoint answers a
fast JSON 503 with Retry-After (the call flow then plays its apology and sends the caller to the operator); and
``/metrics`` shows the pool and the job queue."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import text

from conftest import PgServer, make_settings
from fakes.pgproxy import PgProxy
from voice_ai.demo.seed import seed_demo
from voice_ai.main import create_app
from voice_ai.runtime import Runtime

FAST_S = 5.0  # an upper bound with a wide margin: the point is "not a 30 s wait", not a speed benchmark


async def _service(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime.settings, runtime=runtime)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        yield http


async def _demo(runtime: Runtime) -> dict[str, str]:
    async with runtime.sessionmaker() as session, session.begin():
        tenant = await seed_demo(session)
    return {"domain": str(tenant.domain_uuid), "secretary": str(tenant.secretary_uuid)}


def _is_503(response: httpx.Response) -> bool:
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return (
        response.status_code == 503
        and isinstance(body.get("detail"), str)
        and isinstance(body.get("message"), str)
        and int(response.headers.get("retry-after", "0")) > 0
    )


@pytest.fixture
async def proxy(pg: PgServer) -> AsyncIterator[PgProxy]:
    forwarder = PgProxy(pg.socket_dir)
    await forwarder.start()
    yield forwarder
    await forwarder.close()


async def test_the_proxy_starts_once(proxy: PgProxy) -> None:
    """Starting it while it is up changes nothing (a second server would outlive the test)."""
    first = proxy._server
    await proxy.start()
    assert proxy._server is first and first is not None


async def test_database_down_every_endpoint_answers_503_json_fast(
    fresh_database: Callable[..., Awaitable[str]], proxy: PgProxy, tmp_path: Path
) -> None:
    name = urlparse(await fresh_database()).path.lstrip("/")
    runtime = Runtime(make_settings(tmp_path, proxy.url(name), worker=False))
    await runtime.start()
    try:
        demo = await _demo(runtime)
        domain = demo["domain"]
        call = f"call-{uuid.uuid4()}"
        async for http in _service(runtime):
            started = await http.post(
                "/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": call}
            )
            assert started.status_code == 201
            audio_url = started.json()["greeting_audio_url"].replace("http://t", "")

            await proxy.stop()  # PostgreSQL goes away: connections reset, the socket is gone
            requests: list[tuple[str, str, dict[str, Any]]] = [
                ("POST", "/api/v1/calls", {"json": {"domain_uuid": domain, "secretary": "8000", "call_uuid": "c2"}}),
                ("POST", f"/api/v1/calls/{call}/turns", {"data": {"domain_uuid": domain, "text": "Qual o horário?"}}),
                ("POST", f"/api/v1/calls/{call}/events", {"json": {"domain_uuid": domain, "event": "note"}}),
                ("POST", f"/api/v1/calls/{call}/end", {"json": {"domain_uuid": domain, "outcome": "hangup"}}),
                ("GET", audio_url, {}),
                ("GET", "/api/v1/domains", {}),
                ("GET", f"/api/v1/domains/{domain}/secretaries", {}),
                ("PATCH", f"/api/v1/domains/{domain}/secretaries/{demo['secretary']}", {"json": {"greeting": "Oi"}}),
                ("GET", f"/api/v1/domains/{domain}/conversations", {}),
            ]
            for method, url, options in requests:
                began = time.monotonic()
                answer = await http.request(method, url, **options)
                took = time.monotonic() - began
                assert _is_503(answer), (method, url, answer.status_code, answer.text)
                assert took < FAST_S, (method, url, took)
            assert (await http.get("/health")).status_code == 200
            assert (await http.get("/ready")).status_code == 503
            scraped = (await http.get("/metrics")).text
            assert "voice_ai_job_queue_up 0.0" in scraped
            assert 'voice_ai_unavailable_responses_total{reason="database"}' in scraped

            await proxy.start()  # back: the pool reconnects by itself
            turn = await http.post(
                f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": "Qual o horário?"}
            )
            assert turn.status_code == 200, turn.text
    finally:
        await proxy.start()
        await runtime.stop()


async def test_a_saturated_pool_answers_503_fast_and_the_rest_succeed(
    fresh_database: Callable[..., Awaitable[str]], tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path,
        await fresh_database(),
        worker=False,
        db_pool_size=2,
        db_max_overflow=0,
        db_pool_timeout_s=0.3,
        turn_deadline_s=8,
    )
    async with Runtime(settings) as runtime:
        demo = await _demo(runtime)
        domain = demo["domain"]
        call = f"call-{uuid.uuid4()}"
        async for http in _service(runtime):
            started = await http.post(
                "/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": call}
            )
            assert started.status_code == 201
            say = {"domain_uuid": domain, "text": "Vocês abrem no sábado?"}

            # every connection taken (by long requests, say): a turn waits only as long as it could still answer
            # within its deadline (until 4.5 s before it), any other request VOICE_AI_DB_POOL_TIMEOUT_S; then a 503
            async with runtime.engine.connect() as first, runtime.engine.connect() as second:
                await first.exec_driver_sql("SELECT 1")
                await second.exec_driver_sql("SELECT 1")
                began = time.monotonic()
                refused = await asyncio.gather(*(http.post(f"/api/v1/calls/{call}/turns", data=say) for _ in range(5)))
                took = time.monotonic() - began
                assert all(_is_503(r) for r in refused), [(r.status_code, r.text) for r in refused]
                assert took < 8, took  # within the turn deadline; the old pool waited 30 s
                began = time.monotonic()
                assert _is_503(await http.get(f"/api/v1/domains/{domain}/secretaries"))
                assert time.monotonic() - began < FAST_S
                scraped = (await http.get("/metrics")).text
                assert 'voice_ai_db_pool_connections{state="checked_out"} 2.0' in scraped
                assert 'voice_ai_db_pool_connections{state="capacity"} 2.0' in scraped

            # many turns at once on a tiny pool: each answers (200) or is refused cleanly (503 JSON), never a 500
            answers = await asyncio.gather(*(http.post(f"/api/v1/calls/{call}/turns", data=say) for _ in range(10)))
            assert all(a.status_code == 200 or _is_503(a) for a in answers), [a.text for a in answers]
            ok = [a.json()["turn"] for a in answers if a.status_code == 200]
            assert ok and len(set(ok)) == len(ok)
            async with runtime.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        text(
                            "SELECT m.turn_index, m.role FROM v_voice_messages m JOIN v_voice_conversations c"
                            " USING (voice_conversation_uuid) WHERE c.call_uuid = :call AND m.turn_index > 0"
                            " AND m.role IN ('user', 'assistant')"
                        ),
                        {"call": call},
                    )
                ).all()
            stored = sorted((r[0], r[1]) for r in rows)
            assert len(stored) == len(set(stored))  # nothing stored twice
            assert sorted(i for i, role in stored if role == "user") == sorted(ok)  # every answered turn stored


def _tone_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    import io
    import math
    import struct
    import wave

    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


async def test_a_turn_whose_connection_comes_too_late_to_transcribe_answers_503_not_silence(
    fresh_database: Callable[..., Awaitable[str]], tmp_path: Path
) -> None:
    """A turn that got its first connection when no recogniser had time left used to be answered "pode repetir?" and
    stored as silence (the next one sent the caller to the operator as "silent"): it is a 503 (the call flow's apology
    and the operator) once Whisper could no longer run after it."""
    deadline_s = 8.0
    settings = make_settings(
        tmp_path, await fresh_database(), worker=False, db_pool_size=1, db_max_overflow=0, turn_deadline_s=deadline_s
    )
    async with Runtime(settings) as runtime:
        demo = await _demo(runtime)
        domain = demo["domain"]
        call = f"call-{uuid.uuid4()}"
        async for http in _service(runtime):
            started = await http.post(
                "/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": call}
            )
            assert started.status_code == 201
            async with runtime.engine.connect() as held:  # the only connection, busy
                await held.exec_driver_sql("SELECT 1")
                turn = asyncio.create_task(
                    http.post(
                        f"/api/v1/calls/{call}/turns",
                        data={"domain_uuid": domain},
                        files={"audio": ("turn.wav", _tone_wav(), "audio/wav")},
                    )
                )
                # free again 5.5 s into the turn: Whisper had until 3 s before the deadline, the turn until 0.5 s
                await asyncio.wait({turn}, timeout=deadline_s - 2.5)
            answer = await turn
            assert _is_503(answer), (answer.status_code, answer.text)
            async with runtime.engine.connect() as conn:
                stored = await conn.scalar(
                    text(
                        "SELECT count(*) FROM v_voice_messages m JOIN v_voice_conversations c"
                        " USING (voice_conversation_uuid) WHERE c.call_uuid = :call AND m.role = 'user'"
                    ),
                    {"call": call},
                )
            assert stored == 0  # nothing stored as a silent turn


async def test_metrics_show_the_pool_and_the_queue(client: httpx.AsyncClient) -> None:
    scraped = (await client.get("/metrics")).text
    for state in ("size", "checked_out", "overflow", "waiting", "capacity"):
        assert f'voice_ai_db_pool_connections{{state="{state}"}}' in scraped, state
    assert "voice_ai_job_queue_up 1.0" in scraped
