"""Whisper on a streaming call's segment: time and word error rate per decoding variant, and how often callers
pause long enough to start a speculative transcription.

    .venv/bin/python bench/stt_latency.py [--repeat 2] [--variants today stream ...] [--real DIR [--real-language en]]

(``--variants`` names any of :data:`VARIANTS`; the default is :data:`DEFAULT`, ~7 minutes on 2 cores with 40
utterances and 2 repeats.)

The utterances, all at 8 kHz (telephony):

- ``fixtures``: the FreeSWITCH tests' caller utterances (``telephony/freeswitch/spec/fixtures``, references in its
  README);
- ``eval``: the demo company's 15 eval questions, synthesised by espeak-ng (as ``bench/providers.py``);
- ``real`` (``--real DIR``): recordings of people, ``NAME.wav`` with its reference text in ``NAME.txt``: one
  line, one utterance (Whisper gets the whole file: a person's long pause would end the turn early), or one
  line per sentence of a recording of several (its turns as the call cuts them, one per line).

The first two are synthetic voices (the repository holds no pt-BR recording of a person): a word error rate on
them says whether a variant changes what Whisper recognises, not how well it would on real callers.

Each utterance is cut as a streaming call cuts it: its 20 ms frames (plus 1 s of silence) go through the call's
:class:`~voice_ai.streaming.turns.TurnDetector` (Silero VAD, end of turn 600 ms), and the segment of the turn's
``TURN_ENDED`` (voice + 250 ms before + 200 ms after) is what Whisper gets, through ``WhisperSTT.run`` with the
tenant's vocabulary as the prompt, as the engine calls it. Variants run round-robin per utterance, ``--repeat``
times; per variant: time p50/p95 (all runs), the spread of the per-repeat medians, WER over all references.
``turn (file)`` is the turn-based path: today's settings on the whole recording.

"end of speech → transcript" assumes the speculative STT starts ``pause_ms`` after the last voiced chunk and is
reused (the caller did not go on): max(``end_of_turn_ms``, ``pause_ms`` + STT time) at the median.

Pauses: per ``pause_ms`` candidate, the speculative starts (``PAUSE`` events) and how many of them the caller's
voice made stale (``RESUMED``: CPU spent for nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from voice_ai.demo.seed import DATA_DIR
from voice_ai.providers.audio import Audio
from voice_ai.providers.llm.text import fold
from voice_ai.providers.registry import provider_class
from voice_ai.providers.stt.whisper import Decoding, WhisperSettings, WhisperSTT
from voice_ai.streaming.contracts import StreamSettings
from voice_ai.streaming.turns import Kind, TurnDetector, silence

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "telephony" / "freeswitch" / "spec" / "fixtures"
RATE = 8000
FRAME_MS = 20
PAUSES_MS = (100, 150, 200, 250)
TURN = WhisperSettings().decoding("turn")
STREAM = WhisperSettings().decoding("stream")


@dataclass(frozen=True)
class Variant:
    name: str
    decoding: Decoding
    threads: int = 2
    whole_file: bool = False  # the whole recording (turn-based), not the streaming segment
    trim_ms: tuple[int, int] = (0, 0)  # cut off the segment's start / end (its 250 ms before / 200 ms after the voice)


VARIANTS = {
    v.name: v
    for v in (
        Variant("turn (file)", TURN, whole_file=True),
        Variant("today", TURN),
        Variant("beam1", replace(TURN, beam_size=1)),
        Variant("novad", replace(TURN, vad_filter=False)),
        Variant("nots", replace(TURN, without_timestamps=True)),
        Variant("threads1", TURN, threads=1),
        Variant("beam1+novad+nots", Decoding(1, False, True, None)),
        Variant("window 5s", replace(TURN, window_s=5.0)),
        Variant("window 10s", replace(TURN, window_s=10.0)),
        Variant("window 15s", replace(TURN, window_s=15.0)),
        Variant("window 20s", replace(TURN, window_s=20.0)),
        Variant("novad+nots", Decoding(5, False, True, None)),
        Variant("novad+nots+window 10s", Decoding(5, False, True, 10.0)),
        Variant("novad+nots+window 12s", Decoding(5, False, True, 12.0)),
        Variant("novad+nots+window 15s", Decoding(5, False, True, 15.0)),
        Variant("stream", STREAM),
        Variant("stream, 100 ms before", STREAM, trim_ms=(150, 0)),
        Variant("stream, 150 ms after", STREAM, trim_ms=(0, 50)),
        Variant("stream, 100 ms after", STREAM, trim_ms=(0, 100)),
        Variant("stream threads1", STREAM, threads=1),
        Variant("stream (file)", STREAM, whole_file=True),
    )
}


DEFAULT = [
    "turn (file)",
    "today",
    "beam1",
    "novad",
    "nots",
    "novad+nots+window 10s",
    "novad+nots+window 15s",
    "stream",
    "stream, 150 ms after",
]


@dataclass
class Clip:
    name: str
    set: str
    language: str
    reference: str
    audio: Audio  # the whole recording at 8 kHz
    segment: Audio  # what a streaming call hands to STT
    pauses: dict[int, tuple[int, int]]  # pause_ms -> (PAUSE events, RESUMED after them)


def trimmed(audio: Audio, start_ms: int, end_ms: int) -> Audio:
    """``audio`` less ``start_ms`` at its start and ``end_ms`` at its end (a speculative STT at a pause shorter than
    the segment's 200 ms tail gets only ``pause_ms`` of it)."""
    bytes_per_ms = audio.sample_rate * 2 // 1000
    return Audio(audio.pcm[start_ms * bytes_per_ms : len(audio.pcm) - end_ms * bytes_per_ms], audio.sample_rate)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words): Levenshtein distance over words (as ``bench/providers.py``)."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[len(hyp)], len(ref)


