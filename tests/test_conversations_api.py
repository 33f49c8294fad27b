"""Conversation log: list with filters, detail with messages and timings, paginated messages."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

NewDomain = Callable[..., Awaitable[str]]


async def _conversation(
    db: asyncpg.Connection,
    domain: str,
    call: str,
    caller: str,
    outcome: str | None,
    started: datetime,
    secretary: uuid.UUID | None = None,
) -> uuid.UUID:
    conv: uuid.UUID = await db.fetchval(
        "INSERT INTO v_voice_conversations (domain_uuid, voice_secretary_uuid, call_uuid, caller_id_number, outcome,"
        " started_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING voice_conversation_uuid",
        uuid.UUID(domain),
        secretary,
        call,
        caller,
        outcome,
        started,
    )
    return conv


async def test_list_filter_and_detail(client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection) -> None:
    domain = await new_domain()
    sec = (await client.post(f"/api/v1/domains/{domain}/secretaries", json={"name": "S"})).json()[
        "voice_secretary_uuid"
    ]
    now = datetime.now(UTC)
    c1 = await _conversation(db, domain, "c1", "+554133334444", "transferred", now - timedelta(days=2), uuid.UUID(sec))
    await _conversation(db, domain, "c2", "+551199998888", "resolved", now - timedelta(hours=1))
    await _conversation(db, domain, "c3", "+554133334444", None, now)
    for turn, (role, text) in enumerate([("user", "Preciso da segunda via"), ("assistant", "Vou transferir")]):
        await db.execute(
            "INSERT INTO v_voice_messages (domain_uuid, voice_conversation_uuid, turn_index, role, text, action, timings,"
            " providers_used) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)",
            uuid.UUID(domain),
            c1,
            turn,
            role,
            text,
            "transfer" if role == "assistant" else None,
            json.dumps({"stt_ms": 320, "llm_ms": 15}),
            json.dumps({"stt": "whisper"}),
        )
    base = f"/api/v1/domains/{domain}/conversations"

    everything = (await client.get(base)).json()
    assert [c["call_uuid"] for c in everything["items"]] == ["c3", "c2", "c1"]  # newest first
    assert (await client.get(base, params={"outcome": "transferred"})).json()["items"][0]["call_uuid"] == "c1"
    assert (await client.get(base, params={"caller": "4133334444"})).json()["total"] == 2
    assert (await client.get(base, params={"secretary_uuid": sec})).json()["total"] == 1
    since = (now - timedelta(hours=2)).isoformat()
    assert {c["call_uuid"] for c in (await client.get(base, params={"started_from": since})).json()["items"]} == {
        "c2",
        "c3",
    }
    assert (await client.get(base, params={"outcome": "lost"})).status_code == 422

    detail = (await client.get(f"{base}/{c1}")).json()
    assert detail["outcome"] == "transferred"
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert detail["messages"][0]["timings"] == {"stt_ms": 320, "llm_ms": 15}
    assert detail["messages"][1]["action"] == "transfer"

    page = (await client.get(f"{base}/{c1}/messages", params={"limit": 1, "offset": 1})).json()
    assert page["total"] == 2 and page["items"][0]["text"] == "Vou transferir"
    assert (await client.get(f"{base}/{uuid.uuid4()}")).status_code == 404


async def test_delete_a_conversation_with_its_transcript(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection
) -> None:
    a, b = await new_domain(), await new_domain()
    conv = await _conversation(db, a, "erase-me", "+5511988887777", "resolved", datetime.now(UTC))
    await db.execute(
        "INSERT INTO v_voice_messages (domain_uuid, voice_conversation_uuid, turn_index, role, text)"
        " VALUES ($1, $2, 1, 'user', 'meu CPF é 123')",
        uuid.UUID(a),
        conv,
    )
    other_tenant = await client.delete(f"/api/v1/domains/{b}/conversations/{conv}")
    assert other_tenant.status_code == 404  # another tenant's call is not there
    assert (await client.get(f"/api/v1/domains/{a}/conversations/{conv}")).status_code == 200
    deleted = await client.delete(f"/api/v1/domains/{a}/conversations/{conv}")
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/domains/{a}/conversations/{conv}")).status_code == 404
    assert await db.fetchval("SELECT count(*) FROM v_voice_messages WHERE voice_conversation_uuid = $1", conv) == 0
    assert (await client.delete(f"/api/v1/domains/{a}/conversations/{conv}")).status_code == 404
