"""FusionPBX mode: a secretary and a transfer rule follow the domain's FusionPBX time conditions, read from rows as
FusionPBX 5.5's Time Conditions app writes them (``v_dialplans`` with its app_uuid, ``v_dialplan_details`` groups:
holiday presets from 100, custom conditions from 500, the default destination in 999), in the domain's time zone
setting; another domain's time conditions are not found."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from conftest import make_settings
from test_migrations import FUSIONPBX_V_DOMAINS
from voice_ai.main import create_app
from voice_ai.runtime import Runtime
from voice_ai.schedules.fusionpbx import APP_UUID

# FusionPBX 5.5's columns (app/dialplans/app_config.php, app/settings, core/domain_settings)
TABLES = """
CREATE TABLE v_dialplans (dialplan_uuid uuid PRIMARY KEY, domain_uuid uuid, app_uuid uuid, hostname text,
    dialplan_context text, dialplan_name text, dialplan_number text, dialplan_destination text, dialplan_continue text,
    dialplan_xml text, dialplan_order numeric, dialplan_enabled boolean, dialplan_description text);
CREATE TABLE v_dialplan_details (dialplan_detail_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), domain_uuid uuid,
    dialplan_uuid uuid, dialplan_detail_tag text, dialplan_detail_type text, dialplan_detail_data text,
    dialplan_detail_break text, dialplan_detail_inline text, dialplan_detail_group numeric,
    dialplan_detail_order numeric, dialplan_detail_enabled boolean);
CREATE TABLE v_domain_settings (domain_setting_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), domain_uuid uuid,
    app_uuid uuid, domain_setting_category text, domain_setting_subcategory text, domain_setting_name text,
    domain_setting_value text, domain_setting_order numeric, domain_setting_enabled boolean,
    domain_setting_description text);
CREATE TABLE v_default_settings (default_setting_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), app_uuid uuid,
    default_setting_category text, default_setting_subcategory text, default_setting_name text,
    default_setting_value text, default_setting_order numeric, default_setting_enabled boolean,
    default_setting_description text);
