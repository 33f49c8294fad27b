"""Whole calls through the real FreeSWITCH 1.10.12 (mod_lua, Lua 5.3) running the project's Lua, against the real
service (embedded PostgreSQL, offline providers, the demo tenant).

FreeSWITCH comes from ``VOICE_AI_TEST_FREESWITCH`` (``scripts/platform/freeswitch.sh`` installs the build; CI sets
the variable). Without it these tests skip; with it set but unusable they fail. The harness (tests/real_freeswitch.py)
starts FreeSWITCH with a configuration of its own and installs our scripts with ``voice-ai freeswitch install``; the
secretary's extension is the entry ``voice-ai freeswitch dialplan`` renders. Each call is a loopback originate whose
caller leg (telephony/freeswitch/spec/real/caller.lua) listens for the secretary, speaks pt-BR WAVs, presses keys
and records what it hears.

The tenant's speech-to-text is a fake vendor (tests/fakes/stt.py, Deepgram's wire protocol) that recognises which
fixture WAV the caller spoke by matching the audio and answers that fixture's known words: the flows are exact and
the same on every run and CPU (the audio through FreeSWITCH is cut slightly differently each time, and Whisper's
int8 kernels transcribe differently on Intel and AMD). One call goes through the real offline Whisper and asserts
only what holds whatever words it hears; the perceived-latency benchmark (bench/freeswitch_latency.py) uses Whisper.

The service (with the tenant's providers), the fake STT and FreeSWITCH are the session's, shared with the sibling
modules (tests/real_freeswitch_fixtures.py); a FreeSWITCH with the stock lua.conf.xml is this module's own.

Assertions are on FreeSWITCH's behaviour (where the caller ended up, the log of the call's channel), on the caller's
recording (reply audio heard) and on what the service stored.

Contexts: ``demo.localhost`` is the tenant's context as FusionPBX names it, with the entry ``voice-ai freeswitch
dialplan`` renders for FusionPBX; ``default`` is a plain FreeSWITCH's, as its vanilla configuration has it: an
always-matching ``continue="true"`` extension first, the people, then the ``--flavor freeswitch`` rendering (the
secretary and the no-route guard) last.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.stt import fixture_texts
from helpers import free_port
from real_freeswitch import FIXTURES, CallResult, FreeSwitch, Stereo
from real_freeswitch_fixtures import (
    BLIND_TRANSFERS,
    CONTEXT,
    OPERATOR,
    PLAIN,
    Service,
    switch_variables,
    tenant_dialplan,
)

pytestmark = pytest.mark.slow

# the one-way dialplan transfer of the call flow (voice_ai_transfer_mode=blind): the tests of its no-route machinery
# use it; transfers that come back (the default) are tests/test_real_freeswitch_transfers.py's
BLIND = {"voice_ai_transfer_mode": "blind"}
SAY = {name: f"say {FIXTURES / name}.wav" for name in ("question_price", "goodbye")}
SAY["financeiro"] = f"say {FIXTURES / 'transfer_financeiro'}.wav"
WORDS = fixture_texts()  # what the fake STT answers for each fixture


def transcripts(stored: dict[str, Any]) -> list[str]:
    return [m["text"] for m in user_turns(stored)]


def heard(call: CallResult) -> list[tuple[int, int]]:
    return Stereo.load(call.recording).heard_segments()


def played(fs: FreeSwitch, call: CallResult) -> list[str]:
    """The WAV files FreeSWITCH played to their end on the secretary's channel (its own DEBUG log), by name."""
    done = [line for line in fs.log_lines("done playing file") if line.startswith(call.call_uuid)]
    return [name for name in (line.rsplit("/", 1)[-1].strip() for line in done) if name.endswith(".wav")]


def user_turns(stored: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in stored["messages"] if m["role"] == "user"]


def replies(stored: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in stored["messages"] if m["role"] == "assistant" and m["turn_index"] > 0]  # 0: greeting


