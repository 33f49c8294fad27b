"""Piper neural TTS with a voice model the operator supplies (``.onnx`` + ``.onnx.json``), offline.

piper-tts is GPL-3.0: it is an optional extra (``voice-ai-ivr[piper]``), imported only when configured, and
no voice model ships with this project. Download a pt-BR voice (e.g. ``pt_BR-faber-medium``) onto the server
and point ``model_path`` at it.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, TTSProvider, timeout_field
from voice_ai.providers.errors import ProviderConfigError, ProviderNotInstalledError
from voice_ai.providers.types import Capabilities


class PiperSettings(ProviderSettings):
    model_path: str = Field(min_length=1, description="Path of the voice's .onnx file on this server")
    speaker_id: int | None = Field(default=None, ge=0)
    length_scale: float = Field(default=1.0, gt=0.3, lt=3.0, description="> 1 speaks slower")
    timeout_s: float = timeout_field(20.0)


class PiperTTS(TTSProvider):
    name = "piper"
    display_name = "Piper (offline neural, your voice model)"
    description = "Natural offline voices from a Piper model file you install on the server."
    Settings: ClassVar[type[ProviderSettings]] = PiperSettings
    capabilities = Capabilities(offline=True, sample_rates=(8000, 16000, 22050))
    extra = "piper"
    settings: PiperSettings

    _voices: ClassVar[dict[str, Any]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def _voice(self) -> Any:
        path = self.settings.model_path
        with self._guard:
            if path not in self._voices:
                if not Path(path).is_file() or not Path(f"{path}.json").is_file():
                    raise ProviderConfigError(
                        f"voice model not found: {path} (and its {Path(path).name}.json)", provider=self.label
                    )
                try:
                    from piper import PiperVoice  # type: ignore[import-not-found]
                except ImportError:
                    raise ProviderNotInstalledError(
                        "piper-tts is not installed: pip install 'voice-ai-ivr[piper]'", provider=self.label
                    ) from None
                self._voices[path] = PiperVoice.load(path)
            return self._voices[path]

    def _run(self, text: str) -> Audio:
        voice = self._voice()
        from piper import SynthesisConfig

        config = SynthesisConfig(speaker_id=self.settings.speaker_id, length_scale=self.settings.length_scale)
        chunks = [np.frombuffer(c.audio_int16_bytes, dtype=np.int16) for c in voice.synthesize(text, syn_config=config)]
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return Audio(pcm.astype("<i2").tobytes(), int(voice.config.sample_rate))

    async def _synthesize_impl(self, text: str, voice: str | None, language: str | None, sample_rate: int) -> Audio:
        return await asyncio.to_thread(self._run, text)
