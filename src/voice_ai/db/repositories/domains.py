"""Reads (and, standalone, writes) FusionPBX's ``v_domains``. On FusionPBX the table is not ours:
only plain INSERT/SELECT on the columns FusionPBX has; ``domain_enabled`` is read through a text cast
because FusionPBX has stored it both as text ('true'/'false') and as boolean."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, cast, func, literal_column, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.core.errors import ConflictError
from voice_ai.db.migrate import STANDALONE_MARKER
from voice_ai.db.models import Domain

_ENABLED = cast(literal_column("v_domains.domain_enabled"), String)


class DomainRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, domain_uuid: uuid.UUID) -> bool:
        found = await self.session.scalar(select(Domain.domain_uuid).where(Domain.domain_uuid == domain_uuid))
        return found is not None

    async def list(self, *, name: str | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        stmt = select(
            Domain.domain_uuid,
            Domain.domain_name,
            Domain.domain_description,
            _ENABLED.label("domain_enabled"),
        )
        if name:
            stmt = stmt.where(func.lower(Domain.domain_name) == name.lower())
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.execute(stmt.order_by(Domain.domain_name).limit(limit).offset(offset))
        return [_row(r._mapping) for r in rows], int(total or 0)

    async def get(self, domain_uuid: uuid.UUID) -> dict[str, Any] | None:
        stmt = select(
            Domain.domain_uuid,
            Domain.domain_name,
            Domain.domain_description,
            _ENABLED.label("domain_enabled"),
        ).where(Domain.domain_uuid == domain_uuid)
        row = (await self.session.execute(stmt)).first()
        return _row(row._mapping) if row else None

    async def get_by_name(self, name: str) -> dict[str, Any] | None:
        found = await self.session.scalar(
            select(Domain.domain_uuid).where(func.lower(Domain.domain_name) == name.lower())
        )
        return await self.get(found) if found else None

    async def create(self, name: str, description: str | None) -> uuid.UUID:
        domain_uuid = uuid.uuid4()
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    text(
                        "INSERT INTO v_domains (domain_uuid, domain_name, domain_enabled, domain_description) "
                        "VALUES (:u, :n, true, :d)"
                    ),
                    {"u": domain_uuid, "n": name, "d": description},
                )
        except IntegrityError:
            raise ConflictError(f"a domain named {name!r} already exists") from None
        return domain_uuid

    async def is_standalone(self) -> bool:
        comment = await self.session.scalar(text("SELECT obj_description(to_regclass('v_domains'), 'pg_class')"))
        return bool(comment == STANDALONE_MARKER)


def _row(mapping: Any) -> dict[str, Any]:
    data = dict(mapping)
    data["domain_enabled"] = str(data.get("domain_enabled") or "true").lower() in ("true", "t", "1")
    return data