def system_notes(stored: dict[str, Any], kind: str) -> list[str]:
    return [m["text"] for m in stored["messages"] if m["role"] == "system" and m["text"].startswith(f"[{kind}]")]


def call_log(fs: FreeSwitch, call: CallResult) -> str:
    """The lines FreeSWITCH tied to the secretary's channel (those the session's logger wrote start with its
    uuid), restricted to ours."""
    return "\n".join(line for line in fs.log_lines("[voice_ai]") if line.startswith(call.call_uuid))


def test_questions_answered_then_goodbye(freeswitch: FreeSwitch, service: Service) -> None:
    call = freeswitch.call(
        "8000",
        CONTEXT,
        ["listen", SAY["question_price"], "listen", SAY["question_price"], "listen", SAY["goodbye"], "listen"],
    )
    assert call.reached is None  # nobody else took the call
    assert len(heard(call)) >= 4  # the greeting and three spoken replies reached the caller
    stored = service.stored(call)
    assert (stored["outcome"], stored["turn_count"]) == ("resolved", 3)
    assert transcripts(stored) == [WORDS["question_price"], WORDS["question_price"], WORDS["goodbye"]]
    assert [m["action"] for m in replies(stored)] == ["continue", "continue", "hangup"]
    # the session's logger ties every line of the flow to the call (point 7)
    log = call_log(freeswitch, call)
    assert "turn 3" in log and "call ended: resolved" in log
    assert not [line for line in freeswitch.log_lines("[voice_ai]") if not re.match(r"^[0-9a-f-]{36} ", line)]


@pytest.fixture
def plain_tenant(service: Service) -> Iterator[dict[str, Any]]:
    """The tenant set up for a plain FreeSWITCH as docs/freeswitch.md says: the operator and the Financeiro rule in
    the ``default`` context. Yields the rule (patch its destination in the test); restores everything after."""
    secretary = service.items("secretaries")[0]
    rule = next(r for r in service.items("transfer-rules") if r["department_name"] == "Financeiro")
    service.patch("secretaries", secretary["voice_secretary_uuid"], {"operator_context": PLAIN})
    service.patch("transfer-rules", rule["voice_transfer_rule_uuid"], {"destination_context": PLAIN})
    try:
        yield rule
    finally:
        service.patch("secretaries", secretary["voice_secretary_uuid"], {"operator_context": CONTEXT})
        service.patch(
            "transfer-rules",
            rule["voice_transfer_rule_uuid"],
            {"destination_context": CONTEXT, "destination_number": rule["destination_number"]},
        )


def test_transfer_by_rule(freeswitch: FreeSwitch, service: Service, plain_tenant: dict[str, Any]) -> None:
    """In a plain FreeSWITCH context (an always-matching continue extension first, the no-route guard last) the
    department's extension takes the call and the guard stays out of it (point 2a: it fires for no destination
    that routes, even one whose applications just finish)."""
    call = freeswitch.call("8000", PLAIN, ["listen", SAY["financeiro"], "listen", "listen"])
    assert call.reached == f"203@{PLAIN}"
    stored = service.stored(call)
    assert transcripts(stored) == [WORDS["transfer_financeiro"]]
    assert (stored["outcome"], stored["transfer_destination"], stored["transfer_department"]) == (
        "transferred",
        "203",
        "Financeiro",
    )
    assert not system_notes(stored, "transfer_failed")
    assert "did not route" not in call_log(freeswitch, call)


def test_a_transfer_to_a_number_nobody_has_behind_continue_extensions_reaches_the_operator(
    freeswitch: FreeSwitch, service: Service, plain_tenant: dict[str, Any]
) -> None:
    """Point 2a: without the guard, XML "finds" the continue extension for any number, runs it and the call ends
    in silence (the inline fall-back is never tried); the guard, last in the context, catches our transfer."""
    # a mistyped outside number: its "+" must reach the guard's regular expression escaped
    service.patch("transfer-rules", plain_tenant["voice_transfer_rule_uuid"], {"destination_number": "+2099"})
    call = freeswitch.call("8000", PLAIN, ["listen", SAY["financeiro"], "listen", "listen", "listen"], variables=BLIND)
    assert call.reached == f"200@{PLAIN}"
    assert "did not route" in call_log(freeswitch, call)
    assert played(freeswitch, call)[-1] == "error_transfer.wav"
    stored = service.stored(call)
    assert (stored["outcome"], stored["transfer_destination"]) == ("transferred", "200")
    failed = system_notes(stored, "transfer_failed")
    assert len(failed) == 1 and f"+2099@{PLAIN}" in failed[0]


