"""Taking a message: the caller's name, the number to call back (the caller ID, confirmed — or one the caller says)
and the message, read back and confirmed, then stored with the conversation and announced (``message.created``
through the secretary's signed webhook, and by e-mail to the secretary's ``message_email``:
:mod:`voice_ai.services.message_email`).

The capture is deterministic and run by the engine before the LLM, for turn-based and streaming calls alike: the
model (a vendor's or the built-in dialog policy) never sees these turns, so a message is taken the same way whatever
answers the rest of the call. It starts when

- the secretary's last reply ended with the offer (``phrase(language, "offer_message")``, said by whoever offers a
  message: outside opening hours, after a transfer that came back; or a model's own last question offering one,
  "Gostaria de deixar um recado?") and the caller says yes — a no is answered "Tudo bem. Posso ajudar em mais
  alguma coisa?" —, or
- the caller asks to leave a message ("quero deixar um recado", "can I leave a message"; not "me mande uma
  mensagem").

Then, one question per turn (``v_voice_caller_messages.step`` says which was asked last):

``name`` → ``number`` (the caller ID read back digit by digit for a yes, or asked for; digits may be spoken as
words; after two answers without a number the caller ID, if any, is kept) → ``body`` → ``confirm`` (the whole
message read back: yes stores it as ``new``; a name or number given there ("não, meu nome é Ana", "o número é
11 9…") replaces it and the message is read back again; "o nome está errado" / "o número está errado" asks for it,
then reads back; any other no asks the message again — two corrections, then it is stored unconfirmed). "Cancelar", "esquece", "never mind"… at any step cancel it; a request for a person or a department
leaves it (except while the message is said) and the model answers. ``max_turns`` waits for the turn that stores
it (:func:`capturing`). All the state is in the database (the row being taken, status ``taking``), so any service
instance serves any turn. An empty transcript during the capture is a silent turn as any other ("pode repetir?").

:func:`advance` is the dialogue alone (pure, no I/O); :func:`take_message` runs it for a turn and stores the result
in one short transaction, with the webhook's outbox row when the message is confirmed.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.conversation.actions import Action
from voice_ai.conversation.phrases import phrase
from voice_ai.db.models import CallerMessage, Conversation, Secretary
from voice_ai.db.repositories.caller_messages import CallerMessageRepository
from voice_ai.db.repositories.entities import SecretaryRepository, WebhookDeliveryRepository
from voice_ai.providers.llm.policy.dialog import affirms, denies
from voice_ai.providers.llm.policy.intents import REQUEST, asks_for_person, asks_for_transfer
from voice_ai.providers.llm.text import fold
from voice_ai.services.message_email import SCHEME as MAILTO

logger = logging.getLogger(__name__)

Step = Literal["name", "number", "body", "confirm"]
Status = Literal["taking", "new", "cancelled"]
MAX_RETRIES = 2  # answers without a usable name or number before the secretary moves on
MAX_READBACKS = 2  # corrections or unclear answers to the read-back before the message is stored unconfirmed
# the longest capture: the start, the name and the number (each asked up to three times), the message, and the
# read-back with two corrections (three read-backs, two more messages) — the turn that stores it included
MAX_CAPTURE_TURNS = 1 + (1 + MAX_RETRIES) * 2 + 1 + (1 + MAX_READBACKS) + MAX_READBACKS
MIN_NUMBER_DIGITS = 4  # an extension (2001) or a phone number; fewer digits are not a number to call back
MAX_NAME = 120
MAX_BODY = 2000
EVENT = "message.created"

# Leaving (or taking) a message for someone: "quero deixar um recado", "pode anotar uma mensagem?", "can I leave a
# message". Not a message *to* the caller: "pode me mandar uma mensagem com o endereço", "can you send me a message"
# (no mandar/send at all, and no verb right after "me").
LEAVE = re.compile(
    r"(?<!\bme )\b(deixar|deixo|deixa|deixe|passar|passo|anotar|anota|anote|gravar|registrar|registra|registre)\b"
    r".{0,20}\b(recado|mensagem)\b"
    r"|(?<!\bme )\b(leave|take)\b.{0,20}\bmessage\b"
)
# The last question of a reply offers a message ("Gostaria de deixar um recado?", "Posso anotar uma mensagem para
# ele?", "Can I take a message?"): a model that worded the offer itself instead of ending with the exact phrase.
OFFER_VERB = re.compile(r"\b(deixar|deixe|anotar|anote|anoto|registrar|registre|passar|passe|leave|take)\b")
OFFER_NOUN = re.compile(r"\b(recado|mensagem|message)\b")
_SENTENCE = re.compile(r"[^.!?]*[.!?]*")
GIVE_UP = r"esquece|esqueca|deixa pra la|deixa para la|desisto|nao quero mais|never ?mind|forget it"
CANCEL = re.compile(rf"\b(cancela|cancelar|cancele|cancel|{GIVE_UP})\b")
GIVES_UP = re.compile(rf"^\W*({GIVE_UP})\b")  # while the message is said: "cancelar a consulta" is a message
CONFIRMED = re.compile(r"\b(certo|correto|certinho|perfeito|otimo|exato|isso|sim|yes|right|correct|perfect)\b")
CORRECTION = re.compile(r"\b(errado|incorreto|nao esta|nao e isso|wrong|not right|incorrect)\b")
NAME_PREFIX = re.compile(
    r"^\s*(sim|claro|pode|ok|yes|sure)?[\s,.!]*(o |a )?(meu nome e|meu nome|aqui e|aqui quem fala e|quem fala e|"
    r"e o|e a|eu sou|sou o|sou a|sou|me chamo|my name is|my name's|this is|i am|i'm|it's|it is|name's)\s+"
)
# a name corrected at the read-back ("não, meu nome é Ana", "o nome certo é João Silva", "my name is Anne")
NAME_FIX = re.compile(
    r"\b(meu nome e|meu nome certo e|o nome e|o nome certo e|o nome correto e|me chamo|my name is|the name is|"
    r"it's|the right name is)\s+([a-z][a-z' -]{0,79}?)\s*(?=[,.;!?]|$|\se o\b|\se a\b|\se meu\b|\sand\b)"
)
NAME_WRONG = re.compile(r"\b(nome|name)\b")
NUMBER_WRONG = re.compile(r"\b(numero|telefone|celular|contato|number|phone)\b")
BODY_PREFIX = re.compile(r"^\s*(o recado e|a mensagem e|o recado|recado|my message is|the message is|message)[\s:,]+")
DIGIT_WORDS = {
    "zero": "0", "um": "1", "uma": "1", "dois": "2", "duas": "2", "tres": "3", "quatro": "4", "cinco": "5",
    "seis": "6", "meia": "6", "sete": "7", "oito": "8", "nove": "9",
    "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9",
}  # fmt: skip
_TOKEN = re.compile(r"\d+|[a-z]+")
OFFER_ANSWER_WORDS = 3  # "sim, por favor", "não, obrigado": a longer answer to the offer may ask something else
PLAIN_ANSWER = {"sim", "claro", "pode", "yes", "sure", "ok", "okay", "please"}  # a yes whatever follows


@dataclass(frozen=True)
class Draft:
    """A message being taken: the step asked last and what the caller gave so far."""

    step: Step
    retries: int = 0
    caller_name: str | None = None
    callback_number: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class Next:
    """What a turn of the capture says, and the message after it (``status`` None: nothing to store). ``say`` None:
    the caller left the capture for another request (a person, a department) — the model or policy answers the turn
    once the message is stored as ``status``. ``confirmed``: a ``new`` message the caller said yes to."""

    say: str | None
    draft: Draft | None
    status: Status | None
    confirmed: bool = True


@dataclass(frozen=True)
class MessageState:
    """What a turn reads for message taking (in the turn's first transaction): the message being taken in this call
    and the call's caller ID."""

    taking: CallerMessage | None
    caller_id_number: str | None
    caller_id_name: str | None
    call_uuid: str
    capturing: bool = False  # this turn leaves a message being taken (set by take_message): max_turns waits


async def read_state(session: AsyncSession, domain_uuid: uuid.UUID, conversation: Conversation) -> MessageState:
    taking = await CallerMessageRepository(session).taking(domain_uuid, conversation.voice_conversation_uuid)
    return MessageState(taking, conversation.caller_id_number, conversation.caller_id_name, conversation.call_uuid)


def fixed(language: str) -> set[str]:
    """The capture's phrases said word for word (cached as audio like the secretary's other fixed phrases)."""
    keys = (
        "message_ask_name",
        "message_ask_name_again",
        "message_ask_number",
        "message_ask_number_again",
        "message_ask_body",
        "message_retake",
        "message_taken",
        "message_cancelled",
        "message_declined",
    )
    return {phrase(language, key) for key in keys}


# -- what the caller said ---------------------------------------------------------------------------------------


def wants_to_leave(text: str) -> bool:
    """The caller asks to leave a message ("quero deixar um recado", "pode anotar uma mensagem", "leave a
    message")."""
    return bool(LEAVE.search(fold(text)))


def offered(last_said: str, language: str) -> bool:
    """The secretary's last reply ended with the offer of a message (in the call's language or the other): the exact
    phrase, or a last question of the model's own words that offers one ("…abre amanhã às 8h. Gostaria de deixar um
    recado?") — a model asked for the exact phrase may still word it itself."""
    said = last_said.strip()
    if any(said.endswith(phrase(lang, "offer_message")) for lang in (language, "pt", "en")):
        return True
    return offers_message(said)


def offers_message(said: str) -> bool:
    """The reply ends with a question that offers to take a message (a verb of leaving/taking and recado/mensagem/
    message in that last question)."""
    said = said.strip().rstrip("\"'»” ")
    if not said.endswith("?"):
        return False
    sentences = [m.group(0) for m in _SENTENCE.finditer(said) if m.group(0).strip()]
    last = fold(sentences[-1]) if sentences else ""
    return bool(OFFER_VERB.search(last) and OFFER_NOUN.search(last))


def answers_offer(text: str) -> bool:
    """A plain yes or no to the offer ("sim, por favor", "não, obrigado", "quero sim"), or one that starts with an
    unmistakable yes/no word: "quero um orçamento do comercial" or "não, quero falar com o financeiro" is another
    request, for the model or policy to answer (a bare "quero" is a yes in Portuguese; a "quero …" sentence is not)."""
    words = _TOKEN.findall(fold(text))
    return len(words) <= OFFER_ANSWER_WORDS or bool(words and words[0] in PLAIN_ANSWER and len(words) <= 8)


def cancels(text: str, *, saying_message: bool = False) -> bool:
    """The caller gives up the message. While the message itself is said, only an answer that starts by giving up
    ("esquece", "deixa pra lá", "never mind") counts: "cancelar a consulta de amanhã" is a message."""
    folded = fold(text)
    return bool(GIVES_UP.search(folded) if saying_message else CANCEL.search(folded))


def asks_elsewhere(text: str) -> bool:
    """A clear request for a person or a department ("quero falar com o financeiro", "me passa para um atendente",
    "quero um atendente"): a transfer verb, or a person asked for with a request word ("Ana Pessoa" is a name)."""
    return asks_for_transfer(text) or (asks_for_person(text) and bool(REQUEST.search(fold(text))))


def confirms(text: str) -> bool:
    """A yes to the read-back ("sim", "está correto", "isso mesmo", "that's right")."""
    if denies(text) or CORRECTION.search(fold(text)):
        return False
    return affirms(text) or (len(text.split()) <= 5 and bool(CONFIRMED.search(fold(text))))


def corrects(text: str) -> bool:
    return denies(text) or bool(CORRECTION.search(fold(text)))


def number_in(text: str) -> str | None:
    """The digits the caller said, written or as words ("onze 9 8 7…" keeps the written ones; "nove oito sete…"),
    in order; None when fewer than ``MIN_NUMBER_DIGITS``."""
    digits = "".join(t if t.isdigit() else DIGIT_WORDS.get(t, "") for t in _TOKEN.findall(fold(text)))
    return digits if len(digits) >= MIN_NUMBER_DIGITS else None


def caller_digits(caller_id: str | None) -> str | None:
    digits = re.sub(r"\D", "", caller_id or "")
    return digits if len(digits) >= MIN_NUMBER_DIGITS else None


def spoken_number(digits: str) -> str:
    """Digits read one by one ("1 1 9 8 …"), the way a receptionist confirms a number."""
    return " ".join(digits)


def _strip(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` without the prefix ``pattern`` finds in its folded form (folding keeps the length of these
    letters), and without the punctuation around it."""
    folded = fold(text)
    found = pattern.match(folded)
    kept = text[found.end() :] if found and len(folded) == len(text) else text
    return kept.strip(" \t\n.,;:!?\"'")


def name_in(text: str) -> str:
    """The caller's name without "meu nome é", "aqui é o", "my name is"…"""
    return _strip(text, NAME_PREFIX)[:MAX_NAME]


def body_in(text: str) -> str:
    return _strip(text, BODY_PREFIX)[:MAX_BODY]


def fixed_name(text: str) -> str | None:
    """A name the caller gives to correct the read-back, as written (None when none is given)."""
    folded = fold(text)
    found = NAME_FIX.search(folded)
    if found is None or len(folded) != len(text):
        return None
    name = text[found.start(2) : found.end(2)].strip(" '-")
    return name[:MAX_NAME] or None


# -- the dialogue ------------------------------------------------------------------------------------------------


def readback(draft: Draft, language: str) -> str:
    name = draft.caller_name or "?"
    body = draft.body or ""
    if draft.callback_number:
        return phrase(language, "message_readback", name=name, number=spoken_number(draft.callback_number), body=body)
    return phrase(language, "message_readback_no_number", name=name, body=body)


def advance(
    draft: Draft | None, transcript: str, *, language: str, last_said: str, caller_id: str | None
) -> Next | None:
    """The capture's next turn for what the caller said (``transcript``, not empty); None when no message is being
    taken and this turn starts none (the LLM answers it)."""
    if draft is None:
        if wants_to_leave(transcript):
            return Next(phrase(language, "message_ask_name"), Draft("name"), "taking")
        if not offered(last_said, language) or not answers_offer(transcript):
            return None  # no offer, or an answer that asks something else ("quero um orçamento do comercial")
        if denies(transcript):
            return Next(phrase(language, "message_declined"), None, None)
        if affirms(transcript):
            return Next(phrase(language, "message_ask_name"), Draft("name"), "taking")
        return None
    if cancels(transcript, saying_message=draft.step == "body"):
        return Next(phrase(language, "message_cancelled"), None, "cancelled")
    if draft.step == "name" and draft.body is not None:  # the name corrected at the read-back: then read back again
        taken = replace(draft, step="confirm", caller_name=name_in(transcript) or transcript.strip()[:MAX_NAME])
        return Next(readback(taken, language), taken, "taking")
    if draft.step == "number" and draft.body is not None:  # the number corrected at the read-back
        said = number_in(transcript)
        taken = replace(draft, step="confirm", callback_number=said or caller_digits(caller_id))
        return Next(readback(taken, language), taken, "taking")
    if draft.step == "name":
        if asks_elsewhere(transcript):
            return Next(None, None, "cancelled")  # "quero falar com o financeiro": for the model or policy
        name = name_in(transcript)
        if not name and draft.retries < MAX_RETRIES:
            return Next(phrase(language, "message_ask_name_again"), replace(draft, retries=draft.retries + 1), "taking")
        name = name or transcript.strip()[:MAX_NAME]
        known = caller_digits(caller_id)
        if known:
            say = phrase(language, "message_confirm_number", name=name, number=spoken_number(known))
            return Next(say, Draft("number", 0, name, known), "taking")
        return Next(phrase(language, "message_ask_number"), Draft("number", 0, name, None), "taking")
    if draft.step == "number":
        said = number_in(transcript)
        if said:
            return Next(
                phrase(language, "message_ask_body"),
                replace(draft, step="body", callback_number=said, retries=0),
                "taking",
            )
        if draft.callback_number and affirms(transcript):
            return Next(phrase(language, "message_ask_body"), replace(draft, step="body", retries=0), "taking")
        if asks_elsewhere(transcript):
            return Next(None, None, "cancelled")
        if draft.retries >= MAX_RETRIES:  # move on: the caller ID (if any) is the number to call back
            known = caller_digits(caller_id)
            return Next(
                phrase(language, "message_ask_body"),
                replace(draft, step="body", callback_number=known, retries=0),
                "taking",
            )
        again = "message_ask_number" if draft.callback_number else "message_ask_number_again"
        return Next(phrase(language, again), replace(draft, retries=draft.retries + 1, callback_number=None), "taking")
    if draft.step == "body":  # no way out but giving up: "quero falar com o João sobre a reunião" is a message
        body = body_in(transcript) or transcript.strip()[:MAX_BODY]
        taken = replace(draft, step="confirm", body=body)  # retries: the read-backs corrected so far
        return Next(readback(taken, language), taken, "taking")
    # confirm
    if confirms(transcript):
        return Next(phrase(language, "message_taken"), draft, "new")
    if asks_elsewhere(transcript):  # the message was said: kept (unconfirmed), and the model answers the request
        return Next(None, draft, "new", confirmed=False)
    if draft.retries >= MAX_READBACKS:  # a third no (or unclear answer): stored as said last, not confirmed
        return Next(phrase(language, "message_taken"), draft, "new", confirmed=False)
    # a correction of the name or the number, given at once ("não, meu nome é Ana"; "o número é 11 9…"): read back
    fixed, number = fixed_name(transcript), number_in(transcript)
    if fixed or number:
        taken = replace(
            draft,
            caller_name=fixed or draft.caller_name,
            callback_number=number or draft.callback_number,
            retries=draft.retries + 1,
        )
        return Next(readback(taken, language), taken, "taking")
    if corrects(transcript):
        folded = fold(transcript)
        if NAME_WRONG.search(folded):  # "o nome está errado": asked, then read back (the message is kept)
            return Next(
                phrase(language, "message_fix_name"), replace(draft, step="name", retries=draft.retries + 1), "taking"
            )
        if NUMBER_WRONG.search(folded):
            return Next(
                phrase(language, "message_ask_number"),
                replace(draft, step="number", retries=draft.retries + 1),
                "taking",
            )
        return Next(
            phrase(language, "message_retake"), replace(draft, step="body", retries=draft.retries + 1), "taking"
        )
    # neither yes nor no: the read-back again
    return Next(readback(draft, language), replace(draft, retries=draft.retries + 1), "taking")


# -- a turn ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """A turn the capture answered: what to say, the action (always ``continue``), the message stored as ``new`` in
    this turn (its webhook queued), if any."""

    response: str
    action: Action
    message_uuid: uuid.UUID | None = None


def _draft(row: CallerMessage | None) -> Draft | None:
    if row is None or row.step is None:
        return None
    step: Step = row.step  # type: ignore[assignment]
    return Draft(step, row.retries, row.caller_name, row.callback_number, row.body)


def _last_said(history: list[Any]) -> str:
    said = [m for m in history if getattr(m, "role", None) == "assistant" and (m.text or "").strip()]
    return str(said[-1].text) if said else ""


async def take_message(runtime: Any, domain_uuid: uuid.UUID, turn: Any, transcript: str) -> Taken | None:
    """Run the capture for a turn (``turn``: :class:`voice_ai.conversation.prepare.TurnContext`); None when it does
    not answer this turn. Stores the message in one short transaction (no provider works meanwhile) and queues the
    ``message.created`` webhook after it commits."""
    state: MessageState | None = getattr(turn, "message_state", None)
    if state is None:
        return None
    nxt = advance(
        _draft(state.taking),
        transcript,
        language=turn.language,
        last_said=_last_said(turn.history),
        caller_id=state.caller_id_number,
    )
    if nxt is None:
        return None
    created: uuid.UUID | None = None
    deliveries: list[uuid.UUID] = []
    if nxt.status is not None:
        created, deliveries = await _store(runtime, domain_uuid, turn, state, nxt)
    await queue_deliveries(runtime, domain_uuid, deliveries)
    if nxt.say is None:  # the caller left the capture for another request: the model or policy answers it
        return None
    turn.message_state = replace(state, capturing=nxt.status == "taking")
    return Taken(nxt.say, Action("continue"), created)


def capturing(turn: Any) -> bool:
    """This turn leaves a message being taken: the secretary's ``max_turns`` does not end the call now — it ends at
    the turn that stores (or cancels) the message. A capture bounds itself (two retries per question, two read-back
    corrections: at most ``MAX_CAPTURE_TURNS`` turns), so the limit is exceeded by that much at most, once."""
    state: MessageState | None = getattr(turn, "message_state", None)
    return state is not None and state.capturing


async def _store(
    runtime: Any, domain_uuid: uuid.UUID, turn: Any, state: MessageState, nxt: Next
) -> tuple[uuid.UUID | None, list[uuid.UUID]]:
    """Store the capture's step: (the message confirmed now, its deliveries) — or (None, [])."""
    draft = nxt.draft
    values: dict[str, Any] = {
        "status": nxt.status,
        "step": draft.step if draft is not None and nxt.status == "taking" else None,
    }
    if draft is not None:
        values |= {
            "retries": draft.retries,
            "caller_name": draft.caller_name,
            "callback_number": draft.callback_number,
            "body": draft.body,
        }
    if nxt.status == "new":
        values |= {"taken_at": datetime.now(UTC), "confirmed": nxt.confirmed}
    async with runtime.sessionmaker() as session, session.begin():
        repo = CallerMessageRepository(session)
        row = await repo.taking(domain_uuid, turn.conversation_uuid, for_update=True)
        if row is None:
            if nxt.status != "taking" or state.taking is not None:
                return None, []  # finished or cancelled by another turn meanwhile
            row = await repo.create(
                domain_uuid,
                values | {"voice_conversation_uuid": turn.conversation_uuid, "language": turn.language},
            )
            return None, []
        row = await repo.update(row, values)
        if nxt.status != "new":
            return None, []
        return row.voice_caller_message_uuid, await _deliveries(session, domain_uuid, turn.secretary, state, row)


def payload(row: CallerMessage, secretary: Secretary | None, state: MessageState) -> dict[str, Any]:
    """The ``message.created`` event (signed and delivered like ``call.ended``)."""
    return {
        "event": EVENT,
        "domain_uuid": str(row.domain_uuid),
        "conversation_uuid": str(row.voice_conversation_uuid),
        "call_uuid": state.call_uuid,
        "secretary": {"uuid": str(secretary.voice_secretary_uuid), "name": secretary.name} if secretary else None,
        "caller": {"number": state.caller_id_number, "name": state.caller_id_name},
        "message": {
            "uuid": str(row.voice_caller_message_uuid),
            "caller_name": row.caller_name,
            "callback_number": row.callback_number,
            "body": row.body,
            "confirmed": row.confirmed,
            "language": row.language,
            "taken_at": row.taken_at.isoformat() if row.taken_at else None,
        },
    }


async def _deliveries(
    session: AsyncSession, domain_uuid: uuid.UUID, secretary: Secretary, state: MessageState, row: CallerMessage
) -> list[uuid.UUID]:
    """The message's outbox rows, in the caller's transaction: the secretary's webhook and its e-mail
    (``mailto:``, :mod:`voice_ai.services.message_email`), each when set."""
    event = payload(row, secretary, state)
    urls = [secretary.webhook_url] if secretary.webhook_url else []
    if secretary.message_email:
        urls.append(MAILTO + ",".join(a.strip() for a in secretary.message_email.split(",") if a.strip()))
    created = []
    for url in urls:
        delivery = await WebhookDeliveryRepository(session).create(
            domain_uuid, {"voice_conversation_uuid": row.voice_conversation_uuid, "url": url, "payload": event}
        )
        created.append(delivery.voice_ai_webhook_delivery_uuid)
    return created


async def queue_deliveries(runtime: Any, domain_uuid: uuid.UUID, deliveries: list[uuid.UUID]) -> None:
    """Queue the message's deliveries once their rows are committed; one that cannot be queued now stays pending
    in the outbox, and the every-minute job queues it."""
    if runtime.jobs is None:
        return
    for delivery in deliveries:
        try:
            await runtime.jobs.webhook(domain_uuid, delivery, attempt=0, delay_s=0)
        except Exception as exc:
            logger.error("message delivery %s could not be queued now (%s)", delivery, type(exc).__name__)


async def on_call_end(session: AsyncSession, domain_uuid: uuid.UUID, conversation: Conversation) -> list[uuid.UUID]:
    """The call ended while a message was being taken (the caller hung up, pressed 0 for the operator…): nothing
    said is lost. A message already said (it has a body) is kept as ``new``, unconfirmed,
    and announced; one without its message is ``cancelled`` (listed with ``status=cancelled``). Runs in the end's
    transaction; returns the deliveries to queue once it commits (:func:`queue_deliveries`)."""
    repo = CallerMessageRepository(session)
    row = await repo.taking(domain_uuid, conversation.voice_conversation_uuid, for_update=True)
    if row is None:
        return []
    if not row.body:
        await repo.update(row, {"status": "cancelled", "step": None})
        return []
    row = await repo.update(row, {"status": "new", "step": None, "taken_at": datetime.now(UTC)})
    secretary = (
        await SecretaryRepository(session).get(domain_uuid, conversation.voice_secretary_uuid)
        if conversation.voice_secretary_uuid
        else None
    )
    if secretary is None:
        return []
    state = MessageState(row, conversation.caller_id_number, conversation.caller_id_name, conversation.call_uuid)
    return await _deliveries(session, domain_uuid, secretary, state, row)
