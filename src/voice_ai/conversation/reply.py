"""A streaming call's reply: the same stages as a turn-based turn, with the LLM's decision streamed and the reply
spoken sentence by sentence (:class:`voice_ai.streaming.contracts.ReplyStream`).

How a reply unfolds:

1. The turn's context is read (no turn number is claimed: it is claimed when the turn is stored, by ``commit``).
2. An empty transcript is a silent turn (:func:`~voice_ai.conversation.decide.silence`). Otherwise retrieval, then
   the decision is streamed from the LLM chain and parsed as it arrives (jiter's partial mode). The decision's
   ``action`` (and ``department``) come before its ``response`` (see :mod:`voice_ai.providers.llm.decision`):
   once they are known, a transfer says the fixed transfer phrase at once (the model's words are not used, and its
   stream is closed); otherwise the response is cut into sentences as it grows
   (:mod:`voice_ai.providers.llm.sentences`) and each is synthesised at the call's sample rate and handed out as
   soon as it exists, while the model keeps writing.
3. Fallbacks: a provider whose stream fails (or times out) before the reply's first sentence is replaced by the
   next one in the chain, exactly as a turn-based turn (the configured model until its stage's end, the dialog
   policy after it; nothing of the failed stream was spoken). When no provider answers: the operator (the same
   failure phrase as a turn-based turn). A stream that fails **after** a sentence was spoken ends the reply there:
   the sentences already spoken stand, the unfinished one is dropped, the decided action stays (a note is kept in
   the turn's providers: ``llm_error``).
4. Deadlines: a streaming turn has the same one deadline as a turn-based one, counted from when its STT started
   (``respond`` gets what ``transcribe`` left, from ``heard.ms``), with the same stage ends
   (:mod:`voice_ai.conversation.budget`). The decision must have begun its reply by the configured model's stage
   end and be complete by the policy's; a later sentence is already behind the playing ones, so its speech gets
   ``TTS_RESERVE_S`` from when it starts. Storing is not under the deadline (a reply may play for longer than it).
5. ``commit`` stores the turn once, in its own short transaction. No database connection is held while a provider
   works.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jiter

from voice_ai.conversation.actions import Action
from voice_ai.conversation.budget import STORE_RESERVE_S, STT_END_S, TTS_RESERVE_S, run_in_time
from voice_ai.conversation.decide import (
    chat_messages,
    decided,
    dialog_context,
    hangup_words,
    last_turn_farewell,
    llm_window,
    no_answer,
    silence,
    transfer_words,
)
from voice_ai.conversation.listen import STT_FAILED, Listened
from voice_ai.conversation.message_taking import take_message
from voice_ai.conversation.prepare import TurnContext, cache_key, fixed_phrases, read_turn
from voice_ai.conversation.speech import CACHE_RATE, Spoken, cached_audio, ms_since, synthesize
from voice_ai.conversation.store import store_turn
from voice_ai.db.engine import pool_wait_until
from voice_ai.providers import deadline
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.decision import DECISION_SCHEMA
from voice_ai.providers.llm.prompting import parse_json
from voice_ai.providers.llm.sentences import SentenceCutter
from voice_ai.providers.types import CallInfo, ChatMessage, DialogContext
from voice_ai.streaming.contracts import Heard, ReplyPart, ReplyStream
from voice_ai.tools.load import tool_log

logger = logging.getLogger(__name__)


class DecisionReader:
    """The decision's JSON read as it streams: the fields so far, and which of them are final (a field is final
    once a later one has begun, or the document is complete)."""

    def __init__(self) -> None:
        self.buffer = ""
        self.value: dict[str, Any] = {}
        self.complete = False

    def feed(self, delta: str) -> None:
        self.buffer += delta
        start = self.buffer.find("{")
        if start < 0:
            return
        try:
            value = jiter.from_json(self.buffer[start:].encode(), partial_mode="trailing-strings")
        except ValueError:
            return  # not readable yet (or not JSON at all: judged at the end)
        if isinstance(value, dict):
            self.value = value

    def finish(self) -> None:
        self.complete = True
        whole = parse_json(self.buffer)
        if whole is not None:
            self.value = whole

    def final(self, key: str) -> bool:
        keys = list(self.value)
        return self.complete or (key in keys and keys.index(key) < len(keys) - 1)

    def action_known(self) -> bool:
        if not self.final("action"):
            return False
        if str(self.value.get("action", "")).lower() == "transfer":
            return self.final("department")
        return True

    @property
    def response(self) -> str:
        value = self.value.get("response")
        return value if isinstance(value, str) else ""


@dataclass
class _Opened:
    """A decision stream that has begun the reply (or ended): what the chain's fallback hands over."""

    stream: AsyncIterator[str]
    info: CallInfo
    reader: DecisionReader = field(default_factory=DecisionReader)
    cutter: SentenceCutter = field(default_factory=SentenceCutter)
    action: Action | None = None
    sentences: list[str] = field(default_factory=list)
    first_delta_at: float | None = None
    ended: bool = False

    def advance(self, turn: TurnContext) -> bool:
        """Take what the text so far decides; True once the reply can begin (its action is known and, unless it is
        a transfer, its first sentence is complete) or the stream ended."""
        if self.action is None:
            if not self.reader.action_known():
                return self.ended
            self.action = decided(self.reader.value, turn)
        fixed = self.action.kind == "transfer" or bool(self.action.say)  # fixed words, not the model's
        if not fixed:
            self.sentences += self.cutter.update(self.reader.response)
        return fixed or bool(self.sentences) or self.ended

    async def close(self) -> None:
        closer = getattr(self.stream, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()


@dataclass
class _Say:
    text: str
    fixed: bool  # a fixed phrase (cached audio), or the model's words


_DONE = object()


class EngineReply:
    """:class:`voice_ai.streaming.contracts.ReplyStream` as the engine produces it (see the module docstring)."""

    def __init__(self, engine: Any, domain_uuid: uuid.UUID, call_uuid: str, heard: Heard, sample_rate: int) -> None:
        self.engine = engine
        self.domain_uuid = domain_uuid
        self.call_uuid = call_uuid
        self.heard = heard
        self.sample_rate = sample_rate
        self.action = Action("continue")
        self.text = ""
        self.timings: dict[str, float] = {}
        self.providers: dict[str, str] = {}
        self.turn: TurnContext | None = None
        self._started = time.perf_counter()
        self._due = deadline.now() + max(engine.runtime.settings.turn_deadline_s - heard.ms / 1000, STT_END_S)
        self._said: list[str] = []
        self._clips: list[Spoken] = []  # fixed phrases synthesised now at 8 kHz: cached when the turn is stored
        self._iterator: AsyncIterator[ReplyPart] | None = None
        self._task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[Any] | None = None
        self._stopped = False
        self._committed: int | None = None
        self._commit_lock = asyncio.Lock()
        if heard.failed:
            self.providers["stt"] = STT_FAILED
        elif heard.provider:
            self.providers["stt"] = heard.provider
        if heard.failed or heard.provider:
            self.timings["stt_ms"] = heard.ms

    def __aiter__(self) -> AsyncIterator[ReplyPart]:
        if self._iterator is None:
            self._iterator = self._parts()
        return self._iterator

    async def aclose(self) -> None:
        """Stop producing (barge-in): the remaining LLM and TTS work is cancelled, and an iteration in progress in
        another task ends after the parts it already has."""
        await self._stop()
        if self._iterator is not None:
            closer = getattr(self._iterator, "aclose", None)
            if closer is not None:
                with contextlib.suppress(RuntimeError):  # being iterated right now: it ends at the _DONE queued
                    await closer()

    async def commit(self, *, heard: str | None = None, timings: dict[str, float] | None = None) -> int:
        """Store the turn once (later calls return the same number). ``heard``: the part of the reply the caller
        heard before interrupting (stored as the reply's text, with the action ``continue``: a transfer or hang-up
        the caller talked over was not carried out); ``timings``: the call's own (``eot_ms``,
        ``first_audio_ms``, ``interrupted_ms``…), added to the engine's."""
        async with self._commit_lock:
            if self._committed is not None:
                return self._committed
            await self._stop()
            if self.turn is None:
                raise RuntimeError("nothing to commit: the reply failed before its turn was read")
            stored = dict(self.timings) | dict(timings or {})
            stored |= self.turn.tools.timings() if self.turn.tools else {}
            self._committed = await store_turn(
                self.engine.sessions,
                self.domain_uuid,
                self.turn.conversation_uuid,
                turn_index=None,
                transcript=self.heard.text.strip(),
                response=self.text if heard is None else heard.strip(),
                # an interrupted transfer or hang-up was not carried out: the log keeps what happened
                action=self.action if heard is None else Action("continue"),
                timings=stored,
                providers=self.providers,
                clips=self._clips,
                tool_calls=tool_log(self.turn.tools),
            )
            self.timings = stored
            return self._committed

    async def _stop(self) -> None:
        self._stopped = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._queue is not None:
            self._queue.put_nowait(_DONE)  # wakes a consumer waiting for the next part

    async def _parts(self) -> AsyncIterator[ReplyPart]:
        """The parts as the producer task makes them (its work runs in its own task, so that the deadlines and
        the pool's wait limit — context variables — stay inside it, and the model keeps writing meanwhile)."""
        if self._stopped:
            return
        parts: asyncio.Queue[Any] = asyncio.Queue()
        self._queue = parts
        self._task = asyncio.get_running_loop().create_task(self._produce(parts))
        try:
            while True:
                item = await parts.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            await self._stop()

    async def _produce(self, parts: asyncio.Queue[Any]) -> None:
        try:
            with pool_wait_until(self._due - STT_END_S):
                self.turn = await read_turn(
                    self.engine.runtime, self.domain_uuid, self.call_uuid, listen=False, claim_by=None
                )
            says: asyncio.Queue[Any] = asyncio.Queue()
            transcript = self.heard.text.strip()
            taken = (
                await take_message(self.engine.runtime, self.domain_uuid, self.turn, transcript) if transcript else None
            )
            if not transcript:
                text, self.action = silence(self.turn)
                await self._finish_words(says, [_Say(text, True)], spoken_any=True)
                writer = None
            elif taken is not None:  # issue 13: a message being taken (deterministic, before any model)
                self.action, self.providers["dialog"] = taken.action, "message_taking"
                await self._finish_words(says, [_Say(taken.response, True)], spoken_any=True)
                writer = None
            else:
                writer = asyncio.get_running_loop().create_task(self._decision(self.turn, transcript, says))
            try:
                await self._speak_all(says, parts)
            finally:
                if writer is not None and not writer.done():
                    writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await writer
            self.timings["total_ms"] = ms_since(self._started)
            await parts.put(_DONE)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # to the consumer (NotFound, Conflict, a database failure)
            await parts.put(exc)

    async def _decision(self, turn: TurnContext, transcript: str, says: asyncio.Queue[Any]) -> None:
        """Retrieval, then the streamed decision (see the module docstring), its words queued for speech."""
        try:
            heard = self.heard  # a streaming turn is voice: its recognition's confidence and other hypotheses
            listened = Listened(transcript, heard.provider or "", heard.ms, heard.confidence, heard.alternatives)
            context = await dialog_context(
                self.engine.sessions, self.domain_uuid, turn, transcript, self._due, self.timings, listened=listened
            )
            await self._stream_decision(turn, chat_messages(turn, transcript), context, says)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # to the speech loop, which hands it to the consumer
            await says.put(exc)

    async def _stream_decision(
        self, turn: TurnContext, chat: list[ChatMessage], context: DialogContext, says: asyncio.Queue[Any]
    ) -> None:
        until, last = llm_window(self._due)
        started = time.perf_counter()

        async def open_stream(provider: Any) -> _Opened:
            opened = _Opened(
                provider.decide_stream(chat, context=context, schema=DECISION_SCHEMA, tools=turn.tools), CallInfo()
            )
            opened.info.provider = provider.label
            try:
                async for delta in opened.stream:
                    opened.first_delta_at = opened.first_delta_at or time.perf_counter()
                    opened.reader.feed(delta)
                    if opened.advance(turn):
                        return opened
                opened.reader.finish()
                opened.ended = True
                if "action" not in opened.reader.value and not opened.reader.response:
                    raise ProviderError("the model did not return the requested JSON", provider=provider.label)
                opened.advance(turn)
                return opened
            except BaseException:
                await opened.close()
                raise

        with deadline.within(last):
            try:
                opened = await run_in_time(turn.llm, open_stream, until=until, last=last)
            except ProviderError as exc:
                logger.error("call %s: no LLM answered in time: %s", self.call_uuid, exc)
                text, self.action = no_answer(turn)
                self.timings["llm_ms"] = ms_since(started)
                await self._finish_words(says, [_Say(text, True)], spoken_any=True)
                return
            self.providers["llm"] = opened.info.provider
            if opened.first_delta_at is not None:
                self.timings["llm_first_ms"] = round((opened.first_delta_at - started) * 1000, 1)
            assert opened.action is not None  # advance() decided it before the reply could begin
            self.action = opened.action
            if self.action.kind == "transfer" or self.action.say:  # the words must match where the call really goes
                await opened.close()
                self.timings["llm_ms"] = ms_since(started)
                await self._finish_words(says, [_Say(transfer_words(self.action, turn.language), True)], True)
                return
            for sentence in opened.sentences:
                await says.put(_Say(sentence, False))
            try:
                if not opened.ended:
                    async for delta in opened.stream:
                        opened.reader.feed(delta)
                        for sentence in opened.cutter.update(opened.reader.response):
                            await says.put(_Say(sentence, False))
                    opened.reader.finish()
                for sentence in opened.cutter.update(opened.reader.response) + opened.cutter.flush():
                    await says.put(_Say(sentence, False))
            except ProviderError as exc:  # after the first sentence: end the reply with what was said
                logger.warning("call %s: the LLM stream failed mid-reply, ending it there: %s", self.call_uuid, exc)
                self.providers["llm_error"] = exc.kind
            finally:
                await opened.close()
            self.timings["llm_ms"] = ms_since(started)
            await self._finish_words(says, [], spoken_any=opened.cutter.count > 0)

    async def _finish_words(self, says: asyncio.Queue[Any], words: list[_Say], spoken_any: bool) -> None:
        """The last words of a reply (the same rules as a turn-based turn), then the end of the reply."""
        assert self.turn is not None
        if self.action.kind == "hangup" and not spoken_any:
            words.append(_Say(hangup_words(self.turn), True))
        farewell = last_turn_farewell(self.turn, self.action)
        if farewell is not None:
            words.append(_Say(farewell, True))
            self.action = Action("hangup")
        for say in words:
            await says.put(say)
        await says.put(_DONE)

    async def _speak_all(self, says: asyncio.Queue[Any], parts: asyncio.Queue[Any]) -> None:
        while True:
            say = await says.get()
            if say is _DONE:
                return
            if isinstance(say, BaseException):
                raise say
            part = await self._speak(say, index=len(self._said))
            self._said.append(part.text)
            self.text = " ".join(self._said)
            if part.index == 0:
                self.timings["first_part_ms"] = ms_since(self._started)
            await parts.put(part)

    async def _speak(self, say: _Say, *, index: int) -> ReplyPart:
        """One sentence's speech at the call's rate: a fixed phrase from the audio cache when it is there."""
        assert self.turn is not None
        turn, started = self.turn, time.perf_counter()
        key = (
            cache_key(turn.secretary, say.text)
            if say.fixed and say.text in fixed_phrases(turn.secretary, turn.targets)
            else None
        )
        audio = None
        if key is not None and key in turn.cached:
            audio = await cached_audio(self.engine.sessions, turn.cached[key], self.sample_rate)
            if audio is not None:
                self.providers.setdefault("tts", "cache")
        if audio is None:
            cache = key is not None and self.sample_rate == CACHE_RATE
            with deadline.within(max(self._due - STORE_RESERVE_S, deadline.now() + TTS_RESERVE_S)):
                spoken = await synthesize(
                    turn.tts, turn.secretary, say.text, key if cache else None,
                    sample_rate=self.sample_rate, keep_wav=cache,
                )  # fmt: skip
            if cache and spoken.wav is not None:
                self._clips.append(spoken)
            if spoken.provider:
                self.providers["tts"] = spoken.provider
            audio = spoken.audio
        took = ms_since(started)
        self.timings["tts_ms"] = round(self.timings.get("tts_ms", 0.0) + took, 1)
        if index == 0:
            self.timings["tts_first_ms"] = took
        return ReplyPart(index, say.text, audio)


def _conforms(reply: EngineReply) -> ReplyStream:
    return reply  # mypy checks that the engine's reply is the contract's ReplyStream
