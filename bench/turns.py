"""Call turns end to end through the telephony API (in-process ASGI, embedded PostgreSQL).

    .venv/bin/python bench/turns.py [--turns 15] [--concurrency 1 50 200]

1. Offline providers on 3 s-ish pt-BR utterances (the eval questions spoken by espeak-ng at 8 kHz): per-stage
   p50/p95 and the ratio of end-to-end turn time to the sum of provider compute (STT + retrieval + LLM + TTS).
2. Service overhead: instant fake providers (registered only in this process), N concurrent calls of 5 text
   turns each: turns/s, p50/p95/p99 and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from voice_ai.core.config import Settings
from voice_ai.demo.seed import DATA_DIR, seed_demo
from voice_ai.main import create_app
from voice_ai.providers import registry
from voice_ai.providers.audio import Audio
from voice_ai.providers.base import EmbeddingsProvider, LLMProvider, TTSProvider
from voice_ai.providers.types import Capabilities, ChatResult, EmbeddingKind, Embeddings
from voice_ai.rag.ingest import ingest_document
from voice_ai.runtime import Runtime


class InstantLLM(LLMProvider):
    name, display_name, capabilities = "instant", "instant (bench)", Capabilities(offline=True)

    async def _chat_impl(
        self, messages: Any, context: Any, schema: Any, temperature: Any, max_tokens: Any
    ) -> ChatResult:
        return ChatResult("Certo.", {"response": "Certo.", "action": "continue", "department": None})


class InstantTTS(TTSProvider):
    name, display_name, capabilities = "instant", "instant (bench)", Capabilities(offline=True)

    async def _synthesize_impl(self, text: str, voice: Any, language: Any, sample_rate: int) -> Audio:
        return Audio(b"\x00\x00" * 800, 8000)


class InstantEmbeddings(EmbeddingsProvider):
    name, display_name, capabilities = "instant", "instant (bench)", Capabilities(offline=True, dimensions=384)

    async def _embed_impl(self, texts: list[str], kind: EmbeddingKind) -> Embeddings:
        return Embeddings([[1.0 / 384**0.5] * 384 for _ in texts], "instant", 384)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def offline_turns(http: httpx.AsyncClient, domain: str, count: int) -> None:
    questions = [c["q"] for c in json.loads((DATA_DIR / "questions.json").read_text(encoding="utf-8"))["cases"]][:count]
    stages: dict[str, list[float]] = {"stt_ms": [], "retrieve_ms": [], "llm_ms": [], "tts_ms": [], "total_ms": []}
    ratios, durations = [], []
    call = f"bench-{uuid.uuid4()}"
    await http.post("/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": call})
    for question in questions:
        wav = (await http.post(f"/api/v1/domains/{domain}/synthesize", json={"text": question})).content
        durations.append(Audio.from_wav(wav).duration_s)
        turn = (
            await http.post(
                f"/api/v1/calls/{call}/turns",
                data={"domain_uuid": domain},
                files={"audio": ("t.wav", wav, "audio/wav")},
            )
        ).json()
        timings = turn["timings"]
        for stage in stages:
            stages[stage].append(timings.get(stage, 0.0))
        compute = sum(timings.get(k, 0.0) for k in ("stt_ms", "retrieve_ms", "llm_ms", "tts_ms"))
        ratios.append(timings["total_ms"] / compute)
    print(f"offline providers, {len(questions)} spoken questions ({statistics.median(durations):.1f} s median):")
    for stage, samples in stages.items():
        print(f"  {stage:12} p50 {statistics.median(samples):7.1f}  p95 {pct(samples, 0.95):7.1f}")
    print(f"  end-to-end / provider compute: p50 {statistics.median(ratios):.3f}x  max {max(ratios):.3f}x")


async def overhead(http: httpx.AsyncClient, domain: str, concurrency: int, turns_per_call: int = 5) -> None:
    latencies: list[float] = []
    errors = 0

    async def one_call() -> None:
        nonlocal errors
        call = f"bench-{uuid.uuid4()}"
        started = await http.post("/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": call})
        if started.status_code != 201:
            errors += 1
            return
        for _ in range(turns_per_call):
            t0 = time.perf_counter()
            response = await http.post(
                f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": "Qual o horário?"}
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += response.status_code != 200

    t0 = time.perf_counter()
    await asyncio.gather(*(one_call() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    print(
        f"instant providers, {concurrency:>3} concurrent calls x {turns_per_call} turns: {len(latencies) / elapsed:6.1f} turns/s"
        f"  p50 {statistics.median(latencies):7.1f}  p95 {pct(latencies, 0.95):7.1f}  p99 {pct(latencies, 0.99):7.1f} ms"
        f"  errors {errors}"
    )


async def main(turns: int, concurrency: list[int]) -> None:
    sys.modules.setdefault("bench_turns", sys.modules[__name__])
    for kind, cls in (("llm", InstantLLM), ("tts", InstantTTS), ("embeddings", InstantEmbeddings)):
        registry.REGISTRY[(kind, "instant")] = f"bench_turns:{cls.__name__}"  # type: ignore[index]
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="voice-ai-bench-turns-")),
        secret_key=Fernet.generate_key().decode(),
        worker=False,
        _env_file=None,
    )  # type: ignore[call-arg]
    async with Runtime(settings) as runtime:
        async with runtime.sessionmaker() as session, session.begin():
            tenant = await seed_demo(session)
        for document in tenant.to_index:
            await ingest_document(
                runtime.sessionmaker, tenant.domain_uuid, document, embedder=await runtime.embedder(tenant.domain_uuid)
            )
        app = create_app(settings, runtime=runtime)
        limits = httpx.Limits(max_connections=1000)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=300, limits=limits
            ) as http,
        ):
            domain = str(tenant.domain_uuid)
            await offline_turns(http, domain, turns)
            # a second tenant on instant providers: only the service's own work remains
            fast = (await http.post("/api/v1/domains", json={"domain_name": "instant.example.com"})).json()[
                "domain_uuid"
            ]
            await http.post(
                f"/api/v1/domains/{fast}/secretaries", json={"name": "S", "extension": "8000", "max_turns": 100}
            )
            for kind in ("llm", "tts", "embeddings"):
                await http.post(
                    f"/api/v1/domains/{fast}/providers",
                    json={"provider_type": kind, "provider_name": "instant", "is_default": True},
                )
            for n in concurrency:
                await overhead(http, fast, n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=15)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50, 200])
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.concurrency))
