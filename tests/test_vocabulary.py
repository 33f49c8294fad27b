"""The tenant's lexicon (``services.vocabulary.tenant_lexicon``) against the real database: built from the tenant's
own names, rules and documents only, cached per tenant, rebuilt when a document or a rule changes, and read by
every turn (typed text too)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx

from voice_ai.conversation.prepare import read_turn
from voice_ai.db.repositories.entities import DocumentRepository
from voice_ai.rag.ingest import ingest_document
from voice_ai.runtime import Runtime
from voice_ai.services import vocabulary
from voice_ai.services.vocabulary import tenant_lexicon


async def _document(runtime: Runtime, domain: uuid.UUID, name: str, text: str) -> uuid.UUID:
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
    indexed = await ingest_document(runtime.sessionmaker, domain, row.voice_document_uuid, embedder=None)
    assert indexed is not None and indexed.status == "ready"
    return row.voice_document_uuid


async def _tenant(client: httpx.AsyncClient, new_domain: Any, company: str, department: str, keyword: str) -> str:
    domain = await new_domain()
    secretary = await client.post(
        f"/api/v1/domains/{domain}/secretaries", json={"name": "S", "company_name": company, "extension": "8000"}
    )
    assert secretary.status_code == 201, secretary.text
    rule = await client.post(
        f"/api/v1/domains/{domain}/transfer-rules",
        json={
            "department_name": department,
            "destination_number": "201",
            "keywords": [keyword],
            "description": "segunda via, cobrança",
        },
    )
    assert rule.status_code == 201, rule.text
    return str(domain)


async def _lexicon(runtime: Runtime, domain: str) -> Any:
    async with runtime.sessionmaker() as session:
        return await tenant_lexicon(session, uuid.UUID(domain))


async def test_the_lexicon_is_cached_until_a_document_or_a_rule_changes(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: Any
) -> None:
    domain = await _tenant(client, new_domain, "Contabilidade Exata", "Financeiro", "boletos")
    first = await _lexicon(runtime, domain)
    assert {"contabilidade", "exata", "financeiro", "boletos", "cobranca"} <= set(first.words)
    assert "Contabilidade Exata" in first.terms and "segunda via" in first.terms

    built = vocabulary.builds
    assert await _lexicon(runtime, domain) is first and vocabulary.builds == built  # nothing changed: cached

    document = await _document(runtime, uuid.UUID(domain), "pagamento.md", "## Formas de pagamento\n\nAceitamos Pix.")
    with_document = await _lexicon(runtime, domain)
    assert (
        vocabulary.builds == built + 1 and "pix" in with_document.words and "Formas de pagamento" in with_document.terms
    )

    rule = (await client.get(f"/api/v1/domains/{domain}/transfer-rules")).json()["items"][0]
    edited = await client.patch(
        f"/api/v1/domains/{domain}/transfer-rules/{rule['voice_transfer_rule_uuid']}", json={"keywords": ["carnê"]}
    )
    assert edited.status_code == 200, edited.text
    with_rule = await _lexicon(runtime, domain)
    assert "carne" in with_rule.words and "boletos" not in with_rule.words and "pix" in with_rule.words

    disabled = await client.patch(f"/api/v1/domains/{domain}/documents/{document}", json={"enabled": False})
    assert disabled.status_code == 200, disabled.text
    assert "pix" not in (await _lexicon(runtime, domain)).words  # a disabled document is not retrieved either
    assert vocabulary.builds == built + 3


async def test_one_tenants_words_never_reach_anothers_lexicon(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: Any
) -> None:
    a = await _tenant(client, new_domain, "Contabilidade Exata", "Fiscal", "impostos")
    b = await _tenant(client, new_domain, "Pet Shop Focinho", "Banho e Tosa", "vermífugo")
    await _document(runtime, uuid.UUID(a), "a.md", "## Declaração\n\nO imposto de renda custa R$ 180.")
    await _document(runtime, uuid.UUID(b), "b.md", "## Vacinas\n\nA vacina antirrábica e a ração premium.")
    lexicon_a, lexicon_b = await _lexicon(runtime, a), await _lexicon(runtime, b)
    only_b = {"pet", "focinho", "banho", "tosa", "vermifugo", "vacinas", "antirrabica", "racao"}
    only_a = {"contabilidade", "exata", "fiscal", "impostos", "declaracao", "imposto", "renda"}
    assert only_b <= set(lexicon_b.words) and only_a <= set(lexicon_a.words)
    assert not only_b & set(lexicon_a.words) and not only_a & set(lexicon_b.words)
    assert not any("Focinho" in t or "Vacinas" in t for t in lexicon_a.terms)


async def test_a_typed_turn_reads_the_lexicon_too(runtime: Runtime, client: httpx.AsyncClient, new_domain: Any) -> None:
    domain = await _tenant(client, new_domain, "Contabilidade Exata", "Financeiro", "boletos")
    await _document(runtime, uuid.UUID(domain), "pix.md", "## Pagamento\n\nAceitamos Pix.")
    started = await client.post(
        "/api/v1/calls", json={"domain_uuid": domain, "call_uuid": "call-lexicon", "secretary": "8000"}
    )
    assert started.status_code in (200, 201), started.text
    typed = await read_turn(runtime, uuid.UUID(domain), "call-lexicon", listen=False, claim_by=None)
    heard = await read_turn(runtime, uuid.UUID(domain), "call-lexicon", listen=True, claim_by=None)
    assert "pix" in typed.lexicon.words and typed.hints == []  # no recogniser runs on typed text
    assert heard.lexicon is typed.lexicon and heard.hints == list(typed.lexicon.terms)
