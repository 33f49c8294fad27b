"""One call, turn by turn: STT → retrieval → LLM decision → safe action → TTS, with every turn stored.

All call state is in PostgreSQL (conversation and messages), so any service instance can serve any turn.
Each stage's time and the provider that answered are stored on the turn's messages.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.conversation.actions import Action, Transfer, resolve
from voice_ai.conversation.phrases import phrase
from voice_ai.core.errors import ConflictError, NotFoundError
from voice_ai.db.models import Conversation, Secretary
from voice_ai.db.repositories.audio import AudioRepository
from voice_ai.db.repositories.entities import (
    ConversationRepository,
    MessageRepository,
    SecretaryRepository,
    TransferRuleRepository,
)
from voice_ai.providers.audio import Audio
from voice_ai.providers.base import LLMProvider
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.decision import DECISION_SCHEMA
from voice_ai.providers.types import ChatMessage, DialogContext, TransferTarget
from voice_ai.rag.retrieve import retrieve
from voice_ai.services.vocabulary import tenant_vocabulary

logger = logging.getLogger(__name__)
REPLY_TTL = timedelta(hours=2)
PURGE_EVERY = 50
SILENT_TURNS_BEFORE_OPERATOR = 2
HISTORY_MESSAGES = 20


@dataclass
class Spoken:
    text: str
    audio_uuid: uuid.UUID | None
    provider: str | None
    ms: float


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


def _targets(rules: list[Any], secretary: Secretary) -> list[TransferTarget]:
    return [
        TransferTarget(
            r.department_name, r.destination_number, r.description or "", tuple(r.keywords), r.destination_context
        )
        for r in rules
        if r.voice_secretary_uuid in (None, secretary.voice_secretary_uuid)
    ]


class CallEngine:
    _stored = 0  # replies stored by this process (class-wide: engines are made per request)

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    @property
    def providers(self) -> Any:
        return self.runtime.providers

    async def _secretary(self, session: AsyncSession, domain_uuid: uuid.UUID, ref: str) -> Secretary:
        repo = SecretaryRepository(session)
        try:
            row = await repo.get(domain_uuid, uuid.UUID(ref))
        except ValueError:
            row = await repo.get_by_extension(domain_uuid, ref)
        if row is None or not row.enabled:
            raise NotFoundError("Secretary")
        return row

    async def speak(
        self, session: AsyncSession, domain_uuid: uuid.UUID, secretary: Secretary, text: str, *, cached: bool
    ) -> Spoken:
        """Synthesize ``text`` at 8 kHz and store it; fixed phrases are cached per secretary/voice/text."""
        started = time.perf_counter()
        audio_repo = AudioRepository(session)
        key = None
        if cached:
            raw = f"{secretary.voice_secretary_uuid}|{secretary.tts_provider_uuid}|{secretary.tts_voice}|{secretary.language}|{text}"
            key = hashlib.sha256(raw.encode()).hexdigest()
            found = await audio_repo.cached(domain_uuid, key)
            if found is not None:
                return Spoken(text, found, "cache", round((time.perf_counter() - started) * 1000, 1))
        try:
            chain = await self.providers.chain(
                domain_uuid, "tts", preferred=secretary.tts_provider_uuid, session=session
            )
            speech = await chain.run(
                lambda p: p.synthesize(text, voice=secretary.tts_voice, language=secretary.language, sample_rate=8000)
            )
        except ProviderError as exc:  # Lua falls back to its local sound files
            logger.error("tenant %s: no TTS could speak a reply: %s", domain_uuid, exc)
            return Spoken(text, None, None, round((time.perf_counter() - started) * 1000, 1))
        audio_uuid = await audio_repo.store(
            domain_uuid,
            speech.audio.wav(),
            int(speech.audio.duration_s * 1000),
            cache_key=key,
            ttl=None if cached else REPLY_TTL,
        )
        CallEngine._stored += 1
        if self._stored % PURGE_EVERY == 0:  # expired replies are removed as new ones are made
            await audio_repo.purge_expired()
        return Spoken(text, audio_uuid, speech.info.provider, round((time.perf_counter() - started) * 1000, 1))

    async def start(
        self,
        session: AsyncSession,
        domain_uuid: uuid.UUID,
        secretary_ref: str,
        call_uuid: str,
        *,
        caller_id_number: str | None,
        caller_id_name: str | None,
        destination_number: str | None,
    ) -> CallStart:
        secretary = await self._secretary(session, domain_uuid, secretary_ref)
        conversations = ConversationRepository(session)
        existing = (await conversations.list(domain_uuid, limit=1, offset=0, call_uuid=call_uuid)).items
        conversation = (
            existing[0]
            if existing
            else await conversations.create(
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
        )
        text = secretary.greeting or phrase(secretary.language, "greeting", company=secretary.company_name or "nós")
        greeting = await self.speak(session, domain_uuid, secretary, text, cached=True)
        if not existing:
            await MessageRepository(session).create(
                domain_uuid,
                {
                    "voice_conversation_uuid": conversation.voice_conversation_uuid,
                    "turn_index": 0,
                    "role": "assistant",
                    "text": text,
                    "action": "continue",
                    "timings": {"tts_ms": greeting.ms},
                    "providers_used": {"tts": greeting.provider} if greeting.provider else {},
                },
            )
        return CallStart(
            conversation.voice_conversation_uuid,
            secretary,
            greeting,
            secretary.operator_destination,
            secretary.operator_context or await self._domain_name(session, domain_uuid),
        )

    async def _domain_name(self, session: AsyncSession, domain_uuid: uuid.UUID) -> str | None:
        from voice_ai.db.repositories.domains import DomainRepository

        domain = await DomainRepository(session).get(domain_uuid)
        return str(domain["domain_name"]) if domain else None

    async def _conversation(self, session: AsyncSession, domain_uuid: uuid.UUID, call_uuid: str) -> Conversation:
        found = (await ConversationRepository(session).list(domain_uuid, limit=1, offset=0, call_uuid=call_uuid)).items
        if not found:
            raise NotFoundError("Call")
        return found[0]

    async def turn(
        self,
        session: AsyncSession,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        *,
        audio: Audio | None = None,
        text: str | None = None,
    ) -> TurnResult:
        started = time.perf_counter()
        conversation = await self._conversation(session, domain_uuid, call_uuid)
        if conversation.ended_at is not None:
            raise ConflictError("this call has already ended")
        secretary = (
            await SecretaryRepository(session).get(domain_uuid, conversation.voice_secretary_uuid)
            if conversation.voice_secretary_uuid
            else None
        )
        if secretary is None:
            raise NotFoundError("Secretary")
        language = secretary.language
        messages_repo = MessageRepository(session)
        history = (
            await messages_repo.for_conversation(domain_uuid, conversation.voice_conversation_uuid, limit=500, offset=0)
        ).items
        turn_index = max((m.turn_index for m in history), default=0) + 1
        timings: dict[str, float] = {}
        providers: dict[str, str] = {}

        transcript = (text or "").strip()
        if audio is not None:
            t0 = time.perf_counter()
            try:
                chain = await self.providers.chain(
                    domain_uuid, "stt", preferred=secretary.stt_provider_uuid, session=session
                )
                hints = await tenant_vocabulary(session, domain_uuid, secretary.voice_secretary_uuid)
                heard = await chain.run(lambda p: p.transcribe(audio, language=language, hints=hints))
                transcript, providers["stt"] = heard.text.strip(), heard.info.provider
            except ProviderError as exc:
                logger.error("call %s: no STT could transcribe: %s", call_uuid, exc)
            timings["stt_ms"] = round((time.perf_counter() - t0) * 1000, 1)

        rules = (await TransferRuleRepository(session).list(domain_uuid, limit=500, offset=0, enabled=True)).items
        targets = _targets(rules, secretary)
        operator, operator_context = (
            secretary.operator_destination,
            secretary.operator_context or await self._domain_name(session, domain_uuid),
        )

        if not transcript:
            silent = 1
            for message in sorted((m for m in history if m.role == "user"), key=lambda m: m.turn_index, reverse=True):
                if message.text.strip():
                    break
                silent += 1
            if silent >= SILENT_TURNS_BEFORE_OPERATOR and operator:
                response, action = (
                    phrase(language, "operator"),
                    Action("transfer", Transfer(operator, operator_context, None)),
                )
            else:
                response, action = phrase(language, "not_understood"), Action("continue")
        else:
            t0 = time.perf_counter()
            embedder = await self.runtime.embedder(domain_uuid, session)
            found = await retrieve(session, domain_uuid, transcript, embedder=embedder, language=language)
            timings["retrieve_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            context = DialogContext(
                language=language,
                company_name=secretary.company_name,
                passages=found.passages,
                transfer_targets=targets,
            )
            chat = [ChatMessage("system", secretary.personality_prompt)] if secretary.personality_prompt else []
            for message in history[-HISTORY_MESSAGES:]:  # already in call order (turn, caller before reply)
                if message.role in ("user", "assistant") and message.text.strip():
                    chat.append(ChatMessage(message.role, message.text))  # type: ignore[arg-type]
            chat.append(ChatMessage("user", transcript))
            t0 = time.perf_counter()
            try:
                llm = await self.providers.chain(
                    domain_uuid, "llm", preferred=secretary.llm_provider_uuid, session=session
                )
                reply = await llm.run(lambda p: p.chat(chat, context=context, response_schema=DECISION_SCHEMA))
                providers["llm"] = reply.info.provider
                decision = reply.data or {"response": reply.text, "action": "continue"}
                response = str(decision.get("response") or reply.text).strip()
                action = resolve(decision, targets, operator=operator, operator_context=operator_context)
                if action.kind == "transfer":  # the words must match where the call really goes
                    response = (
                        phrase(language, "transfer", department=action.transfer.department)
                        if action.transfer and action.transfer.department
                        else phrase(language, "operator")
                    )
            except ProviderError as exc:
                logger.error("call %s: every LLM failed: %s", call_uuid, exc)
                if operator:
                    response, action = (
                        phrase(language, "failure"),
                        Action("transfer", Transfer(operator, operator_context, None)),
                    )
                else:
                    response, action = phrase(language, "failure_no_operator"), Action("hangup")
            timings["llm_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            if action.kind == "hangup" and not response:
                response = secretary.farewell or phrase(language, "farewell")

        if action.kind == "continue" and turn_index >= secretary.max_turns:
            response, action = (
                f"{response} {secretary.farewell or phrase(language, 'max_turns')}".strip(),
                Action("hangup"),
            )

        # fixed phrases (transfer notices, "não entendi", operator, apologies, goodbyes) are cached per
        # secretary/voice/text: only the first call pays for their synthesis
        fixed = response in self._fixed_phrases(secretary, targets)
        spoken = await self.speak(session, domain_uuid, secretary, response, cached=fixed)
        timings["tts_ms"] = spoken.ms
        if spoken.provider:
            providers["tts"] = spoken.provider
        timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)

        conversation_uuid = conversation.voice_conversation_uuid
        await messages_repo.create(
            domain_uuid,
            {
                "voice_conversation_uuid": conversation_uuid,
                "turn_index": turn_index,
                "role": "user",
                "text": transcript,
                "timings": {k: v for k, v in timings.items() if k == "stt_ms"},
                "providers_used": {k: v for k, v in providers.items() if k == "stt"},
            },
        )
        await messages_repo.create(
            domain_uuid,
            {
                "voice_conversation_uuid": conversation_uuid,
                "turn_index": turn_index,
                "role": "assistant",
                "text": response,
                "action": action.kind,
                "timings": timings,
                "providers_used": providers,
            },
        )
        updates: dict[str, Any] = {"turn_count": turn_index}
        if action.transfer is not None:
            updates |= {
                "transfer_destination": action.transfer.destination,
                "transfer_department": action.transfer.department,
            }
        await ConversationRepository(session).update(conversation, updates)
        return TurnResult(transcript, response, action, spoken.audio_uuid, timings, providers, turn_index)

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

    async def event(
        self,
        session: AsyncSession,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        event: str,
        digits: str | None,
        detail: str | None,
    ) -> int:
        """Record a line event (DTMF, hangup, transfer result) in the call's log as a system message."""
        conversation = await self._conversation(session, domain_uuid, call_uuid)
        messages = MessageRepository(session)
        history = (
            await messages.for_conversation(domain_uuid, conversation.voice_conversation_uuid, limit=500, offset=0)
        ).items
        index = max((m.turn_index for m in history), default=0)
        text = " ".join(p for p in (f"[{event}]", digits, detail) if p)
        await messages.create(
            domain_uuid,
            {
                "voice_conversation_uuid": conversation.voice_conversation_uuid,
                "turn_index": index,
                "role": "system",
                "text": text,
                "action": event,
            },
        )
        if event == "caller_hangup" and conversation.ended_at is None:
            await self.end(session, domain_uuid, call_uuid, "abandoned" if index == 0 else "hangup")
        return index

    async def end(self, session: AsyncSession, domain_uuid: uuid.UUID, call_uuid: str, outcome: str) -> Conversation:
        """Store the outcome now, with an extractive summary (the caller's first questions). When the tenant
        has a real LLM, its one-sentence summary is written by a background job (``finish``) that then queues
        the webhook: the script that reports the end — often right before a transfer — never waits for a
        model. Without a job queue (tests, tools) it is done inline."""
        conversation = await self._conversation(session, domain_uuid, call_uuid)
        if conversation.ended_at is not None:
            return conversation  # idempotent: a hangup hook and the script may both report the end
        history = await self._history(session, domain_uuid, conversation.voice_conversation_uuid)
        asked = [m.text for m in history if m.role == "user" and m.text.strip()]
        summary = _with_transfer("; ".join(asked[:3])[:500] if asked else None, conversation, outcome)
        conversation = await ConversationRepository(session).update(
            conversation, {"ended_at": datetime.now(UTC), "outcome": outcome, "summary": summary}
        )
        model = await self._summary_model(session, domain_uuid, conversation) if asked else None
        if model is None:
            await self._queue_webhook(session, domain_uuid, conversation, history)
        elif self.runtime.jobs is not None:
            await session.commit()  # the worker must find the ended conversation
            await self.runtime.jobs.finish_call(domain_uuid, conversation.voice_conversation_uuid)
        else:
            conversation = await self._summarise(session, domain_uuid, conversation, history, model)
        return conversation

    async def finish(self, session: AsyncSession, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID) -> None:
        """The background half of ``end``: the LLM summary, then the webhook."""
        conversation = await ConversationRepository(session).get(domain_uuid, conversation_uuid)
        if conversation is None:
            return
        history = await self._history(session, domain_uuid, conversation_uuid)
        model = await self._summary_model(session, domain_uuid, conversation)
        if model is not None:
            await self._summarise(session, domain_uuid, conversation, history, model)
        else:
            await self._queue_webhook(session, domain_uuid, conversation, history)
        await session.commit()

    async def _history(self, session: AsyncSession, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID) -> Any:
        page = await MessageRepository(session).for_conversation(domain_uuid, conversation_uuid, limit=500, offset=0)
        return page.items

    async def _summarise(
        self, session: AsyncSession, domain_uuid: uuid.UUID, conversation: Conversation, history: Any, model: Any
    ) -> Conversation:
        summary = await self._llm_summary(model, conversation, history)
        if summary:
            conversation = await ConversationRepository(session).update(
                conversation, {"summary": _with_transfer(summary, conversation, conversation.outcome)}
            )
        await self._queue_webhook(session, domain_uuid, conversation, history)
        return conversation

    async def _summary_model(
        self, session: AsyncSession, domain_uuid: uuid.UUID, conversation: Conversation
    ) -> LLMProvider | None:
        """The LLM the tenant chose (the secretary's or the tenant's default), or None: the dialog policy cannot
        summarise, and a provider not chosen is only a fallback — never used ahead of the built-in default."""
        preferred = None
        if conversation.voice_secretary_uuid:
            secretary = await SecretaryRepository(session).get(domain_uuid, conversation.voice_secretary_uuid)
            preferred = secretary.llm_provider_uuid if secretary else None
        chain = await self.providers.chain(domain_uuid, "llm", preferred=preferred, session=session)
        first = chain.members[0] if chain.members else None
        if first is None or first.provider_uuid is None or not isinstance(first.provider, LLMProvider):
            return None
        return first.provider

    async def _llm_summary(self, model: LLMProvider, conversation: Conversation, history: Any) -> str | None:
        """A one-sentence summary by the tenant's LLM; None (keep the extractive one) when it fails."""
        english = (conversation.language or "").lower().startswith("en")
        transcript = "\n".join(
            f"{'Caller' if m.role == 'user' else 'Secretary'}: {m.text}"
            for m in history
            if m.role in ("user", "assistant")
        )
        instruction = (
            "Summarise this phone call in one sentence: what the caller wanted and how it ended."
            if english
            else "Resuma esta ligação em uma frase: o que a pessoa queria e como terminou."
        )
        try:
            reply = await model.chat(
                [ChatMessage("system", instruction), ChatMessage("user", transcript[-6000:])], max_tokens=120
            )
        except ProviderError as exc:
            logger.warning("call %s: summary by extraction (%s)", conversation.call_uuid, exc)
            return None
        return reply.text.strip()[:1000] or None

    async def _queue_webhook(
        self, session: AsyncSession, domain_uuid: uuid.UUID, conversation: Conversation, history: Any
    ) -> None:
        from voice_ai.db.repositories.entities import WebhookDeliveryRepository
        from voice_ai.services.webhooks import payload

        secretary = (
            await SecretaryRepository(session).get(domain_uuid, conversation.voice_secretary_uuid)
            if conversation.voice_secretary_uuid
            else None
        )
        if secretary is None or not secretary.webhook_url:
            return
        delivery = await WebhookDeliveryRepository(session).create(
            domain_uuid,
            {
                "voice_conversation_uuid": conversation.voice_conversation_uuid,
                "url": secretary.webhook_url,
                "payload": payload(conversation, secretary, list(history)),
            },
        )
        await session.commit()  # the worker must find the row
        if self.runtime.jobs is not None:
            await self.runtime.jobs.webhook(domain_uuid, delivery.voice_ai_webhook_delivery_uuid, attempt=0, delay_s=0)


def _with_transfer(summary: str | None, conversation: Conversation, outcome: str | None) -> str | None:
    if conversation.transfer_destination and outcome == "transferred":
        department = conversation.transfer_department or "operator"
        return f"{summary or ''} → {department} ({conversation.transfer_destination})".strip()
    return summary
