"""Streaming calls end to end on the real FreeSWITCH 1.10.12 with mod_audio_stream, against the real service
(embedded PostgreSQL, the demo tenant, the streaming call on the same engine as turn-based calls).

The secretary's extension is the entry ``voice-ai freeswitch dialplan --mode stream`` renders for FusionPBX; the
entry script hands the call to the service's event socket server, mod_audio_stream carries the caller's audio to
the service over a WebSocket, and the service plays, listens, barges in, transfers and hangs up (docs/streaming.md).
A second extension (8001) runs the same secretary turn-based, for the comparison of what both store.

As in tests/test_real_freeswitch.py, the tenant's speech-to-text is the fake Deepgram (tests/fakes/stt.py) that
recognises the fixture WAVs, so flows are exact on every run and CPU; assertions are on where the caller ended up,
what the caller's recording holds, and what the service stored. Nothing here asserts speed (bench/ measures it).

The last test kills the service: keep it last.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import TEST_SECRET_KEY, PgServer
from fakes.stt import FakeSTT, FakeSTTServer, fixture_texts, provider_config
from helpers import VOICE_AI, cli_env, free_port, run_cli, wait_http
from real_freeswitch import (
    FAST_SPEECH,
    FIXTURES,
    MODULES,
    CallResult,
    FreeSwitch,
    Stereo,
    reached_extension,
    require_binary,
    stored_call,
)

pytestmark = pytest.mark.slow

CONTEXT = "demo.localhost"
OPERATOR = f"200@{CONTEXT}"
PEOPLE = ("200", "201", "202", "203", "204")
RINGS, BUSY = "205", "206"  # a phone that rings and is never answered; one that is busy
SECOND_TIME = "209"  # answers an announced call: hangs up on the line the first time, presses 1 the next
SAY = {
    "question": f"say {FIXTURES / 'question_price.wav'}",
    "goodbye": f"say {FIXTURES / 'goodbye.wav'}",
    "financeiro": f"say {FIXTURES / 'transfer_financeiro.wav'}",
}
WORDS = fixture_texts()


@pytest.fixture(scope="module")
def binary() -> Path:
    return require_binary()


@dataclass
class Service:
    base: str
    domain: str
    dsn: str
    env: dict[str, str]
    esl_port: int
    proc: subprocess.Popen[str]
    log: Path

    def stored(self, call: CallResult) -> dict[str, Any]:
        return stored_call(self.dsn, self.domain, call.call_uuid)

    def timings(self, call: CallResult) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            import asyncpg

            conn = await asyncpg.connect(self.dsn)
            try:
                rows = await conn.fetch(
                    "SELECT m.turn_index, m.timings FROM v_voice_messages m JOIN v_voice_conversations c"
                    " USING (voice_conversation_uuid) WHERE c.call_uuid = $1 AND m.role = 'assistant'"
                    " AND m.turn_index > 0 ORDER BY m.turn_index",
                    call.call_uuid,
                )
            finally:
                await conn.close()
            return [json.loads(r["timings"]) if isinstance(r["timings"], str) else dict(r["timings"]) for r in rows]

        return asyncio.run(fetch())


@pytest.fixture(scope="module")
def fake_stt() -> Iterator[FakeSTT]:
    with FakeSTTServer() as state:
        yield state


@pytest.fixture(scope="module")
def service(
    binary: Path, pg: PgServer, fake_stt: FakeSTT, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """``voice-ai serve`` with its event socket server on a free port (killed by the last test)."""
    name = f"realfs_stream_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg.admin(f"CREATE DATABASE {name}"))
    data = tmp_path_factory.mktemp("stream-service")
    esl_port, port = free_port(), free_port()
    env = cli_env(
        VOICE_AI_DATABASE_URL=pg.url(name),
        VOICE_AI_DATA_DIR=str(data),
        VOICE_AI_SECRET_KEY=TEST_SECRET_KEY,
        VOICE_AI_ESL_PORT=str(esl_port),
    )
    seeded = run_cli("demo", "seed", env=env, timeout=300)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    log = data / "service.log"
    with log.open("w") as output:
        proc = subprocess.Popen(
            [VOICE_AI, "serve", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT, text=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/ready", proc, log=log)
        domain = httpx.get(f"{base}/api/v1/domains", params={"name": CONTEXT}).json()["items"][0]["domain_uuid"]
        for provider in (provider_config(fake_stt), FAST_SPEECH):  # the fake STT; espeak-ng speaking fast
            created = httpx.post(f"{base}/api/v1/domains/{domain}/providers", json=provider, timeout=30)
            assert created.status_code == 201, created.text
        yield Service(base, domain, pg.url(name), env, esl_port, proc, log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def tenant_dialplan(service: Service) -> str:
    """The tenant's context: the secretary on 8000 in streaming mode (as ``--mode stream`` renders it), the same
    secretary turn-based on 8001, and the people it transfers to."""
    rendered = run_cli(
        "freeswitch", "dialplan", "--domain", CONTEXT, "--extension", "8000", "--mode", "stream", env=service.env
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "voice_ai_mode=stream" in rendered.stdout
    turn = rendered.stdout.replace("voice_ai_mode=stream", "voice_ai_mode=turn").replace("8000", "8001")
    turn = re.sub(r'uuid="[^"]+"', "", turn)
    people = "".join(reached_extension(number) for number in PEOPLE) + (
        f'<extension name="rings"><condition field="destination_number" expression="^{RINGS}$">'
        '<action application="ring_ready"/><action application="sleep" data="120000"/></condition></extension>'
        f'<extension name="busy"><condition field="destination_number" expression="^{BUSY}$">'
        '<action application="hangup" data="USER_BUSY"/></condition></extension>' + second_time()
    )
    return f'<context name="{CONTEXT}">{rendered.stdout}{turn}{people}</context>'


def second_time() -> str:
    """A person who answers every call and hears the announcement: declines the first call of a conversation
    (hangs up 1.5 s into the line), takes the next one (presses 1; then notes where the caller arrived)."""
    seen = "${hash(select/voice_ai_test/announced-${voice_ai_call_uuid})}"
    accepting = reached_extension(SECOND_TIME).replace(
        f'expression="^{SECOND_TIME}$">', f'expression="^{SECOND_TIME}$"/><condition field="{seen}" expression="^yes$">'
    )
    accepting = accepting.replace(
        '<action application="answer"/>',
        '<action application="answer"/><action application="sleep" data="1500"/>'
        '<action application="send_dtmf" data="1"/><action application="sleep" data="500"/>',
    )
    return accepting + (
        f'<extension name="declines_first"><condition field="destination_number" expression="^{SECOND_TIME}$">'
        '<action application="hash" data="insert/voice_ai_test/announced-${voice_ai_call_uuid}/yes"/>'
        '<action application="answer"/><action application="sleep" data="1500"/><action application="hangup"/>'
        "</condition></extension>"
    )


@pytest.fixture(scope="module")
def freeswitch(binary: Path, service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreeSwitch]:
    fs = FreeSwitch(
        binary=binary,
        root=tmp_path_factory.mktemp("freeswitch-stream-calls"),
        variables={
            "voice_ai_url": service.base,
            "voice_ai_turn_timeout": "40",
            "voice_ai_esl": f"127.0.0.1:{service.esl_port}",  # vars.xml: where the service's event socket is
        },
        dialplan=tenant_dialplan(service),
        modules=(*MODULES, "mod_audio_stream"),
    )
    fs.start()
    try:
        yield fs
    finally:
        fs.stop()


def user_turns(stored: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in stored["messages"] if m["role"] == "user"]


def replies(stored: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in stored["messages"] if m["role"] == "assistant" and m["turn_index"] > 0]


def shape(stored: dict[str, Any]) -> dict[str, Any]:
    """What a conversation log must hold the same way whichever mode took the call."""
    return {
        "outcome": stored["outcome"],
        "turn_count": stored["turn_count"],
        "ended": stored["ended_at"] is not None,
        "messages": [(m["turn_index"], m["role"], m["action"]) for m in stored["messages"] if m["role"] != "system"],
        "transcripts": [m["text"] for m in user_turns(stored)],
        "greeting": next(m["text"] for m in stored["messages"] if m["turn_index"] == 0),
    }


def played(fs: FreeSwitch, call: CallResult) -> list[str]:
    done = [line for line in fs.log_lines("done playing file") if line.startswith(call.call_uuid)]
    return [name for name in (line.rsplit("/", 1)[-1].strip() for line in done) if name.endswith(".wav")]


def call_log(fs: FreeSwitch, call: CallResult) -> str:
    return "\n".join(line for line in fs.log_lines("[voice_ai]") if line.startswith(call.call_uuid))


def test_a_question_is_answered_and_stored_as_a_turn_based_call_would_be(
    freeswitch: FreeSwitch, service: Service
) -> None:
    steps = ["listen", SAY["question"], "listen", SAY["goodbye"], "listen"]
    with ThreadPoolExecutor(2) as pool:  # the same call streamed and turn-based, side by side (each in real time)
        streaming, turn_based = (pool.submit(freeswitch.call, number, CONTEXT, steps) for number in ("8000", "8001"))
        streamed, turned = streaming.result(), turn_based.result()
    assert streamed.reached is None
    assert "handing the call to the service" in call_log(freeswitch, streamed)
    recording = Stereo.load(streamed.recording)
    asked = next(m for m in streamed.marks if m["step"] == "say_end")["t"]
    assert recording.first_heard_after(asked) is not None  # the answer reached the caller
    assert len(recording.heard_segments()) >= 3  # greeting, answer, farewell
    stored = service.stored(streamed)
    assert shape(stored)["transcripts"] == [WORDS["question_price"], WORDS["goodbye"]]
    assert [m["action"] for m in replies(stored)] == ["continue", "hangup"]
    assert (stored["outcome"], stored["turn_count"]) == ("resolved", 2)
    for timings in service.timings(streamed):  # the streaming stages' timings (issue 11)
        assert {"eot_ms", "stt_ms", "first_audio_ms", "total_ms"} <= set(timings)
    assert "handing the call" not in call_log(freeswitch, turned)  # the same secretary, turn-based
    assert shape(service.stored(turned)) == shape(stored)


def test_transfer_by_rule(freeswitch: FreeSwitch, service: Service) -> None:
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen"])
    assert call.reached == f"203@{CONTEXT}"
    stored = service.stored(call)
    assert [m["text"] for m in user_turns(stored)] == [WORDS["transfer_financeiro"]]
    assert (stored["outcome"], stored["transfer_destination"], stored["transfer_department"]) == (
        "transferred",
        "203",
        "Financeiro",
    )
    # rung on a leg of its own and bridged (no dialplan transfer): the caller's leg ends with the bridge
    assert "the call left the service (hung up)" in call_log(freeswitch, call)


@pytest.fixture
def financeiro(service: Service) -> Iterator[dict[str, Any]]:
    """The Financeiro rule (203), restored after the test."""
    url = f"{service.base}/api/v1/domains/{service.domain}/transfer-rules"
    rules = httpx.get(url, params={"limit": 100}, timeout=30).json()["items"]
    rule = next(r for r in rules if r["department_name"] == "Financeiro")
    yield rule
    restored = {k: rule[k] for k in ("destination_number", "destination_context", "ring_seconds", "announce")}
    assert httpx.patch(f"{url}/{rule['voice_transfer_rule_uuid']}", json=restored, timeout=30).status_code == 200


def point(service: Service, rule: dict[str, Any], **values: Any) -> None:
    url = f"{service.base}/api/v1/domains/{service.domain}/transfer-rules/{rule['voice_transfer_rule_uuid']}"
    answer = httpx.patch(url, json=values, timeout=30)
    assert answer.status_code == 200, answer.text


def came_back(stored: dict[str, Any]) -> list[str]:
    offer = "Quer deixar um recado?"
    return [m["text"] for m in stored["messages"] if m["role"] == "assistant" and m["text"].endswith(offer)]


def notes(stored: dict[str, Any], kind: str) -> list[str]:
    return [m["text"] for m in stored["messages"] if m["role"] == "system" and m["text"].startswith(f"[{kind}]")]


def test_nobody_answers_the_caller_hears_it_ring_comes_back_and_the_call_goes_on(
    freeswitch: FreeSwitch, service: Service, financeiro: dict[str, Any]
) -> None:
    point(service, financeiro, destination_number=RINGS, ring_seconds=5)
    steps = ["listen", SAY["financeiro"], "listen", "pause 6500", "listen", SAY["goodbye"], "listen"]
    call = freeswitch.call("8000", CONTEXT, steps)
    assert call.reached is None
    stored = service.stored(call)
    assert [m["text"] for m in user_turns(stored)] == [WORDS["transfer_financeiro"], WORDS["goodbye"]]
    assert notes(stored, "transfer_failed") == [f"[transfer_failed] {RINGS}@{CONTEXT} NO_ANSWER"]
    back = came_back(stored)
    assert len(back) == 1 and back[0].startswith("O setor Financeiro não atendeu.")
    assert (stored["outcome"], stored["transfer_destination"]) == ("resolved", None)  # the call went on
    # the caller heard the ringback while it rang: a steady tone (1 s of 425 Hz) — many frames of the very same
    # level, which speech never has (the reply before it: at most 3 frames alike)
    recording = Stereo.load(call.recording)
    asked = next(m["t"] for m in call.marks if m["step"] == "say_end")
    rang = next(m["t"] for m in call.marks if m["step"] == "pause")
    frames = recording.heard[asked // Stereo.FRAME_MS : rang // Stereo.FRAME_MS]
    level, count = Counter(e for e in frames if e >= 300).most_common(1)[0]
    assert count >= 15, (level, count)


def test_a_busy_department_brings_the_caller_back_at_once(
    freeswitch: FreeSwitch, service: Service, financeiro: dict[str, Any]
) -> None:
    point(service, financeiro, destination_number=BUSY)
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "listen", "hangup"])
    assert call.reached is None
    stored = service.stored(call)
    assert notes(stored, "transfer_failed") == [f"[transfer_failed] {BUSY}@{CONTEXT} USER_BUSY"]
    back = came_back(stored)
    assert len(back) == 1 and "está ocupado" in back[0]
    assert (stored["outcome"], stored["transfer_destination"]) == ("hangup", None)


def test_the_caller_hangs_up_while_it_rings(
    freeswitch: FreeSwitch, service: Service, financeiro: dict[str, Any]
) -> None:
    point(service, financeiro, destination_number=RINGS, ring_seconds=30)
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["financeiro"], "listen", "pause 2000", "hangup"])
    assert call.reached is None
    stored = service.stored(call)
    assert notes(stored, "transfer_failed") == []  # the caller left: not a transfer nobody took
    assert (stored["outcome"], stored["ended_at"] is not None) == ("hangup", True)
    rang = [
        line for line in freeswitch.log_lines("Command Execute [depth=1] bridge(") if line.startswith(call.call_uuid)
    ]
    assert len(rang) == 1 and f"loopback/{RINGS}/{CONTEXT}" in rang[0]  # it was ringing when the caller left


def test_an_announced_transfer_declined_brings_the_caller_back_and_accepted_connects(
    freeswitch: FreeSwitch, service: Service, financeiro: dict[str, Any]
) -> None:
    """The rule announces: the person who answers hears who is calling and why (played on their leg by the group
    confirm, while the caller hears the ringback) and takes the call with 1. Declined the first time (hung up on
    the line): the caller is back and asks again; taken the second time: connected."""
    point(service, financeiro, destination_number=SECOND_TIME, announce=True)
    steps = ["listen", SAY["financeiro"], "listen", "listen", SAY["financeiro"], "listen", "listen"]
    call = freeswitch.call("8000", CONTEXT, steps, variables={"ringback": "silence_stream://-1"})
    assert call.reached == f"{SECOND_TIME}@{CONTEXT}"
    stored = service.stored(call)
    announced = notes(stored, "announcement")
    assert len(announced) == 2 and all("Maria" in a and "tecle 1" in a for a in announced)
    assert notes(stored, "transfer_failed") == [f"[transfer_failed] {SECOND_TIME}@{CONTEXT} DECLINED"]
    back = came_back(stored)
    assert len(back) == 1 and "não pode atender" in back[0]
    assert [m["text"] for m in user_turns(stored)] == [WORDS["transfer_financeiro"]] * 2
    assert (stored["outcome"], stored["transfer_destination"]) == ("transferred", SECOND_TIME)
    rang = [
        line for line in freeswitch.log_lines("Command Execute [depth=1] bridge(") if line.startswith(call.call_uuid)
    ]
    assert len(rang) == 2 and all("group_confirm_key=exec" in line for line in rang)


def test_the_caller_barges_in(freeswitch: FreeSwitch, service: Service) -> None:
    """The caller starts speaking while the answer plays: it stops, what the caller heard is what the history
    records, and the caller's words are the next turn."""
    call = freeswitch.call("8000", CONTEXT, ["listen", SAY["question"], "hear", SAY["goodbye"], "listen", "listen"])
    stored = service.stored(call)
    assert [m["text"] for m in user_turns(stored)] == [WORDS["question_price"], WORDS["goodbye"]]
    assert [m["action"] for m in replies(stored)] == ["continue", "hangup"]
    first = service.timings(call)[0]
    assert "interrupted_ms" in first  # the answer was cut: the history holds what was heard
    recording = Stereo.load(call.recording)
    says = [m["t"] for m in call.marks if m["step"] == "say_start"]
    interrupted_at = says[1]
    # nothing of the answer plays on once the caller has spoken for a moment (barge_in_min_ms, 300 ms)
    answer = [seg for seg in recording.heard_segments(gap_ms=300) if seg[0] < interrupted_at < seg[1] + 300]
    assert answer and answer[-1][1] < interrupted_at + 1500


