"""One HTTP call of a tool, bounded: a time limit (the tool's own, within what the call turn has left), a response
size limit (read as it arrives; a larger answer is refused, not cut), the checked address (:mod:`.urls`), no
redirects, no proxy from the environment.

Arguments: ``{name}`` placeholders in the URL are filled from the arguments of the same name (percent-encoded);
the rest go in the query string for GET and DELETE, and as the JSON body for POST, PUT and PATCH.

Every outcome is a :class:`ToolResult` (never an exception): a failure becomes words the model can act on
(``{"error": ...}``) and an entry in the turn's log.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from voice_ai.tools.spec import ToolSpec
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


def build(spec: ToolSpec, arguments: dict[str, Any]) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """(URL with placeholders filled, query parameters, JSON body)."""
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in arguments:
            return match.group(0)
        used.add(name)
        return quote(_scalar(arguments[name]), safe="")

    url = PLACEHOLDER.sub(fill, spec.url)
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
    url, params, body = build(spec, arguments)
    try:
        target = await pin(url, allow)
    except URLRefused as exc:
        return done(ToolResult(False, _error("the tool's address is not allowed"), error=str(exc)))
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
                return done(_too_large(response.status_code, spec))
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > spec.max_response_bytes:
                    return done(_too_large(response.status_code, spec))
    except httpx.TimeoutException:
        return done(ToolResult(False, _error("the tool did not answer in time"), error=f"timeout after {limit:.3g} s"))
    except httpx.HTTPError as exc:
        return done(ToolResult(False, _error("the tool could not be reached"), error=type(exc).__name__))
    text = data.decode(response.encoding or "utf-8", errors="replace")
    status = response.status_code
    if 300 <= status < 400:
        return done(ToolResult(False, _error("the tool answered with a redirect"), status, f"HTTP {status}"))
    if status >= 400:
        return done(
            ToolResult(False, _error("the tool failed", status=status, body=text[:500]), status, f"HTTP {status}")
        )
    return done(ToolResult(True, text or "{}", status, size=len(data)))


def _too_large(status: int, spec: ToolSpec) -> ToolResult:
    return ToolResult(
        False,
        _error("the tool's answer was too large"),
        status,
        f"response over {spec.max_response_bytes} bytes",
    )
