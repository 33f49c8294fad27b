"""Opening hours evaluated: weekly hours, overnight ranges, holidays, a zone without DST (America/Sao_Paulo) and one
with it (Europe/Lisbon), FusionPBX time conditions as its Time Conditions app writes them, and the words said."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from voice_ai.conversation.actions import Action, Transfer
from voice_ai.providers.llm.prompting import system_prompt
from voice_ai.providers.types import DialogContext, Opening
from voice_ai.schedules import openings
from voice_ai.schedules.fusionpbx import Detail, time_condition_schedule
from voice_ai.schedules.openings import closed_instead, condition_zone, greeting_words, turn_opening
from voice_ai.schedules.rules import HORIZON_DAYS, Schedule, Window
from voice_ai.schedules.spoken import when_words
from voice_ai.schedules.standalone import stored_schedule

SP = ZoneInfo("America/Sao_Paulo")
LISBON = ZoneInfo("Europe/Lisbon")
WEEKDAYS = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


def test_weekly_hours_in_sao_paulo() -> None:
    office = stored_schedule("America/Sao_Paulo", [WEEKDAYS, {"days": ["sat"], "start": "09:00", "end": "12:30"}], [])
    assert office.is_open(local(SP, 2026, 11, 30, 8, 0))  # Monday 08:00: opens
    assert office.is_open(local(SP, 2026, 11, 30, 17, 59))
    assert not office.is_open(local(SP, 2026, 11, 30, 18, 0))  # the end is exclusive
    assert not office.is_open(local(SP, 2026, 11, 30, 7, 59))
    # the same instant given in UTC: 11:00 UTC is 08:00 in São Paulo (UTC-3 all year)
    assert office.is_open(datetime(2026, 11, 30, 11, 0, tzinfo=UTC))
    assert not office.is_open(datetime(2026, 11, 30, 10, 59, tzinfo=UTC))
    assert office.next_opening(local(SP, 2026, 11, 30, 18, 0)) == local(SP, 2026, 12, 1, 8, 0)
    assert office.next_opening(local(SP, 2026, 12, 4, 19, 0)) == local(SP, 2026, 12, 5, 9, 0)  # Friday → Saturday
    assert office.next_opening(local(SP, 2026, 12, 5, 12, 30)) == local(SP, 2026, 12, 7, 8, 0)  # Saturday → Monday
    assert office.next_opening(local(SP, 2026, 11, 30, 10, 0)) is None  # open now
    assert office.closes_at(local(SP, 2026, 11, 30, 10, 0)) == local(SP, 2026, 11, 30, 18, 0)


def test_a_zone_with_daylight_saving_keeps_its_local_hours() -> None:
    office = stored_schedule("Europe/Lisbon", [WEEKDAYS], [])
    # 07:30 UTC: 08:30 in summer (UTC+1) — open; 07:30 in winter (UTC+0) — closed
    assert office.is_open(datetime(2026, 7, 6, 7, 30, tzinfo=UTC))
    assert not office.is_open(datetime(2026, 1, 5, 7, 30, tzinfo=UTC))
    # closed over the weekend when the clocks go forward (Sunday 2026-03-29): opens Monday 08:00 summer time
    opening = office.next_opening(datetime(2026, 3, 27, 18, 30, tzinfo=UTC))
    assert opening == local(LISBON, 2026, 3, 30, 8, 0)
    assert opening is not None and opening.utcoffset() is not None
    assert opening.astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_overnight_hours_run_into_the_next_day() -> None:
    night = stored_schedule("America/Sao_Paulo", [{"days": ["fri"], "start": "22:00", "end": "06:00"}], [])
    assert not night.is_open(local(SP, 2026, 12, 4, 21, 59))
    assert night.is_open(local(SP, 2026, 12, 4, 23, 0))  # Friday night
    assert night.is_open(local(SP, 2026, 12, 5, 5, 59))  # Saturday small hours
    assert not night.is_open(local(SP, 2026, 12, 5, 6, 0))
    assert not night.is_open(local(SP, 2026, 12, 5, 23, 0))  # Saturday night is not listed
    assert night.next_opening(local(SP, 2026, 12, 5, 6, 0)) == local(SP, 2026, 12, 11, 22, 0)
    whole = stored_schedule("America/Sao_Paulo", [{"days": ["sun"], "start": "00:00", "end": "24:00"}], [])
    assert whole.is_open(local(SP, 2026, 12, 6, 23, 59)) and not whole.is_open(local(SP, 2026, 12, 7, 0, 0))


def test_holidays_close_the_day_and_the_next_opening_skips_them() -> None:
    holidays = [
        {"name": "Natal", "date": "12-25"},
        {"name": "Recesso", "date": "2026-12-28", "until": "2027-01-01"},
        {"name": "Ano novo", "date": "12-31", "until": "01-02"},  # every year, across the new year
    ]
    office = stored_schedule("America/Sao_Paulo", [WEEKDAYS], holidays)
    christmas = local(SP, 2026, 12, 25, 10, 0)  # a Friday
    assert not office.is_open(christmas)
    assert office.holiday(christmas) == "Natal"
    assert office.next_opening(local(SP, 2026, 12, 24, 18, 0)) == local(SP, 2027, 1, 4, 8, 0)  # recess, new year
    assert office.is_open(local(SP, 2026, 12, 24, 10, 0))
    assert not office.is_open(local(SP, 2027, 12, 31, 10, 0)) and not office.is_open(local(SP, 2028, 1, 2, 10, 0))
    assert office.is_open(local(SP, 2028, 1, 3, 10, 0))  # a Monday after the yearly holiday
    assert office.holiday(local(SP, 2026, 12, 29, 10, 0)) == "Recesso"


def test_a_schedule_with_only_holidays_is_open_except_on_them() -> None:
    """Finding 4: no hours lines used to mean never open (and the operator refused on every call)."""
    holidays = stored_schedule("America/Sao_Paulo", [], [{"name": "Natal", "date": "12-25"}])
    assert holidays.is_open(local(SP, 2026, 11, 30, 10, 0))
    assert not holidays.is_open(local(SP, 2026, 12, 25, 10, 0)) and holidays.holiday(local(SP, 2026, 12, 25)) == "Natal"
    assert holidays.next_opening(local(SP, 2026, 12, 25, 10, 0)) == local(SP, 2026, 12, 26, 0, 0)
    assert stored_schedule("America/Sao_Paulo", [], []).is_open(local(SP, 2026, 11, 30, 3, 0))


def test_the_next_opening_is_said_within_31_days_only() -> None:
    """Finding 1: the search stops at HORIZON_DAYS (31); beyond it nothing is said about when it opens."""

    def recess(days: int) -> Schedule:
        until = (date(2026, 12, 1) + timedelta(days=days - 1)).isoformat()
        return stored_schedule("America/Sao_Paulo", [WEEKDAYS], [{"date": "2026-12-01", "until": until}])

    assert HORIZON_DAYS == 31
    assert recess(20).next_opening(local(SP, 2026, 12, 1, 9, 0)) == local(SP, 2026, 12, 21, 8, 0)
    assert recess(40).next_opening(local(SP, 2026, 12, 1, 9, 0)) is None


def test_the_next_opening_work_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 1: the review's schedule (50 hours lines of many ranges, 499 dated holidays, a whole-year holiday)
    took 14.6 s of CPU per evaluation, trying every rule at every boundary of 400 days. Counted, not timed: the
    window checks made must stay small (they were millions)."""
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    hours = [
        {"days": every_day, "start": f"{i * 17 // 60:02d}:{i * 17 % 60:02d}", "end": f"{i * 17 // 60:02d}:59"}
        for i in range(50)
        if i * 17 % 60 != 59
    ]
    holidays = [{"date": (date(2026, 1, 1) + timedelta(days=3 * i)).isoformat()} for i in range(499)]
    year = stored_schedule("America/Sao_Paulo", hours, [*holidays, {"name": "Ano", "date": "01-01", "until": "12-31"}])
    checks = 0
    matches = Window.matches

    def counted(self: Window, at: datetime) -> bool:
        nonlocal checks
        checks += 1
        if checks > 20_000:
            raise AssertionError("the next opening's search is not bounded")
        return matches(self, at)

    monkeypatch.setattr(Window, "matches", counted)
    assert year.next_opening(local(SP, 2026, 11, 30, 10, 0)) is None
    open_days = stored_schedule("America/Sao_Paulo", hours, holidays)  # opens soon: found quickly too
    assert open_days.next_opening(local(SP, 2026, 1, 1, 23, 59)) is not None
    assert checks <= 20_000