def rate(edits: int, total: int) -> str:
    return f"{edits / total:13.1%}" if total else f"{'-':>13}"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cut(audio: Audio, pause_ms: float) -> tuple[list[Audio], int, int]:
    """The streaming segments (one per turn) and the (PAUSE, RESUMED) counts at ``pause_ms``."""
    detector = TurnDetector(StreamSettings(), RATE, pause_ms=pause_ms)
    pcm = audio.resampled(RATE).pcm + silence(RATE, 1000)
    step = RATE * FRAME_MS // 1000 * 2
    segments: list[Audio] = []
    pauses = resumed = 0
    for at in range(0, len(pcm), step):
        for event in detector.feed(pcm[at : at + step], at / 2 / RATE):
            pauses += event.kind is Kind.PAUSE
            resumed += event.kind is Kind.RESUMED
            if event.kind is Kind.TURN_ENDED:
                segments.append(detector.segment(event))
    return segments, pauses, resumed


def make_clips(name: str, group: str, language: str, references: list[str], audio: Audio) -> list[Clip]:
    """One clip per reference: the recording's turns as a streaming call cuts them (one reference: the first
    turn, or, for a recording of people, the whole file: a long pause would end the turn early)."""
    audio = audio.resampled(RATE)
    found: dict[int, tuple[list[Audio], int, int]] = {p: cut(audio, p) for p in PAUSES_MS}
    segments = found[200][0]  # the segments do not depend on pause_ms
    if len(references) == 1:
        segments = [audio] if group == "real" else segments[:1]
    if len(segments) != len(references):
        print(f"  {name}: {len(segments)} turns for {len(references)} references, skipped", file=sys.stderr)
        return []
    share = len(segments)
    clips = []
    for i, (reference, segment) in enumerate(zip(references, segments, strict=True)):
        # pauses counted per recording, shared out over its clips (counted once, on the first)
        pauses = {p: (f[1], f[2]) if i == 0 else (0, 0) for p, f in found.items()}
        full = audio if share == 1 else segment
        label = name if share == 1 else f"{name}.{i + 1:02d}"
        clips.append(Clip(label, group, language, reference, full, segment, pauses))
    return clips


async def load_clips() -> list[Clip]:
    clips: list[Clip] = []
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for name, text in re.findall(r"`(\w+)\.wav`: “([^”]+)”", readme):
        clips += make_clips(name, "fixtures", "pt-BR", [text], Audio.from_wav((FIXTURES / f"{name}.wav").read_bytes()))
    tts = provider_class("tts", "espeak").from_config({})
    company = json.loads((DATA_DIR / "questions.json").read_text(encoding="utf-8"))
    for i, case in enumerate(company["cases"]):
        speech = await tts.synthesize(case["q"], language="pt-BR", sample_rate=RATE)
        clips += make_clips(f"q{i + 1:02d}", "eval", "pt-BR", [case["q"]], speech.audio)
    return clips


def real_clips(folder: Path, language: str) -> list[Clip]:
    clips: list[Clip] = []
    for wav in sorted(folder.glob("*.wav")):
        lines = wav.with_suffix(".txt").read_text(encoding="utf-8").strip().splitlines()
        references = [line.strip() for line in lines if line.strip()]
        clips += make_clips(wav.stem, "real", language, references, Audio.from_wav(wav.read_bytes()))
    return clips


