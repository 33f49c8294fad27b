"""Every CRUD route of the tenant admin API, against the real database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

NewDomain = Callable[..., Awaitable[str]]

# resource path -> (valid create body, valid update body, field checked after update)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "secretaries": (
        {"name": "Recepção", "extension": "8000", "greeting": "Olá!", "operator_destination": "200"},
        {"greeting": "Bom dia!", "max_turns": 5},
        "greeting",
    ),
    "transfer-rules": (
        {"department_name": "Financeiro", "destination_number": "203", "keywords": ["boleto", "pagamento"]},
        {"destination_number": "2030", "keywords": ["boleto"]},
        "destination_number",
    ),
    "providers": (
        {
            "provider_type": "llm",
            "provider_name": "openai_compatible",
            "config": {"base_url": "http://127.0.0.1:11434/v1"},
        },
        {"priority": 5, "config": {"model": "llama3.1"}},
        "priority",
    ),
    "documents": (
        {"name": "Tabela de preços", "mime_type": "application/pdf", "size_bytes": 1024, "sha256": "a" * 64},
        {"name": "Preços 2026"},
        "name",
    ),
}
ID_FIELD = {
    "secretaries": "voice_secretary_uuid",
    "transfer-rules": "voice_transfer_rule_uuid",
    "providers": "voice_ai_provider_uuid",
    "documents": "voice_document_uuid",
}


@pytest.mark.parametrize("path", CASES)
async def test_create_list_get_update_delete(client: httpx.AsyncClient, new_domain: NewDomain, path: str) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/{path}"
    create, update, field = CASES[path]

    created = await client.post(base, json=create)
    assert created.status_code == 201, created.text
    body = created.json()
    object_id = body[ID_FIELD[path]]
    assert body["domain_uuid"] == domain
    assert body["insert_date"] and body["update_date"]

    listed = await client.get(base)
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert listed.json()["items"][0][ID_FIELD[path]] == object_id

    fetched = await client.get(f"{base}/{object_id}")
    assert fetched.status_code == 200
    assert fetched.json() == body

    patched = await client.patch(f"{base}/{object_id}", json=update)
    assert patched.status_code == 200, patched.text
    assert patched.json()[field] == update[field]
    assert patched.json()["update_date"] > body["update_date"]
    # fields not sent are unchanged
    for key, value in create.items():
        if key not in update and key not in ("config",):
            assert patched.json()[key] == value, key

    deleted = await client.delete(f"{base}/{object_id}")
    assert deleted.status_code == 204
    assert (await client.get(f"{base}/{object_id}")).status_code == 404
    assert (await client.delete(f"{base}/{object_id}")).status_code == 404
    assert (await client.patch(f"{base}/{object_id}", json=update)).status_code == 404


async def test_pagination(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/transfer-rules"
    for i in range(7):
        r = await client.post(base, json={"department_name": f"D{i}", "destination_number": f"20{i}", "priority": i})
        assert r.status_code == 201
    first = (await client.get(base, params={"limit": 3})).json()
    second = (await client.get(base, params={"limit": 3, "offset": 3})).json()
    third = (await client.get(base, params={"limit": 3, "offset": 6})).json()
    assert first["total"] == second["total"] == third["total"] == 7
    names = [r["department_name"] for page in (first, second, third) for r in page["items"]]
    assert names == [f"D{i}" for i in range(7)]
    too_big = await client.get(base, params={"limit": 100000})
    assert too_big.status_code == 422
    assert "limit" in too_big.json()["message"]


async def test_filters(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/providers"
    for kind, name in (("stt", "whisper"), ("tts", "espeak"), ("llm", "policy")):
        assert (await client.post(base, json={"provider_type": kind, "provider_name": name})).status_code == 201
    only = (await client.get(base, params={"provider_type": "tts"})).json()
    assert [p["provider_name"] for p in only["items"]] == ["espeak"]
    bad = await client.get(base, params={"provider_type": "fax"})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        (
            "secretaries",
            {"name": "", "max_turns": 0, "silence_threshold": -1},
            {"name", "max_turns", "silence_threshold"},
        ),
        ("secretaries", {"name": "x", "operator_destination": "200 XML evil"}, {"operator_destination"}),
        (
            "secretaries",
            {"name": "x", "webhook_url": "not a url", "language": "portuguese"},
            {"webhook_url", "language"},
        ),
        ("secretaries", {"name": "x", "unknown_field": 1}, {"unknown_field"}),
        ("transfer-rules", {"department_name": "x"}, {"destination_number"}),
        (
            "transfer-rules",
            {"department_name": "x", "destination_number": "1", "destination_context": "a b"},
            {"destination_context"},
        ),
        ("providers", {"provider_type": "fax", "provider_name": "Bad Name"}, {"provider_type", "provider_name"}),
        ("documents", {"name": "a", "mime_type": "pdf", "sha256": "xyz"}, {"mime_type", "sha256"}),
    ],
)
async def test_invalid_bodies_get_field_level_422(
    client: httpx.AsyncClient, new_domain: NewDomain, path: str, body: dict[str, Any], fields: set[str]
) -> None:
    domain = await new_domain()
    response = await client.post(f"/api/v1/domains/{domain}/{path}", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert {err["loc"][-1] for err in payload["detail"]} == fields
    for field in fields:
        assert field in payload["message"]


async def test_malformed_json_is_a_clear_422(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    response = await client.post(
        f"/api/v1/domains/{domain}/secretaries", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["message"] == "the request body is not valid JSON"


async def test_null_for_a_required_field_is_refused(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/secretaries"
    sec = (await client.post(base, json={"name": "S"})).json()
    response = await client.patch(f"{base}/{sec['voice_secretary_uuid']}", json={"name": None})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    cleared = await client.patch(f"{base}/{sec['voice_secretary_uuid']}", json={"greeting": None})
    assert cleared.status_code == 200 and cleared.json()["greeting"] is None


async def test_unknown_domain_is_404(client: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    for path in ("secretaries", "transfer-rules", "providers", "documents", "conversations"):
        response = await client.get(f"/api/v1/domains/{missing}/{path}")
        assert response.status_code == 404, path
        assert response.json()["detail"] == "Domain not found"
    create = await client.post(f"/api/v1/domains/{missing}/secretaries", json={"name": "x"})
    assert create.status_code == 404
    assert (await client.get(f"/api/v1/domains/{missing}")).status_code == 404


async def test_duplicate_extension_is_a_409(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/secretaries"
    assert (await client.post(base, json={"name": "A", "extension": "9000"})).status_code == 201
    dup = await client.post(base, json={"name": "B", "extension": "9000"})
    assert dup.status_code == 409
    assert "extension" in dup.json()["detail"]
    other = await new_domain()  # the same extension in another tenant is fine
    assert (
        await client.post(f"/api/v1/domains/{other}/secretaries", json={"name": "A", "extension": "9000"})
    ).status_code == 201


async def test_secretary_provider_references_are_checked(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain, other = await new_domain(), await new_domain()
    tts = (
        await client.post(
            f"/api/v1/domains/{domain}/providers", json={"provider_type": "tts", "provider_name": "espeak"}
        )
    ).json()["voice_ai_provider_uuid"]
    foreign = (
        await client.post(
            f"/api/v1/domains/{other}/providers", json={"provider_type": "stt", "provider_name": "whisper"}
        )
    ).json()["voice_ai_provider_uuid"]
    base = f"/api/v1/domains/{domain}/secretaries"

    wrong_kind = await client.post(base, json={"name": "S", "stt_provider_uuid": tts})
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["detail"][0]["loc"] == ["body", "stt_provider_uuid"]
    assert "tts provider, not stt" in wrong_kind.json()["message"]

    cross_tenant = await client.post(base, json={"name": "S", "stt_provider_uuid": foreign})
    assert cross_tenant.status_code == 422
    assert "no stt provider with this id in this domain" in cross_tenant.json()["message"]

    ok = await client.post(base, json={"name": "S", "tts_provider_uuid": tts})
    assert ok.status_code == 201
    # deleting the provider falls back to the tenant default (reference cleared), not a dangling id
    assert (await client.delete(f"/api/v1/domains/{domain}/providers/{tts}")).status_code == 204
    sec = (await client.get(f"{base}/{ok.json()['voice_secretary_uuid']}")).json()
    assert sec["tts_provider_uuid"] is None


async def test_transfer_rule_secretary_must_belong_to_the_domain(
    client: httpx.AsyncClient, new_domain: NewDomain
) -> None:
    domain, other = await new_domain(), await new_domain()
    foreign_sec = (await client.post(f"/api/v1/domains/{other}/secretaries", json={"name": "S"})).json()
    response = await client.post(
        f"/api/v1/domains/{domain}/transfer-rules",
        json={
            "department_name": "X",
            "destination_number": "1",
            "voice_secretary_uuid": foreign_sec["voice_secretary_uuid"],
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "voice_secretary_uuid"]


async def test_one_default_provider_per_type(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/providers"
    first = (
        await client.post(base, json={"provider_type": "llm", "provider_name": "policy", "is_default": True})
    ).json()
    second = (
        await client.post(base, json={"provider_type": "llm", "provider_name": "openai_compatible", "is_default": True})
    ).json()
    stt = (
        await client.post(base, json={"provider_type": "stt", "provider_name": "whisper", "is_default": True})
    ).json()
    defaults = {p["provider_name"] for p in (await client.get(base)).json()["items"] if p["is_default"]}
    assert defaults == {"openai_compatible", "whisper"}
    # switching back through PATCH moves the flag again
    await client.patch(f"{base}/{first['voice_ai_provider_uuid']}", json={"is_default": True})
    defaults = {p["provider_name"] for p in (await client.get(base)).json()["items"] if p["is_default"]}
    assert defaults == {"policy", "whisper"}
    assert second and stt


async def test_documents_reject_duplicate_content(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/documents"
    body = {"name": "a.pdf", "mime_type": "application/pdf", "sha256": "b" * 64}
    assert (await client.post(base, json=body)).status_code == 201
    dup = await client.post(base, json={**body, "name": "copy.pdf"})
    assert dup.status_code == 409
    assert "already uploaded" in dup.json()["detail"]
    doc = (await client.get(base)).json()["items"][0]
    assert doc["status"] == "queued" and doc["chunk_count"] == 0


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "secretaries", {"json": {"name": "a\u0000b"}}),
        (
            "POST",
            "providers",
            {"json": {"provider_type": "llm", "provider_name": "openai_compatible", "config": {"model": "b\u0000"}}},
        ),
        ("GET", "conversations", {"params": {"caller": "\u0000"}}),
        ("GET", "conversations", {"params": {"started_from": "9999-12-31T23:59:59-23:00"}}),
    ],
)
async def test_values_postgres_cannot_store_are_a_422(
    client: httpx.AsyncClient, new_domain: NewDomain, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    domain = await new_domain()
    response = await client.request(method, f"/api/v1/domains/{domain}/{path}", **kwargs)
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith("invalid value: ")
    assert response.json()["detail"][0]["msg"] == response.json()["message"]  # the field-error shape, like every 422
    # the session is usable again afterwards
    assert (await client.get(f"/api/v1/domains/{domain}/secretaries")).status_code == 200


async def test_bounds_on_sizes_offsets_and_config(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    big = await client.post(
        f"/api/v1/domains/{domain}/documents",
        json={"name": "a", "mime_type": "text/plain", "size_bytes": 3_000_000_000},
    )
    assert big.status_code == 201 and big.json()["size_bytes"] == 3_000_000_000
    assert (await client.get(f"/api/v1/domains/{domain}/secretaries", params={"offset": 10**20})).status_code == 422
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(50):
        node["n"] = {}
        node = node["n"]
    response = await client.post(
        f"/api/v1/domains/{domain}/providers", json={"provider_type": "llm", "provider_name": "x", "config": deep}
    )
    assert response.status_code == 422 and "nested more than" in response.json()["message"]
    huge = {"prompt": "x" * 70_000}
    response = await client.post(
        f"/api/v1/domains/{domain}/providers", json={"provider_type": "llm", "provider_name": "x", "config": huge}
    )
    assert response.status_code == 422 and "larger than 64 KiB" in response.json()["message"]


async def test_cross_tenant_reference_on_patch(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain, other = await new_domain(), await new_domain()
    foreign = (
        await client.post(
            f"/api/v1/domains/{other}/providers", json={"provider_type": "llm", "provider_name": "policy"}
        )
    ).json()["voice_ai_provider_uuid"]
    sec = (await client.post(f"/api/v1/domains/{domain}/secretaries", json={"name": "S"})).json()
    response = await client.patch(
        f"/api/v1/domains/{domain}/secretaries/{sec['voice_secretary_uuid']}", json={"llm_provider_uuid": foreign}
    )
    assert response.status_code == 422
    assert "no llm provider with this id in this domain" in response.json()["message"]


async def test_client_mistakes_are_422_with_field_errors_and_405_names_the_methods(
    client: httpx.AsyncClient, new_domain: NewDomain
) -> None:
    """Issue 10 point 21, as schemathesis found them."""
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}"
    for body, field in (({"text": "   "}, "text"), ({"text": "Olá", "voice": "no-such-voice"}, "voice")):
        answer = await client.post(f"{base}/synthesize", json=body)  # was a 502: the provider "failed"
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == ["body", field] and answer.json()["message"].startswith(field)
    blank = await client.post(f"{base}/search", json={"query": " \t "})
    assert blank.status_code == 422 and blank.json()["message"].startswith("query: ")
    # stripped, then length-checked: spaces around a value do not count against its limit
    padded = await client.post(f"{base}/secretaries", json={"name": "S", "company_name": "  " + "A" * 200 + "  "})
    assert padded.status_code == 201, padded.text
    assert padded.json()["company_name"] == "A" * 200
    for path, allowed in ((f"{base}/secretaries", "GET, POST"), ("/api/v1/domains", "GET, POST")):
        refused = await client.put(path, json={})
        assert refused.status_code == 405 and refused.headers["allow"] == allowed, refused.headers
    item = await client.post(f"{base}/transfer-rules/{uuid.uuid4()}", json={})
    assert item.status_code == 405 and item.headers["allow"] == "GET, PATCH, DELETE"


async def test_the_openapi_document_declares_the_errors_routes_give(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    declared = lambda path, method: set(paths[path][method]["responses"])  # noqa: E731
    assert {"404", "409", "413", "415", "422"} <= declared("/api/v1/domains/{domain_uuid}/documents/upload", "post")
    assert {"400", "404", "429", "502", "422"} <= declared("/api/v1/domains/{domain_uuid}/chat", "post")
    assert {"404", "422"} <= declared("/api/v1/domains/{domain_uuid}/secretaries/{object_uuid}", "get")
    assert {"409"} <= declared("/api/v1/domains/{domain_uuid}/secretaries", "post")
    assert {"403", "409"} <= declared("/api/v1/domains", "post")
    assert "503" in declared("/ready", "get")
    body = paths["/api/v1/domains/{domain_uuid}/documents/upload"]["post"]["responses"]["422"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationErrorBody")
