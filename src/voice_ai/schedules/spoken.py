"""The next opening as the secretary says it: "amanhã às 8h", "na segunda-feira às 8h30", "on December 25 at
8 AM" — relative to the caller's today in the schedule's zone."""

from __future__ import annotations

from datetime import datetime

WEEKDAYS_PT = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo")
MONTHS_PT = (
    "janeiro", "fevereiro", "março", "abril", "maio", "junho",
    "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
)  # fmt: skip
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def clock(at: datetime, english: bool) -> str:
    if english:
        hour = at.hour % 12 or 12
        suffix = "AM" if at.hour < 12 else "PM"
        return f"{hour}:{at.minute:02d} {suffix}" if at.minute else f"{hour} {suffix}"
    return f"{at.hour}h{at.minute:02d}" if at.minute else f"{at.hour}h"


def when_words(opening: datetime, now: datetime, language: str) -> str:
    """``opening`` and ``now`` in the same zone (the schedule's)."""
    english = language.lower().startswith("en")
    days = (opening.date() - now.astimezone(opening.tzinfo).date()).days
    time = clock(opening, english)
    if english:
        if days <= 0:
            return f"today at {time}"
        if days == 1:
            return f"tomorrow at {time}"
        if days < 7:
            return f"on {WEEKDAYS_EN[opening.weekday()]} at {time}"
        return f"on {MONTHS_EN[opening.month - 1]} {opening.day} at {time}"
    at = "à" if opening.hour in (0, 1) else "às"  # "à 1h", "às 8h"; midnight reads "à 0h"
    if days <= 0:
        return f"hoje {at} {time}"
    if days == 1:
        return f"amanhã {at} {time}"
    if days < 7:
        article = "no" if opening.weekday() >= 5 else "na"  # no sábado/domingo, na segunda-feira
        return f"{article} {WEEKDAYS_PT[opening.weekday()]} {at} {time}"
    return f"no dia {opening.day} de {MONTHS_PT[opening.month - 1]} {at} {time}"
