"""ElevenLabs text-to-speech (``POST /v1/text-to-speech/{voice_id}``, ``xi-api-key``), raw PCM output."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
from pydantic import Field, SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, TTSProvider, timeout_field
from voice_ai.providers.errors import ProviderError, ProviderTimeoutError, ProviderUnavailableError, from_http_status
from voice_ai.providers.http import HttpVendor, expect_audio
from voice_ai.providers.types import CallInfo, Capabilities, Speech

STREAM_CHUNK_S = 0.25
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

    def _request(self, text: str, voice: str | None, language: str | None, rate: int) -> dict[str, object]:
        s = self.settings
        body: dict[str, object] = {"text": text, "model_id": s.model_id}
        if language and s.model_id.endswith("v2_5"):  # the API refuses language_code for other models
            body["language_code"] = language.split("-")[0].lower()
        return {
            "params": {"output_format": PCM_FORMATS[rate]},
            "headers": {"xi-api-key": s.api_key.get_secret_value(), "Accept": "audio/pcm"},
            "json": body,
        }

    async def synthesize_stream(
        self, text: str, *, voice: str | None = None, language: str | None = None, sample_rate: int = 8000
    ) -> AsyncIterator[Speech]:
        """ElevenLabs' streaming endpoint: audio chunks as they are generated (first audio in ~300 ms)."""
        if not text.strip():
            raise ProviderError("nothing to say: empty text", provider=self.label)
        s = self.settings
        rate = sample_rate if sample_rate in PCM_FORMATS else 16000
        url = f"{s.base_url.rstrip('/')}/v1/text-to-speech/{voice or s.voice_id}/stream"
        chunk_bytes = int(rate * STREAM_CHUNK_S) * 2
        info = CallInfo(provider=self.label, attempts=1, usage={"characters": len(text)})
        try:
            async with self.http_client(s.timeout_s).stream(
                "POST",
                url,
                **self._request(text, voice, language, rate),  # type: ignore[arg-type]
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise from_http_status(response.status_code, response.text, provider=self.label)
                pending = b""
                async for data in response.aiter_bytes():
                    pending += data
                    while len(pending) >= chunk_bytes:
                        yield Speech(Audio(pending[:chunk_bytes], rate).resampled(sample_rate), info)
                        pending = pending[chunk_bytes:]
                if pending[: len(pending) // 2 * 2]:
                    yield Speech(Audio.from_pcm16(pending, rate).resampled(sample_rate), info)
        except httpx.TimeoutException:
            raise ProviderTimeoutError("the vendor did not answer in time", provider=self.label) from None
        except httpx.TransportError as exc:
            raise ProviderUnavailableError(
                f"cannot reach the vendor: {type(exc).__name__}", provider=self.label
            ) from None

    async def _synthesize_impl(self, text: str, voice: str | None, language: str | None, sample_rate: int) -> Audio:
        s = self.settings
        rate = sample_rate if sample_rate in PCM_FORMATS else 16000
        response = await self.http_request(
            "POST",
            f"{s.base_url.rstrip('/')}/v1/text-to-speech/{voice or s.voice_id}",
            timeout_s=s.timeout_s,
            **self._request(text, voice, language, rate),
        )
        return Audio.from_pcm16(expect_audio(response, self.label), rate)
