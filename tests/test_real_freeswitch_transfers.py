"""Transfers that come back (issue 13, point 2), on the real FreeSWITCH 1.10.12 running the project's Lua against the
real service: the call flow rings the department on a loopback leg of its own for the rule's ring time; whoever
answers (and, announced, presses 1) gets the caller; nobody — no answer, busy, rejected, a destination that does
not route, an announcement declined — and the caller is back with the secretary, who says what happened and
offers a message. docs/transfers.md lists what these calls showed.

The service, the fake STT and FreeSWITCH are the session's (tests/real_freeswitch_fixtures.py); the tenant's
context there has the people these tests call: one whose phone rings and is never answered, one busy, one who
rejects, one who takes an announced call (presses 1) and one who hangs up on the announcement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from real_freeswitch import CallResult, FreeSwitch, Stereo
from real_freeswitch_fixtures import (  # the session's FreeSWITCH, service and fake STT
    ACCEPTS,
    BUSY,
    CONTEXT,
    HANGS_UP,
    PLAIN,
    REJECTS,
    RINGS,
    Service,
)
from test_real_freeswitch import SAY, WORDS, call_log, played, system_notes, transcripts
from voice_ai.conversation.phrases import phrase

pytestmark = pytest.mark.slow

OFFER = phrase("pt-BR", "offer_message")
SILENT_RINGBACK = {"ringback": "silence_stream://-1"}  # the caller's `listen` would take a ring for speech
# The caller's last wait before hanging up, where the secretary may still have something to say: a reply that
# follows the last one after a pause is heard to its end, but the caller waits for speech 3 s at most — not for the
# "pode repetir?" that 5 s of silence bring (a call plays in real time: that wait would assert nothing).
SETTLED = "listen 3000"


@pytest.fixture
def financeiro(service: Service) -> Iterator[dict[str, Any]]:
    """The Financeiro rule, restored after the test (patch its destination, ring time, announcement)."""
    rule = next(r for r in service.items("transfer-rules") if r["department_name"] == "Financeiro")
    try:
        yield rule
    finally:
        service.patch(
            "transfer-rules",
            rule["voice_transfer_rule_uuid"],
            {
                "destination_number": rule["destination_number"],
                "destination_context": rule["destination_context"],
                "ring_seconds": rule["ring_seconds"],
                "announce": rule["announce"],
            },
        )


def _point(service: Service, rule: dict[str, Any], **values: Any) -> None:
    service.patch("transfer-rules", rule["voice_transfer_rule_uuid"], values)


def _back(stored: dict[str, Any]) -> list[str]:
    """What the secretary said after a transfer came back (the replies that offer a message)."""
    return [m["text"] for m in stored["messages"] if m["role"] == "assistant" and m["text"].endswith(OFFER)]


def test_the_department_answers_on_a_leg_of_its_own(
    freeswitch: FreeSwitch,
    service: Service,
    financeiro: dict[str, Any],
) -> None:
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen"])
    assert call.reached == f"203@{CONTEXT}"
    log = call_log(freeswitch, call)
    assert f"ringing 203@{CONTEXT} for 30 s" in log and "answered: connecting the caller" in log
    stored = service.stored(call)
    assert (stored["outcome"], stored["transfer_destination"], stored["transfer_department"]) == (
        "transferred",
        "203",
        "Financeiro",
    )
    assert not system_notes(stored, "transfer_failed") and not system_notes(stored, "caller_hangup")


def test_nobody_answers_the_caller_comes_back_and_the_call_goes_on(
    freeswitch: FreeSwitch,
    service: Service,
    financeiro: dict[str, Any],
) -> None:
    _point(service, financeiro, destination_number=RINGS, ring_seconds=5)
    call = freeswitch.call(
        "8000",
        CONTEXT,
        ["listen", SAY["financeiro"], "listen", "listen", SAY["goodbye"], "listen"],
        variables=SILENT_RINGBACK,
    )
    assert call.reached is None
    log = call_log(freeswitch, call)
    assert f"{RINGS}@{CONTEXT} did not take the call (NO_ANSWER)" in log
    stored = service.stored(call)
    assert transcripts(stored) == [WORDS["transfer_financeiro"], WORDS["goodbye"]]  # the caller answered the offer
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {RINGS}@{CONTEXT} NO_ANSWER"]
    back = _back(stored)
    assert len(back) == 1 and back[0].startswith("O setor Financeiro não atendeu.") and "outro setor" in back[0]
    assert any(name.endswith("_back_1.wav") for name in played(freeswitch, call))  # the caller heard it
    assert stored["outcome"] == "resolved" and stored["transfer_destination"] is None
    # bounded: the phone rang about 5 s (originate_timeout), not FreeSWITCH's default 60 s
    said = [m["t"] for m in call.marks if m["step"] == "say_end"]
    assert said[1] - said[0] < 45_000


# Where a transfer that comes back at once ends up, and what the secretary then says (a few words of it)
CAME_BACK = [
    (BUSY, CONTEXT, "USER_BUSY", "está ocupado"),
    (REJECTS, CONTEXT, "CALL_REJECTED", "não pode atender"),
    ("203", "nowhere", "NO_ROUTE_DESTINATION", "Não consegui transferir"),
    ("2099", CONTEXT, "NO_ROUTE_DESTINATION", "Não consegui transferir"),
    # a plain FreeSWITCH context: its always-matching continue="true" extension runs, nothing answers
    ("2099", PLAIN, "NORMAL_CLEARING", "Não consegui transferir"),
]


@dataclass
class CameBack:
    call: CallResult
    stored: dict[str, Any]
    played: list[str]


@pytest.fixture(scope="module")
def came_back(freeswitch: FreeSwitch, service: Service) -> dict[tuple[str, str], CameBack]:
    """The calls of test_busy_rejected_and_unrouted_come_back, placed side by side (each plays in real time, and
    FreeSWITCH and the service take them together as they would any calls): one per destination in
    :data:`CAME_BACK`, each to a secretary of its own (extensions 8101…) whose Financeiro rule points there — the
    same secretary as the demo's, the dialplan entry the demo's with the extension and the secretary changed.
    Meanwhile the demo's Financeiro rule (every secretary's) is disabled; after the calls the secretaries, their
    rules and their dialplan entries are gone again and the demo's rule is back. By destination ``(number,
    context)``: the call, what the service stored, the files the secretary played to their end."""
    demo = next(r for r in service.items("transfer-rules") if r["department_name"] == "Financeiro")
    base = f"{service.base}/api/v1/domains/{service.domain}"
    template = next(s for s in service.items("secretaries") if s["extension"] == "8000")
    copied = {
        k: template[k] for k in ("name", "language", "company_name", "personality_prompt", "greeting", "farewell")
    }
    copied |= {k: template[k] for k in ("operator_destination", "operator_context", "silence_seconds")}
    entry = re.search(r'<extension name="voice_secretary_8000".*?</extension>', freeswitch.dialplan, re.DOTALL)
    assert entry is not None, "the tenant's dialplan has no entry for the secretary on 8000"
    dialplan = freeswitch.dialplan
    secretaries: dict[tuple[str, str], tuple[str, str]] = {}  # destination -> (extension, secretary)
    extra = ""
    try:
        for index, (number, context, _cause, _words) in enumerate(CAME_BACK, start=1):
            extension = f"81{index:02d}"
            made = httpx.post(f"{base}/secretaries", json={**copied, "extension": extension}, timeout=30)
            assert made.status_code == 201, made.text
            secretary = made.json()["voice_secretary_uuid"]
            secretaries[(number, context)] = (extension, secretary)
            rule = {
                "department_name": demo["department_name"],
                "description": demo["description"],
                "keywords": demo["keywords"],
                "voice_secretary_uuid": secretary,
                "destination_number": number,
                "destination_context": context,
            }
            made = httpx.post(f"{base}/transfer-rules", json=rule, timeout=30)
            assert made.status_code == 201, made.text
            extra += (
                re.sub(r' uuid="[^"]+"', "", entry.group(0))
                .replace(  # the entry's own uuid: the demo's
                    'name="voice_secretary_8000"', f'name="voice_secretary_{extension}"'
                )
                .replace("^8000$", f"^{extension}$")
                .replace(template["voice_secretary_uuid"], secretary)
            )
        freeswitch.set_dialplan(dialplan.replace(entry.group(0), entry.group(0) + extra, 1))
        service.patch("transfer-rules", demo["voice_transfer_rule_uuid"], {"enabled": False})
        steps = ["listen", SAY["financeiro"], "listen", SETTLED, "hangup"]
        with ThreadPoolExecutor(len(CAME_BACK)) as pool:
            calls = {
                key: pool.submit(freeswitch.call, extension, CONTEXT, steps)
                for key, (extension, _secretary) in secretaries.items()
            }
            results = {key: future.result() for key, future in calls.items()}
        return {key: CameBack(call, service.stored(call), played(freeswitch, call)) for key, call in results.items()}
    finally:  # at once, not at the module's end: the tests after these use the demo's rule
        service.patch("transfer-rules", demo["voice_transfer_rule_uuid"], {"enabled": demo["enabled"]})
        for _extension, secretary in secretaries.values():  # its rules go with it
            assert httpx.delete(f"{base}/secretaries/{secretary}", timeout=30).status_code == 204
        freeswitch.set_dialplan(dialplan)


@pytest.mark.parametrize(("number", "context", "cause", "words"), CAME_BACK)
def test_busy_rejected_and_unrouted_come_back(
    came_back: dict[tuple[str, str], CameBack], number: str, context: str, cause: str, words: str
) -> None:
    call, stored = came_back[(number, context)].call, came_back[(number, context)].stored
    assert call.reached is None
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {number}@{context} {cause}"]
    back = _back(stored)
    assert len(back) == 1 and words in back[0]
    assert any(name.endswith("_back_1.wav") for name in came_back[(number, context)].played)
    assert stored["outcome"] == "hangup"  # the caller hung up after hearing it: nobody was reached


def test_the_caller_hears_it_ring_and_may_hang_up_meanwhile(
    freeswitch: FreeSwitch,
    service: Service,
    financeiro: dict[str, Any],
) -> None:
    _point(service, financeiro, destination_number=RINGS, ring_seconds=30)
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "pause 6000", "hangup"])
    listened = [m["t"] for m in call.marks if m["step"] == "listen"][-1]
    hung_up = next(m["t"] for m in call.marks if m["step"] == "hangup")
    audio = Stereo.load(call.recording)
    ringing = [s for s in audio.heard_segments(gap_ms=300) if listened <= s[0] < hung_up]
    assert ringing, "the caller heard no ringback while the department's phone rang"
    stored = service.stored(call)
    assert system_notes(stored, "caller_hangup") == ["[caller_hangup] during ringing"]
    assert not system_notes(stored, "transfer_failed")
    assert stored["outcome"] == "hangup"


def test_an_announced_transfer_accepted_with_1(
    freeswitch: FreeSwitch,
    service: Service,
    financeiro: dict[str, Any],
) -> None:
    _point(service, financeiro, destination_number=ACCEPTS, announce=True)
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen"])
    assert call.reached == f"{ACCEPTS}@{CONTEXT}"
    stored = service.stored(call)
    announced = system_notes(stored, "announcement")
    assert len(announced) == 1 and "Maria" in announced[0] and "tecle 1" in announced[0]
    assert (stored["outcome"], stored["transfer_destination"]) == ("transferred", ACCEPTS)
    assert ", announced" in call_log(freeswitch, call)


def test_an_announced_transfer_declined_comes_back(
    freeswitch: FreeSwitch,
    service: Service,
    financeiro: dict[str, Any],
) -> None:
    _point(service, financeiro, destination_number=HANGS_UP, announce=True)
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen", "hangup"])
    assert call.reached is None
    stored = service.stored(call)
    assert len(system_notes(stored, "announcement")) == 1
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {HANGS_UP}@{CONTEXT} DECLINED"]
    assert "não pode atender" in _back(stored)[0]


def test_key_0_to_an_operator_who_is_busy_comes_back(freeswitch: FreeSwitch, service: Service) -> None:
    secretary = service.items("secretaries")[0]
    key = secretary["voice_secretary_uuid"]
    service.patch("secretaries", key, {"operator_destination": BUSY})
    try:
        call = freeswitch.call("8000", CONTEXT, ["hear", "dtmf 0", "listen", SETTLED, "hangup"])
    finally:
        service.patch("secretaries", key, {"operator_destination": secretary["operator_destination"]})
    assert call.reached is None
    stored = service.stored(call)
    assert "[dtmf] 0" in system_notes(stored, "dtmf")
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {BUSY}@{CONTEXT} USER_BUSY"]
    back = _back(stored)
    assert len(back) == 1 and back[0].startswith("Nenhum atendente pôde atender agora.")
    assert stored["outcome"] in ("hangup", "abandoned") and stored["transfer_destination"] is None
