"""Taking a message (issue 13): the dialogue alone, then whole calls — turn-based with the built-in policy and with a
vendor's model (which never sees the capture), streaming through the engine — stored with the conversation, listed
and marked read through the API, and announced by the signed ``message.created`` webhook."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.receiver import ReceiverServer
from fakes.vendors import OPENAI_KEY
from voice_ai.conversation.engine import CallEngine
from voice_ai.conversation.message_taking import (
    MAX_CAPTURE_TURNS,
    Draft,
    advance,
    cancels,
    confirms,
    name_in,
    number_in,
    offered,
    wants_to_leave,
)
from voice_ai.conversation.phrases import phrase
from voice_ai.demo.seed import seed_demo
from voice_ai.providers.llm.prompting import opening_lines
from voice_ai.providers.types import Opening
from voice_ai.runtime import Runtime
from voice_ai.streaming.contracts import Heard

SECRET = "whsec_messages_0123456789"
OFFER = phrase("pt", "offer_message")
CALLER_ID = "+554133334444"


# -- the dialogue alone -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("Quero deixar um recado para o Carlos", True),
        ("Pode anotar uma mensagem?", True),
        ("Can I leave a message for her?", True),
        ("Recebi uma mensagem de vocês ontem", False),
        ("Qual o horário de funcionamento?", False),
        # a message to the caller is not a message left (review finding 9)
        ("Pode me mandar uma mensagem com o endereço?", False),
        ("Pode me passar a mensagem que ele deixou?", False),
        ("Can you send me a message with the address?", False),
        ("Quero passar um recado para a Júlia", True),
        ("Gostaria de registrar uma mensagem", True),
        ("Could you take a message?", True),
    ],
)
def test_a_caller_asking_to_leave_a_message(text: str, wanted: bool) -> None:
    assert wants_to_leave(text) is wanted


def test_names_numbers_and_answers_as_callers_say_them() -> None:
    assert name_in("Meu nome é João da Silva.") == "João da Silva"
    assert name_in("É a Maria.") == "Maria" and name_in("Sousa") == "Sousa"
    assert name_in("My name is John Smith") == "John Smith"
    assert number_in("É 11 98765-4321") == "11987654321"
    assert number_in("nove oito sete seis, cinco quatro") == "987654"
    assert number_in("sim") is None and number_in("ramal 20") is None
    assert confirms("Está correto.") and confirms("Sim, isso mesmo") and confirms("That's right")
    assert not confirms("Não, está errado") and not confirms("Está errado")
    assert cancels("Esquece, deixa pra lá") and cancels("Quero cancelar o recado")
    # while the message itself is said, a message about cancelling is a message
    assert not cancels("Quero cancelar a consulta de amanhã", saying_message=True)
    assert cancels("Deixa pra lá, não precisa", saying_message=True)


def test_the_capture_step_by_step() -> None:
    def step(draft: Draft | None, text: str, last: str = "", caller: str | None = CALLER_ID) -> Any:
        return advance(draft, text, language="pt-BR", last_said=last, caller_id=caller)

    assert step(None, "sim", last="Funcionamos das 8h às 18h.") is None  # no offer: the model answers
    # an answer to the offer that asks something else is for the model or policy ("quero" alone would be a yes)
    for other in ("Quero um orçamento do comercial", "Não, quero falar com o financeiro agora"):
        assert step(None, other, last=f"O Financeiro não atendeu. {OFFER}") is None
    assert step(None, "Quero sim", last=OFFER).say == phrase("pt", "message_ask_name")
    assert step(None, "Sim, meu nome é Ana Lima", last=OFFER).say == phrase("pt", "message_ask_name")
    assert step(None, "Não, obrigado", last=f"O Financeiro não atendeu. {OFFER}").say == phrase(
        "pt", "message_declined"
    )
    started = step(None, "Sim, por favor", last=f"O Financeiro não atendeu. {OFFER}")
    assert (
        started.say == phrase("pt", "message_ask_name")
        and started.draft == Draft("name")
        and started.status == "taking"
    )
    named = step(started.draft, "Meu nome é Ana Lima")
    assert named.say == "Obrigada, Ana Lima. Podemos retornar a ligação para o número 5 5 4 1 3 3 3 3 4 4 4 4?"
    assert named.draft == Draft("number", 0, "Ana Lima", "554133334444")
    numbered = step(named.draft, "Pode sim")
    assert numbered.say == phrase("pt", "message_ask_body") and numbered.draft.callback_number == "554133334444"
    said = step(numbered.draft, "O recado é que a reunião de amanhã mudou para as 15h.")
    assert said.draft.step == "confirm" and said.draft.body == "que a reunião de amanhã mudou para as 15h"
    assert said.say.startswith("Anotei: recado de Ana Lima, retorno no número 5 5 4 1") and said.say.endswith("?")
    wrong = step(said.draft, "Não, está errado")
    assert wrong.say == phrase("pt", "message_retake") and wrong.draft.step == "body"
    again = step(step(wrong.draft, "A reunião mudou para as 16h").draft, "Está correto")
    assert again.status == "new" and again.draft.body == "A reunião mudou para as 16h"

    # no caller ID: the number is asked for; a caller that denies the caller ID says another one
    asked = step(Draft("name"), "Carlos", caller=None)
    assert asked.say == phrase("pt", "message_ask_number") and asked.draft.callback_number is None
    unclear = step(asked.draft, "é o de casa", caller=None)
    assert unclear.say == phrase("pt", "message_ask_number_again") and unclear.draft.retries == 1
    assert step(unclear.draft, "um nove oito sete seis cinco", caller=None).draft.callback_number == "198765"
    denied = step(Draft("number", 0, "Ana", "554133334444"), "Não, anota 11 91234 5678")
    assert denied.draft.callback_number == "11912345678" and denied.draft.step == "body"
    assert step(Draft("number", 0, "Ana", "554133334444"), "Não").say == phrase("pt", "message_ask_number")
    gave_up = step(Draft("number", 2, "Ana", None), "não sei", caller=None)  # moves on without a number
    assert gave_up.draft.step == "body" and gave_up.draft.callback_number is None
    assert step(Draft("body", 0, "Ana"), "Esquece").status == "cancelled"
    english = advance(None, "I'd like to leave a message", language="en", last_said="", caller_id=None)
    assert english is not None and english.say == phrase("en", "message_ask_name")


@pytest.mark.parametrize(
    ("said", "wanted"),
    [
        ("O Financeiro está fechado agora e abre amanhã às 8h. Gostaria de deixar um recado?", True),
        ("O comercial abre às 9h. Posso anotar uma mensagem para eles?", True),
        ("Quer que eu anote um recado?", True),
        ("Sales is closed until Monday. Can I take a message?", True),
        ("Sales is closed. Would you like to leave a message for them?", True),
        ("Você recebeu a nossa mensagem?", False),  # no offer to take one
        ("Deixe um recado após o sinal. Posso ajudar em mais alguma coisa?", False),  # not the last question
        ("Quer deixar um recado? Ou prefere ligar amanhã.", False),  # the reply does not end with the offer
    ],
)
def test_an_offer_in_the_models_own_words(said: str, wanted: bool) -> None:
    """Review finding 3: a model told to offer a message may word the offer itself; its last question still starts the
    capture on a yes."""
    assert offered(said, "pt-BR") is wanted
    started = advance(None, "Sim", language="pt-BR", last_said=said, caller_id=CALLER_ID)
    assert (started is not None and started.draft == Draft("name")) is wanted


def test_the_capture_bounds_its_read_back_and_lets_the_caller_ask_for_someone() -> None:
    """Review finding 7: two corrections of the read-back, then the message is kept as said last (not confirmed); a
    clear request for a person or a department leaves the capture, except while the message itself is said."""

    def step(draft: Draft | None, text: str) -> Any:
        return advance(draft, text, language="pt-BR", last_said="", caller_id=CALLER_ID)

    draft = Draft("confirm", 0, "Ana", "554133334444", "Ligar amanhã")
    for body in ("Ligar amanhã cedo", "Ligar amanhã às 8h"):
        wrong = step(draft, "Não, está errado")
        assert wrong.say == phrase("pt", "message_retake") and wrong.status == "taking"
        draft = step(wrong.draft, body).draft
        assert draft.step == "confirm" and draft.body == body
    stored = step(draft, "Não")  # the third no: kept as said last, not confirmed, and the call goes on
    assert (stored.status, stored.confirmed, stored.draft.body) == ("new", False, "Ligar amanhã às 8h")
    assert stored.say == phrase("pt", "message_taken")
    unclear = Draft("confirm", 0, "Ana", None, "Ligar amanhã")
    for _ in range(2):  # neither yes nor no: read back again, twice
        unclear = step(unclear, "hein").draft
    assert step(unclear, "hein").status == "new" and not step(unclear, "hein").confirmed
    assert step(Draft("confirm", 0, "Ana", None, "x"), "Sim, pode passar para ele").confirmed

    # the longest capture (every question asked again, two corrections): MAX_CAPTURE_TURNS turns, then stored
    worst = ["Quero deixar um recado", "Meu nome é ...", "Meu nome é ...", "Meu nome é ...", "não sei", "não sei"]
    worst += ["não sei", "Ligar amanhã", "Não", "Ligar hoje", "Não", "Ligar já", "Não", "Não"]
    current: Draft | None = None
    turns = 0
    for text in worst:
        nxt, turns = step(current, text), turns + 1
        current = nxt.draft
        if nxt.status != "taking":
            break
    assert (turns, nxt.status, nxt.confirmed) == (MAX_CAPTURE_TURNS, "new", False)

    # a person or a department asked for: the capture ends there and the model or policy answers the turn
    for draft, text in (
        (Draft("name"), "Quero falar com o financeiro"),
        (Draft("name"), "Me passa para um atendente"),
        (Draft("number", 0, "Ana", "554133334444"), "Não, quero falar com uma pessoa"),
    ):
        left = step(draft, text)
        assert left is not None and left.say is None and left.status == "cancelled"
    said = step(Draft("confirm", 0, "Ana", None, "Ligar amanhã"), "Não, me transfere para o comercial")
    assert said.say is None and (said.status, said.confirmed, said.draft.body) == ("new", False, "Ligar amanhã")
    # not a way out: a name, a number, the message itself
    assert step(Draft("name"), "Ana Pessoa").draft.caller_name == "Ana Pessoa"
    assert step(Draft("number", 0, "Ana", "554133334444"), "Pode ligar pra esse mesmo").draft.step == "body"
    assert step(Draft("body", 0, "Ana"), "Quero falar com o João sobre a reunião").draft.step == "confirm"


def test_the_name_or_the_number_corrected_at_the_read_back() -> None:
    """A wrong name or number is fixed where the caller hears it: given at once it replaces the old one; said to be
    wrong it is asked for; either way the message is kept and read back again (one of the two corrections)."""

    def step(draft: Draft | None, text: str) -> Any:
        return advance(draft, text, language="pt-BR", last_said="", caller_id=CALLER_ID)

    heard = Draft("confirm", 0, "Ano", "554133334444", "Ligar amanhã")
    fixed = step(heard, "Não, meu nome é Ana Souza, o resto está certo")
    assert fixed.draft == Draft("confirm", 1, "Ana Souza", "554133334444", "Ligar amanhã")
    assert fixed.say is not None and fixed.say.startswith("Anotei: recado de Ana Souza, retorno no número 5 5 4 1")
    renumbered = step(heard, "O número está errado, é 11 98765 4321")
    assert (renumbered.draft.callback_number, renumbered.draft.caller_name) == ("11987654321", "Ano")
    assert "1 1 9 8 7 6 5 4 3 2 1" in (renumbered.say or "")
    asked = step(heard, "Não, o nome está errado")
    assert (asked.say, asked.draft.step, asked.status) == (phrase("pt", "message_fix_name"), "name", "taking")
    named = step(asked.draft, "Ana")
    assert named.draft == Draft("confirm", 1, "Ana", "554133334444", "Ligar amanhã")
    assert named.say is not None and named.say.startswith("Anotei: recado de Ana,")
    asked = step(heard, "o telefone não está certo")
    assert (asked.say, asked.draft.step) == (phrase("pt", "message_ask_number"), "number")
    numbered = step(asked.draft, "um um nove oito sete seis cinco quatro três dois um")
    assert numbered.draft == Draft("confirm", 1, "Ano", "11987654321", "Ligar amanhã")
    # the message itself wrong: asked again, as before; a third correction stores it as said last
    assert step(heard, "Não, o recado está errado").say == phrase("pt", "message_retake")
    done = step(replace_retries(fixed.draft, 2), "Não, meu nome é Ana Paula")
    assert (done.status, done.confirmed) == ("new", False)


def replace_retries(draft: Draft, retries: int) -> Draft:
    return Draft(draft.step, retries, draft.caller_name, draft.callback_number, draft.body)


# -- whole calls --------------------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Any:
    with ReceiverServer() as state:
        yield state


@pytest.fixture
async def tenant(runtime: Runtime, client: httpx.AsyncClient, receiver: Any) -> dict[str, str]:
    async with runtime.sessionmaker() as session, session.begin():
        seeded = await seed_demo(session)
    domain, secretary = str(seeded.domain_uuid), str(seeded.secretary_uuid)
    patched = await client.patch(
        f"/api/v1/domains/{domain}/secretaries/{secretary}",
        json={"max_turns": 30, "webhook_url": receiver.url, "webhook_secret": SECRET},
    )
    assert patched.status_code == 200, patched.text
    return {"domain": domain, "secretary": secretary}


async def _start(client: httpx.AsyncClient, tenant: dict[str, str], call: str, caller: str | None = CALLER_ID) -> Any:
    started = await client.post(
        "/api/v1/calls",
        json={"domain_uuid": tenant["domain"], "secretary": "8000", "call_uuid": call, "caller_id_number": caller},
    )
    assert started.status_code == 201, started.text
    return started.json()


async def _say(client: httpx.AsyncClient, tenant: dict[str, str], call: str, text: str) -> dict[str, Any]:
    response = await client.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": tenant["domain"], "text": text})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _until_received(receiver: Any, event: str, seconds: float = 30) -> Any:
    for _ in range(int(seconds * 10)):
        found = [r for r in receiver.received if r.headers.get("x-voiceai-event") == event]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {event} webhook received")


async def test_a_message_taken_on_a_turn_based_call(
    client: httpx.AsyncClient, tenant: dict[str, str], receiver: Any, new_domain: Any, db: Any
) -> None:
    call = f"call-{uuid.uuid4()}"
    await _start(client, tenant, call)
    replies = [
        await _say(client, tenant, call, text)
        for text in (
            "Quero deixar um recado para o Carlos",
            "Meu nome é Ana Lima",
            "Sim, pode ser",
            "Que a reunião de amanhã mudou para as 15h",
            "Está correto",
        )
    ]
    assert [r["response_text"] for r in replies[:2]] == [
        phrase("pt", "message_ask_name"),
        "Obrigada, Ana Lima. Podemos retornar a ligação para o número 5 5 4 1 3 3 3 3 4 4 4 4?",
    ]
    assert replies[2]["response_text"] == phrase("pt", "message_ask_body")
    assert "que a reunião de amanhã mudou para as 15h" in replies[3]["response_text"].lower()
    assert replies[4]["response_text"] == phrase("pt", "message_taken")
    assert all(r["action"] == "continue" and r["providers"]["dialog"] == "message_taking" for r in replies)
    assert all("llm" not in r["providers"] for r in replies)  # no model decided these turns

    base = f"/api/v1/domains/{tenant['domain']}"
    listed = (await client.get(f"{base}/caller-messages")).json()
    assert listed["total"] == 1
    message = listed["items"][0]
    assert message["status"] == "new" and message["confirmed"] is True and message["caller_name"] == "Ana Lima"
    assert message["callback_number"] == "554133334444" and message["taken_at"] is not None
    assert message["body"] == "Que a reunião de amanhã mudou para as 15h" and message["language"] == "pt-BR"

    # the call log: the list marks the call, the conversation shows the message
    conversations = (await client.get(f"{base}/conversations")).json()["items"]
    assert [c["caller_message_count"] for c in conversations] == [1]
    detail = (await client.get(f"{base}/conversations/{message['voice_conversation_uuid']}")).json()
    assert [m["voice_caller_message_uuid"] for m in detail["caller_messages"]] == [message["voice_caller_message_uuid"]]

    # the signed webhook, before the call even ended
    hook = await _until_received(receiver, "message.created")
    timestamp = hook.headers["x-voiceai-timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["x-voiceai-signature"] == f"sha256={expected}"
    sent = json.loads(hook.body)
    assert sent["event"] == "message.created" and sent["call_uuid"] == call
    assert sent["message"]["uuid"] == message["voice_caller_message_uuid"]
    assert sent["message"]["caller_name"] == "Ana Lima" and sent["caller"]["number"] == CALLER_ID

    # read, unread; another tenant sees nothing
    url = f"{base}/caller-messages/{message['voice_caller_message_uuid']}"
    read = await client.patch(url, json={"status": "read"})
    assert read.status_code == 200 and read.json()["status"] == "read" and read.json()["read_at"] is not None
    assert (await client.get(f"{base}/caller-messages", params={"status": "new"})).json()["total"] == 0
    unread = await client.patch(url, json={"status": "new"})
    assert unread.json()["status"] == "new" and unread.json()["read_at"] is None
    bad = await client.patch(url, json={"status": "taking"})
    assert bad.status_code == 422
    other = await new_domain()
    foreign = f"/api/v1/domains/{other}/caller-messages/{message['voice_caller_message_uuid']}"
    assert (await client.get(foreign)).status_code == 404
    assert (await client.patch(foreign, json={"status": "read"})).status_code == 404
    assert (await client.delete(foreign)).status_code == 404
    assert (await client.get(f"/api/v1/domains/{other}/caller-messages")).json()["total"] == 0

    # after the message the call goes on with the model as before
    after = await _say(client, tenant, call, "Qual o horário de funcionamento?")
    assert after["providers"].get("llm") and "dialog" not in after["providers"]


async def test_the_offer_with_a_vendors_model_and_a_cancelled_message(
    client: httpx.AsyncClient, tenant: dict[str, str], vendors: Any, db: Any
) -> None:
    config = {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "model": "gpt-test"}
    created = await client.post(
        f"/api/v1/domains/{tenant['domain']}/providers",
        json={"provider_type": "llm", "provider_name": "openai_compatible", "is_default": True, "config": config},
    )
    assert created.status_code == 201, created.text
    base = f"/api/v1/domains/{tenant['domain']}"
    # whoever offers a message ends with the offer (here the greeting itself: a secretary outside hours)
    greeting = f"Olá! Estamos fora do horário de atendimento. {OFFER}"
    await client.patch(f"{base}/secretaries/{tenant['secretary']}", json={"greeting": greeting})

    call = f"call-{uuid.uuid4()}"
    assert (await _start(client, tenant, call, caller=None))["greeting_text"] == greeting
    vendors.requests.clear()
    started = await _say(client, tenant, call, "Sim")
    assert started["response_text"] == phrase("pt", "message_ask_name")
    assert (await _say(client, tenant, call, "Carlos"))["response_text"] == phrase("pt", "message_ask_number")
    cancelled = await _say(client, tenant, call, "Esquece, não quero mais")
    assert cancelled["response_text"] == phrase("pt", "message_cancelled")
    assert not [r for r in vendors.requests if r.path.endswith("/chat/completions")]  # the model never saw them
    assert (await client.get(f"{base}/caller-messages")).json()["total"] == 0
    stored = (await client.get(f"{base}/caller-messages", params={"status": "cancelled"})).json()["items"]
    assert [(m["caller_name"], m["step"]) for m in stored] == [("Carlos", None)]
    assert (
        await client.patch(f"{base}/caller-messages/{stored[0]['voice_caller_message_uuid']}", json={"status": "read"})
    ).status_code == 409

    answered = await _say(client, tenant, call, "Qual o horário de funcionamento?")
    assert answered["providers"]["llm"].startswith("openai_compatible#")
    assert [r for r in vendors.requests if r.path.endswith("/chat/completions")]


async def test_a_message_taken_on_a_streaming_call(
    runtime: Runtime, client: httpx.AsyncClient, tenant: dict[str, str], receiver: Any, db: Any
) -> None:
    engine = CallEngine(runtime)
    domain, call = uuid.UUID(tenant["domain"]), f"call-{uuid.uuid4()}"
    await engine.start_stream(
        domain,
        "8000",
        call,
        caller_id_number="2001",
        caller_id_name="Ramal",
        destination_number="8000",
        sample_rate=16000,
    )
    said = []
    for text in ("Pode anotar um recado?", "É o Pedro", "sim", "Liga para mim depois do almoço", "Isso mesmo"):
        reply = engine.respond(domain, call, Heard(text, "test-stt", 5.0), sample_rate=16000)
        parts = [part async for part in reply]
        assert parts and parts[0].audio is not None and parts[0].audio.sample_rate == 16000
        await reply.commit()
        said.append(reply.text)
        assert reply.action.kind == "continue" and reply.providers["dialog"] == "message_taking"
    assert said[0] == phrase("pt", "message_ask_name")
    assert said[1] == "Obrigada, Pedro. Podemos retornar a ligação para o número 2 0 0 1?"
    assert said[3].startswith("Anotei: recado de Pedro, retorno no número 2 0 0 1: Liga para mim depois do almoço.")
    assert said[4] == phrase("pt", "message_taken")
    rows = await db.fetch(
        "SELECT status, caller_name, callback_number, body FROM v_voice_caller_messages WHERE domain_uuid = $1", domain
    )
    assert [tuple(r) for r in rows] == [("new", "Pedro", "2001", "Liga para mim depois do almoço")]
    hook = await _until_received(receiver, "message.created")
    assert json.loads(hook.body)["message"]["callback_number"] == "2001"


async def test_a_caller_who_hangs_up_during_the_capture_loses_nothing(
    client: httpx.AsyncClient, tenant: dict[str, str], receiver: Any, db: Any
) -> None:
    base = f"/api/v1/domains/{tenant['domain']}"
    said, unsaid = f"call-{uuid.uuid4()}", f"call-{uuid.uuid4()}"
    for call in (said, unsaid):
        await _start(client, tenant, call)
        await _say(client, tenant, call, "Quero deixar um recado")
        await _say(client, tenant, call, "Bruno")
    await _say(client, tenant, said, "sim")
    readback = await _say(client, tenant, said, "Preciso da nota fiscal de novembro")
    assert readback["response_text"].endswith("Está correto?")
    for call in (said, unsaid):  # both hang up before confirming
        ended = await client.post(
            f"/api/v1/calls/{call}/end", json={"domain_uuid": tenant["domain"], "outcome": "hangup"}
        )
        assert ended.status_code == 200, ended.text
    kept = (await client.get(f"{base}/caller-messages")).json()["items"]
    assert [(m["caller_name"], m["body"], m["confirmed"], m["status"]) for m in kept] == [
        ("Bruno", "Preciso da nota fiscal de novembro", False, "new")
    ]
    cancelled = (await client.get(f"{base}/caller-messages", params={"status": "cancelled"})).json()["items"]
    assert [(m["caller_name"], m["body"]) for m in cancelled] == [("Bruno", None)]
    assert (await client.get(f"{base}/caller-messages", params={"status": "taking"})).json()["total"] == 0
    hook = await _until_received(receiver, "message.created")
    assert json.loads(hook.body)["message"] | {"uuid": None, "taken_at": None} == {
        "uuid": None,
        "taken_at": None,
        "caller_name": "Bruno",
        "callback_number": "554133334444",
        "body": "Preciso da nota fiscal de novembro",
        "confirmed": False,
        "language": "pt-BR",
    }


async def test_a_models_own_offer_of_a_message_takes_it(
    client: httpx.AsyncClient, tenant: dict[str, str], vendors: Any, receiver: Any
) -> None:
    """Review finding 3: an OpenAI-compatible model (the fake vendor, on the wire) offers the message in its own words;
    the caller's yes starts the capture, and the message is stored and announced — not lost in free talk."""
    config = {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "model": "gpt-test"}
    created = await client.post(
        f"/api/v1/domains/{tenant['domain']}/providers",
        json={"provider_type": "llm", "provider_name": "openai_compatible", "is_default": True, "config": config},
    )
    assert created.status_code == 201, created.text
    offer = "O Financeiro está fechado agora e abre amanhã às 8h. Gostaria de deixar um recado?"
    vendors.reply = {"response": offer, "action": "continue"}
    call = f"call-{uuid.uuid4()}"
    await _start(client, tenant, call)
    first = await _say(client, tenant, call, "Preciso falar com o financeiro sobre um boleto")
    assert first["response_text"] == offer and first["providers"]["llm"].startswith("openai_compatible#")
    replies = [
        await _say(client, tenant, call, text)
        for text in ("Sim", "Joana Prado", "Pode ser", "O boleto de novembro veio em dobro", "Isso mesmo")
    ]
    assert replies[0]["response_text"] == phrase("pt", "message_ask_name")
    assert replies[-1]["response_text"] == phrase("pt", "message_taken")
    assert all(r["providers"].get("dialog") == "message_taking" and "llm" not in r["providers"] for r in replies)
    items = (await client.get(f"/api/v1/domains/{tenant['domain']}/caller-messages")).json()["items"]
    assert [(m["caller_name"], m["body"], m["confirmed"]) for m in items] == [
        ("Joana Prado", "O boleto de novembro veio em dobro", True)
    ]
    assert json.loads((await _until_received(receiver, "message.created")).body)["message"]["caller_name"] == (
        "Joana Prado"
    )