def vocabulary() -> list[str]:
    company = json.loads((DATA_DIR / "questions.json").read_text(encoding="utf-8"))
    rules = company["transfer_rules"]
    return [
        company["company"],
        *(r["name"] for r in rules),
        *(k.strip() for r in rules for k in r["description"].split(",")),
    ]


def main(repeat: int, names: list[str], real: Path | None, real_language: str) -> None:
    clips = asyncio.run(load_clips()) + (real_clips(real, real_language) if real else [])
    hints = vocabulary()
    variants = [VARIANTS[n] for n in names]
    models = {t: WhisperSTT.from_config({"cpu_threads": t}) for t in {v.threads for v in variants}}
    for stt in models.values():  # load (and warm) every model before timing
        stt.run(clips[0].segment, "pt-BR", hints, TURN)
    times: dict[str, list[list[float]]] = {v.name: [[] for _ in range(repeat)] for v in variants}
    edits: dict[str, dict[str, list[int]]] = {v.name: {} for v in variants}
    texts: dict[str, dict[str, str]] = {v.name: {} for v in variants}
    started = time.perf_counter()
    for r in range(repeat):
        for clip in clips:
            for v in variants:
                audio = clip.audio if v.whole_file else trimmed(clip.segment, *v.trim_ms)
                lang_hints = hints if clip.language.startswith("pt") else []
                t0 = time.perf_counter()
                transcript = models[v.threads].run(audio, clip.language, lang_hints, v.decoding)
                times[v.name][r].append((time.perf_counter() - t0) * 1000)
                if r == 0:
                    e, n = wer(clip.reference, transcript.text)
                    texts[v.name][clip.name] = transcript.text
                    for group in (clip.set, "all"):
                        total = edits[v.name].setdefault(group, [0, 0])
                        total[0] += e
                        total[1] += n
    elapsed = time.perf_counter() - started

    groups = [*sorted({c.set for c in clips}), "all"]
    segs = [c.segment.duration_s for c in clips]
    files = [c.audio.duration_s for c in clips]
    print(
        f"whisper base int8, {os.cpu_count()} cores, {len(clips)} utterances at 8 kHz "
        + ", ".join(f"{g} {sum(c.set == g for c in clips)}" for g in groups[:-1])
        + f"; x{repeat} ({elapsed:.0f} s); load at start {os.getloadavg()[0]:.2f} (1 min)"
    )
    print(
        f"streaming segment p50 {statistics.median(segs):.2f} s (max {max(segs):.2f}); "
        f"whole recording p50 {statistics.median(files):.2f} s"
    )
    header = " ".join(f"{'WER ' + g:>13}" for g in groups)
    print(f"{'variant':24} {'p50 ms':>7} {'p95 ms':>7} {'p50 spread':>13} {header}  eos→text p50 @200/@150")
    eot = StreamSettings().end_of_turn_ms
    for v in variants:
        flat = [t for run in times[v.name] for t in run]
        per_run = [statistics.median(run) for run in times[v.name]]
        spread = f"{min(per_run):.0f}-{max(per_run):.0f}"
        rates = " ".join(rate(*edits[v.name].get(g, [0, 0])) for g in groups)
        p50 = statistics.median(flat)
        eos = f"{max(eot, 200 + p50):.0f}/{max(eot, 150 + p50):.0f} ms" if not v.whole_file else ""
        print(f"{v.name:24} {p50:7.0f} {pct(flat, 0.95):7.0f} {spread:>13} {rates}  {eos}")

    print("\nspeculative starts per utterance (PAUSE events / of them made stale by more voice), by pause_ms:")
    for pause_ms in PAUSES_MS:
        started_n = sum(c.pauses[pause_ms][0] for c in clips)
        stale = sum(c.pauses[pause_ms][1] for c in clips)
        with_stale = sum(c.pauses[pause_ms][1] > 0 for c in clips)
        print(
            f"  pause_ms {pause_ms:3d}: {started_n} starts for {len(clips)} utterances, {stale} stale "
            f"({with_stale} utterances had a mid-utterance pause that long)"
        )

    if os.environ.get("STT_BENCH_TEXTS"):
        for v in variants:
            print(f"\n[{v.name}]")
            for clip in clips:
                print(f"  {clip.name}: {texts[v.name][clip.name]!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=DEFAULT)
    parser.add_argument("--real", type=Path, help="a folder of NAME.wav + NAME.txt (reference) recordings")
    parser.add_argument("--real-language", default="pt-BR")
    args = parser.parse_args()
    main(args.repeat, args.variants, args.real, args.real_language)
