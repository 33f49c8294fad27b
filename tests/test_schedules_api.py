"""Opening hours through the API and in calls, on the real database: schedules CRUD (validation, tenant isolation),
a secretary's and a transfer rule's schedule, a turn outside a department's hours that does not transfer, and a
closed secretary's greeting."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from fakes.vendors import OPENAI_KEY
from voice_ai.conversation.engine import CallEngine
from voice_ai.runtime import Runtime
from voice_ai.streaming.contracts import Heard

WHOLE_WEEK = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}]


def closed_today() -> dict[str, Any]:
    """Open every day all day, but today (in São Paulo) is a holiday: closed now, opens tomorrow at 00:00 —
    whatever time the test runs at."""
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    return {
        "name": "Plantão",
        "time_zone": "America/Sao_Paulo",
        "hours": WHOLE_WEEK,
        "holidays": [{"name": "Feriado", "date": today.isoformat()}],
    }


async def _schedule(client: httpx.AsyncClient, domain: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1/domains/{domain}/schedules", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_schedules_crud_and_validation(
    client: httpx.AsyncClient, new_domain: Callable[..., Awaitable[str]]
) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/schedules"
    created = await _schedule(client, domain, {"name": "Comercial", "hours": WHOLE_WEEK})
    assert created["time_zone"] == "America/Sao_Paulo" and created["open_now"] is True
    assert created["next_opening"] is None
    closed = await _schedule(client, domain, closed_today())
    assert closed["open_now"] is False and closed["next_opening"] is not None
    listed = (await client.get(base)).json()
    assert [s["name"] for s in listed["items"]] == ["Comercial", "Plantão"]
    patched = await client.patch(f"{base}/{closed['voice_schedule_uuid']}", json={"enabled": False})
    assert patched.status_code == 200 and patched.json()["open_now"] is True  # disabled: always open
    for bad, where in (
        ({"name": "x", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"name": "x", "hours": [{"days": ["mon"], "start": "08:00", "end": "08:00"}]}, "hours"),
        ({"name": "x", "hours": [{"days": ["monday"], "start": "08:00", "end": "18:00"}]}, "hours"),
        ({"name": "x", "hours": [{"days": ["mon"], "start": "8h", "end": "18:00"}]}, "hours"),
        ({"name": "x", "holidays": [{"date": "02-30"}]}, "holidays"),
        ({"name": "x", "holidays": [{"date": "2026-12-24", "until": "01-02"}]}, "holidays"),
        ({"name": "x", "holidays": [{"date": "2026-12-24", "until": "2026-12-01"}]}, "holidays"),
    ):
        response = await client.post(base, json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert where in response.text
    deleted = await client.delete(f"{base}/{created['voice_schedule_uuid']}")
    assert deleted.status_code == 204


async def test_a_holidays_only_schedule_is_open_and_the_lists_are_capped(
    client: httpx.AsyncClient, new_domain: Callable[..., Awaitable[str]]
) -> None:
    """Findings 4 and 1: a schedule listing only holidays is open on other days (it was closed for good); the API
    refuses more hours lines and holidays than an evaluation at every turn can afford (it took 50 and 500)."""
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/schedules"
    tomorrow = (datetime.now(ZoneInfo("America/Sao_Paulo")) + timedelta(days=1)).date().isoformat()
    holidays = await _schedule(client, domain, {"name": "Feriados", "holidays": [{"date": tomorrow}]})
    assert holidays["open_now"] is True and holidays["hours"] == []
    today = closed_today() | {"hours": []}
    assert (await _schedule(client, domain, today))["next_opening"] is not None  # closed today, opens at midnight
    line = {"days": ["mon"], "start": "08:00", "end": "09:00"}
    accepted = {"name": "Cheio", "hours": [line] * 28, "holidays": [{"date": "12-25"}] * 100}
    assert (await client.post(base, json=accepted)).status_code == 201
    for too_many, where in (
        (accepted | {"hours": [line] * 29}, "hours"),
        (accepted | {"holidays": [{"date": "12-25"}] * 101}, "holidays"),
    ):
        refused = await client.post(base, json=too_many)
        assert refused.status_code == 422 and where in refused.text, refused.text


async def test_schedules_are_tenant_scoped(
    client: httpx.AsyncClient, new_domain: Callable[..., Awaitable[str]]
) -> None:
    mine, other = await new_domain(), await new_domain()
    schedule = await _schedule(client, mine, {"name": "Comercial", "hours": WHOLE_WEEK})
    sid = schedule["voice_schedule_uuid"]
    assert (await client.get(f"/api/v1/domains/{other}/schedules/{sid}")).status_code == 404
    assert (await client.patch(f"/api/v1/domains/{other}/schedules/{sid}", json={"name": "x"})).status_code == 404
    assert (await client.delete(f"/api/v1/domains/{other}/schedules/{sid}")).status_code == 404
    assert (await client.get(f"/api/v1/domains/{other}/schedules")).json()["total"] == 0
    # another tenant's schedule cannot be given to one's own secretary or rule
    refused = await client.post(
        f"/api/v1/domains/{other}/secretaries", json={"name": "S", "extension": "8001", "voice_schedule_uuid": sid}
    )
    assert refused.status_code == 422 and "voice_schedule_uuid" in refused.text
    rule = await client.post(
        f"/api/v1/domains/{other}/transfer-rules",
        json={"department_name": "Financeiro", "destination_number": "201", "voice_schedule_uuid": sid},
    )
    assert rule.status_code == 422 and "voice_schedule_uuid" in rule.text
    # standalone: no FusionPBX time conditions
    standalone = await client.post(
        f"/api/v1/domains/{mine}/secretaries",
        json={"name": "S", "extension": "8001", "time_condition_uuid": str(uuid.uuid4())},
    )
    assert standalone.status_code == 422 and "time_condition_uuid" in standalone.text
    assert (await client.get(f"/api/v1/domains/{mine}/time-conditions")).json() == []


async def test_a_deleted_schedule_leaves_its_rule_always_open(
    client: httpx.AsyncClient, new_domain: Callable[..., Awaitable[str]]
) -> None:
    domain = await new_domain()
    schedule = await _schedule(client, domain, closed_today())
    rule = await client.post(
        f"/api/v1/domains/{domain}/transfer-rules",
        json={
            "department_name": "Financeiro",
            "destination_number": "201",
            "voice_schedule_uuid": schedule["voice_schedule_uuid"],
        },
    )
    assert rule.status_code == 201 and rule.json()["voice_schedule_uuid"] == schedule["voice_schedule_uuid"]
    await client.delete(f"/api/v1/domains/{domain}/schedules/{schedule['voice_schedule_uuid']}")
    again = await client.get(f"/api/v1/domains/{domain}/transfer-rules/{rule.json()['voice_transfer_rule_uuid']}")
    assert again.json()["voice_schedule_uuid"] is None


async def _call(client: httpx.AsyncClient, domain: str, extension: str) -> tuple[str, dict[str, Any]]:
    call = f"call-{uuid.uuid4()}"
    started = await client.post(
        "/api/v1/calls",
        json={"domain_uuid": domain, "secretary": extension, "call_uuid": call, "caller_id_number": "+5541999990000"},
    )
    assert started.status_code == 201, started.text
    return call, dict(started.json())


async def _say(client: httpx.AsyncClient, domain: str, call: str, text: str) -> dict[str, Any]:
    response = await client.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": text})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_turn_outside_a_departments_hours_does_not_transfer(
    client: httpx.AsyncClient, new_domain: Callable[..., Awaitable[str]], db: Any
) -> None:
    domain = await new_domain()
    closed = await _schedule(client, domain, closed_today())
    secretary = await client.post(
        f"/api/v1/domains/{domain}/secretaries",
        json={"name": "Recepção", "extension": "8000", "company_name": "Exata", "operator_destination": "9000"},
    )
    assert secretary.status_code == 201, secretary.text
    rules = f"/api/v1/domains/{domain}/transfer-rules"
    for body in (
        {"department_name": "Financeiro", "destination_number": "201", "keywords": ["boleto", "financeiro"]},
        {"department_name": "Comercial", "destination_number": "202", "keywords": ["orçamento", "comercial"]},
    ):
        assert (await client.post(rules, json=body)).status_code == 201
    call, started = await _call(client, domain, "8000")
    assert "fechad" not in started["greeting_text"]  # no schedule on the secretary: the greeting as before
    before = await _say(client, domain, call, "Quero falar com o financeiro")
    assert before["action"] == "transfer" and before["transfer"]["destination"] == "201"  # inside hours: as before

    finance = (await client.get(rules)).json()["items"]
    finance_uuid = next(r["voice_transfer_rule_uuid"] for r in finance if r["department_name"] == "Financeiro")
    patched = await client.patch(f"{rules}/{finance_uuid}", json={"voice_schedule_uuid": closed["voice_schedule_uuid"]})
    assert patched.status_code == 200, patched.text
    call, _ = await _call(client, domain, "8000")
    refused = await _say(client, domain, call, "Quero falar com o financeiro")
    assert refused["action"] == "continue", refused
    assert refused.get("transfer") is None
    assert refused["response_text"].startswith("O setor Financeiro não está atendendo agora. Ele abre amanhã à 0h.")
    assert refused["response_text"].endswith("Quer deixar um recado?")
    other = await _say(client, domain, call, "Quero um orçamento do comercial")
    assert other["action"] == "transfer" and other["transfer"]["destination"] == "202"  # open: unaffected
    stored = await db.fetchval(
        "SELECT text FROM v_voice_messages m JOIN v_voice_conversations c USING (voice_conversation_uuid) "
        "WHERE c.call_uuid = $1 AND m.role = 'assistant' AND m.turn_index = 1",
        call,
    )
    assert stored == refused["response_text"]


async def test_a_closed_secretary_greets_with_its_next_opening_and_keeps_the_operator(
    client: httpx.AsyncClient, new_domain: Callable[..., Awaitable[str]]
) -> None:
    domain = await new_domain()
    closed = await _schedule(client, domain, closed_today())
    secretary = await client.post(
        f"/api/v1/domains/{domain}/secretaries",
        json={
            "name": "Recepção",
            "extension": "8000",
            "company_name": "Exata",
            "operator_destination": "9000",
            "voice_schedule_uuid": closed["voice_schedule_uuid"],
        },
    )
    assert secretary.status_code == 201, secretary.text
    call, started = await _call(client, domain, "8000")
    greeting = started["greeting_text"]
    assert greeting.startswith("Olá! Você ligou para Exata.")
    assert "No momento estamos fechados. Abrimos amanhã à 0h. Quer deixar um recado?" in greeting
    asked = await _say(client, domain, call, "Quero falar com um atendente")
    assert asked["action"] == "continue" and asked.get("transfer") is None
    assert asked["response_text"] == (
        "No momento não há atendentes disponíveis. Abrimos amanhã à 0h. Quer deixar um recado?"
    )


async def test_a_streaming_reply_outside_a_departments_hours_does_not_transfer(
    client: httpx.AsyncClient, new_domain: Callable[..., Awaitable[str]], runtime: Runtime
) -> None:
    domain = await new_domain()
    closed = await _schedule(client, domain, closed_today())
    created = await client.post(
        f"/api/v1/domains/{domain}/secretaries", json={"name": "Recepção", "extension": "8000", "company_name": "Exata"}
    )
    assert created.status_code == 201
    rule = {
        "department_name": "Financeiro",
        "destination_number": "201",
        "keywords": ["financeiro"],
        "voice_schedule_uuid": closed["voice_schedule_uuid"],
    }
    assert (await client.post(f"/api/v1/domains/{domain}/transfer-rules", json=rule)).status_code == 201
    engine, call = CallEngine(runtime), f"call-{uuid.uuid4()}"
    await engine.start_stream(
        uuid.UUID(domain), "8000", call, caller_id_number="1000", caller_id_name=None, destination_number="8000",
        sample_rate=8000,
    )  # fmt: skip
    reply = engine.respond(uuid.UUID(domain), call, Heard("Quero falar com o financeiro", "x", 1.0), sample_rate=8000)
    said = " ".join([part.text async for part in reply])
    assert said == "O setor Financeiro não está atendendo agora. Ele abre amanhã à 0h. Quer deixar um recado?"
    assert reply.action.kind == "continue" and reply.action.transfer is None


async def test_the_model_is_told_and_cannot_transfer_to_a_closed_department(
    client: httpx.AsyncClient, new_domain: Callable[..., Awaitable[str]], vendors: Any
) -> None:
    """A configured LLM (OpenAI's protocol, at the wire): its system prompt says what is closed now and when it
    opens; when it decides a transfer there anyway, the caller hears the closed words and stays."""
    domain = await new_domain()
    closed = await _schedule(client, domain, closed_today())
    config = {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "model": "m", "max_retries": 1}
    provider = await client.post(
        f"/api/v1/domains/{domain}/providers",
        json={"provider_type": "llm", "provider_name": "openai_compatible", "is_default": True, "config": config},
    )
    assert provider.status_code == 201, provider.text
    created = await client.post(
        f"/api/v1/domains/{domain}/secretaries", json={"name": "Recepção", "extension": "8000", "company_name": "Exata"}
    )
    assert created.status_code == 201
    for name, number, schedule in (("Financeiro", "201", closed["voice_schedule_uuid"]), ("Comercial", "202", None)):
        rule = {"department_name": name, "destination_number": number, "voice_schedule_uuid": schedule}
        assert (await client.post(f"/api/v1/domains/{domain}/transfer-rules", json=rule)).status_code == 201
    vendors.reply = {"response": "Transferindo!", "action": "transfer", "department": "Financeiro"}
    call, _ = await _call(client, domain, "8000")
    said = await _say(client, domain, call, "Quero falar com o financeiro")
    system = next(m["content"] for m in vendors.requests[-1].body["messages"] if m["role"] == "system")
    assert "Departments closed now (do not transfer there" in system
    assert "- Financeiro: opens amanhã à 0h" in system
    assert "- Comercial" not in system.split("Departments closed now", 1)[1]
    assert said["action"] == "continue" and said["transfer"] is None
    assert said["response_text"] == (
        "O setor Financeiro não está atendendo agora. Ele abre amanhã à 0h. Quer deixar um recado?"
    )
