"""Domains: listed and filtered; created only in standalone mode."""

from __future__ import annotations

import httpx

from voice_ai.runtime import Runtime


async def test_create_list_and_filter(client: httpx.AsyncClient, runtime: Runtime) -> None:
    assert runtime.standalone  # the test database's v_domains was created by our migration
    for name in ("Alpha.Example.com", "beta.example.com"):
        assert (await client.post("/api/v1/domains", json={"domain_name": name})).status_code == 201
    listed = (await client.get("/api/v1/domains")).json()
    assert [d["domain_name"] for d in listed["items"]] == ["alpha.example.com", "beta.example.com"]
    assert all(d["domain_enabled"] for d in listed["items"])
    only = (await client.get("/api/v1/domains", params={"name": "BETA.example.com"})).json()
    assert only["total"] == 1 and only["items"][0]["domain_name"] == "beta.example.com"
    one = await client.get(f"/api/v1/domains/{only['items'][0]['domain_uuid']}")
    assert one.status_code == 200 and one.json()["domain_name"] == "beta.example.com"


async def test_duplicate_and_invalid_names(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/domains", json={"domain_name": "pbx.example.com"})).status_code == 201
    dup = await client.post("/api/v1/domains", json={"domain_name": "PBX.example.com"})
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    bad = await client.post("/api/v1/domains", json={"domain_name": "bad name!"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "domain_name"]


async def test_fusionpbx_mode_refuses_to_create_domains(client: httpx.AsyncClient, runtime: Runtime) -> None:
    settings = runtime.settings
    runtime.settings, runtime.standalone = settings.model_copy(update={"mode": "fusionpbx"}), False
    try:
        response = await client.post("/api/v1/domains", json={"domain_name": "x.example.com"})
    finally:
        runtime.settings, runtime.standalone = settings, True
    assert response.status_code == 403
    assert "FusionPBX" in response.json()["detail"]


async def test_concurrent_creation_of_the_same_name_is_a_409(client: httpx.AsyncClient) -> None:
    import asyncio

    responses = await asyncio.gather(
        *(client.post("/api/v1/domains", json={"domain_name": "race.example.com"}) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
