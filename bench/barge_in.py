"""Barge-in reaction of a streaming call: caller voice starts → our audio pauses (or stops), and false interruptions.

    .venv/bin/python bench/barge_in.py [--offsets 6] [--seed 11]

A whole :class:`~voice_ai.streaming.call.StreamingCall` (real Silero VAD, turn detection, echo rejection) with the
fake engine of ``tests/streaming`` and a simulated transport and clock: the transport plays its clips 20 ms per
tick (pause holds the clip and the queue, resume continues, stop drops them), and the caller's line carries the
echo of what it really played (gain 0.1–0.4, 0–250 ms late, random per trial) plus hiss at -55 dBFS. The caller
asks a question; while the reply (two pt-BR sentences, ~5 s) plays, an interruption starts at a random offset.

- **Reaction**: real pt-BR utterances (the FreeSWITCH test fixtures and the pt-BR prompts, 8 kHz) as the
  interruption; from the voice onset (first 10 ms above -35 dBFS in the utterance) to the first pause or stop
  sent to the transport. Measured with a transport that pauses (the current contract) and one that only stops
  (what a transport without ``pause_playback`` gets: stop once ``barge_in_min_ms`` confirms).
- **False interruptions**: short voice bursts ("uhum", 120–220 ms cut from the same utterances), synthetic coughs
  (band-limited noise bursts, fast attack, 100–250 ms) and clicks; a false interruption is a *stop* (the reply cut);
  a pause that resumed is counted apart, with how long our audio was held. And the echo alone (no caller voice):
  any pause is false.

Transport latency (the ESL or WebSocket round trip to the real player) is not included: add the transport's own.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "streaming"))

from stream_fakes import RATE, FakeClock, FakeEngine, reply, settle, voiced_start_ms, wav

from voice_ai.providers.audio import Audio
from voice_ai.streaming.call import CallerInfo, StreamingCall
from voice_ai.streaming.contracts import Clip, StreamSettings

ROOT = Path(__file__).resolve().parents[1]
FRAME = RATE // 50  # 20 ms
PROMPTS = ROOT / "telephony" / "freeswitch" / "sounds" / "voice_ai" / "pt-BR"
FIXTURES = ["question_price", "question_saturday", "transfer_financeiro", "goodbye"]


def utterances() -> dict[str, Audio]:
    """The real pt-BR speech at hand: the caller fixtures and the pt-BR prompts."""
    found = {name: wav(name) for name in FIXTURES}
    for path in sorted(PROMPTS.glob("*.wav")):
        found[f"prompt_{path.stem}"] = Audio.from_wav(path.read_bytes()).resampled(RATE)
    return found


@dataclass
class SimTransport:
    """A player on the simulated clock: ``tick`` plays 20 ms (silence when paused or idle)."""

    clock: FakeClock
    pausing: bool
    sample_rate: int = RATE
    queue: list[np.ndarray] = field(default_factory=list)
    position: int = 0
    paused: bool = False
    controls: list[tuple[str, float]] = field(default_factory=list)
    started_at: float | None = None  # when the first sample of a clip played

    async def play(self, clip: Clip) -> None:
        self.queue.append(clip.audio.samples.astype(np.float32))

    async def stop_playback(self) -> None:
        self.controls.append(("stop", self.clock()))
        self.queue, self.position, self.paused = [], 0, False

    async def pause(self) -> None:
        self.controls.append(("pause", self.clock()))
        self.paused = True

    async def resume(self) -> None:
        self.controls.append(("resume", self.clock()))
        self.paused = False

    async def transfer(self, destination: str, context: str | None) -> None: ...

    async def hangup(self) -> None: ...

    async def fail(self, reason: str) -> None:
        raise SystemExit(f"the call failed: {reason}")

    async def emit(self, event: dict[str, Any]) -> None: ...

    def tick(self) -> np.ndarray:
        out = np.zeros(FRAME, dtype=np.float32)
        filled = 0
        while not self.paused and self.queue and filled < FRAME:
            if self.started_at is None:
                self.started_at = self.clock() - (FRAME - filled) / RATE
            clip = self.queue[0]
            take = min(FRAME - filled, clip.size - self.position)
            out[filled : filled + take] = clip[self.position : self.position + take]
            filled += take
            self.position += take
            if self.position >= clip.size:
                self.queue.pop(0)
                self.position = 0
        return out


class PausingTransport(SimTransport):
    async def pause_playback(self) -> None:
        await self.pause()

    async def resume_playback(self) -> None:
        await self.resume()


@dataclass
class Trial:
    interruption: np.ndarray | None  # int16 samples of the caller's voice over the reply (None: echo only)
    offset_s: float  # into the reply's playback
    onset_s: float  # voice onset inside ``interruption``
    echo_gain: float
    echo_delay_ms: float
    seed: int


@dataclass
class Result:
    reaction_ms: float | None  # onset → first pause/stop (None: nothing sent)
    stopped: bool
    paused_ms: list[float]  # each pause that resumed: how long our audio was held


async def run_trial(trial: Trial, *, pausing: bool, reply_audio: list[Audio]) -> Result:
    clock = FakeClock()
    log: list[str] = []
    engine = FakeEngine(clock, log, StreamSettings(idle_prompt_s=0), greeting=None)
    engine.replies.append(reply(log, ["Primeira frase da resposta.", "Segunda frase."], audio=reply_audio))
    transport = (PausingTransport if pausing else SimTransport)(clock, pausing)
    call = StreamingCall(engine, transport, uuid.uuid4(), "bench", "recepcao", CallerInfo(), clock=clock)
    await call.start()
    await settle()
    rng = np.random.default_rng(trial.seed)
    delay = int(trial.echo_delay_ms * RATE / 1000)
    line: list[np.ndarray] = [np.zeros(delay, dtype=np.float32)]  # what played, as it comes back down the line
    pending = np.zeros(0, dtype=np.float32)
    question = wav("question_price").samples.astype(np.float32)
    caller = np.concatenate([question, np.zeros(RATE * 30, dtype=np.float32)])  # the question, then silence
    voice_at: int | None = None  # sample of the caller's line where the interruption begins
    interruption = trial.interruption.astype(np.float32) if trial.interruption is not None else None
    n = 0
    end_at: int | None = None
    while True:
        clock.t += FRAME / RATE
        played = transport.tick()
        line.append(played * trial.echo_gain)
        pending = np.concatenate([pending, *line])
        line = []
        echo, pending = pending[:FRAME], pending[FRAME:]
        frame = caller[n : n + FRAME] + echo * 1.0 + rng.normal(0, 10 ** (-55 / 20) * 32768, FRAME)
        if voice_at is None and transport.started_at is not None and clock.t - transport.started_at >= trial.offset_s:
            voice_at = n
            length = interruption.size if interruption is not None else int(RATE * 2.5)
            end_at = n + length + RATE
        if voice_at is not None and interruption is not None:
            part = interruption[max(n - voice_at, 0) : max(n - voice_at, 0) + FRAME]
            frame[: part.size] += part
        call.feed(np.clip(frame, -32768, 32767).astype("<i2").tobytes())
        await settle()
        n += FRAME
        if any(what == "stop" for what, _ in transport.controls) or (end_at is not None and n >= end_at):
            break
        if n > RATE * 30:
            raise SystemExit("the reply never played")
    await call.closed("bench over")
    await call.wait()
    onset_clock = None
    if voice_at is not None:
        onset_clock = 1000.0 + (voice_at + trial.onset_s * RATE) / RATE  # the clock at sample k: 1000 + k / RATE
    controls = transport.controls
    reaction = None
    if controls and onset_clock is not None and controls[0][0] in ("pause", "stop"):
        reaction = (controls[0][1] - onset_clock) * 1000
    holds = [(b[1] - a[1]) * 1000 for a, b in itertools.pairwise(controls) if (a[0], b[0]) == ("pause", "resume")]
    return Result(reaction, any(what == "stop" for what, _ in controls), holds)


def cough(rng: random.Random, ms: float) -> np.ndarray:
    """A synthetic cough: band-limited noise (300–3000 Hz), fast attack, exponential decay, -12..-6 dBFS peak."""
    n = int(RATE * ms / 1000)
    gen = np.random.default_rng(rng.randrange(1 << 30))
    spectrum = np.fft.rfft(gen.normal(0, 1, n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < 300) | (freqs > 3000)] = 0
    burst = np.fft.irfft(spectrum, n)
    envelope = np.minimum(np.arange(n) / (RATE * 0.01), 1.0) * np.exp(-np.arange(n) / (n / 3))
    burst = burst * envelope
    peak = 10 ** (rng.uniform(-12, -6) / 20) * 32768
    return (burst / np.max(np.abs(burst)) * peak).astype(np.int16)


def click(rng: random.Random) -> np.ndarray:
    n = int(RATE * rng.uniform(0.005, 0.02))
    gen = np.random.default_rng(rng.randrange(1 << 30))
    return (gen.normal(0, 0.3, n) * 32768 * np.exp(-np.arange(n) / (n / 4))).clip(-32768, 32767).astype(np.int16)


def burst(rng: random.Random, audio: Audio) -> tuple[np.ndarray, float]:
    """An "uhum": 120–220 ms of voice cut from a real utterance (inside its voiced part)."""
    ms = rng.uniform(120, 220)
    samples = audio.samples
    voiced = voiced_start_ms(audio)
    start = int(rng.uniform(voiced, audio.duration_s * 1000 - ms - 100) * RATE / 1000)
    part = samples[start : start + int(ms * RATE / 1000)].astype(np.float32)
    fade = min(int(RATE * 0.01), part.size // 2)
    ramp = np.linspace(0, 1, fade, dtype=np.float32)
    part[:fade] *= ramp
    part[-fade:] *= ramp[::-1]
    return part.astype(np.int16), ms


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"p50 {statistics.median(values):.0f} ms, p95 {pct(values, 0.95):.0f} ms, "
        f"min {min(values):.0f}, max {max(values):.0f} (n={len(values)})"
    )


ECHO_GAIN = (0.1, 0.4)


def line_params(rng: random.Random) -> tuple[float, float]:
    return rng.uniform(*ECHO_GAIN), rng.uniform(0, 250)


async def main(offsets: int, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible trials, not secrets
    speech = utterances()
    reply_audio = [speech.pop("prompt_greeting"), speech.pop("prompt_transferring")]  # what the secretary says
    playing_s = sum(a.duration_s for a in reply_audio)
    print(f"reply: {playing_s:.1f} s of pt-BR speech; interruptions: {len(speech)} real pt-BR utterances")

    trials = []
    for name, audio in speech.items():
        onset = voiced_start_ms(audio) / 1000
        for _ in range(offsets):
            gain, delay = line_params(rng)
            offset = rng.uniform(0.3, playing_s - 1.2)
            trials.append((name, Trial(audio.samples, offset, onset, gain, delay, rng.randrange(1 << 30))))
    for pausing in (True, False):
        reactions: list[float] = []
        per_name: dict[str, list[float]] = {}
        missed = glitches = 0
        for name, trial in trials:
            result = await run_trial(trial, pausing=pausing, reply_audio=reply_audio)
            glitches += bool(result.paused_ms)
            if result.reaction_ms is None or not result.stopped:
                missed += 1
                continue
            reactions.append(result.reaction_ms)
            per_name.setdefault(name, []).append(result.reaction_ms)
        kind = "pausing transport (pause, then stop)" if pausing else "stop-only transport (stop at confirmation)"
        print(f"\nreaction, voice onset → our audio held, {kind}:")
        print(f"  {summary(reactions)}; interruptions not stopped: {missed}/{len(trials)}", end="")
        print(f", resumed before the stop: {glitches}/{len(trials)}" if pausing else "")
        for name, values in per_name.items():
            print(f"    {name:28s} {', '.join(f'{v:.0f}' for v in values)}")

    print("\nfalse interruptions: a stop is a false interruption (the reply is cut); a pause that resumed is not")
    kinds: dict[str, list[tuple[np.ndarray, float]]] = {"uhum (120–220 ms of voice)": [], "cough (100–250 ms)": []}
    kinds["click (5–20 ms)"] = []
    names = list(speech)
    for i in range(len(names) * offsets):
        audio = speech[names[i % len(names)]]
        kinds["uhum (120–220 ms of voice)"].append((burst(rng, audio)[0], 0.0))
        kinds["cough (100–250 ms)"].append((cough(rng, rng.uniform(100, 250)), 0.0))
        kinds["click (5–20 ms)"].append((click(rng), 0.0))
    kinds["echo only (no caller voice)"] = [(np.zeros(0, dtype=np.int16), 0.0)] * (len(names) * offsets)
    for label, sounds in kinds.items():
        stops = pauses = legacy = 0
        holds: list[float] = []
        for samples, onset in sounds:
            gain, delay = line_params(rng)
            offset = rng.uniform(0.3, playing_s - 1.2)
            trial = Trial(samples if samples.size else None, offset, onset, gain, delay, rng.randrange(1 << 30))
            result = await run_trial(trial, pausing=True, reply_audio=reply_audio)
            stops += result.stopped
            pauses += bool(result.paused_ms) and not result.stopped
            holds.extend(result.paused_ms)
            legacy += (await run_trial(trial, pausing=False, reply_audio=reply_audio)).stopped
        hold = f", audio held p50 {statistics.median(holds):.0f} / max {max(holds):.0f} ms" if holds else ""
        print(
            f"  {label:28s} false interruptions {stops}/{len(sounds)} (stop-only transport {legacy}/{len(sounds)}); "
            f"paused then resumed {pauses}/{len(sounds)}{hold}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--offsets", type=int, default=6, help="random offsets per utterance / sound kind")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-echo", action="store_true", help="a line that sends none of our audio back")
    args = parser.parse_args()
    if args.no_echo:
        ECHO_GAIN = (0.0, 0.0)
    asyncio.run(main(args.offsets, args.seed))
