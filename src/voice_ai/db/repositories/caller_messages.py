"""Messages callers leave (``v_voice_caller_messages``): the one being taken in a call, the tenant's list, and
counts per conversation for the call log. Every statement is scoped by ``domain_uuid``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select

from voice_ai.db.models import CallerMessage
from voice_ai.db.repositories.base import Page, TenantRepository


class CallerMessageRepository(TenantRepository[CallerMessage]):
    model = CallerMessage
    pk_name = "voice_caller_message_uuid"
    order_by = (CallerMessage.insert_date.desc(),)
    constraint_errors = {
        "fk_voice_caller_messages_conversation": (
            "voice_conversation_uuid",
            "no conversation with this id in this domain",
        ),
        "uq_voice_caller_messages_taking": ("voice_conversation_uuid", "a message is already being taken in this call"),
    }

    async def taking(
        self, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID, *, for_update: bool = False
    ) -> CallerMessage | None:
        """The message being taken in this call right now, if any."""
        stmt = self._scoped(domain_uuid).where(
            CallerMessage.voice_conversation_uuid == conversation_uuid, CallerMessage.status == "taking"
        )
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(stmt)).first()

    async def search(
        self,
        domain_uuid: uuid.UUID,
        *,
        limit: int,
        offset: int,
        status: str | None = None,
        conversation_uuid: uuid.UUID | None = None,
        taken_from: datetime | None = None,
        taken_to: datetime | None = None,
    ) -> Page[CallerMessage]:
        """The tenant's messages, newest first; without ``status``, those the caller left (new and read)."""
        where: list[ColumnElement[bool]] = []
        if status is None:
            where.append(CallerMessage.status.in_(("new", "read")))
        if taken_from:
            where.append(CallerMessage.taken_at >= taken_from)
        if taken_to:
            where.append(CallerMessage.taken_at < taken_to)
        return await self.list(
            domain_uuid,
            limit=limit,
            offset=offset,
            where=where,
            status=status,
            voice_conversation_uuid=conversation_uuid,
        )

    async def counts(self, domain_uuid: uuid.UUID, conversation_uuids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many messages callers left (new or read) in each of these conversations (absent: none)."""
        if not conversation_uuids:
            return {}
        rows = await self.session.execute(
            select(CallerMessage.voice_conversation_uuid, func.count())
            .where(
                CallerMessage.domain_uuid == domain_uuid,
                CallerMessage.voice_conversation_uuid.in_(list(conversation_uuids)),
                CallerMessage.status.in_(("new", "read")),
            )
            .group_by(CallerMessage.voice_conversation_uuid)
        )
        return {row[0]: int(row[1]) for row in rows}
