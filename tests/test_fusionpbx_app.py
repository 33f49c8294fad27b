"""The FusionPBX app (fusionpbx/app/voice_secretary): ``php -l`` over every file, the PHPUnit page tests and a
headless Chromium test, all against the real service (embedded PostgreSQL, the demo tenant as domain A and a
second tenant as domain B).

The pages run under ``php -S`` in a temporary web root shaped like FusionPBX's, with the shim of
``fusionpbx/tests/shim`` standing in for FusionPBX itself (session, permissions, text, token, database).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from chromium import chromium, tool
from conftest import TEST_SECRET_KEY, PgServer
from helpers import demo_service, free_port, wait_http

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
FUSIONPBX = ROOT / "fusionpbx"
APP = FUSIONPBX / "app" / "voice_secretary"
OUTPUT = Path(os.environ.get("VOICE_AI_TEST_OUTPUT", ROOT / "test-output"))


_tool = tool


@dataclass
class Site:
    shim_url: str
    service_url: str
    env: dict[str, str]
    root: Path


@pytest.fixture(scope="module")
def site(pg: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    name = f"fpbx_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg.admin(f"CREATE DATABASE {name}"))

    async def _fusionpbx_tables() -> None:
        conn = await asyncpg.connect(pg.url(name))
        try:
            await conn.execute((FUSIONPBX / "tests" / "shim" / "fusionpbx_tables.sql").read_text())
        finally:
            await conn.close()

    asyncio.run(_fusionpbx_tables())
    tmp = tmp_path_factory.mktemp("fusionpbx")
    services = contextlib.ExitStack()
    service_url, _ = services.enter_context(demo_service(pg.url(name), tmp / "data", TEST_SECRET_KEY))
    php = None
    try:
        api = httpx.Client(base_url=f"{service_url}/api/v1", timeout=30)
        domain_a = api.get("/domains", params={"name": "demo.localhost"}).json()["items"][0]["domain_uuid"]
        secretary_a = api.get(f"/domains/{domain_a}/secretaries").json()["items"][0]["voice_secretary_uuid"]
        domain_b = api.post("/domains", json={"domain_name": "outra.example.com"}).json()["domain_uuid"]
        secretary_b = api.post(
            f"/domains/{domain_b}/secretaries",
            json={
                "name": "Recepção B",
                "extension": "8000",
                "greeting": "Olá, empresa B.",
                "operator_destination": "100",
            },
        ).json()["voice_secretary_uuid"]
        api.post(
            f"/domains/{domain_b}/transfer-rules", json={"department_name": "Vendas B", "destination_number": "101"}
        )

        async def _fusionpbx_rows() -> None:
            """The app's default settings as Upgrade → App Defaults writes them, and an existing extension."""
            conn = await asyncpg.connect(pg.url(name))
            try:
                for subcategory, kind, value, enabled in (
                    ("service_url", "text", service_url, True),
                    ("api_key", "text", "", False),
                    ("timeout", "numeric", "60", True),
                ):
                    await conn.execute(
                        "INSERT INTO v_default_settings (default_setting_uuid, default_setting_category,"
                        " default_setting_subcategory, default_setting_name, default_setting_value,"
                        " default_setting_enabled) VALUES ($1, 'voice_secretary', $2, $3, $4, $5)",
                        uuid.uuid4(),
                        subcategory,
                        kind,
                        value,
                        enabled,
                    )
                await conn.execute(
                    "INSERT INTO v_extensions (extension_uuid, domain_uuid, extension, number_alias, enabled)"
                    " VALUES ($1, $2, '8100', '5100', true)",
                    uuid.uuid4(),
                    uuid.UUID(domain_a),
                )
            finally:
                await conn.close()

        asyncio.run(_fusionpbx_rows())

        # a web root shaped like FusionPBX's: <root>/resources (the shim), <root>/app/voice_secretary
        root = tmp / "www"
        shutil.copytree(FUSIONPBX / "tests" / "shim", root)
        shutil.copytree(APP, root / "app" / "voice_secretary")
        (root / "sessions").mkdir()
        dsn = f"pgsql:host={pg.socket_dir};dbname={name};user=postgres"
        (root / "shim_config.json").write_text(
            json.dumps(
                {
                    # the session's settings hold a user override a tenant admin could write: ignored by the app
                    "settings": {"voice_secretary": {"service_url": "http://127.0.0.1:9", "api_key": "stolen"}},
                    "database": {"dsn": dsn},
                }
            )
        )
        php_port = free_port()
        php = subprocess.Popen(
            [
                _tool("php"),
                "-S",
                f"127.0.0.1:{php_port}",
                "-t",
                str(root),
                "-d",
                f"session.save_path={root / 'sessions'}",
                "-d",
                "upload_max_filesize=20M",
                "-d",
                "post_max_size=25M",
                "-d",
                "display_errors=stderr",
                "-d",
                "error_reporting=E_ALL",
            ],
            env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4"},
            start_new_session=True,  # its workers are stopped with it (as a group)
            stdout=(tmp / "php.log").open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        shim_url = f"http://127.0.0.1:{php_port}"
        wait_http(f"{shim_url}/shim_login.php?domain_uuid={domain_a}&domain_name=demo.localhost", php, ok_below=500)
        yield Site(
            shim_url,
            service_url,
            {
                "SHIM_URL": shim_url,
                "SERVICE_URL": service_url,
                "DB_DSN": dsn,
                "APP_DIR": str(APP),
                "DOMAIN_A": domain_a,
                "DOMAIN_A_NAME": "demo.localhost",
                "SECRETARY_A": secretary_a,
                "DOMAIN_B": domain_b,
                "DOMAIN_B_NAME": "outra.example.com",
                "SECRETARY_B": secretary_b,
            },
            root,
        )
    finally:
        if php is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(php.pid, signal.SIGTERM)  # the server and its forked workers
            php.wait(timeout=30)
        services.close()


def test_php_files_have_no_syntax_errors() -> None:
    files = sorted(FUSIONPBX.rglob("*.php"))
    assert len(files) >= 20
    for path in files:
        linted = subprocess.run([_tool("php"), "-l", str(path)], capture_output=True, text=True, check=False)
        assert linted.returncode == 0, linted.stdout + linted.stderr


def test_phpunit_pages_against_the_real_service(site: Site, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    ran = subprocess.run(
        [_tool("phpunit"), "--configuration", str(FUSIONPBX / "tests" / "phpunit.xml"), "--log-junit", str(junit)],
        env={**os.environ, **site.env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    php_log = (site.root.parent / "php.log").read_text(errors="replace")
    errors = "\n".join(line for line in php_log.splitlines() if "PHP " in line)[-4000:]
    report = ran.stdout + ran.stderr + "\nPHP errors of the pages:\n" + errors
    assert ran.returncode == 0, report
    assert "PHP Warning" not in errors and "PHP Fatal" not in errors and "PHP Deprecated" not in errors, errors
    suite = ET.parse(junit).getroot().find("testsuite")  # noqa: S314 (phpunit's own report)
    assert suite is not None, report
    assert int(suite.get("tests", 0)) >= 27, report
    assert suite.get("failures") == "0" and suite.get("errors") == "0", report


def test_chromium_saves_a_secretary_and_leaves_a_screenshot(site: Site, tmp_path: Path) -> None:
    """Headless Chromium (Debian's, through its chromedriver): log in, open the secretaries list, open the edit
    page from it, change the greeting, save; the API has the change; screenshots land in the test output."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium(tmp_path) as driver:
        env = site.env
        driver.get(f"{site.shim_url}/shim_login.php?domain_uuid={env['DOMAIN_A']}&domain_name={env['DOMAIN_A_NAME']}")
        assert driver.current_url.endswith("/app/voice_secretary/voice_secretaries.php")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(OUTPUT / "voice_secretaries.png"))
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.list-row")
        assert rows and "Secretária Virtual" in rows[0].text
        driver.find_element(By.CSS_SELECTOR, f"a[href*='{env['SECRETARY_A']}']").click()
        greeting = WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, "greeting")))
        assert greeting.get_attribute("value")
        new_greeting = f"Olá! Aqui é a Contabilidade Exata ({uuid.uuid4().hex[:6]}). Como posso ajudar?"
        greeting.clear()
        greeting.send_keys(new_greeting)
        driver.find_element(By.ID, "btn_save").click()
        try:  # the save posts the form and the browser follows the redirect: wait for the new page
            saved = WebDriverWait(driver, 30).until(
                expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#messages div"))
            )
        except TimeoutException:
            raise AssertionError(driver.page_source[:3000]) from None
        assert saved.text == "Updated", driver.page_source[:3000]
        assert driver.find_element(By.ID, "greeting").get_attribute("value") == new_greeting
        driver.save_screenshot(str(OUTPUT / "voice_secretary_edit.png"))
    stored = httpx.get(f"{site.service_url}/api/v1/domains/{env['DOMAIN_A']}/secretaries/{env['SECRETARY_A']}").json()
    assert stored["greeting"] == new_greeting
    for name in ("voice_secretaries.png", "voice_secretary_edit.png"):
        assert (OUTPUT / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chromium_adds_a_tool_in_portuguese_and_leaves_screenshots(site: Site, tmp_path: Path) -> None:
    """Tools (issue 13) in headless Chromium, in pt-BR: from the list, add a tool through the form; the list shows
    it; screenshots of both pages land in the test output."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    name = f"status_pedido_{uuid.uuid4().hex[:6]}"
    with chromium(tmp_path) as driver:
        env = site.env
        driver.get(
            f"{site.shim_url}/shim_login.php?domain_uuid={env['DOMAIN_A']}&domain_name={env['DOMAIN_A_NAME']}"
            "&language=pt-br&next=/app/voice_secretary/voice_tools.php"
        )
        assert driver.current_url.endswith("/app/voice_secretary/voice_tools.php"), driver.current_url
        assert "Ferramentas" in driver.page_source
        driver.find_element(By.ID, "btn_add").click()
        field = WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, "name")))
        field.send_keys(name)
        driver.find_element(By.ID, "description").send_keys("Consulta o status de um pedido pelo número.")
        driver.find_element(By.ID, "url").send_keys("https://erp.example.com/pedidos/{pedido}")
        parameters = driver.find_element(By.ID, "parameters")
        parameters.clear()
        parameters.send_keys('{"type": "object", "properties": {"pedido": {"type": "string"}}, "required": ["pedido"]}')
        driver.find_element(By.ID, "headers").send_keys("Authorization: Bearer segredo-0000000000001")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(OUTPUT / "voice_tool_edit.png"))
        driver.find_element(By.ID, "btn_save").click()
        WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "tr.list-row"))
        )
        assert name in driver.page_source and "segredo-0000000000001" not in driver.page_source
        driver.save_screenshot(str(OUTPUT / "voice_tools.png"))
    tools = httpx.get(f"{site.service_url}/api/v1/domains/{env['DOMAIN_A']}/tools", params={"limit": 200}).json()
    saved = next(t for t in tools["items"] if t["name"] == name)
    assert saved["parameters"]["required"] == ["pedido"] and "segredo" not in json.dumps(saved)
    httpx.delete(f"{site.service_url}/api/v1/domains/{env['DOMAIN_A']}/tools/{saved['voice_tool_uuid']}")
    for shot in ("voice_tools.png", "voice_tool_edit.png"):
        assert (OUTPUT / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
