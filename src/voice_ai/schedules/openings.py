"""Opening hours at work in a call: which schedules apply, what is open now, and what the secretary says about it.

A secretary and each transfer rule may follow a schedule: one stored by this service (``voice_schedule_uuid``) or,
in FusionPBX mode, one of the domain's FusionPBX time conditions (``time_condition_uuid``). None (or a disabled
schedule, or a time condition that no longer exists) means always open — hours never block what was configured
without them. Inside hours nothing changes; outside them (:func:`closed_instead`, :func:`greeting_words`):

- a transfer to a department closed now is not made: the secretary says it is closed, when it opens, and offers a
  message (``offer_message``);
- a closed secretary says so in its greeting, with the next opening, and offers a message; a transfer to its
  operator is not made either (nobody is there) — except the safety nets (no model answered, two silent turns),
  which keep sending the caller to a person as before, and except when no opening is known within
  :data:`~voice_ai.schedules.rules.HORIZON_DAYS` days: a schedule "closed for good" is far more often a mistake
  than a fact, so the operator is still tried (the transfer comes back if nobody answers) and a warning is logged
  — never a caller refused on every call without a word to the admin;
- closures are kept per transfer rule — its destination and context — not per department name, which two rules
  (one global, one of this secretary) may share;
- the model is told what is open now (:class:`~voice_ai.providers.types.Opening` in the dialog context).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.conversation.actions import Action
from voice_ai.conversation.phrases import phrase
from voice_ai.db.repositories.schedules import ScheduleRepository, TimeConditionReader
from voice_ai.providers.llm.text import fold
from voice_ai.providers.types import Opening
from voice_ai.schedules.fusionpbx import time_condition_schedule
from voice_ai.schedules.rules import HORIZON_DAYS, Schedule
from voice_ai.schedules.spoken import when_words
from voice_ai.schedules.standalone import stored_schedule

logger = logging.getLogger(__name__)
Ref = tuple[uuid.UUID | None, uuid.UUID | None]  # (voice_schedule_uuid, time_condition_uuid)
Target = tuple[str, str | None]  # a transfer rule's (destination_number, destination_context)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WARNED_LIMIT = 10_000  # warnings said once per key: the keys remembered, at most
_warned: set[tuple[str, object]] = set()


def warn_once(key: tuple[str, object], message: str, *args: object) -> None:
    """A warning logged once per key in this process (a setting read at every turn must not flood the log)."""
    if key in _warned:
        return
    if len(_warned) >= _WARNED_LIMIT:
        _warned.clear()
    _warned.add(key)
    logger.warning(message, *args)


def local_zone() -> ZoneInfo:
    """The host's zone (where FreeSWITCH evaluates time conditions when FusionPBX has no domain time zone)."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name and Path("/etc/timezone").is_file():
        name = Path("/etc/timezone").read_text().strip()
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def condition_zone(domain_uuid: uuid.UUID, zone_name: str | None) -> ZoneInfo:
    """The zone of a domain's FusionPBX time conditions: its ``domain / time_zone`` setting, else the host's — with a
    warning, once per domain: in a container the host is often UTC while FreeSWITCH runs in local time."""
    if zone_name:
        try:
            return ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = local_zone()
            warn_once(
                ("zone", domain_uuid),
                "domain %s: time zone setting %r unknown: its FusionPBX time conditions are read in this host's zone "
                "(%s); set 'domain / time_zone' to the zone FreeSWITCH runs in",
                domain_uuid,
                zone_name,
                zone.key,
            )
            return zone
    zone = local_zone()
    warn_once(
        ("zone", domain_uuid),
        "domain %s: no 'domain / time_zone' setting: its FusionPBX time conditions are read in this host's zone (%s), "
        "which may not be FreeSWITCH's; set the domain's time zone in FusionPBX (docs/opening-hours.md)",
        domain_uuid,
        zone.key,
    )
    return zone