"""
TENANT, OTHER = "pbx.example.com", "other.example.com"
SP = ZoneInfo("America/Sao_Paulo")


async def time_condition(
    conn: asyncpg.Connection, domain: uuid.UUID, name: str, groups: list[list[tuple[str, str, str]]], *, enabled: bool
) -> uuid.UUID:
    """A time condition as time_condition_edit.php saves it: each group its destination_number condition, its time
    conditions (break=never) and actions; preset groups (a ``set preset=…`` action) numbered from 100, custom ones
    from 500, the default destination as group 999."""
    dialplan = uuid.uuid4()
    await conn.execute(
        "INSERT INTO v_dialplans (dialplan_uuid, domain_uuid, app_uuid, dialplan_context, dialplan_name,"
        " dialplan_number, dialplan_continue, dialplan_order, dialplan_enabled) VALUES ($1, $2, $3, $4, $5, '5000',"
        " 'false', 300, $6)",
        dialplan,
        domain,
        uuid.UUID(APP_UUID),
        TENANT,
        name,
        enabled,
    )
    numbered: list[tuple[int, list[tuple[str, str, str]]]] = []
    presets = customs = 0
    for group in groups:
        if any(kind == "set" and data.startswith("preset=") for _, kind, data in group):
            numbered.append((100 + 5 * presets, group))
            presets += 1
        else:
            numbered.append((500 + 5 * customs, group))
            customs += 1
    numbered.append((999, [("action", "transfer", "9000 XML " + TENANT)]))
    for number, group in numbered:
        rows = [("condition", "destination_number", "^5000$"), *group]
        for order, (tag, kind, data) in enumerate(rows, start=1):
            await conn.execute(
                "INSERT INTO v_dialplan_details (domain_uuid, dialplan_uuid, dialplan_detail_tag, dialplan_detail_type,"
                " dialplan_detail_data, dialplan_detail_break, dialplan_detail_group, dialplan_detail_order,"
                " dialplan_detail_enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
                domain,
                dialplan,
                tag,
                kind,
                data,
                "never" if tag == "condition" and kind != "destination_number" else None,
                number,
                order * 10,
            )
    return dialplan


ALL_WEEK = [("condition", "wday", "1-7"), ("condition", "minute-of-day", "1-1440"), ("action", "transfer", "201")]


@pytest.fixture(scope="module")
async def pbx(
    fresh_database: Callable[..., Awaitable[str]], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, Any]]:
    url = await fresh_database()
    tenant, other = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(url)
    await conn.execute(FUSIONPBX_V_DOMAINS)
    await conn.execute(TABLES)
    for domain, name in ((tenant, TENANT), (other, OTHER)):
        await conn.execute(
            "INSERT INTO v_domains (domain_uuid, domain_name, domain_enabled) VALUES ($1, $2, 'true')", domain, name
        )
    # the domain's own time zone wins over the default setting (UTC here: a holiday "today" in UTC would differ)
    await conn.execute(
        "INSERT INTO v_domain_settings (domain_uuid, domain_setting_category, domain_setting_subcategory,"
        " domain_setting_name, domain_setting_value, domain_setting_enabled) VALUES"
        " ($1, 'domain', 'time_zone', 'name', 'America/Sao_Paulo', true)",
        tenant,
    )
    await conn.execute(
        "INSERT INTO v_default_settings (default_setting_category, default_setting_subcategory, default_setting_name,"
        " default_setting_value, default_setting_enabled) VALUES ('domain', 'time_zone', 'name', 'UTC', true)"
    )
    today = datetime.now(SP).date()
    holiday = [
        ("condition", "mday", str(today.day)),
        ("condition", "mon", str(today.month)),
        ("action", "set", "preset=feriado_municipal"),
        ("action", "transfer", "9000 XML " + TENANT),
    ]
    ids = {
        "open": await time_condition(conn, tenant, "Sempre aberto", [ALL_WEEK], enabled=True),
        "closed": await time_condition(conn, tenant, "Feriado hoje", [holiday, ALL_WEEK], enabled=True),
        "disabled": await time_condition(conn, tenant, "Desligado", [holiday, ALL_WEEK], enabled=False),
        "theirs": await time_condition(conn, other, "Deles", [ALL_WEEK], enabled=True),
    }
    path: Path = tmp_path_factory.mktemp("pbx-hours")
    async with Runtime(make_settings(path, url, worker=False)) as runtime:
        assert runtime.standalone is False
        app = create_app(runtime.settings, runtime=runtime)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
        ):
            yield {"http": http, "tenant": str(tenant), "other": str(other), "ids": {k: str(v) for k, v in ids.items()}}
    await conn.close()


async def test_the_domains_time_conditions_are_listed_with_their_state(pbx: dict[str, Any]) -> None:
    http, ids = pbx["http"], pbx["ids"]
    listed = (await http.get(f"/api/v1/domains/{pbx['tenant']}/time-conditions")).json()
    by_id = {c["time_condition_uuid"]: c for c in listed}
    assert set(by_id) == {ids["open"], ids["closed"], ids["disabled"]}  # not another domain's
    assert by_id[ids["open"]]["open_now"] is True
    closed = by_id[ids["closed"]]
    assert closed["open_now"] is False and closed["name"] == "Feriado hoje" and closed["number"] == "5000"
    opens = datetime.fromisoformat(closed["next_opening"])
    assert opens.utcoffset() == SP.utcoffset(opens.replace(tzinfo=None))  # in the domain's zone
    assert (opens.hour, opens.minute) == (0, 0) and opens.date() > datetime.now(SP).date()
    assert by_id[ids["disabled"]]["enabled"] is False


async def test_references_must_be_the_domains_time_conditions(pbx: dict[str, Any]) -> None:
    http, ids, tenant = pbx["http"], pbx["ids"], pbx["tenant"]
    rules = f"/api/v1/domains/{tenant}/transfer-rules"
    theirs = await http.post(
        rules, json={"department_name": "X", "destination_number": "201", "time_condition_uuid": ids["theirs"]}
    )
    assert theirs.status_code == 422 and "time_condition_uuid" in theirs.text
    both = await http.post(
        rules,
        json={
            "department_name": "X",
            "destination_number": "201",
            "time_condition_uuid": ids["open"],
            "voice_schedule_uuid": str(uuid.uuid4()),
        },
    )
    assert both.status_code == 422


async def test_calls_follow_the_time_conditions(pbx: dict[str, Any]) -> None:
    http, ids, tenant = pbx["http"], pbx["ids"], pbx["tenant"]
    base = f"/api/v1/domains/{tenant}"
    created = await http.post(
        f"{base}/secretaries",
        json={"name": "Recepção", "extension": "8000", "company_name": "Exata", "time_condition_uuid": ids["closed"]},
    )
    assert created.status_code == 201, created.text
    for name, number, condition in (
        ("Financeiro", "201", ids["closed"]),
        ("Comercial", "202", ids["open"]),
        ("Suporte", "203", ids["disabled"]),  # a disabled time condition: always open
    ):
        body = {"department_name": name, "destination_number": number, "time_condition_uuid": condition}
        body["keywords"] = [name.lower()]
        assert (await http.post(f"{base}/transfer-rules", json=body)).status_code == 201
    call = f"call-{uuid.uuid4()}"
    started = await http.post("/api/v1/calls", json={"domain_uuid": tenant, "secretary": "8000", "call_uuid": call})
    assert started.status_code == 201, started.text
    assert started.json()["greeting_text"].endswith(
        "No momento estamos fechados. Abrimos amanhã à 0h. Quer deixar um recado?"
    )

    async def say(text: str) -> dict[str, Any]:
        response = await http.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": tenant, "text": text})
        assert response.status_code == 200, response.text
        return dict(response.json())

    finance = await say("Quero falar com o financeiro")
    assert finance["action"] == "continue" and finance["transfer"] is None
    assert finance["response_text"].startswith("O setor Financeiro não está atendendo agora. Ele abre amanhã à 0h.")
    sales = await say("Quero falar com o comercial")
    assert sales["action"] == "transfer" and sales["transfer"]["destination"] == "202"
    support = await say("Quero falar com o suporte")
    assert support["action"] == "transfer" and support["transfer"]["destination"] == "203"
