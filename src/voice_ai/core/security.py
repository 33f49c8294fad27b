"""Exposure rules: loopback by default; anything wider needs a bearer token on every request.

The seed's design is "internal API without auth, localhost only". Binding another address without
``VOICE_AI_API_TOKEN`` would publish an unauthenticated admin API, so the service refuses to start.
"""

from __future__ import annotations

import hmac
import ipaddress
import json

from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC_PATHS = frozenset({"/health"})
MIN_TOKEN_LENGTH = 16


class UnsafeBindError(RuntimeError):
    pass


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_token: str | None) -> None:
    """Raise :class:`UnsafeBindError` when ``host`` is not loopback and no token protects the API."""
    if not is_loopback(host) and api_token and len(api_token) < MIN_TOKEN_LENGTH:
        raise UnsafeBindError(
            f"refusing to listen on {host}: VOICE_AI_API_TOKEN is too short to protect a network-facing API "
            f"(at least {MIN_TOKEN_LENGTH} characters; e.g. `openssl rand -hex 32`)"
        )
    if not is_loopback(host) and not api_token:
        raise UnsafeBindError(
            f"refusing to listen on {host}: without an API token the admin API would be open to the "
            "network. Set VOICE_AI_API_TOKEN to a long random value (e.g. `openssl rand -hex 32`) and send "
            "'Authorization: Bearer <token>', or listen on 127.0.0.1 (the default)."
        )


class BearerTokenMiddleware:
    """Pure ASGI middleware: every HTTP request except ``/health``, and every WebSocket, needs
    ``Authorization: Bearer <token>`` — except the ``public`` paths (exact, or a prefix when it ends in ``/``),
    which carry credentials of their own (the browser console's token)."""

    def __init__(self, app: ASGIApp, token: str, public: tuple[str, ...] = ()) -> None:
        self.app = app
        self._token = token.encode()
        self._public = frozenset(path for path in public if not path.endswith("/"))
        self._public_prefixes = tuple(path for path in public if path.endswith("/"))

    def _is_public(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if scope["type"] == "http" and path in PUBLIC_PATHS:
            return True
        return path in self._public or path.startswith(self._public_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._is_public(scope):
            await self.app(scope, receive, send)
            return
        supplied = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    supplied = credentials.strip()
                break
        if supplied and hmac.compare_digest(supplied, self._token):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "missing or invalid bearer token"})
            return
        body = json.dumps(
            {"detail": "missing or invalid bearer token: send 'Authorization: Bearer <VOICE_AI_API_TOKEN>'"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="voice-ai"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
