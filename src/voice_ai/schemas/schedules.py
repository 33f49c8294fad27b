"""Opening hours stored by this service (docs/opening-hours.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StringConstraints, field_validator, model_validator

from voice_ai.schemas.common import Description, Name, ORMModel, ShortText, Strict

MAX_HOURS_LINES = 28  # four shifts a day, every day: more is a mistake, and each line costs at every turn
MAX_HOLIDAYS = 100  # a country's, a state's and a city's holidays, and years of one-off dates
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
HolidayDate = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^([0-9]{4}-)?[0-9]{2}-[0-9]{2}$"),
]


def _day(value: str) -> date:
    """A holiday date: ``YYYY-MM-DD`` once, ``MM-DD`` every year (checked in a leap year: 02-29 is allowed)."""
    return date.fromisoformat(value if len(value) == 10 else f"2024-{value}")


class HoursLine(Strict):
    days: list[Day] = Field(min_length=1, max_length=7, description="Days this line applies to ('mon' … 'sun').")
    start: Clock = Field(description="Opening time, HH:MM (local).")
    end: Clock = Field(
        description="Closing time, HH:MM (exclusive; '24:00' is midnight). At or before 'start': runs overnight."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.start == "24:00":
            raise ValueError("start must be 00:00 … 23:59")
        if self.start == self.end:
            raise ValueError("start and end are equal: use 00:00 to 24:00 for the whole day")
        return self


class Holiday(Strict):
    name: ShortText | None = None
    date: HolidayDate = Field(description="'YYYY-MM-DD' (once) or 'MM-DD' (every year).")
    until: HolidayDate | None = Field(default=None, description="Last closed day, included (same form as 'date').")

    @model_validator(mode="after")
    def _check(self) -> Self:
        try:
            first = _day(self.date)
            last = _day(self.until) if self.until else first
        except ValueError:
            raise ValueError("not a real date") from None
        if self.until and len(self.until) != len(self.date):
            raise ValueError("'until' must have the same form as 'date' (both YYYY-MM-DD or both MM-DD)")
        if len(self.date) == 10 and last < first:
            raise ValueError("'until' is before 'date'")
        return self


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as 'America/Sao_Paulo'") from None
    return value


class _ScheduleFields(Strict):
    description: Description | None = None
    hours: list[HoursLine] = Field(
        default_factory=list,
        max_length=MAX_HOURS_LINES,
        description="Weekly opening hours; none: open every day except the holidays.",
    )
    holidays: list[Holiday] = Field(default_factory=list, max_length=MAX_HOLIDAYS)
    enabled: bool = Field(default=True, description="A disabled schedule is always open.")

    @field_validator("time_zone", check_fields=False)
    @classmethod
    def _time_zone(cls, value: str | None) -> str | None:
        return _zone(value)


class ScheduleCreate(_ScheduleFields):
    name: Name
    time_zone: str = Field(default="America/Sao_Paulo", max_length=64, description="IANA time zone of the hours.")


class ScheduleUpdate(_ScheduleFields):
    name: Name | None = None
    time_zone: str | None = Field(default=None, max_length=64)


class SchedulePublic(ORMModel):
    voice_schedule_uuid: uuid.UUID
    domain_uuid: uuid.UUID
    name: str
    description: str | None
    time_zone: str
    hours: list[HoursLine]
    holidays: list[Holiday]
    enabled: bool
    open_now: bool = Field(description="Whether it is open at the time of the request.")
    next_opening: datetime | None = Field(description="When closed: the next opening (local time, with offset).")
    insert_date: datetime
    update_date: datetime


class TimeConditionPublic(ORMModel):
    """A FusionPBX time condition (FusionPBX mode), read-only."""

    time_condition_uuid: uuid.UUID
    name: str
    number: str | None
    enabled: bool
    open_now: bool
    next_opening: datetime | None
