"""Tools through the API (``/api/v1/domains/{domain}/tools``): definitions checked, header values encrypted at rest
and never returned, tenant isolation; and a call turn in which the configured LLM calls a tool, logged with the
turn."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from fakes.tool_servers import TOOL_KEY, ToolServer, ToolServers
from fakes.vendors import OPENAI_KEY
from voice_ai.conversation.engine import CallEngine
from voice_ai.core.crypto import SecretBox
from voice_ai.core.secret_fields import decrypt_config
from voice_ai.runtime import Runtime
from voice_ai.streaming.contracts import Heard

NewDomain = Callable[..., Awaitable[str]]
PARAMETERS = {
    "type": "object",
    "properties": {"order": {"type": "string", "maxLength": 20}},
    "required": ["order"],
}


def tool_body(base_url: str = "https://erp.example.com", **extra: Any) -> dict[str, Any]:
    return {
        "name": "order_status",
        "description": "Looks up an order's delivery status by its number.",
        "parameters": PARAMETERS,
        "url": f"{base_url}/tool/orders/{{order}}",
        "headers": {"X-Api-Key": TOOL_KEY, "Accept-Language": "pt-BR"},
        **extra,
    }


async def _stored_headers(db: asyncpg.Connection, tool_uuid: str) -> dict[str, Any]:
    raw = await db.fetchval("SELECT headers FROM v_voice_tools WHERE voice_tool_uuid = $1", uuid.UUID(tool_uuid))
    return dict(json.loads(raw))


async def test_headers_are_encrypted_at_rest_masked_and_kept_when_the_mask_comes_back(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection, runtime: Runtime
) -> None:
    domain = await new_domain()
    created = await client.post(f"/api/v1/domains/{domain}/tools", json=tool_body())
    assert created.status_code == 201, created.text
    tool = created.json()
    assert TOOL_KEY not in created.text and tool["headers"]["X-Api-Key"] != TOOL_KEY
    assert tool["method"] == "GET" and tool["timeout_s"] == 3.0 and tool["enabled"] is True
    raw = await _stored_headers(db, tool["voice_tool_uuid"])
    assert all(value.startswith("enc:v1:") for value in raw.values()) and TOOL_KEY not in json.dumps(raw)
    box: SecretBox = runtime.secret_box
    assert decrypt_config(raw, box) == {"X-Api-Key": TOOL_KEY, "Accept-Language": "pt-BR"}

    url = f"/api/v1/domains/{domain}/tools/{tool['voice_tool_uuid']}"
    listed = await client.get(f"/api/v1/domains/{domain}/tools")
    assert listed.json()["total"] == 1 and TOOL_KEY not in listed.text
    # the form sends the mask back: the stored secret stays; a new header is added; null removes one
    patched = await client.patch(
        url, json={"headers": {"X-Api-Key": tool["headers"]["X-Api-Key"], "X-Tenant": "42", "Accept-Language": None}}
    )
    assert patched.status_code == 200, patched.text
    assert decrypt_config(await _stored_headers(db, tool["voice_tool_uuid"]), box) == {
        "X-Api-Key": TOOL_KEY,
        "X-Tenant": "42",
    }
    replaced = await client.patch(url, json={"headers": {"X-Api-Key": "new-key-000000000001"}})
    assert replaced.status_code == 200
    assert decrypt_config(await _stored_headers(db, tool["voice_tool_uuid"]), box)["X-Api-Key"] == (
        "new-key-000000000001"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"parameters": {"type": "string"}}, "parameters"),
        ({"parameters": {"type": "object", "properties": {"order": {"type": "nope"}}}}, "parameters"),
        ({"name": "respond"}, "name"),
        ({"name": "order status"}, "name"),
        ({"url": "ftp://erp.example.com/x"}, "url"),
        ({"url": "https://bob:pw@erp.example.com/x"}, "url"),
        ({"url": "https://erp.example.com/orders/{missing}"}, "url"),
        ({"headers": {"Host": "intranet"}}, "headers"),
        ({"headers": {"X-Key": "a\r\nInjected: 1"}}, "headers"),
        ({"timeout_s": 30}, "timeout_s"),
        ({"max_response_bytes": 10_000_000}, "max_response_bytes"),
        ({"method": "TRACE"}, "method"),
        # validation must stay bounded: no regex run on the caller's words, no reference that cannot resolve
        ({"parameters": {"type": "object", "properties": {"order": {"type": "string", "pattern": "^(a|aa)*$"}}}},
         "parameters"),
        ({"parameters": {"type": "object", "properties": {"order": {"$ref": "https://x.example/s.json"}}}},
         "parameters"),
        ({"parameters": {"type": "object", "properties": {"order": {"$ref": "#/$defs/missing"}}}}, "parameters"),
        # the host is the tenant's, not the caller's: the decrypted headers would go wherever the model is steered
        ({"url": "https://{order}/x"}, "url"),
        ({"url": "https://erp.example.com:{order}/x"}, "url"),
    ],
)  # fmt: skip
async def test_bad_definitions_get_a_422_naming_the_field(
    client: httpx.AsyncClient, new_domain: NewDomain, change: dict[str, Any], field: str
) -> None:
    domain = await new_domain()
    response = await client.post(f"/api/v1/domains/{domain}/tools", json=tool_body(**change))
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_a_partial_update_keeps_the_url_consistent_and_names_are_unique(
    client: httpx.AsyncClient, new_domain: NewDomain
) -> None:
    domain = await new_domain()
    tool = (await client.post(f"/api/v1/domains/{domain}/tools", json=tool_body())).json()
    url = f"/api/v1/domains/{domain}/tools/{tool['voice_tool_uuid']}"
    # dropping the parameter the URL needs is refused
    dropped = await client.patch(url, json={"parameters": {"type": "object", "properties": {}}})
    assert dropped.status_code == 422 and "{order}" in dropped.text
    again = await client.post(f"/api/v1/domains/{domain}/tools", json=tool_body())
    assert again.status_code == 409 and "name" in again.text


async def test_moving_the_url_to_another_origin_drops_the_stored_header_values(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection, runtime: Runtime
) -> None:
    """Header values are write-only: were they kept when the URL moves, an admin could point the URL at an echo
    service and read them back. Another path on the same origin keeps them; another host, scheme or port keeps only
    what the same PATCH sends again in clear (a mask sent back does not count)."""
    domain = await new_domain()
    tool = (await client.post(f"/api/v1/domains/{domain}/tools", json=tool_body())).json()
    url = f"/api/v1/domains/{domain}/tools/{tool['voice_tool_uuid']}"
    box: SecretBox = runtime.secret_box

    async def stored() -> dict[str, Any]:
        return decrypt_config(await _stored_headers(db, tool["voice_tool_uuid"]), box)

    same = await client.patch(url, json={"url": "https://erp.example.com/v2/orders/{order}"})
    assert same.status_code == 200 and (await stored())["X-Api-Key"] == TOOL_KEY
    moved = await client.patch(
        url,
        json={
            "url": "https://echo.example.net/orders/{order}",
            "headers": {"X-Api-Key": tool["headers"]["X-Api-Key"], "X-Tenant": "42"},  # the mask back, a new one
        },
    )
    assert moved.status_code == 200, moved.text
    assert await stored() == {"X-Tenant": "42"} and set(moved.json()["headers"]) == {"X-Tenant"}
    await client.patch(url, json={"headers": {"X-Api-Key": TOOL_KEY}})
    for other in ("http://echo.example.net/orders/{order}", "https://echo.example.net:8443/orders/{order}"):
        assert (await client.patch(url, json={"url": other})).status_code == 200
        assert await stored() == {}
        await client.patch(url, json={"headers": {"X-Api-Key": TOOL_KEY}})


async def test_another_tenants_tool_is_a_404(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    mine, theirs = await new_domain(), await new_domain()
    tool = (await client.post(f"/api/v1/domains/{theirs}/tools", json=tool_body())).json()
    url = f"/api/v1/domains/{mine}/tools/{tool['voice_tool_uuid']}"
    assert (await client.get(url)).status_code == 404
    assert (await client.patch(url, json={"enabled": False})).status_code == 404
    assert (await client.delete(url)).status_code == 404
    assert (await client.get(f"/api/v1/domains/{mine}/tools")).json()["total"] == 0
    # a secretary of another tenant cannot own my tool
    other = (await client.post(f"/api/v1/domains/{theirs}/secretaries", json={"name": "S"})).json()
    refused = await client.post(
        f"/api/v1/domains/{mine}/tools", json=tool_body(voice_secretary_uuid=other["voice_secretary_uuid"])
    )
    assert refused.status_code == 422 and "voice_secretary_uuid" in refused.text
    assert (await client.get(f"/api/v1/domains/{theirs}/tools/{tool['voice_tool_uuid']}")).status_code == 200


@pytest.fixture(scope="module")
def tool_server() -> Iterator[ToolServers]:
    with ToolServer() as state:
        yield state


async def _tenant_with_a_tool(client: httpx.AsyncClient, new_domain: NewDomain, servers: ToolServers) -> str:
    """A domain whose secretary (8100) answers with OpenAI (the local server) and has the order tool."""
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}"
    secretary = await client.post(f"{base}/secretaries", json={"name": "Loja", "extension": "8100"})
    assert secretary.status_code == 201, secretary.text
    llm = await client.post(
        f"{base}/providers",
        json={
            "provider_type": "llm",
            "provider_name": "openai",
            "is_default": True,
            "config": {"api_key": OPENAI_KEY, "base_url": f"{servers.base_url}/v1"},
        },
    )
    assert llm.status_code == 201, llm.text
    created = await client.post(f"{base}/tools", json=tool_body(servers.base_url))
    assert created.status_code == 201, created.text
    return domain


@pytest.fixture
def loopback_tools(runtime: Runtime) -> Iterator[None]:
    """The operator allows the tools' loopback network (the local tool server)."""
    settings = runtime.settings
    runtime.settings = settings.model_copy(update={"tools_allow_networks": "127.0.0.1/32"})
    yield
    runtime.settings = settings


