"""The tenant's SMTP settings for messages by e-mail: ours (standalone, ``v_voice_ai_email_settings``) and, in
FusionPBX mode, FusionPBX's own e-mail settings — ``v_default_settings`` of category ``email`` overridden by the
domain's ``v_domain_settings`` (enabled rows with a value), as FusionPBX's ``resources/classes/email.php`` reads
them. Read-only on FusionPBX's tables; every statement is scoped by ``domain_uuid`` (the defaults are global)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.db.models import EmailSettings


class EmailSettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, domain_uuid: uuid.UUID) -> EmailSettings | None:
        found = await self.session.scalars(select(EmailSettings).where(EmailSettings.domain_uuid == domain_uuid))
        return found.first()

    async def put(self, domain_uuid: uuid.UUID, values: dict[str, Any]) -> EmailSettings:
        await self.session.execute(
            pg_insert(EmailSettings)
            .values(**values, domain_uuid=domain_uuid)
            .on_conflict_do_update(
                index_elements=[EmailSettings.domain_uuid], set_={**values, "update_date": text("now()")}
            )
        )
        row = await self.get(domain_uuid)
        assert row is not None
        await self.session.refresh(row)
        return row

    async def delete(self, domain_uuid: uuid.UUID) -> bool:
        result = await self.session.execute(delete(EmailSettings).where(EmailSettings.domain_uuid == domain_uuid))
        return bool(getattr(result, "rowcount", 0))

    async def fusionpbx(self, domain_uuid: uuid.UUID) -> dict[str, str]:
        """FusionPBX's e-mail settings for the domain (``smtp_host``, ``smtp_port``, ``smtp_secure``, ``smtp_auth``,
        ``smtp_username``, ``smtp_password``, ``smtp_from``, ``smtp_from_name``…): the defaults, then the domain's
        own over them. Empty where FusionPBX's tables are absent."""
        present = await self.session.scalar(
            text(
                "SELECT to_regclass('v_default_settings') IS NOT NULL AND to_regclass('v_domain_settings') IS NOT NULL"
            )
        )
        if not present:
            return {}
        found: dict[str, str] = {}
        defaults = await self.session.execute(
            text(
                "SELECT default_setting_subcategory, default_setting_value FROM v_default_settings"
                " WHERE default_setting_category = 'email' AND default_setting_enabled::text IN ('true', 't')"
                " ORDER BY default_setting_order NULLS FIRST"
            )
        )
        for name, value in defaults:
            if name and value is not None:
                found[str(name)] = str(value)
        domain = await self.session.execute(
            text(
                "SELECT domain_setting_subcategory, domain_setting_value FROM v_domain_settings"
                " WHERE domain_uuid = :domain AND domain_setting_category = 'email'"
                " AND domain_setting_enabled::text IN ('true', 't')"
            ),
            {"domain": domain_uuid},
        )
        for name, value in domain:
            if name and value:
                found[str(name)] = str(value)
        return found
