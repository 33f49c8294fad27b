"""A stand-in for the streaming call behind the browser console: the methods of
:class:`voice_ai.streaming.call.StreamingCall` the console session drives, with fixed events and fixed clips. It
answers once it has heard :data:`VOICE_S` of voice (frames whose level is above a floor), so a test that sees a
reply knows that real audio reached the server."""

from __future__ import annotations

import asyncio
import math
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from voice_ai.providers.audio import Audio
from voice_ai.streaming.contracts import Clip

VOICE_S = 0.6
VOICE_FLOOR = 300  # RMS of 16-bit samples: speech from the fixture WAV is far above, digital silence is 0


def tone(seconds: float, rate: int = 16000, hz: float = 440.0) -> Audio:
    samples = [int(6000 * math.sin(2 * math.pi * hz * n / rate)) for n in range(int(seconds * rate))]
    return Audio(struct.pack(f"<{len(samples)}h", *samples), rate)


def rms(pcm: bytes) -> float:
    count = len(pcm) // 2
    if count == 0:
        return 0.0
    values = struct.unpack(f"<{count}h", pcm[: count * 2])
    return math.sqrt(sum(v * v for v in values) / count)


@dataclass
class Stats:
    frames: int = 0
    bytes: int = 0
    voiced_s: float = 0.0
    peak_rms: float = 0.0
    started: list[str] = field(default_factory=list)
    stopped: list[tuple[str, bool]] = field(default_factory=list)
    times: dict[str, list[float]] = field(default_factory=dict)  # clip id → [started, stopped] (monotonic)
    digits: list[str] = field(default_factory=list)
    closed: str | None = None
    held: str | None = None  # the clip '#' played and held
    turns: int = 0


class EchoCall:
    """Greets with a short tone, answers every :data:`VOICE_S` of voice with a fixed reply, '*' stops playback
    (as a barge-in would), '#' plays a clip and holds it for a second (pause, resume), '0' transfers like the real
    call: its action event, then the transport's transfer."""

    def __init__(self, transport: Any, stats: Stats, *, reply_s: float = 0.4) -> None:
        self.transport = transport
        self.stats = stats
        self.reply_s = reply_s
        self._voiced = 0.0
        self._turn_started = 0.0
        self._ids = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _play(self, text: str, seconds: float) -> None:
        self._ids += 1
        await self.transport.play(Clip(f"clip-{self._ids}", text, tone(seconds)))

    async def start(self) -> None:
        await self.transport.emit({"type": "reply", "turn": 0, "text": "Olá, teste."})
        await self._play("Olá, teste.", 0.3)
        await self.transport.emit({"type": "state", "state": "listening"})

    def feed(self, pcm: bytes) -> None:
        self.stats.frames += 1
        self.stats.bytes += len(pcm)
        level = rms(pcm)
        self.stats.peak_rms = max(self.stats.peak_rms, level)
        if level < VOICE_FLOOR:
            return
        seconds = len(pcm) / 2 / self.transport.sample_rate
        self.stats.voiced_s += seconds
        if self._voiced == 0.0:
            self._turn_started = time.monotonic()
        self._voiced += seconds
        if self._voiced >= VOICE_S and self.stats.turns < 3:
            self._voiced = 0.0
            self.stats.turns += 1
            self._spawn(self._answer(self.stats.turns, (time.monotonic() - self._turn_started) * 1000))

    async def _answer(self, turn: int, heard_ms: float) -> None:
        await self.transport.emit(
            {"type": "transcript", "turn": turn, "text": f"(stand-in) {VOICE_S:.1f} s de voz", "final": True}
        )
        await self.transport.emit({"type": "reply", "turn": turn, "text": "Resposta de teste da secretária."})
        await self._play("Resposta de teste da secretária.", self.reply_s)
        await self.transport.emit({"type": "latency", "turn": turn, "first_audio_ms": 42, "total_ms": round(heard_ms)})

    def dtmf(self, digit: str) -> None:
        self.stats.digits.append(digit)
        if digit == "0":
            self._spawn(self._to_operator())
        elif digit == "*":
            self._spawn(self.transport.stop_playback())
        elif digit == "#":
            self._spawn(self._held_clip())

    async def _held_clip(self) -> None:
        """A 1.5 s clip held for 1 s by a pause (a possible barge-in that was a cough), then resumed."""
        await self._play("Um momento, por favor.", 1.5)
        self.stats.held = f"clip-{self._ids}"
        await asyncio.sleep(0.3)
        await self.transport.pause_playback()
        await asyncio.sleep(1.0)
        await self.transport.resume_playback()

    async def _to_operator(self) -> None:
        await self.transport.emit(
            {"type": "action", "action": "transfer", "destination": "100", "context": "demo.localhost"}
        )
        await self.transport.transfer("100", "demo.localhost")

    def playback_started(self, clip_id: str, at: float | None = None) -> None:
        self.stats.started.append(clip_id)
        self.stats.times.setdefault(clip_id, []).append(time.monotonic())

    def playback_stopped(self, clip_id: str, at: float | None = None, completed: bool = True) -> None:
        self.stats.stopped.append((clip_id, completed))
        self.stats.times.setdefault(clip_id, []).append(time.monotonic())

    async def closed(self, reason: str) -> None:
        self.stats.closed = reason

    async def wait(self) -> None:
        while self._tasks:
            await asyncio.wait(list(self._tasks))
