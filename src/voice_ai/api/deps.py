"""Request dependencies as ``Annotated`` aliases: the database session, the tenant, pagination."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.core.config import Settings
from voice_ai.core.crypto import SecretBox
from voice_ai.core.errors import NotFoundError
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.runtime import Runtime

PAGE_DEFAULT = 50
PAGE_MAX = 500


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings_dep(runtime: RuntimeDep) -> Settings:
    return runtime.settings


def get_secret_box(runtime: RuntimeDep) -> SecretBox:
    return runtime.secret_box


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    async with runtime.sessionmaker() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_tenant(
    domain_uuid: Annotated[uuid.UUID, Path(description="The tenant (FusionPBX domain)")],
    session: SessionDep,
) -> uuid.UUID:
    """The domain from the path, after checking it exists (unknown domain → 404)."""
    if not await DomainRepository(session).exists(domain_uuid):
        raise NotFoundError("Domain")
    return domain_uuid


TenantDep = Annotated[uuid.UUID, Depends(get_tenant)]


@dataclass(frozen=True)
class Pagination:
    limit: int
    offset: int


def get_pagination(
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description="Page size")] = PAGE_DEFAULT,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Rows to skip")] = 0,
) -> Pagination:
    return Pagination(limit=limit, offset=offset)


PageDep = Annotated[Pagination, Depends(get_pagination)]
