from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from voice_ai.schemas.common import ORMModel


class MessagePublic(ORMModel):
    voice_message_uuid: uuid.UUID
    turn_index: int
    role: str
    text: str
    action: str | None
    timings: dict[str, Any]
    providers_used: dict[str, Any]
    tool_calls: list[dict[str, Any]] | None = None  # the reply's tool calls (docs/tools.md)
    insert_date: datetime


class ConversationPublic(ORMModel):
    voice_conversation_uuid: uuid.UUID
    domain_uuid: uuid.UUID
    voice_secretary_uuid: uuid.UUID | None
    call_uuid: str
    caller_id_number: str | None
    caller_id_name: str | None
    destination_number: str | None
    language: str | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    transfer_destination: str | None
    transfer_department: str | None
    transfer_context: str | None = None
    summary: str | None
    turn_count: int


class ConversationDetail(ConversationPublic):
    messages: list[MessagePublic]


# -- issue 13: messages callers leave -------------------------------------------------------------------------------
class CallerMessagePublic(ORMModel):
    voice_caller_message_uuid: uuid.UUID
    domain_uuid: uuid.UUID
    voice_conversation_uuid: uuid.UUID
    status: str  # taking | new | read | cancelled
    step: str | None
    caller_name: str | None
    callback_number: str | None
    body: str | None
    confirmed: bool  # the caller said yes to the read-back (false: kept when the caller hung up before it)
    language: str | None
    taken_at: datetime | None
    read_at: datetime | None
    insert_date: datetime


class CallerMessageUpdate(BaseModel):
    """Mark a message read or new again (the only change an admin makes: what the caller said stays as said)."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["new", "read"]


class ConversationListed(ConversationPublic):
    caller_message_count: int = 0  # messages the caller left in this call (the call log's marker)


class ConversationWithMessages(ConversationDetail):
    caller_messages: list[CallerMessagePublic] = []
