"""The turn's first stage, shared by turn-based and streaming calls: read what a turn needs in one short transaction
(the secretary, the transfer targets that still route, the provider chains, the tenant's lexicon, the cached
fixed phrases, the history), and — for a turn-based turn — claim its number under the call's row lock.

The lexicon (:func:`voice_ai.services.vocabulary.tenant_lexicon`, cached per tenant) is read on every turn, typed
text too: recognition biases and rescores with it, understanding matches the caller's words against it.

No provider works while this transaction is open (see :mod:`voice_ai.conversation.engine`).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.conversation.listen import question_asked
from voice_ai.conversation.message_taking import MessageState, read_state
from voice_ai.conversation.message_taking import fixed as message_phrases
from voice_ai.conversation.phrases import phrase
from voice_ai.core.errors import ConflictError, NotFoundError
from voice_ai.db.models import Conversation, Message, Secretary
from voice_ai.db.repositories.audio import AudioRepository
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.db.repositories.entities import (
    ConversationRepository,
    MessageRepository,
    SecretaryRepository,
    TransferRuleRepository,
)
from voice_ai.providers import deadline
from voice_ai.providers.manager import FallbackChain
from voice_ai.providers.types import Kind, Opening, TransferTarget
from voice_ai.schedules.openings import turn_opening
from voice_ai.services.destinations import routable_targets
from voice_ai.services.vocabulary import tenant_lexicon
from voice_ai.tools.load import turn_toolbox
from voice_ai.tools.toolbox import Toolbox
from voice_ai.understanding.lexicon import Lexicon

MIN_LOCK_WAIT_S = 0.1
HISTORY_LIMIT = 500


@dataclass
class TurnContext:
    """What a turn read in its first transaction."""

    conversation_uuid: uuid.UUID
    turn_index: int  # claimed (turn-based), or the number the turn will get when stored (streaming)
    secretary: Secretary
    history: list[Message]
    targets: list[TransferTarget]
    operator: str | None
    operator_context: str | None
    stt: FallbackChain[Any] | None
    hints: list[str]  # the lexicon's terms, most useful first (a recogniser's prompt or phrase hints)
    llm: FallbackChain[Any]
    tts: FallbackChain[Any]
    embedder: Any
    cached: dict[str, uuid.UUID]  # the secretary's fixed phrases already synthesised, by cache key
    lexicon: Lexicon  # the tenant's words (names, keywords, documents): every turn, typed text too
    opening: Opening | None = None  # what is open now (opening hours); None: no schedule applies
    message_state: MessageState | None = None  # issue 13: the message being taken in this call (message_taking)
    tools: Toolbox | None = None  # the secretary's HTTP tools for an LLM with function calling (voice_ai.tools)

    @property
    def language(self) -> str:
        return self.secretary.language


def transfer_targets(rules: list[Any], secretary: Secretary) -> list[TransferTarget]:
    return [
        TransferTarget(
            r.department_name,
            r.destination_number,
            r.description or "",
            tuple(r.keywords),
            r.destination_context,
            getattr(r, "ring_seconds", None),  # issue 13: transfers that come back
            bool(getattr(r, "announce", False)),
        )
        for r in rules
        if r.voice_secretary_uuid in (None, secretary.voice_secretary_uuid)
    ]


def cache_key(secretary: Secretary, text: str) -> str:
    raw = f"{secretary.voice_secretary_uuid}|{secretary.tts_provider_uuid}|{secretary.tts_voice}|{secretary.language}|{text}"
    return hashlib.sha256(raw.encode()).hexdigest()


def fixed_phrases(secretary: Secretary, targets: list[TransferTarget]) -> set[str]:
    """The phrases a secretary says word for word (cached as audio per secretary, voice and text)."""
    language = secretary.language
    phrases = {
        phrase(language, key)
        for key in ("not_understood", "operator", "failure", "failure_no_operator", "farewell", "max_turns")
    }
    phrases |= {phrase(language, "transfer", department=t.department) for t in targets}
    if secretary.farewell:
        phrases.add(secretary.farewell)
    phrases |= message_phrases(language)  # issue 13: message taking's questions
    return phrases


async def tenant_name(session: AsyncSession, domain_uuid: uuid.UUID) -> str:
    domain = await DomainRepository(session).get(domain_uuid)
    if domain is None:
        raise NotFoundError("Domain")
    return str(domain["domain_name"])


async def find_secretary(session: AsyncSession, domain_uuid: uuid.UUID, ref: str) -> Secretary:
    repo = SecretaryRepository(session)
    try:
        row = await repo.get(domain_uuid, uuid.UUID(ref))
    except ValueError:
        row = await repo.get_by_extension(domain_uuid, ref)
    if row is None or not row.enabled:
        raise NotFoundError("Secretary")
    return row


async def open_call(session: AsyncSession, domain_uuid: uuid.UUID, call_uuid: str) -> tuple[Conversation, Secretary]:
    """The tenant's call (another tenant's is not found) that has not ended, and its secretary."""
    conversation = await ConversationRepository(session).by_call(domain_uuid, call_uuid)
    if conversation is None:
        raise NotFoundError("Call")
    if conversation.ended_at is not None:
        raise ConflictError("this call has already ended")
    secretary = (
        await SecretaryRepository(session).get(domain_uuid, conversation.voice_secretary_uuid)
        if conversation.voice_secretary_uuid
        else None
    )
    if secretary is None:
        raise NotFoundError("Secretary")
    return conversation, secretary


@dataclass(frozen=True)
class Listener:
    """What the STT stage alone needs (a streaming call transcribes before it asks for a reply)."""

    secretary: Secretary
    chain: FallbackChain[Any]
    lexicon: Lexicon  # the recogniser's hints are its terms
    asked: str | None  # the question the caller answers (conversation.listen.question_asked), if any


async def read_listener(runtime: Any, domain_uuid: uuid.UUID, call_uuid: str) -> Listener:
    """The call's recogniser chain, the tenant's lexicon and the secretary's last words when they asked the caller
    something: a streaming call's reply to a confirmation is heard as an answer to it, as a turn-based one is."""
    async with runtime.sessionmaker() as session:
        await tenant_name(session, domain_uuid)
        conversation, secretary = await open_call(session, domain_uuid, call_uuid)
        chains = await runtime.providers.for_secretary(domain_uuid, secretary, session, kinds=("stt",))
        lexicon = await tenant_lexicon(session, domain_uuid, secretary.voice_secretary_uuid)
        last = await MessageRepository(session).last_said(domain_uuid, conversation.voice_conversation_uuid)
    return Listener(secretary, chains["stt"], lexicon, question_asked([last] if last is not None else []))


