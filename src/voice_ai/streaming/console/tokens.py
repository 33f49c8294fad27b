"""Console tokens: short-lived, secretary-scoped credentials for the browser console.

The FusionPBX app (or any admin holding the API key) asks ``POST /api/v1/domains/{domain}/secretaries/{id}/console-token``
and sends the browser to ``/console?token=…``; the page opens ``/api/v1/stream/console?token=…`` with it. The
browser never sees the API key, and a token can do one thing only: talk to that one secretary of that one tenant
until it expires (the tenant and the secretary come from the token, never from the request).

A token is a Fernet token (``cryptography``: AES-CBC + HMAC-SHA256, with its creation time) over a small JSON
claim, under a key derived with HKDF from the service's secret key(s) for this purpose only — a console token can
never be confused with a secret stored at rest, and several instances sharing ``VOICE_AI_SECRET_KEY`` accept each
other's tokens. Rotation works as for secrets: the first key signs, every key verifies. A token is checked when
the page loads and when the WebSocket opens; a console session already open is not cut when its token expires.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from voice_ai.core.config import Settings
from voice_ai.core.crypto import load_or_create_key_file

AUDIENCE = "voice-ai-console"
DEFAULT_TTL_S = 600
MIN_TTL_S = 60
MAX_TTL_S = 3600


class InvalidConsoleToken(Exception):
    """Forged, damaged, expired, or not a console token."""


@dataclass(frozen=True)
class ConsoleGrant:
    domain_uuid: uuid.UUID
    secretary_uuid: uuid.UUID
    expires_at: float  # unix time


def _derive(raw: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"voice-ai-ivr", info=b"console-token")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(raw.strip().encode())))


class ConsoleTokens:
    def __init__(self, keys: list[str]) -> None:
        keys = [key for key in keys if key.strip()]
        if not keys:
            raise ValueError("at least one key is required")
        self._fernet = MultiFernet([_derive(key) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleTokens:
        if settings.secret_key is not None:
            return cls(settings.secret_key.get_secret_value().split(","))
        return cls([load_or_create_key_file(settings.resolved_secret_key_file)])

    def mint(
        self, domain_uuid: uuid.UUID, secretary_uuid: uuid.UUID, ttl_s: int = DEFAULT_TTL_S, *, now: float | None = None
    ) -> tuple[str, ConsoleGrant]:
        issued = int(time.time() if now is None else now)
        grant = ConsoleGrant(domain_uuid, secretary_uuid, float(issued + ttl_s))
        claim = {"aud": AUDIENCE, "d": str(domain_uuid), "s": str(secretary_uuid), "exp": issued + ttl_s}
        token = self._fernet.encrypt_at_time(json.dumps(claim, separators=(",", ":")).encode(), issued)
        return token.decode(), grant

    def verify(self, token: str | None, *, now: float | None = None) -> ConsoleGrant:
        if not token or len(token) > 1000:
            raise InvalidConsoleToken("missing console token")
        current = int(time.time() if now is None else now)
        try:
            # Fernet itself refuses a token from more than MAX_TTL_S ago (or from the future, beyond clock skew)
            payload = self._fernet.decrypt_at_time(token.encode(), MAX_TTL_S, current)
            claim = json.loads(payload)
            if claim.get("aud") != AUDIENCE:
                raise InvalidConsoleToken("not a console token")
            grant = ConsoleGrant(uuid.UUID(claim["d"]), uuid.UUID(claim["s"]), float(claim["exp"]))
        except InvalidConsoleToken:
            raise
        except (InvalidToken, ValueError, KeyError, TypeError):
            raise InvalidConsoleToken("invalid console token") from None
        if grant.expires_at <= current:
            raise InvalidConsoleToken("the console token has expired: open the console again from the secretary page")
        return grant