def _fusionpbx_details() -> list[Detail]:
    """A time condition as FusionPBX 5.5's time_condition_edit.php saves it: the New Year's Day preset (group 100,
    its `set preset=` action), business hours Monday–Friday 08:00–18:00 as minute-of-day 481-1080 (group 500),
    Saturday mornings with time-of-day and wday names (group 505), and the default destination (group 999)."""
    return [
        Detail(100, 10, "condition", "destination_number", "^5000$"),
        Detail(100, 20, "condition", "mday", "1"),
        Detail(100, 30, "condition", "mon", "1"),
        Detail(100, 40, "action", "set", "preset=new_years_day"),
        Detail(100, 50, "action", "transfer", "9000 XML pbx.example.com"),
        Detail(500, 10, "condition", "destination_number", "^5000$"),
        Detail(500, 20, "condition", "wday", "2-6"),
        Detail(500, 30, "condition", "minute-of-day", "481-1080"),
        Detail(500, 40, "action", "transfer", "201 XML pbx.example.com"),
        Detail(505, 10, "condition", "wday", "sat"),
        Detail(505, 20, "condition", "time-of-day", "09:00-12:00"),
        Detail(505, 30, "action", "transfer", "201 XML pbx.example.com"),
        Detail(999, 10, "condition", "destination_number", "^5000$"),
        Detail(999, 20, "action", "transfer", "9000 XML pbx.example.com"),
    ]


