"""The fake STT vendor of the call tests (tests/fakes/stt.py): it must recognise each fixture WAV after what a call
does to the audio, and nothing else — else the flow tests that rely on it would prove nothing."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from fakes.stt import FIXTURES, KEY, ROOT, FakeSTT, FakeSTTServer, FixtureMatcher, fixture_texts
from voice_ai.providers.audio import Audio, resample
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.stt.deepgram import DeepgramSTT

SOUNDS = ROOT / "telephony" / "freeswitch" / "sounds" / "voice_ai" / "pt-BR"  # the secretary's own phrases
RATE = 8000


@pytest.fixture(scope="module")
def matcher() -> FixtureMatcher:
    return FixtureMatcher(fixture_texts())


@pytest.fixture(scope="module")
def stt() -> Iterator[FakeSTT]:
    with FakeSTTServer() as state:
        yield state


def _noise(rng: np.random.Generator, seconds: float, amplitude: int = 80) -> np.ndarray:
    """Line noise like the test caller's (silence_stream with a divisor: a few tens of units)."""
    return rng.integers(-amplitude, amplitude + 1, int(RATE * seconds)) / 32768.0


def _mulaw(x: np.ndarray) -> np.ndarray:
    """A G.711 µ-law round trip (8-bit companding)."""
    mu = 255.0
    y = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127) / 127
    return np.asarray(np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu)


def _audio(x: np.ndarray, rate: int = RATE) -> Audio:
    return Audio.from_float(np.asarray(x, dtype=np.float32), rate)


def test_each_fixture_is_recognised_after_what_a_call_does_to_it(matcher: FixtureMatcher) -> None:
    rng = np.random.default_rng(7)
    texts = fixture_texts()
    for name, speech in matcher.fixtures.items():
        lead, tail = _noise(rng, 1.3), _noise(rng, 2.0)
        line = np.concatenate([lead, speech + _noise(rng, len(speech) / RATE), tail])
        variants = {
            "silence and line noise around it": _audio(line),
            "G.711": _audio(_mulaw(line)),
            "sent at 16 kHz": _audio(resample(line.astype(np.float32), RATE, 16000), 16000),
            "quiet": _audio(line * 0.1),
            "end cut off": _audio(np.concatenate([lead, speech[: int(len(speech) * 0.85)]])),
            "start cut off": _audio(np.concatenate([speech[int(len(speech) * 0.1) :], tail])),
        }
        for variant, audio in variants.items():
            match = matcher.match(audio)
            assert (match.name, match.text) == (name, texts[name]), (name, variant, match.scores)
            assert match.scores[name] >= 0.85, (name, variant, match.scores)


def test_anything_else_is_no_words(matcher: FixtureMatcher) -> None:
    rng = np.random.default_rng(8)
    others = {
        "line noise": _audio(_noise(rng, 5)),
        "digital silence": _audio(np.zeros(RATE * 3)),
        "comfort noise (-1)": _audio(np.full(RATE * 3, -1 / 32768.0)),
        "a tone": _audio(0.3 * np.sin(2 * np.pi * 440 * np.arange(RATE * 2) / RATE)),
    }
    for phrase in ("greeting", "goodbye", "error_transfer", "transferring"):  # speech, but not a fixture
        others[phrase] = Audio.from_wav((SOUNDS / f"{phrase}.wav").read_bytes())
    for what, audio in others.items():
        match = matcher.match(audio)
        assert (match.name, match.text) == (None, ""), (what, match.scores)
        assert max(match.scores.values()) < 0.3, (what, match.scores)


async def test_the_services_deepgram_provider_talks_to_it_over_the_wire(stt: FakeSTT) -> None:
    fixture = Audio.from_wav((FIXTURES / "transfer_financeiro.wav").read_bytes())
    padded = Audio(b"\x00\x00" * RATE + fixture.pcm + b"\x00\x00" * RATE, RATE)
    provider = DeepgramSTT.from_config({"api_key": KEY, "base_url": stt.base_url})
    heard = await provider.transcribe(padded, language="pt-BR", hints=["Financeiro"])
    assert heard.text == fixture_texts()["transfer_financeiro"]
    request = stt.requests[-1]
    assert request.match.name == "transfer_financeiro"
    assert request.query["language"] == ["pt-BR"] and request.query["keywords"] == ["Financeiro"]
    silent = await provider.transcribe(Audio(b"\x00\x00" * RATE * 2, RATE), language="pt-BR")
    assert silent.text == ""
    wrong = DeepgramSTT.from_config({"api_key": "not-the-key-000000000000", "base_url": stt.base_url})
    with pytest.raises(ProviderError):
        await wrong.transcribe(padded, language="pt-BR")
