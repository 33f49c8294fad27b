"""Messages callers left with the secretary (issue 13): list, read, mark read (or new again), delete. Written by
calls only (:mod:`voice_ai.conversation.message_taking`); what the caller said is never edited here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from voice_ai.api.deps import PageDep, SessionDep, TenantDep
from voice_ai.api.responses import errors
from voice_ai.core.errors import ConflictError, NotFoundError
from voice_ai.db.repositories.caller_messages import CallerMessageRepository
from voice_ai.schemas.common import Page
from voice_ai.schemas.conversations import CallerMessagePublic, CallerMessageUpdate

router = APIRouter(
    prefix="/api/v1/domains/{domain_uuid}/caller-messages", tags=["caller messages"], responses=errors(404)
)
Status = Literal["taking", "new", "read", "cancelled"]


@router.get("", response_model=Page[CallerMessagePublic], summary="List the messages callers left")
async def list_caller_messages(
    domain_uuid: TenantDep,
    session: SessionDep,
    page: PageDep,
    status_filter: Annotated[
        Status | None,
        Query(alias="status", description="Absent: the messages callers left (new and read), newest first"),
    ] = None,
    conversation_uuid: Annotated[uuid.UUID | None, Query()] = None,
    taken_from: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    taken_to: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
) -> Any:
    result = await CallerMessageRepository(session).search(
        domain_uuid,
        limit=page.limit,
        offset=page.offset,
        status=status_filter,
        conversation_uuid=conversation_uuid,
        taken_from=taken_from,
        taken_to=taken_to,
    )
    return {"items": result.items, "total": result.total, "limit": page.limit, "offset": page.offset}


async def _load(session: SessionDep, domain_uuid: uuid.UUID, message_uuid: uuid.UUID, *, lock: bool = False) -> Any:
    row = await CallerMessageRepository(session).get(domain_uuid, message_uuid, for_update=lock)
    if row is None:
        raise NotFoundError("Caller message")
    return row


@router.get("/{message_uuid}", response_model=CallerMessagePublic, summary="A message a caller left")
async def get_caller_message(domain_uuid: TenantDep, session: SessionDep, message_uuid: uuid.UUID) -> Any:
    return await _load(session, domain_uuid, message_uuid)


@router.patch(
    "/{message_uuid}",
    response_model=CallerMessagePublic,
    summary="Mark a message read (or new again)",
    responses=errors(409, 422),
)
async def update_caller_message(
    domain_uuid: TenantDep, session: SessionDep, message_uuid: uuid.UUID, body: CallerMessageUpdate
) -> Any:
    row = await _load(session, domain_uuid, message_uuid, lock=True)
    if row.status not in ("new", "read"):
        raise ConflictError(f"this message is {row.status}: only a message the caller left can be marked read or new")
    read_at = (row.read_at or datetime.now(UTC)) if body.status == "read" else None
    return await CallerMessageRepository(session).update(row, {"status": body.status, "read_at": read_at})


@router.delete("/{message_uuid}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a message")
async def delete_caller_message(domain_uuid: TenantDep, session: SessionDep, message_uuid: uuid.UUID) -> Response:
    if not await CallerMessageRepository(session).delete(domain_uuid, message_uuid):
        raise NotFoundError("Caller message")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
