"""A tenant's HTTP tools as the API sees them (``/api/v1/domains/{domain_uuid}/tools``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from voice_ai.schemas.common import ORMModel, Strict
from voice_ai.tools.executor import PLACEHOLDER, placeholder_in_authority
from voice_ai.tools.spec import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT_S,
    MAX_RESPONSE_BYTES,
    MAX_TIMEOUT_S,
    NAME_PATTERN,
    RESERVED_NAMES,
    check_headers,
    check_parameters,
)
from voice_ai.tools.urls import URLRefused, check_url

ToolName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=NAME_PATTERN)]
ToolDescription = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
ToolURL = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


def _name(value: str | None) -> str | None:
    if value is not None and value.lower() in RESERVED_NAMES:
        raise ValueError(f"{value!r} is reserved")
    return value


def _url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        check_url(value)
    except URLRefused as exc:
        raise ValueError(str(exc)) from None
    return value


def _parameters(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else check_parameters(value)


def _headers(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else check_headers(value)


class _ToolFields(Strict):
    voice_secretary_uuid: uuid.UUID | None = Field(
        default=None, description="Limit the tool to one secretary; null: every secretary of the domain."
    )
    method: Method = "GET"
    timeout_s: float = Field(
        default=DEFAULT_TIMEOUT_S, gt=0, le=MAX_TIMEOUT_S, description="Per call; also cut to what the turn has left."
    )
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=256, le=MAX_RESPONSE_BYTES)
    enabled: bool = True

    # the fields below are declared by the create and update bodies (required there, optional here)
    @field_validator("name", check_fields=False)
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        return _name(value)

    @field_validator("url", check_fields=False)
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _url(value)

    @field_validator("parameters", check_fields=False)
    @classmethod
    def _check_parameters(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _parameters(value)

    @field_validator("headers", check_fields=False)
    @classmethod
    def _check_headers(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _headers(value)


class ToolCreate(_ToolFields):
    name: ToolName = Field(description="The function name the model sees: letters, digits, underscores.")
    description: ToolDescription = Field(description="When the model should call it (the model reads this).")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON schema (draft 2020-12) of the arguments: an object.",
    )
    url: ToolURL = Field(description="http(s) URL; {name} placeholders are filled from the arguments.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Sent with every call; values are stored encrypted and shown masked."
    )


class ToolUpdate(_ToolFields):
    """Partial update. ``headers`` is a merge patch: a header sent replaces, ``null`` removes, an omitted one is
    kept, and a masked value sent back unchanged keeps the stored secret."""

    name: ToolName | None = None
    description: ToolDescription | None = None
    parameters: dict[str, Any] | None = None
    url: ToolURL | None = None
    headers: dict[str, str | None] | None = None


def check_placeholders(url: str, parameters: dict[str, Any]) -> None:
    """Every ``{name}`` in the URL must be a parameter (else the model could never fill it), in the path or the query:
    the scheme, host and port are the tenant's, never the caller's (the headers' secrets go there)."""
    inside = placeholder_in_authority(url)
    if inside is not None:
        raise ValueError(
            f"the placeholder {{{inside}}} is in the URL's scheme, host or port: placeholders are only allowed in "
            "its path and query"
        )
    names = set(parameters.get("properties") or {})
    missing = [m.group(1) for m in PLACEHOLDER.finditer(url) if m.group(1) not in names]
    if missing:
        raise ValueError(f"the URL's placeholder {{{missing[0]}}} is not one of the parameters")


class ToolPublic(ORMModel):
    voice_tool_uuid: uuid.UUID
    domain_uuid: uuid.UUID
    voice_secretary_uuid: uuid.UUID | None
    name: str
    description: str
    parameters: dict[str, Any]
    url: str
    method: str
    headers: dict[str, Any] = Field(description="Values masked.")
    timeout_s: float
    max_response_bytes: int
    enabled: bool
    insert_date: datetime
    update_date: datetime
