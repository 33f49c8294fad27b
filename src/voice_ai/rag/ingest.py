"""Ingestion of one document: extract → chunk → embed → store, with its status kept in the document row
(queued → processing → ready | failed, with the error a person can act on)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voice_ai.db.models import Document
from voice_ai.db.repositories.chunks import ChunkRepository, StoredChunk
from voice_ai.db.repositories.entities import DocumentRepository
from voice_ai.providers.base import EmbeddingsProvider
from voice_ai.providers.errors import ProviderError
from voice_ai.rag.extract import DocumentError
from voice_ai.rag.retrieve import ts_config_for
from voice_ai.rag.worker import WORKER, IndexLimits, IndexWorker, extract_and_chunk

logger = logging.getLogger(__name__)
EMBED_BATCH = 32
Progress = Callable[[int, int], None]  # (chunks embedded, chunks in total)
DEFAULT_LIMITS = IndexLimits()


async def _set(
    sessionmaker: async_sessionmaker[AsyncSession], domain_uuid: uuid.UUID, document_uuid: uuid.UUID, **values: object
) -> None:
    async with sessionmaker() as session, session.begin():
        repo = DocumentRepository(session)
        row = await repo.get(domain_uuid, document_uuid)
        if row is not None:
            await repo.update(row, values)


async def ingest_document(
    sessionmaker: async_sessionmaker[AsyncSession],
    domain_uuid: uuid.UUID,
    document_uuid: uuid.UUID,
    *,
    embedder: EmbeddingsProvider | None,
    progress: Progress | None = None,
    limits: IndexLimits = DEFAULT_LIMITS,
    worker: IndexWorker = WORKER,
) -> Document | None:
    """Index a stored document; returns the updated row (``None`` when it was deleted meanwhile).

    Extraction, chunking and local embeddings run in the indexing worker process (``rag.worker``): nothing here
    holds the event loop or the calls' CPU for long, whatever the document."""
    async with sessionmaker() as session:
        repo = DocumentRepository(session)
        row = await repo.get(domain_uuid, document_uuid)
        if row is None:
            return None
        data, name, mime, language = (
            await repo.content_of(domain_uuid, document_uuid),
            row.name,
            row.mime_type,
            row.language,
        )
    await _set(sessionmaker, domain_uuid, document_uuid, status="processing", error=None, progress=0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.timeout_s
    try:
        if not data:
            raise DocumentError("the document has no stored content; upload it again")
        chunks = await worker.run(
            extract_and_chunk,
            data,
            name,
            mime,
            limits,
            budget_s=min(limits.extract_timeout_s, limits.timeout_s),
            what="extracting the text",
        )
        vectors: list[list[float] | None] = [None] * len(chunks)
        model = None
        encoder = embedder.passage_encoder() if embedder is not None else None
        if embedder is not None:
            for start in range(0, len(chunks), EMBED_BATCH):
                batch = chunks[start : start + EMBED_BATCH]
                texts = [c.embedding_text for c in batch]
                left = deadline - loop.time()
                if left <= 0:
                    raise DocumentError(
                        f"indexing took longer than {limits.timeout_s:.0f} s, the time a document may take; split it"
                    )
                if encoder is not None:
                    vectors[start : start + len(batch)] = await worker.run(
                        encoder[0], texts, budget_s=left, what="computing the embeddings"
                    )
                    model = encoder[1]
                else:
                    embedded = await embedder.embed(texts, kind="passage")
                    vectors[start : start + len(batch)] = embedded.vectors
                    model = embedded.model
                done = start + len(batch)
                if progress is not None:
                    progress(done, len(chunks))
                if done < len(chunks):  # visible in the API while the rest is embedded
                    await _set(sessionmaker, domain_uuid, document_uuid, progress=int(90 * done / len(chunks)))
        stored = [StoredChunk(c.position, c.heading, c.content, v) for c, v in zip(chunks, vectors, strict=True)]
        async with sessionmaker() as session, session.begin():
            count = await ChunkRepository(session).replace(
                domain_uuid, document_uuid, stored, model=model, ts_config=ts_config_for(language)
            )
            repo = DocumentRepository(session)
            row = await repo.get(domain_uuid, document_uuid)
            if row is None:  # deleted while we worked: its chunks went with it (cascade)
                return None
            return await repo.update(row, {"status": "ready", "chunk_count": count, "error": None, "progress": 100})
    except (DocumentError, ProviderError) as exc:
        logger.warning("document %s of tenant %s failed: %s", document_uuid, domain_uuid, exc)
        await _set(sessionmaker, domain_uuid, document_uuid, status="failed", error=str(exc)[:1000])
    except Exception as exc:
        logger.exception("document %s of tenant %s failed unexpectedly", document_uuid, domain_uuid)
        await _set(
            sessionmaker, domain_uuid, document_uuid, status="failed", error=f"internal error: {type(exc).__name__}"
        )
    async with sessionmaker() as session:
        return await DocumentRepository(session).get(domain_uuid, document_uuid)
