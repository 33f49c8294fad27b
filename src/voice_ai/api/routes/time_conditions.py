"""FusionPBX's time conditions of a domain (FusionPBX mode; read-only, managed in FusionPBX), with whether each is
open now: what a secretary or transfer rule may follow as its opening hours (``time_condition_uuid``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from voice_ai.api.deps import RuntimeDep, SessionDep, TenantDep
from voice_ai.api.responses import errors
from voice_ai.schedules.admin import time_conditions
from voice_ai.schemas.schedules import TimeConditionPublic

router = APIRouter(prefix="/api/v1/domains/{domain_uuid}/time-conditions", tags=["schedules"], responses=errors(404))


@router.get("", response_model=list[TimeConditionPublic], summary="List FusionPBX time conditions")
async def list_time_conditions(domain_uuid: TenantDep, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Empty on a standalone database (use schedules there)."""
    return await time_conditions(session, domain_uuid, fusionpbx=not runtime.standalone)
