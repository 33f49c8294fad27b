"""Transfer targets are validated when saved: on a FusionPBX database against the domain's own destinations
(FusionPBX 5.5's tables), standalone by format only; an unrelated change never fails because of a stored target."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from conftest import make_settings
from test_migrations import FUSIONPBX_V_DOMAINS
from voice_ai.main import create_app
from voice_ai.runtime import Runtime

# The columns the service reads, as FusionPBX 5.5 declares them (app/*/app_config.php).
FUSIONPBX_TABLES = """
CREATE TABLE v_extensions (extension_uuid uuid PRIMARY KEY, domain_uuid uuid, extension text, number_alias text,
    user_context text, enabled boolean);
CREATE TABLE v_ring_groups (ring_group_uuid uuid PRIMARY KEY, domain_uuid uuid, ring_group_extension text,
    ring_group_context text, ring_group_enabled boolean);
CREATE TABLE v_ivr_menus (ivr_menu_uuid uuid PRIMARY KEY, domain_uuid uuid, ivr_menu_extension text,
    ivr_menu_context text, ivr_menu_enabled boolean);
CREATE TABLE v_call_center_queues (call_center_queue_uuid uuid PRIMARY KEY, domain_uuid uuid, queue_extension text,
    queue_context text);
CREATE TABLE v_conferences (conference_uuid uuid PRIMARY KEY, domain_uuid uuid, conference_extension text,
    conference_context text, conference_enabled boolean);
CREATE TABLE v_conference_centers (conference_center_uuid uuid PRIMARY KEY, domain_uuid uuid,
    conference_center_extension text, conference_center_enabled text);
CREATE TABLE v_call_flows (call_flow_uuid uuid PRIMARY KEY, domain_uuid uuid, call_flow_extension text,
    call_flow_feature_code text, call_flow_context text, call_flow_enabled boolean);
CREATE TABLE v_dialplans (dialplan_uuid uuid PRIMARY KEY, domain_uuid uuid, dialplan_name text, dialplan_number text,
    dialplan_context text, dialplan_continue boolean, dialplan_enabled boolean);
CREATE TABLE v_dialplan_details (dialplan_detail_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), domain_uuid uuid,
    dialplan_uuid uuid, dialplan_detail_tag text, dialplan_detail_type text, dialplan_detail_data text,
    dialplan_detail_group numeric, dialplan_detail_order numeric, dialplan_detail_enabled boolean);
