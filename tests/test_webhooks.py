"""Call-end webhooks: signed, retried with backoff, delivered after the receiver comes back — across a
service restart."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import make_settings
from fakes.receiver import ReceiverServer
from fakes.vendors import OPENAI_KEY
from voice_ai.db.engine import pool_state
from voice_ai.demo.seed import seed_demo
from voice_ai.main import create_app
from voice_ai.runtime import Runtime
from voice_ai.services.webhooks import backoff, sign

SECRET = "whsec_test_secret_0123456789"


@pytest.fixture
def receiver() -> Any:
    with ReceiverServer() as state:
        yield state


async def _client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime.settings, runtime=runtime)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        yield http


async def _delivery(runtime: Runtime, call: str) -> dict[str, Any]:
    async with runtime.engine.connect() as conn:
        from sqlalchemy import text

        row = (
            await conn.execute(
                text(
                    "SELECT w.status, w.attempts, w.last_error, w.domain_uuid, w.voice_conversation_uuid"
                    " FROM v_voice_ai_webhook_deliveries w JOIN v_voice_conversations c"
                    " USING (domain_uuid, voice_conversation_uuid) WHERE c.call_uuid = :call"
                ),
                {"call": call},
            )
        ).first()
    return dict(row._mapping) if row else {}


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_signature_and_backoff() -> None:
    body = b'{"a":1}'
    expected = "sha256=" + hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1700000000, body) == expected
    assert [backoff(n, 10) for n in (1, 2, 3)] == [10, 20, 40] and backoff(30, 10) == 3600


async def test_webhook_survives_a_down_receiver_and_a_restart(
    fresh_database: Callable[..., Awaitable[str]], tmp_path: Path, receiver: Any
) -> None:
    url = await fresh_database()
    first = Runtime(make_settings(tmp_path, url, webhook_retry_base_s=0.5))
    await first.start()
    call = f"call-{uuid.uuid4()}"
    try:
        async with first.sessionmaker() as session, session.begin():
            tenant = await seed_demo(session)
        async for http in _client(first):
            domain = str(tenant.domain_uuid)
            patched = await http.patch(
                f"/api/v1/domains/{domain}/secretaries/{tenant.secretary_uuid}",
                json={"webhook_url": receiver.url, "webhook_secret": SECRET},
            )
            assert patched.status_code == 200
            receiver.up = False
            await http.post("/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": call})
            await http.post(
                f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": "Preciso da segunda via do boleto"}
            )
            await http.post(f"/api/v1/calls/{call}/end", json={"domain_uuid": domain, "outcome": "transferred"})

            async def attempted() -> bool:
                return (await _delivery(first, call)).get("attempts", 0) >= 1

            await _until(attempted)
    finally:
        await first.stop()  # the service goes down while the retry is pending
    state = await _delivery_from(url, tmp_path, call)
    assert state["status"] == "pending" and state["last_error"] == "HTTP 503" and receiver.refused >= 1

    receiver.up = True
    second = Runtime(make_settings(tmp_path, url, webhook_retry_base_s=0.5))
    await second.start()
    try:

        async def delivered() -> bool:
            return (await _delivery(second, call)).get("status") == "delivered"

        await _until(delivered)
        info = await _delivery(second, call)
        async for http in _client(second):
            listed = (
                await http.get(
                    f"/api/v1/domains/{info['domain_uuid']}/conversations/{info['voice_conversation_uuid']}/webhooks"
                )
            ).json()["items"]
    finally:
        await second.stop()
    assert listed[0]["status"] == "delivered" and listed[0]["attempts"] >= 2 and listed[0]["delivered_at"]
    assert len(receiver.received) == 1
    got = receiver.received[0]
    timestamp = int(got.headers["x-voiceai-timestamp"])
    assert got.headers["x-voiceai-signature"] == sign(SECRET, timestamp, got.body)
    body = json.loads(got.body)
    assert body["event"] == "call.ended" and body["call_uuid"] == call and body["outcome"] == "transferred"
    assert body["transfer"] == {"destination": "203", "context": "demo.localhost", "department": "Financeiro"}
    assert [t["role"] for t in body["transcript"]] == ["assistant", "user", "assistant"]
    assert SECRET not in got.body.decode()


async def _delivery_from(url: str, tmp_path: Path, call: str) -> dict[str, Any]:
    probe = Runtime(make_settings(tmp_path, url, worker=False))
    await probe.start()
    try:
        return await _delivery(probe, call)
    finally:
        await probe.stop()


async def test_end_of_call_jobs_hold_no_connection_while_the_model_or_the_receiver_works(
    fresh_database: Callable[..., Awaitable[str]], tmp_path: Path, receiver: Any, vendors: Any
) -> None:
    """Several calls end at once, with a slow LLM for their summaries and a slow webhook receiver: no background
    connection is held while either works (the background pool is small, and a job that timed out waiting for one
    was not retried: its webhook stayed pending for ever), and every summary and every webhook arrives."""
    runtime = Runtime(make_settings(tmp_path, await fresh_database()))
    await runtime.start()
    calls = [f"call-{uuid.uuid4()}" for _ in range(6)]
    try:
        async with runtime.sessionmaker() as session, session.begin():
            tenant = await seed_demo(session)
        domain = str(tenant.domain_uuid)
        async for http in _client(runtime):
            patched = await http.patch(
                f"/api/v1/domains/{domain}/secretaries/{tenant.secretary_uuid}", json={"webhook_url": receiver.url}
            )
            assert patched.status_code == 200
            for call in calls:  # the turns' replies come from the built-in policy
                await http.post("/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": call})
                await http.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": "Vocês abrem?"})
            model = await http.post(  # the summaries come from the tenant's model, which is slow
                f"/api/v1/domains/{domain}/providers",
                json={
                    "provider_type": "llm",
                    "provider_name": "openai_compatible",
                    "is_default": True,
                    "config": {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "model": "m"},
                },
            )
            assert model.status_code == 201, model.text
            vendors.script[:] = ["slow"] * len(calls)
            receiver.delay_s = 2.0
            for call in calls:
                ended = await http.post(
                    f"/api/v1/calls/{call}/end", json={"domain_uuid": domain, "outcome": "resolved"}
                )
                assert ended.status_code == 200
            held: list[int] = []
            for busy in (_is(lambda: vendors.waiting >= 2), _is(lambda: receiver.in_flight >= 2)):
                await _until(busy, 60)  # the model, then the receiver, at work for several calls at once
                # the fewest connections checked out while they work: other jobs' short transactions come and go
                # (one may be in flight at any instant); a connection held across the wait never goes
                samples: list[int] = []
                while await busy() and len(samples) < 10:
                    samples.append(pool_state(runtime._background_engine)["checked_out"])  # type: ignore[arg-type]
                    await asyncio.sleep(0.05)
                held.append(min(samples))

            async def all_delivered() -> bool:
                states = [(await _delivery(runtime, call)).get("status") for call in calls]
                return states == ["delivered"] * len(calls)

            await _until(all_delivered, 90)
            async with runtime.engine.connect() as conn:
                from sqlalchemy import text

                summaries = (
                    await conn.execute(
                        text("SELECT summary FROM v_voice_conversations WHERE call_uuid = ANY(:calls)"),
                        {"calls": calls},
                    )
                ).scalars()
                assert set(summaries) == {"ok"}  # the model's summary of each call, not the extractive one
    finally:
        await runtime.stop()
    assert held == [0, 0], held  # nothing held while the model or the receiver worked (4 and 4 before)
    assert len(receiver.received) == len(calls)


def _is(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return condition()

    return check
