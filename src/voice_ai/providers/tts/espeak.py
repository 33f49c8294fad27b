"""espeak-ng, offline. Uses the ``libespeak-ng`` shipped in the ``espeakng-loader`` wheel (with its voice
data, pt-BR included) through ctypes, or a system ``libespeak-ng.so.1`` (Debian ``espeak-ng``).

espeak-ng is GPL-3.0: it is loaded at run time as a separate library, never bundled in this package.
The library keeps global state, so synthesis is serialised by a process-wide lock and run in a thread.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import threading
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, TTSProvider, timeout_field
from voice_ai.providers.errors import ProviderBadRequestError, ProviderError, ProviderNotInstalledError
from voice_ai.providers.types import Capabilities

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH = 1, 2, 3
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
# language tag → espeak-ng voice
VOICES = {"pt-br": "pt-br", "pt": "pt-br", "pt-pt": "pt", "en": "en-us", "en-us": "en-us", "en-gb": "en", "es": "es"}


class _Engine:
    """One espeak-ng library per process."""

    _instance: ClassVar[_Engine | None] = None
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        lib_path, data_path = _locate()
        self.lib = ctypes.CDLL(lib_path)
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode() if data_path else None, 0
        )
        if self.sample_rate <= 0:
            raise ProviderError("espeak-ng failed to initialise", provider="espeak")
        self._chunks: list[np.ndarray[Any, Any]] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: the library calls it later
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()

    @classmethod
    def get(cls) -> _Engine:
        with cls._guard:
            if cls._instance is None:
                cls._instance = _Engine()
            return cls._instance

    def _collect(self, wav: Any, count: int, _events: Any) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def speak(self, text: str, voice: str, rate_wpm: int, pitch: int) -> Audio:
        with self.lock:
            self._chunks = []
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ProviderBadRequestError(
                    f"espeak-ng has no voice {voice!r} (e.g. pt-br, en-us)", provider="espeak", field="voice"
                )
            self.lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
            self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            data = text.encode("utf-8")
            self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)
        return Audio(pcm.astype("<i2").tobytes(), self.sample_rate)


def _locate() -> tuple[str, str | None]:
    try:
        import espeakng_loader

        return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
    except ImportError:
        system = ctypes.util.find_library("espeak-ng")
        if system:
            return system, None
    raise ProviderNotInstalledError(
        "espeak-ng is not available: pip install 'voice-ai-ivr[offline]' (the espeakng-loader wheel) "
        "or apt-get install espeak-ng",
        provider="espeak",
    )


class EspeakSettings(ProviderSettings):
    voice: str | None = Field(default=None, description="espeak-ng voice (default: from the language)")
    rate_wpm: int = Field(default=150, ge=80, le=400, description="Words per minute")
    pitch: int = Field(default=50, ge=0, le=99)
    timeout_s: float = timeout_field(10.0)


class EspeakTTS(TTSProvider):
    name = "espeak"
    display_name = "espeak-ng (offline)"
    description = "Offline formant synthesis, pt-BR and English voices; robotic but instant and free."
    Settings = EspeakSettings
    capabilities = Capabilities(
        offline=True, languages=("pt-BR", "pt-PT", "en-US", "en-GB", "es"), sample_rates=(8000, 16000, 22050)
    )
    settings: EspeakSettings

    async def _synthesize_impl(self, text: str, voice: str | None, language: str | None, sample_rate: int) -> Audio:
        chosen = voice or self.settings.voice or VOICES.get((language or "pt-BR").lower(), "pt-br")
        engine = await asyncio.to_thread(_Engine.get)
        return await asyncio.to_thread(engine.speak, text, chosen, self.settings.rate_wpm, self.settings.pitch)