def test_the_prompt_asks_for_the_exact_offer() -> None:
    """Review finding 3: a closed department (or company) is to be offered a message with the exact phrase."""
    lines = "\n".join(opening_lines(Opening("segunda 20:00", False, "terça 08:00", {"Financeiro": "terça 08:00"})))
    assert f'"{phrase("pt-BR", "offer_message")}"' in lines
    english = "\n".join(opening_lines(Opening("Monday 20:00", True, None, {"Sales": "Tuesday 08:00"}), "en"))
    assert f'"{phrase("en", "offer_message")}"' in english


async def test_capture_turns_do_not_count_against_the_turn_limit(
    client: httpx.AsyncClient, tenant: dict[str, str], db: Any
) -> None:
    """Review finding 7: with ``max_turns`` 3 a message taken over seven turns (one correction) is not cut by the
    limit, which ends the call at the turn that stores it; a request for a department leaves a capture."""
    base = f"/api/v1/domains/{tenant['domain']}"
    patched = await client.patch(f"{base}/secretaries/{tenant['secretary']}", json={"max_turns": 3})
    assert patched.status_code == 200, patched.text
    call = f"call-{uuid.uuid4()}"
    await _start(client, tenant, call)
    assert (await _say(client, tenant, call, "Qual o horário de funcionamento?"))["action"] == "continue"  # counted 1
    capture = [
        await _say(client, tenant, call, text)
        for text in (
            "Quero deixar um recado",
            "Rita Alves",
            "sim",
            "Ligar amanhã",
            "Não, está errado",
            "Ligar amanhã às 10h",
            "Está correto",
        )
    ]
    assert all(r["action"] == "continue" for r in capture[:-1]), [r["response_text"] for r in capture]
    # the limit waited for the message: stored, then the goodbye
    assert capture[-1]["action"] == "hangup" and capture[-1]["response_text"].startswith(phrase("pt", "message_taken"))

    other = f"call-{uuid.uuid4()}"  # a request for a department during the capture leaves it
    await _start(client, tenant, other)
    assert (await _say(client, tenant, other, "Quero deixar um recado"))["response_text"] == phrase(
        "pt", "message_ask_name"
    )
    asked = await _say(client, tenant, other, "Na verdade quero falar com o financeiro")
    assert "dialog" not in asked["providers"] and asked["action"] == "transfer", asked
    rows = await db.fetch(
        "SELECT status, caller_name, body, confirmed FROM v_voice_caller_messages WHERE domain_uuid = $1"
        " ORDER BY insert_date",
        uuid.UUID(tenant["domain"]),
    )
    assert [tuple(r) for r in rows] == [
        ("new", "Rita Alves", "Ligar amanhã às 10h", True),
        ("cancelled", None, None, False),
    ]


def test_the_call_flows_loop_guard_leaves_room_for_a_capture() -> None:
    """The Lua call flow ends a call the service never ends at ``max_turns`` + its margin: the margin must cover the
    longest capture, which the service lets run past the limit."""
    lua = (Path(__file__).parents[1] / "telephony/freeswitch/scripts/voice_ai/callflow.lua").read_text()
    found = re.search(r"local CAPTURE_TURNS = (\d+)", lua)
    assert found is not None and int(found.group(1)) >= MAX_CAPTURE_TURNS