"""
TENANT, OTHER = "pbx.example.com", "other.example.com"

# Dialplans that route by a destination_number expression, as FusionPBX 5.5 writes them (name, context, continue,
# enabled, expression; details enabled): an outbound route (app/dialplan_outbound: no dialplan_number), the
# variable setters every domain context has (continue="true": they match every number and route nowhere), the
# global extension-to-voicemail (a PCRE \Q…\E around a channel variable), and a disabled route.
PATTERN_DIALPLANS = [
    ("Brasil celular", TENANT, False, True, r"^\+?55(\d{10,11})$"),
    ("call-direction", TENANT, True, True, r"^(\d+)$"),
    ("variables", TENANT, True, True, r"^(.*)$"),
    ("extension-to-voicemail", "global", False, True, r"^\Q${caller_id_number}\E$"),
    ("old route", TENANT, False, False, r"^(9\d{3})$"),
]


async def _pbx(conn: asyncpg.Connection, tenant: uuid.UUID, other: uuid.UUID) -> None:
    await conn.execute(FUSIONPBX_V_DOMAINS)
    await conn.execute(FUSIONPBX_TABLES)
    for domain, name in ((tenant, TENANT), (other, OTHER)):
        await conn.execute(
            "INSERT INTO v_domains (domain_uuid, domain_name, domain_enabled) VALUES ($1, $2, 'true')", domain, name
        )
    rows = {
        "v_extensions (domain_uuid, extension, number_alias, user_context, enabled)": [
            (tenant, "201", "1201", TENANT, True),
            (tenant, "202", None, TENANT, False),  # disabled
            (other, "301", None, OTHER, True),
        ],
        "v_ring_groups (domain_uuid, ring_group_extension, ring_group_context, ring_group_enabled)": [
            (tenant, "600", TENANT, True)
        ],
        "v_ivr_menus (domain_uuid, ivr_menu_extension, ivr_menu_context, ivr_menu_enabled)": [
            (tenant, "700", TENANT, True)
        ],
        "v_call_center_queues (domain_uuid, queue_extension, queue_context)": [(tenant, "800", TENANT)],
        "v_conferences (domain_uuid, conference_extension, conference_context, conference_enabled)": [
            (tenant, "900", TENANT, True)
        ],
        "v_conference_centers (domain_uuid, conference_center_extension, conference_center_enabled)": [
            (tenant, "950", "true")
        ],
        "v_call_flows (domain_uuid, call_flow_extension, call_flow_feature_code, call_flow_context, call_flow_enabled)": [
            (tenant, "30", "*30", TENANT, True)
        ],
        "v_dialplans (domain_uuid, dialplan_name, dialplan_number, dialplan_context, dialplan_continue, dialplan_enabled)": [
            (tenant, "voicemail", "*97", TENANT, False, True),
            (tenant, "inbound", "5541333344444", "public", False, True),
            (None, "global", "*9664", TENANT, False, True),  # a global entry: every domain's
            (other, "theirs", "5000", OTHER, False, True),
        ],
    }
    for target, values in rows.items():
        table, columns = target.split(" ", 1)
        for value in values:
            await _insert(conn, table, columns, value)
    for name, context, go_on, enabled, expression in PATTERN_DIALPLANS:
        await _pattern_dialplan(
            conn, None if context == "global" else tenant, name, context, go_on, enabled, expression
        )


async def _pattern_dialplan(
    conn: asyncpg.Connection,
    domain: uuid.UUID | None,
    name: str,
    context: str,
    go_on: bool,
    enabled: bool,
    expression: str,
) -> uuid.UUID:
    dialplan = uuid.uuid4()
    await conn.execute(
        "INSERT INTO v_dialplans (dialplan_uuid, domain_uuid, dialplan_name, dialplan_number, dialplan_context,"
        " dialplan_continue, dialplan_enabled) VALUES ($1, $2, $3, '', $4, $5, $6)",
        dialplan,
        domain,
        name,
        context,
        go_on,
        enabled,
    )
    details = [("condition", "${user_exists}", "false"), ("condition", "destination_number", expression)]
    details.append(("action", "bridge", "sofia/gateway/trunk/$1"))
    for order, (tag, kind, data) in enumerate(details):
        await conn.execute(
            "INSERT INTO v_dialplan_details (domain_uuid, dialplan_uuid, dialplan_detail_tag, dialplan_detail_type,"
            " dialplan_detail_data, dialplan_detail_group, dialplan_detail_order, dialplan_detail_enabled)"
            " VALUES ($1, $2, $3, $4, $5, 0, $6, true)",
            domain,
            dialplan,
            tag,
            kind,
            data,
            order * 10,
        )
    return dialplan


async def _insert(conn: asyncpg.Connection, table: str, columns: str, value: tuple[Any, ...]) -> None:
    key = {
        "v_extensions": "extension_uuid",
        "v_ring_groups": "ring_group_uuid",
        "v_ivr_menus": "ivr_menu_uuid",
        "v_call_center_queues": "call_center_queue_uuid",
        "v_conferences": "conference_uuid",
        "v_conference_centers": "conference_center_uuid",
        "v_call_flows": "call_flow_uuid",
        "v_dialplans": "dialplan_uuid",
    }[table]
    names = [c.strip() for c in columns.strip("()").split(",")]
    placeholders = ", ".join(f"${i}" for i in range(2, len(names) + 2))
    await conn.execute(
        f"INSERT INTO {table} ({key}, {', '.join(names)}) VALUES ($1, {placeholders})", uuid.uuid4(), *value
    )


@pytest.fixture(scope="module")
async def fusionpbx(
    fresh_database: Callable[..., Awaitable[str]], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, Any]]:
    """A FusionPBX-like database (FusionPBX's v_domains and destination tables), the service on it."""
    url = await fresh_database()
    tenant, other = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(url)
    await _pbx(conn, tenant, other)
    path: Path = tmp_path_factory.mktemp("pbx")
    async with Runtime(make_settings(path, url, worker=False)) as runtime:
        assert runtime.standalone is False
        app = create_app(runtime.settings, runtime=runtime)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
        ):
            yield {"http": http, "conn": conn, "tenant": str(tenant), "url": url}
    await conn.close()


