"""Whole calls through the real Lua call flow (telephony/freeswitch/scripts/secretary_ai.lua) under the FreeSWITCH
emulator (spec/support/emulator.lua), against the real service: embedded PostgreSQL, offline providers (espeak-ng,
the dialog policy), the demo tenant. The caller speaks pt-BR WAV fixtures at 8 kHz.

The tenant's speech-to-text is the fake vendor of tests/fakes/stt.py (Deepgram's wire protocol): it recognises which
fixture the caller spoke and answers its known words, so the flows are exact on every CPU — Whisper's int8 kernels
transcribe differently on Intel and AMD, and a garbled word can change a flow (tests/test_real_freeswitch.py keeps
one call on the real Whisper).

Each test asserts on what the script did (the emulator's transcript: playbacks of real WAV files, recordings,
transfers, hangups) and on the conversation the service stored in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from conftest import TEST_SECRET_KEY, PgServer
from fakes.stt import FakeSTTServer, fixture_texts, provider_config
from helpers import demo_service, free_port, run_cli

pytestmark = pytest.mark.slow

FS = Path(__file__).resolve().parent.parent / "telephony" / "freeswitch"
FIXTURES = FS / "spec" / "fixtures"
OPERATOR = "200"  # the demo secretary's operator (Atendimento)
WORDS = fixture_texts()  # what the fake STT answers for each fixture


def lua() -> str:
    path = shutil.which("lua5.3")
    assert path, "lua5.3 is missing: run scripts/bootstrap.sh dev as root (Debian packages lua5.3 lua-socket lua-cjson)"
    return path


@dataclass
class Service:
    base: str
    domain: str
    dsn: str
    tmp: Path
    env: dict[str, str]

    def conversation(self, call_uuid: str) -> dict[str, Any]:
        async def _fetch() -> dict[str, Any]:
            conn = await asyncpg.connect(self.dsn)
            try:
                row = await conn.fetchrow(
                    "SELECT * FROM v_voice_conversations WHERE domain_uuid = $1 AND call_uuid = $2",
                    uuid.UUID(self.domain),
                    call_uuid,
                )
                assert row is not None, f"no conversation stored for {call_uuid}"
                messages = await conn.fetch(
                    "SELECT turn_index, role, text, action FROM v_voice_messages"
                    " WHERE domain_uuid = $1 AND voice_conversation_uuid = $2 ORDER BY turn_index, insert_date",
                    uuid.UUID(self.domain),
                    row["voice_conversation_uuid"],
                )
                return {**dict(row), "messages": [dict(m) for m in messages]}
            finally:
                await conn.close()

        return asyncio.run(_fetch())


@pytest.fixture(scope="module")
def service(pg: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    name = f"fs_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg.admin(f"CREATE DATABASE {name}"))
    tmp = tmp_path_factory.mktemp("freeswitch")
    with FakeSTTServer() as stt, demo_service(pg.url(name), tmp / "data", TEST_SECRET_KEY) as (base, env):
        domain = httpx.get(f"{base}/api/v1/domains", params={"name": "demo.localhost"}).json()["items"][0]
        created = httpx.post(
            f"{base}/api/v1/domains/{domain['domain_uuid']}/providers", json=provider_config(stt), timeout=30
        )
        assert created.status_code == 201, created.text
        (tmp / "calls").mkdir()
        yield Service(base, domain["domain_uuid"], pg.url(name), tmp, env)


def transcripts(stored: dict[str, Any]) -> list[str]:
    return [m["text"] for m in stored["messages"] if m["role"] == "user"]


def call(
    service: Service,
    steps: list[dict[str, Any]],
    *,
    playback: dict[int, dict[str, Any]] | None = None,
    variables: dict[str, str] | None = None,
    argv: tuple[str, ...] = ("8000",),
    tenant: bool = True,
    dial: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run one call; returns the emulator's transcript (with ``call_uuid`` added). ``tenant=False``: the channel
    has no domain variables or fallback unless ``variables`` (e.g. a dialplan's) set them."""
    call_uuid = str(uuid.uuid4())
    folder = service.tmp / "calls" / call_uuid
    folder.mkdir()
    caller_steps = [{**s, "say": str(FIXTURES / f"{s['say']}.wav")} if "say" in s else s for s in steps]
    scenario = {
        "script": str(FS / "scripts" / "secretary_ai.lua"),
        "argv": list(argv),
        "uuid": call_uuid,
        "variables": {
            **(
                {
                    "domain_uuid": service.domain,
                    "domain_name": "demo.localhost",
                    "voice_ai_fallback_destination": "9999",
                }
                if tenant
                else {}
            ),
            "caller_id_number": "+554133334444",
            "caller_id_name": "Maria",
            "destination_number": "8000",
            "voice_ai_sounds_dir": str(FS / "sounds" / "voice_ai"),
            **(variables or {}),
        },
        "globals": {"voice_ai_url": service.base, "temp_dir": str(folder)},
        "caller": {
            "steps": caller_steps,
            "playback": {str(k): v for k, v in (playback or {}).items()},
            "dial": dial or {},  # what a transfer's ringing meets (emulator.lua): answered when not listed
        },
    }
    (folder / "scenario.json").write_text(json.dumps(scenario))
    out = folder / "transcript.json"
    ran = subprocess.run(
        [lua(), str(FS / "spec" / "support" / "run_call.lua"), str(folder / "scenario.json"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    transcript: dict[str, Any] = json.loads(out.read_text())
    transcript["call_uuid"] = call_uuid
    assert transcript["script_ok"], transcript["events"]
    for event in transcript["events"]:
        if event["op"] == "playback":
            assert event["ok"], f"played something that is not a WAV: {event}"
        assert event["op"] not in ("error", "script_error"), event
    assert sorted(p.name for p in folder.iterdir()) == ["scenario.json", "transcript.json"], "temp files left behind"
    return transcript


def ops(transcript: dict[str, Any], op: str) -> list[dict[str, Any]]:
    return [e for e in transcript["events"] if e["op"] == op]


def ending(transcript: dict[str, Any]) -> dict[str, Any]:
    """The last transfer or hangup: how the call left the script."""
    return [e for e in transcript["events"] if e["op"] in ("transfer", "hangup")][-1]


def logs(transcript: dict[str, Any]) -> str:
    return "".join(line["text"] for line in transcript["logs"])


def test_questions_answered_then_goodbye(service: Service) -> None:
    t = call(service, [{"say": "question_price"}, {"say": "question_saturday", "pause_ms": 800}, {"say": "goodbye"}])
    assert len(ops(t, "record")) == 3
    assert all(r["stopped_by"] == "silence" for r in ops(t, "record"))  # end-of-speech detection ended each turn
    plays = ops(t, "playback")
    assert len(plays) == 4 and all(p["rate"] == 8000 for p in plays)  # greeting + three replies
    end = ending(t)
    assert end["op"] == "hangup" and end["by"] == "script"
    assert all(line["via"] == "session" for line in t["logs"])  # FreeSWITCH ties every line to the call
    stored = service.conversation(t["call_uuid"])
    assert stored["outcome"] == "resolved" and stored["turn_count"] == 3
    assert stored["caller_id_number"] == "+554133334444" and stored["caller_id_name"] == "Maria"
    assert transcripts(stored) == [WORDS["question_price"], WORDS["question_saturday"], WORDS["goodbye"]]
    replies = [m for m in stored["messages"] if m["role"] == "assistant" and m["turn_index"] > 0]  # 0: greeting
    assert [m["action"] for m in replies] == ["continue", "continue", "hangup"]


def put_through(transcript: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Where a transfer that comes back rang (destination, context, answered), in order."""
    return [(o["destination"], o["context"], o["answered"]) for o in ops(transcript, "originate")]


def test_transfer_intent_rings_the_configured_extension(service: Service) -> None:
    t = call(service, [{"say": "transfer_financeiro"}])
    assert put_through(t) == [("203", "demo.localhost", True)]
    assert ops(t, "originate")[0]["settings"]["originate_timeout"] == "30"  # the rule has no ring time of its own
    assert ops(t, "bridge")[0]["ok"] and not ops(t, "transfer")
    stored = service.conversation(t["call_uuid"])
    assert transcripts(stored) == [WORDS["transfer_financeiro"]]
    assert (stored["outcome"], stored["transfer_destination"], stored["transfer_department"]) == (
        "transferred",
        "203",
        "Financeiro",
    )


def test_a_transfer_nobody_answers_comes_back_and_the_call_goes_on(service: Service) -> None:
    """Issue 13, point 2, across the boundary: the flow's report and the service's reply fit each other."""
    t = call(service, [{"say": "transfer_financeiro"}, {"say": "goodbye"}], dial={"203": {"cause": "USER_BUSY"}})
    assert put_through(t) == [("203", "demo.localhost", False)]
    assert not ops(t, "bridge") and not ops(t, "transfer")
    assert len(ops(t, "playback")) == 4  # greeting, "vou transferir", "está ocupado… recado?", the farewell
    stored = service.conversation(t["call_uuid"])
    assert transcripts(stored) == [WORDS["transfer_financeiro"], WORDS["goodbye"]]
    assert "[transfer_failed] 203@demo.localhost USER_BUSY" in [m["text"] for m in stored["messages"]]
    assert stored["outcome"] == "resolved" and stored["transfer_destination"] is None


def test_blind_mode_transfer_goes_to_the_configured_extension(service: Service) -> None:
    t = call(service, [{"say": "transfer_financeiro"}], variables={"voice_ai_transfer_mode": "blind"})
    end = ending(t)
    # XML first; only when XML has no extension for it, the no-route script (point 2)
    no_route = f"inline:lua:{FS / 'scripts' / 'voice_ai_no_route.lua'}"
    assert (end["op"], end["destination"], end["dialplan"], end["context"]) == (
        "transfer",
        "203",
        f"XML,{no_route}",
        "demo.localhost",
    )
    assert ops(t, "execute")[-1]["data"] == f"203 XML,{no_route} demo.localhost"
    assert t["final_state"] == "transferred" and not ops(t, "hangup")
    stored = service.conversation(t["call_uuid"])
    assert transcripts(stored) == [WORDS["transfer_financeiro"]]
    assert (stored["outcome"], stored["transfer_destination"], stored["transfer_department"]) == (
        "transferred",
        "203",
        "Financeiro",
    )


def test_goodbye_hangs_up_after_the_farewell(service: Service) -> None:
    t = call(service, [{"say": "goodbye"}])
    assert ending(t)["by"] == "script"
    assert ops(t, "playback")[-1]["t"] < ending(t)["t"]  # the farewell was played before hanging up
    stored = service.conversation(t["call_uuid"])
    assert (stored["outcome"], transcripts(stored)) == ("resolved", [WORDS["goodbye"]])


def test_dtmf_zero_reaches_the_operator(service: Service) -> None:
    t = call(service, [{"say": "question_price"}], playback={1: {"press": "0", "at_ms": 800}})
    assert ops(t, "playback")[0]["stopped_at_ms"] == 800  # the greeting was cut by the key
    assert not ops(t, "record")
    assert put_through(t) == [(OPERATOR, "demo.localhost", True)]  # rung like a department: it may come back
    stored = service.conversation(t["call_uuid"])
    assert stored["outcome"] == "transferred" and stored["transfer_destination"] == OPERATOR
    assert any(m["role"] == "system" and m["text"] == "[dtmf] 0" for m in stored["messages"])


def test_dtmf_zero_when_the_operator_does_not_answer(service: Service) -> None:
    """The operator rings for 30 s and nobody answers: back with the secretary ("Nenhum atendente pôde atender
    agora… Quer deixar um recado?"), and the caller goes on."""
    t = call(
        service,
        [{"say": "goodbye"}],
        playback={1: {"press": "0", "at_ms": 800}},
        dial={OPERATOR: {"cause": "NO_ANSWER"}},
    )
    assert put_through(t) == [(OPERATOR, "demo.localhost", False)]
    stored = service.conversation(t["call_uuid"])
    back = [m["text"] for m in stored["messages"] if m["role"] == "assistant" and m["turn_index"] == 0][-1]
    assert back.startswith("Nenhum atendente pôde atender agora.") and back.endswith("Quer deixar um recado?")
    assert transcripts(stored) == [WORDS["goodbye"]] and stored["outcome"] == "resolved"


def test_dtmf_zero_while_speaking(service: Service) -> None:
    t = call(service, [{"say": "question_price", "press": "0", "at_ms": 1000}])
    assert ops(t, "record")[0]["stopped_by"] == "dtmf"
    assert put_through(t)[0][0] == OPERATOR
    assert service.conversation(t["call_uuid"])["turn_count"] == 0


def test_caller_hangs_up_mid_turn(service: Service) -> None:
    t = call(service, [{"say": "question_price"}, {"say": "question_saturday", "hangup_at_ms": 900}])
    assert [h["how"] for h in ops(t, "hangup_hook")] == ["hangup"]
    assert not ops(t, "hangup")  # the script did not hang up a channel that was gone
    stored = service.conversation(t["call_uuid"])
    assert stored["outcome"] == "hangup" and stored["turn_count"] == 1 and stored["ended_at"] is not None
    assert transcripts(stored) == [WORDS["question_price"]]
    assert any(m["role"] == "system" and m["text"].startswith("[caller_hangup]") for m in stored["messages"])


def test_silence_only_ends_with_the_operator(service: Service) -> None:
    """Two silent turns (point 1: each a normal turn, "pode repetir?" first) and the caller goes to a person."""
    t = call(service, [{"silence": True}, {"quiet": True}, {"silence": True}])
    assert len(ops(t, "record")) == 2
    assert all(r["completion_cause"] == "no-input-timeout" for r in ops(t, "record"))
    assert len(ops(t, "playback")) == 3  # greeting, "pode repetir?", the transfer phrase
    assert put_through(t) == [(OPERATOR, "demo.localhost", True)]
    stored = service.conversation(t["call_uuid"])
    assert stored["outcome"] == "transferred"


def test_service_down_transfers_to_the_operator(service: Service) -> None:
    """The service is stopped (nothing listens): the dialplan's fallback — the operator — takes the call."""
    dead = f"http://127.0.0.1:{free_port()}"
    t = call(
        service,
        [{"say": "question_price"}],
        variables={"voice_ai_url": dead, "voice_ai_fallback_destination": OPERATOR},
    )
    plays = ops(t, "playback")
    assert len(plays) == 1 and plays[0]["file"].endswith("/pt-BR/error_transfer.wav")
    end = ending(t)
    assert (end["op"], end["destination"], end["context"]) == ("transfer", OPERATOR, "demo.localhost")
    assert not ops(t, "hangup")  # never a silent hangup
    assert "start failed (connect)" in logs(t)


def test_service_slower_than_the_timeout(service: Service, vendors: Any) -> None:
    """The tenant's LLM hangs (5 s); the script gives up after its turn timeout and hands the caller over."""
    from fakes.vendors import OPENAI_KEY

    config = {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "model": "slow", "timeout_s": 30}
    created = httpx.post(
        f"{service.base}/api/v1/domains/{service.domain}/providers",
        json={"provider_type": "llm", "provider_name": "openai_compatible", "is_default": True, "config": config},
    )
    assert created.status_code == 201, created.text
    vendors.script[:] = ["slow"] * 10
    try:
        started = time.monotonic()
        t = call(service, [{"say": "question_price"}], variables={"voice_ai_turn_timeout": "2"})
        elapsed = time.monotonic() - started
    finally:
        httpx.delete(
            f"{service.base}/api/v1/domains/{service.domain}/providers/{created.json()['voice_ai_provider_uuid']}"
        )
        vendors.reset()
    assert "turn failed (timeout)" in logs(t)
    assert ops(t, "playback")[-1]["file"].endswith("/pt-BR/error_transfer.wav")
    end = ending(t)
    assert (end["op"], end["destination"]) == ("transfer", OPERATOR)  # the operator the service named at start
    assert elapsed < 12  # far below the provider's 30 s (x2 attempts); not a speed check: CI cores are shared
    assert service.conversation(t["call_uuid"])["outcome"] == "error"


def test_unknown_secretary_still_reaches_a_person(service: Service) -> None:
    t = call(service, [{"say": "question_price"}], argv=("7777",))
    assert "HTTP 404" in logs(t)
    assert ending(t)["destination"] == "9999"


def test_a_call_routed_by_the_rendered_dialplan(service: Service) -> None:
    """`voice-ai freeswitch dialplan` output drives the call: its `set` actions are the channel's variables and
    its `lua` action the script's arguments; nothing else tells the script who the tenant is."""
    rendered = run_cli("freeswitch", "dialplan", "--domain", "demo.localhost", "--extension", "8000", env=service.env)
    assert rendered.returncode == 0, rendered.stderr
    extension = ET.fromstring(rendered.stdout)  # noqa: S314 (our own output)
    condition = extension.find("condition")
    assert condition is not None and condition.get("field") == "destination_number"
    assert re.fullmatch(str(condition.get("expression")), "8000")
    variables: dict[str, str] = {}
    argv: tuple[str, ...] = ()
    for action in condition.findall("action"):
        app, data = action.get("application"), str(action.get("data"))
        if app == "set":
            key, _, value = data.partition("=")
            variables[key] = value
        elif app == "lua":
            script, *argv_list = data.split()
            assert script == "secretary_ai.lua"
            argv = tuple(argv_list)
    assert variables["domain_uuid"] == service.domain and variables["voice_ai_fallback_destination"] == OPERATOR
    t = call(service, [{"say": "transfer_financeiro"}], variables=variables, argv=argv, tenant=False)
    assert put_through(t) == [("203", "demo.localhost", True)]
