"""ORM models of the ``v_voice_*`` tables (FusionPBX naming: ``<name>_uuid`` keys, insert/update dates).

Every table carries ``domain_uuid NOT NULL`` referencing ``v_domains``; references between our tables
are composite ``(domain_uuid, <name>_uuid)`` foreign keys, so the database itself refuses a row that
points at another tenant's object. The Alembic migrations are the source of truth for DDL; a test checks
that these models and the migrated schema agree.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import (
    text as sql,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PROVIDER_TYPES = ("stt", "tts", "llm", "embeddings")
DOCUMENT_STATUSES = ("queued", "processing", "ready", "failed")
OUTCOMES = ("resolved", "transferred", "hangup", "abandoned", "error")
MESSAGE_ROLES = ("system", "user", "assistant")
CALL_MODES = ("turn", "stream")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONB, uuid.UUID: UUID(as_uuid=True)}


def _pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=sql("gen_random_uuid()"))


def _domain_fk() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("v_domains.domain_uuid", ondelete="CASCADE"), nullable=False)


class Timestamps:
    insert_date: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    update_date: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Domain(Base):
    """FusionPBX's tenant table. Only the columns this service reads are mapped; on FusionPBX the
    table is FusionPBX's own and is never altered here."""

    __tablename__ = "v_domains"

    domain_uuid: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    domain_parent_uuid: Mapped[uuid.UUID | None]
    domain_name: Mapped[str] = mapped_column(Text)
    domain_description: Mapped[str | None] = mapped_column(Text)


class Provider(Timestamps, Base):
    __tablename__ = "v_voice_ai_providers"
    __table_args__ = (
        CheckConstraint(_in("provider_type", PROVIDER_TYPES), name="ck_voice_ai_providers_type"),
        UniqueConstraint("domain_uuid", "voice_ai_provider_uuid", name="uq_voice_ai_providers_domain"),
        Index("ix_voice_ai_providers_domain_type", "domain_uuid", "provider_type", "priority"),
        Index(
            "uq_voice_ai_providers_one_default",
            "domain_uuid",
            "provider_type",
            unique=True,
            postgresql_where=sql("is_default"),
        ),
    )

    voice_ai_provider_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    provider_type: Mapped[str] = mapped_column(Text)
    provider_name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(server_default=sql("'{}'::jsonb"))
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=sql("false"))
    priority: Mapped[int] = mapped_column(Integer, server_default=sql("100"))
    rate_limit_rpm: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=sql("true"))


def _provider_ref(column: str, name: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["domain_uuid", column],
        ["v_voice_ai_providers.domain_uuid", "v_voice_ai_providers.voice_ai_provider_uuid"],
        ondelete=f"SET NULL ({column})",
        name=name,
    )


def _schedule_ref(name: str) -> ForeignKeyConstraint:
    """Opening hours (migration 0011): a secretary's or transfer rule's schedule, cleared when it is deleted."""
    return ForeignKeyConstraint(
        ["domain_uuid", "voice_schedule_uuid"],
        ["v_voice_schedules.domain_uuid", "v_voice_schedules.voice_schedule_uuid"],
        ondelete="SET NULL (voice_schedule_uuid)",
        name=name,
    )


