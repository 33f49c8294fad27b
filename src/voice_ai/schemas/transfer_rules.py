from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from voice_ai.schemas.common import Destination, DialplanContext, LongText, Name, ORMModel, Strict

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _RuleFields(Strict):
    voice_secretary_uuid: uuid.UUID | None = Field(
        default=None, description="Limit the rule to one secretary; null: every secretary of the domain."
    )
    description: LongText | None = None
    keywords: list[Keyword] = Field(default_factory=list, max_length=100)
    destination_context: DialplanContext | None = None
    priority: int = Field(default=100, ge=0, le=10000)
    enabled: bool = True
    voice_schedule_uuid: uuid.UUID | None = Field(
        default=None, description="Opening hours of the department: a schedule of this domain (null: always open)."
    )
    time_condition_uuid: uuid.UUID | None = Field(
        default=None, description="Opening hours, FusionPBX mode: one of the domain's time conditions instead."
    )
    ring_seconds: int | None = Field(
        default=None,
        ge=5,
        le=120,
        description="Seconds the destination rings before the caller returns to the secretary; null: 30.",
    )
    announce: bool = Field(
        default=False,
        description="Announced transfer: the person who answers hears who is calling and why, and presses 1 to take "
        "the call (anything else returns the caller to the secretary).",
    )


class TransferRuleCreate(_RuleFields):
    department_name: Name
    destination_number: Destination


class TransferRuleUpdate(_RuleFields):
    department_name: Name | None = None
    destination_number: Destination | None = None


class TransferRulePublic(ORMModel):
    voice_transfer_rule_uuid: uuid.UUID
    domain_uuid: uuid.UUID
    voice_secretary_uuid: uuid.UUID | None
    department_name: str
    description: str | None
    keywords: list[str]
    destination_number: str
    destination_context: str | None
    priority: int
    enabled: bool
    voice_schedule_uuid: uuid.UUID | None = None
    time_condition_uuid: uuid.UUID | None = None
    ring_seconds: int | None
    announce: bool
    insert_date: datetime
    update_date: datetime
