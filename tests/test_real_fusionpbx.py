"""The voice_secretary app inside a real FusionPBX 5.5, used the way its admins use it.

FusionPBX is installed with its own web installer on PostgreSQL 15 + pgvector, the app is copied in and
registered with the four upgrade steps, and the Voice AI Service runs in ``fusionpbx`` mode on FusionPBX's own
database. Then, through FusionPBX's pages (nginx → PHP-FPM, sessions, CSRF tokens, the domain from the Host
header): the superadmin points the app at the service in Default Settings, adds a second domain, extensions and
a tenant admin per domain; the tenant admins use the app; Dialplan Manager re-saves the secretary's entry;
the second tenant tries to reach the first's data; headless Chromium leaves screenshots in test-output/.

Each test makes what it needs (a secretary, a rule, a conversation: once per module, through the app's pages) so
that any one of them runs alone. PHP must stay silent: each test starts with empty PHP error logs and fails if
anything was logged while it ran — by the app's pages, whatever file the warning is in (the app calls
FusionPBX's classes), and by FusionPBX's own pages, except FusionPBX 5.5's own defects listed in
``FUSIONPBX_OWN`` (they happen on its pages with or without this app).

Needs root and ``VOICE_AI_TEST_FUSIONPBX`` (see tests/real_fusionpbx.py and scripts/platform/fusionpbx.sh);
skipped without the variable, failing when it is set and something is missing.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from chromium import chromium
from conftest import TEST_SECRET_KEY
from helpers import VOICE_AI, cli_env, free_port, wait_http
from real_fusionpbx import ENV, Account, Browser, FusionPBX, Page, installed, php_problems
from voice_ai.schedules.openings import local_zone

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get(ENV),
        reason=f"{ENV} is not set (a FusionPBX test machine: sudo bash scripts/platform/fusionpbx.sh, "
        f"then {ENV}=/var/www/fusionpbx)",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "fusionpbx" / "app" / "voice_secretary"
OUTPUT = Path(os.environ.get("VOICE_AI_TEST_OUTPUT", ROOT / "test-output"))
APP_UUID = "545f45a5-0c17-4257-9d1d-275fc5f5aaf9"
DOMAIN_A = "voice-a.localhost"
DOMAIN_B = "voice-b.localhost"
SUPERADMIN = Account("admin", "Super-Admin-pass-1", DOMAIN_A)
ADMIN_A = Account("admin_a", "Tenant-A-pass-12345", DOMAIN_A)
ADMIN_B = Account("admin_b", "Tenant-B-pass-12345", DOMAIN_B)
EXTENSIONS = {DOMAIN_A: ("200", 4), DOMAIN_B: ("250", 1)}  # first, count: A has 200-203, B only 250
PAGES = "/app/voice_secretary/"
NOT_SAVED = "Not saved: correct what is marked in red below."
DIALPLAN_FAILED = "Saved, but the dialplan entry could not be written: check the Dialplan Manager."
# FusionPBX 5.5's own defects, logged by its own pages whatever the app does (error.reporting = all): each one
# seen without any page of this app involved. Anything else logged while a test runs fails it.
FUSIONPBX_OWN = re.compile(
    "|".join(
        (
            # the dashboard's services widget (every login lands there) reads $system before setting it
            r"Undefined variable \$system in \S+/app/system/resources/dashboard/system_services\.php",
            # Dialplan Manager's list: FusionPBX's own dialplans without a description fall back to missing texts
            r'Undefined array key "description-dialplan_[^"]*" in \S+/app/dialplans/dialplans\.php',
            r"str_replace\(\): Passing null to parameter #[23] .* in \S+/app/dialplans/dialplans\.php",
            # the ring group page's sound list on a machine without sound files
            r"Undefined variable \$array in \S+/resources/classes/sounds\.php",
            # upgrade.php on the command line (as its docs run it): no HTTP_HOST there; call recordings' defaults
            r'Undefined array key "HTTP_HOST" in \S+/resources/require\.php on line 107',
            r"explode\(\): Passing null to parameter #2 .* in \S+/resources/require\.php on line 115",
            r'Undefined array key "template_body" in \S+/app/call_recordings/app_defaults\.php',
            # Time Conditions' save, as a tenant admin's browser posts it: no domain select without the
            # time_condition_domain permission, and no holiday preset checked (line 209 reads variable[preset])
            r'Undefined array key "(domain_uuid|preset)" in \S+/app/time_conditions/time_condition_edit\.php',
        )
    )
)
# what the documents page's refresh sees (for a failure's report)
JSON_PROBE = (
    "var r = new XMLHttpRequest(); r.open('GET', 'voice_documents.php?format=json', false); r.send();"
    " return r.status + ' ' + r.responseText.slice(0, 1500);"
)


@dataclass
class Site:
    fusionpbx: FusionPBX
    service_url: str
    domains: dict[str, str]
    upgrade_problems: list[str] = field(default_factory=list)
    browsers: dict[str, Browser] = field(default_factory=dict)
    made: dict[str, str] = field(default_factory=dict)

    def as_user(self, account: Account) -> Browser:
        """A logged-in browser of this account (logged in once, after the app was installed)."""
        if account.username not in self.browsers:
            browser = self.fusionpbx.browser(account.domain)
            browser.login(account.username, account.password)
            self.browsers[account.username] = browser
        return self.browsers[account.username]

    def api(self, domain: str, path: str) -> Any:
        answer = httpx.get(f"{self.service_url}/api/v1/domains/{self.domains[domain]}{path}", timeout=30)
        return answer.status_code, answer.json()

    # what most tests need, made once through the app's pages by the first test that asks

    def secretary(self) -> str:
        """Tenant A's secretary "Recepção Virtual": extension 8000, operator 200."""
        if "secretary" not in self.made:
            self.made["secretary"] = add_secretary(
                self.as_user(ADMIN_A),
                name="Recepção Virtual",
                extension="8000",
                operator_destination="200",
                greeting="Olá! Aqui é a recepção virtual.",
            )
        return self.made["secretary"]

    def rule(self) -> str:
        """Tenant A's transfer rule "Financeiro" (201)."""
        if "rule" not in self.made:
            self.made["rule"] = add_rule(
                self.as_user(ADMIN_A),
                department_name="Financeiro",
                destination_number="201",
                keywords="financeiro, boleto, pagamento",
                description="Boletos, pagamentos e notas fiscais",
            )
        return self.made["rule"]

    def conversation(self) -> str:
        """A try-it conversation of tenant A's secretary."""
        if "conversation" not in self.made:
            secretary = self.secretary()
            ask(self.as_user(ADMIN_A), secretary, "Qual é o horário de atendimento?")
            latest = self.api(DOMAIN_A, "/conversations?caller=try-it&limit=1")[1]["items"]
            assert latest and str(latest[0]["voice_secretary_uuid"]) == secretary, latest
            self.made["conversation"] = latest[0]["voice_conversation_uuid"]
        return self.made["conversation"]


