"""What the next opening costs: one ``Schedule.next_opening`` on the worst schedules (closed for good, so the whole
horizon is searched), as the greeting, each turn and ``GET …/schedules`` evaluate it (docs/opening-hours.md).

    .venv/bin/python bench/opening_hours.py [--hours 50] [--holidays 499]

The schedule: HOURS lines of seven minutes every day (many boundaries), HOLIDAYS one-off dates three days apart,
and a yearly ``01-01`` … ``12-31`` holiday that keeps it closed.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from voice_ai.schedules.rules import Window
from voice_ai.schedules.standalone import stored_schedule

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def clock(minute: int) -> str:
    minute %= 1440
    return f"{minute // 60:02d}:{minute % 60:02d}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=50)
    parser.add_argument("--holidays", type=int, default=499)
    args = parser.parse_args()
    hours = [{"days": EVERY_DAY, "start": clock(i * 17), "end": clock(i * 17 + 7)} for i in range(args.hours)]
    holidays: list[dict[str, str]] = [
        {"name": f"h{i}", "date": (date(2026, 1, 1) + timedelta(days=3 * i)).isoformat()} for i in range(args.holidays)
    ]
    holidays.append({"name": "ano", "date": "01-01", "until": "12-31"})
    schedule = stored_schedule("America/Sao_Paulo", hours, holidays)
    checks = 0
    matches = Window.matches

    def counted(self: Window, at: datetime) -> bool:
        nonlocal checks
        checks += 1
        return matches(self, at)

    Window.matches = counted  # type: ignore[method-assign]
    now = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    started = time.process_time()
    found = schedule.next_opening(now)
    spent = time.process_time() - started
    print(
        f"hours={args.hours} holidays={args.holidays}+1 rules={len(schedule.rules)} next_opening={found} "
        f"cpu={spent * 1000:.1f} ms window_checks={checks}"
    )


if __name__ == "__main__":
    main()
