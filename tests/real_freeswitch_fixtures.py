"""The turn-based call tests' shared platform (a pytest plugin, loaded by tests/conftest.py): one service, one fake
STT and one real FreeSWITCH for the whole session, used by tests/test_real_freeswitch.py and its siblings
(``_hours``, ``_messages``, ``_transfers``).

Starting them takes a while (the demo seed, ``voice-ai serve``, FreeSWITCH with our scripts installed), so the
modules share them instead of starting their own: the tenant's context holds every person any of those modules
calls (the demo's operator and departments, and the transfer tests' phones that ring, are busy, reject, or answer
an announced call), and every test restores what it changes of the tenant (fixtures that patch and put back).
Calls that each need the tenant changed differently can be placed side by side instead (:func:`side_by_side`).

The tenant is the demo's (``voice-ai demo seed``) with two providers of its own: the fake STT (tests/fakes/stt.py:
exact words on every run and CPU) and espeak-ng speaking at :data:`~real_freeswitch.FAST_SPEECH_WPM`; its
secretary has a short greeting and ends the caller's turn after 1 s of silence (:data:`SECRETARY`). A call plays in
real time, and none of these tests depends on how long the secretary talks (the texts are asserted, and that the
caller heard them).

Without ``VOICE_AI_TEST_FREESWITCH`` the fixtures skip (see :func:`real_freeswitch.require_binary`).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import TEST_SECRET_KEY, PgServer
from fakes.stt import FakeSTT, FakeSTTServer, provider_config
from helpers import demo_service, run_cli
from real_freeswitch import (
    FAST_SPEECH,
    CallResult,
    FreeSwitch,
    always_continue_extension,
    include_body,
    reached_extension,
    require_binary,
    stored_call,
)

CONTEXT = "demo.localhost"
PLAIN = "default"  # a plain FreeSWITCH's context
OPERATOR = f"200@{CONTEXT}"
PEOPLE = ("200", "201", "202", "203", "204")  # the demo's operator and departments
BLIND_TRANSFERS = "209"  # a department that takes the call, then blind-transfers it to a number nobody has (2099)
# transfers that come back (tests/test_real_freeswitch_transfers.py)
RINGS = "205"  # rings, never answers
BUSY = "206"
REJECTS = "207"
ACCEPTS = "208"  # answers an announced call and presses 1
HANGS_UP = "210"  # answers an announced call and hangs up on it

# The demo secretary, for calls that play in real time: a short greeting (the demo's names the company; no test
# here asserts its words) and 1 s of silence ending the caller's turn (the demo's 2 s is a person's pause; the
# caller here is a WAV whose pauses between words are a fraction of a second).
SECRETARY = {"greeting": "Olá! Como posso ajudar?", "silence_seconds": 1}


@dataclass
class Service:
    base: str
    domain: str
    dsn: str
    env: dict[str, str]
    stt: FakeSTT
    stt_provider: str  # the tenant's STT provider pointing at the fake
    tts_provider: str  # the tenant's fast espeak-ng (disable it for the system's, at espeak-ng's usual rate)

    def stored(self, call: CallResult) -> dict[str, Any]:
        return stored_call(self.dsn, self.domain, call.call_uuid)

    def patch(self, kind: str, item: str, values: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.patch(f"{self.base}/api/v1/domains/{self.domain}/{kind}/{item}", json=values, timeout=30)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def items(self, kind: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.base}/api/v1/domains/{self.domain}/{kind}", params={"limit": 100}, timeout=30)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items


def switch_variables(service: Service) -> dict[str, str]:
    """FreeSWITCH's global variables (vars.xml): the service, and a turn timeout for busy CI machines (tests
    never assert speed; bench/freeswitch_latency.py measures it)."""
    return {"voice_ai_url": service.base, "voice_ai_turn_timeout": "40"}


def _extension(number: str, actions: str) -> str:
    return (
        f'<extension name="test_{number}"><condition field="destination_number" expression="^{number}$">'
        f"{actions}</condition></extension>"
    )


def transfer_people() -> str:
    """The transfer tests' people: a phone that rings and is never answered, one busy, one who rejects, one who
    takes an announced call (presses 1) and one who hangs up on the announcement."""
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


def tenant_dialplan(service: Service, extras: str = "") -> str:
    """The tenant's context as FusionPBX would have it (the secretary's entry rendered by ``voice-ai freeswitch
    dialplan``, ``extras``, and the people the secretary transfers to), and a plain FreeSWITCH's ``default``
    context."""
    rendered = run_cli("freeswitch", "dialplan", "--domain", CONTEXT, "--extension", "8000", env=service.env)
    assert rendered.returncode == 0, rendered.stderr
    plain = run_cli(
        "freeswitch", "dialplan", "--domain", CONTEXT, "--extension", "8000", "--flavor", "freeswitch", env=service.env
    )
    assert plain.returncode == 0, plain.stderr
    people = "".join(reached_extension(number) for number in PEOPLE) + transfer_people()
    blind = reached_extension(BLIND_TRANSFERS, then="transfer 2099")
    plain_people = "".join(reached_extension(number, then="") for number in PEOPLE)  # their apps just finish
    return (
        f'<context name="{CONTEXT}">{rendered.stdout}{extras}{people}{blind}</context>'
        f'<context name="{PLAIN}">{always_continue_extension()}{plain_people}{include_body(plain.stdout)}</context>'
    )


@pytest.fixture(scope="session")
def binary() -> Path:
    return require_binary()


@pytest.fixture(scope="session")
def fake_stt() -> Iterator[FakeSTT]:
    with FakeSTTServer() as state:
        yield state


@pytest.fixture(scope="session")
def service(
    binary: Path, pg: PgServer, fake_stt: FakeSTT, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    name = f"realfs_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg.admin(f"CREATE DATABASE {name}"))
    tmp = tmp_path_factory.mktemp("real-freeswitch-service")
    with demo_service(pg.url(name), tmp / "data", TEST_SECRET_KEY) as (base, env):
        domain = httpx.get(f"{base}/api/v1/domains", params={"name": CONTEXT}).json()["items"][0]["domain_uuid"]
        providers = f"{base}/api/v1/domains/{domain}/providers"
        created = httpx.post(providers, json=provider_config(fake_stt), timeout=30)
        assert created.status_code == 201, created.text
        fast = httpx.post(providers, json=FAST_SPEECH, timeout=30)
        assert fast.status_code == 201, fast.text
        stt, tts = created.json()["voice_ai_provider_uuid"], fast.json()["voice_ai_provider_uuid"]
        shared = Service(base, domain, pg.url(name), env, fake_stt, stt, tts)
        secretary = shared.items("secretaries")[0]
        shared.patch("secretaries", secretary["voice_secretary_uuid"], SECRETARY)
        yield shared


@pytest.fixture(scope="session")
def freeswitch(binary: Path, service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreeSwitch]:
    fs = FreeSwitch(
        binary=binary,
        root=tmp_path_factory.mktemp("freeswitch"),
        variables=switch_variables(service),
        dialplan=tenant_dialplan(service),
    )
    fs.start()
    try:
        yield fs
    finally:
        fs.stop()


# Calls side by side ------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """One call of :func:`side_by_side`: the caller's steps (and originate's variables), to a copy of the demo
    secretary with ``secretary`` changed, whose Financeiro rule is the demo's with ``rule`` changed (its
    destination, ring time, announcement)."""

    steps: list[str]
    rule: dict[str, Any] = field(default_factory=dict)
    secretary: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, str] | None = None


def side_by_side(freeswitch: FreeSwitch, service: Service, plans: dict[str, Plan]) -> dict[str, CallResult]:
    """Place the calls of ``plans`` at once, and return them by name when all have ended.

    A call plays in real time, mostly waiting; tests whose calls each need the tenant changed in another way (the
    Financeiro rule pointed elsewhere, the operator…) would wait for them one after the other. Here each call gets
    a secretary of its own instead: a copy of the demo's (extensions 8101…), with a Financeiro rule of its own, and
    a dialplan entry — the demo secretary's, with its extension and secretary changed — while the demo's Financeiro
    rule (every secretary's) is disabled. FreeSWITCH and the service take the calls together, as they would any
    calls. Afterwards the copies (their rules with them) and their dialplan entries are gone again and the demo's
    rule is back; what the calls stored stays (``service.stored(call)``)."""
    base = f"{service.base}/api/v1/domains/{service.domain}"
    demo_rule = next(r for r in service.items("transfer-rules") if r["department_name"] == "Financeiro")
    demo = next(s for s in service.items("secretaries") if s["extension"] == "8000")
    copied = {
        k: demo[k]
        for k in ("name", "language", "company_name", "personality_prompt", "greeting", "farewell", "silence_seconds")
    }
    copied |= {"operator_destination": demo["operator_destination"], "operator_context": demo["operator_context"]}
    rule_copied = {k: demo_rule[k] for k in ("department_name", "description", "keywords", "destination_number")}
    rule_copied |= {"destination_context": demo_rule["destination_context"]}
    entry = re.search(r'<extension name="voice_secretary_8000".*?</extension>', freeswitch.dialplan, re.DOTALL)
    assert entry is not None, "the tenant's dialplan has no entry for the secretary on 8000"
    dialplan, entries, copies = freeswitch.dialplan, "", []
    extensions: dict[str, str] = {}
    try:
        for index, (name, plan) in enumerate(plans.items(), start=1):
            extension = f"81{index:02d}"
            made = httpx.post(
                f"{base}/secretaries", json={**copied, **plan.secretary, "extension": extension}, timeout=30
            )
            assert made.status_code == 201, made.text
            secretary = made.json()["voice_secretary_uuid"]
            copies.append(secretary)
            extensions[name] = extension
            rule = {**rule_copied, **plan.rule, "voice_secretary_uuid": secretary}
            made = httpx.post(f"{base}/transfer-rules", json=rule, timeout=30)
            assert made.status_code == 201, made.text
            entries += (
                re.sub(r' uuid="[^"]+"', "", entry.group(0))  # the entry's own uuid: the demo's
                .replace('name="voice_secretary_8000"', f'name="voice_secretary_{extension}"')
                .replace("^8000$", f"^{extension}$")
                .replace(demo["voice_secretary_uuid"], secretary)
            )
        freeswitch.set_dialplan(dialplan.replace(entry.group(0), entry.group(0) + entries, 1))
        service.patch("transfer-rules", demo_rule["voice_transfer_rule_uuid"], {"enabled": False})

        def place(name: str, delay: float) -> CallResult:
            time.sleep(delay)  # a moment apart: not every greeting, turn and transfer in the same instant
            plan = plans[name]
            return freeswitch.call(extensions[name], CONTEXT, plan.steps, variables=plan.variables)

        with ThreadPoolExecutor(len(plans)) as pool:
            placed = {name: pool.submit(place, name, 0.2 * index) for index, name in enumerate(plans)}
            return {name: future.result() for name, future in placed.items()}
    finally:
        service.patch("transfer-rules", demo_rule["voice_transfer_rule_uuid"], {"enabled": demo_rule["enabled"]})
        for secretary in copies:
            assert httpx.delete(f"{base}/secretaries/{secretary}", timeout=30).status_code == 204
        freeswitch.set_dialplan(dialplan)
