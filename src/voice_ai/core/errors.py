"""Errors with a message a person can act on, and their HTTP mapping.

All error bodies share FastAPI's shape: ``{"detail": "<message>"}`` or, for field errors,
``{"detail": [{"loc": [...], "msg": "...", "type": "..."}], "message": "<summary>"}``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from voice_ai.core.crypto import SecretKeyError
from voice_ai.core.logging import redact

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class NotFoundError(ServiceError):
    """A missing object, or another tenant's (the two are indistinguishable on purpose)."""

    status_code = 404

    def __init__(self, noun: str) -> None:
        super().__init__(f"{noun} not found")


class ConflictError(ServiceError):
    status_code = 409


class ForbiddenError(ServiceError):
    status_code = 403


class TooManyRequestsError(ServiceError):
    status_code = 429


class ServiceUnavailableError(ServiceError):
    """503: try again later (``Retry-After`` says when). The database and capacity cases are in
    :mod:`voice_ai.core.unavailable`, which also answers these (and counts them by ``reason``)."""

    status_code = 503
    reason = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class FieldError(ServiceError):
    """A body field that parses but is not acceptable (e.g. a reference to an unknown provider).
    ``field`` may be dotted (``config.api_key``); ``more`` adds further (field, message) pairs."""

    status_code = 422

    def __init__(
        self, field: str, message: str, kind: str = "value_error", more: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.errors = [(field, message), *more]
        super().__init__("; ".join(f"{f}: {m}" for f, m in self.errors))
        self.field, self.kind, self.field_message = field, kind, message


def _summary(errors: Sequence[Any]) -> str:
    parts = []
    for err in errors:
        if err.get("type") == "json_invalid":
            parts.append("the request body is not valid JSON")
            continue
        loc = [str(p) for p in err.get("loc", ())]
        loc = loc[1:] if loc[:1] in (["body"], ["query"], ["path"], ["header"], ["cookie"]) else loc
        parts.append(f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _data_error_reason(message: str) -> str:
    first = message.splitlines()[0] if message else "rejected by the database"
    if first.startswith("invalid input for query argument"):
        # asyncpg quotes the offending value here; keep only its reason, e.g. "date value out of range"
        found = re.search(r"\(([^()]*)\)\s*$", first)
        return found.group(1) if found else "a value is out of range"
    return redact(first)


def _unprocessable(message: str, loc: Sequence[str] = ("body",)) -> JSONResponse:
    """Every 422 has the field-error shape the OpenAPI document promises, whatever raised it."""
    return JSONResponse(
        {"detail": [{"loc": list(loc), "msg": message, "type": "value_error"}], "message": message}, status_code=422
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's own 405 lists one route's)."""
    methods = [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in request.app.router.routes
        )
    ]
    return methods


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        # every error text leaves redacted: provider errors may quote a vendor that repeated a key
        if isinstance(exc, FieldError):
            detail = [
                {"loc": ["body", *field.split(".")], "msg": redact(message), "type": exc.kind}
                for field, message in exc.errors
            ]
            return JSONResponse({"detail": detail, "message": redact(exc.message)}, status_code=422)
        if exc.status_code == 422:
            return _unprocessable(redact(exc.message))
        return JSONResponse({"detail": redact(exc.message)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:  # Starlette names only the first matching route's methods
            allowed = _allowed_methods(request)
            return JSONResponse(
                {"detail": f"method {request.method} not allowed here; use {', '.join(allowed)}"},
                status_code=405,
                headers={"Allow": ", ".join(allowed)},
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(DBAPIError)
    async def _database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        cause = getattr(exc.orig, "__cause__", None)
        if isinstance(cause, asyncpg.exceptions.DataError):
            # A value pydantic accepted but PostgreSQL cannot store or compare (a NUL byte, an out-of-range
            # number or date): the client's mistake, so a 422 in PostgreSQL's words, never a 500.
            return _unprocessable(f"invalid value: {_data_error_reason(str(cause))}")
        logger.error("database error: %s", type(cause or exc.orig).__name__, exc_info=exc)
        return JSONResponse({"detail": "internal database error; see the service log"}, status_code=500)

    @app.exception_handler(SecretKeyError)
    async def _secret_key_error(_: Request, exc: SecretKeyError) -> JSONResponse:
        logger.error("%s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in err.items() if k in ("loc", "msg", "type")} for err in exc.errors()]
        return JSONResponse({"detail": errors, "message": _summary(errors)}, status_code=422)
