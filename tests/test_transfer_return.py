"""Transfers that come back (issue 13, point 2), the service's side: the rule's ring time and announced-transfer
options, what the secretary says after a transfer reached nobody (ending with the offer of a message), and the
announcement the person who answers hears. The call flows on the real FreeSWITCH are in
tests/test_real_freeswitch_transfers.py."""

from __future__ import annotations

import io
import uuid
import wave
from typing import Any

import httpx
import pytest

from fakes.vendors import OPENAI_KEY
from voice_ai.conversation.phrases import phrase
from voice_ai.conversation.transfer_return import failure_kind, failure_text, one_line, spoken_number
from voice_ai.demo.seed import seed_demo
from voice_ai.runtime import Runtime

OFFER = phrase("pt-BR", "offer_message")


@pytest.fixture
async def demo(runtime: Runtime, client: httpx.AsyncClient) -> dict[str, Any]:
    async with runtime.sessionmaker() as session, session.begin():
        tenant = await seed_demo(session)  # the documents stay unindexed: transfers need only the rules
    domain = str(tenant.domain_uuid)
    rules = (await client.get(f"/api/v1/domains/{domain}/transfer-rules", params={"limit": 100})).json()["items"]
    financeiro = next(r for r in rules if r["department_name"] == "Financeiro")
    return {"domain": domain, "secretary": str(tenant.secretary_uuid), "financeiro": financeiro}


async def _call(client: httpx.AsyncClient, demo: dict[str, Any], caller: str | None = "+554133334444") -> str:
    call = f"call-{uuid.uuid4()}"
    started = await client.post(
        "/api/v1/calls",
        json={
            "domain_uuid": demo["domain"],
            "secretary": "8000",
            "call_uuid": call,
            "caller_id_number": caller,
            "caller_id_name": "Maria",
        },
    )
    assert started.status_code == 201, started.text
    return call


async def _say(client: httpx.AsyncClient, demo: dict[str, Any], call: str, text: str) -> dict[str, Any]:
    answer = await client.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": demo["domain"], "text": text})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _messages(db: Any, call: str) -> list[Any]:
    return list(
        await db.fetch(
            "SELECT m.role, m.text, m.action, m.turn_index FROM v_voice_messages m JOIN v_voice_conversations c"
            " USING (voice_conversation_uuid) WHERE c.call_uuid = $1 ORDER BY m.turn_index, m.insert_date",
            call,
        )
    )


def test_causes_and_texts() -> None:
    assert [
        failure_kind(c) for c in ("NO_ANSWER", "USER_BUSY", "CALL_REJECTED", "DECLINED", "NO_ROUTE_DESTINATION")
    ] == [
        "no_answer",
        "busy",
        "declined",
        "declined",
        "unreachable",
    ]
    assert failure_kind("UNALLOCATED_NUMBER") == failure_kind(None) == "unreachable"
    assert failure_kind("NORMAL_CLEARING") == "unreachable"  # a dialplan that put the call nowhere
    text = failure_text("pt-BR", "Financeiro", "NO_ANSWER", others=True)
    assert text == f"O setor Financeiro não atendeu. Posso transferir para outro setor, se preferir. {OFFER}"
    assert failure_text("en-US", None, "USER_BUSY", others=False) == (
        "No attendant could take your call right now. Would you like to leave a message?"
    )
    assert one_line("Preciso da  segunda via\n do boleto.") == "Preciso da segunda via do boleto"
    assert len(one_line("palavra " * 60)) <= 140 and not one_line("palavra " * 60).endswith(" ")
    assert spoken_number("+55 (41) 3333") == "5 5 4 1 3 3 3 3" and spoken_number(None) is None


