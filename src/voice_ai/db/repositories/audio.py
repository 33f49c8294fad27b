"""Stored audio clips: replies (expiring) and fixed phrases (cached by key, kept)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.db.models import AudioClip


class AudioRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def cached(self, domain_uuid: uuid.UUID, cache_key: str) -> uuid.UUID | None:
        found = await self.session.scalar(
            select(AudioClip.voice_ai_audio_uuid).where(
                AudioClip.domain_uuid == domain_uuid, AudioClip.cache_key == cache_key
            )
        )
        return found

    async def cached_many(self, domain_uuid: uuid.UUID, cache_keys: list[str]) -> dict[str, uuid.UUID]:
        """The clips already stored under these keys (one query for a secretary's fixed phrases)."""
        if not cache_keys:
            return {}
        rows = await self.session.execute(
            select(AudioClip.cache_key, AudioClip.voice_ai_audio_uuid).where(
                AudioClip.domain_uuid == domain_uuid, AudioClip.cache_key.in_(cache_keys)
            )
        )
        return {str(key): clip for key, clip in rows}

    async def store(
        self, domain_uuid: uuid.UUID, wav: bytes, duration_ms: int, *, cache_key: str | None, ttl: timedelta | None
    ) -> uuid.UUID:
        """Store a clip; for a cached phrase the clip already stored under ``cache_key`` wins (two calls may
        synthesise the same phrase at once: the second one's INSERT waits for the first and then uses it)."""
        statement = pg_insert(AudioClip).values(
            domain_uuid=domain_uuid,
            wav=wav,
            duration_ms=duration_ms,
            cache_key=cache_key,
            expires_at=datetime.now(UTC) + ttl if ttl else None,
        )
        if cache_key is not None:
            statement = statement.on_conflict_do_nothing(
                index_elements=[AudioClip.domain_uuid, AudioClip.cache_key],
                index_where=AudioClip.cache_key.is_not(None),
            )
        stored: uuid.UUID | None = await self.session.scalar(statement.returning(AudioClip.voice_ai_audio_uuid))
        if stored is None and cache_key is not None:
            stored = await self.cached(domain_uuid, cache_key)
        if stored is None:
            raise RuntimeError("the audio clip was not stored")
        return stored

    async def wav(self, audio_uuid: uuid.UUID) -> bytes | None:
        """By id alone: ids are unguessable (random UUIDs) and FreeSWITCH fetches them by URL."""
        value = await self.session.scalar(
            select(AudioClip.wav).where(
                AudioClip.voice_ai_audio_uuid == audio_uuid,
                (AudioClip.expires_at.is_(None)) | (AudioClip.expires_at > datetime.now(UTC)),
            )
        )
        return bytes(value) if value is not None else None

    async def purge_expired(self) -> int:
        result = await self.session.execute(delete(AudioClip).where(AudioClip.expires_at < datetime.now(UTC)))
        return int(getattr(result, "rowcount", 0) or 0)