async def read_turn(
    runtime: Any, domain_uuid: uuid.UUID, call_uuid: str, *, listen: bool, claim_by: float | None
) -> TurnContext:
    """One short transaction: read what the turn needs, then — last, so that the row lock is held only for that —
    claim the next turn number under the conversation's row lock (simultaneous turns of one call are numbered one
    after the other), waiting for the lock until ``claim_by`` at most (then 503). ``claim_by=None`` (a streaming
    reply): no claim; the number is claimed when the turn is stored."""
    async with runtime.sessionmaker() as session, session.begin():
        domain_name = await tenant_name(session, domain_uuid)
        conversation, secretary = await open_call(session, domain_uuid, call_uuid)
        rules = (await TransferRuleRepository(session).list(domain_uuid, limit=500, offset=0, enabled=True)).items
        targets = transfer_targets(rules, secretary)
        if not runtime.standalone:
            targets = await routable_targets(session, domain_uuid, domain_name, targets)
        kinds: tuple[Kind, ...] = ("stt", "llm", "tts") if listen else ("llm", "tts")
        chains = await runtime.providers.for_secretary(domain_uuid, secretary, session, kinds=kinds)
        lexicon = await tenant_lexicon(session, domain_uuid, secretary.voice_secretary_uuid, rules=rules)
        embedder = await runtime.embedder(domain_uuid, session)  # the tenant's: the documents' model
        keys = [cache_key(secretary, text) for text in fixed_phrases(secretary, targets)]
        cached = await AudioRepository(session).cached_many(domain_uuid, keys)
        opening = await turn_opening(session, domain_uuid, secretary, rules, fusionpbx=not runtime.standalone)
        tools = await turn_toolbox(session, runtime, domain_uuid, secretary.voice_secretary_uuid)

        conversations = ConversationRepository(session)
        if claim_by is not None:
            locked = await conversations.by_call(
                domain_uuid, call_uuid, for_update=True, lock_timeout_s=max(claim_by - deadline.now(), MIN_LOCK_WAIT_S)
            )
            if locked is None:
                raise NotFoundError("Call")
            if locked.ended_at is not None:
                raise ConflictError("this call has already ended")
            conversation = locked
        history = (
            await MessageRepository(session).for_conversation(
                domain_uuid, conversation.voice_conversation_uuid, limit=HISTORY_LIMIT, offset=0
            )
        ).items
        turn_index = next_turn_index(conversation, history)
        if claim_by is not None:
            await conversations.update(conversation, {"turn_count": turn_index})
        return TurnContext(
            conversation.voice_conversation_uuid,
            turn_index,
            secretary,
            list(history),
            targets,
            secretary.operator_destination,
            secretary.operator_context or domain_name,
            chains.get("stt"),
            list(lexicon.terms) if listen else [],
            chains["llm"],
            chains["tts"],
            embedder,
            cached,
            lexicon,
            opening,
            message_state=await read_state(session, domain_uuid, conversation),
            tools=tools,
        )


def next_turn_index(conversation: Conversation, history: Any) -> int:
    return max(conversation.turn_count, max((m.turn_index for m in history), default=0)) + 1
