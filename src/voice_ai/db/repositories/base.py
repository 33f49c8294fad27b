"""Tenant-scoped repository: every statement filters by ``domain_uuid``; nothing here trusts an id alone.

SQL lives only in this package. Integrity errors are turned into messages that say which field is wrong.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from voice_ai.core.errors import ConflictError, FieldError
from voice_ai.db.models import Base

M = TypeVar("M", bound=Base)


class Page(Generic[M]):
    def __init__(self, items: Sequence[M], total: int) -> None:
        self.items, self.total = list(items), total


def _constraint_name(exc: IntegrityError) -> str:
    orig = getattr(exc.orig, "__cause__", None) or exc.orig
    return str(getattr(orig, "constraint_name", "") or "")


class TenantRepository(Generic[M]):
    """CRUD for one ``v_voice_*`` table. Subclasses set ``model``, ``pk``, ``order_by`` and may map
    constraint names to field messages in ``constraint_errors``."""

    model: ClassVar[type[Any]]
    pk_name: ClassVar[str]
    order_by: ClassVar[tuple[Any, ...]] = ()
    # constraint name -> (field, message); unique constraints become 409, foreign keys 422
    constraint_errors: ClassVar[Mapping[str, tuple[str, str]]] = {}

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def pk(self) -> InstrumentedAttribute[Any]:
        column: InstrumentedAttribute[Any] = getattr(self.model, self.pk_name)
        return column

    def _scoped(self, domain_uuid: uuid.UUID) -> Select[Any]:
        return select(self.model).where(self.model.domain_uuid == domain_uuid)

    async def list(
        self,
        domain_uuid: uuid.UUID,
        *,
        limit: int,
        offset: int,
        where: Sequence[ColumnElement[bool]] = (),
        **equals: Any,
    ) -> Page[M]:
        """Page of rows; ``equals`` are column=value filters, a value of ``None`` means no filter."""
        stmt = self._scoped(domain_uuid)
        for name, value in equals.items():
            if value is not None:
                stmt = stmt.where(getattr(self.model, name) == value)
        for clause in where:
            stmt = stmt.where(clause)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(stmt.order_by(*self.order_by, self.pk).limit(limit).offset(offset))
        return Page(rows.all(), int(total or 0))

    async def get(self, domain_uuid: uuid.UUID, object_uuid: uuid.UUID, *, for_update: bool = False) -> M | None:
        """One row; ``for_update`` locks it until the transaction ends (and reads it afresh)."""
        stmt = self._scoped(domain_uuid).where(self.pk == object_uuid)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        result = await self.session.scalars(stmt)
        row: M | None = result.first()
        return row

    async def create(self, domain_uuid: uuid.UUID, values: Mapping[str, Any]) -> M:
        row = self.model(**values, domain_uuid=domain_uuid)
        self.session.add(row)
        await self._flush()
        await self.session.refresh(row)
        created: M = row
        return created

    async def update(self, row: M, values: Mapping[str, Any]) -> M:
        for name, value in values.items():
            setattr(row, name, value)
        await self._flush()
        await self.session.refresh(row)
        return row

    async def delete(self, domain_uuid: uuid.UUID, object_uuid: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(self.model).where(self.model.domain_uuid == domain_uuid, self.pk == object_uuid)
        )
        return bool(getattr(result, "rowcount", 0))

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            await self.session.rollback()
            name = _constraint_name(exc)
            field, message = self.constraint_errors.get(name, ("", ""))
            if name.startswith("fk_") and field:
                raise FieldError(field, message, "invalid_reference") from None
            if field:
                raise ConflictError(message) from None
            raise ConflictError(f"the change conflicts with existing data ({name or 'constraint'})") from None
