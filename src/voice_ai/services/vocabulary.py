"""The words a tenant's callers are likely to say: recognition hints for STT (Whisper's initial prompt,
Deepgram keywords, Google phrase hints)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.db.repositories.entities import SecretaryRepository, TransferRuleRepository

MAX_WORDS = 100


async def tenant_vocabulary(
    session: AsyncSession, domain_uuid: uuid.UUID, secretary_uuid: uuid.UUID | None = None
) -> list[str]:
    """Company names, departments and rule keywords, de-duplicated, most specific first."""
    secretaries = await SecretaryRepository(session).list(domain_uuid, limit=50, offset=0, enabled=True)
    rules = await TransferRuleRepository(session).list(domain_uuid, limit=200, offset=0, enabled=True)
    words: list[str] = []
    for secretary in secretaries.items:
        if secretary_uuid in (None, secretary.voice_secretary_uuid) and secretary.company_name:
            words.append(secretary.company_name)
    for rule in rules.items:
        if rule.voice_secretary_uuid in (None, secretary_uuid) or secretary_uuid is None:
            words.append(rule.department_name)
            words.extend(rule.keywords)
    unique: dict[str, str] = {}
    for word in words:
        if word.strip():
            unique.setdefault(word.strip().lower(), word.strip())
    return list(unique.values())[:MAX_WORDS]


async def tenant_language(session: AsyncSession, domain_uuid: uuid.UUID, default: str = "pt-BR") -> str:
    """The language callers of this tenant speak: its (first) secretary's, else pt-BR."""
    secretaries = await SecretaryRepository(session).list(domain_uuid, limit=1, offset=0, enabled=True)
    return secretaries.items[0].language if secretaries.items else default
