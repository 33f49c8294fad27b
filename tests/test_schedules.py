"""Opening hours evaluated: weekly hours, overnight ranges, holidays, a zone without DST (America/Sao_Paulo) and one
with it (Europe/Lisbon), FusionPBX time conditions as its Time Conditions app writes them, and the words said."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from voice_ai.conversation.actions import Action, Transfer
from voice_ai.providers.llm.prompting import system_prompt
from voice_ai.providers.types import DialogContext, Opening
from voice_ai.schedules.fusionpbx import Detail, time_condition_schedule
from voice_ai.schedules.openings import closed_instead, greeting_words
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


def test_a_schedule_that_never_opens_has_no_next_opening() -> None:
    closed = stored_schedule("America/Sao_Paulo", [], [])
    assert not closed.is_open(local(SP, 2026, 11, 30, 10, 0))
    assert closed.next_opening(local(SP, 2026, 11, 30, 10, 0)) is None


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