def test_a_fusionpbx_time_condition_reads_as_opening_hours() -> None:
    schedule = time_condition_schedule(_fusionpbx_details(), SP)
    assert schedule is not None
    assert schedule.is_open(local(SP, 2026, 11, 30, 8, 0))  # minute-of-day 481 is 08:00 (FreeSWITCH counts from 1)
    assert schedule.is_open(local(SP, 2026, 11, 30, 17, 59))
    assert not schedule.is_open(local(SP, 2026, 11, 30, 18, 0))  # 1080 is 17:59
    assert schedule.is_open(local(SP, 2026, 12, 5, 11, 59)) and not schedule.is_open(local(SP, 2026, 12, 5, 12, 0))
    new_year = local(SP, 2027, 1, 1, 10, 0)  # a Friday: the preset group comes first and means closed
    assert not schedule.is_open(new_year)
    assert schedule.holiday(new_year) == "new years day"
    assert schedule.next_opening(new_year) == local(SP, 2027, 1, 2, 9, 0)


def test_a_condition_not_understood_skips_its_group_only() -> None:
    details = [*_fusionpbx_details(), Detail(510, 10, "condition", "week", "1-52"), Detail(510, 20, "action", "x", "")]
    schedule = time_condition_schedule(details, SP)
    assert schedule is not None
    assert schedule.is_open(local(SP, 2026, 11, 30, 9, 0))
    assert not schedule.is_open(local(SP, 2026, 11, 29, 9, 0))  # Sunday: group 510 is not taken as "always"
    # nothing understood at all: no schedule (always open), rather than a department closed for ever
    unreadable = [
        Detail(500, 10, "condition", "${strftime(%H)}", "^(0[89]|1[0-7])$"),
        Detail(999, 10, "action", "x", ""),
    ]
    assert time_condition_schedule(unreadable, SP) is None