class Secretary(Timestamps, Base):
    __tablename__ = "v_voice_secretaries"
    __table_args__ = (
        UniqueConstraint("domain_uuid", "voice_secretary_uuid", name="uq_voice_secretaries_domain"),
        Index(
            "uq_voice_secretaries_extension",
            "domain_uuid",
            "extension",
            unique=True,
            postgresql_where=sql("extension IS NOT NULL"),
        ),
        Index("ix_voice_secretaries_domain_name", "domain_uuid", "name"),
        _provider_ref("stt_provider_uuid", "fk_voice_secretaries_stt"),
        _provider_ref("tts_provider_uuid", "fk_voice_secretaries_tts"),
        _provider_ref("llm_provider_uuid", "fk_voice_secretaries_llm"),
        _provider_ref("embeddings_provider_uuid", "fk_voice_secretaries_embeddings"),
        CheckConstraint(_in("call_mode", CALL_MODES), name="ck_voice_secretaries_call_mode"),
        CheckConstraint("end_of_turn_ms BETWEEN 200 AND 3000", name="ck_voice_secretaries_end_of_turn_ms"),
        CheckConstraint("barge_in_min_ms BETWEEN 100 AND 2000", name="ck_voice_secretaries_barge_in_min_ms"),
        _schedule_ref("fk_voice_secretaries_schedule"),
    )

    voice_secretary_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    name: Mapped[str] = mapped_column(Text)
    extension: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text, server_default=sql("'pt-BR'"))
    company_name: Mapped[str | None] = mapped_column(Text)
    personality_prompt: Mapped[str | None] = mapped_column(Text)
    greeting: Mapped[str | None] = mapped_column(Text)
    farewell: Mapped[str | None] = mapped_column(Text)
    operator_destination: Mapped[str | None] = mapped_column(Text)
    operator_context: Mapped[str | None] = mapped_column(Text)
    max_turns: Mapped[int] = mapped_column(Integer, server_default=sql("10"))
    silence_threshold: Mapped[int] = mapped_column(Integer, server_default=sql("300"))
    silence_seconds: Mapped[int] = mapped_column(Integer, server_default=sql("2"))
    max_record_seconds: Mapped[int] = mapped_column(Integer, server_default=sql("15"))
    tts_voice: Mapped[str | None] = mapped_column(Text)
    stt_provider_uuid: Mapped[uuid.UUID | None]
    tts_provider_uuid: Mapped[uuid.UUID | None]
    llm_provider_uuid: Mapped[uuid.UUID | None]
    embeddings_provider_uuid: Mapped[uuid.UUID | None]
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=sql("true"))
    # streaming calls (docs/streaming.md): the mode the dialplan entry selects, end of turn and barge-in timing
    call_mode: Mapped[str] = mapped_column(Text, server_default=sql("'turn'"))
    end_of_turn_ms: Mapped[int] = mapped_column(Integer, server_default=sql("600"))
    barge_in: Mapped[bool] = mapped_column(Boolean, server_default=sql("true"))
    barge_in_min_ms: Mapped[int] = mapped_column(Integer, server_default=sql("300"))
    # opening hours (migration 0011, docs/opening-hours.md): one of ours, or a FusionPBX time condition's dialplan
    voice_schedule_uuid: Mapped[uuid.UUID | None]
    time_condition_uuid: Mapped[uuid.UUID | None]
    # issue 13 (0012_caller_messages): who receives the secretary's messages by e-mail (comma-separated addresses)
    message_email: Mapped[str | None] = mapped_column(Text)


class TransferRule(Timestamps, Base):
    __tablename__ = "v_voice_transfer_rules"
    __table_args__ = (
        ForeignKeyConstraint(
            ["domain_uuid", "voice_secretary_uuid"],
            ["v_voice_secretaries.domain_uuid", "v_voice_secretaries.voice_secretary_uuid"],
            ondelete="CASCADE",
            name="fk_voice_transfer_rules_secretary",
        ),
        Index("ix_voice_transfer_rules_domain_priority", "domain_uuid", "priority"),
        _schedule_ref("fk_voice_transfer_rules_schedule"),
    )

    voice_transfer_rule_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    voice_secretary_uuid: Mapped[uuid.UUID | None]
    department_name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=sql("'{}'::text[]"))
    destination_number: Mapped[str] = mapped_column(Text)
    destination_context: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, server_default=sql("100"))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=sql("true"))
    voice_schedule_uuid: Mapped[uuid.UUID | None]  # opening hours (migration 0011)
    time_condition_uuid: Mapped[uuid.UUID | None]
    # issue 13, transfers that come back (0014_transfer_return): ring time before the caller returns to the
    # secretary (null: the call flow's default), and the announced transfer (the person who answers accepts with 1)
    ring_seconds: Mapped[int | None] = mapped_column(Integer)
    announce: Mapped[bool] = mapped_column(Boolean, server_default=sql("false"))


