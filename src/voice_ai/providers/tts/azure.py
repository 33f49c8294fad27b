"""Azure AI Speech text-to-speech REST (SSML in, RIFF PCM out; ``Ocp-Apim-Subscription-Key``)."""

from __future__ import annotations

from typing import ClassVar
from xml.sax.saxutils import escape, quoteattr

from pydantic import Field, SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, TTSProvider, timeout_field
from voice_ai.providers.http import HttpVendor
from voice_ai.providers.types import Capabilities

OUTPUT_FORMATS = {
    8000: "riff-8khz-16bit-mono-pcm",
    16000: "riff-16khz-16bit-mono-pcm",
    24000: "riff-24khz-16bit-mono-pcm",
}


class AzureSpeechTTSSettings(ProviderSettings):
    api_key: SecretStr
    region: str = Field(default="brazilsouth", pattern=r"^[a-z0-9]+$")
    voice: str = "pt-BR-FranciscaNeural"
    endpoint: str | None = None
    timeout_s: float = timeout_field(15.0)


class AzureSpeechTTS(HttpVendor, TTSProvider):
    name = "azure"
    display_name = "Azure AI Speech (TTS)"
    description = "Microsoft neural voices (pt-BR-FranciscaNeural, pt-BR-AntonioNeural, …)."
    Settings: ClassVar[type[ProviderSettings]] = AzureSpeechTTSSettings
    capabilities = Capabilities(sample_rates=tuple(OUTPUT_FORMATS))
    settings: AzureSpeechTTSSettings

    async def _synthesize_impl(self, text: str, voice: str | None, language: str | None, sample_rate: int) -> Audio:
        s = self.settings
        rate = sample_rate if sample_rate in OUTPUT_FORMATS else 16000
        name = voice or s.voice
        lang = language or "-".join(name.split("-")[:2])
        ssml = (
            f"<speak version='1.0' xml:lang={quoteattr(lang)}><voice name={quoteattr(name)}>"
            f"{escape(text)}</voice></speak>"
        )
        base = s.endpoint or f"https://{s.region}.tts.speech.microsoft.com"
        response = await self.http_request(
            "POST",
            f"{base.rstrip('/')}/cognitiveservices/v1",
            timeout_s=s.timeout_s,
            headers={
                "Ocp-Apim-Subscription-Key": s.api_key.get_secret_value(),
                "Content-Type": "application/ssml+xml",
                "X-Microsoft-OutputFormat": OUTPUT_FORMATS[rate],
                "User-Agent": "voice-ai-ivr",
            },
            content=ssml.encode("utf-8"),
        )
        return Audio.from_wav(response.content)
