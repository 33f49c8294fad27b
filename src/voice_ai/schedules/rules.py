"""Opening hours as data, and their evaluation: open now? when does it open next?

One model serves both sources of hours:

- a FusionPBX **time condition** (a dialplan of its Time Conditions app): condition groups tried in order, the first
  whose conditions all match decides where the call goes; holiday presets are groups too;
- a schedule **stored by this service** (standalone): holidays first (closed), then the weekly hours (open).

A :class:`Schedule` is therefore an ordered list of :class:`Window` (a conjunction of calendar conditions, each as
FreeSWITCH evaluates it) with what it means (``opens``: True for opening hours, False for a holiday); the first
window that matches the local wall-clock time decides; none matching means closed.

Times are wall-clock times in the schedule's zone (``zoneinfo``): a zone with daylight-saving time keeps its hours
at the same local times across the change, as FreeSWITCH's own checks (``localtime``) do.

The next opening is found without scanning minute by minute, and its work is bounded: each day ahead (up to
:data:`HORIZON_DAYS`), only the rules whose calendar conditions can hold on that day are kept (a holiday of
another date costs one check, not one per instant); a day whose first such rule holds all day long is decided at
once; otherwise only the instants where the state can change (midnight, where a minute range of those rules starts
or ends, where a date-time span starts or ends) are tried, against those rules only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HORIZON_DAYS = 31  # a schedule that does not open within this is "closed, opening not said" (docs/opening-hours.md)
MINUTES_PER_DAY = 1440
ONE_DAY = timedelta(days=1)

Ranges = tuple[tuple[int, int], ...]  # inclusive (low, high) pairs


def fs_wday(day: date) -> int:
    """FreeSWITCH's ``wday``: 1 = Sunday … 7 = Saturday."""
    return day.isoweekday() % 7 + 1


def _in(ranges: Ranges | None, value: int) -> bool:
    return ranges is None or any(low <= value <= high for low, high in ranges)


@dataclass(frozen=True)
class Window:
    """Calendar conditions that must all hold (None: any). ``minutes`` are 0-based minutes of the day, inclusive
    ranges (08:00–18:00 is ``(480, 1079)``: 18:00 itself is closed); ``spans`` are [start, end) local date-times."""

    wdays: Ranges | None = None  # FreeSWITCH numbering, 1 = Sunday
    minutes: Ranges | None = None
    mdays: Ranges | None = None
    months: Ranges | None = None
    years: Ranges | None = None
    spans: tuple[tuple[datetime, datetime], ...] | None = None  # naive local date-times

    def matches(self, local: datetime) -> bool:
        day = local.date()
        return (
            _in(self.wdays, fs_wday(day))
            and _in(self.mdays, day.day)
            and _in(self.months, day.month)
            and _in(self.years, day.year)
            and _in(self.minutes, local.hour * 60 + local.minute)
            and (self.spans is None or any(start <= local < end for start, end in self.spans))
        )

    def may_match_on(self, day: date) -> bool:
        """Whether the window can hold at some instant of ``day`` (its calendar conditions, not its minutes)."""
        if not (
            _in(self.wdays, fs_wday(day))
            and _in(self.mdays, day.day)
            and _in(self.months, day.month)
            and _in(self.years, day.year)
        ):
            return False
        if self.spans is None:
            return True
        midnight = datetime.combine(day, time())
        return any(start < midnight + ONE_DAY and end > midnight for start, end in self.spans)

    def all_day(self, day: date) -> bool:
        """Whether the window holds at every minute of ``day`` (given :meth:`may_match_on`)."""
        if self.minutes is not None and not any(low <= 0 and high >= MINUTES_PER_DAY - 1 for low, high in self.minutes):
            return False
        if self.spans is None:
            return True
        midnight = datetime.combine(day, time())
        return any(start <= midnight and end >= midnight + ONE_DAY for start, end in self.spans)

    def boundaries(self, day: date) -> set[int]:
        """The minutes of ``day`` at which this window may start or stop matching."""
        found: set[int] = set()
        for low, high in self.minutes or ():
            found.add(low)
            if high + 1 < MINUTES_PER_DAY:
                found.add(high + 1)
        for start, end in self.spans or ():
            for instant in (start, end):
                if instant.date() == day:
                    found.add(instant.hour * 60 + instant.minute + (1 if instant.second else 0))
        return found


@dataclass(frozen=True)
class Rule:
    window: Window
    opens: bool  # True: opening hours; False: closed (a holiday)
    name: str = ""


@dataclass(frozen=True)
class Schedule:
    zone: ZoneInfo
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def rule_at(self, local: datetime) -> Rule | None:
        """The rule that decides at a local (naive) time: the first that matches."""
        return next((rule for rule in self.rules if rule.window.matches(local)), None)

    def is_open_local(self, local: datetime) -> bool:
        rule = self.rule_at(local)
        return rule is not None and rule.opens

    def local(self, at: datetime) -> datetime:
        """``at`` (aware) as a naive wall-clock time in the schedule's zone, to the minute."""
        return at.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0)

    def is_open(self, at: datetime) -> bool:
        return self.is_open_local(self.local(at))

    def holiday(self, at: datetime) -> str | None:
        """The name of the holiday that closes at ``at``, if that is why it is closed."""
        rule = self.rule_at(self.local(at))
        return rule.name or "holiday" if rule is not None and not rule.opens else None

    def next_opening(self, at: datetime, *, horizon_days: int = HORIZON_DAYS) -> datetime | None:
        """The first instant after ``at`` (aware) when it is open, as an aware time in the zone; None when open now
        would be the answer (call :meth:`is_open` first) or when it does not open within the horizon."""
        return self._next_change(at, opens=True, horizon_days=horizon_days)

    def closes_at(self, at: datetime, *, horizon_days: int = 14) -> datetime | None:
        """When an open schedule closes next (None: closed now, or open beyond the horizon)."""
        return self._next_change(at, opens=False, horizon_days=horizon_days)

    def _next_change(self, at: datetime, *, opens: bool, horizon_days: int) -> datetime | None:
        """The first instant after ``at`` whose state is ``opens`` (None: already so now, or not within the
        horizon). Work: per day, one calendar check per rule, then the boundaries of that day's rules only."""
        start = self.local(at)
        if self.is_open_local(start) == opens:
            return None
        for offset in range(horizon_days + 1):
            day = start.date() + timedelta(days=offset)
            rules = [rule for rule in self.rules if rule.window.may_match_on(day)]
            if rules and rules[0].window.all_day(day):  # decided all day long by its first rule
                if rules[0].opens == opens and offset > 0:
                    return _aware(datetime.combine(day, time()), self.zone)
                continue
            candidates = {0}
            for rule in rules:
                candidates |= rule.window.boundaries(day)
            for minute in sorted(candidates):
                local = datetime.combine(day, time(minute // 60, minute % 60))
                if local <= start:
                    continue
                decided = next((rule for rule in rules if rule.window.matches(local)), None)
                if (decided is not None and decided.opens) == opens:
                    return _aware(local, self.zone)
        return None


def _aware(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in ``zone``; one that does not exist (skipped by a DST change) becomes the instant after
    the gap, as a clock that jumps shows it."""
    aware = local.replace(tzinfo=zone)
    normal = aware.astimezone(UTC).astimezone(zone)
    return normal if normal.replace(tzinfo=None) == local else normal.replace(fold=0)


def always_open(zone: ZoneInfo) -> Schedule:
    return Schedule(zone, (Rule(Window(), True),))