class Document(Timestamps, Base):
    __tablename__ = "v_voice_documents"
    __table_args__ = (
        CheckConstraint(_in("status", DOCUMENT_STATUSES), name="ck_voice_documents_status"),
        UniqueConstraint("domain_uuid", "voice_document_uuid", name="uq_voice_documents_domain"),
        Index(
            "uq_voice_documents_sha256",
            "domain_uuid",
            "sha256",
            unique=True,
            postgresql_where=sql("sha256 IS NOT NULL"),
        ),
        Index("ix_voice_documents_domain_status", "domain_uuid", "status"),
    )

    voice_document_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    name: Mapped[str] = mapped_column(Text)
    mime_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    sha256: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=sql("'queued'"))
    error: Mapped[str | None] = mapped_column(Text)
    chunk_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    progress: Mapped[int] = mapped_column(Integer, server_default=sql("0"))  # percent, while processing
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=sql("true"))
    # The upload itself (deferred: lists never load it), so any worker can index it, again if needed.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    language: Mapped[str | None] = mapped_column(Text)


class DocumentChunk(Timestamps, Base):
    """One retrievable passage. ``embedding`` has no fixed dimension (tenants use different embedding
    models); HNSW indexes are partial expression indexes per dimension (see the migration)."""

    __tablename__ = "v_voice_document_chunks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["domain_uuid", "voice_document_uuid"],
            ["v_voice_documents.domain_uuid", "v_voice_documents.voice_document_uuid"],
            ondelete="CASCADE",
            name="fk_voice_document_chunks_document",
        ),
        Index("ix_voice_document_chunks_domain_document", "domain_uuid", "voice_document_uuid", "position"),
        Index("ix_voice_document_chunks_tsv", "content_tsv", postgresql_using="gin"),
        # pg_trgm (migration 0010): absent where the extension could not be created; retrieval then skips the leg
        Index(
            "ix_voice_document_chunks_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    voice_document_chunk_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    voice_document_uuid: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    heading: Mapped[str | None] = mapped_column(Text)
    embedding: Mapped[Any] = mapped_column(Vector(), nullable=True)
    embedding_dims: Mapped[int | None] = mapped_column(Integer)
    embedding_model: Mapped[str | None] = mapped_column(Text)
    ts_config: Mapped[str] = mapped_column(Text, server_default=sql("'simple'"))
    content_tsv: Mapped[Any] = mapped_column(TSVECTOR, nullable=True)
    # heading + content, lower-case, accents folded (migration 0010): what trigram retrieval compares with
    search_text: Mapped[str | None] = mapped_column(
        Text,
        Computed(
            "translate(lower(coalesce(heading, '') || ' ' || content), 'áàâãäåéèêëíìîïóòôõöúùûüçñýÿ',"
            " 'aaaaaaeeeeiiiiooooouuuucnyy')",
            persisted=True,
        ),
    )


class Conversation(Timestamps, Base):
    __tablename__ = "v_voice_conversations"
    __table_args__ = (
        CheckConstraint(_in("outcome", OUTCOMES), name="ck_voice_conversations_outcome"),
        UniqueConstraint("domain_uuid", "voice_conversation_uuid", name="uq_voice_conversations_domain"),
        UniqueConstraint("domain_uuid", "call_uuid", name="uq_voice_conversations_call"),
        ForeignKeyConstraint(
            ["domain_uuid", "voice_secretary_uuid"],
            ["v_voice_secretaries.domain_uuid", "v_voice_secretaries.voice_secretary_uuid"],
            ondelete="SET NULL (voice_secretary_uuid)",
            name="fk_voice_conversations_secretary",
        ),
        Index("ix_voice_conversations_domain_started", "domain_uuid", "started_at"),
        Index("ix_voice_conversations_domain_caller", "domain_uuid", "caller_id_number"),
        Index("ix_voice_conversations_domain_outcome", "domain_uuid", "outcome"),
        # the system's sweeps, across tenants (CROSS_TENANT_INDEXES): stale calls, ends whose work was not done
        Index("ix_voice_conversations_open_activity", "update_date", postgresql_where=sql("ended_at IS NULL")),
        Index(
            "ix_voice_conversations_unfinished",
            "ended_at",
            postgresql_where=sql("ended_at IS NOT NULL AND finished_at IS NULL"),
        ),
    )

    voice_conversation_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    voice_secretary_uuid: Mapped[uuid.UUID | None]
    call_uuid: Mapped[str] = mapped_column(Text)
    caller_id_number: Mapped[str | None] = mapped_column(Text)
    caller_id_name: Mapped[str | None] = mapped_column(Text)
    destination_number: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Text)
    transfer_destination: Mapped[str | None] = mapped_column(Text)
    transfer_department: Mapped[str | None] = mapped_column(Text)
    transfer_context: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    turn_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # end-of-call work done


