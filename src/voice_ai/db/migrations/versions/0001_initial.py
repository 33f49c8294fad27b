"""Initial schema: pgvector, v_domains (standalone only) and the v_voice_* tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from voice_ai.db.migrate import STANDALONE_MARKER, MigrationError, PgvectorMissingError

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Dimensions of the embedding models people actually use (e5-small 384, e5-base/nomic 768,
# e5-large/bge-m3 1024, OpenAI small/ada 1536); 3072 (OpenAI large) is indexed as halfvec because
# HNSW on vector stops at 2000 dimensions.
HNSW_DIMS = (384, 768, 1024, 1536)
HNSW_HALFVEC_DIMS = (3072,)

TS = "insert_date timestamptz NOT NULL DEFAULT now(), update_date timestamptz NOT NULL DEFAULT now()"
DOMAIN = "domain_uuid uuid NOT NULL REFERENCES v_domains(domain_uuid) ON DELETE CASCADE"


MIN_SERVER_VERSION = 15  # ON DELETE SET NULL (column) needs PostgreSQL 15


def _check_server_version() -> None:
    version = int(op.get_bind().execute(text("SHOW server_version_num")).scalar_one())
    if version // 10000 < MIN_SERVER_VERSION:
        raise MigrationError(
            f"PostgreSQL {version // 10000} is too old: this service needs PostgreSQL {MIN_SERVER_VERSION} or "
            "newer (Debian 12 ships 15). Upgrade the server, or leave VOICE_AI_DATABASE_URL unset to use the "
            "embedded PostgreSQL."
        )


def _ensure_pgvector() -> None:
    bind = op.get_bind()
    if bind.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")).first():
        return
    major = int(bind.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    database = bind.execute(text("SELECT current_database()")).scalar_one()
    available = bind.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first()
    if not available:
        raise PgvectorMissingError(
            f"The PostgreSQL extension 'vector' (pgvector) is not installed on this PostgreSQL {major} "
            f"server. Install it on the database host: the package postgresql-{major}-pgvector from your "
            f"distribution or, where it has none (Debian 12 for PostgreSQL 15), from the PostgreSQL project's apt "
            f"repository or built from source (docs/fusionpbx.md); then, as a superuser, run once: "
            f'psql -d {database} -c "CREATE EXTENSION vector;" and start the service again.'
        )
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except DBAPIError as exc:
        raise PgvectorMissingError(
            f"pgvector is installed but this database role cannot create the 'vector' extension "
            f"({exc.orig}). Creating it needs a superuser once: run "
            f'sudo -u postgres psql -d {database} -c "CREATE EXTENSION vector;" '
            f"and start the service again."
        ) from None


def _script(sql: str) -> None:
    """Run several statements: asyncpg prepares each statement, so they go one at a time."""
    for statement in sql.split(";\n"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _check_server_version()
    _ensure_pgvector()
    bind = op.get_bind()
    if bind.execute(text("SELECT to_regclass('v_domains')")).scalar_one() is None:
        op.execute(
            """
            CREATE TABLE v_domains (
                domain_uuid uuid PRIMARY KEY,
                domain_parent_uuid uuid,
                domain_name text NOT NULL,
                domain_enabled boolean NOT NULL DEFAULT true,
                domain_description text,
                insert_date timestamptz DEFAULT now(),
                insert_user uuid,
                update_date timestamptz,
                update_user uuid
            )"""
        )
        op.execute("CREATE UNIQUE INDEX uq_v_domains_name ON v_domains (lower(domain_name))")
        op.execute(f"COMMENT ON TABLE v_domains IS '{STANDALONE_MARKER}'")

    _script(
        f"""
        CREATE TABLE v_voice_ai_providers (
            voice_ai_provider_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            {DOMAIN},
            provider_type text NOT NULL,
            provider_name text NOT NULL,
            description text,
            config jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            is_default boolean NOT NULL DEFAULT false,
            priority integer NOT NULL DEFAULT 100,
            rate_limit_rpm integer,
            enabled boolean NOT NULL DEFAULT true,
            {TS},
            CONSTRAINT ck_voice_ai_providers_type CHECK (provider_type IN ('stt', 'tts', 'llm', 'embeddings')),
            CONSTRAINT uq_voice_ai_providers_domain UNIQUE (domain_uuid, voice_ai_provider_uuid)
        );
        CREATE INDEX ix_voice_ai_providers_domain_type
            ON v_voice_ai_providers (domain_uuid, provider_type, priority);
        CREATE UNIQUE INDEX uq_voice_ai_providers_one_default
            ON v_voice_ai_providers (domain_uuid, provider_type) WHERE is_default;
        """
    )
    provider_fks = ",\n".join(
        f"""CONSTRAINT fk_voice_secretaries_{kind} FOREIGN KEY (domain_uuid, {kind}_provider_uuid)
            REFERENCES v_voice_ai_providers (domain_uuid, voice_ai_provider_uuid)
            ON DELETE SET NULL ({kind}_provider_uuid)"""
        for kind in ("stt", "tts", "llm", "embeddings")
    )
    _script(
        f"""
        CREATE TABLE v_voice_secretaries (
            voice_secretary_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            {DOMAIN},
            name text NOT NULL,
            extension text,
            language text NOT NULL DEFAULT 'pt-BR',
            company_name text,
            personality_prompt text,
            greeting text,
            farewell text,
            operator_destination text,
            operator_context text,
            max_turns integer NOT NULL DEFAULT 10,
            silence_threshold integer NOT NULL DEFAULT 300,
            silence_seconds integer NOT NULL DEFAULT 2,
            max_record_seconds integer NOT NULL DEFAULT 15,
            tts_voice text,
            stt_provider_uuid uuid,
            tts_provider_uuid uuid,
            llm_provider_uuid uuid,
            embeddings_provider_uuid uuid,
            webhook_url text,
            webhook_secret text,
            enabled boolean NOT NULL DEFAULT true,
            {TS},
            CONSTRAINT uq_voice_secretaries_domain UNIQUE (domain_uuid, voice_secretary_uuid),
            {provider_fks}
        );
        CREATE UNIQUE INDEX uq_voice_secretaries_extension
            ON v_voice_secretaries (domain_uuid, extension) WHERE extension IS NOT NULL;
        CREATE INDEX ix_voice_secretaries_domain_name ON v_voice_secretaries (domain_uuid, name);

        CREATE TABLE v_voice_transfer_rules (
            voice_transfer_rule_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            {DOMAIN},
            voice_secretary_uuid uuid,
            department_name text NOT NULL,
            description text,
            keywords text[] NOT NULL DEFAULT '{{}}'::text[],
            destination_number text NOT NULL,
            destination_context text,
            priority integer NOT NULL DEFAULT 100,
            enabled boolean NOT NULL DEFAULT true,
            {TS},
            CONSTRAINT fk_voice_transfer_rules_secretary FOREIGN KEY (domain_uuid, voice_secretary_uuid)
                REFERENCES v_voice_secretaries (domain_uuid, voice_secretary_uuid) ON DELETE CASCADE
        );
        CREATE INDEX ix_voice_transfer_rules_domain_priority ON v_voice_transfer_rules (domain_uuid, priority);

        CREATE TABLE v_voice_documents (
            voice_document_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            {DOMAIN},
            name text NOT NULL,
            mime_type text NOT NULL,
            size_bytes bigint NOT NULL DEFAULT 0,
            sha256 text,
            status text NOT NULL DEFAULT 'queued',
            error text,
            chunk_count integer NOT NULL DEFAULT 0,
            enabled boolean NOT NULL DEFAULT true,
            {TS},
            CONSTRAINT ck_voice_documents_status CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
            CONSTRAINT uq_voice_documents_domain UNIQUE (domain_uuid, voice_document_uuid)
        );
        CREATE UNIQUE INDEX uq_voice_documents_sha256
            ON v_voice_documents (domain_uuid, sha256) WHERE sha256 IS NOT NULL;
        CREATE INDEX ix_voice_documents_domain_status ON v_voice_documents (domain_uuid, status);

        CREATE TABLE v_voice_document_chunks (
            voice_document_chunk_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            {DOMAIN},
            voice_document_uuid uuid NOT NULL,
            position integer NOT NULL,
            content text NOT NULL,
            heading text,
            embedding vector,
            embedding_dims integer,
            embedding_model text,
            ts_config text NOT NULL DEFAULT 'simple',
            content_tsv tsvector,
            {TS},
            CONSTRAINT fk_voice_document_chunks_document FOREIGN KEY (domain_uuid, voice_document_uuid)
                REFERENCES v_voice_documents (domain_uuid, voice_document_uuid) ON DELETE CASCADE
        );
        CREATE INDEX ix_voice_document_chunks_domain_document
            ON v_voice_document_chunks (domain_uuid, voice_document_uuid, position);
        CREATE INDEX ix_voice_document_chunks_tsv ON v_voice_document_chunks USING gin (content_tsv);

        CREATE TABLE v_voice_conversations (
            voice_conversation_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            {DOMAIN},
            voice_secretary_uuid uuid,
            call_uuid text NOT NULL,
            caller_id_number text,
            caller_id_name text,
            destination_number text,
            language text,
            started_at timestamptz NOT NULL DEFAULT now(),
            ended_at timestamptz,
            outcome text,
            transfer_destination text,
            transfer_department text,
            summary text,
            turn_count integer NOT NULL DEFAULT 0,
            {TS},
            CONSTRAINT ck_voice_conversations_outcome
                CHECK (outcome IN ('resolved', 'transferred', 'hangup', 'abandoned', 'error')),
            CONSTRAINT uq_voice_conversations_domain UNIQUE (domain_uuid, voice_conversation_uuid),
            CONSTRAINT uq_voice_conversations_call UNIQUE (domain_uuid, call_uuid),
            CONSTRAINT fk_voice_conversations_secretary FOREIGN KEY (domain_uuid, voice_secretary_uuid)
                REFERENCES v_voice_secretaries (domain_uuid, voice_secretary_uuid)
                ON DELETE SET NULL (voice_secretary_uuid)
        );
        CREATE INDEX ix_voice_conversations_domain_started ON v_voice_conversations (domain_uuid, started_at);
        CREATE INDEX ix_voice_conversations_domain_caller ON v_voice_conversations (domain_uuid, caller_id_number);
        CREATE INDEX ix_voice_conversations_domain_outcome ON v_voice_conversations (domain_uuid, outcome);

        CREATE TABLE v_voice_messages (
            voice_message_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            {DOMAIN},
            voice_conversation_uuid uuid NOT NULL,
            turn_index integer NOT NULL,
            role text NOT NULL,
            text text NOT NULL,
            action text,
            timings jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            providers_used jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            {TS},
            CONSTRAINT ck_voice_messages_role CHECK (role IN ('system', 'user', 'assistant')),
            CONSTRAINT fk_voice_messages_conversation FOREIGN KEY (domain_uuid, voice_conversation_uuid)
                REFERENCES v_voice_conversations (domain_uuid, voice_conversation_uuid) ON DELETE CASCADE
        );
        CREATE INDEX ix_voice_messages_domain_conversation
            ON v_voice_messages (domain_uuid, voice_conversation_uuid, turn_index);
        """
    )
    for dims in HNSW_DIMS:
        op.execute(
            f"CREATE INDEX ix_voice_document_chunks_hnsw_{dims} ON v_voice_document_chunks "
            f"USING hnsw ((embedding::vector({dims})) vector_cosine_ops) WHERE embedding_dims = {dims}"
        )
    for dims in HNSW_HALFVEC_DIMS:
        op.execute(
            f"CREATE INDEX ix_voice_document_chunks_hnsw_{dims} ON v_voice_document_chunks "
            f"USING hnsw ((embedding::halfvec({dims})) halfvec_cosine_ops) WHERE embedding_dims = {dims}"
        )


def downgrade() -> None:
    for table in (
        "v_voice_messages",
        "v_voice_conversations",
        "v_voice_document_chunks",
        "v_voice_documents",
        "v_voice_transfer_rules",
        "v_voice_secretaries",
        "v_voice_ai_providers",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    comment = op.get_bind().execute(text("SELECT obj_description('v_domains'::regclass, 'pg_class')")).scalar()
    if comment == STANDALONE_MARKER:
        op.execute("DROP TABLE v_domains")
