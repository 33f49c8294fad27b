"""Whisper with the tenant's vocabulary: word error rate and time per recognition variant.

    .venv/bin/python bench/stt_vocabulary.py [--company DIR ...] [--variants NAME ...] [--repeat 1] [--show]

A company folder is an evaluation company (``questions.json``: company, transfer_rules, cases with ``q``;
``docs/*.md``): by default ``../shared/eval/contabilidade-exata`` (next to the repository, or its parent) and every
``bench/companies/*`` that exists. Each question is synthesised by espeak-ng (pt-BR, 150 words per minute, 8 kHz,
the offline TTS's defaults) and transcribed through ``WhisperSTT.run`` with the company's lexicon
(:class:`voice_ai.understanding.lexicon.Lexicon` built as :func:`voice_ai.services.vocabulary.tenant_lexicon`
builds it: company and department names, rule descriptions as keywords, the documents) — the way a call turn
runs it, minus the database.

Per variant (:data:`VARIANTS`): WER over all references, time p50/p95 (ms) and p50 relative to ``today``
(today's turn decoding: beam 5, the old vocabulary of names and keywords as the prompt, best hypothesis only;
``stream today``: the same for a streaming call's segment). ``default``: what ``WhisperSettings()`` decodes now.
Variants run round-robin per clip so that other load on the machine spreads evenly. ``quiet:`` variants get the
clips 20 dB quieter (a weak phone line): what loudness normalisation is for.

espeak-ng is a synthetic voice: a WER here says whether a variant changes what Whisper recognises, not how well
it does on real callers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wer import wer  # type: ignore[import-not-found]  # bench/wer.py (bench/ is on sys.path when run)

from voice_ai.providers.audio import Audio
from voice_ai.providers.registry import provider_class
from voice_ai.providers.stt.whisper import Decoding, WhisperSettings, WhisperSTT
from voice_ai.understanding.lexicon import Lexicon

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT / "var" / "stt-clips"
EVAL = "shared/eval/contabilidade-exata"

_TODAY_TENANT = {"hypotheses": 1, "fit_weight": 0.0, "prompt_tokens": 223, "lead_silence_s": 0.0}
TODAY = replace(WhisperSettings().decoding("turn"), conditioning=(), **_TODAY_TENANT)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Variant:
    name: str
    decoding: Decoding
    hints: str = "lexicon"  # "old": names + keywords (before this change); "lexicon": the lexicon's terms; "none"
    quiet: bool = False  # the clip 20 dB quieter


PROMPTED = replace(TODAY, prompt_tokens=120)
LEAD = replace(PROMPTED, lead_silence_s=0.5)


def nbest(weight: float, **extra: object) -> Decoding:
    options: dict[str, object] = {"hypotheses": 5, **extra}
    return replace(LEAD, fit_weight=weight, **options)  # type: ignore[arg-type]


VARIANTS = {
    v.name: v
    for v in (
        Variant("today", TODAY, "old"),
        Variant("no prompt", TODAY, "none"),
        Variant("lexicon 60 tok", replace(TODAY, prompt_tokens=60)),
        Variant("lexicon 120 tok", PROMPTED),
        Variant("lexicon 220 tok", replace(TODAY, prompt_tokens=220)),
        Variant("hotwords 120 tok", replace(PROMPTED, hotwords=True)),
        Variant("lex120 lead 0.25 s", replace(PROMPTED, lead_silence_s=0.25)),
        Variant("lex120 lead 0.5 s", LEAD),
        Variant("lex120 lead 1 s", replace(PROMPTED, lead_silence_s=1.0)),
        Variant("old hints lead 0.5 s", replace(TODAY, lead_silence_s=0.5), "old"),
        Variant("nbest5 l=0", nbest(0.0)),
        Variant("nbest5 l=0.5", nbest(0.5)),
        Variant("nbest5 l=1", nbest(1.0)),
        Variant("nbest5 l=2", nbest(2.0)),
        Variant("nbest5 l=1 +highpass", nbest(1.0, conditioning=("highpass",))),
        Variant("nbest5 l=1 +normalize", nbest(1.0, conditioning=("normalize",))),
        Variant("nbest5 l=0 +normalize", nbest(0.0, conditioning=("normalize",))),
        Variant("nbest5 l=1 +preemphasis", nbest(1.0, conditioning=("preemphasis",))),
        Variant("nbest5 l=1 +preemphasis+normalize", nbest(1.0, conditioning=("preemphasis", "normalize"))),
        Variant("nbest5 l=0 +preemphasis+normalize", nbest(0.0, conditioning=("preemphasis", "normalize"))),
        Variant("nbest5 l=1 patience2", nbest(1.0, patience=2.0)),
        Variant("nbest5 l=1 norepeat3", nbest(1.0, no_repeat_ngram_size=3)),
        Variant("nbest5 l=1 lenpen0.5", nbest(1.0, length_penalty=0.5)),
        Variant("nbest8 beam8 l=1", nbest(1.0, beam_size=8, hypotheses=8)),
        Variant("quiet: today", TODAY, "old", quiet=True),
        Variant("quiet: nbest5 l=1", nbest(1.0), quiet=True),
        Variant("quiet: nbest5 l=1 +normalize", nbest(1.0, conditioning=("normalize",)), quiet=True),
        Variant("default", WhisperSettings().decoding("turn")),
        Variant("default (stream)", WhisperSettings().decoding("stream")),
        Variant(
            "stream today",
            replace(WhisperSettings().decoding("stream"), **{**_TODAY_TENANT, "conditioning": ()}),  # type: ignore[arg-type]
            "old",
        ),
    )
}


def company_lexicon(folder: Path) -> tuple[Lexicon, list[str], list[str]]:
    """(the lexicon, the old hints: names + keywords, the questions)."""
    data = json.loads((folder / "questions.json").read_text(encoding="utf-8"))
    rules = data.get("transfer_rules", [])
    names = [data["company"], *(r["name"] for r in rules)]
    keywords = [*(k for r in rules for k in r.get("keywords", [])), *(r.get("description", "") for r in rules)]
    documents = [p.read_text(encoding="utf-8") for p in sorted((folder / "docs").glob("*"))]
    old = [*names, *(k.strip() for r in rules for k in r.get("description", "").split(",") if k.strip())]
    questions = [c["q"] for c in data["cases"]]
    return Lexicon.build(names=names, keywords=keywords, documents=documents), old, questions


def companies(chosen: list[str]) -> list[Path]:
    if chosen:
        return [Path(c) for c in chosen]
    found = [p / EVAL for p in (ROOT.parent, ROOT.parents[1]) if (p / EVAL / "questions.json").exists()][:1]
    return found + sorted(p for p in (ROOT / "bench" / "companies").glob("*") if (p / "questions.json").exists())


async def render(tts: Any, folder: Path, voice: str, index: int, question: str) -> Audio:
    """The question as espeak-ng says it, kept under ``var/stt-clips``: espeak-ng's voice variants do not say a
    text the same way twice, so runs compare only on the same clips (delete the folder to render anew)."""
    cached = CLIPS / folder.name / voice / f"{index:03d}-{hashlib.sha256(question.encode()).hexdigest()[:12]}.wav"
    if cached.exists():
        return Audio.from_wav(cached.read_bytes())
    speech = await tts.synthesize(question, voice=voice, language="pt-BR", sample_rate=8000)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(speech.audio.wav())
    return speech.audio


def quieter(audio: Audio) -> Audio:
    return Audio.from_float(audio.float32() * 0.1, audio.sample_rate)


async def main(chosen: list[str], names: list[str], repeat: int, show: bool, voices: list[str]) -> None:
    tts = provider_class("tts", "espeak").from_config({"rate_wpm": 150})
    stt = WhisperSTT(WhisperSettings())
    variants = [VARIANTS[n] for n in names]
    clips: list[tuple[str, Audio, Lexicon, list[str]]] = []
    for folder in companies(chosen):
        lexicon, old, questions = company_lexicon(folder)
        for voice in voices:
            for i, q in enumerate(questions):
                clips.append((q, await render(tts, folder, voice, i, q), lexicon, old))
        print(f"{folder.name}: {len(questions)} questions, lexicon of {len(lexicon.words)} words")
    stt.run(clips[0][1], "pt-BR", [], TODAY)  # load the model
    edits = {v.name: [0, 0] for v in variants}
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    heard: dict[str, list[str]] = {v.name: [] for v in variants}
    for _ in range(repeat):
        for q, audio, lexicon, old in clips:
            for v in variants:
                hints = {"old": old, "lexicon": list(lexicon.terms), "none": []}[v.hints]
                clip = quieter(audio) if v.quiet else audio
                started = time.perf_counter()
                transcript = stt.run(clip, "pt-BR", hints, v.decoding, lexicon)
                times[v.name].append((time.perf_counter() - started) * 1000)
                e, n = wer(q, transcript.text)
                edits[v.name][0] += e
                edits[v.name][1] += n
                heard[v.name].append(f"{q} -> {transcript.text}  {list(transcript.alternatives)[:2]}")
    base = statistics.median(times["today"]) if "today" in times else None
    print(f"{len(clips)} clips x {repeat}; espeak-ng {'/'.join(voices)} 150 wpm 8 kHz; whisper base int8, 2 threads")
    print(f"{'variant':34} {'WER':>6} {'p50 ms':>7} {'p95 ms':>7} {'x today':>7}")
    for v in variants:
        p50 = statistics.median(times[v.name])
        p95 = sorted(times[v.name])[min(len(times[v.name]) - 1, int(0.95 * len(times[v.name])))]
        ratio = f"{p50 / base:7.2f}" if base else ""
        print(f"{v.name:34} {edits[v.name][0] / edits[v.name][1]:6.1%} {p50:7.0f} {p95:7.0f} {ratio}")
    if show:
        for v in variants:
            print(f"\n## {v.name}")
            print("\n".join(heard[v.name][: len(clips)]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--company", action="append", default=[], help="an evaluation company folder (repeatable)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), metavar="NAME")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--voices", nargs="+", default=["pt-br"], help="espeak-ng voices (e.g. pt-br pt-br+m3)")
    parser.add_argument("--show", action="store_true", help="print every transcript")
    args = parser.parse_args()
    asyncio.run(main(args.company, args.variants, args.repeat, args.show, args.voices))
