"""/docs (Swagger UI) and /redoc work without internet: every script, style and icon they load is served by the
service itself (from the fastapi-offline package), and Swagger UI renders the API's operations in headless
Chromium with every host but 127.0.0.1 made unresolvable."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chromium import chromium
from test_console import serve
from voice_ai.main import create_app
from voice_ai.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = Path(os.environ.get("VOICE_AI_TEST_OUTPUT", ROOT / "test-output"))
NO_OUTSIDE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*['"]([^'"]+)['"]""")


@pytest.fixture(scope="module")
async def base(runtime: Runtime) -> AsyncIterator[str]:
    async with serve(create_app(runtime.settings, runtime=runtime)) as url:
        yield url


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/docs", {"/docs/assets/swagger-ui-bundle.js": "javascript", "/docs/assets/swagger-ui.css": "text/css"}),
        ("/redoc", {"/docs/assets/redoc.standalone.js": "javascript"}),
    ],
)
async def test_the_pages_reference_only_this_service(base: str, page: str, expected: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        html = (await http.get(page)).text
        assert "//" not in re.sub(r"<script>.*?</script>", "", html, flags=re.S).replace("<!DOCTYPE html>", ""), (
            "no absolute URL outside inline scripts"
        )
        for script in re.findall(r"<script>(.*?)</script>", html, flags=re.S):
            assert not re.search(r"https?://", script), script
        referenced = {a or b for a, b in ASSET.findall(html)}
        assert set(expected) <= referenced, referenced
        assert "/docs/assets/favicon.png" in referenced
        for path in referenced - {"/openapi.json", "/docs/oauth2-redirect"}:
            asset = await http.get(path)
            assert asset.status_code == 200, path
            kind = expected.get(path, "image/png")
            assert kind in asset.headers["content-type"], (path, asset.headers["content-type"])
            assert len(asset.content) > 1000, path
        assert (await http.get("/openapi.json")).status_code == 200
        assert (await http.get("/docs/oauth2-redirect")).status_code == 200


async def test_swagger_ui_renders_the_operations_without_internet(base: str, tmp_path: Path) -> None:
    def browse() -> tuple[int, list[dict[str, Any]]]:
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        with chromium(tmp_path, NO_OUTSIDE) as driver:
            with pytest.raises(WebDriverException, match="ERR_NAME_NOT_RESOLVED"):
                driver.get("https://cdn.jsdelivr.net/")  # the rule holds: the outside is unreachable from here
            driver.get(f"{base}/docs")
            WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 10)
            count = len(driver.find_elements(By.CSS_SELECTOR, ".opblock"))
            assert "Voice AI IVR" in driver.find_element(By.CSS_SELECTOR, ".info .title").text
            OUTPUT.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(OUTPUT / "docs.png"))
            entries: list[dict[str, Any]] = driver.execute_script(
                "return performance.getEntriesByType('resource').map(e => ({name: e.name}))"
            )
            return count, entries

    count, entries = await asyncio.to_thread(browse)
    assert count > 10
    assert entries and all(entry["name"].startswith(base) for entry in entries), entries
    assert (OUTPUT / "docs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
