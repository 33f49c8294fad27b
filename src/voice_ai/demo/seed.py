"""The demo tenant: a small pt-BR accounting firm (``demo/data/contabilidade-exata``): a secretary on
extension 8000, its transfer rules and its two documents.

Idempotent: running it again updates the secretary and rules in place instead of duplicating them; documents
are recognised by their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.core.errors import NotFoundError
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.db.repositories.entities import DocumentRepository, SecretaryRepository, TransferRuleRepository

DATA_DIR = Path(__file__).parent / "data" / "contabilidade-exata"
DEMO_DOMAIN = "demo.localhost"
DEMO_EXTENSION = "8000"


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


async def seed_demo(session: AsyncSession, *, domain_name: str = DEMO_DOMAIN, create_domain: bool = True) -> DemoTenant:
    """Create or refresh the demo tenant. ``create_domain=False`` (FusionPBX) requires the domain."""
    company = load_company()
    domains = DomainRepository(session)
    domain = await domains.get_by_name(domain_name)
    if domain is None:
        if not create_domain:
            raise NotFoundError(f"Domain {domain_name!r} (create it in FusionPBX first)")
        domain_uuid = await domains.create(domain_name, f"Demo: {company['company']}")
    else:
        domain_uuid = domain["domain_uuid"]

    rules = company["transfer_rules"]
    operator = rules[0]["extension"] if rules else "0"
    secretaries = SecretaryRepository(session)
    values = _secretary_values(company["company"], domain_name, operator)
    secretary = await secretaries.get_by_extension(domain_uuid, DEMO_EXTENSION)
    if secretary is None:
        secretary = await secretaries.create(domain_uuid, {**values, "extension": DEMO_EXTENSION})
    else:
        secretary = await secretaries.update(secretary, values)

    rule_repo = TransferRuleRepository(session)
    existing = {r.department_name: r for r in (await rule_repo.list(domain_uuid, limit=1000, offset=0)).items}
    for priority, rule in enumerate(rules, start=1):
        rule_values = {
            "department_name": rule["name"],
            "description": rule["description"],
            "keywords": [k.strip() for k in rule["description"].split(",") if k.strip()],
            "destination_number": rule["extension"],
            "destination_context": domain_name,
            "priority": priority * 10,
            "enabled": True,
        }
        if rule["name"] in existing:
            await rule_repo.update(existing[rule["name"]], rule_values)
        else:
            await rule_repo.create(domain_uuid, rule_values)
    documents = DocumentRepository(session)
    to_index = []
    for path in document_paths():
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        row = await documents.by_sha256(domain_uuid, digest)
        if row is None:
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
        if row.status != "ready":
            to_index.append(row.voice_document_uuid)
    return DemoTenant(domain_uuid, domain_name, secretary.voice_secretary_uuid, len(rules), tuple(to_index))