class Message(Timestamps, Base):
    __tablename__ = "v_voice_messages"
    __table_args__ = (
        CheckConstraint(_in("role", MESSAGE_ROLES), name="ck_voice_messages_role"),
        ForeignKeyConstraint(
            ["domain_uuid", "voice_conversation_uuid"],
            ["v_voice_conversations.domain_uuid", "v_voice_conversations.voice_conversation_uuid"],
            ondelete="CASCADE",
            name="fk_voice_messages_conversation",
        ),
        Index("ix_voice_messages_domain_conversation", "domain_uuid", "voice_conversation_uuid", "turn_index"),
    )

    voice_message_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    voice_conversation_uuid: Mapped[uuid.UUID]
    turn_index: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    timings: Mapped[dict[str, Any]] = mapped_column(server_default=sql("'{}'::jsonb"))
    providers_used: Mapped[dict[str, Any]] = mapped_column(server_default=sql("'{}'::jsonb"))
    tool_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)  # the reply's tool calls (0013_tools)


class RateCounter(Timestamps, Base):
    """Requests made to one provider row in one minute (fixed window), for ``rate_limit_rpm``."""

    __tablename__ = "v_voice_ai_rate_counters"
    __table_args__ = (
        ForeignKeyConstraint(
            ["domain_uuid", "voice_ai_provider_uuid"],
            ["v_voice_ai_providers.domain_uuid", "v_voice_ai_providers.voice_ai_provider_uuid"],
            ondelete="CASCADE",
            name="fk_voice_ai_rate_counters_provider",
        ),
        Index("ix_voice_ai_rate_counters_domain_window", "domain_uuid", "window_start"),
    )

    domain_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("v_domains.domain_uuid", ondelete="CASCADE"), primary_key=True
    )
    voice_ai_provider_uuid: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, server_default=sql("0"))