def submit(browser: Browser, path: str, form_id: str = "frm", *, query: str = "", **changes: str) -> Page:
    """Open a page, change some fields of a form, submit it as the browser would (token included)."""
    page = browser.get(path + query)
    assert page.status == 200, page.text[:2000]
    fields = page.form(form_id)
    fields.update(changes)
    return browser.post(path + query, fields)


def field_error(page: Page, name: str) -> str:
    """The error shown next to the form field ``name`` ('' when none)."""
    field_input = page.soup.find(attrs={"name": name})
    row = field_input.find_parent("tr") if field_input is not None else None
    error = row.find(class_="voice-secretary-error") if row is not None else None
    return error.get_text(" ", strip=True) if error is not None else ""


def shown_errors(page: Page) -> Any:
    """Everything a refused save shows (for a failure's message)."""
    return page.messages("negative"), [e.get_text(" ", strip=True) for e in page.soup.select(".voice-secretary-error")]


def add_secretary(browser: Browser, **fields: str) -> str:
    page = submit(browser, PAGES + "voice_secretary_edit.php", submit_action="save", **fields)
    assert page.messages() == ["Added"], (shown_errors(page), page.url)
    added = re.search(r"id=([0-9a-f-]{36})", page.url)
    assert added, page.url
    return added.group(1)


def add_rule(browser: Browser, **fields: str) -> str:
    page = submit(browser, PAGES + "voice_transfer_rule_edit.php", **fields)
    assert page.messages() == ["Added"], shown_errors(page)
    rules = page.soup.select("a[href*='voice_transfer_rule_edit.php?id=']")
    found = [a for a in rules if a.get_text(strip=True) == fields["department_name"]]
    assert len(found) == 1, [a.get_text() for a in rules]
    return str(found[0]["href"]).rsplit("id=", 1)[1]


def ask(browser: Browser, secretary: str, question: str) -> Page:
    """A question in the try-it box of the secretary's page."""
    return submit(
        browser,
        PAGES + "voice_secretary_edit.php",
        "form_try",
        query=f"?id={secretary}",
        question=question,
        submit_action="try",
    )


