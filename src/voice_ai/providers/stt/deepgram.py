"""Deepgram pre-recorded speech-to-text (``POST /v1/listen``, ``Authorization: Token <key>``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, STTProvider, timeout_field
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.http import HttpVendor
from voice_ai.providers.types import Capabilities, Transcript


class DeepgramSettings(ProviderSettings):
    api_key: SecretStr
    model: str = "nova-2"
    base_url: str = "https://api.deepgram.com"
    smart_format: bool = True
    timeout_s: float = timeout_field(15.0)


class DeepgramSTT(HttpVendor, STTProvider):
    name = "deepgram"
    display_name = "Deepgram"
    description = "Deepgram Nova speech recognition (pt-BR and English), keyword boosting from hints."
    Settings: ClassVar[type[ProviderSettings]] = DeepgramSettings
    capabilities = Capabilities(sample_rates=(8000, 16000))
    settings: DeepgramSettings

    async def _transcribe_impl(self, audio: Audio, language: str | None, hints: list[str]) -> Transcript:
        s = self.settings
        params: list[tuple[str, str]] = [("model", s.model), ("smart_format", str(s.smart_format).lower())]
        if language:
            params.append(("language", language))
        params += [("keywords", h) for h in hints[:50] if h.strip()]
        response = await self.http_request(
            "POST",
            f"{s.base_url.rstrip('/')}/v1/listen",
            timeout_s=s.timeout_s,
            params=params,
            headers={"Authorization": f"Token {s.api_key.get_secret_value()}", "Content-Type": "audio/wav"},
            content=audio.wav(),
        )
        try:
            channel = response.json()["results"]["channels"][0]
            best = channel["alternatives"][0]
        except (KeyError, IndexError, ValueError):
            raise ProviderError(
                "unexpected response shape from Deepgram", provider=self.label, retryable=True
            ) from None
        return Transcript(
            str(best.get("transcript", "")).strip(),
            channel.get("detected_language") or language,
            best.get("confidence"),
            audio.duration_s,
        )
