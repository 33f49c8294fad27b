"""A fake speech-to-text vendor that recognises the call tests' fixture WAVs, so flow tests never depend on the
words a real model produces (Whisper's int8 kernels transcribe differently on Intel and AMD, and the audio a
FreeSWITCH call records is cut slightly differently on each run).

It speaks Deepgram's documented pre-recorded API (``POST /v1/listen``, ``Authorization: Token <key>``, the audio
as the request body, JSON ``results.channels[0].alternatives[0].transcript`` back), so the service's own
Deepgram provider talks to it over the wire like to the vendor: point a tenant's STT provider (``deepgram``,
``is_default`` true) at :attr:`FakeSTTServer.base_url`.

Recognition is matching, not speech recognition: the received audio is resampled to 8 kHz and compared with each
fixture (``telephony/freeswitch/spec/fixtures/*.wav``) by normalised cross-correlation of the waveforms at every
lag. What a FreeSWITCH call does to the audio is linear or nearly so — a delay, leading and trailing silence, line
noise, a gain, G.711, resampling, a recording cut short at either end — and barely changes the score (the same
fixture scores above 0.85, another phrase or noise below 0.25; tests/test_freeswitch_fake_stt.py). The best
fixture above :data:`WAVE_BAR` answers its known text (``tools/make_audio.py``'s, the one source of the fixtures'
words); anything else — silence, line noise, speech that is not a fixture — answers an empty transcript, as a
vendor does for audio without words. (Energy envelopes were tried as a fall-back for audio whose phase changed
and rejected: they told phrases apart poorly, and nothing on a call's path needs them.)
"""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helpers import free_port
from voice_ai.providers.audio import Audio, AudioFormatError, resample

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "telephony" / "freeswitch" / "spec" / "fixtures"
KEY = "fake-stt-key-0000000000000000000000004"
RATE = 8000
WAVE_BAR = 0.5  # waveform NCC: the same recording scores > 0.9, different speech or noise < 0.2

Samples = npt.NDArray[np.float64]


def fixture_texts() -> dict[str, str]:
    """The fixtures' words, from the script that generated them (telephony/freeswitch/tools/make_audio.py)."""
    spec = importlib.util.spec_from_file_location(
        "voice_ai_make_audio", ROOT / "telephony" / "freeswitch" / "tools" / "make_audio.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: text for name, (text, _rate) in module.FIXTURES.items()}


def samples_of(audio: Audio) -> Samples:
    """Mono samples at 8 kHz as floats."""
    return np.asarray(resample(audio.float32(), audio.sample_rate, RATE), dtype=np.float64)


def sliding_ncc(template: Samples, signal: Samples) -> float:
    """The best normalised cross-correlation of ``template`` with any stretch of ``signal`` (partial overlaps at
    either end count, scaled by how much of the template they cover). 1.0: the same waveform."""
    m = len(template)
    norm = float(np.sqrt(np.dot(template, template)))
    if m == 0 or norm == 0 or len(signal) == 0:
        return 0.0
    padded = np.concatenate([np.zeros(m), signal, np.zeros(m)])
    size = 1 << (len(padded) + m - 1).bit_length()
    spectrum = np.fft.rfft(padded, size) * np.conj(np.fft.rfft(template, size))
    correlation = np.fft.irfft(spectrum, size)[: len(padded) - m + 1]
    energy = np.concatenate([[0.0], np.cumsum(padded * padded)])
    window = energy[m:] - energy[:-m]
    # near-silent stretches would divide by almost nothing: floor each window's energy at 5 % of the loudest
    # window's (relative to the signal itself, so the score does not depend on its level)
    window = window[: len(correlation)]
    floor = max(0.05 * float(np.max(window)), 1e-12)
    denominator = norm * np.sqrt(np.maximum(window, floor))
    return float(np.max(np.abs(correlation) / denominator))


@dataclass(frozen=True)
class Match:
    name: str | None  # the fixture recognised, None when nothing matched
    text: str  # its known words, "" when nothing matched
    scores: dict[str, float]  # the waveform score of each fixture


class FixtureMatcher:
    """Recognises which fixture WAV some audio holds. ``texts``: fixture name → its words."""

    def __init__(self, texts: Mapping[str, str], folder: Path = FIXTURES) -> None:
        self.texts = dict(texts)
        self.fixtures = {name: samples_of(Audio.from_wav((folder / f"{name}.wav").read_bytes())) for name in texts}

    def match(self, audio: Audio) -> Match:
        signal = samples_of(audio)
        scores = {name: round(sliding_ncc(fixture, signal), 3) for name, fixture in self.fixtures.items()}
        best = max(scores, key=scores.__getitem__)
        if scores[best] >= WAVE_BAR:
            return Match(best, self.texts[best], scores)
        return Match(None, "", scores)


@dataclass
class Recognised:
    """One request the fake answered."""

    query: dict[str, list[str]]
    duration_s: float
    match: Match


@dataclass
class FakeSTT:
    matcher: FixtureMatcher
    base_url: str = ""
    requests: list[Recognised] = field(default_factory=list)

    def heard(self) -> list[str | None]:
        """The fixture recognised in each request so far (None: nothing)."""
        return [r.match.name for r in self.requests]


def build_app(state: FakeSTT) -> Starlette:
    async def listen(request: Request) -> Response:
        if request.headers.get("authorization") != f"Token {KEY}":
            return JSONResponse({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}, 401)
        try:
            audio = Audio.from_wav(await request.body())
        except AudioFormatError as exc:
            return JSONResponse({"err_code": "Bad Request", "err_msg": f"corrupt or unsupported data: {exc}"}, 400)
        match = state.matcher.match(audio)
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        state.requests.append(Recognised(query, audio.duration_s, match))
        words = [
            {"word": w.strip(",.?!").lower(), "punctuated_word": w, "start": 0.0, "end": 0.0, "confidence": 0.99}
            for w in match.text.split()
        ]
        return JSONResponse(
            {
                "metadata": {
                    "request_id": str(uuid.uuid4()),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "duration": round(audio.duration_s, 3),
                    "channels": 1,
                    "models": ["fake-fixture-matcher"],
                },
                "results": {
                    "channels": [
                        {
                            "alternatives": [
                                {"transcript": match.text, "confidence": 0.99 if match.name else 0.0, "words": words}
                            ],
                            "detected_language": (query.get("language") or [None])[0],
                        }
                    ]
                },
            }
        )

    return Starlette(routes=[Route("/v1/listen", listen, methods=["POST"])])


class FakeSTTServer:
    """Runs the fake vendor on a loopback port in a background thread (``with FakeSTTServer() as stt``)."""

    def __init__(self, texts: Mapping[str, str] | None = None) -> None:
        self.state = FakeSTT(FixtureMatcher(texts or fixture_texts()))
        self.port = free_port()
        self.state.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(build_app(self.state), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeSTT:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake STT server did not start")
            time.sleep(0.01)
        return self.state

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def provider_config(stt: FakeSTT) -> dict[str, Any]:
    """The body of ``POST /api/v1/domains/{domain}/providers`` that makes the fake the tenant's STT."""
    return {
        "provider_type": "stt",
        "provider_name": "deepgram",
        "is_default": True,
        "config": {"api_key": KEY, "base_url": stt.base_url, "timeout_s": 10},
    }
