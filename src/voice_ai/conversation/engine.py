"""One call, turn by turn: STT → retrieval → LLM decision → safe action → TTS, with every turn stored.

All call state is in PostgreSQL (conversation and messages), so any service instance can serve any turn.
Each stage's time and the provider that answered are stored on the turn's messages.

Two rules shape this module:

- **One deadline per turn** (``VOICE_AI_TURN_DEADLINE_S``, default 10 s, under the call flow's 15 s): every stage
  ends by its share of it (:mod:`voice_ai.conversation.budget`). The tenant's configured providers must answer by
  their stage's end; the built-in offline default (Whisper, the dialog policy, eSpeak) keeps a reserve after it,
  so a vendor that hangs is replaced in time; when nothing answers the caller goes to the operator. A chain keeps
  its order: when the tenant chose nothing, the built-in default answers first and the vendors are its fallbacks.
- **No database connection is held while a provider works.** A turn reads what it needs in one short
  transaction (which then claims its turn number under the conversation's row lock, held only for that claim, so
  simultaneous turns of one call get distinct, consecutive numbers), runs the providers with no connection, and
  stores the result in another short transaction. The pool then serves many more calls than it has connections.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voice_ai.conversation.actions import Action, Transfer, resolve
from voice_ai.conversation.budget import (
    BEGIN_BY_S,
    ESPEAK_RESERVE_S,
    POLICY_RESERVE_S,
    RETRIEVE_MAX_S,
    START_DEADLINE_S,
    STORE_RESERVE_S,
    STT_END_S,
    STT_VENDOR_END_S,
    TTS_RESERVE_S,
    run_in_time,
)
from voice_ai.conversation.phrases import phrase
from voice_ai.core.errors import ConflictError, NotFoundError
from voice_ai.db.engine import pool_wait_until
from voice_ai.db.models import Message, Secretary
from voice_ai.db.repositories.audio import AudioRepository
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.db.repositories.entities import (
    ConversationRepository,
    MessageRepository,
    SecretaryRepository,
    TransferRuleRepository,
)
from voice_ai.providers import deadline
from voice_ai.providers.audio import Audio
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.decision import DECISION_SCHEMA
from voice_ai.providers.manager import FallbackChain
from voice_ai.providers.types import ChatMessage, DialogContext, Passage, TransferTarget
from voice_ai.rag.retrieve import retrieve
from voice_ai.services.destinations import routable_targets
from voice_ai.services.vocabulary import tenant_vocabulary

logger = logging.getLogger(__name__)
REPLY_TTL = timedelta(hours=2)
SILENT_TURNS_BEFORE_OPERATOR = 2
STT_FAILED = "failed"  # providers.stt of a turn no recogniser could transcribe (told apart from silence)
MIN_LOCK_WAIT_S = 0.1
HISTORY_MESSAGES = 20


@dataclass
class Spoken:
    """A phrase to play: a clip already stored (cached), or one synthesised now that the caller stores (``wav``)
    in its own transaction — a turn writes its clip together with its messages."""

    text: str
    audio_uuid: uuid.UUID | None
    provider: str | None
    ms: float
    wav: bytes | None = None
    duration_ms: int = 0
    cache_key: str | None = None


@dataclass
class CallStart:
    conversation_uuid: uuid.UUID
    secretary: Secretary
    greeting: Spoken
    operator_destination: str | None
    operator_context: str | None


@dataclass
class TurnResult:
    transcript: str
    response_text: str
    action: Action
    audio_uuid: uuid.UUID | None
    timings: dict[str, float] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)
    turn_index: int = 0


@dataclass
class _Turn:
    """What a turn read in its first transaction."""

    conversation_uuid: uuid.UUID
    turn_index: int
    secretary: Secretary
    history: list[Message]
    targets: list[TransferTarget]
    operator: str | None
    operator_context: str | None
    stt: FallbackChain[Any] | None
    hints: list[str]
    llm: FallbackChain[Any]
    tts: FallbackChain[Any]
    embedder: Any
    cached: dict[str, uuid.UUID]  # the secretary's fixed phrases already synthesised, by cache key


def _targets(rules: list[Any], secretary: Secretary) -> list[TransferTarget]:
    return [
        TransferTarget(
            r.department_name, r.destination_number, r.description or "", tuple(r.keywords), r.destination_context
        )
        for r in rules
        if r.voice_secretary_uuid in (None, secretary.voice_secretary_uuid)
    ]


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


class CallEngine:
    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    @property
    def providers(self) -> Any:
        return self.runtime.providers

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        sessions: async_sessionmaker[AsyncSession] = self.runtime.sessionmaker
        return sessions

    async def _tenant(self, session: AsyncSession, domain_uuid: uuid.UUID) -> str:
        domain = await DomainRepository(session).get(domain_uuid)
        if domain is None:
            raise NotFoundError("Domain")
        return str(domain["domain_name"])

    async def _secretary(self, session: AsyncSession, domain_uuid: uuid.UUID, ref: str) -> Secretary:
        repo = SecretaryRepository(session)
        try:
            row = await repo.get(domain_uuid, uuid.UUID(ref))
        except ValueError:
            row = await repo.get_by_extension(domain_uuid, ref)
        if row is None or not row.enabled:
            raise NotFoundError("Secretary")
        return row

    @staticmethod
    def _cache_key(secretary: Secretary, text: str) -> str:
        raw = f"{secretary.voice_secretary_uuid}|{secretary.tts_provider_uuid}|{secretary.tts_voice}|{secretary.language}|{text}"
        return hashlib.sha256(raw.encode()).hexdigest()

    async def _synthesize(
        self, chain: FallbackChain[Any], secretary: Secretary, text: str, cache_key: str | None
    ) -> Spoken:
        """Text to 8 kHz speech, with no database connection held. Within a deadline the configured TTS must
        answer ``ESPEAK_RESERVE_S`` before it, eSpeak after; when nothing speaks, no clip (the Lua plays a local
        sound)."""
        started = time.perf_counter()
        left = deadline.remaining()
        end = deadline.now() + (left if left is not None else 3600.0)
        try:
            speech = await run_in_time(
                chain,
                lambda p: p.synthesize(text, voice=secretary.tts_voice, language=secretary.language, sample_rate=8000),
                until=end - min(ESPEAK_RESERVE_S, max(left or 0.0, 0.0) / 2),
                last=end,
            )
        except ProviderError as exc:
            logger.error("tenant %s: no TTS could speak a reply: %s", secretary.domain_uuid, exc)
            return Spoken(text, None, None, _ms(started))
        return Spoken(
            text,
            None,
            speech.info.provider,
            _ms(started),
            speech.audio.wav(),
            int(speech.audio.duration_s * 1000),
            cache_key,
        )

    @staticmethod
    async def _store_clip(session: AsyncSession, domain_uuid: uuid.UUID, spoken: Spoken) -> None:
        """Store a clip synthesised by ``_synthesize`` (a cached phrase another call stored meanwhile wins). Expired
        replies are deleted by the every-minute job, never inside a turn."""
        if spoken.wav is None:
            return
        repo = AudioRepository(session)
        spoken.audio_uuid = await repo.store(
            domain_uuid,
            spoken.wav,
            spoken.duration_ms,
            cache_key=spoken.cache_key,
            ttl=None if spoken.cache_key else REPLY_TTL,
        )

    async def start(
        self,
        domain_uuid: uuid.UUID,
        secretary_ref: str,
        call_uuid: str,
        *,
        caller_id_number: str | None,
        caller_id_name: str | None,
        destination_number: str | None,
    ) -> CallStart:
        """The call's conversation (created once: starting the same call again, even concurrently, returns it)
        and its greeting."""
        due = deadline.now() + min(self.runtime.settings.turn_deadline_s, START_DEADLINE_S)
        with pool_wait_until(due - STORE_RESERVE_S):
            return await self._start(
                domain_uuid, secretary_ref, call_uuid, due, caller_id_number, caller_id_name, destination_number
            )

    async def _start(
        self,
        domain_uuid: uuid.UUID,
        secretary_ref: str,
        call_uuid: str,
        due: float,
        caller_id_number: str | None,
        caller_id_name: str | None,
        destination_number: str | None,
    ) -> CallStart:
        started = time.perf_counter()
        async with self.sessions() as session:
            domain_name = await self._tenant(session, domain_uuid)
            secretary = await self._secretary(session, domain_uuid, secretary_ref)
            text = secretary.greeting or phrase(secretary.language, "greeting", company=secretary.company_name or "nós")
            key = self._cache_key(secretary, text)
            found = (await AudioRepository(session).cached_many(domain_uuid, [key])).get(key)
            tts = (
                None
                if found
                else await self.providers.chain(
                    domain_uuid, "tts", preferred=secretary.tts_provider_uuid, session=session
                )
            )
        if tts is None:
            greeting = Spoken(text, found, "cache", _ms(started))
        else:
            with deadline.within(due - STORE_RESERVE_S):
                greeting = await self._synthesize(tts, secretary, text, key)
        async with self.sessions() as session, session.begin():
            await self._store_clip(session, domain_uuid, greeting)
            conversation_uuid, created = await ConversationRepository(session).open(
                domain_uuid,
                {
                    "voice_secretary_uuid": secretary.voice_secretary_uuid,
                    "call_uuid": call_uuid,
                    "caller_id_number": caller_id_number,
                    "caller_id_name": caller_id_name,
                    "destination_number": destination_number,
                    "language": secretary.language,
                },
            )
            if created:
                await MessageRepository(session).create(
                    domain_uuid,
                    {
                        "voice_conversation_uuid": conversation_uuid,
                        "turn_index": 0,
                        "role": "assistant",
                        "text": text,
                        "action": "continue",
                        "timings": {"tts_ms": greeting.ms},
                        "providers_used": {"tts": greeting.provider} if greeting.provider else {},
                    },
                )
        return CallStart(
            conversation_uuid,
            secretary,
            greeting,
            secretary.operator_destination,
            secretary.operator_context or domain_name,
        )

    async def _begin(self, domain_uuid: uuid.UUID, call_uuid: str, *, listen: bool, claim_by: float) -> _Turn:
        """One short transaction: read what the turn needs (the secretary, the transfer targets that still route,
        the provider chains, the cached phrases), then — last, so that the row lock is held only for that —
        claim the next turn number under the conversation's row lock (simultaneous turns of one call are numbered
        one after the other). The lock is waited for until ``claim_by`` at most (then 503)."""
        async with self.sessions() as session, session.begin():
            domain_name = await self._tenant(session, domain_uuid)
            conversations = ConversationRepository(session)
            conversation = await conversations.by_call(domain_uuid, call_uuid)
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
            rules = (await TransferRuleRepository(session).list(domain_uuid, limit=500, offset=0, enabled=True)).items
            targets = _targets(rules, secretary)
            if not self.runtime.standalone:
                targets = await routable_targets(session, domain_uuid, domain_name, targets)
            chains = await self.providers.for_secretary(
                domain_uuid, secretary, session, kinds=("stt", "llm", "tts") if listen else ("llm", "tts")
            )
            hints = await tenant_vocabulary(session, domain_uuid, secretary.voice_secretary_uuid) if listen else []
            embedder = await self.runtime.embedder(domain_uuid, session)  # the tenant's: the documents' model
            keys = [self._cache_key(secretary, text) for text in self._fixed_phrases(secretary, targets)]
            cached = await AudioRepository(session).cached_many(domain_uuid, keys)

            locked = await conversations.by_call(
                domain_uuid, call_uuid, for_update=True, lock_timeout_s=max(claim_by - deadline.now(), MIN_LOCK_WAIT_S)
            )
            if locked is None:
                raise NotFoundError("Call")
            if locked.ended_at is not None:
                raise ConflictError("this call has already ended")
            history = (
                await MessageRepository(session).for_conversation(
                    domain_uuid, locked.voice_conversation_uuid, limit=500, offset=0
                )
            ).items
            turn_index = max(locked.turn_count, max((m.turn_index for m in history), default=0)) + 1
            await conversations.update(locked, {"turn_count": turn_index})
            return _Turn(
                locked.voice_conversation_uuid,
                turn_index,
                secretary,
                list(history),
                targets,
                secretary.operator_destination,
                secretary.operator_context or domain_name,
                chains.get("stt"),
                hints,
                chains["llm"],
                chains["tts"],
                embedder,
                cached,
            )

    async def turn(
        self, domain_uuid: uuid.UUID, call_uuid: str, *, audio: Audio | None = None, text: str | None = None
    ) -> TurnResult:
        """One turn within the deadline; waiting for a database connection counts against it. The turn's first
        connection must come while Whisper can still transcribe after it (``BEGIN_BY_S`` before the deadline):
        later, 503 — never a turn stored as silence because no recogniser had time."""
        due = deadline.now() + self.runtime.settings.turn_deadline_s
        with pool_wait_until(due - STORE_RESERVE_S):
            return await self._turn(domain_uuid, call_uuid, due, audio, text)

    async def _turn(
        self, domain_uuid: uuid.UUID, call_uuid: str, due: float, audio: Audio | None, text: str | None
    ) -> TurnResult:
        started = time.perf_counter()
        listen = audio is not None and bool(audio.pcm)  # a recording without frames is silence
        claim_by = due - BEGIN_BY_S
        with pool_wait_until(claim_by):
            turn = await self._begin(domain_uuid, call_uuid, listen=listen, claim_by=claim_by)
        secretary, language = turn.secretary, turn.secretary.language
        timings: dict[str, float] = {}
        providers: dict[str, str] = {}

        transcript = (text or "").strip()
        if listen and audio is not None and turn.stt is not None:
            t0 = time.perf_counter()
            # a configured vendor leaves time for Whisper after it, and for a configured LLM after both; Whisper
            # itself may take until only the dialog policy fits after it (a slow transcript beats "pode repetir?")
            try:
                heard = await run_in_time(
                    turn.stt,
                    lambda p: p.transcribe(audio, language=language, hints=turn.hints),
                    until=due - STT_VENDOR_END_S,
                    last=due - STT_END_S,
                )
                transcript, providers["stt"] = heard.text.strip(), heard.info.provider
            except ProviderError as exc:
                # "pode repetir?" as for silence, but stored as what it was: nothing could transcribe
                logger.error("call %s: no STT could transcribe in time: %s", call_uuid, exc)
                providers["stt"] = STT_FAILED
            timings["stt_ms"] = _ms(t0)

        if not transcript:
            response, action = self._silence(turn)
        else:
            response, action = await self._answer(domain_uuid, call_uuid, turn, transcript, due, timings, providers)

        if action.kind == "continue" and turn.turn_index >= secretary.max_turns:
            response, action = (
                f"{response} {secretary.farewell or phrase(language, 'max_turns')}".strip(),
                Action("hangup"),
            )

        # fixed phrases (transfer notices, "não entendi", operator, apologies, goodbyes) are cached per
        # secretary/voice/text: only the first call pays for their synthesis
        key = self._cache_key(secretary, response) if response in self._fixed_phrases(secretary, turn.targets) else None
        if key is not None and key in turn.cached:
            spoken = Spoken(response, turn.cached[key], "cache", 0.0)
        else:
            with deadline.within(due - STORE_RESERVE_S):
                spoken = await self._synthesize(turn.tts, secretary, response, key)
        timings["tts_ms"] = spoken.ms
        if spoken.provider:
            providers["tts"] = spoken.provider
        timings["total_ms"] = _ms(started)
        await self._store(domain_uuid, turn, transcript, response, action, timings, providers, spoken)
        return TurnResult(transcript, response, action, spoken.audio_uuid, timings, providers, turn.turn_index)

    def _silence(self, turn: _Turn) -> tuple[str, Action]:
        """An empty transcript (silence, noise, or no recogniser could transcribe): "pode repetir?", and the
        operator at the second not-understood turn in a row."""
        language = turn.secretary.language
        silent = 1
        for message in sorted((m for m in turn.history if m.role == "user"), key=lambda m: m.turn_index, reverse=True):
            if message.text.strip():
                break
            silent += 1
        if silent >= SILENT_TURNS_BEFORE_OPERATOR and turn.operator:
            return phrase(language, "operator"), Action(
                "transfer", Transfer(turn.operator, turn.operator_context, None)
            )
        return phrase(language, "not_understood"), Action("continue")

    async def _answer(
        self,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        turn: _Turn,
        transcript: str,
        due: float,
        timings: dict[str, float],
        providers: dict[str, str],
    ) -> tuple[str, Action]:
        """Retrieval, then the LLM's decision (the configured model until its stage ends, the dialog policy after
        it, the operator when nothing answers), made safe by ``resolve``."""
        secretary, language = turn.secretary, turn.secretary.language
        policy_end = due - STORE_RESERVE_S - TTS_RESERVE_S
        t0 = time.perf_counter()
        passages = await self._retrieve(
            domain_uuid,
            transcript,
            turn.embedder,
            language,
            until=min(deadline.now() + RETRIEVE_MAX_S, policy_end - 2.5),
        )
        timings["retrieve_ms"] = _ms(t0)
        context = DialogContext(
            language=language, company_name=secretary.company_name, passages=passages, transfer_targets=turn.targets
        )
        chat = [ChatMessage("system", secretary.personality_prompt)] if secretary.personality_prompt else []
        for message in turn.history[-HISTORY_MESSAGES:]:  # already in call order (turn, caller before reply)
            if message.role in ("user", "assistant") and message.text.strip():
                chat.append(ChatMessage(message.role, message.text))  # type: ignore[arg-type]
        chat.append(ChatMessage("user", transcript))
        t0 = time.perf_counter()
        try:
            reply = await run_in_time(
                turn.llm,
                lambda p: p.chat(chat, context=context, response_schema=DECISION_SCHEMA),
                until=policy_end - POLICY_RESERVE_S,
                last=policy_end,
            )
            providers["llm"] = reply.info.provider
            decision = reply.data or {"response": reply.text, "action": "continue"}
            response = str(decision.get("response") or reply.text).strip()
            action = resolve(decision, turn.targets, operator=turn.operator, operator_context=turn.operator_context)
            if action.kind == "transfer":  # the words must match where the call really goes
                response = (
                    phrase(language, "transfer", department=action.transfer.department)
                    if action.transfer and action.transfer.department
                    else phrase(language, "operator")
                )
        except ProviderError as exc:
            logger.error("call %s: no LLM answered in time: %s", call_uuid, exc)
            if turn.operator:
                response = phrase(language, "failure")
                action = Action("transfer", Transfer(turn.operator, turn.operator_context, None))
            else:
                response, action = phrase(language, "failure_no_operator"), Action("hangup")
        timings["llm_ms"] = _ms(t0)
        if action.kind == "hangup" and not response:
            response = secretary.farewell or phrase(language, "farewell")
        return response, action

    async def _retrieve(
        self, domain_uuid: uuid.UUID, transcript: str, embedder: Any, language: str, *, until: float
    ) -> list[Passage]:
        """Passages for the question; the query's embedding must come by ``until`` (else full text only)."""
        with deadline.within(until):
            async with self.sessions() as session:
                found = await retrieve(session, domain_uuid, transcript, embedder=embedder, language=language)
        return found.passages

    async def _store(
        self,
        domain_uuid: uuid.UUID,
        turn: _Turn,
        transcript: str,
        response: str,
        action: Action,
        timings: dict[str, float],
        providers: dict[str, str],
        spoken: Spoken,
    ) -> None:
        """One short transaction: the reply's clip (when synthesised now), the turn's two messages, and the
        conversation's activity and transfer target."""
        async with self.sessions() as session, session.begin():
            await self._store_clip(session, domain_uuid, spoken)
            messages = MessageRepository(session)
            await messages.create(
                domain_uuid,
                {
                    "voice_conversation_uuid": turn.conversation_uuid,
                    "turn_index": turn.turn_index,
                    "role": "user",
                    "text": transcript,
                    "timings": {k: v for k, v in timings.items() if k == "stt_ms"},
                    "providers_used": {k: v for k, v in providers.items() if k == "stt"},
                },
            )
            await messages.create(
                domain_uuid,
                {
                    "voice_conversation_uuid": turn.conversation_uuid,
                    "turn_index": turn.turn_index,
                    "role": "assistant",
                    "text": response,
                    "action": action.kind,
                    "timings": timings,
                    "providers_used": providers,
                },
            )
            transfer = action.transfer
            await ConversationRepository(session).record_turn(
                domain_uuid,
                turn.conversation_uuid,
                transfer={
                    "transfer_destination": transfer.destination,
                    "transfer_context": transfer.context,
                    "transfer_department": transfer.department,
                }
                if transfer
                else None,
            )

    @staticmethod
    def _fixed_phrases(secretary: Secretary, targets: list[TransferTarget]) -> set[str]:
        language = secretary.language
        phrases = {
            phrase(language, key)
            for key in ("not_understood", "operator", "failure", "failure_no_operator", "farewell", "max_turns")
        }
        phrases |= {phrase(language, "transfer", department=t.department) for t in targets}
        if secretary.farewell:
            phrases.add(secretary.farewell)
        return phrases
