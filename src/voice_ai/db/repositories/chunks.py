"""Document chunks: replace a document's chunks, and hybrid retrieval (pgvector, full text, trigrams) for a tenant.

Vectors are searched through the per-dimension partial HNSW indexes of migration 0001: the query must use
the same expression (``embedding::vector(N)``) and predicate (``embedding_dims = N``) to use them. Trigrams
(``pg_trgm``, migration 0010) through the GIN index on ``search_text``; where the extension is missing the search
raises :class:`TrigramUnavailableError` (its failure is contained in a savepoint: the session goes on).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.db.models import DocumentChunk

HALFVEC_DIMS = frozenset({3072})
_UNDEFINED = frozenset({"42883", "42704"})  # undefined function/operator, undefined object (the opclass)


class TrigramUnavailableError(RuntimeError):
    """``pg_trgm`` is not installed in this database (see migration 0010)."""


@dataclass(frozen=True)
class StoredChunk:
    position: int
    heading: str
    content: str
    embedding: list[float] | None


@dataclass(frozen=True)
class Hit:
    chunk_uuid: uuid.UUID
    document_uuid: uuid.UUID
    document_name: str
    heading: str
    content: str
    rank: int
    score: float  # cosine similarity (vector hits), ts_rank (text hits) or summed word similarity (trigram hits)


def _vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


class ChunkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace(
        self,
        domain_uuid: uuid.UUID,
        document_uuid: uuid.UUID,
        chunks: Sequence[StoredChunk],
        *,
        model: str | None,
        ts_config: str,
    ) -> int:
        """Swap a document's chunks for ``chunks`` (one transaction: retrieval never sees half)."""
        await self.session.execute(
            delete(DocumentChunk).where(
                DocumentChunk.domain_uuid == domain_uuid, DocumentChunk.voice_document_uuid == document_uuid
            )
        )
        statement = text(
            "INSERT INTO v_voice_document_chunks (domain_uuid, voice_document_uuid, position, heading, content,"
            " embedding, embedding_dims, embedding_model, ts_config, content_tsv) VALUES (:domain, :document,"
            " :position, :heading, :content, CAST(:embedding AS vector), :dims, :model, :ts_config,"
            " to_tsvector(CAST(:cfg AS regconfig), :heading_text || ' ' || :content_text))"
        )
        rows = [
            {
                "domain": domain_uuid,
                "document": document_uuid,
                "position": c.position,
                "heading": c.heading,
                "content": c.content,
                "embedding": _vector_literal(c.embedding) if c.embedding is not None else None,
                "dims": len(c.embedding) if c.embedding is not None else None,
                "model": model if c.embedding is not None else None,
                "ts_config": ts_config,
                "cfg": ts_config,
                "heading_text": c.heading,
                "content_text": c.content,
            }
            for c in chunks
        ]
        if rows:
            await self.session.execute(statement, rows)
        return len(rows)

    async def vector_search(
        self, domain_uuid: uuid.UUID, query: Sequence[float], *, model: str, limit: int
    ) -> list[Hit]:
        dims = len(query)
        cast = f"halfvec({dims})" if dims in HALFVEC_DIMS else f"vector({dims})"
        await self.session.execute(text("SET LOCAL hnsw.ef_search = 100"))
        rows = await self.session.execute(
            text(
                f"SELECT c.voice_document_chunk_uuid, c.voice_document_uuid, d.name, coalesce(c.heading, ''),"  # noqa: S608
                f" c.content, 1 - (c.embedding::{cast} <=> CAST(:query AS {cast})) AS similarity"
                " FROM v_voice_document_chunks c JOIN v_voice_documents d"
                " ON d.domain_uuid = c.domain_uuid AND d.voice_document_uuid = c.voice_document_uuid"
                " WHERE c.domain_uuid = :domain AND c.embedding_dims = :dims AND c.embedding_model = :model"
                " AND d.enabled AND d.status = 'ready'"
                f" ORDER BY c.embedding::{cast} <=> CAST(:query AS {cast}) LIMIT :limit"
            ),
            {"domain": domain_uuid, "dims": dims, "model": model, "query": _vector_literal(query), "limit": limit},
        )
        return [Hit(r[0], r[1], r[2], r[3], r[4], i, float(r[5])) for i, r in enumerate(rows.all(), 1)]

    async def text_search(self, domain_uuid: uuid.UUID, query: str, *, ts_config: str, limit: int) -> list[Hit]:
        """Full text with OR semantics (a caller's question shares only some words with the answer)."""
        rows = await self.session.execute(
            text(
                "WITH q AS (SELECT nullif(replace(plainto_tsquery(CAST(:cfg AS regconfig), :query)::text, '&', '|'),"
                " '')::tsquery AS tsq)"
                " SELECT c.voice_document_chunk_uuid, c.voice_document_uuid, d.name, coalesce(c.heading, ''),"
                " c.content, ts_rank_cd(c.content_tsv, q.tsq) AS rank"
                " FROM q, v_voice_document_chunks c JOIN v_voice_documents d"
                " ON d.domain_uuid = c.domain_uuid AND d.voice_document_uuid = c.voice_document_uuid"
                " WHERE c.domain_uuid = :domain AND q.tsq IS NOT NULL AND c.content_tsv @@ q.tsq"
                " AND d.enabled AND d.status = 'ready'"
                " ORDER BY rank DESC LIMIT :limit"
            ),
            {"domain": domain_uuid, "cfg": ts_config, "query": query, "limit": limit},
        )
        return [Hit(r[0], r[1], r[2], r[3], r[4], i, float(r[5])) for i, r in enumerate(rows.all(), 1)]

    async def trigram_search(
        self, domain_uuid: uuid.UUID, words: Sequence[str], *, threshold: float, limit: int
    ) -> list[Hit]:
        """Chunks whose folded text holds something like the (folded) ``words``: each word that ``pg_trgm``'s
        ``word_similarity`` finds at ``threshold`` or more adds its similarity (``<%`` uses the GIN index)."""
        if not words:
            return []
        statement = text(
            "SELECT c.voice_document_chunk_uuid, c.voice_document_uuid, d.name, coalesce(c.heading, ''), c.content,"
            " sum(word_similarity(q.word, c.search_text)) AS score"
            " FROM unnest(CAST(:words AS text[])) AS q(word)"
            " JOIN v_voice_document_chunks c ON q.word <% c.search_text"
            " JOIN v_voice_documents d"
            " ON d.domain_uuid = c.domain_uuid AND d.voice_document_uuid = c.voice_document_uuid"
            " WHERE c.domain_uuid = :domain AND d.enabled AND d.status = 'ready'"
            " GROUP BY c.voice_document_chunk_uuid, c.voice_document_uuid, d.name, c.heading, c.content"
            " ORDER BY score DESC, c.voice_document_chunk_uuid LIMIT :limit"
        )
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"), {"t": str(threshold)}
                )
                rows = await self.session.execute(
                    statement, {"domain": domain_uuid, "words": list(words), "limit": limit}
                )
                found = rows.all()
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in _UNDEFINED:
                raise TrigramUnavailableError(str(exc.orig).splitlines()[0]) from exc
            raise
        return [Hit(r[0], r[1], r[2], r[3], r[4], i, float(r[5])) for i, r in enumerate(found, 1)]
