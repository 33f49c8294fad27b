"""The demo tenant: a small pt-BR accounting firm (``demo/data/contabilidade-exata``): a secretary on
extension 8000, its transfer rules and its two documents.

A seed creates what is missing and never changes what exists. The demo is laid down once: the domain (a
standalone database only: on FusionPBX's database the demo is refused, see :class:`DemoRefusedError`), then,
while the domain has no secretary on extension 8000, that secretary with the demo's transfer rules (by
department name) and documents (by SHA-256), each only when not there yet. Once the secretary exists the tenant
is its admin's: running the seed again (``serve --demo`` on every start, ``demo seed``) changes nothing — an
edited greeting, operator or rule context stays, and a deleted rule or document does not come back. Delete the
secretary on 8000 to lay the demo down again. Demo documents still ``queued`` (a start that stopped before their
job was queued) are queued again; one that failed stays failed with its reason (its admin re-indexes it), and one
being processed is the job queue's (a job whose worker died is picked up again).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.core.errors import ServiceError
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.db.repositories.entities import DocumentRepository, SecretaryRepository, TransferRuleRepository

DATA_DIR = Path(__file__).parent / "data" / "contabilidade-exata"
DEMO_DOMAIN = "demo.localhost"
DEMO_EXTENSION = "8000"


class DemoRefusedError(ServiceError):
    """The demo belongs to a standalone database (the embedded one, or one this service created)."""

    status_code = 409


FUSIONPBX_REFUSAL = (
    "the demo tenant is only for a standalone database (the embedded one, or one this service created): this "
    "database is FusionPBX's, whose domains are real tenants. Unset VOICE_AI_DATABASE_URL to try the demo on "
    "the embedded PostgreSQL, or configure a real domain through the FusionPBX app"
)


@dataclass(frozen=True)
class DemoTenant:
    domain_uuid: uuid.UUID
    domain_name: str
    secretary_uuid: uuid.UUID
    transfer_rules: int
    to_index: tuple[uuid.UUID, ...] = ()  # demo documents not indexed yet


def load_company() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / "questions.json").read_text(encoding="utf-8"))
    return data


def document_paths() -> list[Path]:
    return sorted((DATA_DIR / "docs").glob("*"))


def _secretary_values(company: str, domain_name: str, operator: str) -> dict[str, Any]:
    return {
        "name": "Secretária Virtual",
        "language": "pt-BR",
        "company_name": company,
        "personality_prompt": (
            f"Você é a secretária virtual da {company}. Seja cordial, objetiva e fale em frases curtas, "
            "próprias para telefone. Responda só com base nos documentos da empresa; se não souber, "
            "ofereça transferir para um atendente."
        ),
        "greeting": f"Olá! Você ligou para a {company}. Como posso ajudar?",
        "farewell": f"Obrigada por ligar para a {company}. Tenha um ótimo dia!",
        "operator_destination": operator,
        "operator_context": domain_name,
        "enabled": True,
    }


async def seed_demo(session: AsyncSession, *, domain_name: str = DEMO_DOMAIN, standalone: bool = True) -> DemoTenant:
    """Create what is missing of the demo tenant (see the module docstring); ``standalone=False`` (FusionPBX's
    database) is refused with :class:`DemoRefusedError`."""
    if not standalone:
        raise DemoRefusedError(FUSIONPBX_REFUSAL)
    company = load_company()
    domains = DomainRepository(session)
    domain = await domains.get_by_name(domain_name)
    if domain is None:
        domain_uuid = await domains.create(domain_name, f"Demo: {company['company']}")
    else:
        domain_uuid = domain["domain_uuid"]

    rules = company["transfer_rules"]
    secretaries = SecretaryRepository(session)
    secretary = await secretaries.get_by_extension(domain_uuid, DEMO_EXTENSION)
    documents = DocumentRepository(session)
    to_index: list[uuid.UUID] = []
    if secretary is None:
        operator = rules[0]["extension"] if rules else "0"
        values = _secretary_values(company["company"], domain_name, operator)
        secretary = await secretaries.create(domain_uuid, {**values, "extension": DEMO_EXTENSION})
        await _create_rules(session, domain_uuid, domain_name, rules)
        to_index += await _create_documents(documents, domain_uuid)
    for path in document_paths():  # still queued: e.g. a start that stopped before their job was queued
        row = await documents.by_sha256(domain_uuid, hashlib.sha256(path.read_bytes()).hexdigest())
        if row is not None and row.status == "queued" and row.voice_document_uuid not in to_index:
            to_index.append(row.voice_document_uuid)
    return DemoTenant(domain_uuid, domain_name, secretary.voice_secretary_uuid, len(rules), tuple(to_index))


async def _create_rules(
    session: AsyncSession, domain_uuid: uuid.UUID, domain_name: str, rules: list[dict[str, Any]]
) -> None:
    rule_repo = TransferRuleRepository(session)
    existing = {r.department_name for r in (await rule_repo.list(domain_uuid, limit=1000, offset=0)).items}
    for priority, rule in enumerate(rules, start=1):
        if rule["name"] in existing:
            continue
        await rule_repo.create(
            domain_uuid,
            {
                "department_name": rule["name"],
                "description": rule["description"],
                "keywords": [k.strip() for k in rule["description"].split(",") if k.strip()],
                "destination_number": rule["extension"],
                "destination_context": domain_name,
                "priority": priority * 10,
                "enabled": True,
            },
        )


async def _create_documents(documents: DocumentRepository, domain_uuid: uuid.UUID) -> list[uuid.UUID]:
    created = []
    for path in document_paths():
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if await documents.by_sha256(domain_uuid, digest) is not None:
            continue
        row = await documents.create(
            domain_uuid,
            {
                "name": path.name,
                "mime_type": "text/markdown",
                "size_bytes": len(data),
                "sha256": digest,
                "content": data,
                "language": "pt-BR",
                "status": "queued",
            },
        )
        created.append(row.voice_document_uuid)
    return created
