"""The per-secretary streaming settings (call_mode, end_of_turn_ms, barge_in, barge_in_min_ms): defaults, the API's
validation with field errors, partial updates, and the database's own checks for rows written by hand."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import pytest

DEFAULTS = {"call_mode": "turn", "end_of_turn_ms": 600, "barge_in": True, "barge_in_min_ms": 300}


async def test_defaults_updates_and_validation(
    client: httpx.AsyncClient, new_domain: Callable[[], Awaitable[str]]
) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/secretaries"
    created = await client.post(base, json={"name": "Recepção"})
    assert created.status_code == 201, created.text
    secretary = created.json()
    assert {key: secretary[key] for key in DEFAULTS} == DEFAULTS
    url = f"{base}/{secretary['voice_secretary_uuid']}"

    updated = await client.patch(url, json={"call_mode": "stream", "end_of_turn_ms": 450, "barge_in": False})
    assert updated.status_code == 200, updated.text
    assert {key: updated.json()[key] for key in DEFAULTS} == {
        "call_mode": "stream",
        "end_of_turn_ms": 450,
        "barge_in": False,
        "barge_in_min_ms": 300,
    }
    assert (await client.patch(url, json={"greeting": "Oi"})).json()["call_mode"] == "stream"  # untouched

    for field, value in (
        ("call_mode", "websocket"),
        ("call_mode", None),
        ("end_of_turn_ms", 199),
        ("end_of_turn_ms", 3001),
        ("barge_in_min_ms", 99),
        ("barge_in_min_ms", 2001),
        ("barge_in", "sometimes"),
    ):
        refused = await client.patch(url, json={field: value})
        assert refused.status_code == 422, (field, value, refused.text)
        assert refused.json()["detail"][0]["loc"] == ["body", field], refused.text
    for field, value in (
        ("end_of_turn_ms", 200),
        ("end_of_turn_ms", 3000),
        ("barge_in_min_ms", 100),
        ("barge_in_min_ms", 2000),
    ):
        assert (await client.patch(url, json={field: value})).status_code == 200, (field, value)
    refused = await client.post(base, json={"name": "Outra", "call_mode": "stream", "end_of_turn_ms": 50})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "end_of_turn_ms"]


@pytest.mark.parametrize(
    ("column", "value"),
    [("call_mode", "'live'"), ("end_of_turn_ms", "100"), ("end_of_turn_ms", "5000"), ("barge_in_min_ms", "50")],
)
async def test_the_database_refuses_values_no_call_flow_understands(
    db: asyncpg.Connection, new_domain: Callable[[], Awaitable[str]], column: str, value: str
) -> None:
    domain = uuid.UUID(await new_domain())
    row = await db.fetchrow(
        "INSERT INTO v_voice_secretaries (domain_uuid, name) VALUES ($1, 'S') RETURNING call_mode, end_of_turn_ms,"
        " barge_in, barge_in_min_ms",
        domain,
    )
    assert dict(row) == DEFAULTS
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(f"UPDATE v_voice_secretaries SET {column} = {value} WHERE domain_uuid = $1", domain)
