"""A tenant's HTTP tools, a CRUD resource under ``/api/v1/domains/{domain_uuid}/tools`` (see ``docs/tools.md``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query

from voice_ai.api.crud import Resource, crud_router
from voice_ai.db.repositories.tools import ToolRepository
from voice_ai.schemas import tools
from voice_ai.tools.admin import prepare_tool, present_tool


def _tool_filters(
    enabled: Annotated[bool | None, Query()] = None,
    voice_secretary_uuid: Annotated[uuid.UUID | None, Query()] = None,
) -> dict[str, Any]:
    return {"enabled": enabled, "voice_secretary_uuid": voice_secretary_uuid}


router = crud_router(
    Resource(
        path="tools",
        noun="Tool",
        repository=ToolRepository,
        create_schema=tools.ToolCreate,
        update_schema=tools.ToolUpdate,
        public_schema=tools.ToolPublic,
        prepare=prepare_tool,
        present=present_tool,
        filters=_tool_filters,
    )
)