@pytest.mark.parametrize(
    ("now", "opening", "pt", "en"),
    [
        ((2026, 11, 30, 7, 0), (2026, 11, 30, 8, 0), "hoje às 8h", "today at 8 AM"),
        ((2026, 11, 30, 19, 0), (2026, 12, 1, 8, 30), "amanhã às 8h30", "tomorrow at 8:30 AM"),
        ((2026, 12, 4, 19, 0), (2026, 12, 7, 14, 0), "na segunda-feira às 14h", "on Monday at 2 PM"),
        ((2026, 12, 4, 19, 0), (2026, 12, 5, 9, 0), "amanhã às 9h", "tomorrow at 9 AM"),
        ((2026, 12, 3, 19, 0), (2026, 12, 5, 9, 0), "no sábado às 9h", "on Saturday at 9 AM"),
        ((2026, 12, 24, 19, 0), (2027, 1, 4, 8, 0), "no dia 4 de janeiro às 8h", "on January 4 at 8 AM"),
    ],
)
def test_the_next_opening_in_words(now: tuple[int, ...], opening: tuple[int, ...], pt: str, en: str) -> None:
    assert when_words(local(SP, *opening), local(SP, *now), "pt-BR") == pt
    assert when_words(local(SP, *opening), local(SP, *now), "en-US") == en


def test_a_transfer_to_a_closed_department_is_refused_with_the_offer_of_a_message() -> None:
    opening = Opening(now="Monday", open=True, closed={"Financeiro": "amanhã às 8h"})
    to_finance = Action("transfer", Transfer("201", "pbx", "Financeiro"))
    refused = closed_instead(to_finance, opening, "pt-BR")
    assert refused.kind == "continue" and refused.transfer is None
    assert refused.say == "O setor Financeiro não está atendendo agora. Ele abre amanhã às 8h. Quer deixar um recado?"
    to_sales = Action("transfer", Transfer("202", "pbx", "Comercial"))
    assert closed_instead(to_sales, opening, "pt-BR") is to_sales  # open: nothing changes
    operator = Action("transfer", Transfer("9000", "pbx", None))
    assert closed_instead(operator, opening, "pt-BR") is operator
    assert closed_instead(to_finance, None, "pt-BR") is to_finance  # no schedule at all
    closed = Opening(now="Sunday", open=False, opens="on Monday at 8 AM")
    said = closed_instead(operator, closed, "en").say
    assert said == "No one is available to take your call right now. We open on Monday at 8 AM. " + (
        "Would you like to leave a message?"
    )


def test_a_closed_secretary_says_so_in_its_greeting() -> None:
    greeting = "Olá! Você ligou para Exata."
    closed = Opening(now="Sunday", open=False, opens="na segunda-feira às 8h")
    assert greeting_words(greeting, closed, "pt-BR") == (
        "Olá! Você ligou para Exata. No momento estamos fechados. Abrimos na segunda-feira às 8h. "
        "Quer deixar um recado?"
    )
    assert greeting_words(greeting, Opening(now="Monday"), "pt-BR") == greeting
    assert greeting_words(greeting, None, "pt-BR") == greeting


def test_the_model_is_told_what_is_open_now() -> None:
    opening = Opening(now="Monday 2026-11-30 19:30 (America/Sao_Paulo)", closed={"Financeiro": "amanhã às 8h"})
    prompt = system_prompt(DialogContext(opening=opening), None) or ""
    assert "Now: Monday 2026-11-30 19:30 (America/Sao_Paulo)." in prompt
    assert "- Financeiro: opens amanhã às 8h" in prompt
    assert "do not transfer there" in prompt
    assert "closed" not in (system_prompt(DialogContext(), None) or "")


def test_a_time_condition_with_only_holiday_presets_is_open_except_on_them() -> None:
    """Finding 4: with holiday presets only, no group matching sends the call to the default (alternate)
    destination — the office on every ordinary day — so it reads as open; with custom groups it stays closed."""
    presets = [d for d in _fusionpbx_details() if d.group in (100, 999)]
    schedule = time_condition_schedule(presets, SP)
    assert schedule is not None
    assert schedule.is_open(local(SP, 2026, 11, 29, 3, 0))  # a Sunday night: the default destination, open
    assert not schedule.is_open(local(SP, 2027, 1, 1, 10, 0)) and schedule.holiday(local(SP, 2027, 1, 1)) == (
        "new years day"
    )
    assert schedule.next_opening(local(SP, 2027, 1, 1, 10, 0)) == local(SP, 2027, 1, 2, 0, 0)
    hours = time_condition_schedule(_fusionpbx_details(), SP)
    assert hours is not None and not hours.is_open(local(SP, 2026, 11, 29, 3, 0))  # custom groups: after hours