@pytest.mark.usefixtures("loopback_tools")
async def test_a_call_turn_with_a_tool_answers_from_it_and_logs_the_call(
    client: httpx.AsyncClient, new_domain: NewDomain, tool_server: ToolServers
) -> None:
    tool_server.reset()
    domain = await _tenant_with_a_tool(client, new_domain, tool_server)
    call = f"call-{uuid.uuid4()}"
    started = await client.post("/api/v1/calls", json={"domain_uuid": domain, "secretary": "8100", "call_uuid": call})
    assert started.status_code == 201, started.text
    turn = await client.post(
        f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": "Qual o status do pedido 123?"}
    )
    assert turn.status_code == 200, turn.text
    body = turn.json()
    assert body["response_text"] == "Seu pedido 123 está enviado." and body["providers"]["llm"].startswith("openai")
    assert [(r.path, r.headers["x-api-key"]) for r in tool_server.tool_requests] == [("/tool/orders/123", TOOL_KEY)]
    conversation = started.json()["conversation_uuid"]
    messages = (await client.get(f"/api/v1/domains/{domain}/conversations/{conversation}/messages")).json()["items"]
    reply = next(m for m in messages if m["role"] == "assistant" and m["turn_index"] == 1)
    assert reply["tool_calls"] == [
        {
            "tool": "order_status",
            "arguments": {"order": "123"},
            "ok": True,
            "status": 200,
            "ms": reply["tool_calls"][0]["ms"],
        }
    ]
    assert reply["timings"]["tools_ms"] >= 0
    assert TOOL_KEY not in json.dumps(messages)