class AudioClip(Timestamps, Base):
    """A synthesized reply or cached fixed phrase, served as WAV to the telephony side."""

    __tablename__ = "v_voice_ai_audio"
    __table_args__ = (
        Index(
            "uq_voice_ai_audio_cache",
            "domain_uuid",
            "cache_key",
            unique=True,
            postgresql_where=sql("cache_key IS NOT NULL"),
        ),
        Index("ix_voice_ai_audio_domain_expires", "domain_uuid", "expires_at"),
    )

    voice_ai_audio_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    cache_key: Mapped[str | None] = mapped_column(Text)
    wav: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    duration_ms: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Timestamps, Base):
    """A call-end notification to the secretary's webhook URL, and how its delivery went."""

    __tablename__ = "v_voice_ai_webhook_deliveries"
    __table_args__ = (
        CheckConstraint(_in("status", ("pending", "delivered", "dead")), name="ck_voice_ai_webhook_deliveries_status"),
        ForeignKeyConstraint(
            ["domain_uuid", "voice_conversation_uuid"],
            ["v_voice_conversations.domain_uuid", "v_voice_conversations.voice_conversation_uuid"],
            ondelete="CASCADE",
            name="fk_voice_ai_webhook_deliveries_conversation",
        ),
        Index("ix_voice_ai_webhook_deliveries_domain_conversation", "domain_uuid", "voice_conversation_uuid"),
        # the every-minute sweep of deliveries whose job was lost, across tenants (CROSS_TENANT_INDEXES)
        Index("ix_voice_ai_webhook_deliveries_pending", "update_date", postgresql_where=sql("status = 'pending'")),
    )

    voice_ai_webhook_delivery_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    voice_conversation_uuid: Mapped[uuid.UUID]
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(Text, server_default=sql("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Indexes for the system's own sweeps (the every-minute job), which look across tenants and so do not lead with
# domain_uuid; each is partial, so it holds only the few rows a sweep looks for.
CROSS_TENANT_INDEXES = (
    "ix_voice_conversations_open_activity",
    "ix_voice_conversations_unfinished",
    "ix_voice_ai_webhook_deliveries_pending",
)

TENANT_TABLES: tuple[str, ...] = (
    Provider.__tablename__,
    Secretary.__tablename__,
    TransferRule.__tablename__,
    Document.__tablename__,
    DocumentChunk.__tablename__,
    Conversation.__tablename__,
    Message.__tablename__,
    RateCounter.__tablename__,
    AudioClip.__tablename__,
    WebhookDelivery.__tablename__,
)


class Schedule(Timestamps, Base):
    """Opening hours stored by this service (issue 13, migration 0011; docs/opening-hours.md): weekly ``hours``
    and ``holidays`` (JSON lists, validated by the API) in ``time_zone``."""

    __tablename__ = "v_voice_schedules"
    __table_args__ = (
        UniqueConstraint("domain_uuid", "voice_schedule_uuid", name="uq_voice_schedules_domain"),
        Index("ix_voice_schedules_domain_name", "domain_uuid", "name"),
    )

    voice_schedule_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(Text, server_default=sql("'America/Sao_Paulo'"))
    hours: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=sql("'[]'::jsonb"))
    holidays: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=sql("'[]'::jsonb"))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=sql("true"))


TENANT_TABLES = (*TENANT_TABLES, Schedule.__tablename__)
# -- issue 13: messages callers leave (0012_caller_messages) -----------------------------------------------------
CALLER_MESSAGE_STATUSES = ("taking", "new", "read", "cancelled")
CALLER_MESSAGE_STEPS = ("name", "number", "body", "confirm")


