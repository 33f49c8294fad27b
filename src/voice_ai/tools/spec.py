"""A tool as a call turn sees it, and the rules its definition must follow (shared by the API and the turn)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

# Function names every vendor accepts (OpenAI and Anthropic: [a-zA-Z0-9_-]{1,64}; Gemini: starts with a letter or
# an underscore): the intersection, without dashes.
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
RESERVED_NAMES = frozenset({"respond"})  # the structured decision's own tool (Anthropic, Gemini)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_SCHEMA_BYTES = 16 * 1024
DEFAULT_TIMEOUT_S = 3.0
MAX_TIMEOUT_S = 8.0  # a call turn has 10 s in all by default: a tool never gets more than this
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024
MAX_RESPONSE_BYTES = 256 * 1024
# headers the executor sets itself (the pinned address's Host, the body's length and type)
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "content-type"})
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")


@dataclass(frozen=True)
class ToolSpec:
    """One enabled tool of the tenant, ready to call: ``headers`` hold the decrypted values (never log them)."""

    name: str
    description: str
    parameters: dict[str, Any]
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def declaration(self) -> dict[str, Any]:
        """Name, description and JSON-schema parameters: what every vendor's function declaration is made of."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def check_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's parameters: a valid JSON schema (draft 2020-12) of an object, small. Raises ValueError saying why."""
    if len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise ValueError(f"larger than {MAX_SCHEMA_BYTES // 1024} KiB")
    if schema.get("type") != "object":
        raise ValueError('must describe an object: {"type": "object", "properties": {...}}')
    if not isinstance(schema.get("properties", {}), dict):
        raise ValueError("properties must be an object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        raise ValueError(f"not a valid JSON schema at {where}: {exc.message}") from None
    return schema


def check_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """Header names must be HTTP tokens and not the ones the executor sets; values are strings without newlines."""
    if len(headers) > 20:
        raise ValueError("at most 20 headers")
    for name, value in headers.items():
        if not HEADER_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
        if name.lower() in FORBIDDEN_HEADERS:
            raise ValueError(f"{name} is set by the service itself")
        if value is not None and (not isinstance(value, str) or len(value) > 4000 or "\n" in value or "\r" in value):
            raise ValueError(f"the value of {name} must be one line of text (at most 4000 characters)")
    return headers
