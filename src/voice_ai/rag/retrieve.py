"""Hybrid retrieval: pgvector cosine search and PostgreSQL full text, fused by reciprocal rank fusion.

Vector hits count only above ``min_similarity``; text hits always count (they share words with the
question). A tenant without embeddings (or whose embeddings provider fails) still gets full-text results.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.db.repositories.chunks import ChunkRepository, Hit
from voice_ai.providers.base import EmbeddingsProvider
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.types import Passage

logger = logging.getLogger(__name__)
RRF_K = 60
CANDIDATES = 20


def ts_config_for(language: str | None) -> str:
    """PostgreSQL text-search configuration for a language tag (``portuguese`` for pt, else ``simple``)."""
    lang = (language or "").lower()
    if lang.startswith("pt"):
        return "portuguese"
    if lang.startswith("en"):
        return "english"
    if lang.startswith("es"):
        return "spanish"
    return "simple"


@dataclass(frozen=True)
class Retrieved:
    passages: list[Passage]
    vector_hits: int
    text_hits: int


async def retrieve(
    session: AsyncSession,
    domain_uuid: uuid.UUID,
    query: str,
    *,
    embedder: EmbeddingsProvider | None,
    language: str | None = "pt-BR",
    top_k: int = 4,
    min_similarity: float = 0.78,
) -> Retrieved:
    repo = ChunkRepository(session)
    vector_hits: list[Hit] = []
    if embedder is not None:
        try:
            embedded = await embedder.embed([query], kind="query")
            vector_hits = await repo.vector_search(
                domain_uuid, embedded.vectors[0], model=embedded.model, limit=CANDIDATES
            )
        except ProviderError as exc:
            logger.warning("retrieval without vectors for tenant %s: %s", domain_uuid, exc)
    vector_hits = [h for h in vector_hits if h.score >= min_similarity]
    text_hits = await repo.text_search(domain_uuid, query, ts_config=ts_config_for(language), limit=CANDIDATES)
    fused: dict[uuid.UUID, tuple[float, Hit]] = {}
    for hits in (vector_hits, text_hits):
        for hit in hits:
            score, first = fused.get(hit.chunk_uuid, (0.0, hit))
            fused[hit.chunk_uuid] = (score + 1.0 / (RRF_K + hit.rank), first)
    ranked = sorted(fused.values(), key=lambda pair: pair[0], reverse=True)[:top_k]
    passages = [
        Passage(f"## {hit.heading}\n{hit.content}" if hit.heading else hit.content, hit.document_name, round(score, 5))
        for score, hit in ranked
    ]
    return Retrieved(passages, len(vector_hits), len(text_hits))
