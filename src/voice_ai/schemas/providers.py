from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from voice_ai.schemas.common import ORMModel, Strict

ProviderType = Literal["stt", "tts", "llm", "embeddings"]


class _ProviderFields(Strict):
    description: str | None = Field(default=None, max_length=500)
    is_default: bool = False
    priority: int = Field(default=100, ge=0, le=10000, description="Lower answers first in a fallback chain.")
    rate_limit_rpm: int | None = Field(default=None, ge=1, le=1_000_000)
    enabled: bool = True


class ProviderCreate(_ProviderFields):
    provider_type: ProviderType
    provider_name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    config: dict[str, Any] = Field(
        default_factory=dict, description="Provider settings; secret fields are stored encrypted."
    )


class ProviderUpdate(_ProviderFields):
    """Partial update. ``config`` is a JSON merge patch: keys sent replace, ``null`` removes, omitted
    keys (secrets included) are kept, and a masked secret sent back unchanged keeps the stored one."""

    provider_name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    config: dict[str, Any] | None = None


class ProviderPublic(ORMModel):
    voice_ai_provider_uuid: uuid.UUID
    domain_uuid: uuid.UUID
    provider_type: str
    provider_name: str
    description: str | None
    config: dict[str, Any] = Field(description="Secrets masked.")
    is_default: bool
    priority: int
    rate_limit_rpm: int | None
    enabled: bool
    insert_date: datetime
    update_date: datetime
