"""One call, turn by turn: STT → retrieval → LLM decision → safe action → TTS, with every turn stored — for
turn-based calls (``turn``: the Lua flow's POST per utterance) and streaming calls (``start_stream``,
``transcribe``, ``respond``, ``end``, ``transfer_failed``, ``announcement``: :class:`voice_ai.streaming.contracts.StreamingEngine`).

Both modes run the same stages, one module each: :mod:`~voice_ai.conversation.prepare` (read the turn's context,
claim its number), :mod:`~voice_ai.conversation.listen` (STT), :mod:`~voice_ai.conversation.decide` (retrieval, the
LLM's decision and the safe-action rules), :mod:`~voice_ai.conversation.speech` (TTS and the audio cache),
:mod:`~voice_ai.conversation.store` (the turn's messages); :mod:`~voice_ai.conversation.reply` streams a reply
sentence by sentence.

All call state is in PostgreSQL (conversation and messages), so any service instance can serve any turn.
Each stage's time and the provider that answered are stored on the turn's messages.

Two rules shape these modules:

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

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voice_ai.conversation.actions import Action
from voice_ai.conversation.budget import BEGIN_BY_S, START_DEADLINE_S, STORE_RESERVE_S
from voice_ai.conversation.decide import decide, last_turn_farewell, silence
from voice_ai.conversation.lifecycle import CallLifecycle
from voice_ai.conversation.listen import STT_FAILED, Listened, listen, question_asked
from voice_ai.conversation.message_taking import take_message
from voice_ai.conversation.phrases import phrase
from voice_ai.conversation.prepare import (
    cache_key,
    find_secretary,
    fixed_phrases,
    read_listener,
    read_turn,
    tenant_name,
)
from voice_ai.conversation.reply import EngineReply
from voice_ai.conversation.speech import CACHE_RATE, Spoken, ms_since, store_clip, synthesize
from voice_ai.conversation.store import store_turn
from voice_ai.core.errors import NotFoundError
from voice_ai.db.engine import pool_wait_until
from voice_ai.db.models import Secretary
from voice_ai.db.repositories.audio import AudioRepository
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.db.repositories.entities import ConversationRepository, MessageRepository
from voice_ai.providers import deadline
from voice_ai.providers.audio import Audio
from voice_ai.providers.manager import FallbackChain
from voice_ai.providers.stt.whisper import purpose as stt_purpose
from voice_ai.schedules.openings import greeting_words, secretary_opening
from voice_ai.streaming.contracts import Heard, StreamingEngine, StreamSettings, StreamStart
from voice_ai.tools.load import tool_log

__all__ = ["STT_FAILED", "CallEngine", "CallStart", "Spoken", "TurnResult"]


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


def stream_settings(secretary: Secretary) -> StreamSettings:
    """A secretary's streaming timing (its own columns when the schema has them, else the defaults)."""
    defaults = StreamSettings()
    return StreamSettings(
        end_of_turn_ms=getattr(secretary, "end_of_turn_ms", None) or defaults.end_of_turn_ms,
        barge_in=bool(getattr(secretary, "barge_in", defaults.barge_in)),
        barge_in_min_ms=getattr(secretary, "barge_in_min_ms", None) or defaults.barge_in_min_ms,
        idle_prompt_s=defaults.idle_prompt_s,
    )


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

    async def _synthesize(self, chain: FallbackChain[Any], secretary: Secretary, text: str, key: str | None) -> Spoken:
        """Text to 8 kHz speech (:func:`voice_ai.conversation.speech.synthesize`)."""
        return await synthesize(chain, secretary, text, key)

    # -- the start of a call ------------------------------------------------------------------------------------

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

    async def start_stream(
        self,
        domain_uuid: uuid.UUID,
        secretary_ref: str,
        call_uuid: str,
        *,
        caller_id_number: str | None,
        caller_id_name: str | None,
        destination_number: str | None,
        sample_rate: int,
    ) -> StreamStart:
        """:meth:`start` for a streaming call: the same conversation and greeting, the greeting's samples at
        ``sample_rate`` (the cached 8 kHz clip decoded, or synthesised at that rate)."""
        due = deadline.now() + min(self.runtime.settings.turn_deadline_s, START_DEADLINE_S)
        with pool_wait_until(due - STORE_RESERVE_S):
            started = await self._start(
                domain_uuid,
                secretary_ref,
                call_uuid,
                due,
                caller_id_number,
                caller_id_name,
                destination_number,
                sample_rate=sample_rate,
            )
        greeting = started.greeting
        return StreamStart(
            started.conversation_uuid,
            started.secretary.language,
            greeting.text,
            greeting.audio,
            started.operator_destination,
            started.operator_context,
            stream_settings(started.secretary),
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
        *,
        sample_rate: int | None = None,
    ) -> CallStart:
        started = time.perf_counter()
        audio: Audio | None = None
        async with self.sessions() as session:
            domain_name = await tenant_name(session, domain_uuid)
            secretary = await find_secretary(session, domain_uuid, secretary_ref)
            text = secretary.greeting or phrase(secretary.language, "greeting", company=secretary.company_name or "nós")
            opening = await secretary_opening(session, domain_uuid, secretary, fusionpbx=not self.runtime.standalone)
            text = greeting_words(text, opening, secretary.language)  # closed now: says so, and when it opens
            key = cache_key(secretary, text)
            audios = AudioRepository(session)
            found = (await audios.cached_many(domain_uuid, [key])).get(key)
            if found is not None and sample_rate is not None:  # a streaming call plays the samples themselves
                wav = await audios.wav(found)
                audio = Audio.from_wav(wav).resampled(sample_rate) if wav is not None else None
                found = found if audio is not None else None
            tts = (
                None
                if found
                else await self.providers.chain(
                    domain_uuid, "tts", preferred=secretary.tts_provider_uuid, session=session
                )
            )
        if tts is None:
            greeting = Spoken(text, found, "cache", ms_since(started), audio=audio)
        else:
            rate = sample_rate or CACHE_RATE
            with deadline.within(due - STORE_RESERVE_S):  # the cache keeps 8 kHz clips only
                greeting = await synthesize(
                    tts,
                    secretary,
                    text,
                    key if rate == CACHE_RATE else None,
                    sample_rate=rate,
                    keep_wav=rate == CACHE_RATE,
                )
        async with self.sessions() as session, session.begin():
            await store_clip(session, domain_uuid, greeting)
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

    # -- a turn-based turn ----------------------------------------------------------------------------------------

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
        listening = audio is not None and bool(audio.pcm)  # a recording without frames is silence
        claim_by = due - BEGIN_BY_S
        with pool_wait_until(claim_by):
            turn = await read_turn(self.runtime, domain_uuid, call_uuid, listen=listening, claim_by=claim_by)
        secretary = turn.secretary
        timings: dict[str, float] = {}
        providers: dict[str, str] = {}

        transcript = (text or "").strip()
        heard: Listened | None = None
        if listening and audio is not None and turn.stt is not None:
            heard = await listen(
                turn.stt,
                audio,
                language=turn.language,
                hints=turn.hints,
                due=due,
                call_uuid=call_uuid,
                lexicon=turn.lexicon,
                asked=question_asked(turn.history),
            )
            transcript, providers["stt"], timings["stt_ms"] = heard.text, heard.provider, heard.ms

        taken = await take_message(self.runtime, domain_uuid, turn, transcript) if transcript else None
        if not transcript:
            response, action = silence(turn)
        elif taken is not None:  # issue 13: a message being taken (deterministic, before any model)
            response, action, providers["dialog"] = taken.response, taken.action, "message_taking"
        else:
            response, action = await decide(
                self.sessions, domain_uuid, call_uuid, turn, transcript, due, timings, providers, listened=heard
            )

        farewell = last_turn_farewell(turn, action)
        if farewell is not None:
            response, action = f"{response} {farewell}".strip(), Action("hangup")

        # fixed phrases (transfer notices, "não entendi", operator, apologies, goodbyes) are cached per
        # secretary/voice/text: only the first call pays for their synthesis
        key = cache_key(secretary, response) if response in fixed_phrases(secretary, turn.targets) else None
        if key is not None and key in turn.cached:
            spoken = Spoken(response, turn.cached[key], "cache", 0.0)
        else:
            with deadline.within(due - STORE_RESERVE_S):
                spoken = await synthesize(turn.tts, secretary, response, key)
        timings["tts_ms"] = spoken.ms
        if spoken.provider:
            providers["tts"] = spoken.provider
        timings["total_ms"] = ms_since(started)
        await store_turn(
            self.sessions,
            domain_uuid,
            turn.conversation_uuid,
            turn_index=turn.turn_index,
            transcript=transcript,
            response=response,
            action=action,
            timings=timings,
            providers=providers,
            clips=[spoken],
            tool_calls=tool_log(turn.tools),
        )
        return TurnResult(transcript, response, action, spoken.audio_uuid, timings, providers, turn.turn_index)

    # -- a streaming call ------------------------------------------------------------------------------------------

    async def transcribe(self, domain_uuid: uuid.UUID, call_uuid: str, audio: Audio) -> Heard:
        """The STT stage alone, bounded by a turn's STT stage ends (its deadline counted from now); stores
        nothing, so a streaming call may run it speculatively and discard the result. The recogniser is told the
        audio is a streaming segment (``stt_purpose("stream")``): Whisper decodes it faster (its module says how)."""
        due = deadline.now() + self.runtime.settings.turn_deadline_s
        started = time.perf_counter()
        with pool_wait_until(due - BEGIN_BY_S):
            listener = await read_listener(self.runtime, domain_uuid, call_uuid)
        if not audio.pcm:
            return Heard("", None, ms_since(started))
        with stt_purpose("stream"):
            heard = await listen(
                listener.chain,
                audio,
                language=listener.secretary.language,
                hints=list(listener.lexicon.terms),
                due=due,
                call_uuid=call_uuid,
                lexicon=listener.lexicon,
                asked=listener.asked,
            )
        failed = heard.provider == STT_FAILED
        return Heard(
            heard.text,
            None if failed else heard.provider,
            ms_since(started),
            failed=failed,
            confidence=heard.confidence,
            alternatives=heard.alternatives,
        )

    def respond(self, domain_uuid: uuid.UUID, call_uuid: str, heard: Heard, *, sample_rate: int) -> EngineReply:
        """The reply to what the caller said, streamed sentence by sentence (:mod:`voice_ai.conversation.reply`);
        nothing runs until it is iterated."""
        return EngineReply(self, domain_uuid, call_uuid, heard, sample_rate)

    async def end(
        self,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        *,
        outcome: Literal["transferred", "resolved", "hangup", "abandoned", "error"],
        destination: str | None = None,
        context: str | None = None,
        error: str | None = None,
    ) -> None:
        """The call ended: the same as ``POST /v1/calls/{call_uuid}/end`` (outcome, summary, webhook); ``error``
        is noted in the call's log first."""
        lifecycle = CallLifecycle(self.runtime)
        async with self.sessions() as session:
            if not await DomainRepository(session).exists(domain_uuid):
                raise NotFoundError("Domain")
            if error:
                await lifecycle.event(session, domain_uuid, call_uuid, "note", detail=f"error: {error}"[:500])
            await lifecycle.end(session, domain_uuid, call_uuid, outcome, destination=destination, context=context)
            await session.commit()

    async def transfer_failed(
        self,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        *,
        destination: str,
        context: str | None,
        cause: str,
        sample_rate: int,
    ) -> tuple[str, Audio | None]:
        """A streaming call's transfer that nobody took: the same as ``POST /v1/calls/{call_uuid}/transfer-failed``
        (:class:`~voice_ai.conversation.transfer_return.TransferReturn`); the reply and its samples."""
        from voice_ai.conversation.transfer_return import TransferReturn

        said = await TransferReturn(self.runtime).transfer_failed(
            domain_uuid, call_uuid, destination=destination, context=context, cause=cause, sample_rate=sample_rate
        )
        return said.text, said.audio

    async def announcement(
        self, domain_uuid: uuid.UUID, call_uuid: str, *, sample_rate: int
    ) -> tuple[str, Audio | None]:
        """A streaming call's announced transfer: the line the person who answers hears first, as ``POST
        /v1/calls/{call_uuid}/announcement`` makes it (noted in the call's log); the text and its samples."""
        from voice_ai.conversation.transfer_return import TransferReturn

        said = await TransferReturn(self.runtime).announcement(domain_uuid, call_uuid, sample_rate=sample_rate)
        return said.text, said.audio


def _conforms(engine: CallEngine) -> StreamingEngine:
    return engine  # mypy checks that the engine is the contract's StreamingEngine
