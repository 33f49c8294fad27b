"""The trigram retrieval leg (pg_trgm, migration 0010) on the real embedded PostgreSQL: a garbled question finds its
passage where full text alone does not; it never crosses tenants; and without pg_trgm (a role that may not create
it) the migration and retrieval still work, the leg skipped."""

from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from conftest import PgServer, make_settings
from voice_ai.db.repositories.entities import DocumentRepository
from voice_ai.rag.ingest import ingest_document
from voice_ai.rag.retrieve import retrieve, trigram_words
from voice_ai.runtime import Runtime
from voice_ai.understanding.lexicon import Lexicon
from voice_ai.understanding.repair import expand

CLINIC = """# Clínica Sorriso Pleno

## Horário de funcionamento
Segunda a sexta-feira, das 7h às 19h. Aos sábados, das 8h às 12h.

## Convênios
Atendemos os convênios Odontoprev, Amil Dental e Bradesco Dental.

## Clareamento
O clareamento dental a laser custa R$ 600,00 em duas sessões.
"""
BAKERY = """# Padaria Trigo Bom

## Horário de funcionamento
Todos os dias, das 6h às 21h.

## Encomendas
Bolos de aniversário por encomenda com dois dias de antecedência.
"""


async def _ingest(runtime: Runtime, domain: uuid.UUID, name: str, text: str) -> None:
    data = text.encode()
    async with runtime.sessionmaker() as session, session.begin():
        row = await DocumentRepository(session).create(
            domain,
            {
                "name": name,
                "mime_type": "text/markdown",
                "size_bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "content": data,
                "language": "pt-BR",
            },
        )
    ingested = await ingest_document(runtime.sessionmaker, domain, row.voice_document_uuid, embedder=None)
    assert ingested is not None and ingested.status == "ready"


@pytest.fixture
async def clinic(runtime: Runtime, new_domain: Any) -> uuid.UUID:
    domain = uuid.UUID(await new_domain())
    await _ingest(runtime, domain, "clinica.md", CLINIC)
    return domain


def test_trigram_words_are_folded_content_words() -> None:
    assert trigram_words("Qual é o orário de funsionamento?", ["Horário"]) == ["orario", "funsionamento", "horario"]
    assert trigram_words("O que é isso, 2024?") == []  # stop words, short words and numbers are left out


async def test_a_garbled_question_finds_its_passage_only_with_trigrams(runtime: Runtime, clinic: uuid.UUID) -> None:
    question = "Qual é o orário de funsionamento?"  # "horário de funcionamento" as a recogniser may write it
    async with runtime.sessionmaker() as session:
        without = await retrieve(session, clinic, question, embedder=None, trigrams=False)
        found = await retrieve(session, clinic, question, embedder=None)
    assert without.text_hits == 0 and without.passages == []  # full text alone misses it
    assert found.trigram_hits >= 1
    assert "das 7h às 19h" in found.passages[0].content


async def test_expanded_terms_reach_full_text(runtime: Runtime, clinic: uuid.UUID) -> None:
    """A word that sounds like a tenant term but shares few letters with it (*cleriamento*): the expansion from the
    tenant's lexicon brings the passage through full text as well."""
    lexicon = Lexicon.build(names=["Clínica Sorriso Pleno"], documents=[CLINIC])
    question = "Vocês fazem cleriamento?"
    terms = expand(question, lexicon)
    assert "Clareamento" in terms
    async with runtime.sessionmaker() as session:
        plain = await retrieve(session, clinic, question, embedder=None, trigrams=False)
        widened = await retrieve(session, clinic, question, embedder=None, trigrams=False, expansions=terms)
    assert plain.passages == []
    assert "R$ 600,00" in widened.passages[0].content


async def test_the_trigram_leg_stays_in_the_tenant(runtime: Runtime, clinic: uuid.UUID, new_domain: Any) -> None:
    bakery = uuid.UUID(await new_domain())
    await _ingest(runtime, bakery, "padaria.md", BAKERY)
    async with runtime.sessionmaker() as session:
        clinic_found = await retrieve(session, clinic, "orário de funsionamento encomendas", embedder=None)
        bakery_found = await retrieve(session, bakery, "orário de funsionamento", embedder=None)
        empty = await retrieve(session, uuid.uuid4(), "orário de funsionamento", embedder=None)
    assert clinic_found.passages and all(
        "Padaria" not in p.content and "6h" not in p.content for p in clinic_found.passages
    )
    assert bakery_found.trigram_hits >= 1 and all("Odontoprev" not in p.content for p in bakery_found.passages)
    assert "das 6h às 21h" in bakery_found.passages[0].content
    assert empty.passages == []


async def test_the_migration_creates_the_trigram_index(db: asyncpg.Connection) -> None:
    assert await db.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'") == 1
    definition = await db.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_voice_document_chunks_trgm'")
    assert "gin" in definition and "gin_trgm_ops" in definition and "search_text" in definition


async def test_without_pg_trgm_rights_migration_and_retrieval_still_work(
    pg: PgServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """FusionPBX mode with a role that may create tables but not extensions (no CREATE on the database): 0010 leaves
    the index out with a warning, and retrieval skips its trigram leg with a warning — never a failed turn."""
    role = f"notrgm_{uuid.uuid4().hex[:8]}"
    name = f"t_{uuid.uuid4().hex[:12]}"
    await pg.admin(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
    await pg.admin(f"CREATE DATABASE {name}")  # owned by the superuser: the role has no CREATE on it
    conn = await asyncpg.connect(pg.url(name))
    try:
        await conn.execute("CREATE EXTENSION vector")  # what a FusionPBX admin does once, as the docs say
        await conn.execute(f"GRANT CREATE ON SCHEMA public TO {role}")
    finally:
        await conn.close()
    caplog.set_level(logging.WARNING)
    async with Runtime(make_settings(tmp_path, pg.url(name, user=role), worker=False)) as runtime:
        conn = await asyncpg.connect(pg.url(name))
        try:
            assert await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'") is None
            assert await conn.fetchval("SELECT to_regclass('ix_voice_document_chunks_trgm')") is None
            domain = uuid.uuid4()
            await conn.execute("INSERT INTO v_domains (domain_uuid, domain_name) VALUES ($1, 'no-trgm.test')", domain)
        finally:
            await conn.close()
        assert any("pg_trgm could not be created" in r.getMessage() for r in caplog.records)
        await _ingest(runtime, domain, "clinica.md", CLINIC)
        async with runtime.sessionmaker() as session:
            found = await retrieve(session, domain, "Qual o horário de funcionamento?", embedder=None)
            again = await retrieve(session, domain, "Quanto custa o clareamento?", embedder=None)  # same session
    assert found.trigram_hits == 0 and "das 7h às 19h" in found.passages[0].content
    assert "R$ 600,00" in again.passages[0].content
    assert any("retrieval without trigrams" in r.getMessage() for r in caplog.records)
