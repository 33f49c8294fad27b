"""OpenAI text-to-speech (``/v1/audio/speech``) via the SDK; raw 24 kHz PCM, streamed by sentence."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, TTSProvider, timeout_field
from voice_ai.providers.http import expect_audio
from voice_ai.providers.llm.openai_chat import map_openai_error
from voice_ai.providers.openai_client import OpenAIClientMixin
from voice_ai.providers.types import Capabilities

PCM_RATE = 24000


class OpenAITTSSettings(ProviderSettings):
    api_key: SecretStr
    model: str = "gpt-4o-mini-tts"
    voice: str = "alloy"
    base_url: str = "https://api.openai.com/v1"
    timeout_s: float = timeout_field(20.0)


class OpenAITTS(OpenAIClientMixin, TTSProvider):
    name = "openai"
    display_name = "OpenAI text-to-speech"
    description = "OpenAI's hosted voices (gpt-4o-mini-tts, tts-1)."
    Settings: ClassVar[type[ProviderSettings]] = OpenAITTSSettings
    capabilities = Capabilities(streaming=True, sample_rates=(8000, 16000, 24000))
    extra = "openai"
    settings: OpenAITTSSettings

    async def _synthesize_impl(self, text: str, voice: str | None, language: str | None, sample_rate: int) -> Audio:
        try:
            response = await self.client().audio.speech.create(
                model=self.settings.model, voice=voice or self.settings.voice, input=text, response_format="pcm"
            )
        except Exception as exc:
            raise map_openai_error(exc, self.label) from None
        raw = getattr(response, "response", None)
        if raw is not None:
            return Audio.from_pcm16(expect_audio(raw, self.label), PCM_RATE)
        return Audio.from_pcm16(response.content, PCM_RATE)
