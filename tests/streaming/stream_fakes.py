"""Fakes for streaming-call tests, conforming to ``voice_ai.streaming.contracts`` exactly, and real audio.

The caller's audio is real speech (the pt-BR 8 kHz utterances the FreeSWITCH tests speak), mixed with silence;
the call's clock is a fake one, advanced 20 ms per frame fed, so every test is deterministic and fast.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from voice_ai.conversation.actions import Action
from voice_ai.providers.audio import Audio
from voice_ai.streaming.call import CallerInfo, StreamingCall
from voice_ai.streaming.contracts import Clip, Heard, ReplyPart, StreamSettings, StreamStart

FIXTURES = Path(__file__).resolve().parents[2] / "telephony" / "freeswitch" / "spec" / "fixtures"
RATE = 8000
FRAME_MS = 20


def wav(name: str) -> Audio:
    return Audio.from_wav((FIXTURES / f"{name}.wav").read_bytes())


def silence(ms: float, rate: int = RATE) -> bytes:
    return np.zeros(int(rate * ms / 1000), dtype="<i2").tobytes()


def noise(ms: float, dbfs: float, seed: int = 1, rate: int = RATE) -> bytes:
    """White noise at ``dbfs`` RMS (a line's hiss)."""
    rng = np.random.default_rng(seed)
    level = 10 ** (dbfs / 20) * 32768
    return np.clip(rng.normal(0, level, int(rate * ms / 1000)), -32768, 32767).astype("<i2").tobytes()


def mix(*tracks: bytes) -> bytes:
    """Sum L16 tracks (the shorter ones padded with silence)."""
    arrays = [np.frombuffer(t, dtype="<i2").astype(np.int32) for t in tracks]
    out = np.zeros(max(a.size for a in arrays), dtype=np.int32)
    for a in arrays:
        out[: a.size] += a
    return np.clip(out, -32768, 32767).astype("<i2").tobytes()


def scaled(pcm: bytes, gain: float) -> bytes:
    return np.clip(np.frombuffer(pcm, dtype="<i2") * gain, -32768, 32767).astype("<i2").tobytes()


def delayed(pcm: bytes, ms: float, rate: int = RATE) -> bytes:
    return silence(ms, rate) + pcm


def cut(pcm: bytes, start_ms: float, ms: float, rate: int = RATE) -> bytes:
    a = int(rate * start_ms / 1000) * 2
    return pcm[a : a + int(rate * ms / 1000) * 2]


def voiced_start_ms(audio: Audio) -> float:
    """Where the fixture's voice begins (first 10 ms window above -35 dBFS)."""
    samples = audio.float32()
    step = audio.sample_rate // 100
    for i in range(0, samples.size - step, step):
        window = samples[i : i + step]
        if np.sqrt(np.mean(window**2)) > 10 ** (-35 / 20):
            return i * 1000 / audio.sample_rate
    return 0.0


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class FakeReply:
    """A ``ReplyStream``: its parts come one by one (``log`` shows when each was produced)."""

    parts: list[ReplyPart]
    action: Action
    log: list[str]
    fail_at: int | None = None  # raise instead of producing this part
    gate: asyncio.Event | None = None  # the first part waits for it (a slow LLM)
    text: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    produced: int = 0

    def __post_init__(self) -> None:
        self.text = " ".join(part.text for part in self.parts)

    def __aiter__(self) -> AsyncIterator[ReplyPart]:
        return self._parts()

    async def _parts(self) -> AsyncIterator[ReplyPart]:
        if self.gate is not None:
            await self.gate.wait()
        for part in self.parts:
            await asyncio.sleep(0)  # the LLM/TTS working
            if self.fail_at == part.index:
                raise RuntimeError("the LLM provider broke mid-reply")
            self.log.append(f"part {part.index}")
            self.produced += 1
            yield part

    async def aclose(self) -> None:
        self.closed = True

    async def commit(self, *, heard: str | None = None, timings: dict[str, float] | None = None) -> int:
        self.commits.append({"heard": heard, "timings": dict(timings or {})})
        return len(self.commits)


@dataclass
class FakeEngine:
    """A ``StreamingEngine``: canned transcripts and replies; every call recorded."""

    clock: FakeClock
    log: list[str]
    settings: StreamSettings = field(default_factory=StreamSettings)
    greeting: Audio | None = None
    operator: str | None = "1000"
    texts: list[str] = field(default_factory=list)  # transcripts to return, in order ("pergunta N" after)
    replies: list[FakeReply] = field(default_factory=list)  # replies to return, in order
    fail_respond: bool = False
    transcribed: list[tuple[float, Audio]] = field(default_factory=list)  # (clock, segment)
    responded: list[tuple[float, Heard]] = field(default_factory=list)
    ends: list[dict[str, Any]] = field(default_factory=list)
    streams: list[FakeReply] = field(default_factory=list)
    stt_gate: asyncio.Event | None = None  # transcriptions wait for it (a recogniser still busy)
    failed_transfers: list[dict[str, Any]] = field(default_factory=list)
    announcing: str | Exception = "Ligação de Maria. Assunto: segunda via. Para atender, tecle 1."  # or raises

    async def start_stream(
        self,
        domain_uuid: uuid.UUID,
        secretary_ref: str,
        call_uuid: str,
        *,
        caller_id_number: str | None,
        caller_id_name: str | None,
        destination_number: str | None,
        sample_rate: int,
    ) -> StreamStart:
        return StreamStart(
            uuid.uuid4(), "pt-BR", "Olá, em que posso ajudar?", self.greeting, self.operator, "default", self.settings
        )

    async def transcribe(self, domain_uuid: uuid.UUID, call_uuid: str, audio: Audio) -> Heard:
        self.transcribed.append((self.clock(), audio))
        n = len(self.transcribed)
        self.log.append(f"transcribe {n}")
        await asyncio.sleep(0)
        if self.stt_gate is not None:
            await self.stt_gate.wait()
        text = self.texts.pop(0) if self.texts else f"pergunta {n}"
        return Heard(text, "fake", 1.0)

    def respond(self, domain_uuid: uuid.UUID, call_uuid: str, heard: Heard, *, sample_rate: int) -> FakeReply:
        self.responded.append((self.clock(), heard))
        self.log.append(f"respond {heard.text!r}")
        if self.fail_respond:
            raise RuntimeError("database is down: postgresql://voice:s3cret-pass@db.internal:5432/voice")
        stream = self.replies.pop(0) if self.replies else reply(self.log, ["Claro.", "Atendemos das oito às dezoito."])
        stream.log = self.log
        self.streams.append(stream)
        return stream

    async def end(
        self,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        *,
        outcome: Literal["transferred", "resolved", "hangup", "abandoned", "error"],
        destination: str | None = None,
        context: str | None = None,
        error: str | None = None,
    ) -> None:
        self.ends.append({"outcome": outcome, "destination": destination, "context": context, "error": error})

    async def transfer_failed(
        self,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        *,
        destination: str,
        context: str | None,
        cause: str,
        sample_rate: int,
    ) -> tuple[str, Audio | None]:
        self.failed_transfers.append({"destination": destination, "context": context, "cause": cause})
        self.log.append(f"transfer_failed {cause}")
        return "O setor Financeiro não atendeu. Quer deixar um recado?", wav("question_saturday")

    async def announcement(
        self, domain_uuid: uuid.UUID, call_uuid: str, *, sample_rate: int
    ) -> tuple[str, Audio | None]:
        self.log.append("announcement")
        if isinstance(self.announcing, Exception):
            raise self.announcing
        return self.announcing, wav("goodbye")


def reply(
    log: list[str], texts: list[str], action: Action | None = None, audio: list[Audio] | None = None, **kw: Any
) -> FakeReply:
    """A reply whose sentence ``i`` is spoken by ``audio[i]`` (default: real speech fixtures)."""
    voices = audio or [wav("question_saturday"), wav("goodbye"), wav("question_price")]
    parts = [ReplyPart(i, text, voices[i % len(voices)]) for i, text in enumerate(texts)]
    return FakeReply(parts, action or Action("continue"), log, **kw)


@dataclass
class StopOnlyTransport:
    """A ``MediaTransport`` from before pause/resume (no such methods): records everything; it does not report
    playback unless a test does. ``controls``: (``"pause"`` | ``"resume"`` | ``"stop"``, clock) in order."""

    log: list[str]
    sample_rate: int = RATE
    clock: FakeClock | None = None
    played: list[Clip] = field(default_factory=list)
    stops: int = 0
    controls: list[tuple[str, float]] = field(default_factory=list)
    transfers: list[tuple[str, str | None]] = field(default_factory=list)
    hangups: int = 0
    failures: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    fail_play: bool = False

    async def play(self, clip: Clip) -> None:
        if self.fail_play:
            raise ConnectionError("the WebSocket is gone")
        self.played.append(clip)
        self.log.append(f"play {clip.id}")

    async def stop_playback(self) -> None:
        self.stops += 1
        self._control("stop")

    def _control(self, what: str) -> None:
        self.log.append(what)
        self.controls.append((what, self.clock() if self.clock is not None else 0.0))

    async def transfer(self, destination: str, context: str | None) -> None:
        self.transfers.append((destination, context))
        self.log.append(f"transfer {destination}")

    async def hangup(self) -> None:
        self.hangups += 1
        self.log.append("hangup")

    async def fail(self, reason: str) -> None:
        self.failures.append(reason)
        self.log.append("fail")

    async def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def barge_ins(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == "barge_in"]


@dataclass
class FakeTransport(StopOnlyTransport):
    """The current ``MediaTransport``: also pauses and resumes playback."""

    async def pause_playback(self) -> None:
        self._control("pause")

    async def resume_playback(self) -> None:
        self._control("resume")


@dataclass
class RingingTransport(FakeTransport):
    """A transport that rings (FreeSWITCH's): ``ring_result`` is what the ringing ends with (None: answered), once
    ``ring_gate`` (when set) opens."""

    ring_result: str | None = "NO_ANSWER"
    ring_gate: asyncio.Event | None = None
    rings: list[tuple[str, str | None, int]] = field(default_factory=list)
    announcements: list[Clip | None] = field(default_factory=list)  # what each ring was to announce

    async def ring(
        self, destination: str, context: str | None, ring_seconds: int, announcement: Clip | None = None
    ) -> str | None:
        self.rings.append((destination, context, ring_seconds))
        self.announcements.append(announcement)
        self.log.append(f"ring {destination} {ring_seconds}")
        if self.ring_gate is not None:
            await self.ring_gate.wait()
        return self.ring_result


class Harness:
    """A call with fakes around it, and the caller's side: ``await h.say(pcm)`` feeds 20 ms frames."""

    def __init__(
        self,
        settings: StreamSettings | None = None,
        *,
        greeting: Audio | None = None,
        pausing: bool = True,
        ringing: bool = False,
    ) -> None:
        self.log: list[str] = []
        self.clock = FakeClock()
        self.engine = FakeEngine(self.clock, self.log, settings or StreamSettings(), greeting=greeting)
        kind = RingingTransport if ringing else FakeTransport if pausing else StopOnlyTransport
        self.transport = kind(self.log, clock=self.clock)
        self.call = StreamingCall(
            self.engine,
            self.transport,
            uuid.uuid4(),
            "call-1",
            "recepcao",
            CallerInfo("5511999990000", "Maria", "2000"),
            clock=self.clock,
        )
        self.fed_ms = 0.0

    async def start(self) -> None:
        await self.call.start()
        await settle()

    async def say(self, pcm: bytes, *, until: Any = None) -> None:
        """Feed ``pcm`` as 20 ms frames in (fake) real time; stop early once ``until()`` is true."""
        step = RATE * FRAME_MS // 1000 * 2
        for i in range(0, len(pcm), step):
            self.clock.t += FRAME_MS / 1000
            self.fed_ms += FRAME_MS
            self.call.feed(pcm[i : i + step])
            await settle()
            if until is not None and until():
                return

    async def quiet(self, ms: float, **kw: Any) -> None:
        await self.say(silence(ms), **kw)


async def settle(rounds: int = 8) -> None:
    """Let the call's tasks run (the fakes finish within a few loop iterations)."""
    for _ in range(rounds):
        await asyncio.sleep(0)
