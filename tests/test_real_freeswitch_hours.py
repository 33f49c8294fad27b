"""Opening hours on the real FreeSWITCH 1.10.12 (mod_lua): calls outside a department's hours and outside the
secretary's, through the project's Lua call flow and the real service (the demo tenant, the fake STT of
tests/real_freeswitch_fixtures.py). Skipped without ``VOICE_AI_TEST_FREESWITCH``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from real_freeswitch import FreeSwitch
from real_freeswitch_fixtures import CONTEXT, Service  # the session's FreeSWITCH, service and fake STT
from test_real_freeswitch import SAY, WORDS, heard, replies, transcripts

pytestmark = pytest.mark.slow
CLOSED = "O setor Financeiro não está atendendo agora. Ele abre amanhã à 0h. Quer deixar um recado?"


@pytest.fixture
def closed_today(service: Service) -> Iterator[str]:
    """A schedule open all week but closed today (a holiday in São Paulo): deleted after, which leaves whatever
    followed it always open again."""
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date().isoformat()
    body = {
        "name": "Feriado hoje",
        "hours": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}],
        "holidays": [{"name": "Feriado", "date": today}],
    }
    created = httpx.post(f"{service.base}/api/v1/domains/{service.domain}/schedules", json=body, timeout=30)
    assert created.status_code == 201, created.text
    schedule: str = created.json()["voice_schedule_uuid"]
    try:
        yield schedule
    finally:
        httpx.delete(f"{service.base}/api/v1/domains/{service.domain}/schedules/{schedule}", timeout=30)


def test_a_closed_department_is_not_transferred_to(freeswitch: FreeSwitch, service: Service, closed_today: str) -> None:
    rule = next(r for r in service.items("transfer-rules") if r["department_name"] == "Financeiro")
    service.patch("transfer-rules", rule["voice_transfer_rule_uuid"], {"voice_schedule_uuid": closed_today})
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "hangup"])
    assert call.reached is None  # the department's extension (203) never rang
    assert len(heard(call)) >= 2  # the greeting and the reply reached the caller
    stored = service.stored(call)
    assert transcripts(stored) == [WORDS["transfer_financeiro"]]
    said: list[dict[str, Any]] = replies(stored)
    assert [(m["text"], m["action"]) for m in said] == [(CLOSED, "continue")]
    assert stored["outcome"] != "transferred" and stored["transfer_destination"] is None


def test_a_closed_secretary_says_so_when_it_answers(
    freeswitch: FreeSwitch, service: Service, closed_today: str
) -> None:
    secretary = service.items("secretaries")[0]
    service.patch("secretaries", secretary["voice_secretary_uuid"], {"voice_schedule_uuid": closed_today})
    call = freeswitch.call("8000", CONTEXT, ["listen", "hangup"])
    assert call.reached is None
    assert len(heard(call)) >= 1
    greeting = service.stored(call)["messages"][0]
    assert greeting["turn_index"] == 0 and greeting["role"] == "assistant"
    assert greeting["text"].endswith("No momento estamos fechados. Abrimos amanhã à 0h. Quer deixar um recado?")
