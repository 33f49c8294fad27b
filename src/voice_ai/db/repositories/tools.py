"""The tenant's HTTP tools (``v_voice_tools``)."""

from __future__ import annotations

import uuid

from sqlalchemy import or_

from voice_ai.db.models import Tool
from voice_ai.db.repositories.base import TenantRepository


class ToolRepository(TenantRepository[Tool]):
    model = Tool
    pk_name = "voice_tool_uuid"
    order_by = (Tool.name,)
    constraint_errors = {
        "uq_voice_tools_domain_name": ("name", "this domain already has a tool with this name"),
        "fk_voice_tools_secretary": ("voice_secretary_uuid", "no secretary with this id in this domain"),
    }

    async def for_secretary(self, domain_uuid: uuid.UUID, secretary_uuid: uuid.UUID, *, limit: int) -> list[Tool]:
        """The enabled tools a secretary's calls may use: the domain's own and the secretary's, by name."""
        result = await self.session.scalars(
            self._scoped(domain_uuid)
            .where(
                Tool.enabled.is_(True),
                or_(Tool.voice_secretary_uuid.is_(None), Tool.voice_secretary_uuid == secretary_uuid),
            )
            .order_by(Tool.name)
            .limit(limit)
        )
        return list(result.all())
