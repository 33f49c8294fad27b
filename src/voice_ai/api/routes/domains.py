"""Tenants. On FusionPBX they are FusionPBX's domains (read-only here); standalone they can be created."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from voice_ai.api.deps import PageDep, RuntimeDep, SessionDep
from voice_ai.api.responses import errors
from voice_ai.core.errors import ConflictError, ForbiddenError, NotFoundError
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.schemas.common import Page
from voice_ai.schemas.domains import DomainCreate, DomainPublic

router = APIRouter(prefix="/api/v1/domains", tags=["domains"])


@router.get("", response_model=Page[DomainPublic], summary="List domains (tenants)")
async def list_domains(
    session: SessionDep,
    page: PageDep,
    name: Annotated[str | None, Query(description="Exact domain name (case-insensitive)")] = None,
) -> Any:
    items, total = await DomainRepository(session).list(name=name, limit=page.limit, offset=page.offset)
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/{domain_uuid}", response_model=DomainPublic, summary="Get a domain", responses=errors(404))
async def get_domain(domain_uuid: uuid.UUID, session: SessionDep) -> Any:
    domain = await DomainRepository(session).get(domain_uuid)
    if domain is None:
        raise NotFoundError("Domain")
    return domain


@router.post(
    "",
    response_model=DomainPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a domain (standalone)",
    responses=errors(403, 409),
)
async def create_domain(body: DomainCreate, session: SessionDep, runtime: RuntimeDep) -> Any:
    if not await runtime.refresh_standalone():
        raise ForbiddenError(
            "domains belong to FusionPBX on this server: create the domain in FusionPBX "
            "(Advanced > Domains) and it appears here"
        )
    repo = DomainRepository(session)
    if await repo.get_by_name(body.domain_name):
        raise ConflictError(f"a domain named {body.domain_name!r} already exists")  # the common case, no SAVEPOINT
    return await repo.get(await repo.create(body.domain_name, body.domain_description))
