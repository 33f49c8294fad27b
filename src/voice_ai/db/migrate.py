"""Schema migrations (Alembic), run programmatically on the service's own async engine.

Concurrent starters (several service instances) serialise on a PostgreSQL advisory lock, so exactly one
of them migrates and the others find the schema at head.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

VERSION_TABLE = "v_voice_ai_alembic_version"
# COMMENT on v_domains when this service created it (standalone); FusionPBX's own table never has it.
STANDALONE_MARKER = "voice_ai standalone: created by migration 0001"
_LOCK_KEY = 0x766F6963  # "voic": an arbitrary constant shared by every instance of this service
_MIGRATIONS = Path(__file__).parent / "migrations"


class MigrationError(RuntimeError):
    """A migration cannot run; the message tells the operator what to do."""


class PgvectorMissingError(MigrationError):
    """The ``vector`` extension is not installed on the server or cannot be created by this role."""


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest revision in the code (cached: the scripts do not change while running)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _command(connection: Connection, action: Literal["upgrade", "downgrade"], revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    getattr(command, action)(cfg, revision)


async def _locked(engine: AsyncEngine, action: Literal["upgrade", "downgrade"], revision: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        await conn.run_sync(_command, action, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _locked(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _locked(engine, "downgrade", revision)


async def current_revision(conn: AsyncConnection) -> str | None:
    """The database's revision (None when no migration ever ran). A plain query: /ready calls it."""
    if await conn.scalar(text("SELECT to_regclass(:t)"), {"t": VERSION_TABLE}) is None:
        return None
    revision = await conn.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608 - constant
    return str(revision) if revision is not None else None