def test_key_0_during_the_greeting(freeswitch: FreeSwitch, service: Service) -> None:
    call = freeswitch.call("8000", CONTEXT, ["hear", "dtmf 0", "listen"])
    assert call.reached == OPERATOR
    stored = service.stored(call)
    assert (stored["outcome"], stored["turn_count"]) == ("transferred", 0)
    assert stored["transfer_destination"] == "200"  # the operator transfer stores where the caller went
    assert "[dtmf] 0" in system_notes(stored, "dtmf")


def test_key_0_during_a_reply(freeswitch: FreeSwitch, service: Service) -> None:
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["question_price"], "hear", "dtmf 0", "listen"])
    assert call.reached == OPERATOR
    stored = service.stored(call)
    assert (stored["outcome"], stored["turn_count"], stored["transfer_destination"]) == ("transferred", 1, "200")
    assert "key 0 during playback" in call_log(freeswitch, call)


@pytest.fixture
def usual_speech(service: Service) -> Iterator[None]:
    """The secretary at espeak-ng's usual rate (the tenant's fast voice disabled), for a test whose steps are timed
    against how long a prompt lasts."""
    service.patch("providers", service.tts_provider, {"enabled": False})
    try:
        yield
    finally:
        service.patch("providers", service.tts_provider, {"enabled": True})


def test_a_silent_turn_is_a_turn(freeswitch: FreeSwitch, service: Service, usual_speech: None) -> None:
    """The caller sends no audio at all for longer than the speech timeout (point 1): "pode repetir?", not the
    operator; then the call goes on. The caller is silent for 7 s from the end of the greeting (the turn's 5 s of
    speech timeout, and some) and then listens: "pode repetir?", which starts after the 5 s, must still be playing
    then — it lasts about 4.7 s at the usual rate, about 2 s at the fast one."""
    call = freeswitch.call("8000", CONTEXT, ["listen", "quiet 7000", "listen", SAY["goodbye"], "listen"])
    assert call.reached is None
    stored = service.stored(call)
    assert stored["outcome"] == "resolved"
    assert transcripts(stored) == ["", WORDS["goodbye"]]
    assert [m["action"] for m in replies(stored)] == ["continue", "hangup"]
    assert len(heard(call)) >= 3  # greeting, "pode repetir?", farewell


def test_a_pause_before_speaking_is_not_silence(freeswitch: FreeSwitch, service: Service) -> None:
    """The caller takes 3 s (longer than the secretary's end-of-speech silence: 1 s for this tenant, 2 s by
    default) to start (point 6): one turn, the question — no empty turn ("pode repetir?") before it."""
    call = freeswitch.call("8000", CONTEXT, ["listen", "pause 3000", SAY["question_price"], "listen", "hangup"])
    stored = service.stored(call)
    assert transcripts(stored) == [WORDS["question_price"]]
    assert [m["action"] for m in replies(stored)] == ["continue"]


@pytest.fixture
def financeiro_unrouted(service: Service) -> Iterator[dict[str, Any]]:
    """The Financeiro rule points at a context FreeSWITCH does not have (the issue's `Context … not found`)."""
    rule = next(r for r in service.items("transfer-rules") if r["department_name"] == "Financeiro")
    key = rule["voice_transfer_rule_uuid"]
    service.patch("transfer-rules", key, {"destination_context": "nowhere"})
    try:
        yield rule
    finally:
        service.patch("transfer-rules", key, {"destination_context": rule["destination_context"]})


