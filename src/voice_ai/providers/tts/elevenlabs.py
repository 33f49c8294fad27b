"""ElevenLabs text-to-speech (``POST /v1/text-to-speech/{voice_id}``, ``xi-api-key``), raw PCM output."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, TTSProvider, timeout_field
from voice_ai.providers.http import HttpVendor
from voice_ai.providers.types import Capabilities

PCM_FORMATS = {8000: "pcm_8000", 16000: "pcm_16000", 22050: "pcm_22050", 24000: "pcm_24000"}


class ElevenLabsSettings(ProviderSettings):
    api_key: SecretStr
    voice_id: str = Field(min_length=1, description="A voice from your ElevenLabs voice library")
    model_id: str = "eleven_multilingual_v2"
    base_url: str = "https://api.elevenlabs.io"
    timeout_s: float = timeout_field(20.0)


class ElevenLabsTTS(HttpVendor, TTSProvider):
    name = "elevenlabs"
    display_name = "ElevenLabs"
    description = "Natural multilingual voices (pt-BR included)."
    Settings: ClassVar[type[ProviderSettings]] = ElevenLabsSettings
    capabilities = Capabilities(streaming=True, sample_rates=tuple(PCM_FORMATS))
    settings: ElevenLabsSettings

    async def aclose(self) -> None:
        await self.http_close()

    async def _synthesize_impl(self, text: str, voice: str | None, language: str | None, sample_rate: int) -> Audio:
        s = self.settings
        rate = sample_rate if sample_rate in PCM_FORMATS else 16000
        body: dict[str, object] = {"text": text, "model_id": s.model_id}
        if language:
            body["language_code"] = language.split("-")[0].lower()
        response = await self.http_request(
            "POST",
            f"{s.base_url.rstrip('/')}/v1/text-to-speech/{voice or s.voice_id}",
            timeout_s=s.timeout_s,
            params={"output_format": PCM_FORMATS[rate]},
            headers={"xi-api-key": s.api_key.get_secret_value(), "Accept": "audio/pcm"},
            json=body,
        )
        return Audio.from_pcm16(response.content, rate)