class CallerMessage(Timestamps, Base):
    """A message a caller left with the secretary (not a turn: those are ``v_voice_messages``); ``step`` is what
    the secretary asked last while the message is being taken."""

    __tablename__ = "v_voice_caller_messages"
    __table_args__ = (
        CheckConstraint(_in("status", CALLER_MESSAGE_STATUSES), name="ck_voice_caller_messages_status"),
        CheckConstraint(_in("step", CALLER_MESSAGE_STEPS), name="ck_voice_caller_messages_step"),
        ForeignKeyConstraint(
            ["domain_uuid", "voice_conversation_uuid"],
            ["v_voice_conversations.domain_uuid", "v_voice_conversations.voice_conversation_uuid"],
            ondelete="CASCADE",
            name="fk_voice_caller_messages_conversation",
        ),
        Index("ix_voice_caller_messages_domain_conversation", "domain_uuid", "voice_conversation_uuid"),
        Index("ix_voice_caller_messages_domain_status", "domain_uuid", "status", "taken_at"),
        Index(
            "uq_voice_caller_messages_taking",
            "domain_uuid",
            "voice_conversation_uuid",
            unique=True,
            postgresql_where=sql("status = 'taking'"),
        ),
    )

    voice_caller_message_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    voice_conversation_uuid: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(Text, server_default=sql("'taking'"))
    step: Mapped[str | None] = mapped_column(Text)
    retries: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    caller_name: Mapped[str | None] = mapped_column(Text)
    callback_number: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    confirmed: Mapped[bool] = mapped_column(Boolean, server_default=sql("false"))
    language: Mapped[str | None] = mapped_column(Text)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailSettings(Timestamps, Base):
    """The tenant's SMTP server for messages by e-mail (standalone; FusionPBX mode reads FusionPBX's settings).
    ``smtp_secure`` as FusionPBX names it: none, tls (STARTTLS), ssl (TLS from the start)."""

    __tablename__ = "v_voice_ai_email_settings"
    __table_args__ = (
        CheckConstraint(_in("smtp_secure", ("none", "tls", "ssl")), name="ck_voice_ai_email_settings_secure"),
        CheckConstraint("smtp_port BETWEEN 1 AND 65535", name="ck_voice_ai_email_settings_port"),
        UniqueConstraint("domain_uuid", name="uq_voice_ai_email_settings_domain"),  # one per tenant
    )

    voice_ai_email_settings_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    smtp_host: Mapped[str] = mapped_column(Text)
    smtp_port: Mapped[int] = mapped_column(Integer, server_default=sql("587"))
    smtp_secure: Mapped[str] = mapped_column(Text, server_default=sql("'tls'"))
    smtp_username: Mapped[str | None] = mapped_column(Text)
    smtp_password: Mapped[str | None] = mapped_column(Text)  # encrypted (SecretBox)
    smtp_from: Mapped[str] = mapped_column(Text)
    smtp_from_name: Mapped[str | None] = mapped_column(Text)


TENANT_TABLES += (CallerMessage.__tablename__, EmailSettings.__tablename__)
TOOL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class Tool(Timestamps, Base):
    """A tenant's HTTP tool the LLM may call during a call (issue 13; ``voice_ai.tools``). ``headers`` values are
    encrypted; ``voice_secretary_uuid`` null: every secretary of the domain."""

    __tablename__ = "v_voice_tools"
    __table_args__ = (
        UniqueConstraint("domain_uuid", "name", name="uq_voice_tools_domain_name"),
        CheckConstraint(_in("method", TOOL_METHODS), name="ck_voice_tools_method"),
        CheckConstraint("timeout_s > 0 AND timeout_s <= 8", name="ck_voice_tools_timeout_s"),
        CheckConstraint("max_response_bytes BETWEEN 256 AND 262144", name="ck_voice_tools_max_response_bytes"),
        ForeignKeyConstraint(
            ["domain_uuid", "voice_secretary_uuid"],
            ["v_voice_secretaries.domain_uuid", "v_voice_secretaries.voice_secretary_uuid"],
            ondelete="CASCADE",
            name="fk_voice_tools_secretary",
        ),
    )

    voice_tool_uuid: Mapped[uuid.UUID] = _pk()
    domain_uuid: Mapped[uuid.UUID] = _domain_fk()
    voice_secretary_uuid: Mapped[uuid.UUID | None]
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(
        server_default=sql("""'{"type": "object", "properties": {}}'::jsonb""")
    )
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text, server_default=sql("'GET'"))
    headers: Mapped[dict[str, Any]] = mapped_column(server_default=sql("'{}'::jsonb"))
    timeout_s: Mapped[float] = mapped_column(Double, server_default=sql("3"))
    max_response_bytes: Mapped[int] = mapped_column(Integer, server_default=sql("16384"))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=sql("true"))


TENANT_TABLES = (*TENANT_TABLES, Tool.__tablename__)
