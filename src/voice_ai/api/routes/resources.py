"""The tenant's configuration objects, each a CRUD resource under ``/api/v1/domains/{domain_uuid}``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Query

from voice_ai.api.crud import Resource, crud_router
from voice_ai.db.repositories.entities import (
    DocumentRepository,
    ProviderRepository,
    SecretaryRepository,
    TransferRuleRepository,
)
from voice_ai.db.repositories.schedules import ScheduleRepository
from voice_ai.schedules.admin import present_schedule
from voice_ai.schemas import documents, providers, schedules, secretaries, transfer_rules
from voice_ai.services import hooks


def _secretary_filters(
    enabled: Annotated[bool | None, Query()] = None,
    extension: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    return {"enabled": enabled, "extension": extension}


def _rule_filters(
    enabled: Annotated[bool | None, Query()] = None,
    voice_secretary_uuid: Annotated[uuid.UUID | None, Query()] = None,
) -> dict[str, Any]:
    return {"enabled": enabled, "voice_secretary_uuid": voice_secretary_uuid}


def _provider_filters(
    provider_type: Annotated[Literal["stt", "tts", "llm", "embeddings"] | None, Query()] = None,
    enabled: Annotated[bool | None, Query()] = None,
) -> dict[str, Any]:
    return {"provider_type": provider_type, "enabled": enabled}


def _document_filters(
    status: Annotated[Literal["queued", "processing", "ready", "failed"] | None, Query()] = None,
) -> dict[str, Any]:
    return {"status": status}


RESOURCES = (
    Resource(
        path="secretaries",
        noun="Secretary",
        repository=SecretaryRepository,
        create_schema=secretaries.SecretaryCreate,
        update_schema=secretaries.SecretaryUpdate,
        public_schema=secretaries.SecretaryPublic,
        prepare=hooks.prepare_secretary,
        present=hooks.present_secretary,
        filters=_secretary_filters,
    ),
    Resource(
        path="transfer-rules",
        noun="Transfer rule",
        repository=TransferRuleRepository,
        create_schema=transfer_rules.TransferRuleCreate,
        update_schema=transfer_rules.TransferRuleUpdate,
        public_schema=transfer_rules.TransferRulePublic,
        prepare=hooks.prepare_rule,
        filters=_rule_filters,
    ),
    Resource(
        path="providers",
        noun="Provider",
        repository=ProviderRepository,
        create_schema=providers.ProviderCreate,
        update_schema=providers.ProviderUpdate,
        public_schema=providers.ProviderPublic,
        prepare=hooks.prepare_provider,
        present=hooks.present_provider,
        filters=_provider_filters,
    ),
    Resource(
        path="documents",
        noun="Document",
        repository=DocumentRepository,
        create_schema=documents.DocumentCreate,
        update_schema=documents.DocumentUpdate,
        public_schema=documents.DocumentPublic,
        filters=_document_filters,
    ),
    Resource(  # opening hours (issue 13, docs/opening-hours.md)
        path="schedules",
        noun="Schedule",
        repository=ScheduleRepository,
        create_schema=schedules.ScheduleCreate,
        update_schema=schedules.ScheduleUpdate,
        public_schema=schedules.SchedulePublic,
        present=present_schedule,
    ),
)

routers = [crud_router(resource) for resource in RESOURCES]
