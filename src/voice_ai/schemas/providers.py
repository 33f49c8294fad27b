from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from voice_ai.schemas.common import Description, ORMModel, Strict

ProviderType = Literal["stt", "tts", "llm", "embeddings"]


MAX_CONFIG_BYTES = 64 * 1024
MAX_CONFIG_DEPTH = 8


def check_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """Provider settings are small documents: bound their size and nesting (checked without recursion)."""
    if config is None:
        return None
    stack: list[tuple[Any, int]] = [(config, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise ValueError(f"nested more than {MAX_CONFIG_DEPTH} levels deep")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    if len(json.dumps(config)) > MAX_CONFIG_BYTES:
        raise ValueError(f"larger than {MAX_CONFIG_BYTES // 1024} KiB")
    return config


class _ProviderFields(Strict):
    description: Description | None = None
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

    @field_validator("config")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_config(value)


class ProviderUpdate(_ProviderFields):
    """Partial update. ``config`` is a JSON merge patch: keys sent replace, ``null`` removes, omitted
    keys (secrets included) are kept, and a masked secret sent back unchanged keeps the stored one."""

    provider_name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    config: dict[str, Any] | None = None

    @field_validator("config")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_config(value)


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