def test_a_transfer_that_does_not_route_reaches_the_operator(
    freeswitch: FreeSwitch, service: Service, financeiro_unrouted: dict[str, Any]
) -> None:
    """Point 2: the caller ends at the operator, and the service is told the truth."""
    call = freeswitch.call(
        "8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen", "listen"], variables=BLIND
    )
    assert call.reached == OPERATOR
    assert "did not route" in call_log(freeswitch, call)
    stored = service.stored(call)
    assert (stored["outcome"], stored["transfer_destination"]) == ("transferred", "200")
    failed = system_notes(stored, "transfer_failed")
    assert len(failed) == 1 and "203@nowhere" in failed[0]


def test_when_the_operator_does_not_route_either_the_call_ends_with_an_apology(
    freeswitch: FreeSwitch, service: Service, financeiro_unrouted: dict[str, Any]
) -> None:
    secretary = service.items("secretaries")[0]
    key = secretary["voice_secretary_uuid"]
    service.patch("secretaries", key, {"operator_context": "nowhere"})
    try:
        call = freeswitch.call(
            "8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen", "listen"], variables=BLIND
        )
    finally:
        service.patch("secretaries", key, {"operator_context": secretary["operator_context"]})
    assert call.reached is None
    assert played(freeswitch, call)[-2:] == ["error_transfer.wav", "error_goodbye.wav"]  # never silence
    assert len(heard(call)) >= 2
    stored = service.stored(call)
    assert stored["outcome"] == "error"
    assert len(system_notes(stored, "transfer_failed")) == 2  # the department, then the operator


def test_a_blind_transfer_by_the_department_is_not_ours(freeswitch: FreeSwitch, service: Service) -> None:
    """Point 2b: the department takes the call, then blind-transfers it to a number nobody has, naming no dialplan
    (as a SIP REFER does). FreeSWITCH would reuse the dialplans of our transfer (XML, then our no-route script),
    re-open the conversation the secretary closed and send the caller to the operator: force_transfer_dialplan
    keeps it to XML, and the call ends as FreeSWITCH ends any transfer to nowhere."""
    rule = next(r for r in service.items("transfer-rules") if r["department_name"] == "Financeiro")
    key = rule["voice_transfer_rule_uuid"]
    service.patch("transfer-rules", key, {"destination_number": BLIND_TRANSFERS})
    try:
        call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen"], variables=BLIND)
    finally:
        service.patch("transfer-rules", key, {"destination_number": rule["destination_number"]})
    assert call.reached == f"{BLIND_TRANSFERS}@{CONTEXT}"  # not overwritten by a later arrival at the operator
    log = call_log(freeswitch, call)
    assert "did not route" not in log and "not the call flow's transfer" not in log
    # FreeSWITCH hunted XML only for it (before: "XML,inline:lua:…voice_ai_no_route.lua[2099@…]")
    assert [line for line in freeswitch.log_lines("Transfer ") if call.call_uuid in line and " to XML[2099@" in line]
    stored = service.stored(call)
    assert (stored["outcome"], stored["transfer_destination"]) == ("transferred", BLIND_TRANSFERS)
    assert not system_notes(stored, "transfer_failed")


def test_service_down_apology_and_the_operator(freeswitch: FreeSwitch, service: Service) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    call = freeswitch.call("8000", CONTEXT, ["listen", "listen"], variables={"voice_ai_url": dead})
    assert call.reached == OPERATOR  # the dialplan's fallback: the secretary's operator
    assert played(freeswitch, call) == ["error_transfer.wav"] and heard(call)  # the local apology first
    assert "start failed (connect)" in call_log(freeswitch, call)


@pytest.fixture
def whisper(service: Service) -> Iterator[None]:
    """The tenant on the built-in offline Whisper (the fake vendor disabled), loaded before the call (a cold model
    on 2 busy cores could outlast a turn's timeout)."""
    service.patch("providers", service.stt_provider, {"enabled": False})
    try:
        warm = httpx.post(
            f"{service.base}/api/v1/domains/{service.domain}/transcribe",
            files={"file": ("q.wav", (FIXTURES / "question_price.wav").read_bytes(), "audio/wav")},
            timeout=300,
        )
        assert warm.status_code == 200, warm.text
        yield
    finally:
        service.patch("providers", service.stt_provider, {"enabled": True})


