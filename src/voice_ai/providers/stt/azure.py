"""Azure AI Speech, short-audio REST recognition (up to 60 s; ``Ocp-Apim-Subscription-Key``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, STTProvider, timeout_field
from voice_ai.providers.errors import ProviderBadRequestError, ProviderError
from voice_ai.providers.http import HttpVendor
from voice_ai.providers.types import Capabilities, Transcript

MAX_SECONDS = 60


class AzureSpeechSTTSettings(ProviderSettings):
    api_key: SecretStr
    region: str = Field(default="brazilsouth", pattern=r"^[a-z0-9]+$")
    endpoint: str | None = Field(default=None, description="Override, e.g. a private endpoint")
    timeout_s: float = timeout_field(15.0)


class AzureSpeechSTT(HttpVendor, STTProvider):
    name = "azure"
    display_name = "Azure AI Speech (STT)"
    description = "Microsoft's speech recognition, REST API for short audio."
    Settings: ClassVar[type[ProviderSettings]] = AzureSpeechSTTSettings
    capabilities = Capabilities(sample_rates=(16000,))
    settings: AzureSpeechSTTSettings

    async def _transcribe_impl(self, audio: Audio, language: str | None, hints: list[str]) -> Transcript:
        s = self.settings
        base = s.endpoint or f"https://{s.region}.stt.speech.microsoft.com"
        if audio.duration_s > MAX_SECONDS:
            raise ProviderBadRequestError(
                f"audio longer than {MAX_SECONDS} s: the short-audio API cannot take it", provider=self.label
            )
        pcm = audio.resampled(16000)  # the documented WAV format is 16 kHz mono PCM
        response = await self.http_request(
            "POST",
            f"{base.rstrip('/')}/speech/recognition/conversation/cognitiveservices/v1",
            timeout_s=s.timeout_s,
            params={"language": language or "pt-BR", "format": "detailed"},
            headers={
                "Ocp-Apim-Subscription-Key": s.api_key.get_secret_value(),
                "Content-Type": f"audio/wav; codecs=audio/pcm; samplerate={pcm.sample_rate}",
                "Accept": "application/json",
            },
            content=pcm.wav(),
        )
        body = response.json()
        status = body.get("RecognitionStatus")
        if status in ("NoMatch", "InitialSilenceTimeout", "BabbleTimeout"):
            return Transcript("", language, 0.0, audio.duration_s)
        if status != "Success":
            raise ProviderError(f"recognition failed: {status}", provider=self.label, retryable=status == "Error")
        best = (body.get("NBest") or [{}])[0]
        return Transcript(
            str(best.get("Display") or body.get("DisplayText", "")).strip(),
            language,
            best.get("Confidence"),
            audio.duration_s,
        )
