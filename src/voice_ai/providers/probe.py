"""A tiny real request per provider kind, for "test this provider" in the admin UI."""

from __future__ import annotations

from typing import Any

import numpy as np

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import EmbeddingsProvider, LLMProvider, Provider, STTProvider, TTSProvider
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.types import ChatMessage


def _tone(seconds: float = 1.0, rate: int = 16000) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio.from_float(0.2 * np.sin(2 * np.pi * 440 * t), rate)


async def probe(provider: Provider) -> dict[str, Any]:
    """``{"ok": True, "latency_ms", "detail"}`` or ``{"ok": False, "error", "message"}`` (the vendor's words)."""
    detail: dict[str, Any]
    try:
        if isinstance(provider, TTSProvider):
            speech = await provider.synthesize("Teste de voz.", language="pt-BR")
            info, detail = speech.info, {"audio_s": round(speech.audio.duration_s, 2)}
        elif isinstance(provider, STTProvider):
            transcript = await provider.transcribe(_tone(), language="pt-BR")
            info, detail = transcript.info, {"text": transcript.text}
        elif isinstance(provider, LLMProvider):
            reply = await provider.chat([ChatMessage("user", "Responda apenas: ok")], max_tokens=10)
            info, detail = reply.info, {"text": reply.text[:200]}
        elif isinstance(provider, EmbeddingsProvider):
            vectors = await provider.embed(["teste"], kind="query")
            info, detail = vectors.info, {"dimensions": vectors.dimensions, "model": vectors.model}
        else:  # pragma: no cover - every registered provider is one of the four kinds
            raise ProviderError("unknown provider kind", provider=provider.label)
    except ProviderError as exc:
        return {"ok": False, "error": exc.kind, "message": str(exc)}
    return {"ok": True, "provider": info.provider, "latency_ms": info.latency_ms, "detail": detail}
