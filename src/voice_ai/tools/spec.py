"""A tool as a call turn sees it, and the rules its definition must follow (shared by the API and the turn)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

# Function names every vendor accepts (OpenAI and Anthropic: [a-zA-Z0-9_-]{1,64}; Gemini: starts with a letter or
# an underscore): the intersection, without dashes.
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
RESERVED_NAMES = frozenset({"respond"})  # the structured decision's own tool (Anthropic, Gemini)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_SCHEMA_BYTES = 16 * 1024
MAX_SCHEMA_DEPTH = 16  # nested subschemas, a $ref counting as one level (bounds the validator's recursion)
MAX_SCHEMA_NODES = 2000  # subschemas once every $ref is expanded: bounds the work of one validation
# Keywords refused in a tool's parameters: they run a regular expression (Python's ``re``, backtracking) on arguments
# the caller can steer through the model — "^(a|aa)*$" takes exponential time — or resolve references in ways a
# save-time check cannot bound. ``format`` is refused only for the values that compile the argument as a regex.
REFUSED_KEYWORDS = {
    "pattern": "regular expressions are not supported (they could freeze the service); use enum, minLength/maxLength "
    "or describe the form in the description",
    "patternProperties": "regular expressions are not supported (they could freeze the service); use properties",
    "$dynamicRef": "only local references (#/...) are supported",
    "$recursiveRef": "only local references (#/...) are supported",
    "$id": "not supported (it changes how references resolve)",
    "$anchor": "not supported: refer to a definition as #/$defs/<name>",
    "$dynamicAnchor": "not supported: refer to a definition as #/$defs/<name>",
}
REFUSED_FORMATS = frozenset({"regex"})
# keywords whose value is one subschema / a list of subschemas / an object of named subschemas (draft 2020-12)
_SCHEMA_KEYWORDS = frozenset(
    {"items", "additionalItems", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
     "unevaluatedItems", "unevaluatedProperties"}
)  # fmt: skip
_LIST_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
_MAP_KEYWORDS = frozenset({"properties", "$defs", "definitions", "dependentSchemas", "dependencies"})
DEFAULT_TIMEOUT_S = 3.0
MAX_TIMEOUT_S = 8.0  # a call turn has 10 s in all by default: a tool never gets more than this
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024
MAX_RESPONSE_BYTES = 256 * 1024
# headers the executor sets itself (the pinned address's Host, the body's length and type)
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "content-type"})
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")


MIN_REDACTED_LEN = 6  # shorter header values ("pt-BR", "42") are not secrets worth mangling a response for
REDACTED = "[REDACTED]"
_AUTH_SCHEME = re.compile(r"^(?:bearer|basic|token|apikey|api-key|digest)\s+(\S.*)$", re.IGNORECASE)


def _b64(data: bytes) -> list[str]:
    plain = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    return [plain, plain.rstrip("="), url, url.rstrip("=")]


def secret_forms(value: str) -> set[str]:
    """The ways a header value may come back in a response or an error text: as it is, its credential without the
    scheme (``Bearer X`` → ``X``; ``Basic`` decoded to ``user:password`` and the password), percent-encoded,
    JSON-escaped and base64 (standard and URL-safe)."""
    forms = {value}
    scheme = _AUTH_SCHEME.match(value)
    if scheme:
        credential = scheme.group(1).strip()
        forms.add(credential)
        try:
            decoded = base64.b64decode(credential, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if decoded:
            forms.update({decoded, decoded.split(":", 1)[-1]})
    for form in list(forms):
        forms.update({quote(form, safe=""), json.dumps(form, ensure_ascii=False)[1:-1], *_b64(form.encode())})
    return {form for form in forms if len(form) >= MIN_REDACTED_LEN}


def scrub(text: str, secrets: dict[str, str]) -> str:
    """``text`` without any form (:func:`secret_forms`) of the given header values, longest first."""
    forms = sorted({f for value in secrets.values() for f in secret_forms(value)}, key=len, reverse=True)
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text


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
    """A tool's parameters: a valid JSON schema (draft 2020-12) of an object, small, whose validation is bounded:
    no regular expressions, only local ``$ref`` that resolve and do not recurse, bounded depth and expanded size.
    Raises ValueError saying why and where."""
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
    _Bounded(schema).walk(schema, (), 0)
    return schema


def _where(path: tuple[str, ...]) -> str:
    return "/".join(path) or "(root)"


def _pointer(root: Any, ref: str, at: tuple[str, ...]) -> tuple[tuple[str, ...], Any]:
    """A local reference (``#`` or ``#/a/b``: a JSON pointer into the parameters) and what it points to."""
    if ref != "#" and not ref.startswith("#/"):
        raise ValueError(f"at {_where(at)}: $ref {ref!r}: only local references (#/...) are supported")
    path: tuple[str, ...] = ()
    node = root
    for raw in ref[2:].split("/") if ref != "#" else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise ValueError(f"at {_where(at)}: $ref {ref!r} does not resolve")
        path += (token,)
    return path, node


class _Bounded:
    """The walk of :func:`check_parameters`: every subschema, references followed (so that what a ``$ref`` points
    to obeys the same rules, wherever it is), counting the expanded size."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.expanding: set[tuple[str, ...]] = set()
        self.sizes: dict[tuple[str, ...], int] = {}
        self.total = 0

    def walk(self, node: Any, path: tuple[str, ...], depth: int) -> int:
        if not isinstance(node, dict):
            return 1  # a boolean schema
        if depth > MAX_SCHEMA_DEPTH:
            raise ValueError(f"at {_where(path)}: nested deeper than {MAX_SCHEMA_DEPTH} levels")
        size = 1
        for key, value in node.items():
            if key in REFUSED_KEYWORDS:
                raise ValueError(f"at {_where(path)}: {key!r} is refused: {REFUSED_KEYWORDS[key]}")
            if key == "format" and value in REFUSED_FORMATS:
                raise ValueError(
                    f"at {_where(path)}: format {value!r} is refused: regular expressions are not supported"
                )
            if key == "$ref":
                size += self._ref(value, path, depth)
            elif key in _MAP_KEYWORDS and isinstance(value, dict):
                for name, sub in value.items():
                    size += self.walk(sub, (*path, key, name), depth + 1)
            elif key in _LIST_KEYWORDS and isinstance(value, list):
                for index, sub in enumerate(value):
                    size += self.walk(sub, (*path, key, str(index)), depth + 1)
            elif key in _SCHEMA_KEYWORDS:
                size += self.walk(value, (*path, key), depth + 1)
        self.total += 1
        if self.total > MAX_SCHEMA_NODES:
            raise ValueError(f"too large once its references are expanded (over {MAX_SCHEMA_NODES} subschemas)")
        return size

    def _ref(self, ref: Any, at: tuple[str, ...], depth: int) -> int:
        if not isinstance(ref, str):
            raise ValueError(f"at {_where(at)}: $ref must be a string")
        target, node = _pointer(self.root, ref, at)
        if target in self.sizes:
            self.total += self.sizes[target]
            if self.total > MAX_SCHEMA_NODES:
                raise ValueError(f"too large once its references are expanded (over {MAX_SCHEMA_NODES} subschemas)")
            return self.sizes[target]
        if target in self.expanding or target == at[: len(target)]:
            raise ValueError(f"at {_where(at)}: $ref {ref!r} is recursive (not supported)")
        self.expanding.add(target)
        size = self.walk(node, target, depth + 1)
        self.expanding.discard(target)
        self.sizes[target] = size
        return size


def argument_problem(schema: dict[str, Any], arguments: Any) -> tuple[list[str], str] | None:
    """The first problem of ``arguments`` against a tool's parameters, as (path, message); None when valid.

    A stored schema that does not pass :func:`check_parameters` (saved before a rule existed) or that cannot be
    applied is itself the problem: nothing runs a refused keyword."""
    try:
        check_parameters(schema)
        problems = sorted(Draft202012Validator(schema).iter_errors(arguments), key=lambda e: list(e.path))
    except (ValueError, Unresolvable, RecursionError) as exc:
        return [], f"the tool's parameters cannot be checked: {exc}; fix the tool's definition"
    if not problems:
        return None
    return [str(p) for p in problems[0].path], problems[0].message


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
