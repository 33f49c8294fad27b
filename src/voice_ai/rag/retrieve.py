"""Hybrid retrieval: pgvector cosine search, PostgreSQL full text and ``pg_trgm`` trigrams, fused by reciprocal
rank fusion.

Vector hits count only above ``min_similarity``; text hits always count (they share words with the
question). A tenant without embeddings (or whose embeddings provider fails) still gets full-text results.

The trigram leg finds a passage by words that are only *nearly* in it — a transcript's *declaracao*, *orario*,
*escritoro* — each of the question's content words (four letters or more, accents folded) matched with
``word_similarity`` ≥ ``TRIGRAM_THRESHOLD`` against the chunk's folded text; it counts ``TRIGRAM_WEIGHT`` in the
fusion (a near word is weaker evidence: *atendimento* is near *rendimento*). ``expansions`` (tenant terms a
transcript's words sound like, :func:`voice_ai.understanding.repair.expand`) are added to the full-text query,
never to the vector one (a question's meaning is its own words). Where ``pg_trgm`` is missing
(migration 0010 could not create it) the leg is skipped with a warning — never a failed turn.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.db.repositories.chunks import ChunkRepository, Hit, TrigramUnavailableError
from voice_ai.providers.base import EmbeddingsProvider
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.text import STOP_WORDS, fold
from voice_ai.providers.types import Passage

logger = logging.getLogger(__name__)
RRF_K = 60
CANDIDATES = 20
TRIGRAM_THRESHOLD = 0.7
TRIGRAM_WEIGHT = 0.5  # a near-word is weaker evidence than a shared word or a close meaning
TRIGRAM_MIN_LETTERS = 4
TRIGRAM_MAX_WORDS = 16
_warned_no_trigrams = False


def trigram_words(query: str, expansions: Sequence[str] = ()) -> list[str]:
    """The folded content words of the query and its expansions the trigram leg looks for."""
    words: dict[str, None] = {}
    for text in (query, *expansions):
        for word in re.findall(r"[a-z0-9]+", fold(text)):
            if len(word) >= TRIGRAM_MIN_LETTERS and word not in STOP_WORDS and not word.isdigit():
                words.setdefault(word, None)
    return list(words)[:TRIGRAM_MAX_WORDS]


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
    trigram_hits: int = 0


async def retrieve(
    session: AsyncSession,
    domain_uuid: uuid.UUID,
    query: str,
    *,
    embedder: EmbeddingsProvider | None,
    language: str | None = "pt-BR",
    top_k: int = 4,
    min_similarity: float = 0.78,
    expansions: Sequence[str] = (),
    trigrams: bool = True,
    fuzzy_words: Sequence[str] | None = None,
) -> Retrieved:
    """The passages for ``query`` (the caller's words, repaired: :func:`voice_ai.understanding.repair.repair`);
    ``expansions`` widen the full-text leg; ``fuzzy_words``: what the trigram leg looks for (default: the query's
    content words; a caller that knows the tenant's lexicon passes only the words the documents do not hold, the
    ones full text cannot find); ``trigrams=False`` leaves the trigram leg out."""
    global _warned_no_trigrams
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
    text_query = " ".join([query, *expansions])
    text_hits = await repo.text_search(domain_uuid, text_query, ts_config=ts_config_for(language), limit=CANDIDATES)
    trigram_hits: list[Hit] = []
    if trigrams:
        try:
            trigram_hits = await repo.trigram_search(
                domain_uuid,
                trigram_words(query) if fuzzy_words is None else trigram_words(" ".join(fuzzy_words)),
                threshold=TRIGRAM_THRESHOLD,
                limit=CANDIDATES,
            )
        except TrigramUnavailableError as exc:
            log = logger.debug if _warned_no_trigrams else logger.warning
            _warned_no_trigrams = True
            log("retrieval without trigrams (pg_trgm is not installed in this database: see migration 0010): %s", exc)
    fused: dict[uuid.UUID, tuple[float, Hit]] = {}
    for hits, weight in ((vector_hits, 1.0), (text_hits, 1.0), (trigram_hits, TRIGRAM_WEIGHT)):
        for hit in hits:
            score, first = fused.get(hit.chunk_uuid, (0.0, hit))
            fused[hit.chunk_uuid] = (score + weight / (RRF_K + hit.rank), first)
    ranked = sorted(fused.values(), key=lambda pair: pair[0], reverse=True)[:top_k]
    passages = [
        Passage(f"## {hit.heading}\n{hit.content}" if hit.heading else hit.content, hit.document_name, round(score, 5))
        for score, hit in ranked
    ]
    return Retrieved(passages, len(vector_hits), len(text_hits), len(trigram_hits))
