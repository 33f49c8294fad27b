"""Errors with a message a person can act on, and their HTTP mapping.

All error bodies share FastAPI's shape: ``{"detail": "<message>"}`` or, for field errors,
``{"detail": [{"loc": [...], "msg": "...", "type": "..."}], "message": "<summary>"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from voice_ai.core.crypto import SecretKeyError

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ServiceError):
    """A missing object, or another tenant's (the two are indistinguishable on purpose)."""

    status_code = 404

    def __init__(self, noun: str) -> None:
        super().__init__(f"{noun} not found")


class ConflictError(ServiceError):
    status_code = 409


class ForbiddenError(ServiceError):
    status_code = 403


class FieldError(ServiceError):
    """A body field that parses but is not acceptable (e.g. a reference to an unknown provider)."""

    status_code = 422

    def __init__(self, field: str, message: str, kind: str = "value_error") -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.kind, self.field_message = field, kind, message


def _summary(errors: Sequence[Any]) -> str:
    parts = []
    for err in errors:
        if err.get("type") == "json_invalid":
            parts.append("the request body is not valid JSON")
            continue
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        parts.append(f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        if isinstance(exc, FieldError):
            detail = [{"loc": ["body", exc.field], "msg": exc.field_message, "type": exc.kind}]
            return JSONResponse({"detail": detail, "message": exc.message}, status_code=422)
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    @app.exception_handler(SecretKeyError)
    async def _secret_key_error(_: Request, exc: SecretKeyError) -> JSONResponse:
        logger.error("%s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in err.items() if k in ("loc", "msg", "type")} for err in exc.errors()]
        return JSONResponse({"detail": errors, "message": _summary(errors)}, status_code=422)