@dataclass(frozen=True)
class TurnOpening(Opening):
    """:class:`Opening` with the closures kept per transfer rule (``(destination, context)`` → when it opens), which
    is what a transfer is checked against; ``closed`` (for the model) names a department closed when the rule a
    transfer by that name reaches — the first of that name, as ``conversation.actions.resolve`` picks — is."""

    closed_targets: Mapping[Target, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class State:
    open: bool
    opens_at: datetime | None = None  # the next opening when closed (None: not within the horizon)
    holiday: str | None = None  # closed for this holiday
    zone: ZoneInfo | None = None


def state_of(schedule: Schedule | None, now: datetime) -> State:
    if schedule is None:
        return State(True)
    if schedule.is_open(now):
        return State(True, zone=schedule.zone)
    return State(False, schedule.next_opening(now), schedule.holiday(now), schedule.zone)


async def load_schedules(
    session: AsyncSession, domain_uuid: uuid.UUID, refs: Iterable[Ref], *, fusionpbx: bool
) -> dict[Ref, Schedule | None]:
    """The schedule of each (schedule, time condition) reference, in two or three queries at most."""
    wanted = {r for r in refs if r != (None, None)}
    found: dict[Ref, Schedule | None] = {}
    ours = await ScheduleRepository(session).many(domain_uuid, [r[0] for r in wanted if r[0] is not None])
    conditions: dict[uuid.UUID, Schedule] = {}
    condition_ids = {r[1] for r in wanted if r[0] is None and r[1] is not None}
    if condition_ids and fusionpbx:
        reader = TimeConditionReader(session)
        if await reader.available():
            enabled = {c.dialplan_uuid: c for c in await reader.conditions(domain_uuid, condition_ids) if c.enabled}
            zone = condition_zone(domain_uuid, await reader.time_zone(domain_uuid))
            for dialplan_uuid, details in (await reader.details(domain_uuid, enabled)).items():
                read = time_condition_schedule(details, zone, name=enabled[dialplan_uuid].name)
                if read is not None:
                    conditions[dialplan_uuid] = read
    for ref in wanted:
        schedule_uuid, condition_uuid = ref
        if schedule_uuid is not None:
            row = ours.get(schedule_uuid)
            found[ref] = stored_schedule(row.time_zone, row.hours, row.holidays) if row and row.enabled else None
        elif condition_uuid is not None:
            found[ref] = conditions.get(condition_uuid)
            if found[ref] is None:
                logger.warning(
                    "domain %s: time condition %s not found, disabled or not understood: always open",
                    domain_uuid,
                    ref[1],
                )
    return found


def _ref(row: Any) -> Ref:
    return (getattr(row, "voice_schedule_uuid", None), getattr(row, "time_condition_uuid", None))


def local_now(now: datetime, zone: ZoneInfo | None) -> str:
    local = now.astimezone(zone or UTC)
    return f"{WEEKDAYS[local.weekday()]} {local:%Y-%m-%d %H:%M} ({getattr(zone, 'key', None) or 'UTC'})"


async def turn_opening(
    session: AsyncSession,
    domain_uuid: uuid.UUID,
    secretary: Any,
    rules: Sequence[Any],
    *,
    fusionpbx: bool,
    now: datetime | None = None,
) -> Opening | None:
    """What is open now for a secretary and its transfer rules; None when none of them follows a schedule."""
    now = now or datetime.now(UTC)
    mine = [r for r in rules if r.voice_secretary_uuid in (None, secretary.voice_secretary_uuid)]
    refs = [_ref(secretary), *(_ref(r) for r in mine)]
    if all(r == (None, None) for r in refs):
        return None
    schedules = await load_schedules(session, domain_uuid, refs, fusionpbx=fusionpbx)
    language = secretary.language
    own = state_of(schedules.get(_ref(secretary)), now)
    if not own.open and own.opens_at is None:
        warn_once(
            ("closed", secretary.voice_secretary_uuid),
            "domain %s: secretary %s is closed and does not open within %d days: its greeting says so, and a "
            "transfer to its operator is still made (check its opening hours)",
            domain_uuid,
            secretary.voice_secretary_uuid,
            HORIZON_DAYS,
        )
    closed: dict[str, str | None] = {}
    targets: dict[Target, str | None] = {}
    names: set[str] = set()
    zone = own.zone
    for rule in mine:
        state = state_of(schedules.get(_ref(rule)), now)
        zone = zone or state.zone
        name = fold(rule.department_name).strip()
        first = name not in names  # the rule a transfer by this name reaches
        names.add(name)
        if not state.open:
            when = when_words(state.opens_at, now, language) if state.opens_at else None
            targets[(rule.destination_number, rule.destination_context)] = when
            if first:
                closed[rule.department_name] = when
    return TurnOpening(
        now=local_now(now, zone),
        open=own.open,
        opens=when_words(own.opens_at, now, language) if own.opens_at else None,
        closed=closed,
        closed_targets=targets,
    )


async def secretary_opening(
    session: AsyncSession, domain_uuid: uuid.UUID, secretary: Any, *, fusionpbx: bool, now: datetime | None = None
) -> Opening | None:
    """The secretary's own hours only (the greeting); None without a schedule."""
    return await turn_opening(session, domain_uuid, secretary, [], fusionpbx=fusionpbx, now=now)


def closed_department_words(language: str, department: str, when: str | None) -> str:
    words = [phrase(language, "closed_department", department=department)]
    if when:
        words.append(phrase(language, "department_opens", when=when))
    words.append(phrase(language, "offer_message"))
    return " ".join(words)


def closed_operator_words(language: str, when: str | None) -> str:
    words = [phrase(language, "operator_closed")]
    if when:
        words.append(phrase(language, "we_open", when=when))
    words.append(phrase(language, "offer_message"))
    return " ".join(words)


def greeting_words(greeting: str, opening: Opening | None, language: str) -> str:
    """The greeting, and — when the secretary is closed now — that it is closed, when it opens, and the offer."""
    if opening is None or opening.open:
        return greeting
    words = [greeting, phrase(language, "closed_now")]
    if opening.opens:
        words.append(phrase(language, "we_open", when=opening.opens))
    words.append(phrase(language, "offer_message"))
    return " ".join(w for w in words if w)


def closed_instead(action: Action, opening: Opening | None, language: str) -> Action:
    """A decided transfer to a department (or operator) closed now becomes a reply that says so (``say``) and
    keeps the call with the secretary; anything else is returned as it is. A department is closed when the rule
    the transfer goes to is (its destination and context); the operator, when the secretary is closed and opens
    within the horizon (closed with no opening known: the operator is still tried, see the module docstring)."""
    if opening is None or action.kind != "transfer" or action.transfer is None:
        return action
    transfer = action.transfer
    if transfer.department is None:
        if opening.open or opening.opens is None:
            return action
        return Action("continue", say=closed_operator_words(language, opening.opens))
    if isinstance(opening, TurnOpening):
        found = [
            when
            for (destination, context), when in opening.closed_targets.items()
            if destination == transfer.destination and context in (None, transfer.context)
        ]
        if not found:
            return action
        when = found[0]
    elif transfer.department in opening.closed:  # an Opening built elsewhere: by name
        when = opening.closed[transfer.department]
    else:
        return action
    return Action("continue", say=closed_department_words(language, transfer.department, when))
