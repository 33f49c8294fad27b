"""/health (liveness) and /ready (database, migrations at head, pgvector)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from conftest import make_settings
from voice_ai.db import migrate
from voice_ai.main import create_app
from voice_ai.runtime import Runtime


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": True, "migrations": True, "pgvector": True},
        "errors": [],
    }


async def test_not_ready_when_schema_is_behind(fresh_database: Callable[..., Awaitable[str]], tmp_path: Path) -> None:
    url = await fresh_database()
    runtime = Runtime(make_settings(tmp_path, url, auto_migrate=False))
    await runtime.start()
    try:
        app = create_app(runtime.settings, runtime=runtime)
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
            app.router.lifespan_context(app),
        ):
            behind = await http.get("/ready")
            assert behind.status_code == 503
            body = behind.json()
            assert body["checks"]["database"] is True and body["checks"]["migrations"] is False
            assert any("voice-ai db upgrade" in e for e in body["errors"])
            await migrate.upgrade(runtime.engine)
            assert (await http.get("/ready")).status_code == 200
    finally:
        await runtime.stop()


async def test_not_ready_without_pgvector(fresh_database: Callable[..., Awaitable[str]], tmp_path: Path) -> None:
    url = await fresh_database()
    async with Runtime(make_settings(tmp_path, url)) as runtime:
        async with runtime.engine.begin() as conn:
            await conn.exec_driver_sql("DROP EXTENSION vector CASCADE")
        app = create_app(runtime.settings, runtime=runtime)
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
            app.router.lifespan_context(app),
        ):
            response = await http.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "migrations": True, "pgvector": False}
    assert "'vector' extension is missing" in response.json()["errors"][0]
