"""OpenAI speech-to-text (``/v1/audio/transcriptions``: whisper-1, gpt-4o-mini-transcribe) via the SDK."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, STTProvider, timeout_field
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.openai_chat import _openai, map_openai_error
from voice_ai.providers.sdk import build_client
from voice_ai.providers.stt.whisper import build_prompt
from voice_ai.providers.types import Capabilities, Transcript


class OpenAISTTSettings(ProviderSettings):
    api_key: SecretStr
    model: str = "gpt-4o-mini-transcribe"
    base_url: str = "https://api.openai.com/v1"
    timeout_s: float = timeout_field(20.0)


class OpenAISTT(STTProvider):
    name = "openai"
    display_name = "OpenAI speech-to-text"
    description = "OpenAI's hosted transcription (gpt-4o-mini-transcribe, whisper-1)."
    Settings: ClassVar[type[ProviderSettings]] = OpenAISTTSettings
    capabilities = Capabilities(sample_rates=(8000, 16000, 24000))
    extra = "openai"
    settings: OpenAISTTSettings
    _client: Any = None

    def client(self) -> Any:
        if self._client is None:
            s = self.settings
            self._client = build_client(
                _openai().AsyncOpenAI,
                base_url=s.base_url,
                api_key=s.api_key.get_secret_value(),
                timeout=s.timeout_s,
                max_retries=0,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

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
