"""A tenant-scoped CRUD router built from a :class:`Resource` description.

Every route lives under ``/api/v1/domains/{domain_uuid}/<path>``; the domain is checked first (404 when
unknown) and every repository call filters by it, so another tenant's id is a plain 404.

This module deliberately does not use ``from __future__ import annotations``: FastAPI reads the
parameter annotations of the generated functions, which refer to the resource's schema classes.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel

from voice_ai.api.deps import PageDep, SecretBoxDep, SessionDep, TenantDep
from voice_ai.api.responses import errors
from voice_ai.core.errors import FieldError, NotFoundError
from voice_ai.db.repositories.base import TenantRepository
from voice_ai.schemas.common import Page
from voice_ai.services.hooks import Context

Prepare = Callable[[Context, dict[str, Any], Any], Awaitable[dict[str, Any]]]
Present = Callable[[Context, Any], Any]


async def _no_prepare(_: Context, values: dict[str, Any], __: Any) -> dict[str, Any]:
    return values


def _no_filters() -> dict[str, Any]:
    return {}


@dataclass
class Resource:
    path: str
    noun: str
    repository: type[TenantRepository[Any]]
    create_schema: type[BaseModel]
    update_schema: type[BaseModel]
    public_schema: type[BaseModel]
    prepare: Prepare = _no_prepare
    present: Present | None = None
    filters: Callable[..., dict[str, Any]] = field(default=_no_filters)


def _reject_null_required(resource: Resource, values: dict[str, Any]) -> None:
    columns = resource.repository.model.__table__.columns
    for name, value in values.items():
        if value is None and name in columns and not columns[name].nullable:
            raise FieldError(name, "cannot be null; omit the field to keep its value")


def crud_router(resource: Resource) -> APIRouter:
    router = APIRouter(
        prefix=f"/api/v1/domains/{{domain_uuid}}/{resource.path}", tags=[resource.path], responses=errors(404)
    )
    Public = resource.public_schema
    Create = resource.create_schema
    Update = resource.update_schema
    ObjectId = Annotated[uuid.UUID, Path(description=f"{resource.noun} id")]
    Filters = Annotated[dict[str, Any], Depends(resource.filters)]

    def show(ctx: Context, row: Any) -> Any:
        data = resource.present(ctx, row) if resource.present else row
        return Public.model_validate(data)

    async def load(ctx: Context, object_uuid: uuid.UUID) -> Any:
        row = await resource.repository(ctx.session).get(ctx.domain_uuid, object_uuid)
        if row is None:
            raise NotFoundError(resource.noun)
        return row

    @router.get("", response_model=Page[Public], summary=f"List {resource.path}")  # type: ignore[valid-type]
    async def list_objects(
        domain_uuid: TenantDep, session: SessionDep, box: SecretBoxDep, page: PageDep, filters: Filters
    ) -> Any:
        ctx = Context(session, domain_uuid, box)
        result = await resource.repository(session).list(domain_uuid, limit=page.limit, offset=page.offset, **filters)
        items = [show(ctx, row) for row in result.items]
        return {"items": items, "total": result.total, "limit": page.limit, "offset": page.offset}

    @router.post(
        "",
        response_model=Public,
        status_code=status.HTTP_201_CREATED,
        summary=f"Create a {resource.noun}",
        responses=errors(409),
    )
    async def create_object(
        domain_uuid: TenantDep,
        session: SessionDep,
        box: SecretBoxDep,
        body: Create,  # type: ignore[valid-type]
    ) -> Any:
        ctx = Context(session, domain_uuid, box)
        values = await resource.prepare(ctx, body.model_dump(), None)  # type: ignore[attr-defined]
        row = await resource.repository(session).create(domain_uuid, values)
        return show(ctx, row)

    @router.get("/{object_uuid}", response_model=Public, summary=f"Get a {resource.noun}")
    async def get_object(domain_uuid: TenantDep, session: SessionDep, box: SecretBoxDep, object_uuid: ObjectId) -> Any:
        ctx = Context(session, domain_uuid, box)
        return show(ctx, await load(ctx, object_uuid))

    @router.patch("/{object_uuid}", response_model=Public, summary=f"Update a {resource.noun}", responses=errors(409))
    async def update_object(
        domain_uuid: TenantDep,
        session: SessionDep,
        box: SecretBoxDep,
        object_uuid: ObjectId,
        body: Update,  # type: ignore[valid-type]
    ) -> Any:
        ctx = Context(session, domain_uuid, box)
        row = await load(ctx, object_uuid)
        values = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        _reject_null_required(resource, values)
        values = await resource.prepare(ctx, values, row)
        row = await resource.repository(session).update(row, values)
        return show(ctx, row)

    @router.delete("/{object_uuid}", status_code=status.HTTP_204_NO_CONTENT, summary=f"Delete a {resource.noun}")
    async def delete_object(domain_uuid: TenantDep, session: SessionDep, object_uuid: ObjectId) -> Response:
        if not await resource.repository(session).delete(domain_uuid, object_uuid):
            raise NotFoundError(resource.noun)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
