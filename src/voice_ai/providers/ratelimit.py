"""Per-tenant, per-provider rate limits (``rate_limit_rpm``) enforced across service instances.

A fixed one-minute window counted in PostgreSQL: one round trip per limited call, no extra server.
Over the limit, a call's fallback chain moves to the next provider; an admin request gets a 429.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voice_ai.db.repositories.rate_limits import RateCounterRepository

PRUNE_EVERY = 200


class PostgresRateLimiter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._calls = 0

    async def allow(self, domain_uuid: uuid.UUID, provider_uuid: uuid.UUID, limit_rpm: int) -> tuple[bool, float]:
        """Count this call; (whether it is within the limit, seconds until the minute ends)."""
        self._calls += 1
        async with self._sessionmaker() as session, session.begin():
            repo = RateCounterRepository(session)
            calls, remaining_s = await repo.hit(domain_uuid, provider_uuid)
            if self._calls % PRUNE_EVERY == 0:
                await repo.prune(domain_uuid)
        return calls <= limit_rpm, remaining_s
