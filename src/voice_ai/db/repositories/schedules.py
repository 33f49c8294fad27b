"""Opening hours: the schedules stored by this service, and FusionPBX's time conditions (read-only, FusionPBX mode).

FusionPBX 5.5 keeps a time condition as a dialplan of its Time Conditions app (``v_dialplans.app_uuid``
``4b821450-…``) with its conditions in ``v_dialplan_details`` (see :mod:`voice_ai.schedules.fusionpbx`); the
domain's time zone is its ``domain / time_zone`` setting (``v_domain_settings``, else ``v_default_settings``).
Every query filters by the domain; ``*_enabled`` columns are compared as text (FusionPBX has stored them both as
text and as boolean). A database without these tables (standalone) has no time conditions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.db.models import Schedule
from voice_ai.db.repositories.base import TenantRepository
from voice_ai.schedules.fusionpbx import APP_UUID, Detail


class ScheduleRepository(TenantRepository[Schedule]):
    model = Schedule
    pk_name = "voice_schedule_uuid"
    order_by = (Schedule.name,)

    async def many(self, domain_uuid: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Schedule]:
        wanted = set(ids)
        if not wanted:
            return {}
        rows = await self.session.scalars(self._scoped(domain_uuid).where(Schedule.voice_schedule_uuid.in_(wanted)))
        return {row.voice_schedule_uuid: row for row in rows}


@dataclass(frozen=True)
class TimeCondition:
    dialplan_uuid: uuid.UUID
    name: str
    number: str | None
    enabled: bool


class TimeConditionReader:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def available(self) -> bool:
        """Whether FusionPBX's dialplan tables are here (FusionPBX mode)."""
        found = await self.session.scalar(
            text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('v_dialplans', 'v_dialplan_details')"
            )
        )
        return bool(found == 2)

    async def conditions(self, domain_uuid: uuid.UUID, ids: Iterable[uuid.UUID] | None = None) -> list[TimeCondition]:
        """The domain's time conditions (only ``ids`` when given), by name."""
        rows = await self.session.execute(
            text(
                "SELECT dialplan_uuid, dialplan_name, dialplan_number, "
                "coalesce(lower(dialplan_enabled::text), 'true') NOT IN ('false', 'f', '0') AS enabled "
                "FROM v_dialplans WHERE domain_uuid = :domain AND app_uuid = :app "
                "AND (CAST(:all AS boolean) OR dialplan_uuid = ANY(:ids)) ORDER BY dialplan_name"
            ),
            {
                "domain": domain_uuid,
                "app": uuid.UUID(APP_UUID),
                "all": ids is None,
                "ids": list(set(ids)) if ids is not None else [],
            },
        )
        return [
            TimeCondition(r.dialplan_uuid, str(r.dialplan_name or ""), r.dialplan_number, bool(r.enabled)) for r in rows
        ]

    async def details(self, domain_uuid: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Detail]]:
        """The enabled details of the domain's time conditions ``ids``."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self.session.execute(
            text(
                "SELECT d.dialplan_uuid, d.dialplan_detail_group, d.dialplan_detail_order, d.dialplan_detail_tag, "
                "d.dialplan_detail_type, d.dialplan_detail_data FROM v_dialplan_details d "
                "JOIN v_dialplans p ON p.dialplan_uuid = d.dialplan_uuid "
                "WHERE p.domain_uuid = :domain AND p.app_uuid = :app AND d.dialplan_uuid = ANY(:ids) AND "
                "coalesce(lower(d.dialplan_detail_enabled::text), 'true') NOT IN ('false', 'f', '0')"
            ),
            {"domain": domain_uuid, "app": uuid.UUID(APP_UUID), "ids": wanted},
        )
        found: dict[uuid.UUID, list[Detail]] = {i: [] for i in wanted}
        for r in rows:
            found[r.dialplan_uuid].append(
                Detail(
                    int(r.dialplan_detail_group or 0),
                    int(r.dialplan_detail_order or 0),
                    str(r.dialplan_detail_tag or ""),
                    str(r.dialplan_detail_type or ""),
                    str(r.dialplan_detail_data or ""),
                )
            )
        return found

    async def time_zone(self, domain_uuid: uuid.UUID) -> str | None:
        """The domain's ``domain / time_zone`` setting, else the default setting; None when neither is set (or the
        settings tables are absent)."""
        tables = await self.session.scalar(
            text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('v_domain_settings', 'v_default_settings')"
            )
        )
        if tables != 2:
            return None
        value = await self.session.scalar(
            text(
                "SELECT value FROM ("
                " SELECT 0 AS rank, domain_setting_value AS value FROM v_domain_settings WHERE domain_uuid = :domain"
                " AND domain_setting_category = 'domain' AND domain_setting_subcategory = 'time_zone' AND "
                "coalesce(lower(domain_setting_enabled::text), 'true') NOT IN ('false', 'f', '0')"
                " UNION ALL SELECT 1, default_setting_value FROM v_default_settings"
                " WHERE default_setting_category = 'domain' AND default_setting_subcategory = 'time_zone' AND "
                "coalesce(lower(default_setting_enabled::text), 'true') NOT IN ('false', 'f', '0')"
                ") s WHERE coalesce(value, '') <> '' ORDER BY rank LIMIT 1"
            ),
            {"domain": domain_uuid},
        )
        return str(value) if value else None
