"""Conversation log: one row per call, with its messages and per-turn timings. Written by calls only; an admin
may read it and delete a conversation (e.g. a caller's request to erase their data, LGPD/GDPR)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from voice_ai.api.deps import PageDep, SessionDep, TenantDep
from voice_ai.api.responses import errors
from voice_ai.core.errors import NotFoundError
from voice_ai.db.repositories.caller_messages import CallerMessageRepository
from voice_ai.db.repositories.entities import ConversationRepository, MessageRepository
from voice_ai.schemas.common import Page
from voice_ai.schemas.conversations import (
    ConversationListed,
    ConversationPublic,
    ConversationWithMessages,
    MessagePublic,
)

router = APIRouter(prefix="/api/v1/domains/{domain_uuid}/conversations", tags=["conversations"], responses=errors(404))
Outcome = Literal["resolved", "transferred", "hangup", "abandoned", "error"]
MESSAGES_IN_DETAIL = 500


@router.get("", response_model=Page[ConversationListed], summary="List conversations")
async def list_conversations(
    domain_uuid: TenantDep,
    session: SessionDep,
    page: PageDep,
    secretary_uuid: Annotated[uuid.UUID | None, Query()] = None,
    outcome: Annotated[Outcome | None, Query()] = None,
    caller: Annotated[str | None, Query(max_length=64, description="Part of the caller's number")] = None,
    started_from: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    started_to: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
) -> Any:
    result = await ConversationRepository(session).search(
        domain_uuid,
        limit=page.limit,
        offset=page.offset,
        secretary_uuid=secretary_uuid,
        outcome=outcome,
        caller=caller,
        started_from=started_from,
        started_to=started_to,
    )
    counts = await CallerMessageRepository(session).counts(
        domain_uuid, [c.voice_conversation_uuid for c in result.items]
    )
    items = [
        {
            **ConversationPublic.model_validate(c).model_dump(),
            "caller_message_count": counts.get(c.voice_conversation_uuid, 0),
        }
        for c in result.items
    ]  # issue 13: the call log marks calls with a message
    return {"items": items, "total": result.total, "limit": page.limit, "offset": page.offset}


async def _load(session: SessionDep, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID) -> Any:
    row = await ConversationRepository(session).get(domain_uuid, conversation_uuid)
    if row is None:
        raise NotFoundError("Conversation")
    return row


@router.get(
    "/{conversation_uuid}",
    response_model=ConversationWithMessages,
    summary="A conversation with its messages (turns) and the messages the caller left",
)
async def get_conversation(domain_uuid: TenantDep, session: SessionDep, conversation_uuid: uuid.UUID) -> Any:
    row = await _load(session, domain_uuid, conversation_uuid)
    messages = await MessageRepository(session).for_conversation(
        domain_uuid, conversation_uuid, limit=MESSAGES_IN_DETAIL, offset=0
    )
    left = await CallerMessageRepository(session).search(
        domain_uuid, limit=MESSAGES_IN_DETAIL, offset=0, conversation_uuid=conversation_uuid
    )  # issue 13
    return {
        **ConversationPublic.model_validate(row).model_dump(),
        "messages": messages.items,
        "caller_messages": left.items,
    }


@router.delete(
    "/{conversation_uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a conversation with its transcript and webhook deliveries (a caller's erasure request)",
)
async def delete_conversation(domain_uuid: TenantDep, session: SessionDep, conversation_uuid: uuid.UUID) -> Response:
    if not await ConversationRepository(session).delete(domain_uuid, conversation_uuid):
        raise NotFoundError("Conversation")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{conversation_uuid}/messages", response_model=Page[MessagePublic], summary="Messages of a conversation")
async def list_messages(
    domain_uuid: TenantDep, session: SessionDep, page: PageDep, conversation_uuid: uuid.UUID
) -> Any:
    await _load(session, domain_uuid, conversation_uuid)
    result = await MessageRepository(session).for_conversation(
        domain_uuid, conversation_uuid, limit=page.limit, offset=page.offset
    )
    return {"items": result.items, "total": result.total, "limit": page.limit, "offset": page.offset}


@router.get("/{conversation_uuid}/webhooks", summary="The call-end webhook deliveries and their attempts")
async def list_webhooks(domain_uuid: TenantDep, session: SessionDep, conversation_uuid: uuid.UUID) -> Any:
    from voice_ai.db.repositories.entities import WebhookDeliveryRepository

    await _load(session, domain_uuid, conversation_uuid)
    rows = (
        await WebhookDeliveryRepository(session).list(
            domain_uuid, limit=100, offset=0, voice_conversation_uuid=conversation_uuid
        )
    ).items
    return {
        "items": [
            {
                "delivery_uuid": str(r.voice_ai_webhook_delivery_uuid),
                "url": r.url,
                "status": r.status,
                "attempts": r.attempts,
                "last_status_code": r.last_status_code,
                "last_error": r.last_error,
                "next_attempt_at": r.next_attempt_at,
                "delivered_at": r.delivered_at,
            }
            for r in rows
        ]
    }
