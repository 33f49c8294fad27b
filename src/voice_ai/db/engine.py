"""Async engine and session factory. Built by the runtime at start-up, never at import time."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

CONNECT_TIMEOUT_S = 10
_SSLMODE_TO_ASYNCPG = {
    "disable": "disable",
    "allow": "allow",
    "prefer": "prefer",
    "require": "require",
    "verify-ca": "verify-ca",
    "verify-full": "verify-full",
}


def normalize_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``, libpq ``sslmode=``) and return
    one for SQLAlchemy's asyncpg dialect."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}: use postgresql://")
    query = dict(parsed.query)
    sslmode = query.pop("sslmode", None)
    if isinstance(sslmode, str) and sslmode in _SSLMODE_TO_ASYNCPG:
        query["ssl"] = _SSLMODE_TO_ASYNCPG[sslmode]
    return parsed.set(query=query).render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(normalize_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
