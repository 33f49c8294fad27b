"""Repositories of the tenant's configuration objects (one class each; the behaviour is in the base)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from voice_ai.core.errors import ConflictError
from voice_ai.db.models import Conversation, Document, Message, Provider, Secretary, TransferRule, WebhookDelivery
from voice_ai.db.repositories.base import Page, TenantRepository

_PROVIDER_REF = "no {kind} provider with this id in this domain"


class ProviderRepository(TenantRepository[Provider]):
    model = Provider
    pk_name = "voice_ai_provider_uuid"
    order_by = (Provider.provider_type, Provider.priority)
    constraint_errors = {
        "uq_voice_ai_providers_one_default": (
            "is_default",
            "this domain already has a default provider of this type; unset it first",
        ),
    }

    async def enabled_of_kind(self, domain_uuid: uuid.UUID, provider_type: str) -> list[Provider]:
        result = await self.session.scalars(
            self._scoped(domain_uuid)
            .where(Provider.provider_type == provider_type, Provider.enabled.is_(True))
            .order_by(Provider.priority, Provider.insert_date)
        )
        return list(result.all())

    async def clear_default(self, domain_uuid: uuid.UUID, provider_type: str, *, except_uuid: uuid.UUID | None) -> None:
        """Unset the current default of a type, so that marking a new default needs one request."""
        stmt = (
            update(Provider)
            .where(
                Provider.domain_uuid == domain_uuid,
                Provider.provider_type == provider_type,
                Provider.is_default.is_(True),
            )
            .values(is_default=False)
        )
        if except_uuid is not None:
            stmt = stmt.where(Provider.voice_ai_provider_uuid != except_uuid)
        await self.session.execute(stmt)


class SecretaryRepository(TenantRepository[Secretary]):
    model = Secretary
    pk_name = "voice_secretary_uuid"
    order_by = (Secretary.name,)
    constraint_errors = {
        "uq_voice_secretaries_extension": (
            "extension",
            "another secretary of this domain already uses this extension",
        ),
        **{
            f"fk_voice_secretaries_{kind}": (f"{kind}_provider_uuid", _PROVIDER_REF.format(kind=kind))
            for kind in ("stt", "tts", "llm", "embeddings")
        },
    }

    async def get_by_extension(self, domain_uuid: uuid.UUID, extension: str) -> Secretary | None:
        result = await self.session.scalars(self._scoped(domain_uuid).where(Secretary.extension == extension))
        return result.first()


class TransferRuleRepository(TenantRepository[TransferRule]):
    model = TransferRule
    pk_name = "voice_transfer_rule_uuid"
    order_by = (TransferRule.priority, TransferRule.department_name)
    constraint_errors = {
        "fk_voice_transfer_rules_secretary": (
            "voice_secretary_uuid",
            "no secretary with this id in this domain",
        ),
    }


class DocumentRepository(TenantRepository[Document]):
    model = Document
    pk_name = "voice_document_uuid"
    order_by = (Document.insert_date.desc(),)
    constraint_errors = {
        "uq_voice_documents_sha256": ("sha256", "this document was already uploaded to this domain"),
    }

    async def content_of(self, domain_uuid: uuid.UUID, document_uuid: uuid.UUID) -> bytes | None:
        value = await self.session.scalar(
            select(Document.content).where(
                Document.domain_uuid == domain_uuid, Document.voice_document_uuid == document_uuid
            )
        )
        return bytes(value) if value is not None else None

    async def by_sha256(self, domain_uuid: uuid.UUID, sha256: str) -> Document | None:
        result = await self.session.scalars(self._scoped(domain_uuid).where(Document.sha256 == sha256))
        return result.first()


class ConversationRepository(TenantRepository[Conversation]):
    model = Conversation
    pk_name = "voice_conversation_uuid"
    order_by = (Conversation.started_at.desc(),)
    constraint_errors = {
        "uq_voice_conversations_call": ("call_uuid", "a conversation for this call already exists"),
        "fk_voice_conversations_secretary": (
            "voice_secretary_uuid",
            "no secretary with this id in this domain",
        ),
    }

    async def by_call(
        self, domain_uuid: uuid.UUID, call_uuid: str, *, for_update: bool = False, lock_timeout_s: float | None = None
    ) -> Conversation | None:
        """The conversation of a call; ``for_update`` locks its row until the transaction ends, so that an end,
        a failed transfer and the stale-call closer never interleave on one call. With ``lock_timeout_s`` the
        lock is waited for that long at most (then SQLSTATE 55P03, answered as a 503)."""
        stmt = self._scoped(domain_uuid).where(Conversation.call_uuid == call_uuid)
        if for_update:
            stmt = stmt.with_for_update()
            if lock_timeout_s is not None:  # for the rest of this transaction
                await self.session.execute(
                    text("SELECT set_config('lock_timeout', :ms, true)"),
                    {"ms": f"{max(1, round(lock_timeout_s * 1000))}ms"},
                )
        result = await self.session.scalars(stmt.execution_options(populate_existing=True))
        return result.first()

    async def open(self, domain_uuid: uuid.UUID, values: dict[str, Any]) -> tuple[uuid.UUID, bool]:
        """The conversation of ``values["call_uuid"]``, created unless it exists: (its id, created now). Safe
        under concurrency: simultaneous starts of one call wait on the unique key and all get the same row."""
        inserted = await self.session.scalar(
            pg_insert(Conversation)
            .values(**values, domain_uuid=domain_uuid)
            .on_conflict_do_nothing(constraint="uq_voice_conversations_call")
            .returning(Conversation.voice_conversation_uuid)
        )
        if inserted is not None:
            return inserted, True
        existing = await self.session.scalar(
            select(Conversation.voice_conversation_uuid).where(
                Conversation.domain_uuid == domain_uuid, Conversation.call_uuid == values["call_uuid"]
            )
        )
        if existing is None:  # deleted between the two statements
            raise ConflictError("the conversation of this call was just deleted; start it again")
        return existing, False

    async def record_turn(
        self, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID, *, transfer: dict[str, Any] | None
    ) -> None:
        """A turn was stored: activity now, and the transfer target it decided (not once the call ended: then
        the end's own report of where the caller went stands)."""
        await self.session.execute(
            update(Conversation)
            .where(Conversation.domain_uuid == domain_uuid, Conversation.voice_conversation_uuid == conversation_uuid)
            .values(update_date=func.now())
        )
        if transfer:
            await self.session.execute(
                update(Conversation)
                .where(
                    Conversation.domain_uuid == domain_uuid,
                    Conversation.voice_conversation_uuid == conversation_uuid,
                    Conversation.ended_at.is_(None),
                )
                .values(**transfer)
            )

    async def touch(self, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID) -> None:
        """Record activity on a call (a line event) for the stale-call closer."""
        await self.session.execute(
            update(Conversation)
            .where(Conversation.domain_uuid == domain_uuid, Conversation.voice_conversation_uuid == conversation_uuid)
            .values(update_date=func.now())
        )

    async def stale(self, before: datetime, *, limit: int) -> list[tuple[uuid.UUID, str]]:
        """(domain_uuid, call_uuid) of open calls without activity since ``before``, across every tenant: the
        system's periodic closer is the one caller that is not acting for a tenant. Each call is then ended
        through the tenant-scoped methods."""
        rows = await self.session.execute(
            select(Conversation.domain_uuid, Conversation.call_uuid)
            .where(Conversation.ended_at.is_(None), Conversation.update_date < before)
            .order_by(Conversation.update_date)
            .limit(limit)
        )
        return [(r.domain_uuid, r.call_uuid) for r in rows]

    async def unfinished(self, before: datetime, *, limit: int) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
        """(domain_uuid, conversation_uuid, ended_at) of calls that ended before ``before`` and whose end-of-call
        work (summary, webhook) was never done — its job was never queued, or was lost — across every tenant: the
        system's every-minute job queues them again, and the work itself is tenant-scoped."""
        rows = await self.session.execute(
            select(Conversation.domain_uuid, Conversation.voice_conversation_uuid, Conversation.ended_at)
            .where(
                Conversation.ended_at.is_not(None),
                Conversation.finished_at.is_(None),
                Conversation.ended_at < before,
            )
            .order_by(Conversation.ended_at)
            .limit(limit)
        )
        return [(r.domain_uuid, r.voice_conversation_uuid, r.ended_at) for r in rows]

    async def search(
        self,
        domain_uuid: uuid.UUID,
        *,
        limit: int,
        offset: int,
        secretary_uuid: uuid.UUID | None = None,
        outcome: str | None = None,
        caller: str | None = None,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
    ) -> Page[Conversation]:
        where: list[ColumnElement[bool]] = []
        if caller:
            where.append(Conversation.caller_id_number.contains(caller, autoescape=True))
        if started_from:
            where.append(Conversation.started_at >= started_from)
        if started_to:
            where.append(Conversation.started_at < started_to)
        return await self.list(
            domain_uuid,
            limit=limit,
            offset=offset,
            where=where,
            voice_secretary_uuid=secretary_uuid,
            outcome=outcome,
        )


class MessageRepository(TenantRepository[Message]):
    model = Message
    pk_name = "voice_message_uuid"
    # within a turn: what the caller said, then the reply, then line events (same transaction, same now())
    order_by = (
        Message.turn_index,
        case((Message.role == "user", 0), (Message.role == "assistant", 1), else_=2),
        Message.insert_date,
    )
    constraint_errors = {
        "fk_voice_messages_conversation": (
            "voice_conversation_uuid",
            "no conversation with this id in this domain",
        ),
    }

    async def for_conversation(
        self, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID, *, limit: int, offset: int
    ) -> Page[Message]:
        return await self.list(domain_uuid, limit=limit, offset=offset, voice_conversation_uuid=conversation_uuid)

    async def last_said(self, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID) -> Message | None:
        """The secretary's last stored words in the conversation (the greeting at least), or None."""
        found = await self.session.scalars(
            select(Message)
            .where(
                Message.domain_uuid == domain_uuid,
                Message.voice_conversation_uuid == conversation_uuid,
                Message.role == "assistant",
            )
            .order_by(Message.turn_index.desc(), Message.insert_date.desc())
            .limit(1)
        )
        return found.first()


class WebhookDeliveryRepository(TenantRepository[WebhookDelivery]):
    model = WebhookDelivery
    pk_name = "voice_ai_webhook_delivery_uuid"
    order_by = (WebhookDelivery.insert_date,)

    async def overdue(self, before: datetime, *, limit: int) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
        """(domain_uuid, delivery_uuid, attempts) of deliveries still pending, untouched since ``before`` and not
        due later, across every tenant: their job was lost (its queueing failed, or it raised). The system's
        every-minute job queues them again."""
        rows = await self.session.execute(
            select(
                WebhookDelivery.domain_uuid, WebhookDelivery.voice_ai_webhook_delivery_uuid, WebhookDelivery.attempts
            )
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.update_date < before,
                or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at < before),
            )
            .order_by(WebhookDelivery.update_date)
            .limit(limit)
        )
        return [(r.domain_uuid, r.voice_ai_webhook_delivery_uuid, r.attempts) for r in rows]
