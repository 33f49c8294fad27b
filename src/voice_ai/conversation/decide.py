"""Retrieval and the LLM's decision, made safe — shared by turn-based and streaming calls.

The safe-action rules live here once: :func:`~voice_ai.conversation.actions.resolve` (a transfer only to a
configured rule or the operator), the fixed transfer phrase (the words match where the call goes), the operator
when no model answers, "pode repetir?" for an empty transcript (the operator at the second in a row), the farewell
of a hang-up without words and of the last allowed turn.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from voice_ai.conversation.actions import Action, Transfer, resolve
from voice_ai.conversation.budget import POLICY_RESERVE_S, RETRIEVE_MAX_S, STORE_RESERVE_S, TTS_RESERVE_S, run_in_time
from voice_ai.conversation.followup import retrieval_query
from voice_ai.conversation.listen import Listened
from voice_ai.conversation.message_taking import capturing
from voice_ai.conversation.phrases import phrase
from voice_ai.conversation.prepare import TurnContext
from voice_ai.conversation.speech import ms_since
from voice_ai.providers import deadline
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.decision import DECISION_SCHEMA
from voice_ai.providers.llm.text import STOP_WORDS
from voice_ai.providers.types import ChatMessage, DialogContext, Heard, Passage
from voice_ai.rag.retrieve import retrieve
from voice_ai.schedules.openings import closed_instead
from voice_ai.understanding.match import words_of
from voice_ai.understanding.repair import analyse, expand

logger = logging.getLogger(__name__)
SILENT_TURNS_BEFORE_OPERATOR = 2
HISTORY_MESSAGES = 20
ALTERNATIVES_USED = 3  # the recogniser's other hypotheses whose tenant words widen retrieval
MAX_EXPANSIONS = 10


@dataclass(frozen=True)
class Understood:
    """What a turn's words are taken to say: ``query`` (the transcript, repaired), ``expansions`` (tenant terms to
    add to retrieval), ``unknown`` (the query's words the tenant's text does not hold — the trigram leg's words;
    None without a lexicon: all words), ``heard`` (voice turns only)."""

    query: str
    expansions: tuple[str, ...]
    unknown: tuple[str, ...] | None
    heard: Heard | None


def understand(turn: TurnContext, transcript: str, listened: Listened | None) -> Understood:
    """The transcript repaired with the tenant's lexicon; for a voice turn (``listened``) also the tenant words of the
    recogniser's other hypotheses as expansions, and :class:`Heard`. Typed text is repaired too (a typo is an error
    like any other) but has no ``heard``."""
    language = turn.language
    lexicon = turn.lexicon
    repaired, suggested = analyse(transcript, lexicon, language)
    expansions: dict[str, None] = dict.fromkeys(suggested)
    alternatives = tuple(listened.alternatives) if listened is not None else ()
    said = {w.folded for w in words_of(repaired.text)}
    for alternative in alternatives[:ALTERNATIVES_USED]:
        for word in words_of(alternative):
            known = word.folded in lexicon.words and word.folded not in STOP_WORDS and len(word.folded) >= 3
            if known and word.folded not in said:
                expansions.setdefault(lexicon.surface.get(word.folded, word.text), None)
        for term in expand(alternative, lexicon, language):
            expansions.setdefault(term, None)
    if repaired.replaced:
        logger.info("turn %d: repaired %s", turn.turn_index, repaired.replaced)
    heard = Heard(listened.confidence, alternatives, repaired.text) if listened is not None else None
    unknown = tuple(w.text for w in words_of(repaired.text) if w.folded not in lexicon.words) if lexicon else None
    return Understood(repaired.text, tuple(list(expansions)[:MAX_EXPANSIONS]), unknown, heard)


def silence(turn: TurnContext) -> tuple[str, Action]:
    """An empty transcript (silence, noise, or no recogniser could transcribe): "pode repetir?", and the operator
    at the second not-understood turn in a row."""
    silent = 1
    for message in sorted((m for m in turn.history if m.role == "user"), key=lambda m: m.turn_index, reverse=True):
        if message.text.strip():
            break
        silent += 1
    if silent >= SILENT_TURNS_BEFORE_OPERATOR and turn.operator:
        return phrase(turn.language, "operator"), Action(
            "transfer", Transfer(turn.operator, turn.operator_context, None)
        )
    return phrase(turn.language, "not_understood"), Action("continue")


def llm_window(due: float) -> tuple[float, float]:
    """(a configured LLM answers by, the dialog policy answers by): after them, the reply's speech and the store."""
    policy_end = due - STORE_RESERVE_S - TTS_RESERVE_S
    return policy_end - POLICY_RESERVE_S, policy_end