async def test_rule_options(client: httpx.AsyncClient, demo: dict[str, Any], db: Any) -> None:
    base = f"/api/v1/domains/{demo['domain']}/transfer-rules"
    rule = demo["financeiro"]
    assert (rule["ring_seconds"], rule["announce"]) == (None, False)
    for bad in (4, 121, "x"):
        refused = await client.patch(f"{base}/{rule['voice_transfer_rule_uuid']}", json={"ring_seconds": bad})
        assert refused.status_code == 422, refused.text
        assert "ring_seconds" in refused.text
    call = await _call(client, demo)
    turn = await _say(client, demo, call, "Preciso da segunda via do meu boleto")
    assert turn["action"] == "transfer"
    assert turn["transfer"] == {
        "destination": "203",
        "context": "demo.localhost",
        "department": "Financeiro",
        "ring_seconds": 30,
        "announce": False,
    }
    changed = await client.patch(
        f"{base}/{rule['voice_transfer_rule_uuid']}", json={"ring_seconds": 12, "announce": True}
    )
    assert changed.status_code == 200 and (changed.json()["ring_seconds"], changed.json()["announce"]) == (12, True)
    turn = await _say(client, demo, await _call(client, demo), "Preciso da segunda via do meu boleto")
    assert (turn["transfer"]["ring_seconds"], turn["transfer"]["announce"]) == (12, True)
    # the database checks it too: a hand-written row cannot hold a ring time no call flow honours
    with pytest.raises(Exception, match="ck_voice_transfer_rules_ring_seconds"):
        await db.execute("UPDATE v_voice_transfer_rules SET ring_seconds = 1")


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        ("NO_ANSWER", "O setor Financeiro não atendeu."),
        ("USER_BUSY", "O setor Financeiro está ocupado no momento."),
        ("DECLINED", "O setor Financeiro não pode atender agora."),
        ("NO_ROUTE_DESTINATION", "Não consegui transferir para o setor Financeiro."),
    ],
)
async def test_a_transfer_that_reached_nobody_comes_back(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any, cause: str, words: str
) -> None:
    call = await _call(client, demo)
    turn = await _say(client, demo, call, "Preciso da segunda via do meu boleto")
    assert turn["action"] == "transfer"
    back = await client.post(
        f"/api/v1/calls/{call}/transfer-failed",
        json={"domain_uuid": demo["domain"], "destination": "203", "context": "demo.localhost", "cause": cause},
    )
    assert back.status_code == 200, back.text
    said = back.json()
    assert said["action"] == "continue"
    assert said["response_text"].startswith(words) and said["response_text"].endswith(OFFER)
    assert "outro setor" in said["response_text"]
    audio = await client.get(said["audio_url"])
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert wav.getframerate() == 8000 and wav.getnframes() > 8000
    messages = await _messages(db, call)
    assert [m["text"] for m in messages if m["role"] == "system"] == [f"[transfer_failed] 203@demo.localhost {cause}"]
    last = [m for m in messages if m["role"] == "assistant"][-1]
    assert (last["text"], last["action"], last["turn_index"]) == (said["response_text"], "continue", 1)
    # the call goes on with the secretary: the next turn is the caller's answer to the offer
    again = await _say(client, demo, call, "Qual o horário de funcionamento?")
    assert again["turn"] == 2 and again["action"] in ("continue", "hangup")
    conversation = await db.fetchrow(
        "SELECT ended_at, transfer_destination, transfer_department FROM v_voice_conversations WHERE call_uuid = $1",
        call,
    )
    # nobody took the call: the conversation names no transfer (the call log must not show one)
    assert tuple(conversation) == (None, None, None)


async def test_a_failed_transfer_reported_after_the_end_reopens_the_call(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any
) -> None:
    """A flow that reported the end before putting the caller through (as the blind transfer does) re-opens the
    call with the same report."""
    call = await _call(client, demo)
    await _say(client, demo, call, "Preciso da segunda via do meu boleto")
    ended = await client.post(
        f"/api/v1/calls/{call}/end", json={"domain_uuid": demo["domain"], "outcome": "transferred"}
    )
    assert ended.status_code == 200
    back = await client.post(
        f"/api/v1/calls/{call}/transfer-failed",
        json={"domain_uuid": demo["domain"], "destination": "203", "context": "demo.localhost", "cause": "USER_BUSY"},
    )
    assert back.status_code == 200, back.text
    row = await db.fetchrow("SELECT ended_at, outcome FROM v_voice_conversations WHERE call_uuid = $1", call)
    assert (row["ended_at"], row["outcome"]) == (None, None)


