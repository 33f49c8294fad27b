"""Schedules stored by this service (``v_voice_schedules``): weekly hours and holidays, as the API takes them, made
into a :class:`~voice_ai.schedules.rules.Schedule`.

- ``hours``: ``{"days": ["mon", …], "start": "08:00", "end": "18:00"}`` lines; ``end`` is exclusive (18:00 is
  closed), ``"24:00"`` is the end of the day, and an ``end`` at or before ``start`` runs overnight into the next
  day (``22:00``–``06:00`` on Friday is open Friday night until Saturday 06:00).
- no ``hours`` lines: open every day, except on the holidays.
- ``holidays``: ``{"name": "Natal", "date": "12-25"}`` every year, or ``{"date": "2026-12-24", "until":
  "2027-01-02"}`` once (``until`` included, the same form as ``date``). A holiday closes the whole day, before any
  hours are considered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from voice_ai.schedules.rules import Rule, Schedule, Window, fs_wday

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO order: index + 1 is the ISO weekday


def minute_of(value: str) -> int:
    """``"08:30"`` → 510; ``"24:00"`` → 1440."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _wday(day: str, shift: int = 0) -> int:
    iso = (DAYS.index(day) + shift) % 7 + 1
    return fs_wday(date(2024, 1, iso))  # 2024-01-01 was a Monday: day ``iso`` of that week


def hours_rules(hours: Iterable[Mapping[str, Any]]) -> list[Rule]:
    rules: list[Rule] = []
    for line in hours:
        start, end = minute_of(line["start"]), minute_of(line["end"])
        days = list(line["days"])
        if end > start:
            wdays = tuple((w, w) for w in sorted({_wday(d) for d in days}))
            rules.append(Rule(Window(wdays=wdays, minutes=((start, end - 1),)), True))
            continue
        # overnight: the evening on the day itself, the small hours on the next
        evening = tuple((w, w) for w in sorted({_wday(d) for d in days}))
        rules.append(Rule(Window(wdays=evening, minutes=((start, 1439),)), True))
        if end > 0:
            morning = tuple((w, w) for w in sorted({_wday(d, 1) for d in days}))
            rules.append(Rule(Window(wdays=morning, minutes=((0, end - 1),)), True))
    return rules


def _yearly(month: int, day: int, until_month: int, until_day: int) -> list[Window]:
    """Every year from (month, day) to (until_month, until_day) inclusive, across the new year too."""
    if (until_month, until_day) < (month, day):  # 12-24 → 01-02: two pieces
        return _yearly(month, day, 12, 31) + _yearly(1, 1, until_month, until_day)
    if month == until_month:
        return [Window(months=((month, month),), mdays=((day, until_day),))]
    windows = [Window(months=((month, month),), mdays=((day, 31),))]
    if until_month - month > 1:
        windows.append(Window(months=((month + 1, until_month - 1),)))
    windows.append(Window(months=((until_month, until_month),), mdays=((1, until_day),)))
    return windows


def holiday_rules(holidays: Iterable[Mapping[str, Any]]) -> list[Rule]:
    rules: list[Rule] = []
    for holiday in holidays:
        name = str(holiday.get("name") or "")
        first, last = str(holiday["date"]), str(holiday.get("until") or holiday["date"])
        if len(first) == 5:  # MM-DD: every year
            month, day = (int(p) for p in first.split("-"))
            until_month, until_day = (int(p) for p in last.split("-"))
            rules += [Rule(w, False, name) for w in _yearly(month, day, until_month, until_day)]
        else:
            start = datetime.combine(date.fromisoformat(first), datetime.min.time())
            end = datetime.combine(date.fromisoformat(last) + timedelta(days=1), datetime.min.time())
            rules.append(Rule(Window(spans=((start, end),)), False, name))
    return rules


def stored_schedule(
    time_zone: str, hours: Iterable[Mapping[str, Any]], holidays: Iterable[Mapping[str, Any]]
) -> Schedule:
    """A stored schedule's rules: holidays first (closed), then the weekly hours (open); no hours lines at all means
    open every day except the holidays (a schedule that only lists holidays)."""
    weekly = hours_rules(hours) or [Rule(Window(), True)]
    return Schedule(ZoneInfo(time_zone), tuple(holiday_rules(holidays) + weekly))
