"""Transfers that come back (issue 13, point 2): what the secretary says when a transfer did not reach anybody,
and what the person who answers an announced transfer hears first.

The call flow rings the destination itself for a bounded time (docs/transfers.md). When nobody takes the call —
no answer, busy, rejected, declined after the announcement, or a destination that does not route — it asks
:func:`transfer_failed` what to say: the failure in words, "or another department" when the secretary has one,
and the offer of a message (``phrase(language, "offer_message")``, last: message taking starts from it). The
call goes on with the secretary; the failure is noted in the call's log (``[transfer_failed] <dest>@<ctx>
<CAUSE>``) and the reply is stored as the secretary's last words.

:func:`announcement` is the line the person who answers an announced transfer hears: who is calling (caller-ID
name and number) and why (the caller's last request before the transfer, shortened to one line), then "press 1".

Like a turn, neither holds a database connection while speech is synthesised: read, let the session go, speak,
store in another short transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from voice_ai.conversation.budget import STORE_RESERVE_S
from voice_ai.conversation.lifecycle import CallLifecycle
from voice_ai.conversation.phrases import phrase
from voice_ai.conversation.prepare import cache_key, open_call, tenant_name, transfer_targets
from voice_ai.conversation.speech import Spoken, store_clip, synthesize
from voice_ai.db.models import Secretary
from voice_ai.db.repositories.audio import AudioRepository
from voice_ai.db.repositories.entities import ConversationRepository, MessageRepository, TransferRuleRepository
from voice_ai.providers import deadline
from voice_ai.providers.audio import Audio
from voice_ai.providers.base import LLMProvider
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.types import ChatMessage

SUMMARY_CHARS = 140  # one line, a few seconds of speech
SUMMARY_LLM_S = 3.0  # the tenant's model writes the line while the caller waits before the ringing: bounded

# FreeSWITCH's hangup causes as the call flow reads them (freeswitch.Session's hangupCause(), checked on the real
# FreeSWITCH 1.10.12), plus DECLINED: the person heard the announcement and did not press 1.
NO_ANSWER = frozenset(
    {"NO_ANSWER", "NO_USER_RESPONSE", "ALLOTTED_TIMEOUT", "RECOVERY_ON_TIMER_EXPIRE", "PROGRESS_TIMEOUT"}
)
BUSY = frozenset({"USER_BUSY", "NORMAL_CIRCUIT_CONGESTION", "SWITCH_CONGESTION"})
DECLINED = frozenset({"CALL_REJECTED", "DECLINED"})


def failure_kind(cause: str | None) -> str:
    """``no_answer``, ``busy``, ``declined`` or ``unreachable`` (no route, unallocated, not registered, anything
    else) for a hangup cause. NORMAL_CLEARING before an answer is a dialplan that ran out of applications without
    putting the call anywhere (on the real FreeSWITCH: a number only ``continue="true"`` extensions match) — a phone
    that declines answers CALL_REJECTED or USER_BUSY — so it counts as unreachable."""
    value = (cause or "").upper()
    if value in NO_ANSWER:
        return "no_answer"
    if value in BUSY:
        return "busy"
    if value in DECLINED:
        return "declined"
    return "unreachable"


def failure_text(language: str, department: str | None, cause: str | None, *, others: bool) -> str:
    """What the secretary says: the failure, another department when there is one, the offer of a message (last)."""
    kind = failure_kind(cause)
    if department is None:  # the operator
        said = phrase(language, "operator_no_answer")
    else:
        said = phrase(language, f"transfer_{kind}", department=department)
    parts = [said]
    if others:
        parts.append(phrase(language, "transfer_other"))
    parts.append(phrase(language, "offer_message"))
    return " ".join(parts)


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters, cut at a word."""
    line = re.sub(r"\s+", " ", text).strip().rstrip(".!?…")
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:")


def spoken_number(number: str | None) -> str | None:
    """A caller-ID number read digit by digit ("+55 31…" is no amount of money)."""
    digits = re.sub(r"\D", "", number or "")
    return " ".join(digits) if digits else None


@dataclass
class Said:
    text: str
    audio_uuid: uuid.UUID | None
    audio: Audio | None = None  # the samples, when asked for (a streaming call plays them itself)


def _department(rules: list[Any], secretary: Secretary, destination: str, context: str | None) -> str | None:
    """The department of the rule that sends callers to ``destination`` (in ``context`` when given); None for the
    operator or a destination no rule has."""
    for target in transfer_targets(rules, secretary):
        if target.destination == destination and (context is None or target.context in (None, context)):
            return target.department
    return None


