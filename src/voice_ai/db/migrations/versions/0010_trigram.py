"""Character-level retrieval: ``pg_trgm`` trigram search over a chunk's accent-folded text, the third retrieval leg
beside vectors and full text (a transcript's *declaracao*, *orário* or *menta lidar* still find their passage).

``search_text`` is a generated column: the heading and content, lower-case, accents folded with ``translate`` (an
immutable built-in: no ``unaccent`` extension needed). The GIN trigram index needs the ``pg_trgm`` extension: a
*trusted* extension since PostgreSQL 13, which the database's owner (or any role with CREATE on the database) may
create — the usual case for this service's own database and for FusionPBX's. Where the role may not (nor anyone
created it before), the migration does not fail: it logs a warning and leaves the index out; retrieval then skips
its trigram leg with a warning (``voice_ai.rag.retrieve``) and the service works as before. A superuser may run
``CREATE EXTENSION pg_trgm;`` later and the index comes with the next migration (or by hand:
``CREATE INDEX ix_voice_document_chunks_trgm ON v_voice_document_chunks USING gin (search_text gin_trgm_ops);``).

The downgrade drops the index and the column but leaves the extension (other software on a shared database may use
it).

Revision ID: 0010_trigram
Revises: 0009_secretary_streaming
Create Date: 2026-11-30
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision: str = "0010_trigram"
down_revision: str | None = "0009_secretary_streaming"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("voice_ai.db.migrations")

# lower-case accented letters of the languages served, and what they fold to (the same as Python's fold() for them)
ACCENTED = "áàâãäåéèêëíìîïóòôõöúùûüçñýÿ"
FOLDED = "aaaaaaeeeeiiiiooooouuuucnyy"
SEARCH_TEXT = f"translate(lower(coalesce(heading, '') || ' ' || content), '{ACCENTED}', '{FOLDED}')"


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE v_voice_document_chunks ADD COLUMN search_text text GENERATED ALWAYS AS ({SEARCH_TEXT}) STORED"
    )
    if _ensure_pg_trgm():
        op.execute(
            "CREATE INDEX ix_voice_document_chunks_trgm ON v_voice_document_chunks USING gin (search_text gin_trgm_ops)"
        )


def _ensure_pg_trgm() -> bool:
    bind = op.get_bind()
    if bind.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        return True
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError as exc:
        logger.warning(
            "pg_trgm could not be created (%s): retrieval runs without its trigram leg. A superuser may run "
            "'CREATE EXTENSION pg_trgm;' in this database, then create ix_voice_document_chunks_trgm (see 0010_trigram).",
            str(exc.orig).splitlines()[0] if exc.orig else exc,
        )
        return False
    return True


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_voice_document_chunks_trgm")
    op.execute("ALTER TABLE v_voice_document_chunks DROP COLUMN IF EXISTS search_text")
