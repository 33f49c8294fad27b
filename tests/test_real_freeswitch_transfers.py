"""Transfers that come back (issue 13, point 2), on the real FreeSWITCH 1.10.12 running the project's Lua against the
real service: the call flow rings the department on a loopback leg of its own for the rule's ring time; whoever
answers (and, announced, presses 1) gets the caller; nobody — no answer, busy, rejected, a destination that does
not route, an announcement declined — and the caller is back with the secretary, who says what happened and
offers a message. docs/transfers.md lists what these calls showed.

The service, the fake STT and the harness are tests/test_real_freeswitch.py's; the tenant's context gets a few
more people here: one whose phone rings and is never answered, one busy, one who rejects, one who takes an
announced call (presses 1) and one who hangs up on the announcement.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from real_freeswitch import FreeSwitch, Stereo, reached_extension
from test_real_freeswitch import (  # noqa: F401  (module fixtures, shared)
    CONTEXT,
    PLAIN,
    SAY,
    WORDS,
    Service,
    binary,
    call_log,
    fake_stt,
    played,
    service,
    switch_variables,
    system_notes,
    tenant_dialplan,
    transcripts,
)
from voice_ai.conversation.phrases import phrase

pytestmark = pytest.mark.slow

RINGS = "205"  # rings, never answers
BUSY = "206"
REJECTS = "207"
ACCEPTS = "208"  # answers an announced call and presses 1
HANGS_UP = "210"  # answers an announced call and hangs up on it
OFFER = phrase("pt-BR", "offer_message")
SILENT_RINGBACK = {"ringback": "silence_stream://-1"}  # the caller's `listen` would take a ring for speech


def _extension(number: str, actions: str) -> str:
    return (
        f'<extension name="test_{number}"><condition field="destination_number" expression="^{number}$">'
        f"{actions}</condition></extension>"
    )


def _people() -> str:
    return "".join(
        [
            _extension(RINGS, '<action application="ring_ready"/><action application="sleep" data="120000"/>'),
            _extension(BUSY, '<action application="hangup" data="USER_BUSY"/>'),
            _extension(REJECTS, '<action application="hangup" data="CALL_REJECTED"/>'),
            reached_extension(ACCEPTS, then="hangup").replace(
                '<action application="answer"/>',
                '<action application="answer"/><action application="sleep" data="1500"/>'
                '<action application="send_dtmf" data="1"/><action application="sleep" data="500"/>',
            ),
            _extension(
                HANGS_UP,
                '<action application="answer"/><action application="sleep" data="1500"/><action application="hangup"/>',
            ),
        ]
    )


@pytest.fixture(scope="module")
def freeswitch(binary: Path, service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreeSwitch]:  # noqa: F811
    fs = FreeSwitch(
        binary=binary,
        root=tmp_path_factory.mktemp("freeswitch-transfers"),
        variables=switch_variables(service),
        dialplan=tenant_dialplan(service, _people()),
    )
    fs.start()
    try:
        yield fs
    finally:
        fs.stop()


@pytest.fixture
def financeiro(service: Service) -> Iterator[dict[str, Any]]:  # noqa: F811
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


def _point(service: Service, rule: dict[str, Any], **values: Any) -> None:  # noqa: F811
    service.patch("transfer-rules", rule["voice_transfer_rule_uuid"], values)


def _back(stored: dict[str, Any]) -> list[str]:
    """What the secretary said after a transfer came back (the replies that offer a message)."""
    return [m["text"] for m in stored["messages"] if m["role"] == "assistant" and m["text"].endswith(OFFER)]


def test_the_department_answers_on_a_leg_of_its_own(
    freeswitch: FreeSwitch,
    service: Service,  # noqa: F811
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
    service: Service,  # noqa: F811
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


@pytest.mark.parametrize(
    ("number", "context", "cause", "words"),
    [
        (BUSY, CONTEXT, "USER_BUSY", "está ocupado"),
        (REJECTS, CONTEXT, "CALL_REJECTED", "não pode atender"),
        ("203", "nowhere", "NO_ROUTE_DESTINATION", "Não consegui transferir"),
        ("2099", CONTEXT, "NO_ROUTE_DESTINATION", "Não consegui transferir"),
        # a plain FreeSWITCH context: its always-matching continue="true" extension runs, nothing answers
        ("2099", PLAIN, "NORMAL_CLEARING", "Não consegui transferir"),
    ],
)
def test_busy_rejected_and_unrouted_come_back(
    freeswitch: FreeSwitch,
    service: Service,  # noqa: F811
    financeiro: dict[str, Any],
    number: str,
    context: str,
    cause: str,
    words: str,
) -> None:
    _point(service, financeiro, destination_number=number, destination_context=context)
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen", "hangup"])
    assert call.reached is None
    stored = service.stored(call)
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {number}@{context} {cause}"]
    back = _back(stored)
    assert len(back) == 1 and words in back[0]
    assert any(name.endswith("_back_1.wav") for name in played(freeswitch, call))
    assert stored["outcome"] == "hangup"  # the caller hung up after hearing it: nobody was reached


def test_the_caller_hears_it_ring_and_may_hang_up_meanwhile(
    freeswitch: FreeSwitch,
    service: Service,  # noqa: F811
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
    service: Service,  # noqa: F811
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
    service: Service,  # noqa: F811
    financeiro: dict[str, Any],
) -> None:
    _point(service, financeiro, destination_number=HANGS_UP, announce=True)
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen", "hangup"])
    assert call.reached is None
    stored = service.stored(call)
    assert len(system_notes(stored, "announcement")) == 1
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {HANGS_UP}@{CONTEXT} DECLINED"]
    assert "não pode atender" in _back(stored)[0]


def test_key_0_to_an_operator_who_is_busy_comes_back(freeswitch: FreeSwitch, service: Service) -> None:  # noqa: F811
    secretary = service.items("secretaries")[0]
    key = secretary["voice_secretary_uuid"]
    service.patch("secretaries", key, {"operator_destination": BUSY})
    try:
        call = freeswitch.call("8000", CONTEXT, ["hear", "dtmf 0", "listen", "listen", "hangup"])
    finally:
        service.patch("secretaries", key, {"operator_destination": secretary["operator_destination"]})
    assert call.reached is None
    stored = service.stored(call)
    assert "[dtmf] 0" in system_notes(stored, "dtmf")
    assert system_notes(stored, "transfer_failed") == [f"[transfer_failed] {BUSY}@{CONTEXT} USER_BUSY"]
    back = _back(stored)
    assert len(back) == 1 and back[0].startswith("Nenhum atendente pôde atender agora.")
    assert stored["outcome"] in ("hangup", "abandoned") and stored["transfer_destination"] is None