def superadmin_setup(fusionpbx: FusionPBX, service_url: str) -> dict[str, str]:
    """What the superadmin does in FusionPBX's own pages before the tenants use the app."""
    browser = fusionpbx.browser(DOMAIN_A)
    browser.login(SUPERADMIN.username, SUPERADMIN.password)
    # Advanced → Default Settings: the app's service_url (registered by --defaults, pointing at :8100)
    settings = browser.get("/core/default_settings/default_settings.php", search="voice_secretary")
    row = next(r for r in settings.soup.select("tr.list-row") if "service_url" in r.get_text())
    setting = re.search(r"default_setting_edit\.php\?id=([0-9a-f-]{36})", str(row.get("href", "")))
    assert setting, row
    saved = submit(
        browser,
        "/core/default_settings/default_setting_edit.php",
        query=f"?id={setting.group(1)}",
        default_setting_value=service_url,
    )
    assert saved.messages() == ["Update Completed"], saved.messages("negative")
    # Advanced → Domains: the second tenant
    added = submit(browser, "/core/domains/domain_edit.php", domain_name=DOMAIN_B, domain_description="Tenant B")
    assert added.messages() == ["Add Completed"], added.text[:2000]
    domains = {row["domain_name"]: str(row["domain_uuid"]) for row in fusionpbx.query("select * from v_domains")}
    # Accounts → Extensions (the operators the secretaries transfer to), Users (one tenant admin per domain)
    for domain in (DOMAIN_B, DOMAIN_A):
        # the domain selector's link switches the superadmin's session to that domain
        browser.get("/core/domains/domains.php", domain_uuid=domains[domain], domain_change="true")
        first, count = EXTENSIONS[domain]
        made = submit(browser, "/app/extensions/extension_edit.php", extension=first, range=str(count))
        assert made.messages() == ["Add Completed"], (domain, made.messages("negative"))
    for account in (ADMIN_A, ADMIN_B):
        page = browser.get("/core/users/user_edit.php")
        fields = page.form("frm")
        admin_group = next(v for v in page.select_values("group_uuid_name") if v.endswith("|admin"))
        fields.update(
            username=account.username,
            password=account.password,
            password_confirm=account.password,
            user_email=f"{account.username}@example.com",
            group_uuid_name=admin_group,
            domain_uuid=domains[account.domain],
        )
        made = browser.post("/core/users/user_edit.php", fields)
        assert made.messages() == ["Add Completed"], made.messages("negative")
    return domains


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    webroot = Path(os.environ[ENV])
    with installed(webroot, SUPERADMIN) as fusionpbx:
        upgrade_problems = fusionpbx.install_app(APP, "voice_secretary")
        port = free_port()
        env = cli_env(
            VOICE_AI_DATABASE_URL=fusionpbx.database_url,
            VOICE_AI_MODE="fusionpbx",
            VOICE_AI_DATA_DIR=str(tmp_path_factory.mktemp("service")),
            VOICE_AI_SECRET_KEY=TEST_SECRET_KEY,
        )
        log = fusionpbx.work / "service.log"
        with log.open("w") as output:  # a file, not a pipe nobody reads: a full pipe would freeze the service
            service = subprocess.Popen(
                [VOICE_AI, "serve", "--port", str(port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # stopped with the worker processes it starts
            )
        try:
            service_url = f"http://127.0.0.1:{port}"
            try:
                wait_http(f"{service_url}/ready", service)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{log.read_text()[-3000:]}") from None
            domains = superadmin_setup(fusionpbx, service_url)
            yield Site(fusionpbx, service_url, domains, upgrade_problems)
        finally:
            stop_group(service)


def stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to the process and its children, SIGKILL to what is left after 30 s: nothing outlives the tests."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):  # the group's stragglers (and the service, if it hung)
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture(autouse=True)
def php_stays_silent(site: Site) -> Iterator[None]:
    """Empty PHP error logs before each test; after it, nothing logged but FusionPBX's own defects."""
    site.fusionpbx.clear_php_errors()
    yield
    logged = site.fusionpbx.php_errors()
    problems = logged["app"] + [line for line in logged["fusionpbx"] if not FUSIONPBX_OWN.search(line)]
    assert not problems, "PHP logged while this test ran (app pages: every line; FusionPBX's pages: not its own):\n" + (
        "\n".join(problems[:40])
    )


def dialplan_row(site: Site, dialplan_uuid: str) -> dict[str, Any]:
    rows = site.fusionpbx.query("select * from v_dialplans where dialplan_uuid = $1", uuid.UUID(dialplan_uuid))
    assert len(rows) == 1, rows
    return dict(rows[0])


def dialplan_details(site: Site, dialplan_uuid: str) -> list[tuple[Any, ...]]:
    """(tag, type, data, inline, group, order, enabled, domain, break, uuid) of each detail, in order."""
    rows = site.fusionpbx.query(
        "select dialplan_detail_tag, dialplan_detail_type, dialplan_detail_data, dialplan_detail_inline,"
        " dialplan_detail_group, dialplan_detail_order, cast(dialplan_detail_enabled as text), domain_uuid,"
        " dialplan_detail_break, dialplan_detail_uuid"
        " from v_dialplan_details where dialplan_uuid = $1 order by dialplan_detail_group, dialplan_detail_order",
        uuid.UUID(dialplan_uuid),
    )
    return [tuple(row) for row in rows]


def routing(xml: str) -> dict[str, Any]:
    """What FreeSWITCH would do with the entry: the number it matches and the actions it runs."""
    extension = ET.fromstring(xml)  # noqa: S314 (our own database)
    condition = extension.find("condition")
    assert condition is not None, xml
    return {
        "name": extension.get("name"),
        "field": condition.get("field"),
        "expression": condition.get("expression"),
        "actions": [(a.get("application"), a.get("data")) for a in condition.findall("action")],
    }


# ---- the tests, in the order an installation goes -----------------------------------------------------------


def test_the_app_is_registered_by_the_upgrade_steps(site: Site) -> None:
    problems = [line for line in site.upgrade_problems if not FUSIONPBX_OWN.search(line)]
    assert not problems, problems  # PHP printed nothing but FusionPBX's own while they ran
    page = site.as_user(ADMIN_A).get("/core/dashboard/")
    assert f"{PAGES}voice_secretaries.php" in page.text, "the tenant admin's menu has no Voice Secretary item"
    granted = {
        (row["group_name"], row["permission_name"])
        for row in site.fusionpbx.query(
            "select group_name, permission_name from v_group_permissions where permission_name like 'voice_%'"
        )
    }
    assert ("admin", "voice_secretary_edit") in granted
    assert ("superadmin", "voice_secretary_context") in granted
    assert ("admin", "voice_secretary_context") not in granted
    settings = {
        row["default_setting_subcategory"]: row["default_setting_value"]
        for row in site.fusionpbx.query(
            "select * from v_default_settings where default_setting_category = 'voice_secretary'"
        )
    }
    assert settings["service_url"] == site.service_url


def test_a_secretary_saved_in_the_app_is_a_native_dialplan_entry(site: Site) -> None:
    """Point 9: v_dialplans + v_dialplan_details, and dialplan_xml generated from the details like FusionPBX's
    (with every column FusionPBX's generator reads: saving logs no PHP warning, see php_stays_silent)."""
    secretary = site.secretary()
    row = dialplan_row(site, secretary)
    assert str(row["app_uuid"]) == APP_UUID
    assert str(row["domain_uuid"]) == site.domains[DOMAIN_A]
    assert (row["dialplan_number"], row["dialplan_context"], row["dialplan_enabled"]) == ("8000", DOMAIN_A, True)
    assert " " not in row["dialplan_name"] and "Recep" in row["dialplan_name"]
    details = dialplan_details(site, secretary)
    assert details[0][:3] == ("condition", "destination_number", "^8000$")
    assert ("action", "lua", f"secretary_ai.lua {secretary}") == details[-1][:3]
    assert ("action", "set", "voice_ai_fallback_destination=200") in [d[:3] for d in details]
    assert all(d[6] == "true" and str(d[7]) == site.domains[DOMAIN_A] and d[8] is None for d in details)
    entry = routing(row["dialplan_xml"])
    assert entry["name"] == row["dialplan_name"]
    assert (entry["field"], entry["expression"]) == ("destination_number", "^8000$")
    assert entry["actions"] == [(d[1], d[2]) for d in details if d[0] == "action"]


def test_dialplan_manager_save_keeps_the_entry(site: Site) -> None:
    """Point 9: pressing Save on the entry in FusionPBX's Dialplan Manager changes nothing of it."""
    secretary = site.secretary()
    before, details_before = dialplan_row(site, secretary), dialplan_details(site, secretary)
    superadmin = site.as_user(SUPERADMIN)
    listed = superadmin.get("/app/dialplans/dialplans.php", app_uuid=APP_UUID)
    assert secretary in listed.text, "the entry is not in Dialplan Manager"
    saved = submit(superadmin, "/app/dialplans/dialplan_edit.php", query=f"?id={secretary}&app_uuid={APP_UUID}")
    assert saved.messages() == ["Update Completed"], saved.messages("negative")
    after, details_after = dialplan_row(site, secretary), dialplan_details(site, secretary)
    assert after["dialplan_xml"] == before["dialplan_xml"]
    for column in ("dialplan_name", "dialplan_number", "dialplan_context", "dialplan_enabled", "dialplan_order"):
        assert after[column] == before[column], column
    assert details_after == details_before
    entry = routing(after["dialplan_xml"])
    assert entry["expression"] == "^8000$"
    assert entry["actions"][-1] == ("lua", f"secretary_ai.lua {secretary}")
    # and the app's next save rewrites the same entry in place: the same detail rows, no more
    page = submit(
        site.as_user(ADMIN_A),
        PAGES + "voice_secretary_edit.php",
        query=f"?id={secretary}",
        greeting="Bom dia!",
        submit_action="save",
    )
    assert page.messages() == ["Updated"], shown_errors(page)
    assert dialplan_details(site, secretary) == details_before
    assert dialplan_row(site, secretary)["dialplan_xml"] == before["dialplan_xml"]


def test_a_failed_dialplan_save_keeps_the_whole_entry(site: Site) -> None:
    """Review of point 9: the app deleted the details, then saved; a failed save left XML without details, which
    the next Dialplan Manager Save wiped. Now one save (one transaction) or nothing, and the page says so."""
    admin = site.as_user(ADMIN_A)
    secretary = add_secretary(admin, name="Noturno", extension="8002", operator_destination="201")
    before, details_before = dialplan_row(site, secretary), dialplan_details(site, secretary)
    # the database refuses the next write of this entry, as a failing database would
    site.fusionpbx.sql(
        "CREATE FUNCTION voice_ai_test_refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;"
        " CREATE TRIGGER voice_ai_test_refuse BEFORE UPDATE ON v_dialplans FOR EACH ROW"
        " WHEN (NEW.dialplan_description = 'Noturno 2') EXECUTE FUNCTION voice_ai_test_refuse()"
    )
    path, query = PAGES + "voice_secretary_edit.php", f"?id={secretary}"
    try:
        page = submit(admin, path, query=query, name="Noturno 2", operator_destination="", submit_action="save")
    finally:
        site.fusionpbx.sql("DROP TRIGGER voice_ai_test_refuse ON v_dialplans; DROP FUNCTION voice_ai_test_refuse()")
    assert page.messages("negative") == [DIALPLAN_FAILED], shown_errors(page)
    assert dialplan_details(site, secretary) == details_before, "the entry keeps its details"
    assert dialplan_row(site, secretary)["dialplan_xml"] == before["dialplan_xml"]
    # the next save writes it: two details fewer (no operator), the others updated in place
    page = submit(admin, path, query=query, submit_action="save")
    assert page.messages() == ["Updated"] and page.messages("negative") == [], shown_errors(page)
    details = dialplan_details(site, secretary)
    assert [d[9] for d in details] == [d[9] for d in details_before][: len(details_before) - 2]
    assert "voice_ai_fallback_destination=201" not in [d[2] for d in details]
    assert routing(dialplan_row(site, secretary)["dialplan_xml"])["name"] == "Noturno_2"


def test_the_secretary_is_offered_in_fusionpbx_destination_selects(site: Site) -> None:
    site.secretary()
    page = site.as_user(ADMIN_A).get("/app/ring_groups/ring_group_edit.php")
    assert f"transfer:8000 XML {DOMAIN_A}" in page.select_values("ring_group_timeout_action")


def test_a_superadmins_context_does_not_stop_the_tenant_admin(site: Site) -> None:
    """Point 12: a context of another domain set by the superadmin; the tenant admin still saves the rest.

    The superadmin may point the operator at another domain's destination (its context is that domain's name):
    the service accepts a (destination, context) that routes in the domain owning that context, and refuses one
    that does not — shown next to the field and at the top of the page."""
    admin, superadmin = site.as_user(ADMIN_A), site.as_user(SUPERADMIN)
    secretary = add_secretary(admin, name="Plantão", extension="8001", operator_destination="200")
    path, query = PAGES + "voice_secretary_edit.php", f"?id={secretary}"
    b_only = "203"  # one of A's extensions, not B's
    refused = submit(
        superadmin, path, query=query, operator_context=DOMAIN_B, operator_destination=b_only, submit_action="save"
    )
    assert refused.messages() == [] and refused.messages("negative") == [NOT_SAVED], shown_errors(refused)
    assert field_error(refused, "operator_context") or field_error(refused, "operator_destination"), refused.url
    assert site.api(DOMAIN_A, f"/secretaries/{secretary}")[1]["operator_context"] is None
    b_operator = EXTENSIONS[DOMAIN_B][0]
    saved = submit(
        superadmin, path, query=query, operator_context=DOMAIN_B, operator_destination=b_operator, submit_action="save"
    )
    assert saved.messages() == ["Updated"], shown_errors(saved)
    stored = site.api(DOMAIN_A, f"/secretaries/{secretary}")[1]
    assert (stored["operator_destination"], stored["operator_context"]) == (b_operator, DOMAIN_B)
    page = admin.get(path + query)
    context = page.soup.find("input", attrs={"name": "operator_context"})
    assert context is not None and context.has_attr("readonly"), "the tenant admin sees the context read-only"
    saved = submit(admin, path, query=query, greeting="Bem-vindo à recepção!", submit_action="save")
    assert saved.messages() == ["Updated"], shown_errors(saved)
    stored = site.api(DOMAIN_A, f"/secretaries/{secretary}")[1]
    assert (stored["greeting"], stored["operator_context"]) == ("Bem-vindo à recepção!", DOMAIN_B)
    assert ("action", "set", f"voice_ai_fallback_context={DOMAIN_B}") in [
        d[:3] for d in dialplan_details(site, secretary)
    ]
    forged = submit(admin, path, query=query, operator_context="public", greeting="x", submit_action="save")
    assert "Only this domain's context" in field_error(forged, "operator_context"), shown_errors(forged)
    assert forged.messages("negative") == [NOT_SAVED]
    assert site.api(DOMAIN_A, f"/secretaries/{secretary}")[1]["greeting"] == "Bem-vindo à recepção!"
    # the same for a transfer rule
    rule = add_rule(admin, department_name="Plantão B", destination_number="202", keywords="plantão")
    rule_path, rule_query = PAGES + "voice_transfer_rule_edit.php", f"?id={rule}"
    saved = submit(
        superadmin,
        rule_path,
        query=rule_query,
        destination_context=DOMAIN_B,
        destination_number=b_operator,
    )
    assert saved.messages() == ["Updated"], shown_errors(saved)
    saved = submit(admin, rule_path, query=rule_query, keywords="plantão, urgência")
    assert saved.messages() == ["Updated"], shown_errors(saved)
    stored = site.api(DOMAIN_A, f"/transfer-rules/{rule}")[1]
    assert (stored["keywords"], stored["destination_context"]) == (["plantão", "urgência"], DOMAIN_B)


def test_try_it_logs_a_transfer_as_transferred(site: Site) -> None:
    """Point 10: the try-it box's conversation is stored with the outcome the secretary decided."""
    site.rule()
    asked = ask(site.as_user(ADMIN_A), site.secretary(), "Quero falar com o financeiro sobre um boleto")
    action = asked.soup.find("span", class_="try-action")
    assert action is not None and action.get("data-action") == "transfer", asked.soup.get_text()[-2000:]
    log = site.as_user(ADMIN_A).get(PAGES + "voice_conversations.php", caller="try-it")
    outcome = log.soup.find("td", class_="conversation-outcome")
    assert outcome is not None and outcome.get_text().startswith("Transferred → Financeiro (201)"), log.text[-3000:]


def test_the_second_tenant_cannot_see_or_touch_the_first(site: Site) -> None:
    secretary_a = site.secretary()
    admin_b = site.as_user(ADMIN_B)
    secretary_b = add_secretary(
        admin_b, name="Recepção B", extension="8000", operator_destination=EXTENSIONS[DOMAIN_B][0]
    )
    assert dialplan_row(site, secretary_b)["dialplan_context"] == DOMAIN_B
    listed = admin_b.get(PAGES + "voice_secretaries.php")
    assert secretary_b in listed.text and secretary_a not in listed.text
    peek = admin_b.get(PAGES + "voice_secretary_edit.php", id=secretary_a)
    assert peek.messages("negative") == ["Not found."] and secretary_a not in peek.text
    before = site.api(DOMAIN_A, f"/secretaries/{secretary_a}")[1]
    a_entry = dialplan_row(site, secretary_a)
    forged = admin_b.get(PAGES + "voice_secretary_edit.php", id=secretary_b).form("frm")
    forged.update(id=secretary_a, greeting="hijacked", submit_action="save", domain_uuid=site.domains[DOMAIN_A])
    admin_b.post(PAGES + f"voice_secretary_edit.php?id={secretary_a}", forged)
    fields = admin_b.get(PAGES + "voice_secretaries.php").form("form_list")
    fields.update(
        {"voice_secretaries[9][uuid]": secretary_a, "voice_secretaries[9][checked]": "true", "action": "delete"}
    )
    admin_b.post(PAGES + "voice_secretaries.php", fields)
    after = site.api(DOMAIN_A, f"/secretaries/{secretary_a}")
    assert after[0] == 200 and after[1]["update_date"] == before["update_date"]
    assert dialplan_row(site, secretary_a) == a_entry, "A's dialplan entry is untouched"
    # and FusionPBX itself keeps B's admin out of A's dialplan entry
    manager = admin_b.get("/app/dialplans/dialplans.php", app_uuid=APP_UUID)
    assert secretary_a not in manager.text


def test_every_page_opens_without_php_problems(site: Site) -> None:
    """Nothing printed into a page (and, by php_stays_silent, nothing logged), whatever file PHP blames."""
    admin = site.as_user(ADMIN_A)
    pages = [
        "voice_secretaries.php",
        "voice_secretary_edit.php",
        f"voice_secretary_edit.php?id={site.secretary()}",
        "voice_transfer_rules.php",
        "voice_transfer_rule_edit.php",
        f"voice_transfer_rule_edit.php?id={site.rule()}",
        "voice_documents.php",
        "voice_conversations.php?outcome=transferred&from=2020-01-01",
        f"voice_conversation_view.php?id={site.conversation()}",
        "voice_providers.php",
        "voice_provider_edit.php",
        "voice_provider_edit.php?provider=llm:openai_compatible",
    ]
    for path in pages:
        page = admin.get(PAGES + path)
        assert page.status == 200 and PAGES + path.split("?")[0] in page.url, (path, page.url)
        assert "access denied" not in page.text, path
        assert not page.php_problems(), (path, page.php_problems())


def test_chromium_uses_the_pages_and_leaves_screenshots(site: Site, tmp_path: Path) -> None:
    """Headless Chromium on the real FusionPBX (its theme, jQuery, modal and list scripts): the delete modal and
    select-all, the try-it conversation ended by leaving the page, documents refreshing in place; a
    screenshot of each main page in test-output/fusionpbx_*.png."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    secretary, _ = site.secretary(), site.rule()
    base = f"http://{DOMAIN_A}:{site.fusionpbx.port}"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with chromium(tmp_path) as driver:
        wait = WebDriverWait(driver, 60)
        driver.get(f"{base}/login.php")
        driver.find_element(By.ID, "username").send_keys(ADMIN_A.username)
        driver.find_element(By.NAME, "password").send_keys(ADMIN_A.password)
        driver.find_element(By.ID, "btn_login").click()
        wait.until(expected_conditions.url_contains("/core/dashboard"))

        def shot(path: str, name: str) -> None:
            driver.get(base + PAGES + path)
            wait.until(expected_conditions.presence_of_element_located((By.ID, "action_bar")))
            assert not php_problems(driver.find_element(By.TAG_NAME, "body").text), path
            driver.save_screenshot(str(OUTPUT / f"fusionpbx_{name}.png"))

        shot("voice_secretaries.php", "secretaries")
        shot(f"voice_secretary_edit.php?id={secretary}", "secretary_edit")
        shot("voice_transfer_rules.php", "transfer_rules")
        shot("voice_conversations.php", "conversations")
        shot("voice_providers.php", "providers")
        shot("voice_provider_edit.php?provider=llm:openai_compatible", "provider_edit")

        # select-all reveals Delete, which opens FusionPBX's modal; Cancel closes it and deletes nothing
        rules = site.api(DOMAIN_A, "/transfer-rules")[1]["total"]
        driver.get(base + PAGES + "voice_transfer_rules.php")
        driver.find_element(By.ID, "checkbox_all").click()
        delete = driver.find_element(By.CSS_SELECTOR, "#action_bar #btn_delete")
        wait.until(lambda _: delete.is_displayed())
        assert all(box.is_selected() for box in driver.find_elements(By.CSS_SELECTOR, "input[id^='checkbox_']"))
        delete.click()
        modal = driver.find_element(By.ID, "modal-delete")
        wait.until(lambda _: modal.value_of_css_property("opacity") == "1")
        driver.save_screenshot(str(OUTPUT / "fusionpbx_delete_modal.png"))
        modal.find_element(By.CSS_SELECTOR, ".modal-actions button").click()
        wait.until(lambda _: modal.value_of_css_property("opacity") == "0")
        assert site.api(DOMAIN_A, "/transfer-rules")[1]["total"] == rules

        # the try-it box: a question the secretary answers and goes on (a question, no rule's words: the dialog
        # policy continues), then leaving the page ends the conversation (the page's beacon)
        driver.get(base + PAGES + f"voice_secretary_edit.php?id={secretary}")
        driver.find_element(By.ID, "question").send_keys("Qual é o horário de atendimento?")
        driver.find_element(By.ID, "btn_try").click()
        wait.until(expected_conditions.presence_of_element_located((By.ID, "try_transcript")))
        driver.save_screenshot(str(OUTPUT / "fusionpbx_try_it.png"))
        latest = site.api(DOMAIN_A, "/conversations?caller=try-it&limit=1")[1]["items"][0]
        assert latest["outcome"] is None, latest
        driver.get(base + PAGES + "voice_secretaries.php")
        call = f"/conversations/{latest['voice_conversation_uuid']}"
        wait.until(lambda _: site.api(DOMAIN_A, call)[1]["outcome"] == "hangup")

        # a document being indexed: its status changes on the open page, without a reload. The test holds the
        # chunks table (the indexing's last step writes there), so the page opens while it is surely indexing.
        with site.fusionpbx.locked("v_voice_document_chunks"):
            page = site.as_user(ADMIN_A).get(PAGES + "voice_documents.php")
            site.as_user(ADMIN_A).post(
                PAGES + "voice_documents.php",
                page.form("form_upload"),
                {"document": ("horario.md", "O escritório atende de segunda a sexta, das 8h às 18h.".encode())},
            )
            driver.get(base + PAGES + "voice_documents.php")
            row = driver.find_element(By.XPATH, "//tr[td[text()='horario.md']]")
            status = row.find_element(By.CLASS_NAME, "document-status")
            assert not status.text.startswith("Ready"), status.text
            assert "voice_documents.php?format=json" in driver.page_source, "no refresh while indexing"
            driver.execute_script("window.voiceAiNoReload = true;")
        try:  # indexing shares the CPU with everything else here: a generous wait, not a speed check
            WebDriverWait(driver, 120).until(lambda _: status.text.startswith("Ready"))
        except TimeoutException:
            raise AssertionError(
                (row.text, driver.execute_script(JSON_PROBE), site.api(DOMAIN_A, "/documents"))
            ) from None
        assert driver.execute_script("return window.voiceAiNoReload === true;"), "the page reloaded"
        driver.save_screenshot(str(OUTPUT / "fusionpbx_documents.png"))
    for name in ("secretaries", "secretary_edit", "delete_modal", "try_it", "documents"):
        assert (OUTPUT / f"fusionpbx_{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- opening hours (issue 13): FusionPBX's own Time Conditions page writes, the service reads -----------------

TIME_CONDITION_PAGE = "/app/time_conditions/time_condition_edit.php"
TIME_CONDITIONS_APP = "4b821450-926b-175a-af93-a03c441818b1"


def add_time_condition(
    site: Site, name: str, custom: list[tuple[str, str, str]], holiday: list[tuple[str, str, str]] | None = None
) -> str:
    """A time condition of tenant A saved through FusionPBX's own page, posting what its form's script builds: a
    custom group (500) of ``(condition, start, stop)`` and, optionally, the first holiday preset with its conditions
    set to ``holiday`` (an admin may edit a preset's conditions); all of them route to the operator (200)."""
    browser = site.as_user(ADMIN_A)
    page = browser.get(TIME_CONDITION_PAGE)
    assert page.status == 200, page.text[:2000]
    fields = page.form("frm")
    operator = next(v for v in page.select_values("dialplan_action[500]") if re.search(r"\b200\b", v))
    fields.update(dialplan_name=name, dialplan_number="5000", dialplan_anti_action=operator)
    groups: list[tuple[str, int, list[tuple[str, str, str]]]] = [("custom", 500, custom)]
    if holiday is not None:
        preset = page.soup.find("input", attrs={"name": "preset[0]"})
        assert preset is not None, "no holiday preset offered"
        fields["preset[0]"] = str(preset["value"])
        groups.append(("preset", int(str(preset["value"])), holiday))
    for kind, group, conditions in groups:
        for index, (variable, start, stop) in enumerate(conditions):
            fields[f"variable[{kind}][{group}][{index}]"] = variable
            fields[f"value[{group}][{index}][start]"] = start
            fields[f"value[{group}][{index}][stop]"] = stop
        fields[f"dialplan_action[{group}]"] = operator
    saved = browser.post(TIME_CONDITION_PAGE, fields)
    assert saved.status == 200, saved.text[:2000]
    rows = site.fusionpbx.query(
        "select dialplan_uuid from v_dialplans where dialplan_name = $1 and app_uuid = $2 and domain_uuid = $3",
        name,
        uuid.UUID(TIME_CONDITIONS_APP),
        uuid.UUID(site.domains[DOMAIN_A]),
    )
    assert len(rows) == 1, (saved.messages("negative"), saved.text[-2000:])
    return str(rows[0]["dialplan_uuid"])


def service_zone(site: Site) -> ZoneInfo:
    """The zone the service reads tenant A's time conditions in: the domain's time_zone setting, else the default
    setting, else this host's (the service runs here)."""
    rows = site.fusionpbx.query(
        "select domain_setting_value as value from v_domain_settings where domain_uuid = $1 and"
        " domain_setting_category = 'domain' and domain_setting_subcategory = 'time_zone'"
        " and domain_setting_enabled::text in ('true', 't') union all"
        " select default_setting_value from v_default_settings where default_setting_category = 'domain'"
        " and default_setting_subcategory = 'time_zone' and default_setting_enabled::text in ('true', 't')",
        uuid.UUID(site.domains[DOMAIN_A]),
    )
    named = [str(r["value"]) for r in rows if r["value"]]
    return ZoneInfo(named[0]) if named else local_zone()


def test_the_service_reads_time_conditions_saved_by_fusionpbx(site: Site) -> None:
    """Issue 13, point 1: time conditions written by FusionPBX 5.5's own page (time-of-day saved as minute-of-day,
    a holiday preset in its own group) are read by the service as opening hours, offered by the app's selector,
    and a transfer rule that follows a closed one is not transferred to."""
    today = datetime.now(service_zone(site))
    every_day = [("wday", "1", "7")]
    open_id = add_time_condition(site, "Sempre aberto", every_day)
    closed_id = add_time_condition(
        site, "Feriado hoje", every_day, holiday=[("mday", str(today.day), ""), ("mon", str(today.month), "")]
    )
    office_id = add_time_condition(site, "Comercial", [("wday", "2", "6"), ("time-of-day", "08:00", "18:00")])
    details = dialplan_details(site, office_id)
    assert ("condition", "minute-of-day", "481-1080") in [d[:3] for d in details]  # how FusionPBX saves 08:00-18:00
    assert any(
        d[:2] == ("action", "set") and str(d[2]).startswith("preset=") for d in dialplan_details(site, closed_id)
    )

    status, listed = site.api(DOMAIN_A, "/time-conditions")
    assert status == 200, listed
    by_id = {c["time_condition_uuid"]: c for c in listed}
    assert by_id[open_id]["open_now"] is True
    assert by_id[closed_id]["open_now"] is False
    opens = datetime.fromisoformat(by_id[closed_id]["next_opening"])
    assert (opens.date(), opens.hour, opens.minute) == (today.date() + timedelta(days=1), 0, 0)
    office = by_id[office_id]
    inside = today.isoweekday() <= 5 and 8 <= today.hour < 18
    assert office["open_now"] is inside, (today, office)
    if not inside:
        nxt = datetime.fromisoformat(office["next_opening"])
        assert (nxt.hour, nxt.minute, nxt.isoweekday() <= 5) == (8, 0, True)
    assert site.api(DOMAIN_B, "/time-conditions") == (200, [])  # not another tenant's

    # the app's rule page offers them; a rule following the closed one is not transferred to
    browser = site.as_user(ADMIN_A)
    page = browser.get(PAGES + "voice_transfer_rule_edit.php")
    assert f"t:{closed_id}" in page.select_values("opening_hours")
    added = submit(
        browser,
        PAGES + "voice_transfer_rule_edit.php",
        department_name="Cobrança",
        destination_number="202",
        keywords="cobrança, cobranca",
        opening_hours=f"t:{closed_id}",
    )
    assert added.messages() == ["Added"], shown_errors(added)
    asked = ask(browser, site.secretary(), "Quero falar com a cobrança")
    action = asked.soup.find("span", class_="try-action")
    assert action is not None and action.get("data-action") == "continue", asked.soup.get_text()[-2000:]
    response = asked.soup.find_all("span", class_="try-response")[-1].get_text(" ", strip=True)
    assert response.startswith("O setor Cobrança não está atendendo agora."), response
    assert response.endswith("Quer deixar um recado?"), response


# ---- issue 13: messages callers leave (docs/messages.md) ---------------------------------------------------------


def fusionpbx_default_setting(site: Site, browser: Browser, subcategory: str, value: str) -> None:
    """Advanced → Default Settings: the superadmin edits one ``email`` setting (its value, enabled) on FusionPBX's
    page (the row is found in the database: the list groups rows under headings)."""
    rows = site.fusionpbx.query(
        "select default_setting_uuid from v_default_settings"
        " where default_setting_category = 'email' and default_setting_subcategory = $1",
        subcategory,
    )
    assert len(rows) == 1, (subcategory, rows)
    saved = submit(
        browser,
        "/core/default_settings/default_setting_edit.php",
        query=f"?id={rows[0]['default_setting_uuid']}",
        default_setting_value=value,
        default_setting_enabled="true",
    )
    assert saved.messages() == ["Update Completed"], saved.messages("negative")


def test_a_message_is_emailed_with_fusionpbxs_email_settings(site: Site) -> None:
    """A message taken by the secretary is e-mailed with FusionPBX's own e-mail settings — the superadmin's Default
    Settings, the domain's Settings over them — shown in the call log, and the service will not take SMTP settings
    of its own in FusionPBX mode."""
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Mailbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    port = free_port()
    mailbox = Controller(Mailbox(), hostname="127.0.0.1", port=port)
    mailbox.start()
    try:
        superadmin = site.fusionpbx.browser(DOMAIN_A)
        superadmin.login(SUPERADMIN.username, SUPERADMIN.password)
        for subcategory, value in (
            ("smtp_host", "127.0.0.1"),
            ("smtp_secure", "none"),
            ("smtp_from", "pbx@example.com"),
        ):
            fusionpbx_default_setting(site, superadmin, subcategory, value)
        # Advanced → Domains → the domain's Settings: its own port over the default (disabled) one
        added = submit(
            superadmin,
            "/core/domain_settings/domain_setting_edit.php",
            query=f"?domain_uuid={site.domains[DOMAIN_A]}",
            domain_setting_category="email",
            domain_setting_subcategory="smtp_port",
            domain_setting_name="numeric",
            domain_setting_value=str(port),
            domain_setting_enabled="true",
        )
        assert added.messages() == ["Add Completed"], added.messages("negative")
        shown = site.api(DOMAIN_A, "/email-settings")[1]
        assert (shown["source"], shown["smtp_host"], shown["smtp_port"], shown["smtp_secure"], shown["smtp_from"]) == (
            "fusionpbx",
            "127.0.0.1",
            port,
            "none",
            "pbx@example.com",
        )
        refused = httpx.put(
            f"{site.service_url}/api/v1/domains/{site.domains[DOMAIN_A]}/email-settings",
            json={"smtp_host": "smtp.example.com", "smtp_from": "x@example.com"},
            timeout=30,
        )
        assert refused.status_code == 409, refused.text

        # the tenant admin says who receives the messages, on the secretary's page
        secretary = site.secretary()
        admin = site.as_user(ADMIN_A)
        saved = submit(
            admin,
            PAGES + "voice_secretary_edit.php",
            query=f"?id={secretary}",
            message_email="recepcao@example.com",
            submit_action="save",
        )
        assert not shown_errors(saved)[1], shown_errors(saved)
        call = f"fpbx-message-{uuid.uuid4().hex[:8]}"
        base = f"{site.service_url}/api/v1/calls"
        started = httpx.post(
            base,
            json={
                "domain_uuid": site.domains[DOMAIN_A],
                "secretary": "8000",
                "call_uuid": call,
                "caller_id_number": "+554133334444",
            },
            timeout=60,
        )
        assert started.status_code == 201, started.text
        for said in ("Quero deixar um recado", "Paulo Mendes", "sim", "Preciso da segunda via do contrato", "Correto"):
            turn = httpx.post(
                f"{base}/{call}/turns", data={"domain_uuid": site.domains[DOMAIN_A], "text": said}, timeout=60
            )
            assert turn.status_code == 200, turn.text
        for _ in range(300):
            if received:
                break
            time.sleep(0.1)
        assert received, site.api(DOMAIN_A, "/caller-messages")
        assert received[0].mail_from == "pbx@example.com" and received[0].rcpt_tos == ["recepcao@example.com"]
        assert "Preciso da segunda via do contrato" in received[0].content.decode()

        # the call log marks the call and the conversation shows the message
        log = admin.get(PAGES + "voice_conversations.php", caller="33334444")
        assert log.soup.select("span.caller-message-marker"), log.text[-2000:]
        conversation = site.api(DOMAIN_A, "/caller-messages")[1]["items"][0]["voice_conversation_uuid"]
        view = admin.get(PAGES + "voice_conversation_view.php", id=conversation)
        body = view.soup.find("td", class_="caller-message-body")
        assert body is not None and body.get_text(strip=True) == "Preciso da segunda via do contrato", view.text[-2000:]
    finally:
        mailbox.stop()
