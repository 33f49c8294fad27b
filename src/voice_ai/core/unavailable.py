"""503 answers: the database is unreachable, or the service is past its capacity.

The FreeSWITCH script acts on any 5xx at once (apology, then the operator), so these must be fast and clear:
JSON ``{"detail": "...", "message": "..."}`` with ``Retry-After``, never a plain-text 500 or a 30-second wait.
The database engine raises :class:`DatabaseUnavailableError` for connection failures (see
:func:`voice_ai.db.engine.create_engine`); a pool that has no connection free within ``VOICE_AI_DB_POOL_TIMEOUT_S``
raises SQLAlchemy's ``TimeoutError``, answered here as "over capacity".
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from voice_ai.core.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_S = 5
CAPACITY_RETRY_AFTER_S = 2
UNAVAILABLE = Counter("voice_ai_unavailable_responses", "503 answers given, by reason (database, capacity)", ["reason"])


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database cannot be reached (down, restarting, refusing connections, connection lost)."""

    reason = "database"

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=DATABASE_RETRY_AFTER_S)


class OverCapacityError(ServiceUnavailableError):
    reason = "capacity"

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=CAPACITY_RETRY_AFTER_S)


def _answer(exc: ServiceUnavailableError) -> JSONResponse:
    UNAVAILABLE.labels(exc.reason).inc()
    return JSONResponse(
        {"detail": exc.message, "message": exc.message}, status_code=exc.status_code, headers=exc.headers
    )


def install_unavailable_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceUnavailableError)
    async def _unavailable(_: Request, exc: ServiceUnavailableError) -> JSONResponse:
        logger.warning("503: %s", exc.message)
        return _answer(exc)

    @app.exception_handler(PoolTimeoutError)
    async def _pool_exhausted(_: Request, exc: PoolTimeoutError) -> JSONResponse:
        logger.warning("503: no database connection free in time (%s)", exc)
        return _answer(OverCapacityError("the service is over capacity (no database connection free); try again"))
