"""CPU of a streaming call's listening side: VAD (Silero) + turn detection + echo rejection, per call.

    .venv/bin/python bench/streaming_core.py [--seconds 60] [--rate 8000]

A synthetic call, built from the pt-BR 8 kHz utterances of the FreeSWITCH tests: the caller speaks, pauses,
and is silent (line hiss) while the secretary's reply plays and echoes back (attenuated, 150 ms late) half of the
time. Its 20 ms frames go through ``TurnDetector.feed`` as a transport would hand them to ``StreamingCall.feed``.
Prints CPU seconds per second of call audio (the share of one core a call takes), p50/p95/p99 of the per-frame
cost, and the barge-in detection delays (caller voice onset → VOICE_ONSET, where the call pauses its audio, and
→ BARGE_IN at ``barge_in_min_ms``, where it stops it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "streaming"))

from stream_fakes import delayed, mix, noise, scaled, silence, voiced_start_ms, wav

from voice_ai.streaming.audio import to_float
from voice_ai.streaming.contracts import StreamSettings
from voice_ai.streaming.echo import EchoGuard
from voice_ai.streaming.turns import Kind, Mode, TurnDetector
from voice_ai.streaming.vad import shared_model

UTTERANCES = ["question_price", "question_saturday", "transfer_financeiro", "goodbye"]


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def call_audio(seconds: float) -> tuple[bytes, list[tuple[float, float]]]:
    """The caller's line at 8 kHz and the (start, end) seconds during which our reply plays."""
    pcm, playing, t = b"", [], 0.0
    i = 0
    while t < seconds:
        speech = wav(UTTERANCES[i % len(UTTERANCES)])
        reply = wav(UTTERANCES[(i + 1) % len(UTTERANCES)]).pcm
        turn = mix(noise(800, -60, seed=i), delayed(speech.pcm, 800)) + noise(700, -60, seed=i + 1)
        echo = mix(delayed(scaled(reply, 0.3), 150), noise(len(reply) / 16 + 400, -55, seed=i + 2))
        playing.append((t + len(turn) / 16000, t + (len(turn) + len(reply)) / 16000))
        pcm += turn + echo
        t = len(pcm) / 16000
        i += 1
    return pcm, playing


def run(seconds: float, rate: int) -> None:
    loading = time.perf_counter()
    model = shared_model()
    print(f"model load (once per process): {(time.perf_counter() - loading) * 1000:.0f} ms")
    print(f"VAD: {'Silero v6 (onnxruntime, 1 thread)' if model else 'energy fallback (Silero not installed)'}")
    pcm8, playing = call_audio(seconds)
    pcm = pcm8
    if rate != 8000:
        from voice_ai.providers.audio import Audio

        pcm = Audio(pcm8, 8000).resampled(rate).pcm
    echo = EchoGuard(rate)
    detector = TurnDetector(StreamSettings(), rate, echo=echo)
    TurnDetector(StreamSettings(), rate, echo=echo).feed(pcm[: rate * 2], 1.0)  # warm up (imports, FFT plans)
    # the reference: what the transport played, placed where it played
    for i, (start, _) in enumerate(playing):
        reply = wav(UTTERANCES[(i + 1) % len(UTTERANCES)]).resampled(rate)
        echo.played(to_float(reply.samples), start)
    frame = rate * 20 // 1000 * 2
    costs: list[float] = []
    cpu0 = time.process_time()
    for offset in range(0, len(pcm), frame):
        now = (offset + frame) / 2 / rate
        detector.set_mode(Mode.PLAYING if any(s <= now < e for s, e in playing) else Mode.LISTENING)
        t0 = time.perf_counter()
        detector.feed(pcm[offset : offset + frame], now)
        costs.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    audio_s = len(pcm) / 2 / rate
    us = [c * 1e6 for c in costs]
    print(f"{audio_s:.0f} s of call audio at {rate} Hz, {len(costs)} frames of 20 ms")
    print(f"CPU per call-second: {cpu / audio_s * 1000:.1f} ms ({cpu / audio_s * 100:.2f}% of one core per call)")
    print(
        f"per frame: p50 {_pct(us, 0.5):.0f} µs, p95 {_pct(us, 0.95):.0f} µs, p99 {_pct(us, 0.99):.0f} µs, "
        f"max {max(us):.0f} µs (mean {statistics.fmean(us):.0f} µs)"
    )
    print(f"echo rejected: {detector.echo_rejected_ms / 1000:.1f} s of voice-like echo")
    barge_in_delay(rate)


def barge_in_delay(rate: int) -> None:
    delays: dict[Kind, list[float]] = {Kind.VOICE_ONSET: [], Kind.BARGE_IN: []}
    for name in UTTERANCES:
        speech = wav(name).resampled(rate)
        detector = TurnDetector(StreamSettings(), rate)
        detector.set_mode(Mode.PLAYING)
        pcm = silence(1000, rate) + speech.pcm
        onset = 1000 + voiced_start_ms(speech)
        for offset in range(0, len(pcm), rate // 50 * 2):
            events = detector.feed(pcm[offset : offset + rate // 50 * 2], 0.0)
            for event in events:
                if event.kind in delays:
                    delays[event.kind].append(event.at_ms - onset)
            if any(e.kind is Kind.BARGE_IN for e in events):
                break
    for kind, label in ((Kind.VOICE_ONSET, "VOICE_ONSET (pause)"), (Kind.BARGE_IN, "BARGE_IN (stop)")):
        values = delays[kind]
        print(
            f"voice onset → {label}, barge_in_min_ms={StreamSettings().barge_in_min_ms}: "
            f"{', '.join(f'{d:.0f}' for d in values)} ms (p50 {statistics.median(values):.0f} ms)"
        )
    print("(the whole call, echo and random offsets: bench/barge_in.py)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=8000, choices=(8000, 16000))
    args = parser.parse_args()
    run(args.seconds, args.rate)


if __name__ == "__main__":
    main()
