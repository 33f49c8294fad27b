"""Silero VAD run chunk by chunk with carried state, at 8 and 16 kHz."""

from __future__ import annotations

import numpy as np
import pytest
from stream_fakes import noise, silence, wav

from voice_ai.providers.audio import Audio
from voice_ai.streaming.audio import Rechunker, Upsampler2x
from voice_ai.streaming.vad import CONTEXT_16K, WINDOW_16K, EnergyActivity, VoiceActivity, chunk_samples, shared_model


def probabilities(activity: VoiceActivity | EnergyActivity, pcm: bytes) -> list[float]:
    return [activity.probability(chunk) for chunk in Rechunker(activity.size).push(pcm)]


def test_streaming_state_gives_exactly_the_whole_file_probabilities() -> None:
    """One window at a time with h/c and the context carried == the batch run faster-whisper does."""
    model = shared_model()
    assert model is not None, "Silero VAD ships inside faster-whisper (the offline extra)"
    audio = wav("question_price").resampled(16000)
    pcm = silence(300, 16000) + audio.pcm + silence(500, 16000)
    activity = VoiceActivity(16000, model, gate_dbfs=-200.0)  # no gate: every window goes to the model
    streamed = probabilities(activity, pcm)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    windows = samples[: len(streamed) * WINDOW_16K].reshape(-1, WINDOW_16K)
    context = np.roll(windows[:, -CONTEXT_16K:], 1, axis=0)
    context[0] = 0
    batch = np.concatenate([context, windows], axis=1)
    h = np.zeros((1, 1, 128), dtype=np.float32)
    whole = model.session.run(None, {"input": batch, "h": h, "c": h.copy()})[0]
    assert np.allclose(streamed, np.ravel(whole), atol=1e-4)


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("name", ["question_price", "goodbye"])
def test_speech_is_found_and_silence_and_hiss_are_not(rate: int, name: str) -> None:
    model = shared_model()
    assert model is not None
    speech = wav(name).resampled(rate)
    activity = VoiceActivity(rate, model)
    probs = probabilities(activity, noise(1000, -60, rate=rate) + speech.pcm + silence(800, rate))
    lead = 1000 // 32
    assert max(probs[: lead - 1]) < 0.2  # hiss below the gate: 0 without asking the model
    voiced = sum(p >= 0.5 for p in probs[lead:]) * 32
    assert voiced >= 0.6 * speech.duration_s * 1000
    assert max(probs[-10:]) < 0.2


def test_hiss_above_the_gate_is_not_speech() -> None:
    model = shared_model()
    assert model is not None
    probs = probabilities(VoiceActivity(8000, model), noise(2000, -35))
    assert np.mean(np.asarray(probs) >= 0.5) < 0.1


def test_the_upsampler_is_continuous_across_chunks() -> None:
    tone = Audio.from_float(0.5 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000), 8000).float32()
    up = Upsampler2x()
    chunked = np.concatenate([up(tone[i : i + 256]) for i in range(0, 8000, 256)])
    whole = Upsampler2x()(tone)
    assert np.allclose(chunked, whole, atol=1e-5)
    assert abs(np.sqrt(np.mean(whole[200:] ** 2)) - 0.5 / np.sqrt(2)) < 0.02  # the gain is kept


def test_energy_fallback_and_chunk_sizes() -> None:
    energy = EnergyActivity(8000)
    probs = probabilities(energy, silence(500) + wav("question_saturday").pcm)
    assert max(probs[:15]) < 0.1 and max(probs[15:]) > 0.9
    assert chunk_samples(8000) == 256 and chunk_samples(16000) == 512
    with pytest.raises(ValueError, match="8000 or 16000"):
        chunk_samples(44100)
    model = shared_model()
    assert model is not None
    with pytest.raises(ValueError, match="256 samples"):
        VoiceActivity(8000, model).probability(np.zeros(100, dtype=np.int16))
