"""What one turn may cost: audio no longer than a turn can be (refused before decoding or transcribing), and one
deadline that every stage respects — a vendor that hangs is replaced by the built-in fall-back in time."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
import wave
from typing import Any

import httpx
import pytest

import test_calls
from fakes.vendors import OPENAI_KEY, TRANSCRIPT
from test_calls import _start
from voice_ai.conversation.budget import MIN_TURN_DEADLINE_S, TTS_RESERVE_S
from voice_ai.conversation.engine import CallEngine
from voice_ai.core.config import Settings
from voice_ai.db.models import Secretary
from voice_ai.providers import deadline
from voice_ai.providers.audio import Audio
from voice_ai.providers.base import LLMProvider, TTSProvider
from voice_ai.providers.errors import ProviderError, ProviderTimeoutError
from voice_ai.providers.manager import FallbackChain, Member
from voice_ai.providers.stt.whisper import WhisperSTT
from voice_ai.providers.types import ChatResult
from voice_ai.runtime import Runtime
from voice_ai.services.turn_audio import MAX_TURN_FORM_BYTES, decode_turn

demo = test_calls.demo  # the seeded demo tenant (a fixture)
# the shortest turn deadline a service may be configured with
MIN_DEADLINE_S = next(float(m.ge) for m in Settings.model_fields["turn_deadline_s"].metadata if hasattr(m, "ge"))


def _wav(seconds: float, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


async def test_turn_audio_longer_than_a_turn_is_refused_before_decoding(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    call = f"call-{uuid.uuid4()}"
    await _start(client, demo, call)
    url, form = f"/api/v1/calls/{call}/turns", {"domain_uuid": demo["domain"]}
    began = time.monotonic()
    long_wav = await client.post(url, data=form, files={"audio": ("turn.wav", _wav(130), "audio/wav")})
    assert long_wav.status_code == 413, long_wav.text
    assert "130 s long; a turn is at most 120 s" in long_wav.json()["detail"]
    raw = await client.post(
        url, data={**form, "sample_rate": "8000"}, files={"audio": ("turn.raw", b"\x00\x00" * 8000 * 125, "audio/L16")}
    )
    assert raw.status_code == 413 and "125 s long" in raw.json()["detail"]
    assert time.monotonic() - began < 10  # refused from the header: nothing was transcribed

    huge = b"RIFF" + b"\x00" * (MAX_TURN_FORM_BYTES + 10)
    declared = await client.post(url, data=form, files={"audio": ("turn.wav", huge, "audio/wav")})
    assert declared.status_code == 413 and "a turn is at most 120 s" in declared.json()["detail"]

    async def chunked() -> Any:  # no Content-Length: counted as it arrives
        boundary = b"--xyz\r\n"
        yield boundary + b'Content-Disposition: form-data; name="domain_uuid"\r\n\r\n' + demo["domain"].encode()
        yield b"\r\n" + boundary + b'Content-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n'
        for _ in range(MAX_TURN_FORM_BYTES // (1024 * 1024) + 2):
            yield b"\x00" * (1024 * 1024)
        yield b"\r\n--xyz--\r\n"

    streamed = await client.post(url, content=chunked(), headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert streamed.status_code == 413, streamed.text
    # the call goes on: a normal turn after the refusals
    assert (await client.post(url, data={**form, "text": "Qual o horário?"})).status_code == 200

    secretaries = f"/api/v1/domains/{demo['domain']}/secretaries"
    too_long = await client.post(secretaries, json={"name": "Long", "max_record_seconds": 300})
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["body", "max_record_seconds"]


def test_a_whole_turn_is_accepted() -> None:
    assert decode_turn(_wav(120), None).duration_s == 120  # the longest the call flow records
    assert decode_turn(b"", None).pcm == b"" and decode_turn(_wav(0), None).pcm == b""  # silence


class _Sleepy(LLMProvider):
    name = "sleepy"
    calls = 0

    async def _chat_impl(self, *_: Any) -> ChatResult:
        _Sleepy.calls += 1
        await asyncio.sleep(30)
        raise AssertionError("unreachable")


async def test_a_provider_attempt_ends_with_the_turn_deadline() -> None:
    provider = _Sleepy(_Sleepy.Settings(timeout_s=30, max_retries=3))
    began = time.monotonic()
    with deadline.within(deadline.now() + 0.3), pytest.raises(ProviderTimeoutError):
        await provider.chat([])
    assert time.monotonic() - began < 5 and _Sleepy.calls == 1  # bounded by the turn, not by timeout_s; no retry
    with deadline.within(deadline.now() - 1), pytest.raises(ProviderTimeoutError, match="no time left"):
        await provider.chat([])
    assert _Sleepy.calls == 1  # no time left: not even started


async def test_a_hanging_llm_and_tts_vendor_still_answer_before_the_deadline(
    client: httpx.AsyncClient, demo: dict[str, Any], vendors: Any, runtime: Runtime
) -> None:
    domain = demo["domain"]
    # an admin's generous settings (two 8 s attempts each): far longer than a call turn may take
    config = {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "timeout_s": 8, "max_retries": 1}
    for kind, name, extra in (("llm", "openai_compatible", {"model": "m"}), ("tts", "openai", {})):
        created = await client.post(
            f"/api/v1/domains/{domain}/providers",
            json={"provider_type": kind, "provider_name": name, "is_default": True, "config": {**config, **extra}},
        )
        assert created.status_code == 201, created.text
    settings = runtime.settings
    runtime.settings = settings.model_copy(update={"turn_deadline_s": MIN_DEADLINE_S})
    vendors.script[:] = ["hang"] * 20
    try:
        call = f"call-{uuid.uuid4()}"
        began = time.monotonic()
        await _start(client, demo, call)  # the greeting's TTS hangs too: eSpeak speaks it in time
        start_took = time.monotonic() - began
        began = time.monotonic()
        turn = await client.post(
            f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": "Vocês abrem no sábado?"}
        )
        took = time.monotonic() - began
    finally:
        runtime.settings = settings
        vendors.script.clear()
    assert turn.status_code == 200, turn.text
    body = turn.json()
    assert body["providers"]["llm"] == "policy" and body["providers"]["tts"] == "espeak"  # the built-in fall-backs
    assert body["action"] == "continue" and body["audio_url"]
    assert {r.path for r in vendors.requests} >= {"/v1/chat/completions", "/v1/audio/speech"}
    # the deadline (8 s) with a margin for a loaded machine, far below the Lua's 15 s and the 2 × 8 s + 2 × 8 s
    assert took < MIN_DEADLINE_S + 3, took
    assert start_took < MIN_DEADLINE_S + 3, start_took


class _HangingTTS(TTSProvider):
    name = "hanging_tts"

    async def _synthesize_impl(self, *_: Any) -> Audio:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")


class _BuiltinTTS(TTSProvider):
    name = "builtin_tts"
    left: list[float] = []

    async def _synthesize_impl(self, *_: Any) -> Audio:
        _BuiltinTTS.left.append(deadline.remaining() or 0.0)
        return Audio(b"\x00\x00" * 80, 8000)


async def test_espeak_keeps_a_second_after_a_hanging_tts_vendor(runtime: Runtime) -> None:
    """A loaded machine needs several hundred milliseconds for eSpeak: when the configured TTS hangs, the built-in
    one still has its whole reserve (it had 0.7 s and, on a busy CI machine, sometimes spoke too late)."""
    domain = uuid.uuid4()
    chain: FallbackChain[Any] = FallbackChain(
        "tts",
        domain,
        [
            Member(_HangingTTS(_HangingTTS.Settings(timeout_s=30)), uuid.uuid4()),
            Member(_BuiltinTTS(_BuiltinTTS.Settings()), None),
        ],
    )
    secretary = Secretary(domain_uuid=domain, language="pt-BR", tts_voice=None)
    _BuiltinTTS.left.clear()
    # the latest a reply's speech starts: the dialog policy answered at its stage's end
    with deadline.within(deadline.now() + TTS_RESERVE_S + 1.0):
        spoken = await CallEngine(runtime)._synthesize(chain, secretary, "Olá", None)
    assert spoken.provider == "builtin_tts" and spoken.wav is not None
    assert _BuiltinTTS.left[0] >= 0.9, _BuiltinTTS.left  # ESPEAK_RESERVE_S, less the scheduling


def _tone(seconds: float, rate: int = 8000) -> bytes:
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes())
    return buffer.getvalue()


async def test_a_configured_stt_vendor_answers_at_the_shortest_deadline(
    client: httpx.AsyncClient, demo: dict[str, Any], vendors: Any, runtime: Runtime
) -> None:
    """The stages' reserves (Whisper, a configured LLM, the dialog policy, speech, the store) must leave a configured
    recogniser time at the shortest deadline a service accepts (with 5 s it never got any: Whisper heard the call)."""
    assert MIN_DEADLINE_S == MIN_TURN_DEADLINE_S
    domain = demo["domain"]
    created = await client.post(
        f"/api/v1/domains/{domain}/providers",
        json={
            "provider_type": "stt",
            "provider_name": "openai",
            "is_default": True,
            "config": {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "timeout_s": 8},
        },
    )
    assert created.status_code == 201, created.text
    settings = runtime.settings
    runtime.settings = settings.model_copy(update={"turn_deadline_s": MIN_DEADLINE_S})
    try:
        call = f"call-{uuid.uuid4()}"
        await _start(client, demo, call)
        turn = await client.post(
            f"/api/v1/calls/{call}/turns",
            data={"domain_uuid": domain},
            files={"audio": ("turn.wav", _tone(1.0), "audio/wav")},
        )
    finally:
        runtime.settings = settings
    assert turn.status_code == 200, turn.text
    assert turn.json()["providers"]["stt"].startswith("openai#"), turn.json()
    assert turn.json()["transcript"] == TRANSCRIPT
    assert [r.path for r in vendors.requests] == ["/v1/audio/transcriptions"]


async def test_a_recogniser_that_fails_is_not_stored_as_silence(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller hears the same "pode repetir?", but the turn says that nothing could transcribe it."""

    async def broken(*_: Any) -> Any:
        raise ProviderError("the model could not be loaded", provider="whisper")

    monkeypatch.setattr(WhisperSTT, "_transcribe_impl", broken)
    call = f"call-{uuid.uuid4()}"
    await _start(client, demo, call)
    url = f"/api/v1/calls/{call}/turns"
    failed = await client.post(url, data={"domain_uuid": demo["domain"]}, files={"audio": ("t.wav", _tone(1.0))})
    assert failed.status_code == 200, failed.text
    body = failed.json()
    assert body["transcript"] == "" and body["action"] == "continue" and body["providers"]["stt"] == "failed"
    silent = await client.post(url, data={"domain_uuid": demo["domain"], "text": ""})
    assert "stt" not in silent.json()["providers"]
    stored = await db.fetch(
        "SELECT m.turn_index, m.providers_used FROM v_voice_messages m JOIN v_voice_conversations c"
        " USING (voice_conversation_uuid) WHERE c.call_uuid = $1 AND m.role = 'user' ORDER BY m.turn_index",
        call,
    )
    assert [json.loads(r["providers_used"]) for r in stored] == [{"stt": "failed"}, {}]


async def test_transcribe_refuses_more_than_a_turn_from_the_header(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    """``/transcribe`` has a turn's bound (120 s), read from the WAV header before any frame is decoded: a header
    that announces 590 s is refused even when the upload holds only a second of them."""
    url = f"/api/v1/domains/{demo['domain']}/transcribe"
    truncated = _header_for(590, 8000) + _tone(1.0)[44:]
    refused = await client.post(url, files={"file": ("long.wav", truncated, "audio/wav")})
    assert refused.status_code == 413, refused.text
    assert "590 s long; a turn is at most 120 s" in refused.json()["detail"]
    whole = await client.post(url, files={"file": ("turn.wav", _tone(1.0), "audio/wav")})
    assert whole.status_code == 200, whole.text


def _header_for(seconds: float, rate: int) -> bytes:
    """A WAV header announcing ``seconds`` of 16-bit mono audio."""
    import struct

    size = int(seconds * rate) * 2
    return (
        b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data" + struct.pack("<I", size)
    )  # fmt: skip
