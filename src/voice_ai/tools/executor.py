"""One HTTP call of a tool, bounded: a time limit (the tool's own, within what the call turn has left), a response
size limit (read as it arrives; a larger answer is refused, not cut), the checked address (:mod:`.urls`), no
redirects, no proxy from the environment.

Arguments: ``{name}`` placeholders in the URL are filled from the arguments of the same name (percent-encoded);
the rest go in the query string for GET and DELETE, and as the JSON body for POST, PUT and PATCH.

Every outcome is a :class:`ToolResult` (never an exception): a failure becomes words the model can act on
(``{"error": ...}``) and an entry in the turn's log. What comes back never holds the tool's header values: every
form of them (:func:`~voice_ai.tools.spec.secret_forms`) is replaced in the response before anyone (the model, the
admin's *Test*, a log) reads it — an echo service cannot read a key back.

The time limit is one deadline for the whole call (resolving the host, connecting, sending, reading the body):
httpx's own timeouts apply per operation, so a server dripping a byte a second would otherwise never time out.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from voice_ai.tools.spec import ToolSpec, scrub
from voice_ai.tools.urls import Network, URLRefused, pin

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (httpx's default: certificates verified against certifi's CAs) for every call: building one
    costs ~25 ms of CPU, which a client per call would otherwise pay each time."""
    return httpx.create_ssl_context(trust_env=False)


MIN_TIMEOUT_S = 0.2  # below this a call is not even started
USER_AGENT = "voice-ai-ivr-tools/1"


@dataclass
class ToolResult:
    ok: bool
    content: str  # what the model reads: the response body, or a JSON error
    status: int | None = None
    error: str | None = None  # short, for the log (never a header value)
    ms: float = 0.0
    size: int = 0


def _error(message: str, *, status: int | None = None, body: str = "") -> str:
    payload: dict[str, Any] = {"error": message}
    if status is not None:
        payload["status"] = status
    if body:
        payload["body"] = body
    return json.dumps(payload, ensure_ascii=False)


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _authority_end(url: str) -> int:
    """Where the URL's scheme and authority (``scheme://user@host:port``) end: its path, query or fragment start."""
    start = url.find("://")
    start = 0 if start < 0 else start + 3
    ends = [i for i in (url.find(c, start) for c in "/?#") if i >= 0]
    return min(ends, default=len(url))


def _dot_segments(url: str) -> int:
    path = url[_authority_end(url) :].split("?", 1)[0].split("#", 1)[0]
    return sum(1 for seg in path.split("/") if seg.lower().replace("%2e", ".") in (".", ".."))


def placeholder_in_authority(url: str) -> str | None:
    """The first ``{name}`` placeholder in the URL's scheme, host or port (None when all are in the path/query)."""
    end = _authority_end(url)
    return next((m.group(1) for m in PLACEHOLDER.finditer(url) if m.start() < end), None)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL template (placeholders in its path do not matter)."""
    parsed = httpx.URL(PLACEHOLDER.sub("x", url))
    return parsed.scheme, parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)


def build(spec: ToolSpec, arguments: dict[str, Any]) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """(URL with placeholders filled, query parameters, JSON body). Raises URLRefused when an argument would change
    where the request goes: a placeholder only fills its own path segment or query value (percent-encoded, ``/``
    included), never the scheme, host or port, and never a ``.`` or ``..`` segment (which would move up the path)."""
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in arguments:
            return match.group(0)
        used.add(name)
        value = _scalar(arguments[name])
        if value in (".", ".."):
            raise URLRefused(f"the argument {name} cannot be {value!r} (a path segment)")
        return quote(value, safe="")

    if placeholder_in_authority(spec.url) is not None:
        raise URLRefused("placeholders are only allowed in the URL's path and query")
    url = PLACEHOLDER.sub(fill, spec.url)
    try:
        moved = origin(url) != origin(spec.url)
    except (httpx.InvalidURL, TypeError, ValueError):
        moved = True
    if moved or _dot_segments(url) > _dot_segments(spec.url):
        raise URLRefused("the arguments would change where the request goes")
    rest = {k: v for k, v in arguments.items() if k not in used}
    if spec.method in ("GET", "DELETE"):
        return url, {k: _scalar(v) for k, v in rest.items() if v is not None} or None, None
    return url, None, rest


async def execute(
    spec: ToolSpec, arguments: dict[str, Any], *, allow: tuple[Network, ...], time_left: float | None = None
) -> ToolResult:
    """Call the tool once. ``time_left``: what the call turn can still give it (None: only the tool's timeout)."""
    started = time.perf_counter()

    def done(result: ToolResult) -> ToolResult:
        result.ms = round((time.perf_counter() - started) * 1000, 1)
        return result

    limit = spec.timeout_s if time_left is None else min(spec.timeout_s, time_left)
    if limit < MIN_TIMEOUT_S:
        return done(ToolResult(False, _error("no time left in this call turn"), error="no time left"))
    try:
        async with asyncio.timeout(limit):
            return done(await _call(spec, arguments, allow, limit))
    except TimeoutError:
        return done(ToolResult(False, _error("the tool did not answer in time"), error=f"timeout after {limit:.3g} s"))


async def _call(spec: ToolSpec, arguments: dict[str, Any], allow: tuple[Network, ...], limit: float) -> ToolResult:
    try:
        url, params, body = build(spec, arguments)
        target = await pin(url, allow)
    except URLRefused as exc:
        return ToolResult(False, _error("the tool's address is not allowed"), error=str(exc))
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, text/plain;q=0.9", **spec.headers}
    headers["Host"] = target.host_header
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    timeout = httpx.Timeout(limit, connect=min(limit, 3.0))
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls()) as client,
            client.stream(
                spec.method, target.url, params=params, json=body, headers=headers, extensions=extensions
            ) as response,
        ):
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > spec.max_response_bytes:
                return _too_large(response.status_code, spec)
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > spec.max_response_bytes:
                    return _too_large(response.status_code, spec)
    except httpx.TimeoutException:
        return ToolResult(False, _error("the tool did not answer in time"), error=f"timeout after {limit:.3g} s")
    except httpx.HTTPError as exc:
        return ToolResult(False, _error("the tool could not be reached"), error=type(exc).__name__)
    text = scrub(data.decode(response.encoding or "utf-8", errors="replace"), spec.headers)
    status = response.status_code
    if 300 <= status < 400:
        return ToolResult(False, _error("the tool answered with a redirect"), status, f"HTTP {status}")
    if status >= 400:
        return ToolResult(False, _error("the tool failed", status=status, body=text[:500]), status, f"HTTP {status}")
    return ToolResult(True, text or "{}", status, size=len(data))


def _too_large(status: int, spec: ToolSpec) -> ToolResult:
    return ToolResult(
        False,
        _error("the tool's answer was too large"),
        status,
        f"response over {spec.max_response_bytes} bytes",
    )