def _refused(response: httpx.Response, field: str, kind: str) -> bool:
    if response.status_code != 422:
        return False
    errors = response.json()["detail"]
    return errors[0]["loc"] == ["body", field] and errors[0]["type"] == kind


async def test_rules_must_route_in_the_domain(fusionpbx: dict[str, Any]) -> None:
    http, tenant = fusionpbx["http"], fusionpbx["tenant"]
    rules = f"/api/v1/domains/{tenant}/transfer-rules"

    async def rule(destination: str, context: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"department_name": f"D{destination}", "destination_number": destination}
        if context is not None:
            body["destination_context"] = context
        return await http.post(rules, json=body)

    for destination in ("201", "1201", "600", "700", "800", "900", "950", "30", "*30", "*97", "*9664"):
        assert (await rule(destination)).status_code == 201, destination  # the domain's context by default
    assert (await rule("201", TENANT)).status_code == 201
    assert (await rule("5541333344444", "public")).status_code == 201  # an inbound route of the domain
    missing = await rule("999")
    assert _refused(missing, "destination_number", "unknown_destination"), missing.text
    assert "does not route in context 'pbx.example.com'" in missing.json()["message"]
    assert _refused(await rule("202"), "destination_number", "unknown_destination")  # disabled extension
    assert _refused(await rule("201", "public"), "destination_number", "unknown_destination")
    # another domain's context (a superadmin's shared reception): routes where that domain's destinations do
    assert (await rule("301", OTHER)).status_code == 201
    assert _refused(await rule("201", OTHER), "destination_number", "unknown_destination")  # ours, not theirs
    assert _refused(await rule("5000"), "destination_number", "unknown_destination")  # another domain's dialplan
    unknown = await rule("201", "nowhere")
    assert _refused(unknown, "destination_context", "unknown_context")
    assert (
        "no domain has that name: use the domain's context 'pbx.example.com' or one of: public"
        in (unknown.json()["message"])
    )

    created = (await rule("600")).json()
    patched = await http.patch(f"{rules}/{created['voice_transfer_rule_uuid']}", json={"destination_number": "999"})
    assert _refused(patched, "destination_number", "unknown_destination")
    moved = await http.patch(f"{rules}/{created['voice_transfer_rule_uuid']}", json={"destination_context": "public"})
    assert _refused(moved, "destination_context", "unknown_destination")  # 600 is not in public


async def test_operator_checked_and_stored_targets_never_block_other_changes(fusionpbx: dict[str, Any]) -> None:
    http, conn, tenant = fusionpbx["http"], fusionpbx["conn"], fusionpbx["tenant"]
    secretaries = f"/api/v1/domains/{tenant}/secretaries"
    bad = await http.post(secretaries, json={"name": "S1", "operator_destination": "999"})
    assert _refused(bad, "operator_destination", "unknown_destination")
    ok = await http.post(secretaries, json={"name": "S1", "operator_destination": "201"})
    assert ok.status_code == 201, ok.text
    secretary = ok.json()["voice_secretary_uuid"]
    # a superadmin pointed the operator at another domain (stored as is, e.g. through FusionPBX)
    await conn.execute(
        "UPDATE v_voice_secretaries SET operator_destination = '301', operator_context = $1"
        " WHERE voice_secretary_uuid = $2",
        OTHER,
        uuid.UUID(secretary),
    )
    greeting = await http.patch(f"{secretaries}/{secretary}", json={"greeting": "Olá!"})
    assert greeting.status_code == 200, greeting.text
    whole_form = await http.patch(  # the FusionPBX app sends every field back on each save
        f"{secretaries}/{secretary}",
        json={"greeting": "Oi!", "operator_destination": "301", "operator_context": OTHER, "max_turns": 12},
    )
    assert whole_form.status_code == 200, whole_form.text
    changed = await http.patch(f"{secretaries}/{secretary}", json={"operator_context": "public"})
    assert _refused(changed, "operator_context", "unknown_destination")  # 301 is not in public
    back = await http.patch(
        f"{secretaries}/{secretary}", json={"operator_destination": "201", "operator_context": None}
    )
    assert back.status_code == 200 and back.json()["operator_context"] is None

    rule = await conn.fetchval(
        "INSERT INTO v_voice_transfer_rules (domain_uuid, department_name, destination_number, destination_context)"
        " VALUES ($1, 'Old', '999', 'gone') RETURNING voice_transfer_rule_uuid",
        uuid.UUID(tenant),
    )
    kept = await http.patch(
        f"/api/v1/domains/{tenant}/transfer-rules/{rule}", json={"keywords": ["boleto"], "destination_number": "999"}
    )
    assert kept.status_code == 200, kept.text


