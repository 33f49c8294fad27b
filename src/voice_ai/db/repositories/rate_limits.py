"""Fixed one-minute windows of provider calls, counted in PostgreSQL so every instance sees the same."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_COUNT = text(
    """
    INSERT INTO v_voice_ai_rate_counters (domain_uuid, voice_ai_provider_uuid, window_start, calls)
    VALUES (:domain, :provider, date_trunc('minute', now()), 1)
    ON CONFLICT (domain_uuid, voice_ai_provider_uuid, window_start)
    DO UPDATE SET calls = v_voice_ai_rate_counters.calls + 1, update_date = now()
    RETURNING calls, extract(epoch FROM date_trunc('minute', now()) + interval '1 minute' - now())
    """
)


class RateCounterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hit(self, domain_uuid: uuid.UUID, provider_uuid: uuid.UUID) -> tuple[int, float]:
        """Count one call; return the calls in the current minute and the seconds until it ends."""
        row = (await self.session.execute(_COUNT, {"domain": domain_uuid, "provider": provider_uuid})).one()
        return int(row[0]), float(row[1])

    async def prune(self, domain_uuid: uuid.UUID) -> None:
        await self.session.execute(
            text(
                "DELETE FROM v_voice_ai_rate_counters WHERE domain_uuid = :domain "
                "AND window_start < now() - interval '10 minutes'"
            ),
            {"domain": domain_uuid},
        )