def test_on_whisper_the_caller_hangs_up_during_a_reply(
    freeswitch: FreeSwitch, service: Service, whisper: None, usual_speech: None
) -> None:
    """One call on the real offline Whisper, asserting only what holds whatever words it hears: the spoken turn has
    a transcript, the caller heard a reply, and the call ends when the caller hangs up during that reply — stored
    with its phase (point 7). The reply is whatever the words Whisper heard bring: at the usual rate of speech, so
    that the caller's `hear` finds a pause in it whichever it is."""
    asked = len(service.stt.requests)
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["question_price"], "hear", "hangup"])
    assert len(service.stt.requests) == asked  # Whisper, not the fake, heard this call
    assert call.reached is None
    said = next(m for m in call.marks if m["step"] == "say_end")["t"]
    assert Stereo.load(call.recording).first_heard_after(said) is not None  # a reply reached the caller
    assert "caller hung up during playback" in call_log(freeswitch, call)
    stored = service.stored(call)
    assert (stored["outcome"], stored["turn_count"]) == ("hangup", 1)
    assert [bool(text.strip()) for text in transcripts(stored)] == [True]
    assert len(replies(stored)) == 1 and replies(stored)[0]["text"].strip()
    assert stored["ended_at"] is not None
    assert system_notes(stored, "caller_hangup") == ["[caller_hangup] during playback"]


# FreeSWITCH's stock lua.conf.xml (script-directory commented out) ----------------------------------------


@pytest.fixture(scope="module")
def stock_freeswitch(binary: Path, service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreeSwitch]:
    """A FreeSWITCH whose lua.conf.xml is the stock one, and an extension (8009) that runs a broken copy of our
    scripts (the call flow module missing, as after a partial install)."""
    root = tmp_path_factory.mktemp("freeswitch-stock")
    broken = root / "broken"
    fs = FreeSwitch(binary=binary, root=root, variables=switch_variables(service), script_directory=None)
    fs.dialplan = tenant_dialplan(
        service,
        '<extension name="broken"><condition field="destination_number" expression="^8009$">'
        '<action application="set" data="voice_ai_fallback_destination=200"/>'
        f'<action application="set" data="voice_ai_fallback_context={CONTEXT}"/>'
        f'<action application="lua" data="{broken}/secretary_ai.lua 8000"/></condition></extension>',
    )
    fs.configure()
    shutil.copytree(fs.scripts, broken)
    (broken / "voice_ai" / "callflow.lua").unlink()
    fs.start()
    try:
        yield fs
    finally:
        fs.stop()


def test_the_installer_names_the_lua_conf_fix(stock_freeswitch: FreeSwitch) -> None:
    """Point 4: `voice-ai freeswitch install` reads the commented-out line as missing and prints the fix."""
    output = stock_freeswitch.install_output
    assert "script-directory" in output and "$${script_dir}/?.lua;;" in output
    assert "restart" in output and "reload mod_lua" not in output


def test_stock_lua_conf_the_call_still_works(stock_freeswitch: FreeSwitch, service: Service) -> None:
    call = stock_freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen"])
    assert call.reached == f"203@{CONTEXT}"
    stored = service.stored(call)
    assert (stored["outcome"], transcripts(stored)) == ("transferred", [WORDS["transfer_financeiro"]])


def test_a_call_flow_that_does_not_load_still_reaches_the_fallback(stock_freeswitch: FreeSwitch) -> None:
    call = stock_freeswitch.call("8009", CONTEXT, ["listen", "listen"])
    assert call.reached == OPERATOR
    assert played(stock_freeswitch, call) == ["error_transfer.wav"] and heard(call)  # the local apology first
    assert "the call flow did not load" in call_log(stock_freeswitch, call)
