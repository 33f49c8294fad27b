"""bench/voices.py: the telephone conditions of the understanding benchmark do what they say."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import voices


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return voices.speak("Quanto custa a consulta para um gato?")


def test_g711_reference_codes() -> None:
    """The ITU-T G.711 code points every implementation agrees on (silence, full scale, sign)."""
    edge = np.array([0, -1, 32767, -32768], dtype=np.int16)
    assert voices.ulaw_encode(edge).tolist() == [0xFF, 0x7F, 0x80, 0x00]
    assert voices.alaw_encode(edge).tolist() == [0xD5, 0x55, 0xAA, 0x2A]


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_round_trip_is_lossy_but_close(law: Literal["ulaw", "alaw"], speech: np.ndarray) -> None:
    out = voices.g711_round_trip(speech, law)
    assert len(out) == len(speech)
    assert not np.array_equal(out, speech)
    error = out.astype(np.float64) - speech
    snr = 10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(error**2))
    assert 25 < snr < 45  # 8-bit companding: ~35-38 dB on speech
    ramp = np.arange(-32768, 32768, 7, dtype=np.int64).astype(np.int16)
    decoded = voices.g711_round_trip(ramp, law).astype(np.float64)
    assert np.all(np.diff(decoded) >= 0)  # monotonic


@pytest.mark.parametrize("snr_db", [20.0, 10.0])
def test_noise_at_the_asked_snr_on_active_speech(snr_db: float, speech: np.ndarray) -> None:
    noise = voices.pink_noise(len(speech), seed=5)
    mixed = voices.mix_at_snr(speech, noise, snr_db)
    assert len(mixed) == len(speech)
    assert abs(voices.measured_snr_db(speech, mixed) - snr_db) <= 0.5
    # on the active samples, not the whole clip: 1 s of near silence each side (a line's hiss of a few LSB; the
    # clip's mean power halves) must not lower the noise added for the same SNR
    hiss = np.random.default_rng(1).integers(-3, 4, size=8000).astype(np.int16)
    padded = np.concatenate([hiss, speech, hiss])
    mixed_padded = voices.mix_at_snr(padded, voices.pink_noise(len(padded), seed=5), snr_db)

    def noise_db(clean: np.ndarray, mixed: np.ndarray) -> float:
        return float(10 * np.log10(np.mean((mixed.astype(np.float64) - clean) ** 2)))

    assert abs(noise_db(padded, mixed_padded) - noise_db(speech, mixed)) <= 0.5


def test_rendering_is_deterministic() -> None:
    """espeak-ng carries state between sentences in one process: the bench speaks each in a fresh fork."""
    cond = voices.condition("pink-10db")
    first = voices.render("Posso pagar com Pix?", cond)
    voices.speak("Outra frase no meio, que mudaria o estado do espeak-ng.")
    assert voices.render("Posso pagar com Pix?", cond) == first
    assert first[:4] == b"RIFF"
