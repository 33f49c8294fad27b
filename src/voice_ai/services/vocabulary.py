"""The words a tenant's callers are likely to say.

- :func:`tenant_lexicon`: the tenant's whole lexicon (:class:`voice_ai.understanding.lexicon.Lexicon`) from its
  company and department names, its rules' keywords and descriptions and its documents' text. Every turn reads it
  (speech recognition biases and rescores with it; understanding matches against it), so it is cached per
  process and tenant (and secretary), and rebuilt only when a cheap version of the tenant's documents (one
  round trip: counts and latest timestamps) or its names and keywords (read anyway on every turn) change.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.db.repositories.entities import SecretaryRepository, TransferRuleRepository
from voice_ai.db.repositories.vocabulary import DocumentsVersion, VocabularyRepository
from voice_ai.understanding.lexicon import Lexicon

MAX_KEYWORD_CHARS = 40  # a description's comma-separated part longer than this is prose, not a keyword
CACHE_SIZE = 256  # tenants (x secretaries) kept in memory per process

Fingerprint = tuple[DocumentsVersion, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
_cache: OrderedDict[tuple[uuid.UUID, uuid.UUID | None], tuple[Fingerprint, Lexicon]] = OrderedDict()
builds = 0  # lexicons built since the process started (tests and metrics: a cache hit builds none)


def _applies(rule: Any, secretary_uuid: uuid.UUID | None) -> bool:
    return secretary_uuid is None or rule.voice_secretary_uuid in (None, secretary_uuid)


def lexicon_sources(
    secretaries: Sequence[Any], rules: Sequence[Any], secretary_uuid: uuid.UUID | None
) -> tuple[list[str], list[str], list[str]]:
    """(names, keywords, prose) from the tenant's secretaries and enabled rules: company and department names;
    rule keywords and the short parts of rule descriptions ("boletos, segunda via"); longer description text is
    prose (counted like a document's words)."""
    names = [s.company_name for s in secretaries if secretary_uuid in (None, s.voice_secretary_uuid) and s.company_name]
    keywords: list[str] = []
    prose: list[str] = []
    for rule in rules:
        if not _applies(rule, secretary_uuid):
            continue
        names.append(rule.department_name)
        keywords.extend(rule.keywords)
        for part in re.split(r"[,;.\n]", rule.description or ""):
            if part.strip():
                (keywords if len(part.strip()) <= MAX_KEYWORD_CHARS else prose).append(part.strip())
    return names, keywords, prose


def document_text(chunks: Sequence[tuple[str, str]]) -> str:
    """The chunks as one Markdown text: each new heading as a ``##`` line (the lexicon keeps headings as phrases)."""
    lines: list[str] = []
    heading = None
    for title, content in chunks:
        if title and title != heading:
            lines.append(f"## {title}")
        heading = title
        lines.append(content)
    return "\n".join(lines)


async def tenant_lexicon(
    session: AsyncSession,
    domain_uuid: uuid.UUID,
    secretary_uuid: uuid.UUID | None = None,
    *,
    rules: Sequence[Any] | None = None,
) -> Lexicon:
    """The tenant's lexicon (only its own rows: every query filters by ``domain_uuid``). ``rules``: the tenant's
    enabled transfer rules when the caller has read them already (a turn has)."""
    global builds
    secretaries = (await SecretaryRepository(session).list(domain_uuid, limit=50, offset=0, enabled=True)).items
    if rules is None:
        rules = (await TransferRuleRepository(session).list(domain_uuid, limit=500, offset=0, enabled=True)).items
    names, keywords, prose = lexicon_sources(secretaries, rules, secretary_uuid)
    repository = VocabularyRepository(session)
    fingerprint: Fingerprint = (
        await repository.documents_version(domain_uuid),
        tuple(names),
        tuple(keywords),
        tuple(prose),
    )
    key = (domain_uuid, secretary_uuid)
    cached = _cache.get(key)
    if cached is not None and cached[0] == fingerprint:
        _cache.move_to_end(key)
        return cached[1]
    documents = [document_text(await repository.document_texts(domain_uuid)), *prose]
    # off the event loop: a tenant with large documents takes a while, and other calls' turns go on meanwhile
    lexicon = await asyncio.to_thread(partial(Lexicon.build, names=names, keywords=keywords, documents=documents))
    builds += 1
    _cache[key] = (fingerprint, lexicon)
    _cache.move_to_end(key)
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return lexicon


async def tenant_language(session: AsyncSession, domain_uuid: uuid.UUID, default: str = "pt-BR") -> str:
    """The language callers of this tenant speak: its (first) secretary's, else pt-BR."""
    secretaries = await SecretaryRepository(session).list(domain_uuid, limit=1, offset=0, enabled=True)
    return secretaries.items[0].language if secretaries.items else default
