from __future__ import annotations

from datetime import datetime

from pydantic import Field

from voice_ai.schemas.common import Strict
from voice_ai.streaming.console.tokens import DEFAULT_TTL_S, MAX_TTL_S, MIN_TTL_S


class ConsoleTokenCreate(Strict):
    ttl_s: int = Field(
        default=DEFAULT_TTL_S,
        ge=MIN_TTL_S,
        le=MAX_TTL_S,
        description="How long the token opens the console (the page and each new session); a session already "
        "open goes on.",
    )


class ConsoleToken(Strict):
    token: str = Field(description="Opens this secretary's console only, until expires_at")
    expires_at: datetime
    console_path: str = Field(description="Where to send the browser, relative to the service's public URL")
