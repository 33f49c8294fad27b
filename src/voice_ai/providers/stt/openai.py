"""OpenAI speech-to-text (``/v1/audio/transcriptions``: whisper-1, gpt-4o-mini-transcribe) via the SDK."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, STTProvider, timeout_field
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.openai_chat import map_openai_error
from voice_ai.providers.openai_client import OpenAIClientMixin
from voice_ai.providers.stt.whisper import build_prompt
from voice_ai.providers.types import Capabilities, Transcript


class OpenAISTTSettings(ProviderSettings):
    api_key: SecretStr
    model: str = "gpt-4o-mini-transcribe"
    base_url: str = "https://api.openai.com/v1"
    timeout_s: float = timeout_field(20.0)


class OpenAISTT(OpenAIClientMixin, STTProvider):
    name = "openai"
    display_name = "OpenAI speech-to-text"
    description = "OpenAI's hosted transcription (gpt-4o-mini-transcribe, whisper-1)."
    Settings: ClassVar[type[ProviderSettings]] = OpenAISTTSettings
    capabilities = Capabilities(sample_rates=(8000, 16000, 24000))
    extra = "openai"
    settings: OpenAISTTSettings

    async def _transcribe_impl(self, audio: Audio, language: str | None, hints: list[str]) -> Transcript:
        request: dict[str, Any] = {"model": self.settings.model, "file": ("audio.wav", audio.wav(), "audio/wav")}
        if language:
            request["language"] = language.split("-")[0].lower()
        prompt = build_prompt(hints)
        if prompt:
            request["prompt"] = prompt
        try:
            result = await self.client().audio.transcriptions.create(**request)
        except Exception as exc:
            raise map_openai_error(exc, self.label) from None
        if not hasattr(result, "text"):  # e.g. a proxy's HTML page: the SDK hands back a plain string
            raise ProviderError(
                "unexpected response from the vendor (not a transcription)", provider=self.label, retryable=True
            )
        return Transcript(str(result.text).strip(), language, None, audio.duration_s)