def test_a_secretary_closed_with_no_known_opening_still_reaches_its_operator() -> None:
    """Finding 4: closed with no opening within the horizon (usually a mistake in the hours) never refuses the
    operator on every call: the transfer is made (the greeting still says it is closed)."""
    operator = Action("transfer", Transfer("9000", "pbx", None))
    assert closed_instead(operator, Opening(now="Sunday", open=False, opens=None), "pt-BR") is operator
    assert closed_instead(operator, Opening(now="Sunday", open=False, opens="amanhã às 8h"), "pt-BR") is not operator


def _rule(name: str, destination: str, schedule: uuid.UUID | None, secretary: uuid.UUID | None) -> Any:
    return SimpleNamespace(
        department_name=name,
        destination_number=destination,
        destination_context=None,
        voice_secretary_uuid=secretary,
        voice_schedule_uuid=schedule,
        time_condition_uuid=None,
    )


async def test_closures_are_kept_per_rule_not_per_department_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 8: a global "Suporte" rule closed now must not block this secretary's own, open "Suporte"."""
    secretary_uuid, closed_uuid, never_uuid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    closed_now = stored_schedule("America/Sao_Paulo", [], [{"date": "2026-11-30"}])
    never = stored_schedule("America/Sao_Paulo", [WEEKDAYS], [{"date": "2026-11-01", "until": "2027-06-30"}])

    async def schedules(*_: Any, **__: Any) -> dict[Any, Schedule | None]:
        return {(closed_uuid, None): closed_now, (never_uuid, None): never}

    monkeypatch.setattr(openings, "load_schedules", schedules)
    secretary = SimpleNamespace(
        voice_secretary_uuid=secretary_uuid, voice_schedule_uuid=never_uuid, time_condition_uuid=None, language="pt-BR"
    )
    rules = [
        _rule("Suporte", "301", None, secretary_uuid),  # this secretary's: open (and the one a transfer reaches)
        _rule("Suporte", "300", closed_uuid, None),  # global: closed today
        _rule("Financeiro", "400", closed_uuid, None),
    ]
    now = local(SP, 2026, 11, 30, 10, 0)
    with caplog.at_level(logging.WARNING, logger="voice_ai.schedules.openings"):
        opening = await turn_opening(None, uuid.uuid4(), secretary, rules, fusionpbx=False, now=now)  # type: ignore[arg-type]
    assert opening is not None
    own = Action("transfer", Transfer("301", "pbx", "Suporte"))
    assert closed_instead(own, opening, "pt-BR") is own
    global_one = closed_instead(Action("transfer", Transfer("300", "pbx", "Suporte")), opening, "pt-BR")
    assert global_one.kind == "continue" and "Suporte" in (global_one.say or "")
    assert dict(opening.closed) == {"Financeiro": "amanhã à 0h"}  # the model hears of the rule a name reaches
    # the secretary itself is closed with no opening within 31 days: logged, and its operator still tried
    assert not opening.open and opening.opens is None
    assert "does not open within 31 days" in caplog.text
    operator = Action("transfer", Transfer("9000", "pbx", None))
    assert closed_instead(operator, opening, "pt-BR") is operator


def test_a_domain_without_a_time_zone_setting_is_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    """Finding 11: FusionPBX time conditions with no domain time zone are read in the host's zone: said once."""
    domain = uuid.uuid4()
    with caplog.at_level(logging.WARNING, logger="voice_ai.schedules.openings"):
        for _ in range(3):
            condition_zone(domain, None)
        assert condition_zone(domain, "America/Recife").key == "America/Recife"
    warned = [r for r in caplog.records if "no 'domain / time_zone' setting" in r.getMessage()]
    assert len(warned) == 1 and str(domain) in warned[0].getMessage()
