"""The storage stage, shared by turn-based and streaming calls: one short transaction with the turn's clips (when
synthesised now), its two messages, and the conversation's activity and transfer target."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from voice_ai.conversation.actions import Action
from voice_ai.conversation.prepare import next_turn_index
from voice_ai.conversation.speech import Spoken, store_clip
from voice_ai.core.errors import NotFoundError
from voice_ai.db.repositories.entities import ConversationRepository, MessageRepository

USER_TIMINGS = ("stt_ms",)


async def store_turn(
    sessions: Any,
    domain_uuid: uuid.UUID,
    conversation_uuid: uuid.UUID,
    *,
    turn_index: int | None,
    transcript: str,
    response: str,
    action: Action,
    timings: dict[str, float],
    providers: dict[str, str],
    clips: Sequence[Spoken] = (),
    tool_calls: list[dict[str, Any]] | None = None,
) -> int:
    """Store a turn; returns its number. ``turn_index=None`` (a streaming reply): the number is claimed here,
    under the conversation's row lock — a streaming turn is stored even if the call ended meanwhile (the caller
    heard it)."""
    async with sessions() as session, session.begin():
        for spoken in clips:
            await store_clip(session, domain_uuid, spoken)
        messages = MessageRepository(session)
        if turn_index is None:
            conversations = ConversationRepository(session)
            locked = await conversations.get(domain_uuid, conversation_uuid, for_update=True)
            if locked is None:
                raise NotFoundError("Call")
            history = (await messages.for_conversation(domain_uuid, conversation_uuid, limit=500, offset=0)).items
            turn_index = next_turn_index(locked, history)
            await conversations.update(locked, {"turn_count": turn_index})
        await messages.create(
            domain_uuid,
            {
                "voice_conversation_uuid": conversation_uuid,
                "turn_index": turn_index,
                "role": "user",
                "text": transcript,
                "timings": {k: v for k, v in timings.items() if k in USER_TIMINGS},
                "providers_used": {k: v for k, v in providers.items() if k == "stt"},
            },
        )
        await messages.create(
            domain_uuid,
            {
                "voice_conversation_uuid": conversation_uuid,
                "turn_index": turn_index,
                "role": "assistant",
                "text": response,
                "action": action.kind,
                "timings": timings,
                "providers_used": providers,
                "tool_calls": tool_calls,
            },
        )
        transfer = action.transfer
        await ConversationRepository(session).record_turn(
            domain_uuid,
            conversation_uuid,
            transfer={
                "transfer_destination": transfer.destination,
                "transfer_context": transfer.context,
                "transfer_department": transfer.department,
            }
            if transfer
            else None,
        )
    return turn_index
