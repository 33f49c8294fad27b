"""Whisper's two decodings: a streaming segment gets the fast one, everything else keeps the turn-based settings.

Plumbing only (what reaches faster-whisper and its encoder), never timing: bench/stt_latency.py measures speed and
word error rate.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voice_ai.conversation import engine as engine_module
from voice_ai.conversation.engine import CallEngine
from voice_ai.conversation.listen import Listened
from voice_ai.conversation.prepare import Listener
from voice_ai.providers.audio import Audio
from voice_ai.providers.stt.whisper import (
    Decoding,
    WhisperSettings,
    WhisperSTT,
    current_purpose,
    fitted_frames,
    purpose,
)
from voice_ai.understanding.lexicon import Lexicon

FIXTURE = Path(__file__).resolve().parents[1] / "telephony" / "freeswitch" / "spec" / "fixtures" / "question_price.wav"


def test_each_purpose_has_its_decoding() -> None:
    settings = WhisperSettings()
    assert settings.decoding("turn") == Decoding(beam_size=5, vad_filter=True, without_timestamps=False, window_s=None)
    assert settings.decoding() == settings.decoding("turn")
    assert settings.decoding("stream") == Decoding(
        beam_size=5, vad_filter=False, without_timestamps=True, window_s=None
    )
    tuned = WhisperSettings(beam_size=3, vad_filter=False, stream_beam_size=2, stream_window_s=10)
    assert tuned.decoding("turn") == Decoding(3, False, False, None)
    assert tuned.decoding("stream") == Decoding(2, False, True, 10.0)


def test_the_purpose_is_scoped() -> None:
    assert current_purpose() == "turn"
    with purpose("stream"):
        assert current_purpose() == "stream"
    assert current_purpose() == "turn"


def test_the_fitted_window() -> None:
    features = np.zeros((80, 3000), dtype=np.float32)
    features[:, :250] = 0.3  # 2.5 s of audio, then faster-whisper's zero padding
    assert fitted_frames(features, 10.0) == 1000
    assert fitted_frames(features, 1.0) == 400  # audio + 1 s, rounded up to a whole second
    features[:, :2950] = 0.3
    assert fitted_frames(features, 10.0) == 3000  # never more than the segment
    assert fitted_frames(np.zeros((80, 3000), dtype=np.float32), 10.0) == 1000


async def test_streaming_segments_reach_faster_whisper_with_the_stream_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real model: the options of each purpose reach ``WhisperModel.transcribe`` (in the worker thread); the
    encoder gets the full 30 s window, or, where ``stream_window_s`` is set, that window for streaming segments
    only."""
    from faster_whisper import WhisperModel

    calls: list[dict[str, Any]] = []
    frames: list[int] = []
    transcribe, encode = WhisperModel.transcribe, WhisperModel.encode

    def spy_transcribe(self: Any, audio: Any, **options: Any) -> Any:
        calls.append(options)
        return transcribe(self, audio, **options)

    def spy_encode(self: Any, features: Any) -> Any:
        frames.append(int(features.shape[-1]))
        return encode(self, features)

    monkeypatch.setattr(WhisperModel, "transcribe", spy_transcribe)
    monkeypatch.setattr(WhisperModel, "encode", spy_encode)
    audio = Audio.from_wav(FIXTURE.read_bytes())
    assert audio.sample_rate == 8000 and audio.duration_s < 8

    stt = WhisperSTT.from_config({"hypotheses": 1})  # the best-only path: faster-whisper's own transcribe
    windowed = WhisperSTT.from_config({"stream_window_s": 10, "hypotheses": 1})  # the same model, a 10 s window

    turn = await stt.transcribe(audio, language="pt-BR", hints=["Contabilidade Exata"])
    with purpose("stream"):
        streamed = await stt.transcribe(audio, language="pt-BR", hints=["Contabilidade Exata"])
        short = await windowed.transcribe(audio, language="pt-BR")
    again = await windowed.transcribe(audio, language="pt-BR")

    picked = [{k: c[k] for k in ("beam_size", "vad_filter", "without_timestamps", "language")} for c in calls]
    turn_options = {"beam_size": 5, "vad_filter": True, "without_timestamps": False, "language": "pt"}
    stream_options = {"beam_size": 5, "vad_filter": False, "without_timestamps": True, "language": "pt"}
    assert picked == [turn_options, stream_options, stream_options, turn_options]
    assert calls[0]["initial_prompt"] == calls[1]["initial_prompt"]  # token ids, bounded (prompt_tokens)
    assert stt._model().hf_tokenizer.decode(calls[0]["initial_prompt"]).strip() == "Contabilidade Exata"
    assert frames == [3000, 3000, 1000, 3000]
    assert all(t.text.strip() for t in (turn, streamed, short, again))  # words, whatever the CPU

    # the n-best path (the default) encodes the same windows, and never calls faster-whisper's transcribe
    calls.clear()
    frames.clear()
    nbest, nbest_windowed = WhisperSTT.from_config({}), WhisperSTT.from_config({"stream_window_s": 10})
    heard = [await nbest.transcribe(audio, language="pt-BR", hints=["Contabilidade Exata"])]
    with purpose("stream"):
        heard.append(await nbest_windowed.transcribe(audio, language="pt-BR"))
    assert calls == [] and frames == [3000, 1000] and all(t.text.strip() for t in heard)


