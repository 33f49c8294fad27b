"""Async engine and session factory. Built by the runtime at start-up, never at import time.

The pool is bounded in size and in waiting time: a call turn (or start) waits for a free connection only as long
as it can still answer within its deadline, any other request ``VOICE_AI_DB_POOL_TIMEOUT_S``; past that it fails
fast (503, see :mod:`voice_ai.core.unavailable`) instead of queueing for half a minute. Connection failures — the
server down, restarting, refusing connections, or a connection lost mid-query — surface as
:class:`~voice_ai.core.unavailable.DatabaseUnavailableError`, never as a raw ``OSError`` (which asyncpg raises on
connect and which would otherwise escape every handler as a plain-text 500).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from voice_ai.core.unavailable import DatabaseUnavailableError, OverCapacityError

logger = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10
MIN_WAIT_S = 0.01
# SQLSTATE classes that mean "the server cannot serve now": connection exceptions, operator intervention
# (shutdown, restart, crash recovery), too many connections, out of memory/disk
_UNAVAILABLE_SQLSTATES = ("08", "57P", "53")
_LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout (a call turn waits for its call's row lock only as long as it can)
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


_wait_until: ContextVar[float | None] = ContextVar("voice_ai_pool_wait_until", default=None)


@contextmanager
def pool_wait_until(deadline: float) -> Iterator[None]:
    """Checkouts in this block (this task and those it starts) may wait for a free connection until ``deadline``
    (a ``time.monotonic()`` value) instead of the pool's fixed timeout: a call turn waits as long as it can still
    answer in time, and no longer."""
    token = _wait_until.set(deadline)
    try:
        yield
    finally:
        _wait_until.reset(token)


class ObservedPool(AsyncAdaptedQueuePool):
    """The asyncio queue pool, counting the checkouts in progress (waiting for a connection) for ``/metrics``, with
    the wait bounded by the caller's deadline when it set one (:func:`pool_wait_until`)."""

    waiting = 0
    default_timeout: float | None = None

    def _do_get(self) -> Any:
        if self.default_timeout is None:
            self.default_timeout = self._timeout
        until = _wait_until.get()
        # QueuePool reads ``_timeout`` when the checkout starts, before it waits (the event loop is single-threaded)
        self._timeout = self.default_timeout if until is None else max(until - time.monotonic(), MIN_WAIT_S)
        self.waiting += 1
        try:
            return super()._do_get()
        finally:
            self.waiting -= 1


def pool_state(engine: AsyncEngine) -> dict[str, int]:
    """Size, connections in use, overflow in use, checkouts waiting, and the most connections it may open."""
    pool = engine.sync_engine.pool
    if not isinstance(pool, ObservedPool):
        return {}
    return {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "overflow": max(pool.overflow(), 0),
        "waiting": pool.waiting,
        "capacity": pool.size() + max(pool._max_overflow, 0),
    }


def _sqlstate(exc: BaseException | None) -> str:
    while exc is not None:
        state = getattr(exc, "sqlstate", None)
        if isinstance(state, str):
            return state
        exc = exc.__cause__
    return ""


def _report_unavailability(engine: AsyncEngine) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:  # refused, no socket, timed out, shutting down, too many connections, auth
            logger.error("cannot connect to PostgreSQL: %s: %s", type(exc).__name__, exc)
            raise DatabaseUnavailableError(
                f"the database is unavailable ({type(exc).__name__}); see the service log"
            ) from exc

    @event.listens_for(sync, "handle_error")
    def _lost(context: ExceptionContext) -> BaseException | None:
        if context.is_pre_ping:
            return None  # the pool reconnects by itself (and reports a failure to do so through do_connect)
        state = _sqlstate(context.original_exception)
        if context.is_disconnect or state.startswith(_UNAVAILABLE_SQLSTATES):
            logger.error("database connection lost: %s", context.original_exception)
            return DatabaseUnavailableError("the database connection was lost; see the service log")
        if state == _LOCK_NOT_AVAILABLE:  # a lock_timeout ran out: busy, not broken
            logger.warning("a row lock was not free in time: %s", context.original_exception)
            return OverCapacityError("the service is over capacity (a row lock was not free in time); try again")
        return None


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout_s: float = 30.0,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> AsyncEngine:
    engine = create_async_engine(
        normalize_url(url),
        poolclass=ObservedPool,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_timeout=pool_timeout_s,
        pool_pre_ping=True,
        connect_args={"timeout": connect_timeout_s},
    )
    _report_unavailability(engine)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
