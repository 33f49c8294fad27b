"""Transfers that come back (issue 13, point 2), on the real FreeSWITCH 1.10.12 running the project's Lua against the
real service: the call flow rings the department on a loopback leg of its own for the rule's ring time; whoever
answers (and, announced, presses 1) gets the caller; nobody — no answer, busy, rejected, a destination that does
not route, an announcement declined — and the caller is back with the secretary, who says what happened and
offers a message. docs/transfers.md lists what these calls showed.

The service, the fake STT and FreeSWITCH are the session's (tests/real_freeswitch_fixtures.py); the tenant's
context there has the people these tests call: one whose phone rings and is never answered, one busy, one who
rejects, one who takes an announced call (presses 1) and one who hangs up on the announcement.

Every call here needs the Financeiro rule (or the operator) pointed somewhere else, and a call plays in real time:
the module's calls are placed side by side, each to a copy of the demo secretary with its own rule
(:func:`real_freeswitch_fixtures.side_by_side`, the plans in :data:`PLANS`), and each test asserts on its own call.
"""

from __future__ import annotations

from typing import Any

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
    Plan,
    Service,
    side_by_side,
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
ASKS = ["listen", SAY["financeiro"]]  # the greeting, then "Eu quero falar com o departamento financeiro"

# Where a transfer that comes back at once ends up, and what the secretary then says (a few words of it)
CAME_BACK = [
    (BUSY, CONTEXT, "USER_BUSY", "está ocupado"),
    (REJECTS, CONTEXT, "CALL_REJECTED", "não pode atender"),
    ("203", "nowhere", "NO_ROUTE_DESTINATION", "Não consegui transferir"),
    ("2099", CONTEXT, "NO_ROUTE_DESTINATION", "Não consegui transferir"),
    # a plain FreeSWITCH context: its always-matching continue="true" extension runs, nothing answers
    ("2099", PLAIN, "NORMAL_CLEARING", "Não consegui transferir"),
]

PLANS = {
    "answered": Plan([*ASKS, "listen", "listen"]),  # the demo's rule: 203, which answers
    "nobody answers": Plan(
        [*ASKS, "listen", "listen", SAY["goodbye"], "listen"],
        rule={"destination_number": RINGS, "ring_seconds": 5},
        variables=SILENT_RINGBACK,
    ),
    **{
        f"came back from {number}@{context}": Plan(
            [*ASKS, "listen", SETTLED, "hangup"], rule={"destination_number": number, "destination_context": context}
        )
        for number, context, _cause, _words in CAME_BACK
    },
    "hung up while it rang": Plan(
        [*ASKS, "listen", "pause 6000", "hangup"], rule={"destination_number": RINGS, "ring_seconds": 30}
    ),
    "announced, accepted": Plan([*ASKS, "listen", "listen"], rule={"destination_number": ACCEPTS, "announce": True}),
    "announced, declined": Plan(
        [*ASKS, "listen", "listen", "hangup"], rule={"destination_number": HANGS_UP, "announce": True}
    ),
    "key 0, the operator busy": Plan(
        ["hear", "dtmf 0", "listen", SETTLED, "hangup"], secretary={"operator_destination": BUSY}
    ),
}


@pytest.fixture(scope="module")
def calls(freeswitch: FreeSwitch, service: Service) -> dict[str, CallResult]:
    return side_by_side(freeswitch, service, PLANS)


def _back(stored: dict[str, Any]) -> list[str]:
    """What the secretary said after a transfer came back (the replies that offer a message)."""
    return [m["text"] for m in stored["messages"] if m["role"] == "assistant" and m["text"].endswith(OFFER)]


def test_the_department_answers_on_a_leg_of_its_own(
    freeswitch: FreeSwitch, service: Service, calls: dict[str, CallResult]
) -> None:
    call = calls["answered"]
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
    freeswitch: FreeSwitch, service: Service, calls: dict[str, CallResult]
) -> None:
    call = calls["nobody answers"]
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


@pytest.mark.parametrize(("number", "context", "cause", "words"), CAME_BACK)
def test_busy_rejected_and_unrouted_come_back(
    freeswitch: FreeSwitch,
    service: Service,
    calls: dict[str, CallResult],
    number: str,
    context: str,
    cause: str,
    words: str,
) -> None:
    call = calls[f"came back from {number}@{context}"]
    assert call.reached is None
    stored = service.stored(call)
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {number}@{context} {cause}"]
    back = _back(stored)
    assert len(back) == 1 and words in back[0]
    assert any(name.endswith("_back_1.wav") for name in played(freeswitch, call))
    assert stored["outcome"] == "hangup"  # the caller hung up after hearing it: nobody was reached


def test_the_caller_hears_it_ring_and_may_hang_up_meanwhile(service: Service, calls: dict[str, CallResult]) -> None:
    call = calls["hung up while it rang"]
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
    freeswitch: FreeSwitch, service: Service, calls: dict[str, CallResult]
) -> None:
    call = calls["announced, accepted"]
    assert call.reached == f"{ACCEPTS}@{CONTEXT}"
    stored = service.stored(call)
    announced = system_notes(stored, "announcement")
    assert len(announced) == 1 and "Maria" in announced[0] and "tecle 1" in announced[0]
    assert (stored["outcome"], stored["transfer_destination"]) == ("transferred", ACCEPTS)
    assert ", announced" in call_log(freeswitch, call)


def test_an_announced_transfer_declined_comes_back(service: Service, calls: dict[str, CallResult]) -> None:
    call = calls["announced, declined"]
    assert call.reached is None
    stored = service.stored(call)
    assert len(system_notes(stored, "announcement")) == 1
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {HANGS_UP}@{CONTEXT} DECLINED"]
    assert "não pode atender" in _back(stored)[0]


def test_key_0_to_an_operator_who_is_busy_comes_back(service: Service, calls: dict[str, CallResult]) -> None:
    call = calls["key 0, the operator busy"]
    assert call.reached is None
    stored = service.stored(call)
    assert "[dtmf] 0" in system_notes(stored, "dtmf")
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {BUSY}@{CONTEXT} USER_BUSY"]
    back = _back(stored)
    assert len(back) == 1 and back[0].startswith("Nenhum atendente pôde atender agora.")
    assert stored["outcome"] in ("hangup", "abandoned") and stored["transfer_destination"] is None
