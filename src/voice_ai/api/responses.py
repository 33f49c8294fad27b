"""The error answers routes give, declared once for the OpenAPI document (routers and routes pick the codes).

Every error body is ``{"detail": "<message>"}``, except 422: ``{"detail": [field errors], "message": "<summary>"}``
(``core.errors`` makes every 422 that shape, whatever raised it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    detail: str = Field(description="What went wrong, in words a person can act on")


class FieldErrorItem(BaseModel):
    loc: list[str | int] = Field(description='Where: e.g. ["body", "max_turns"] or ["query", "limit"]')
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: list[FieldErrorItem]
    message: str = Field(description="All field errors in one line")


DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be done as asked (e.g. a provider refused it)",
    403: "Not allowed on this server (e.g. creating a domain in FusionPBX mode)",
    404: "Not found — or another tenant's, which is the same to this tenant",
    409: "Conflicts with what exists (a duplicate)",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input: one error per field",
    429: "Over a rate limit; see Retry-After",
    502: "Every provider failed (who failed and why, no secrets)",
    503: "Not ready or unavailable (database, capacity); retry later",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a router or a route: the given error codes with their body schemas."""
    return {
        code: {"model": ValidationErrorBody if code == 422 else ErrorBody, "description": DESCRIPTIONS[code]}
        for code in codes
    }