@pytest.mark.usefixtures("loopback_tools")
async def test_a_streaming_reply_calls_the_tool_too(
    client: httpx.AsyncClient, new_domain: NewDomain, runtime: Runtime, tool_server: ToolServers, db: asyncpg.Connection
) -> None:
    tool_server.reset()
    domain = uuid.UUID(await _tenant_with_a_tool(client, new_domain, tool_server))
    engine = CallEngine(runtime)
    call = f"call-{uuid.uuid4()}"
    await engine.start_stream(
        domain, "8100", call, caller_id_number="1000", caller_id_name=None, destination_number="8100", sample_rate=8000
    )
    reply = engine.respond(domain, call, Heard("Qual o status do pedido 123?", "test-stt", 10.0), sample_rate=8000)
    parts = [part async for part in reply]
    await reply.commit()
    assert " ".join(p.text for p in parts) == "Seu pedido 123 está enviado."
    assert [r.path for r in tool_server.tool_requests] == ["/tool/orders/123"]
    stored = await db.fetchval(
        "SELECT m.tool_calls FROM v_voice_messages m JOIN v_voice_conversations c USING (voice_conversation_uuid)"
        " WHERE c.call_uuid = $1 AND m.role = 'assistant' AND m.turn_index = 1",
        call,
    )
    assert [(c["tool"], c["ok"]) for c in json.loads(stored)] == [("order_status", True)]


