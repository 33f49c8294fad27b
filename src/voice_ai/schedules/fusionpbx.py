"""A FusionPBX time condition (a dialplan of its Time Conditions app) read as a
:class:`~voice_ai.schedules.rules.Schedule`.

FusionPBX 5.5's ``time_condition_edit.php`` writes each condition group as ``v_dialplan_details`` rows of one
``dialplan_detail_group``: a ``destination_number`` condition, the time conditions (``wday``, ``minute-of-day`` —
the page turns ``time-of-day`` into it, adding one minute to the start because FreeSWITCH counts minutes of the day
from 1 —, ``mday``, ``mon``, ``year``, ``hour``, ``date-time`` with ``~`` between its ends, …) and the group's
action; a holiday **preset** group also carries an inline ``set preset=<name>`` action. The default destination
(what runs when no group matches) is group 999, with no time condition.

How a time condition reads as opening hours (the decision, documented in docs/opening-hours.md): its groups are
tried in order as FreeSWITCH tries them; the first group whose time conditions all hold decides; a preset
(holiday) group means **closed**, any other group **open**. No group matching sends the call to the default
(alternate) destination, group 999 — FreeSWITCH's fall-through, what FusionPBX's page calls the "Alternate
Destination": with custom (non-preset) groups that is the "after hours" destination, so **closed**; with holiday
presets only it is where every ordinary day's calls go (the office), so **open** — such a time condition is open
except on its holidays. A group with a condition this module cannot evaluate (``week``,
``yday``, a regular expression, …) is skipped with a warning rather than guessed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from voice_ai.schedules.rules import Ranges, Rule, Schedule, Window

logger = logging.getLogger(__name__)
APP_UUID = "4b821450-926b-175a-af93-a03c441818b1"  # FusionPBX's Time Conditions app (its dialplans' app_uuid)
DEFAULT_GROUP = 999
WDAY_NAMES = {"sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7}
_NUMBERS = re.compile(r"^\s*[0-9a-z]+(\s*-\s*[0-9a-z]+)?(\s*,\s*[0-9a-z]+(\s*-\s*[0-9a-z]+)?)*\s*$")


@dataclass(frozen=True)
class Detail:
    """One ``v_dialplan_details`` row, as read."""

    group: int
    order: int
    tag: str
    type: str
    data: str


class Unsupported(ValueError):
    pass


def numbers(value: str, *, names: dict[str, int] | None = None) -> Ranges:
    """FreeSWITCH's number lists (``switch_number_cmp``): ``"2-6"``, ``"1,7"``, ``"mon-fri"`` (wday)."""
    text = value.strip().lower()
    if not _NUMBERS.match(text):
        raise Unsupported(value)

    def one(token: str) -> int:
        token = token.strip()
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise Unsupported(value)
        return int(token)

    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        ranges.append((one(low), one(high) if high else one(low)))
    return tuple(ranges)


def _clock(value: str) -> int:
    """``"08:00"`` or ``"08:00:30"`` → minute of the day (seconds dropped)."""
    parts = value.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise Unsupported(value)
    return int(parts[0]) * 60 + int(parts[1])


def time_of_day(value: str) -> Ranges:
    """``"08:00-18:00"`` → minutes 480…1079; a range that ends before it starts runs past midnight (two pieces)."""
    start, sep, end = value.partition("-")
    if not sep:
        raise Unsupported(value)
    low, high = _clock(start), _clock(end)
    if high > low:
        return ((low, high - 1),)
    return ((low, 1439), (0, high - 1)) if high > 0 else ((low, 1439),)


def _when(value: str) -> datetime:
    value = value.strip()
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, form)
        except ValueError:
            continue
    raise Unsupported(value)


def window_of(conditions: Iterable[Detail]) -> Window | None:
    """A group's time conditions as a window (None: the group has none, like the default group)."""
    fields: dict[str, object] = {}
    for detail in conditions:
        kind, data = detail.type.strip().lower(), detail.data
        if kind == "wday":
            fields["wdays"] = numbers(data, names=WDAY_NAMES)
        elif kind == "minute-of-day":  # FreeSWITCH: 1 … 1440
            fields["minutes"] = tuple((low - 1, high - 1) for low, high in numbers(data))
        elif kind == "time-of-day":
            fields["minutes"] = time_of_day(data)
        elif kind == "hour":
            fields["minutes"] = tuple((low * 60, high * 60 + 59) for low, high in numbers(data))
        elif kind == "mday":
            fields["mdays"] = numbers(data)
        elif kind == "mon":
            fields["months"] = numbers(data)
        elif kind == "year":
            fields["years"] = numbers(data)
        elif kind == "date-time":
            start, sep, end = data.partition("~")
            if not sep:
                raise Unsupported(data)
            fields["spans"] = ((_when(start), _when(end)),)
        elif kind in ("destination_number", "${destination_number}"):
            continue
        else:
            raise Unsupported(f"{kind}={data}")
    return Window(**fields) if fields else None  # type: ignore[arg-type]


def time_condition_schedule(details: Iterable[Detail], zone: ZoneInfo, *, name: str = "") -> Schedule | None:
    """The schedule a time condition's details describe (see the module docstring); None when every group with
    time conditions had one not understood: nothing can be said, and hours never block what cannot be read."""
    groups: dict[int, list[Detail]] = {}
    for detail in sorted(details, key=lambda d: (d.group, d.order)):
        groups.setdefault(detail.group, []).append(detail)
    rules: list[Rule] = []
    skipped = 0
    custom = 0  # non-preset groups with time conditions (understood or not): their presence makes group 999 "closed"
    for group, rows in groups.items():
        if group == DEFAULT_GROUP:
            continue
        preset = next(
            (
                r.data.split("=", 1)[1]
                for r in rows
                if r.tag == "action" and r.type == "set" and r.data.startswith("preset=")
            ),
            None,
        )
        try:
            window = window_of(r for r in rows if r.tag == "condition")
        except Unsupported as exc:
            logger.warning("time condition %r: group %d skipped, condition not understood: %s", name, group, exc)
            skipped += 1
            custom += preset is None
            continue
        if window is None:
            continue
        custom += preset is None
        rules.append(Rule(window, opens=preset is None, name=(preset or "").replace("_", " ")))
    if skipped and not rules:
        logger.warning("time condition %r: no condition understood, taken as always open", name)
        return None
    if not custom:  # holiday presets only: the default destination is the ordinary day's (open)
        rules.append(Rule(Window(), opens=True))
    return Schedule(zone, tuple(rules))
