from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, Field

from voice_ai.schemas.common import (
    Destination,
    DialplanContext,
    Language,
    LongText,
    Name,
    ORMModel,
    ShortText,
    Strict,
)
from voice_ai.schemas.email import MessageEmail


class _SecretaryFields(Strict):
    extension: str | None = Field(default=None, pattern=r"^[0-9*#]{1,20}$")
    language: Language = "pt-BR"
    company_name: ShortText | None = None
    personality_prompt: LongText | None = None
    greeting: LongText | None = None
    farewell: LongText | None = None
    operator_destination: Destination | None = None
    operator_context: DialplanContext | None = None
    max_turns: int = Field(default=10, ge=1, le=100)
    silence_threshold: int = Field(
        default=300, ge=1, le=10000, description="Energy threshold for recordFile (FreeSWITCH ~200-500)."
    )
    silence_seconds: int = Field(default=2, ge=1, le=30)
    max_record_seconds: int = Field(
        default=15, ge=2, le=120, description="Longest utterance recorded per turn (the call flow's limit: 120 s)."
    )
    tts_voice: ShortText | None = None
    stt_provider_uuid: uuid.UUID | None = None
    tts_provider_uuid: uuid.UUID | None = None
    llm_provider_uuid: uuid.UUID | None = None
    embeddings_provider_uuid: uuid.UUID | None = None
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: str | None = Field(
        default=None, max_length=500, description="Write-only: shown masked; omit to keep the stored one."
    )
    enabled: bool = True
    call_mode: Literal["turn", "stream"] = Field(
        default="turn",
        description="How calls reach the secretary: 'turn' (the Lua flow records each utterance; needs no extra "
        "FreeSWITCH module) or 'stream' (mod_audio_stream: answers within a second and can be interrupted; falls "
        "back to 'turn' where the module is missing).",
    )
    end_of_turn_ms: int = Field(
        default=600, ge=200, le=3000, description="Streaming: silence after the caller's speech that ends their turn."
    )
    barge_in: bool = Field(default=True, description="Streaming: the caller may interrupt the secretary by speaking.")
    barge_in_min_ms: int = Field(
        default=300,
        ge=100,
        le=2000,
        description="Streaming: voice needed to interrupt (shorter sounds, a cough or 'uhum', do not).",
    )
    voice_schedule_uuid: uuid.UUID | None = Field(
        default=None, description="Opening hours: a schedule of this domain (null: always open)."
    )
    time_condition_uuid: uuid.UUID | None = Field(
        default=None, description="Opening hours, FusionPBX mode: one of the domain's time conditions instead."
    )
    # issue 13: messages callers leave, by e-mail (docs/messages.md)
    message_email: MessageEmail | None = Field(
        default=None,
        description="Who receives the messages callers leave, by e-mail (comma-separated addresses); the tenant's "
        "SMTP settings send them.",
    )


class SecretaryCreate(_SecretaryFields):
    name: Name


class SecretaryUpdate(_SecretaryFields):
    """Partial update: only the fields sent are changed; ``null`` clears a nullable field."""

    name: Name | None = None


class SecretaryPublic(ORMModel):
    voice_secretary_uuid: uuid.UUID
    domain_uuid: uuid.UUID
    name: str
    extension: str | None
    language: str
    company_name: str | None
    personality_prompt: str | None
    greeting: str | None
    farewell: str | None
    operator_destination: str | None
    operator_context: str | None
    max_turns: int
    silence_threshold: int
    silence_seconds: int
    max_record_seconds: int
    tts_voice: str | None
    stt_provider_uuid: uuid.UUID | None
    tts_provider_uuid: uuid.UUID | None
    llm_provider_uuid: uuid.UUID | None
    embeddings_provider_uuid: uuid.UUID | None
    webhook_url: str | None
    webhook_secret: str | None = Field(description="Masked.")
    enabled: bool
    call_mode: str
    end_of_turn_ms: int
    barge_in: bool
    barge_in_min_ms: int
    voice_schedule_uuid: uuid.UUID | None = None
    time_condition_uuid: uuid.UUID | None = None
    message_email: str | None = None
    insert_date: datetime
    update_date: datetime