def test_key_0_reaches_the_operator(freeswitch: FreeSwitch, service: Service) -> None:
    call = freeswitch.call("8000", CONTEXT, ["listen", "dtmf 0", "listen"])
    assert call.reached == OPERATOR
    stored = service.stored(call)
    assert (stored["outcome"], stored["transfer_destination"]) == ("transferred", "200")


def test_the_service_killed_mid_call_the_caller_hears_the_apology_and_reaches_the_operator(
    freeswitch: FreeSwitch, service: Service
) -> None:
    """Keep last: it kills the module's service."""
    calls = freeswitch.root / "calls"
    before = set(calls.iterdir()) if calls.is_dir() else set()
    result: dict[str, CallResult] = {}
    caller = threading.Thread(
        target=lambda: result.setdefault("call", freeswitch.call("8000", CONTEXT, ["listen", "pause 1500", "listen"]))
    )
    caller.start()
    deadline = time.monotonic() + 60
    killed = False
    while time.monotonic() < deadline and not killed:
        for folder in set(calls.iterdir()) - before if calls.is_dir() else ():
            marks = folder / "marks.jsonl"
            if marks.is_file() and '"listen"' in marks.read_text():  # the greeting played: the call is live
                service.proc.send_signal(signal.SIGKILL)
                killed = True
        time.sleep(0.05)
    caller.join(120)
    assert killed, "the call never got past the greeting"
    call = result["call"]
    assert call.reached == OPERATOR
    assert played(freeswitch, call)[-1] == "error_transfer.wav"  # the local apology first
    assert "[stream] the service closed the event socket" in call_log(freeswitch, call)
    with contextlib.suppress(subprocess.TimeoutExpired):
        service.proc.wait(timeout=5)