async def dialog_context(
    sessions: Any,
    domain_uuid: uuid.UUID,
    turn: TurnContext,
    transcript: str,
    due: float,
    timings: dict[str, float],
    *,
    listened: Listened | None = None,
) -> DialogContext:
    """Retrieval: passages for the question (repaired, widened: :func:`understand`); the query's embedding must
    come in time (else full text and trigrams only). ``listened``: the voice turn's recognition (None: typed)."""
    started = time.perf_counter()
    understood = understand(turn, transcript, listened)
    _, policy_end = llm_window(due)
    with deadline.within(min(deadline.now() + RETRIEVE_MAX_S, policy_end - 2.5)):
        async with sessions() as session:
            # "sim" after a confirmation, a topic chosen, "e aos sábados?": the question they complete
            query = retrieval_query(understood.query, [(m.role, m.text) for m in turn.history])
            found = await retrieve(
                session,
                domain_uuid,
                query,
                embedder=turn.embedder,
                language=turn.language,
                expansions=understood.expansions,
                fuzzy_words=understood.unknown,
            )
    passages: list[Passage] = found.passages
    timings["retrieve_ms"] = ms_since(started)
    secretary = turn.secretary
    return DialogContext(
        language=turn.language,
        company_name=secretary.company_name,
        passages=passages,
        transfer_targets=turn.targets,
        heard=understood.heard,
        opening=turn.opening,
    )


def chat_messages(turn: TurnContext, transcript: str) -> list[ChatMessage]:
    secretary = turn.secretary
    chat = [ChatMessage("system", secretary.personality_prompt)] if secretary.personality_prompt else []
    for message in turn.history[-HISTORY_MESSAGES:]:  # already in call order (turn, caller before reply)
        if message.role in ("user", "assistant") and message.text.strip():
            chat.append(ChatMessage(message.role, message.text))  # type: ignore[arg-type]
    chat.append(ChatMessage("user", transcript))
    return chat


def decided(decision: dict[str, Any], turn: TurnContext) -> Action:
    action = resolve(decision, turn.targets, operator=turn.operator, operator_context=turn.operator_context)
    return closed_instead(action, turn.opening, turn.language)  # never to a department closed now


def transfer_words(action: Action, language: str) -> str:
    """What a transfer says: the words must match where the call really goes (or, refused outside opening hours,
    why it does not go)."""
    if action.say:
        return action.say
    if action.transfer and action.transfer.department:
        return phrase(language, "transfer", department=action.transfer.department)
    return phrase(language, "operator")


def no_answer(turn: TurnContext) -> tuple[str, Action]:
    """No model answered in time: the operator, or an apology and the end when there is none."""
    if turn.operator:
        return phrase(turn.language, "failure"), Action(
            "transfer", Transfer(turn.operator, turn.operator_context, None)
        )
    return phrase(turn.language, "failure_no_operator"), Action("hangup")


def hangup_words(turn: TurnContext) -> str:
    """A hang-up the model gave no words for."""
    return turn.secretary.farewell or phrase(turn.language, "farewell")


def last_turn_farewell(turn: TurnContext, action: Action) -> str | None:
    """The farewell that ends a call at its last allowed turn (the action becomes a hang-up), or None. While a
    message is being taken the limit waits for the turn that stores it (issue 13: a message is never cut)."""
    if action.kind == "continue" and turn.turn_index >= turn.secretary.max_turns and not capturing(turn):
        return turn.secretary.farewell or phrase(turn.language, "max_turns")
    return None


async def decide(
    sessions: Any,
    domain_uuid: uuid.UUID,
    call_uuid: str,
    turn: TurnContext,
    transcript: str,
    due: float,
    timings: dict[str, float],
    providers: dict[str, str],
    *,
    listened: Listened | None = None,
) -> tuple[str, Action]:
    """Retrieval, then the LLM's decision as a whole (the configured model until its stage ends, the dialog
    policy after it, the operator when nothing answers), made safe. ``listened``: the voice turn's recognition."""
    context = await dialog_context(sessions, domain_uuid, turn, transcript, due, timings, listened=listened)
    chat = chat_messages(turn, transcript)
    until, last = llm_window(due)
    started = time.perf_counter()
    try:
        reply = await run_in_time(
            turn.llm,
            lambda p: p.chat(chat, context=context, response_schema=DECISION_SCHEMA, tools=turn.tools),
            until=until,
            last=last,
        )
        providers["llm"] = reply.info.provider
        decision = reply.data or {"response": reply.text, "action": "continue"}
        response = str(decision.get("response") or reply.text).strip()
        action = decided(decision, turn)
        if action.kind == "transfer" or action.say:
            response = transfer_words(action, turn.language)
    except ProviderError as exc:
        logger.error("call %s: no LLM answered in time: %s", call_uuid, exc)
        response, action = no_answer(turn)
    timings["llm_ms"] = ms_since(started)
    timings.update(turn.tools.timings() if turn.tools else {})
    if action.kind == "hangup" and not response:
        response = hangup_words(turn)
    return response, action
