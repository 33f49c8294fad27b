"""Tenant B's path never reaches tenant A's objects: read, update and delete are 404, A's data unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import pytest

NewDomain = Callable[..., Awaitable[str]]

OBJECTS = {
    "secretaries": ({"name": "A's secretary", "extension": "7000"}, "voice_secretary_uuid", {"name": "hijacked"}),
    "transfer-rules": (
        {"department_name": "Vendas", "destination_number": "300"},
        "voice_transfer_rule_uuid",
        {"destination_number": "666"},
    ),
    "providers": (
        {"provider_type": "llm", "provider_name": "openai", "config": {"api_key": "sk-tenant-a-secret-0001"}},
        "voice_ai_provider_uuid",
        {"config": {"base_url": "http://evil"}},
    ),
    "documents": ({"name": "contrato.pdf", "mime_type": "application/pdf"}, "voice_document_uuid", {"name": "x"}),
}


@pytest.mark.parametrize("path", OBJECTS)
async def test_other_tenant_cannot_read_update_or_delete(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection, path: str
) -> None:
    a, b = await new_domain(), await new_domain()
    body, id_field, change = OBJECTS[path]
    created = await client.post(f"/api/v1/domains/{a}/{path}", json=body)
    assert created.status_code == 201
    object_id = created.json()[id_field]
    before = (await client.get(f"/api/v1/domains/{a}/{path}/{object_id}")).json()

    via_b = f"/api/v1/domains/{b}/{path}/{object_id}"
    missing = f"/api/v1/domains/{b}/{path}/{uuid.uuid4()}"
    for method, kwargs in (("GET", {}), ("PATCH", {"json": change}), ("DELETE", {})):
        foreign = await client.request(method, via_b, **kwargs)
        absent = await client.request(method, missing, **kwargs)
        assert foreign.status_code == 404, (method, foreign.text)
        # indistinguishable from an object that does not exist
        assert foreign.json() == absent.json()
    assert (await client.get(f"/api/v1/domains/{b}/{path}")).json()["total"] == 0

    after = await client.get(f"/api/v1/domains/{a}/{path}/{object_id}")
    assert after.status_code == 200
    assert after.json() == before


async def test_conversations_are_isolated(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection
) -> None:
    a, b = await new_domain(), await new_domain()
    conv = await db.fetchval(
        "INSERT INTO v_voice_conversations (domain_uuid, call_uuid, caller_id_number) VALUES ($1, 'call-a', '4133334444') "
        "RETURNING voice_conversation_uuid",
        uuid.UUID(a),
    )
    assert (await client.get(f"/api/v1/domains/{a}/conversations/{conv}")).status_code == 200
    assert (await client.get(f"/api/v1/domains/{b}/conversations/{conv}")).status_code == 404
    assert (await client.get(f"/api/v1/domains/{b}/conversations/{conv}/messages")).status_code == 404
    assert (await client.get(f"/api/v1/domains/{b}/conversations")).json()["total"] == 0


async def test_domain_uuid_in_body_cannot_move_an_object(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    a, b = await new_domain(), await new_domain()
    created = await client.post(f"/api/v1/domains/{a}/secretaries", json={"name": "S", "domain_uuid": b})
    assert created.status_code == 422  # unknown field: the tenant comes from the path only
    sec = (await client.post(f"/api/v1/domains/{a}/secretaries", json={"name": "S"})).json()
    moved = await client.patch(
        f"/api/v1/domains/{a}/secretaries/{sec['voice_secretary_uuid']}", json={"domain_uuid": b}
    )
    assert moved.status_code == 422
    assert (await client.get(f"/api/v1/domains/{a}/secretaries/{sec['voice_secretary_uuid']}")).json()[
        "domain_uuid"
    ] == a
