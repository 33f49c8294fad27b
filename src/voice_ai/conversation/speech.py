"""The speech stage, shared by turn-based and streaming calls: text to speech within the turn's deadline, and the
audio cache of a secretary's fixed phrases.

Clips stored in the database are 8 kHz WAV (what the turn-based call flow fetches by URL). A streaming call that
wants another rate gets a cached phrase decoded and resampled, and a phrase synthesised at its own rate is not
cached (the cache stays 8 kHz).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.conversation.budget import ESPEAK_RESERVE_S, run_in_time
from voice_ai.conversation.spoken import spoken
from voice_ai.db.models import Secretary
from voice_ai.db.repositories.audio import AudioRepository
from voice_ai.providers import deadline
from voice_ai.providers.audio import Audio
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.manager import FallbackChain

logger = logging.getLogger(__name__)
REPLY_TTL = timedelta(hours=2)
CACHE_RATE = 8000  # the rate of every stored clip


@dataclass
class Spoken:
    """A phrase to play: a clip already stored (cached), or one synthesised now that the caller stores (``wav``)
    in its own transaction — a turn writes its clip together with its messages. ``audio``: the samples, at the
    rate asked for (streaming calls play them directly)."""

    text: str
    audio_uuid: uuid.UUID | None
    provider: str | None
    ms: float
    wav: bytes | None = None
    duration_ms: int = 0
    cache_key: str | None = None
    audio: Audio | None = None


def ms_since(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


async def synthesize(
    chain: FallbackChain[Any],
    secretary: Secretary,
    text: str,
    cache_key: str | None,
    *,
    sample_rate: int = CACHE_RATE,
    keep_wav: bool = True,
) -> Spoken:
    """Text to speech, with no database connection held. Within a deadline the configured TTS must answer
    ``ESPEAK_RESERVE_S`` before it, eSpeak after; when nothing speaks, no clip (the Lua plays a local sound, a
    streaming call skips the sentence's audio)."""
    started = time.perf_counter()
    said = spoken(text, secretary.language)  # "R$ 180,00" → "cento e oitenta reais": the stored text keeps digits
    left = deadline.remaining()
    end = deadline.now() + (left if left is not None else 3600.0)
    try:
        speech = await run_in_time(
            chain,
            lambda p: p.synthesize(
                said, voice=secretary.tts_voice, language=secretary.language, sample_rate=sample_rate
            ),
            until=end - min(ESPEAK_RESERVE_S, max(left or 0.0, 0.0) / 2),
            last=end,
        )
    except ProviderError as exc:
        logger.error("tenant %s: no TTS could speak a reply: %s", secretary.domain_uuid, exc)
        return Spoken(text, None, None, ms_since(started))
    return Spoken(
        text,
        None,
        speech.info.provider,
        ms_since(started),
        speech.audio.wav() if keep_wav else None,
        int(speech.audio.duration_s * 1000),
        cache_key if keep_wav else None,
        speech.audio,
    )


async def store_clip(session: AsyncSession, domain_uuid: uuid.UUID, spoken: Spoken) -> None:
    """Store a clip synthesised by :func:`synthesize` (a cached phrase another call stored meanwhile wins). Expired
    replies are deleted by the every-minute job, never inside a turn."""
    if spoken.wav is None:
        return
    spoken.audio_uuid = await AudioRepository(session).store(
        domain_uuid,
        spoken.wav,
        spoken.duration_ms,
        cache_key=spoken.cache_key,
        ttl=None if spoken.cache_key else REPLY_TTL,
    )


async def cached_audio(sessions: Any, audio_uuid: uuid.UUID, sample_rate: int) -> Audio | None:
    """A stored clip's samples at ``sample_rate`` (one short read; None if it expired meanwhile)."""
    async with sessions() as session:
        wav = await AudioRepository(session).wav(audio_uuid)
    return None if wav is None else Audio.from_wav(wav).resampled(sample_rate)
