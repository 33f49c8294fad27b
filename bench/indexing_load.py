"""Call-turn latency while a 20 MiB document is indexed on the same host (in-process ASGI, embedded PostgreSQL,
offline providers, the job worker in the service process as by default).

    .venv/bin/python bench/indexing_load.py [--turns 8]

The document is the heaviest a tenant can upload within the limits: a 20 MiB DOCX carrying ~1.9 million
characters of varied pt-BR prose (~2,500 passages to extract, chunk and embed) plus an unreferenced binary part
that brings it to 20 MiB. Text turns and offline voice turns (Whisper, espeak-ng) are timed idle, then again
while the document indexes; the acceptance is loaded/idle ≤ 1.5 at the median.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import statistics
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from voice_ai.core.config import Settings
from voice_ai.demo.seed import DATA_DIR, seed_demo
from voice_ai.main import create_app
from voice_ai.rag.extract import MAX_DOCUMENT_BYTES
from voice_ai.rag.ingest import ingest_document
from voice_ai.runtime import Runtime

WORDS = (
    "empresa cliente contrato imposto declaração prazo pagamento boleto nota fiscal serviço atendimento folha "
    "salário férias abertura alteração balanço contábil certidão regularização parcelamento honorários reunião "
    "documento protocolo recibo consulta orientação planejamento tributário simples nacional lucro presumido"
).split()


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def heavy_docx(target_bytes: int = MAX_DOCUMENT_BYTES - 256 * 1024, chars: int = 1_900_000) -> bytes:
    import docx

    rng = random.Random(7)  # noqa: S311 - reproducible prose, not a secret
    document = docx.Document()
    written = 0
    section = 0
    while written < chars:
        if written // 40_000 >= section:
            section += 1
            document.add_heading(f"Capítulo {section}: {' '.join(rng.sample(WORDS, 3))}", level=1)
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
            for _ in range(rng.randint(2, 5))
        ]
        paragraph = " ".join(sentences)
        document.add_paragraph(paragraph)
        written += len(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    padded = io.BytesIO(buffer.getvalue())
    with zipfile.ZipFile(padded, "a", zipfile.ZIP_STORED) as archive:
        archive.writestr("word/media/padding.bin", rng.randbytes(max(0, target_bytes - len(buffer.getvalue()))))
    return padded.getvalue()


async def turns(http: httpx.AsyncClient, domain: str, questions: list[str], wavs: list[bytes]) -> dict[str, Any]:
    text_ms, voice_ms = [], []
    call = f"bench-{uuid.uuid4()}"
    started = await http.post("/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": call})
    assert started.status_code == 201, started.text
    for question, wav in zip(questions, wavs, strict=True):
        t0 = time.perf_counter()
        answer = await http.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": question})
        text_ms.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, answer.text
        t0 = time.perf_counter()
        answer = await http.post(
            f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain}, files={"audio": ("t.wav", wav, "audio/wav")}
        )
        voice_ms.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, answer.text
    return {"text": text_ms, "voice": voice_ms}


def line(label: str, samples: list[float]) -> str:
    return (
        f"{label:24} p50 {statistics.median(samples):7.0f}  p95 {pct(samples, 0.95):7.0f}  max {max(samples):7.0f} ms"
    )


async def main(count: int, wait_s: int) -> None:
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="voice-ai-bench-indexing-")),
        secret_key=Fernet.generate_key().decode(),
        _env_file=None,
    )  # type: ignore[call-arg]
    questions = [c["q"] for c in json.loads((DATA_DIR / "questions.json").read_text(encoding="utf-8"))["cases"]]
    questions = (questions * (count // len(questions) + 1))[:count]
    document = heavy_docx()
    async with Runtime(settings) as runtime:
        async with runtime.sessionmaker() as session, session.begin():
            tenant = await seed_demo(session)
        for doc in tenant.to_index:
            await ingest_document(
                runtime.sessionmaker, tenant.domain_uuid, doc, embedder=await runtime.embedder(tenant.domain_uuid)
            )
        app = create_app(settings, runtime=runtime)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as http,
        ):
            domain = str(tenant.domain_uuid)
            base = f"/api/v1/domains/{domain}"
            wavs = [(await http.post(f"{base}/synthesize", json={"text": q})).content for q in questions]
            await turns(http, domain, questions[:2], wavs[:2])  # warm-up: models loaded, caches filled
            idle = await turns(http, domain, questions, wavs)
            upload = await http.post(
                f"{base}/documents/upload", files={"file": ("manual.docx", document, "application/octet-stream")}
            )
            assert upload.status_code == 202, upload.text
            doc = upload.json()["voice_document_uuid"]
            t_upload = time.perf_counter()
            for _ in range(600):  # until the worker picked it up
                if (await http.get(f"{base}/documents/{doc}")).json()["status"] != "queued":
                    break
                await asyncio.sleep(0.1)
            loaded = await turns(http, domain, questions, wavs)
            status = (await http.get(f"{base}/documents/{doc}")).json()
            during = status["status"] == "processing"
            print(
                f"document: {len(document) / 2**20:.1f} MiB DOCX; still indexing when the loaded turns ended: {during}"
            )
            for kind in ("text", "voice"):
                print(line(f"{kind} turns, idle", idle[kind]))
                print(line(f"{kind} turns, indexing", loaded[kind]))
                ratio = statistics.median(loaded[kind]) / statistics.median(idle[kind])
                print(f"{kind} turns: indexing / idle at the median {ratio:.2f}x (acceptance <= 1.5x)", flush=True)
            for _ in range(wait_s):  # how long the whole document takes, once the calls are gone
                if status["status"] != "processing":
                    break
                await asyncio.sleep(1)
                status = (await http.get(f"{base}/documents/{doc}")).json()
            print(
                f"document -> {status['status']} ({status['chunk_count']} chunks, {status['error'] or 'no error'}, "
                f"progress {status['progress']}%) {time.perf_counter() - t_upload:.0f} s after the upload"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=8, help="text turns and voice turns per phase")
    parser.add_argument("--wait", type=int, default=900, help="seconds to wait for the document to finish")
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.wait))