async def test_the_engine_transcribes_a_streaming_segment_for_streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CallEngine.transcribe`` (the streaming path, speculative or not) runs the STT stage under
    ``purpose("stream")``; outside it, turn-based calls keep the default."""
    seen: list[str] = []
    lexicon = Lexicon.build(names=["Contabilidade Exata"])
    given: list[Any] = []

    async def read_listener(runtime: Any, domain_uuid: uuid.UUID, call_uuid: str) -> Listener:
        return Listener(type("Secretary", (), {"language": "pt-BR"})(), object(), lexicon, None)  # type: ignore[arg-type]

    async def listen(chain: Any, audio: Audio, **kwargs: Any) -> Listened:
        seen.append(current_purpose())
        given.append((kwargs["lexicon"], kwargs["hints"]))
        return Listened("quanto custa", "whisper", 1.0, 0.42, ("quanto curta",))

    monkeypatch.setattr(engine_module, "read_listener", read_listener)
    monkeypatch.setattr(engine_module, "listen", listen)
    runtime = type("Runtime", (), {"settings": type("Settings", (), {"turn_deadline_s": 10.0})()})()
    heard = await CallEngine(runtime).transcribe(uuid.uuid4(), "call-1", Audio(b"\x01\x00" * 800, 8000))
    assert (heard.text, heard.provider, seen) == ("quanto custa", "whisper", ["stream"])
    assert (heard.confidence, heard.alternatives) == (0.42, ("quanto curta",))  # for understanding to weigh
    assert given == [(lexicon, list(lexicon.terms))] and lexicon.terms[0] == "Contabilidade Exata"
    assert current_purpose() == "turn"


async def test_a_streaming_call_starts_whisper_150_ms_into_a_pause() -> None:
    """The speculation point (``StreamingCall``'s ``pause_ms``, 150): the speculative STT starts ~150 ms after the
    caller's last voiced chunk, ~450 ms before the 600 ms end of turn closes it (at 200 it was ~400 ms before)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "streaming"))
    from stream_fakes import Harness, wav

    h = Harness(None, greeting=wav("goodbye"))
    await h.start()
    await h.quiet(2000)
    await h.say(wav("question_price").pcm)
    await h.quiet(1000, until=lambda: bool(h.engine.responded))
    assert len(h.engine.transcribed) == 1  # the speculative one, reused
    ahead = h.engine.responded[0][0] - h.engine.transcribed[0][0]
    assert 0.42 <= ahead <= 0.47, ahead
