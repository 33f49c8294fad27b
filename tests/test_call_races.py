"""Calls under concurrency, against the real PostgreSQL: the fixed-phrase audio cache, the same call started many
times at once (safe to retry), and simultaneous turns on one call (distinct, consecutive turn numbers)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

import test_calls
from test_calls import _start
from voice_ai.runtime import Runtime

demo = test_calls.demo  # the seeded demo tenant (a fixture)


async def test_concurrent_starts_share_one_cached_greeting(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any
) -> None:
    domain = demo["domain"]
    greeting = f"Olá, teste de concorrência {uuid.uuid4().hex[:6]}."  # a phrase nobody cached yet
    patched = await client.patch(
        f"/api/v1/domains/{domain}/secretaries/{demo['secretary']}", json={"greeting": greeting}
    )
    assert patched.status_code == 200
    calls = [f"call-{uuid.uuid4()}" for _ in range(16)]
    answers = await asyncio.gather(
        *(
            client.post("/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": c})
            for c in calls
        )
    )
    assert [a.status_code for a in answers] == [201] * len(calls), [a.text for a in answers if a.status_code != 201]
    urls = {a.json()["greeting_audio_url"] for a in answers}
    assert len(urls) == 1  # every call plays the one cached clip
    audio_id = uuid.UUID(urls.pop().rsplit("/", 1)[-1].removesuffix(".wav"))
    key = await db.fetchval("SELECT cache_key FROM v_voice_ai_audio WHERE voice_ai_audio_uuid = $1", audio_id)
    assert key and await db.fetchval("SELECT count(*) FROM v_voice_ai_audio WHERE cache_key = $1", key) == 1


async def test_the_same_call_started_ten_times_at_once(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any
) -> None:
    call = f"call-{uuid.uuid4()}"
    body = {"domain_uuid": demo["domain"], "secretary": "8000", "call_uuid": call, "caller_id_number": "+5541"}
    answers = await asyncio.gather(*(client.post("/api/v1/calls", json=body) for _ in range(10)))
    assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers if a.status_code != 201]
    assert len({a.json()["conversation_uuid"] for a in answers}) == 1
    assert await db.fetchval("SELECT count(*) FROM v_voice_conversations WHERE call_uuid = $1", call) == 1
    greetings = await db.fetchval(
        "SELECT count(*) FROM v_voice_messages m JOIN v_voice_conversations c USING (voice_conversation_uuid)"
        " WHERE c.call_uuid = $1 AND m.turn_index = 0 AND m.role = 'assistant'",
        call,
    )
    assert greetings == 1


async def test_simultaneous_turns_on_one_call_get_distinct_numbers(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any
) -> None:
    call = f"call-{uuid.uuid4()}"
    await _start(client, demo, call)
    questions = ["Vocês abrem no sábado?", "Qual o horário?", "Posso pagar com Pix?", "Onde fica?", "Tem site?"] * 2
    answers = await asyncio.gather(
        *(
            client.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": demo["domain"], "text": q})
            for q in questions
        )
    )
    assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers if a.status_code != 200]
    assert sorted(a.json()["turn"] for a in answers) == list(range(1, 11))
    rows = await db.fetch(
        "SELECT m.turn_index, m.role FROM v_voice_messages m JOIN v_voice_conversations c"
        " USING (voice_conversation_uuid) WHERE c.call_uuid = $1 AND m.role IN ('user', 'assistant')"
        " AND m.turn_index > 0",
        call,
    )
    for role in ("user", "assistant"):
        assert sorted(r["turn_index"] for r in rows if r["role"] == role) == list(range(1, 11)), role
    assert await db.fetchval("SELECT turn_count FROM v_voice_conversations WHERE call_uuid = $1", call) == 10


async def test_a_turn_holds_its_call_row_lock_only_to_claim_its_number(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building the provider chains (and the embedder, the routable targets) happens before the turn locks its
    call's row: an end, an event or another turn of the call never waits for that."""
    call = f"call-{uuid.uuid4()}"
    await _start(client, demo, call)
    assert runtime.providers is not None
    chain = runtime.providers.chain
    free: list[bool] = []

    async def probing(*args: Any, **kwargs: Any) -> Any:
        async with db.transaction():  # would the call's row be free for an end or an event now?
            try:
                await db.execute("SELECT 1 FROM v_voice_conversations WHERE call_uuid = $1 FOR UPDATE NOWAIT", call)
                free.append(True)
            except asyncpg.LockNotAvailableError:
                free.append(False)
        return await chain(*args, **kwargs)

    monkeypatch.setattr(runtime.providers, "chain", probing)
    turn = await client.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": demo["domain"], "text": "Oi"})
    assert turn.status_code == 200, turn.text
    assert free and all(free), free


async def test_a_turn_waits_for_its_call_row_lock_only_while_it_can_still_answer(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any, runtime: Runtime
) -> None:
    """A call's row locked by something stuck: the turn answers a JSON 503 (apology, operator) while it still could,
    never waits on the lock for ever (and never a 500)."""
    call = f"call-{uuid.uuid4()}"
    await _start(client, demo, call)
    settings = runtime.settings
    runtime.settings = settings.model_copy(update={"turn_deadline_s": 8.0})
    try:
        async with db.transaction():
            await db.execute("SELECT 1 FROM v_voice_conversations WHERE call_uuid = $1 FOR UPDATE", call)
            turn = await asyncio.wait_for(
                client.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": demo["domain"], "text": "Oi"}), 30
            )
    finally:
        runtime.settings = settings
    assert turn.status_code == 503 and "lock" in turn.json()["detail"], turn.text
    assert int(turn.headers["retry-after"]) > 0
    again = await client.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": demo["domain"], "text": "Oi"})
    assert again.status_code == 200, again.text