async def test_a_partial_install_refuses_nothing(fusionpbx: dict[str, Any]) -> None:
    http, conn, tenant = fusionpbx["http"], fusionpbx["conn"], fusionpbx["tenant"]
    await conn.execute("ALTER TABLE v_call_flows RENAME TO v_call_flows_hidden")
    try:
        created = await http.post(
            f"/api/v1/domains/{tenant}/transfer-rules", json={"department_name": "X", "destination_number": "999"}
        )
        assert created.status_code == 201, created.text  # it may be a call flow: do not guess
    finally:
        await conn.execute("ALTER TABLE v_call_flows_hidden RENAME TO v_call_flows")


async def test_standalone_checks_the_format_only(
    client: httpx.AsyncClient, new_domain: Callable[[], Awaitable[str]]
) -> None:
    domain = await new_domain()
    rules = f"/api/v1/domains/{domain}/transfer-rules"
    assert (await client.post(rules, json={"department_name": "A", "destination_number": "12345"})).status_code == 201
    assert (await client.post(rules, json={"department_name": "B", "destination_number": "1 2"})).status_code == 422


async def test_a_rule_that_stopped_routing_is_never_offered_to_a_caller(fusionpbx: dict[str, Any]) -> None:
    """A rule saved while its ring group existed; the ring group is disabled later. On FusionPBX a transfer there
    would "route" into the context's catch-all variable setters and drop the caller in silence, so the call never
    goes there: the dialog is not offered that department (a rule that still routes is)."""
    http, conn, tenant = fusionpbx["http"], fusionpbx["conn"], fusionpbx["tenant"]
    base = f"/api/v1/domains/{tenant}"
    secretary = await http.post(f"{base}/secretaries", json={"name": "Route", "extension": "8123"})
    assert secretary.status_code == 201, secretary.text
    for name, number, word, context in (
        ("Financeiro", "600", "boleto", None),
        ("Pessoal", "700", "férias", None),
        ("Central", "301", "central", OTHER),  # another domain's reception (a superadmin's choice)
    ):
        created = await http.post(
            f"{base}/transfer-rules",
            json={"department_name": name, "destination_number": number, "keywords": [word]}
            | ({"destination_context": context} if context else {}),
        )
        assert created.status_code == 201, created.text

    async def ask(text: str) -> dict[str, Any]:
        call = f"route-{uuid.uuid4()}"
        started = await http.post("/api/v1/calls", json={"domain_uuid": tenant, "secretary": "8123", "call_uuid": call})
        assert started.status_code == 201, started.text
        turn = await http.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": tenant, "text": text})
        assert turn.status_code == 200, turn.text
        return dict(turn.json())

    shared = await ask("Quero falar com a central de atendimento")
    assert shared["action"] == "transfer" and shared["transfer"] == {
        "destination": "301",
        "context": OTHER,
        "department": "Central",
        "ring_seconds": 30,
        "announce": False,
    }, shared
    question = "Preciso falar com o financeiro sobre a segunda via do boleto"
    before = await ask(question)
    assert before["action"] == "transfer" and before["transfer"]["destination"] == "600", before
    await conn.execute("UPDATE v_ring_groups SET ring_group_enabled = false WHERE ring_group_extension = '600'")
    try:
        after = await ask(question)
        assert after["action"] != "transfer" or after["transfer"]["destination"] != "600", after
        still = await ask("Quero falar com o pessoal sobre as férias")
        assert still["action"] == "transfer" and still["transfer"]["destination"] == "700", still
    finally:
        await conn.execute("UPDATE v_ring_groups SET ring_group_enabled = true WHERE ring_group_extension = '600'")


