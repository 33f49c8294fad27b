"""The line around the turns: events, the end of a call (outcome, summary, webhook), a transfer that failed and
re-opened the call, and the periodic closer of calls nobody ended.

The end answers at once with an extractive summary. The rest — the LLM summary when the tenant has a real
model, then the webhook — is a background job that waits ``VOICE_AI_END_GRACE_S`` first: the script reports
the end right before a transfer, and when that transfer fails (``transfer_failed``) the call is re-opened and
ended again with the truth. The job belongs to one end (it carries that end's time) and does nothing when the
call was re-opened or ended again meanwhile, so a webhook never reports the first, wrong outcome.

Background work holds no database connection while a provider or a receiver works: it reads in one short session,
lets it go, asks the model, and writes in another (the background pool is small, and a job that cannot get a
connection raises and is not retried by the queue). An end whose job could not be queued is not lost: the
every-minute job (:meth:`CallLifecycle.queue_unfinished`) queues the ends whose work was never done.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.conversation.message_taking import on_call_end as message_on_call_end
from voice_ai.conversation.message_taking import queue_deliveries as queue_message_deliveries
from voice_ai.core.errors import NotFoundError
from voice_ai.db.models import Conversation
from voice_ai.db.repositories.entities import (
    ConversationRepository,
    MessageRepository,
    SecretaryRepository,
    WebhookDeliveryRepository,
)
from voice_ai.providers.base import LLMProvider
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.types import ChatMessage

logger = logging.getLogger(__name__)
STALE_BATCH = 200


class CallLifecycle:
    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    async def _conversation(
        self, session: AsyncSession, domain_uuid: uuid.UUID, call_uuid: str, *, lock: bool = False
    ) -> Conversation:
        found = await ConversationRepository(session).by_call(domain_uuid, call_uuid, for_update=lock)
        if found is None:
            raise NotFoundError("Call")
        return found

    async def event(
        self,
        session: AsyncSession,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        event: str,
        *,
        digits: str | None = None,
        detail: str | None = None,
        destination: str | None = None,
        context: str | None = None,
    ) -> int:
        """Record a line event in the call's log as a system message. ``caller_hangup`` ends the call;
        ``transfer_failed`` re-opens a call that ended as ``transferred`` (to ``destination``, when given): the
        caller is still on the line, being sent elsewhere. For any other call it is only noted — an end that says
        something else (a hangup, an error, another destination) is not undone by a late or stray report."""
        conversation = await self._conversation(session, domain_uuid, call_uuid, lock=True)
        messages = MessageRepository(session)
        index = await self._last_turn(session, domain_uuid, conversation.voice_conversation_uuid)
        target = f"{destination}@{context}" if destination and context else destination
        text = " ".join(p for p in (f"[{event}]", digits, target, detail) if p)
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
        repo = ConversationRepository(session)
        if event == "transfer_failed" and _was_transferred(conversation, destination):
            await repo.update(
                conversation,
                {
                    "ended_at": None,
                    "outcome": None,
                    "summary": None,
                    "transfer_destination": None,
                    "transfer_context": None,
                    "transfer_department": None,
                    "finished_at": None,
                },
            )
        elif event == "caller_hangup" and conversation.ended_at is None:
            await self.end(session, domain_uuid, call_uuid, "abandoned" if index == 0 else "hangup")
        else:
            await repo.touch(domain_uuid, conversation.voice_conversation_uuid)
        return index

    async def _last_turn(self, session: AsyncSession, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID) -> int:
        history = await self._history(session, domain_uuid, conversation_uuid)
        return max((m.turn_index for m in history), default=0)

    async def end(
        self,
        session: AsyncSession,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        outcome: str,
        *,
        destination: str | None = None,
        context: str | None = None,
    ) -> Conversation:
        """Store the outcome now, with an extractive summary (the caller's first questions); idempotent (the
        first end wins until a ``transfer_failed`` re-opens the call). For ``transferred``, ``destination`` and
        ``context`` say where the caller really went (the operator by key 0 or a fall-back included); absent,
        the last turn's decision stands. For ``error`` they name the person the caller was handed to after the
        failure (the operator, the fall-back); absent, nobody took the call. The summary by the tenant's LLM and the webhook follow in a job."""
        conversation = await self._conversation(session, domain_uuid, call_uuid, lock=True)
        if conversation.ended_at is not None:
            return conversation  # a hangup hook and the script may both report the end
        values: dict[str, Any] = {"ended_at": datetime.now(UTC), "outcome": outcome}
        if outcome in ("transferred", "error") and destination:
            same = destination == conversation.transfer_destination
            values |= {
                "transfer_destination": destination,
                "transfer_context": context or (conversation.transfer_context if same else None),
                # a destination the turns did not choose is the operator's (key 0, a fall-back): no department
                "transfer_department": conversation.transfer_department if same else None,
            }
        elif outcome == "error":  # nobody took the call: a transfer a turn decided never happened
            values |= {"transfer_destination": None, "transfer_context": None, "transfer_department": None}
        history = await self._history(session, domain_uuid, conversation.voice_conversation_uuid)
        asked = [m.text for m in history if m.role == "user" and m.text.strip()]
        repo = ConversationRepository(session)
        conversation = await repo.update(conversation, values)
        summary = _with_transfer("; ".join(asked[:3])[:500] if asked else None, conversation, outcome)
        conversation = await repo.update(conversation, {"summary": summary})
        ended_at = conversation.ended_at
        message_deliveries = await message_on_call_end(session, domain_uuid, conversation)  # issue 13: nothing lost
        await session.commit()  # the end is stored before its work is queued (the worker must find it)
        await queue_message_deliveries(self.runtime, domain_uuid, message_deliveries)
        if self.runtime.jobs is None:  # tools and tests without a queue: at once, no grace period
            await self.finish(domain_uuid, conversation.voice_conversation_uuid, ended_at)
            return conversation
        try:
            await self.runtime.jobs.finish_call(
                domain_uuid, conversation.voice_conversation_uuid, ended_at, delay_s=self.runtime.settings.end_grace_s
            )
        except Exception as exc:  # the end is stored: the every-minute job queues its work later
            logger.error(
                "call %s ended, but its summary/webhook job could not be queued (%s: %s); the every-minute job "
                "will queue it",
                call_uuid,
                type(exc).__name__,
                exc,
            )
        return conversation

    async def finish(self, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID, ended_at: datetime | None) -> None:
        """The background half of ``end``: the LLM summary, then the webhook — only while the call is still
        ended by the end this job was queued for (``ended_at``), and only once. No connection is held while the
        model writes: read, let the session go, ask, then write in a new short transaction."""
        sessions = self.runtime.background_sessionmaker
        async with sessions() as session:
            conversation = await ConversationRepository(session).get(domain_uuid, conversation_uuid)
            if not _ended_by(conversation, ended_at):
                return
            assert conversation is not None
            history = await self._history(session, domain_uuid, conversation_uuid)
            asked = any(m.role == "user" and m.text.strip() for m in history)
            model = await self.summary_model(session, domain_uuid, conversation) if asked else None
        summary = await self._llm_summary(model, conversation, history) if model is not None else None
        async with sessions() as session, session.begin():
            repo = ConversationRepository(session)
            conversation = await repo.get(domain_uuid, conversation_uuid, for_update=True)
            if not _ended_by(conversation, ended_at):
                return  # re-opened, ended again, or done by another job meanwhile
            assert conversation is not None
            values: dict[str, Any] = {"finished_at": datetime.now(UTC)}
            if summary:
                values["summary"] = _with_transfer(summary, conversation, conversation.outcome)
            conversation = await repo.update(conversation, values)
            delivery = await self._webhook_row(session, domain_uuid, conversation, history)
        if delivery is not None and self.runtime.jobs is not None:
            # a delivery whose job could not be queued stays pending: the every-minute job queues it
            await self.runtime.jobs.webhook(domain_uuid, delivery, attempt=0, delay_s=0)

    async def queue_unfinished(self, older_than_s: float) -> int:
        """Queue the end-of-call work of calls that ended more than ``older_than_s`` ago and whose work was never
        done (its job could not be queued, or was lost). Returns how many were queued."""
        if self.runtime.jobs is None:
            return 0
        before = datetime.now(UTC) - timedelta(seconds=older_than_s)
        async with self.runtime.background_sessionmaker() as session:
            ends = await ConversationRepository(session).unfinished(before, limit=STALE_BATCH)
        for domain_uuid, conversation_uuid, ended_at in ends:  # one job per end: a job still queued is not doubled
            await self.runtime.jobs.finish_call(domain_uuid, conversation_uuid, ended_at)
        if ends:
            logger.warning(
                "queued the end-of-call work of %d call(s) whose job was never queued or was lost", len(ends)
            )
        return len(ends)

    async def close_stale(self, minutes: int) -> int:
        """End the calls without activity for ``minutes`` (their end was never posted: the service was down at
        hang-up, or a failed transfer was never resolved): ``abandoned`` before any caller turn, else
        ``hangup``, with a note in the call's log. Returns how many were closed."""
        if minutes <= 0:
            return 0
        before = datetime.now(UTC) - timedelta(minutes=minutes)
        async with self.runtime.background_sessionmaker() as session:
            stale = await ConversationRepository(session).stale(before, limit=STALE_BATCH)
        closed = 0
        for domain_uuid, call_uuid in stale:
            async with self.runtime.background_sessionmaker() as session, session.begin():
                conversation = await ConversationRepository(session).by_call(domain_uuid, call_uuid, for_update=True)
                if conversation is None or conversation.ended_at is not None or conversation.update_date >= before:
                    continue  # ended or active again meanwhile
                await MessageRepository(session).create(
                    domain_uuid,
                    {
                        "voice_conversation_uuid": conversation.voice_conversation_uuid,
                        "turn_index": await self._last_turn(session, domain_uuid, conversation.voice_conversation_uuid),
                        "role": "system",
                        "text": f"[stale] closed after {minutes} min without activity (the end was never reported)",
                        "action": "stale",
                    },
                )
                await self.end(
                    session, domain_uuid, call_uuid, "hangup" if conversation.turn_count > 0 else "abandoned"
                )
                closed += 1
        if closed:
            logger.info("closed %d stale call(s) after %d min without activity", closed, minutes)
        return closed

    async def _history(self, session: AsyncSession, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID) -> Any:
        page = await MessageRepository(session).for_conversation(domain_uuid, conversation_uuid, limit=500, offset=0)
        return page.items

    async def summary_model(
        self, session: AsyncSession, domain_uuid: uuid.UUID, conversation: Conversation
    ) -> LLMProvider | None:
        """The LLM the tenant chose (the secretary's or the tenant's default), or None: the dialog policy cannot
        summarise, and a provider not chosen is only a fallback — never used ahead of the built-in default."""
        preferred = None
        if conversation.voice_secretary_uuid:
            secretary = await SecretaryRepository(session).get(domain_uuid, conversation.voice_secretary_uuid)
            preferred = secretary.llm_provider_uuid if secretary else None
        chain = await self.runtime.providers.chain(domain_uuid, "llm", preferred=preferred, session=session)
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

    async def _webhook_row(
        self, session: AsyncSession, domain_uuid: uuid.UUID, conversation: Conversation, history: Any
    ) -> uuid.UUID | None:
        """The call's webhook delivery (in the outbox, with the caller's transaction), when its secretary has a
        URL."""
        from voice_ai.services.webhooks import payload

        secretary = (
            await SecretaryRepository(session).get(domain_uuid, conversation.voice_secretary_uuid)
            if conversation.voice_secretary_uuid
            else None
        )
        if secretary is None or not secretary.webhook_url:
            return None
        delivery = await WebhookDeliveryRepository(session).create(
            domain_uuid,
            {
                "voice_conversation_uuid": conversation.voice_conversation_uuid,
                "url": secretary.webhook_url,
                "payload": payload(conversation, secretary, list(history)),
            },
        )
        return delivery.voice_ai_webhook_delivery_uuid


def _ended_by(conversation: Conversation | None, ended_at: datetime | None) -> bool:
    """Whether ``conversation`` is still ended by the end of ``ended_at`` and its work is not done yet."""
    if conversation is None or conversation.ended_at is None or conversation.finished_at is not None:
        return False
    return ended_at is None or conversation.ended_at == ended_at


def _was_transferred(conversation: Conversation, destination: str | None) -> bool:
    """A ``transfer_failed`` report fits this call: it ended as transferred (to ``destination``, when given)."""
    if conversation.ended_at is None or conversation.outcome != "transferred":
        return False
    return destination is None or destination == conversation.transfer_destination


def _with_transfer(summary: str | None, conversation: Conversation, outcome: str | None) -> str | None:
    if conversation.transfer_destination and outcome in ("transferred", "error"):
        department = conversation.transfer_department or "operator"
        after = " after an error" if outcome == "error" else ""
        return f"{summary or ''} → {department} ({conversation.transfer_destination}){after}".strip()
    return summary
