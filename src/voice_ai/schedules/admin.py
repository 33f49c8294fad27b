"""The API's side of opening hours: references checked when a secretary or rule is saved, and a schedule shown with
whether it is open now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from voice_ai.core.errors import FieldError
from voice_ai.db.models import Schedule as ScheduleRow
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.db.repositories.schedules import ScheduleRepository, TimeConditionReader
from voice_ai.schedules.openings import load_schedules, state_of
from voice_ai.schedules.standalone import stored_schedule


async def check_schedule_refs(ctx: Any, values: dict[str, Any], row: Any | None) -> None:
    """422 when a secretary's or rule's schedule is not the domain's, when a FusionPBX time condition is named
    where there is none (standalone, or not one of the domain's), or when both are set."""
    schedule_uuid = values.get("voice_schedule_uuid", getattr(row, "voice_schedule_uuid", None))
    condition_uuid = values.get("time_condition_uuid", getattr(row, "time_condition_uuid", None))
    if schedule_uuid is not None and condition_uuid is not None:
        raise FieldError(
            "time_condition_uuid",
            "set either a schedule (voice_schedule_uuid) or a FusionPBX time condition, not both",
            "conflict",
        )
    chosen = values.get("voice_schedule_uuid")
    if chosen is not None and await ScheduleRepository(ctx.session).get(ctx.domain_uuid, chosen) is None:
        raise FieldError("voice_schedule_uuid", "no schedule with this id in this domain", "invalid_reference")
    if values.get("time_condition_uuid") is not None:
        reader = TimeConditionReader(ctx.session)
        if await DomainRepository(ctx.session).is_standalone() or not await reader.available():
            raise FieldError(
                "time_condition_uuid",
                "FusionPBX time conditions exist only on a FusionPBX database: use a schedule (voice_schedule_uuid)",
                "invalid_reference",
            )
        if not await reader.conditions(ctx.domain_uuid, [values["time_condition_uuid"]]):
            raise FieldError(
                "time_condition_uuid", "no FusionPBX time condition with this id in this domain", "invalid_reference"
            )


def present_schedule(ctx: Any, row: ScheduleRow) -> dict[str, Any]:
    data = {c.key: getattr(row, c.key) for c in ScheduleRow.__table__.columns}
    state = state_of(
        stored_schedule(row.time_zone, row.hours, row.holidays) if row.enabled else None, datetime.now(UTC)
    )
    data["open_now"], data["next_opening"] = state.open, state.opens_at
    return data


async def time_conditions(session: Any, domain_uuid: Any, *, fusionpbx: bool) -> list[dict[str, Any]]:
    """The domain's FusionPBX time conditions with their state now (empty standalone)."""
    reader = TimeConditionReader(session)
    if not fusionpbx or not await reader.available():
        return []
    found = await reader.conditions(domain_uuid)
    schedules = await load_schedules(session, domain_uuid, [(None, c.dialplan_uuid) for c in found], fusionpbx=True)
    now = datetime.now(UTC)
    listed = []
    for condition in found:
        state = state_of(schedules.get((None, condition.dialplan_uuid)), now)
        listed.append(
            {
                "time_condition_uuid": condition.dialplan_uuid,
                "name": condition.name,
                "number": condition.number,
                "enabled": condition.enabled,
                "open_now": state.open,
                "next_opening": state.opens_at,
            }
        )
    return listed
