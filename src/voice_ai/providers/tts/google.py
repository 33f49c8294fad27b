"""Google Cloud Text-to-Speech v1 REST (``text:synthesize``, API key), LINEAR16 at the requested rate."""

from __future__ import annotations

import base64
from typing import ClassVar

from pydantic import SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, TTSProvider, timeout_field
from voice_ai.providers.http import HttpVendor
from voice_ai.providers.types import Capabilities


class GoogleTTSSettings(ProviderSettings):
    api_key: SecretStr
    voice: str = "pt-BR-Neural2-A"
    base_url: str = "https://texttospeech.googleapis.com"
    timeout_s: float = timeout_field(15.0)


class GoogleTTS(HttpVendor, TTSProvider):
    name = "google"
    display_name = "Google Cloud Text-to-Speech"
    description = "Google's neural voices (pt-BR Neural2/Wavenet)."
    Settings: ClassVar[type[ProviderSettings]] = GoogleTTSSettings
    capabilities = Capabilities(sample_rates=(8000, 16000, 24000))
    settings: GoogleTTSSettings

    async def _synthesize_impl(self, text: str, voice: str | None, language: str | None, sample_rate: int) -> Audio:
        s = self.settings
        name = voice or s.voice
        response = await self.http_request(
            "POST",
            f"{s.base_url.rstrip('/')}/v1/text:synthesize",
            timeout_s=s.timeout_s,
            headers={"x-goog-api-key": s.api_key.get_secret_value()},
            json={
                "input": {"text": text},
                "voice": {"languageCode": language or "-".join(name.split("-")[:2]), "name": name},
                "audioConfig": {"audioEncoding": "LINEAR16", "sampleRateHertz": sample_rate},
            },
        )
        return Audio.from_wav(base64.b64decode(response.json()["audioContent"]))
