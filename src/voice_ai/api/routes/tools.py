"""A tenant's HTTP tools, a CRUD resource under ``/api/v1/domains/{domain_uuid}/tools`` (see ``docs/tools.md``), and a
dry run of one tool (``POST …/tools/{tool_uuid}/test``) for the admin who defines it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from voice_ai.api.crud import Resource, crud_router
from voice_ai.api.deps import RuntimeDep, SessionDep, TenantDep
from voice_ai.api.responses import errors
from voice_ai.core.crypto import SecretKeyError
from voice_ai.core.errors import FieldError, NotFoundError
from voice_ai.db.repositories.tools import ToolRepository
from voice_ai.schemas import tools
from voice_ai.schemas.common import Strict
from voice_ai.tools.admin import prepare_tool, present_tool
from voice_ai.tools.executor import execute
from voice_ai.tools.load import tool_spec
from voice_ai.tools.spec import argument_problem
from voice_ai.tools.urls import networks

TEST_CONTENT_CHARS = 2000


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

testing = APIRouter(prefix="/api/v1/domains/{domain_uuid}/tools", tags=["tools"], responses=errors(404))


class ToolTestBody(Strict):
    arguments: dict[str, Any] = Field(default_factory=dict, description="As the model would send them")


@testing.post("/{tool_uuid}/test", summary="Call a tool once with the given arguments, as a call turn would")
async def test_tool(
    domain_uuid: TenantDep,
    runtime: RuntimeDep,
    session: SessionDep,
    tool_uuid: Annotated[uuid.UUID, Path(description="Tool id")],
    body: ToolTestBody,
) -> dict[str, Any]:
    """The arguments are checked against the tool's schema (422 naming the argument), then the tool is called with its
    own bounds and the service's address policy — a disabled tool too. Its failure is the answer, not an error:
    ``ok``, ``status``, ``ms``, ``error`` and the start of what the model would read (``content``)."""
    row = await ToolRepository(session).get(domain_uuid, tool_uuid)
    if row is None:
        raise NotFoundError("Tool")
    try:
        spec = tool_spec(row, runtime.secret_box)
    except SecretKeyError:
        raise FieldError("headers", "cannot be decrypted with the current key: enter them again") from None
    problem = argument_problem(spec.parameters, body.arguments)
    if problem is not None:
        where = ".".join(problem[0])
        raise FieldError(f"arguments.{where}" if where else "arguments", problem[1])
    result = await execute(spec, body.arguments, allow=networks(runtime.settings.tools_allow_networks))
    return {
        "ok": result.ok,
        "status": result.status,
        "ms": result.ms,
        "error": result.error,
        "content": result.content[:TEST_CONTENT_CHARS],
    }
