"""What the tenant's lexicon is built from (:func:`voice_ai.services.vocabulary.tenant_lexicon`): the text of its
documents as retrieval sees them, and a cheap version of that text to know when a cached lexicon is stale."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

MAX_CHUNKS = 5000  # a lexicon needs the words, not every page of a huge manual


@dataclass(frozen=True)
class DocumentsVersion:
    """Changes whenever the tenant's retrievable text may have: a document added, removed, enabled, disabled or
    (re)indexed (its row's ``update_date`` moves; re-indexing inserts new chunk rows)."""

    documents: int
    documents_updated: datetime | None
    chunks: int
    chunks_inserted: datetime | None


class VocabularyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def documents_version(self, domain_uuid: uuid.UUID) -> DocumentsVersion:
        """One round trip over two indexed aggregates of this tenant's rows."""
        row = (
            await self.session.execute(
                text(
                    "SELECT (SELECT count(*) FROM v_voice_documents WHERE domain_uuid = :domain),"
                    " (SELECT max(update_date) FROM v_voice_documents WHERE domain_uuid = :domain),"
                    " (SELECT count(*) FROM v_voice_document_chunks WHERE domain_uuid = :domain),"
                    " (SELECT max(insert_date) FROM v_voice_document_chunks WHERE domain_uuid = :domain)"
                ),
                {"domain": domain_uuid},
            )
        ).one()
        return DocumentsVersion(int(row[0]), row[1], int(row[2]), row[3])

    async def document_texts(self, domain_uuid: uuid.UUID, *, limit: int = MAX_CHUNKS) -> list[tuple[str, str]]:
        """(heading, content) of the tenant's retrievable chunks (enabled, indexed documents), in document order."""
        rows = await self.session.execute(
            text(
                "SELECT coalesce(c.heading, ''), c.content FROM v_voice_document_chunks c JOIN v_voice_documents d"
                " ON d.domain_uuid = c.domain_uuid AND d.voice_document_uuid = c.voice_document_uuid"
                " WHERE c.domain_uuid = :domain AND d.enabled AND d.status = 'ready'"
                " ORDER BY d.insert_date, d.voice_document_uuid, c.position LIMIT :limit"
            ),
            {"domain": domain_uuid, "limit": limit},
        )
        return [(str(r[0]), str(r[1])) for r in rows.all()]