class TransferReturn:
    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def _due(self) -> float:
        return deadline.now() + float(self.runtime.settings.turn_deadline_s)

    async def transfer_failed(
        self,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        *,
        destination: str,
        context: str | None,
        cause: str | None,
        sample_rate: int | None = None,
    ) -> Said:
        """Note the failed transfer, and return (and store as the secretary's words) what the caller hears now;
        with ``sample_rate`` (a streaming call) also its samples at that rate."""
        sessions = self.runtime.sessionmaker
        async with sessions() as session, session.begin():
            await tenant_name(session, domain_uuid)
            # noted first: it also re-opens a call the flow reported as transferred before the transfer failed
            await CallLifecycle(self.runtime).event(
                session,
                domain_uuid,
                call_uuid,
                "transfer_failed",
                destination=destination,
                context=context,
                detail=cause,
            )
            conversation, secretary = await open_call(session, domain_uuid, call_uuid)
            if conversation.transfer_destination is not None:  # the turn chose it; nobody took the call there
                conversation = await ConversationRepository(session).update(
                    conversation,
                    {"transfer_destination": None, "transfer_context": None, "transfer_department": None},
                )
            rules = (await TransferRuleRepository(session).list(domain_uuid, limit=500, offset=0, enabled=True)).items
            targets = transfer_targets(list(rules), secretary)
            operator = destination == secretary.operator_destination
            # a destination no rule has (the operator's, or a rule changed meanwhile) is named by its number
            department = None if operator else _department(list(rules), secretary, destination, context) or destination
            others = any(t.destination != destination for t in targets)
            text = failure_text(secretary.language, department, cause, others=others)
            key = cache_key(secretary, text)  # a fixed phrase per department and cause: synthesised once
            audios = AudioRepository(session)
            cached = (await audios.cached_many(domain_uuid, [key])).get(key)
            audio: Audio | None = None
            if cached is not None and sample_rate is not None:
                wav = await audios.wav(cached)
                audio = Audio.from_wav(wav).resampled(sample_rate) if wav is not None else None
                cached = cached if audio is not None else None
            chains = (
                None
                if cached
                else await self.runtime.providers.for_secretary(domain_uuid, secretary, session, kinds=("tts",))
            )
            conversation_uuid = conversation.voice_conversation_uuid
        if chains is None:
            spoken = Spoken(text, cached, "cache", 0.0, audio=audio)
        else:
            with deadline.within(self._due() - STORE_RESERVE_S):
                spoken = await synthesize(chains["tts"], secretary, text, key)  # cached at 8 kHz for both flows
        await self._store(domain_uuid, conversation_uuid, spoken, role="assistant", action="continue")
        samples = spoken.audio.resampled(sample_rate) if spoken.audio is not None and sample_rate else None
        return Said(text, spoken.audio_uuid, samples)

    async def announcement(self, domain_uuid: uuid.UUID, call_uuid: str, *, sample_rate: int | None = None) -> Said:
        """The line an announced transfer plays to the person who answers (noted in the call's log); with
        ``sample_rate`` (a streaming call) also its samples at that rate."""
        sessions = self.runtime.sessionmaker
        async with sessions() as session:
            await tenant_name(session, domain_uuid)
            conversation, secretary = await open_call(session, domain_uuid, call_uuid)
            history = (
                await MessageRepository(session).for_conversation(
                    domain_uuid, conversation.voice_conversation_uuid, limit=500, offset=0
                )
            ).items
            chains = await self.runtime.providers.for_secretary(domain_uuid, secretary, session, kinds=("tts",))
            asked = [m.text for m in history if m.role == "user" and m.text.strip()]
            model = (
                await CallLifecycle(self.runtime).summary_model(session, domain_uuid, conversation) if asked else None
            )
        language = secretary.language
        who = " ".join(
            p for p in ((conversation.caller_id_name or "").strip(), spoken_number(conversation.caller_id_number)) if p
        ) or phrase(language, "unknown_caller")
        if asked:
            summary = await _model_line(model, language, history) if model is not None else None
            text = phrase(language, "announcement", caller=who, summary=one_line(summary or asked[-1]))
        else:
            text = phrase(language, "announcement_no_subject", caller=who)
        with deadline.within(self._due() - STORE_RESERVE_S):
            spoken = await synthesize(chains["tts"], secretary, text, None)
        await self._store(
            domain_uuid, conversation.voice_conversation_uuid, spoken, role="system", action="announcement"
        )
        samples = spoken.audio.resampled(sample_rate) if spoken.audio is not None and sample_rate else None
        return Said(text, spoken.audio_uuid, samples)

    async def _store(
        self, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID, spoken: Spoken, *, role: str, action: str
    ) -> None:
        async with self.runtime.sessionmaker() as session, session.begin():
            await store_clip(session, domain_uuid, spoken)
            messages = MessageRepository(session)
            history = (await messages.for_conversation(domain_uuid, conversation_uuid, limit=500, offset=0)).items
            await messages.create(
                domain_uuid,
                {
                    "voice_conversation_uuid": conversation_uuid,
                    "turn_index": max((m.turn_index for m in history), default=0),
                    "role": role,
                    "text": spoken.text if role == "assistant" else f"[{action}] {spoken.text}",
                    "action": action,
                    "timings": {"tts_ms": spoken.ms},
                    "providers_used": {"tts": spoken.provider} if spoken.provider else {},
                },
            )
            await ConversationRepository(session).touch(domain_uuid, conversation_uuid)


async def _model_line(model: LLMProvider, language: str, history: Any) -> str | None:
    """The reason for the call in one short line by the tenant's model, within ``SUMMARY_LLM_S``; None (the caller's
    own last request is said instead) when it fails, is late or answers nothing."""
    english = language.lower().startswith("en")
    instruction = (
        "In one short line (at most 15 words), say what this caller wants, for the colleague who will take the call."
        " No greeting, no name, no phone number."
        if english
        else "Em uma linha curta (no máximo 15 palavras), diga o que a pessoa quer, para o colega que vai atender."
        " Sem saudação, sem nome, sem telefone."
    )
    transcript = "\n".join(
        f"{'Caller' if m.role == 'user' else 'Secretary'}: {m.text}" for m in history if m.role in ("user", "assistant")
    )
    try:
        with deadline.within(deadline.now() + SUMMARY_LLM_S):
            reply = await model.chat(
                [ChatMessage("system", instruction), ChatMessage("user", transcript[-4000:])], max_tokens=60
            )
    except (ProviderError, TimeoutError):
        return None
    line = reply.text.strip().strip('"').strip()
    return line or None