async def test_the_operator_that_does_not_answer(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    call = await _call(client, demo)
    back = await client.post(
        f"/api/v1/calls/{call}/transfer-failed",
        json={"domain_uuid": demo["domain"], "destination": "200", "context": "demo.localhost", "cause": "NO_ANSWER"},
    )
    assert back.status_code == 200, back.text
    text = back.json()["response_text"]
    assert text.startswith("Nenhum atendente pôde atender agora.") and text.endswith(OFFER)


async def test_bad_reports(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    call = await _call(client, demo)
    url = f"/api/v1/calls/{call}/transfer-failed"
    body = {"domain_uuid": demo["domain"], "destination": "203", "context": "demo.localhost"}
    assert (await client.post(url, json={**body, "cause": "no answer; drop"})).status_code == 422
    assert (await client.post(url, json={**body, "destination": "2 03"})).status_code == 422
    other = {**body, "domain_uuid": str(uuid.uuid4())}
    assert (await client.post(url, json=other)).status_code == 404  # another tenant's call is not found
    assert (
        await client.post(f"/api/v1/calls/{call}/announcement", json={"domain_uuid": other["domain_uuid"]})
    ).status_code == 404
    await client.post(f"/api/v1/calls/{call}/end", json={"domain_uuid": demo["domain"], "outcome": "hangup"})
    assert (await client.post(url, json=body)).status_code == 409  # the caller is gone: nothing to say


async def test_the_announcement(client: httpx.AsyncClient, demo: dict[str, Any], db: Any) -> None:
    call = await _call(client, demo)
    await _say(client, demo, call, "Preciso da segunda via do meu boleto, por favor")
    answer = await client.post(f"/api/v1/calls/{call}/announcement", json={"domain_uuid": demo["domain"]})
    assert answer.status_code == 200, answer.text
    text = answer.json()["text"]
    assert text == (
        "Ligação de Maria 5 5 4 1 3 3 3 3 4 4 4 4. Assunto: Preciso da segunda via do meu boleto, por favor. "
        "Para atender, tecle 1."
    )
    assert (await client.get(answer.json()["audio_url"])).headers["content-type"] == "audio/wav"
    notes = [m["text"] for m in await _messages(db, call) if m["role"] == "system"]
    assert notes == [f"[announcement] {text}"]
    # nobody said anything yet, and no caller ID: still a line to say
    quiet = await _call(client, demo, caller=None)
    answer = await client.post(f"/api/v1/calls/{quiet}/announcement", json={"domain_uuid": demo["domain"]})
    assert answer.json()["text"] == "Ligação de Maria. Para atender, tecle 1."


async def test_the_announcement_by_the_tenants_llm(
    client: httpx.AsyncClient, demo: dict[str, Any], vendors: Any
) -> None:
    """With a model of its own the tenant's announcement says the reason in the model's one line (bounded: a model
    that fails leaves the caller's own words)."""
    call = await _call(client, demo)
    await _say(client, demo, call, "Preciso da segunda via do meu boleto")  # the built-in policy decides the turn
    config = {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "model": "summarizer"}
    added = await client.post(
        f"/api/v1/domains/{demo['domain']}/providers",
        json={"provider_type": "llm", "provider_name": "openai_compatible", "is_default": True, "config": config},
    )
    assert added.status_code == 201, added.text
    asked = len(vendors.requests)
    answer = await client.post(f"/api/v1/calls/{call}/announcement", json={"domain_uuid": demo["domain"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "Ligação de Maria 5 5 4 1 3 3 3 3 4 4 4 4. Assunto: ok. Para atender, tecle 1."
    assert len(vendors.requests) == asked + 1
    sent = vendors.requests[-1].body["messages"]
    assert (
        sent[0]["content"].startswith("Em uma linha curta") and "Caller: Preciso da segunda via" in sent[1]["content"]
    )
    vendors.script[:] = [500, 500, 500, 500]
    answer = await client.post(f"/api/v1/calls/{call}/announcement", json={"domain_uuid": demo["domain"]})
    assert "Assunto: Preciso da segunda via do meu boleto." in answer.json()["text"]


async def test_a_streaming_call_gets_the_reply_as_samples(
    runtime: Runtime, client: httpx.AsyncClient, demo: dict[str, Any], db: Any
) -> None:
    """The streaming flow plays the reply itself (the engine's ``transfer_failed``): the samples at the call's rate,
    synthesised the first time, from the 8 kHz cache the next; stored as the turn-based endpoint does."""
    from voice_ai.conversation.engine import CallEngine

    engine = CallEngine(runtime)
    for _ in range(2):
        call = await _call(client, demo)
        await _say(client, demo, call, "Preciso da segunda via do meu boleto")
        text, audio = await engine.transfer_failed(
            uuid.UUID(demo["domain"]),
            call,
            destination="203",
            context="demo.localhost",
            cause="USER_BUSY",
            sample_rate=16000,
        )
        assert text.startswith("O setor Financeiro está ocupado") and text.endswith(OFFER)
        assert audio is not None and audio.sample_rate == 16000 and audio.duration_s > 1
        messages = await _messages(db, call)
        assert [m["text"] for m in messages if m["role"] == "system"] == [
            "[transfer_failed] 203@demo.localhost USER_BUSY"
        ]
        assert [m["text"] for m in messages if m["role"] == "assistant"][-1] == text


async def test_a_streaming_call_gets_the_announcement_as_samples(
    runtime: Runtime, client: httpx.AsyncClient, demo: dict[str, Any], db: Any
) -> None:
    """The streaming flow stages the line on the FreeSWITCH host itself (the engine's ``announcement``): the same
    words and note as ``POST …/announcement``, with the samples at the call's rate."""
    from voice_ai.conversation.engine import CallEngine

    call = await _call(client, demo)
    await _say(client, demo, call, "Preciso da segunda via do meu boleto")
    text, audio = await CallEngine(runtime).announcement(uuid.UUID(demo["domain"]), call, sample_rate=16000)
    assert text.startswith("Ligação de Maria") and "segunda via" in text and text.endswith("tecle 1.")
    assert audio is not None and audio.sample_rate == 16000 and audio.duration_s > 1
    notes = [m["text"] for m in await _messages(db, call) if m["role"] == "system"]
    assert notes == [f"[announcement] {text}"]
