"""Google Cloud Speech-to-Text v1 REST (``speech:recognize``, API key), phrase hints as speech context."""

from __future__ import annotations

import base64
from typing import ClassVar

from pydantic import SecretStr

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, STTProvider, timeout_field
from voice_ai.providers.http import HttpVendor
from voice_ai.providers.types import Capabilities, Transcript


class GoogleSTTSettings(ProviderSettings):
    api_key: SecretStr
    model: str = "phone_call"
    base_url: str = "https://speech.googleapis.com"
    timeout_s: float = timeout_field(15.0)


class GoogleSTT(HttpVendor, STTProvider):
    name = "google"
    display_name = "Google Cloud Speech-to-Text"
    description = "Google's recognizer with the phone_call model and phrase hints."
    Settings: ClassVar[type[ProviderSettings]] = GoogleSTTSettings
    capabilities = Capabilities(sample_rates=(8000, 16000))
    settings: GoogleSTTSettings

    async def _transcribe_impl(self, audio: Audio, language: str | None, hints: list[str]) -> Transcript:
        s = self.settings
        config: dict[str, object] = {
            "encoding": "LINEAR16",
            "sampleRateHertz": audio.sample_rate,
            "languageCode": language or "pt-BR",
            "model": s.model,
            "enableAutomaticPunctuation": True,
        }
        if hints:
            config["speechContexts"] = [{"phrases": [h for h in hints if h.strip()][:500]}]
        response = await self.http_request(
            "POST",
            f"{s.base_url.rstrip('/')}/v1/speech:recognize",
            timeout_s=s.timeout_s,
            headers={"x-goog-api-key": s.api_key.get_secret_value()},
            json={"config": config, "audio": {"content": base64.b64encode(audio.pcm).decode()}},
        )
        results = response.json().get("results", [])
        alternatives = [r["alternatives"][0] for r in results if r.get("alternatives")]
        text = " ".join(str(a.get("transcript", "")).strip() for a in alternatives).strip()
        confidences = [a["confidence"] for a in alternatives if "confidence" in a]
        confidence = sum(confidences) / len(confidences) if confidences else None
        return Transcript(text, language, confidence, audio.duration_s)