async def _one_turn(client: httpx.AsyncClient, domain: str, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    call = f"call-{uuid.uuid4()}"
    started = await client.post("/api/v1/calls", json={"domain_uuid": domain, "secretary": "8100", "call_uuid": call})
    assert started.status_code == 201, started.text
    turn = await client.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": text})
    assert turn.status_code == 200, turn.text
    conversation = started.json()["conversation_uuid"]
    messages = (await client.get(f"/api/v1/domains/{domain}/conversations/{conversation}/messages")).json()["items"]
    return turn.json(), messages


@pytest.mark.usefixtures("loopback_tools")
async def test_a_failing_tool_is_spoken_as_an_apology_and_the_call_goes_on(
    client: httpx.AsyncClient, new_domain: NewDomain, tool_server: ToolServers
) -> None:
    tool_server.reset()
    domain = await _tenant_with_a_tool(client, new_domain, tool_server)
    tools = (await client.get(f"/api/v1/domains/{domain}/tools")).json()["items"]
    await client.patch(
        f"/api/v1/domains/{domain}/tools/{tools[0]['voice_tool_uuid']}",
        json={"url": f"{tool_server.base_url}/tool/fail"},
    )
    body, messages = await _one_turn(client, domain, "Qual o status do pedido 123?")
    assert body["action"] == "continue" and body["response_text"].startswith("Desculpe, não consegui consultar agora")
    reply = next(m for m in messages if m["role"] == "assistant" and m["turn_index"] == 1)
    assert [(c["ok"], c["status"], c["error"]) for c in reply["tool_calls"]] == [(False, 500, "HTTP 500")]


@pytest.mark.usefixtures("loopback_tools")
async def test_when_the_model_fails_after_a_tool_the_policy_answers_and_the_tool_ran_once(
    client: httpx.AsyncClient, new_domain: NewDomain, tool_server: ToolServers
) -> None:
    """The model asks for the tool, then fails (500 on its second round and on its retry): the built-in policy answers
    the caller, the call goes on, and the tool — which could have opened a ticket — ran once."""
    tool_server.reset()
    tool_server.script[:] = [None, 500, 500]
    domain = await _tenant_with_a_tool(client, new_domain, tool_server)
    body, messages = await _one_turn(client, domain, "Qual o status do pedido 123?")
    assert body["providers"]["llm"] == "policy" and body["action"] in ("continue", "transfer")
    assert body["response_text"]
    assert len(tool_server.tool_requests) == 1 and len(tool_server.vendor_requests) == 3
    reply = next(m for m in messages if m["role"] == "assistant" and m["turn_index"] == 1)
    assert [(c["tool"], c["ok"]) for c in reply["tool_calls"]] == [("order_status", True)]


@pytest.mark.usefixtures("loopback_tools")
async def test_only_the_secretarys_enabled_tools_are_offered(
    client: httpx.AsyncClient, new_domain: NewDomain, tool_server: ToolServers
) -> None:
    tool_server.reset()
    domain = await _tenant_with_a_tool(client, new_domain, tool_server)
    base = f"/api/v1/domains/{domain}"
    other = (await client.post(f"{base}/secretaries", json={"name": "Outra", "extension": "8101"})).json()
    tool = (await client.get(f"{base}/tools")).json()["items"][0]
    extra = tool_body(tool_server.base_url, name="ticket", voice_secretary_uuid=other["voice_secretary_uuid"])
    assert (await client.post(f"{base}/tools", json=extra)).status_code == 201
    await _one_turn(client, domain, "Qual o status do pedido 123?")
    offered = [t["function"]["name"] for t in tool_server.vendor_requests[0].body["tools"]]
    assert offered == ["order_status"]  # not the other secretary's ticket tool

    tool_server.reset()
    await client.patch(f"{base}/tools/{tool['voice_tool_uuid']}", json={"enabled": False})
    body, _ = await _one_turn(client, domain, "Qual o status do pedido 123?")
    assert "tools" not in tool_server.vendor_requests[0].body and tool_server.tool_requests == []
    assert body["action"] == "continue"


async def test_an_admin_can_try_a_tool_with_arguments(
    client: httpx.AsyncClient, new_domain: NewDomain, runtime: Runtime, tool_server: ToolServers
) -> None:
    tool_server.reset()
    domain = await _tenant_with_a_tool(client, new_domain, tool_server)
    tool = (await client.get(f"/api/v1/domains/{domain}/tools")).json()["items"][0]
    url = f"/api/v1/domains/{domain}/tools/{tool['voice_tool_uuid']}/test"
    # the service's address policy applies: loopback is refused until the operator allows it
    refused = await client.post(url, json={"arguments": {"order": "123"}})
    assert refused.status_code == 200 and refused.json()["ok"] is False
    assert "non-public" in refused.json()["error"] and tool_server.tool_requests == []
    bad = await client.post(url, json={"arguments": {"order": 12}})
    assert bad.status_code == 422 and "arguments.order" in bad.text
    settings = runtime.settings
    runtime.settings = settings.model_copy(update={"tools_allow_networks": "127.0.0.1/32"})
    try:
        tried = await client.post(url, json={"arguments": {"order": "123"}})
    finally:
        runtime.settings = settings
    assert tried.status_code == 200, tried.text
    assert tried.json() | {"ms": 0} == {
        "ok": True,
        "status": 200,
        "ms": 0,
        "error": None,
        "content": '{"order":"123","status":"enviado"}',
    }
    assert tool_server.tool_requests[0].headers["x-api-key"] == TOOL_KEY and TOOL_KEY not in tried.text
    other = await new_domain()
    assert (
        await client.post(f"/api/v1/domains/{other}/tools/{tool['voice_tool_uuid']}/test", json={})
    ).status_code == 404


@pytest.mark.usefixtures("loopback_tools")
async def test_the_test_of_a_tool_never_shows_its_header_values(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection, tool_server: ToolServers
) -> None:
    """A tool whose URL answers the request's headers back (an echo service): the Test shows the answer with every
    header value scrubbed, raw and base64. A schema stored before the save-time rules (a dangling $ref) is a 422
    naming it, not a 500."""
    tool_server.reset()
    domain = await new_domain()
    body = tool_body(tool_server.base_url, url=f"{tool_server.base_url}/tool/echo", name="echo")
    body["headers"]["Authorization"] = "Bearer bearer-token-0000000009"
    tool = (await client.post(f"/api/v1/domains/{domain}/tools", json=body)).json()
    url = f"/api/v1/domains/{domain}/tools/{tool['voice_tool_uuid']}/test"
    tried = await client.post(url, json={"arguments": {"order": "1"}})
    assert tried.status_code == 200 and tried.json()["ok"] is True, tried.text
    assert tool_server.tool_requests[0].headers["x-api-key"] == TOOL_KEY  # it was sent
    assert "x-api-key" in tried.text and TOOL_KEY not in tried.text and "bearer-token-0000000009" not in tried.text
    assert "YmVhcmVyLXRva2VuLTAwMDAwMDAwMDk" not in tried.text  # base64 of the token

    dangling = {"type": "object", "properties": {"order": {"$ref": "#/$defs/missing"}}}
    await db.execute(
        "UPDATE v_voice_tools SET parameters = $1 WHERE voice_tool_uuid = $2",
        json.dumps(dangling),
        uuid.UUID(tool["voice_tool_uuid"]),
    )
    broken = await client.post(url, json={"arguments": {"order": "1"}})
    assert broken.status_code == 422 and "does not resolve" in broken.text, broken.text


@pytest.mark.usefixtures("loopback_tools")
async def test_the_admins_chat_as_a_secretary_uses_its_tools(
    client: httpx.AsyncClient, new_domain: NewDomain, tool_server: ToolServers
) -> None:
    tool_server.reset()
    domain = await _tenant_with_a_tool(client, new_domain, tool_server)
    secretary = (await client.get(f"/api/v1/domains/{domain}/secretaries")).json()["items"][0]
    chat = await client.post(
        f"/api/v1/domains/{domain}/chat",
        json={
            "messages": [{"role": "user", "content": "Qual o status do pedido 123?"}],
            "secretary_uuid": secretary["voice_secretary_uuid"],
        },
    )
    assert chat.status_code == 200, chat.text
    assert chat.json()["text"] == "Seu pedido 123 está enviado."
    assert [(c["tool"], c["ok"]) for c in chat.json()["tool_calls"]] == [("order_status", True)]
    # without a secretary: no tools (a domain-wide question has no secretary to act for)
    tool_server.reset()
    plain = await client.post(
        f"/api/v1/domains/{domain}/chat",
        json={"messages": [{"role": "user", "content": "Qual o status do pedido 123?"}]},
    )
    assert plain.status_code == 200 and plain.json()["tool_calls"] == [] and tool_server.tool_requests == []
