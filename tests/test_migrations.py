"""Migrations: upgrade/downgrade, FusionPBX's own v_domains left alone, and the pgvector error."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import httpx
import pytest

from conftest import PgServer, make_settings
from helpers import cli_env, run_cli
from voice_ai.db import migrate
from voice_ai.db.models import TENANT_TABLES
from voice_ai.main import create_app
from voice_ai.runtime import Runtime

FreshDb = Callable[..., Awaitable[str]]

# The shape of v_domains on a FusionPBX 5.x server (domain_enabled has been text there).
FUSIONPBX_V_DOMAINS = """
CREATE TABLE v_domains (
    domain_uuid uuid PRIMARY KEY,
    domain_parent_uuid uuid,
    domain_name text,
    domain_enabled text,
    domain_description text,
    insert_date timestamptz,
    insert_user uuid,
    update_date timestamptz,
    update_user uuid
)
"""


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_upgrade_downgrade_and_upgrade_again(fresh_database: FreshDb, tmp_path: Path) -> None:
    url = await fresh_database()
    async with Runtime(make_settings(tmp_path, url, auto_migrate=False)) as runtime:
        await migrate.upgrade(runtime.engine)
        assert set(TENANT_TABLES) | {"v_domains"} <= await _tables(url)
        async with runtime.engine.connect() as conn:
            assert await migrate.current_revision(conn) == migrate.head_revision()
        await migrate.downgrade(runtime.engine, "base")
        assert await _tables(url) == {migrate.VERSION_TABLE}
        await migrate.upgrade(runtime.engine)
        assert set(TENANT_TABLES) <= await _tables(url)


async def test_ends_from_before_the_upgrade_are_not_worked_again(fresh_database: FreshDb, tmp_path: Path) -> None:
    """0008 records when an end's work was done: ends from before count as done — except the last minutes' without a
    webhook delivery yet, whose job may still be waiting its grace period (the every-minute job would otherwise
    queue every old end's summary and webhook again)."""
    url = await fresh_database()
    async with Runtime(make_settings(tmp_path, url, auto_migrate=False, worker=False)) as runtime:
        await migrate.upgrade(runtime.engine, "0007")
        conn = await asyncpg.connect(url)
        try:
            domain = uuid.uuid4()
            await conn.execute("INSERT INTO v_domains (domain_uuid, domain_name) VALUES ($1, 'up.test')", domain)
            for call, ended in (("old", "now() - interval '1 day'"), ("recent", "now()"), ("open", "NULL")):
                await conn.execute(
                    f"INSERT INTO v_voice_conversations (domain_uuid, call_uuid, ended_at) VALUES ($1, $2, {ended})",
                    domain,
                    call,
                )
            await migrate.upgrade(runtime.engine)
            rows = await conn.fetch("SELECT call_uuid, finished_at IS NOT NULL AS done FROM v_voice_conversations")
        finally:
            await conn.close()
    assert {r["call_uuid"]: r["done"] for r in rows} == {"old": True, "recent": False, "open": False}


async def test_concurrent_starters_migrate_once(fresh_database: FreshDb, tmp_path: Path) -> None:
    url = await fresh_database()
    runtimes = [Runtime(make_settings(tmp_path, url)) for _ in range(3)]
    await asyncio.gather(*(r.start() for r in runtimes))
    try:
        assert set(TENANT_TABLES) <= await _tables(url)
    finally:
        await asyncio.gather(*(r.stop() for r in runtimes))


async def test_fusionpbx_v_domains_is_not_touched(fresh_database: FreshDb, tmp_path: Path) -> None:
    url = await fresh_database()
    conn = await asyncpg.connect(url)
    domain = uuid.uuid4()
    try:
        await conn.execute(FUSIONPBX_V_DOMAINS)
        await conn.execute(
            "INSERT INTO v_domains (domain_uuid, domain_name, domain_enabled) VALUES ($1, 'pbx.example.com', 'false')",
            domain,
        )
        columns_before = await conn.fetch(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'v_domains' ORDER BY 1"
        )
        async with Runtime(make_settings(tmp_path, url)) as runtime:
            assert runtime.standalone is False
            app = create_app(runtime.settings, runtime=runtime)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
            ):
                listed = (await http.get("/api/v1/domains")).json()
                assert listed["items"] == [
                    {
                        "domain_uuid": str(domain),
                        "domain_name": "pbx.example.com",
                        "domain_enabled": False,
                        "domain_description": None,
                    }
                ]
                assert (await http.post("/api/v1/domains", json={"domain_name": "new.example.com"})).status_code == 403
                created = await http.post(f"/api/v1/domains/{domain}/secretaries", json={"name": "S"})
                assert created.status_code == 201
            columns_after = await conn.fetch(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'v_domains' ORDER BY 1"
            )
            assert columns_after == columns_before
            assert await conn.fetchval("SELECT obj_description('v_domains'::regclass, 'pg_class')") is None
            await migrate.downgrade(runtime.engine, "base")
        # FusionPBX's table and its rows survive a full downgrade
        assert (
            await conn.fetchval("SELECT domain_name FROM v_domains WHERE domain_uuid = $1", domain) == "pbx.example.com"
        )
        assert not set(TENANT_TABLES) & await _tables(url)
    finally:
        await conn.close()


@pytest.fixture
async def limited_database(pg: PgServer) -> str:
    """A database owned by a role that is not a superuser: it cannot create the vector extension."""
    role = f"limited_{uuid.uuid4().hex[:8]}"
    await pg.admin(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
    name = f"t_{uuid.uuid4().hex[:12]}"
    await pg.admin(f"CREATE DATABASE {name} OWNER {role}")
    return pg.url(name, user=role)


async def test_missing_pgvector_stops_with_instructions(limited_database: str, tmp_path: Path) -> None:
    with pytest.raises(migrate.PgvectorMissingError) as info:
        await Runtime(make_settings(tmp_path, limited_database)).start()
    message = str(info.value)
    assert "CREATE EXTENSION vector" in message
    assert "superuser" in message
    assert not set(TENANT_TABLES) & await _tables(limited_database)  # nothing half-created


def test_cli_reports_missing_pgvector(limited_database: str, tmp_path: Path) -> None:
    result = run_cli(
        "db", "upgrade", env=cli_env(VOICE_AI_DATABASE_URL=limited_database, VOICE_AI_DATA_DIR=str(tmp_path))
    )
    assert result.returncode == 1
    assert "error: pgvector is installed but this database role cannot create" in result.stderr
    assert "Traceback" not in result.stderr


async def test_extension_created_once_by_a_superuser_is_enough(
    limited_database: str, pg: PgServer, tmp_path: Path
) -> None:
    database = urlparse(limited_database).path.lstrip("/")
    conn = await asyncpg.connect(pg.url(database))
    try:
        await conn.execute("CREATE EXTENSION vector")
    finally:
        await conn.close()
    async with Runtime(make_settings(tmp_path, limited_database)) as runtime, runtime.engine.connect() as c:
        assert await migrate.current_revision(c) == migrate.head_revision()