async def test_external_numbers_route_through_the_domains_outbound_routes(fusionpbx: dict[str, Any]) -> None:
    """An outbound route has no number, only a destination_number expression: a rule to a mobile number it matches
    is accepted and offered to callers; FusionPBX's continue="true" variable setters (which match every number)
    and a disabled route make nothing routable."""
    http, conn, tenant = fusionpbx["http"], fusionpbx["conn"], fusionpbx["tenant"]
    base = f"/api/v1/domains/{tenant}"
    rules = f"{base}/transfer-rules"
    for number in ("5541999998888", "+5541988887777"):
        saved = await http.post(rules, json={"department_name": f"Celular {number}", "destination_number": number})
        assert saved.status_code == 201, saved.text
    # a rule stored before saves were checked this way: offered at call time too
    await conn.execute(
        "INSERT INTO v_voice_transfer_rules (domain_uuid, department_name, destination_number, keywords, priority)"
        " VALUES ($1, 'Plantão', '5541977776666', ARRAY['plantão', 'urgência'], 1)",
        uuid.UUID(tenant),
    )
    for number in ("123456", "9001", "*5541999998888"):  # the catch-alls, the disabled route, no match
        refused = await http.post(rules, json={"department_name": f"X{number}", "destination_number": number})
        assert _refused(refused, "destination_number", "unknown_destination"), (number, refused.text)
    assert "nor matched by a dialplan such as an outbound route" in refused.json()["message"]
    assert _refused(  # an outbound route of the domain's context does not route in public
        await http.post(rules, json={"department_name": "P", "destination_number": "5541999998888",
                                     "destination_context": "public"}),
        "destination_number",
        "unknown_destination",
    )  # fmt: skip
    secretary = await http.post(
        f"{base}/secretaries", json={"name": "Plantão", "extension": "8124", "operator_destination": "5541988887777"}
    )
    assert secretary.status_code == 201, secretary.text

    call = f"mobile-{uuid.uuid4()}"
    started = await http.post("/api/v1/calls", json={"domain_uuid": tenant, "secretary": "8124", "call_uuid": call})
    assert started.status_code == 201, started.text
    turn = await http.post(
        f"/api/v1/calls/{call}/turns", data={"domain_uuid": tenant, "text": "É uma urgência, preciso do plantão"}
    )
    assert turn.status_code == 200, turn.text
    body = turn.json()
    assert body["action"] == "transfer" and body["transfer"]["destination"] == "5541977776666", body


async def test_a_dialplan_expression_python_cannot_read_accepts_the_destination(fusionpbx: dict[str, Any]) -> None:
    """A PCRE-only construct (a named group as ``(?<name>…)``): whether it matches cannot be told here, so the
    destination is accepted — at save time and when a call is served."""
    http, conn, tenant = fusionpbx["http"], fusionpbx["conn"], fusionpbx["tenant"]
    rules = f"/api/v1/domains/{tenant}/transfer-rules"
    body = {"department_name": "Filial", "destination_number": "7001", "destination_context": "public"}
    assert _refused(await http.post(rules, json=body), "destination_number", "unknown_destination")
    dialplan = await _pattern_dialplan(conn, uuid.UUID(tenant), "filial", "public", False, True, r"^(?<branch>7\d{3})$")
    try:
        created = await http.post(rules, json=body)
        assert created.status_code == 201, created.text
    finally:
        await conn.execute("DELETE FROM v_dialplan_details WHERE dialplan_uuid = $1", dialplan)
        await conn.execute("DELETE FROM v_dialplans WHERE dialplan_uuid = $1", dialplan)
