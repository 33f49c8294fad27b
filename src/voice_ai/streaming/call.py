"""One streaming call, whatever carries its audio: listens (VAD, end of turn, barge-in), asks the engine for each
reply as a stream of sentences, plays each one as soon as it exists, and records what the caller really heard.

Driving it (the transport's side)::

    call = StreamingCall(engine, transport, domain_uuid, call_uuid, secretary, CallerInfo(...))
    await call.start()                   # the conversation starts, the greeting plays
    call.feed(pcm)                       # every frame of caller audio (any size), synchronous and cheap
    call.dtmf("0")                       # keys
    call.playback_started(clip_id)       # when the transport knows (optional: estimated from durations otherwise)
    call.playback_stopped(clip_id, completed=True)
    await call.closed("caller hung up")  # the caller or the link went away
    await call.wait()                    # (optional) every task of the call is over

Timing comes from the caller's audio: the frames arrive continuously (20 ms each on FreeSWITCH and from the
console), and each :meth:`StreamingCall.feed` also checks the call's timers (idle prompt, the estimated end of a
playback the transport does not report). ``clock`` (default :func:`time.monotonic`) is the call's clock; the ``at``
a transport passes to the playback callbacks must come from it (:meth:`StreamingCall.now`), or be left out (now).

Decisions (issue 11):

- VAD runs inline in :meth:`feed` (Silero, ~0.2 ms per 32 ms chunk on this project's CPUs: ``bench/streaming_core.py``);
  everything slower (STT, the reply, the transport's I/O) runs in tasks.
- A pause of ``pause_ms`` (150) starts a speculative STT of the segment so far; the caller going on discards it,
  the turn ending with no new voice since reuses it. 150 ms (``bench/stt_latency.py``, 40 utterances): Whisper
  base takes ~0.9 s on 2 cores, longer than the 600 ms end of turn, so every millisecond sooner is one the caller
  waits less; the segment then has 150 ms of its 200 ms tail (word error rate unchanged within noise, with 100 ms
  it lost words); and it starts 50 speculations for 40 utterances of which 8 go stale (200 ms: 47 and 5; 100 ms:
  51 and 9) — a stale one is a Whisper run that cannot be stopped in its thread, ~7 % more STT CPU.
- Caller speech while a reply is produced but nothing of it played yet cancels that reply (``barge_in_min_ms`` of
  voice, like a barge-in): the reply is closed and *not* committed — the caller heard nothing of it — and their
  words carry over into the next turn (the transcript when it was known, else the audio: the next segment starts
  where the first one did). The same holds for a barge-in before the first clip really started playing.
- A barge-in stops playback and commits the interrupted reply with ``heard`` = the clips that fully played + the
  share of the cut clip's words that matches the share of its audio that played.
- Barge-in reacts in two steps (LiveKit Agents' "false interruption" handling): at the first reliable voice while
  our audio plays (``VOICE_ONSET``: ~100 ms of voice at the raised threshold, past echo rejection) the call
  **pauses** the transport's playback; ``barge_in_min_ms`` of voice then confirms it (``BARGE_IN``: stop, drop the
  queue, commit what was heard up to the *pause*), while a burst that dies first (a cough, an "uhum") or that is
  not confirmed within ``onset_timeout_ms`` (600) **resumes** the playback where it paused — nothing is cut or
  committed, and every estimate (what was heard, when the reply ends, the echo reference) moves by the paused
  time. A transport without ``pause_playback``/``resume_playback`` (checked with ``getattr``) gets the one-step
  behaviour: stop at confirmation. Live events: ``{"type": "barge_in", "state": "paused" | "resumed" |
  "confirmed", ...}``; the interrupted turn's timings get ``barge_in_reaction_ms`` (the detector's voice onset →
  pause or stop sent).
- ``*`` replays the last reply (the greeting before any) when the caller has the floor; it is ignored while a
  reply is in flight. ``#`` closes the caller's turn now (nothing happens without speech). ``0`` goes to the
  operator (no operator destination: the transport's fallback, as a failure).
- The caller hanging up ends the call ``hangup`` after at least one committed turn, else ``abandoned`` (as the
  turn-based flow reports it).
- Any engine exception or transport failure: :meth:`MediaTransport.fail` once and ``engine.end(outcome="error")``
  best-effort; no task of the call ends with an unhandled exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from voice_ai.conversation.actions import Action
from voice_ai.core.logging import redact
from voice_ai.providers.audio import Audio
from voice_ai.streaming.audio import to_float
from voice_ai.streaming.contracts import (
    CALLER_LEFT,
    Clip,
    Heard,
    MediaTransport,
    ReplyPart,
    ReplyStream,
    StreamingEngine,
    StreamSettings,
    StreamStart,
    ring_time,
)
from voice_ai.streaming.echo import EchoGuard
from voice_ai.streaming.turns import Kind, Mode, TurnDetector, TurnEvent
from voice_ai.streaming.vad import Activity

logger = logging.getLogger(__name__)

Phase = Literal["starting", "listening", "thinking", "speaking", "ending", "ended"]
UNREPORTED_MARGIN_S = 0.5  # a transport that never reported a playback: its clip is over this long after its estimate
LOST_REPORT_S = 3.0  # a transport that reports: a stop never reported is assumed this long after the estimate


@dataclass(frozen=True)
class CallerInfo:
    caller_id_number: str | None = None
    caller_id_name: str | None = None
    destination_number: str | None = None


@dataclass
class _Sent:
    clip: Clip
    sent_at: float
    est_start: float  # when it should start playing (queued behind the clips before it), or really started
    started: bool = False  # the transport reported its start (est_start is then the real start)
    stopped_at: float | None = None
    completed: bool = False

    @property
    def duration(self) -> float:
        return self.clip.audio.duration_s

    @property
    def est_end(self) -> float:
        return self.est_start + self.duration


@dataclass
class _Reply:
    """What the call is saying (a reply, the greeting, a replay) and how far it got."""

    seq: int
    caller: Heard | None  # what the caller said (None: the greeting or a replay)
    speech_end: float  # clock: end of the caller's speech (or when the silent turn / greeting began)
    start_ms: float | None = None  # stream time where the caller's segment starts (None: not the caller's turn)
    silent: bool = False  # the idle prompt's turn
    stream: ReplyStream | None = None
    clips: list[_Sent] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # every part's text, spoken or not
    produced: bool = False  # every part has been handed to the transport
    cancelled: bool = False
    committed: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    first_audio_at: float | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


@dataclass
class _Pause:
    """Playback paused at the caller's first voice, waiting for the voice to be confirmed or to die."""

    reply: _Reply
    at: float  # clock: when the pause was sent (what the caller heard stops here)
    onset: float  # clock: where the caller's voice began (the detector's onset)


@dataclass
class _Speculation:
    start_ms: float
    speech_end_ms: float
    task: asyncio.Task[Heard]


class StreamingCall:
    """One call (see the module's docstring). All methods are meant to be called from the event loop's thread."""

    def __init__(
        self,
        engine: StreamingEngine,
        transport: MediaTransport,
        domain_uuid: uuid.UUID,
        call_uuid: str,
        secretary: str,
        caller: CallerInfo | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        activity: Activity | None = None,
        pause_ms: float = 150.0,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.domain_uuid = domain_uuid
        self.call_uuid = call_uuid
        self.secretary = secretary
        self.caller = caller or CallerInfo()
        self.clock = clock
        self.sample_rate = transport.sample_rate
        self.settings = StreamSettings()
        self.echo = EchoGuard(self.sample_rate)
        self.detector = TurnDetector(
            self.settings, self.sample_rate, activity=activity, echo=self.echo, pause_ms=pause_ms
        )
        self.started: StreamStart | None = None
        self.phase: Phase = "starting"
        self.turns = 0  # turns committed
        self.outcome: str | None = None
        self._seq = 0
        self._reply: _Reply | None = None  # the reply in flight (produced, playing, or waiting to be committed)
        self._last_clips: list[Clip] = []  # for "*"
        self._sent: dict[str, tuple[_Reply, _Sent]] = {}
        self._queue_end = 0.0  # clock: when everything handed to the transport should have played
        self._reports = False  # the transport reports playback (playback_started/stopped seen)
        self._speculation: _Speculation | None = None
        # discarded speculative transcriptions still running: a recogniser's thread cannot be stopped, so a caller
        # who keeps pausing would pile Whisper runs up on the CPU; while one runs, no new speculation starts
        self._stale: set[asyncio.Task[Heard]] = set()
        self._carry_text = ""  # a cancelled turn's words, for the next one
        self._carry_start_ms: float | None = None  # a cancelled turn's speech start, when its words were unknown
        self._idle_since: float | None = None
        self._turn_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._failed = False
        self._gone = False  # the caller left while a transfer rang
        self._pause: _Pause | None = None
        self._can_pause = callable(getattr(transport, "pause_playback", None)) and callable(
            getattr(transport, "resume_playback", None)
        )
        self._control_lock = asyncio.Lock()  # pause / resume / stop reach the transport in the order decided

    # -- the transport's side --------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    @property
    def ended(self) -> bool:
        return self.phase in ("ending", "ended")

    async def start(self) -> StreamStart | None:
        """Start the conversation and play the greeting; None when the call could not start (the transport was
        told to :meth:`~MediaTransport.fail`)."""
        self._pump = asyncio.get_running_loop().create_task(self._pump_events())
        try:
            started = await self.engine.start_stream(
                self.domain_uuid,
                self.secretary,
                self.call_uuid,
                caller_id_number=self.caller.caller_id_number,
                caller_id_name=self.caller.caller_id_name,
                destination_number=self.caller.destination_number,
                sample_rate=self.sample_rate,
            )
        except Exception as exc:
            logger.exception("call %s: the streaming call could not start", self.call_uuid)
            await self._fail(f"start failed: {type(exc).__name__}: {exc}", end=False)
            return None
        self.started = started
        self.settings = started.settings
        self.detector.machine.settings = started.settings
        if self.ended:  # the caller left while it started: the conversation exists, end it
            if not self._failed and self.outcome is None:
                self.outcome = "abandoned"
                try:
                    await self.engine.end(self.domain_uuid, self.call_uuid, outcome="abandoned")
                except Exception:
                    logger.exception("call %s: ending the conversation failed", self.call_uuid)
            return started
        greeting = _Reply(self._next_seq(), None, self.now())
        greeting.texts.append(started.greeting_text)
        self._reply = greeting
        self._emit({"type": "reply", "text": started.greeting_text, "turn": 0})
        greeting.task = self._spawn(self._play_prepared(greeting, [(started.greeting_text, started.greeting)]))
        return started

    def feed(self, pcm: bytes) -> None:
        """The caller's audio (L16 at the transport's rate, any frame size). Synchronous: VAD and turn detection
        run inline; STT, replies and transport I/O are tasks."""
        if self.ended or not pcm:
            return
        now = self.now()
        try:
            for event in self.detector.feed(pcm, now):
                self._on_event(event)
            self._tick(now)
        except Exception as exc:  # a bug here must not kill the transport's receive loop
            logger.exception("call %s: audio processing failed", self.call_uuid)
            self._spawn(self._fail(f"audio processing failed: {type(exc).__name__}: {exc}"))

    def dtmf(self, digit: str) -> None:
        if self.ended or self.started is None:
            return
        if digit == "0":
            self.phase = "ending"
            self._spawn(self._to_operator())
        elif digit == "*":
            if self._reply is None and self._last_clips:
                reply = _Reply(self._next_seq(), None, self.now())
                self._reply = reply
                self._idle_since = None
                reply.task = self._spawn(self._replay(reply))
        elif digit == "#":
            event = self.detector.force_end()
            if event is not None:
                self._on_event(event)

    def playback_started(self, clip_id: str, at: float | None = None) -> None:
        at = self.now() if at is None else at
        found = self._sent.get(clip_id)
        if found is None:
            return
        self._reports = True
        reply, sent = found
        delta = at - sent.est_start
        sent.est_start, sent.started = at, True
        later = False
        for other in reply.clips:
            if later and not other.started:
                other.est_start += delta
            later = later or other is sent
        self._queue_end = max(self._queue_end + delta, at + sent.duration)
        self.echo.moved(clip_id, at)

    def playback_stopped(self, clip_id: str, at: float | None = None, completed: bool = True) -> None:
        at = self.now() if at is None else at
        found = self._sent.get(clip_id)
        if found is None:
            return
        self._reports = True
        reply, sent = found
        sent.stopped_at, sent.completed = at, completed
        if not sent.started:
            sent.est_start = min(sent.est_start, at)
        self._check_finished(reply, at)

    async def closed(self, reason: str) -> None:
        """The caller hung up or the link went away: what is in flight is committed with what was heard and the
        conversation ends (unless the call already ended: a transfer, a hang-up of ours, a failure)."""
        if self.phase == "ending":  # our own transfer / hang-up / failure is finishing: it ends the call
            self._gone = True  # (a transfer still ringing learns it here: it ends the call as the caller's hang-up)
            await self.wait()
            return
        if self.phase == "ended":
            return
        self.phase = "ending"
        logger.info("call %s closed: %s", self.call_uuid, reason)
        now = self.now()
        self._cancel_speculation()
        reply = self._reply
        cut = self._interrupt(reply, now, stop=False) if reply is not None else None
        if cut is not None:
            await asyncio.wait([cut])
        try:
            outcome: Literal["hangup", "abandoned"] = "hangup" if self.turns > 0 else "abandoned"
            if self.started is not None:
                self.outcome = outcome
                await self.engine.end(self.domain_uuid, self.call_uuid, outcome=outcome)
        except Exception:
            logger.exception("call %s: ending the conversation failed", self.call_uuid)
        self._finish()

    async def failed(self, reason: str) -> None:
        """The transport lost the call and already handed the caller to its own fallback (FreeSWITCH: the audio
        WebSocket dropped while the service is alive → apology + operator): what is in flight is committed with
        what was heard and the conversation ends ``error``, best-effort. :meth:`MediaTransport.fail` is not called
        again (unless the call already ended: then nothing happens)."""
        if self.phase == "ending":
            await self.wait()
            return
        if self.phase == "ended":
            return
        self._failed = True
        self.phase = "ending"
        logger.warning("call %s: the transport failed: %s", self.call_uuid, reason)
        self._cancel_speculation()
        reply = self._reply
        cut = self._interrupt(reply, self.now(), stop=False) if reply is not None else None
        if cut is not None:
            await asyncio.wait([cut])
        if self.started is not None:
            self.outcome = "error"
            try:
                await self.engine.end(self.domain_uuid, self.call_uuid, outcome="error", error=reason[:500])
            except Exception:
                logger.exception("call %s: ending the conversation after a transport failure failed", self.call_uuid)
        self._finish()

    async def wait(self) -> None:
        """Until every task of the call is over (tests; a transport that wants to linger)."""
        while True:
            pending = [t for t in self._tasks if not t.done() and t is not asyncio.current_task()]
            if not pending:
                break
            await asyncio.wait(pending)
        if self.phase == "ended" and self._pump is not None and self._pump is not asyncio.current_task():
            await asyncio.wait([self._pump])

    # -- turns ---------------------------------------------------------------------------------------------

    def _on_event(self, event: TurnEvent) -> None:
        if self.started is None or self.ended:
            return
        if event.kind is Kind.SPEECH_STARTED:
            self._idle_since = None
        elif event.kind is Kind.BARGE_IN:
            self._barge_in(event)
        elif event.kind is Kind.VOICE_ONSET:
            self._pause_playback(event)
        elif event.kind is Kind.VOICE_LOST:
            self._resume_playback("timeout" if event.forced else "voice_ended")
        elif event.kind is Kind.PAUSE:
            self._speculate(event)
        elif event.kind is Kind.RESUMED:
            self._cancel_speculation()
        elif event.kind is Kind.TURN_ENDED:
            # key "#" while a reply is in flight (paused or not): the caller's words interrupt it, then are a turn —
            # never a second reply beside the first
            if self._pause is not None or (self._reply is not None and not self._reply.cancelled):
                self._barge_in(event)
            self._turn_ended(event)

    # -- barge-in ------------------------------------------------------------------------------------------

    def _barge_in(self, event: TurnEvent) -> None:
        """The caller's voice is confirmed over the reply in flight: cut it where the caller stopped hearing it."""
        reply, pause = self._reply, self._pause
        now = self.now()
        if reply is not None and not reply.cancelled:
            onset = self.detector.clock_at(event.speech_start_ms)
            if pause is not None and pause.reply is reply:
                at, reaction = pause.at, pause.at - pause.onset  # the caller heard nothing after the pause
            else:
                at, reaction = now, now - onset  # the stop is sent now
            voice_ms = event.at_ms - event.speech_start_ms
            self._emit(
                {
                    "type": "barge_in",
                    "state": "confirmed",
                    "turn": reply.seq,
                    "voice_ms": round(voice_ms),
                    "reaction_ms": round(reaction * 1000),
                }
            )
            self._interrupt(reply, at, stop=True, reaction_ms=reaction * 1000)
        self._pause = None
        self.detector.set_mode(Mode.LISTENING)
        self._state("listening")

    def _pause_playback(self, event: TurnEvent) -> None:
        """The first reliable voice over our audio: hold the playback until the voice is confirmed or dies."""
        reply = self._reply
        if not self._can_pause or self._pause is not None or reply is None or reply.cancelled or not reply.clips:
            return
        now = self.now()
        onset = self.detector.clock_at(event.speech_start_ms)
        self._pause = _Pause(reply, now, onset)
        self.echo.cut(now)  # nothing of ours plays while paused
        self._emit(
            {
                "type": "barge_in",
                "state": "paused",
                "turn": reply.seq,
                "voice_ms": round(event.at_ms - event.speech_start_ms),
                "reaction_ms": round((now - onset) * 1000),
            }
        )
        self._spawn(self._control(self._transport_pause))

    def _resume_playback(self, reason: str) -> None:
        """The voice died before it was confirmed (or was never confirmed in time): play on from the pause."""
        pause, self._pause = self._pause, None
        if pause is None:
            return
        reply = pause.reply
        if reply.cancelled or reply.committed or self.ended:
            return
        now = self.now()
        held = max(now - pause.at, 0.0)
        for sent in reply.clips:  # what had not finished playing at the pause plays that much later
            if sent.stopped_at is None and sent.est_end > pause.at:
                sent.est_start += held
        if self._queue_end > pause.at:
            self._queue_end += held
        for sent in reply.clips:  # the echo reference: what is left to play, where it will play
            if sent.stopped_at is not None or sent.est_end <= now:
                continue
            samples = to_float(sent.clip.audio.samples)
            start = sent.est_start
            if start < now:
                samples, start = samples[int((now - start) * self.sample_rate) :], now
            self.echo.played(samples, start, key=sent.clip.id)
        self._emit(
            {
                "type": "barge_in",
                "state": "resumed",
                "turn": reply.seq,
                "reason": reason,
                "paused_ms": round(held * 1000),
            }
        )
        self._spawn(self._control(self._transport_resume))

    async def _transport_pause(self) -> None:
        await self.transport.pause_playback()

    async def _transport_resume(self) -> None:
        await self.transport.resume_playback()

    async def _control(self, command: Callable[[], Awaitable[None]]) -> None:
        async with self._control_lock:
            await command()

    def _speculate(self, event: TurnEvent) -> None:
        self._cancel_speculation()
        if self._reply is not None:
            return  # a reply is in flight (the caller's speech barged in and is being cancelled): no guessing
        self._stale = {task for task in self._stale if not task.done()}
        if self._stale:
            return  # an earlier guess is still transcribing: the turn's end transcribes instead
        start_ms = self._segment_start(event.speech_start_ms)
        audio = self.detector.segment(_at_start(event, start_ms))
        task = asyncio.get_running_loop().create_task(
            self.engine.transcribe(self.domain_uuid, self.call_uuid, audio), name=f"stt-spec-{self.call_uuid}"
        )
        task.add_done_callback(_quiet)
        self._speculation = _Speculation(start_ms, event.speech_end_ms, task)

    def _cancel_speculation(self, *, ended: bool = False) -> None:
        """Discard the current guess. Its task is left to finish (cancelling it would not stop the recogniser's
        thread, only hide it) and counted as stale; at the call's end every one is cancelled."""
        if self._speculation is not None:
            self._discard(self._speculation.task)
            self._speculation = None
        if ended:
            for task in self._stale:
                task.cancel()
            self._stale.clear()

    def _discard(self, task: asyncio.Task[Heard]) -> None:
        if not task.done():
            self._stale.add(task)

    def _segment_start(self, speech_start_ms: float) -> float:
        return min(speech_start_ms, self._carry_start_ms) if self._carry_start_ms is not None else speech_start_ms

    def _turn_ended(self, event: TurnEvent) -> None:
        start_ms = self._segment_start(event.speech_start_ms)
        speculation, self._speculation = self._speculation, None
        stt: Awaitable[Heard]
        reused = speculation is not None and (speculation.start_ms, speculation.speech_end_ms) == (
            start_ms,
            event.speech_end_ms,
        )
        if speculation is not None and reused:
            stt = speculation.task
        else:
            if speculation is not None:
                self._discard(speculation.task)
            audio = self.detector.segment(_at_start(event, start_ms))
            stt = self.engine.transcribe(self.domain_uuid, self.call_uuid, audio)
        speech_end = self.detector.clock_at(event.speech_end_ms)
        reply = _Reply(self._next_seq(), None, speech_end, start_ms=start_ms)
        reply.timings["eot_ms"] = event.at_ms - event.speech_end_ms
        reply.timings["stt_speculative"] = 1.0 if reused else 0.0
        self._idle_since = None
        self._state("thinking")
        self.detector.set_mode(Mode.THINKING)
        self._reply = reply
        reply.task = self._spawn(self._turn(reply, stt))

    def _silent_turn(self, now: float) -> None:
        self._idle_since = None
        reply = _Reply(self._next_seq(), None, now, silent=True)
        self._state("thinking")
        self.detector.set_mode(Mode.THINKING)
        self._reply = reply
        reply.task = self._spawn(self._turn(reply, _ready(Heard("", None, 0.0))))

    async def _turn(self, reply: _Reply, stt: Awaitable[Heard]) -> None:
        closed_at = self.now()
        heard = await stt
        reply.timings["stt_wait_ms"] = (self.now() - closed_at) * 1000
        if self._carry_text:
            heard = Heard(f"{self._carry_text} {heard.text}".strip(), heard.provider, heard.ms, heard.failed)
        self._carry_text, self._carry_start_ms = "", None
        if not reply.silent and not heard.text.strip():  # noise, a cough: no turn, nothing stored
            self._release(reply)
            self._listening()
            return
        reply.caller = heard
        if heard.text:
            self._emit({"type": "transcript", "text": heard.text, "turn": reply.seq})
        async with self._turn_lock:  # the reply before this one is committed (or cancelled) first
            if self.ended:
                return
            stream = self.engine.respond(self.domain_uuid, self.call_uuid, heard, sample_rate=self.sample_rate)
            reply.stream = stream
            async for part in stream:
                await self._play_part(reply, part)
            reply.produced = True
            self._emit({"type": "reply", "text": stream.text, "turn": reply.seq})
            self._check_finished(reply, self.now())
            await reply.finished.wait()
            timings = dict(reply.timings)
            timings["total_ms"] = (self.now() - reply.speech_end) * 1000
            reply.committed = True
            turn = await stream.commit(timings=timings)
            self.turns += 1
            self._last_clips = [sent.clip for sent in reply.clips] or self._last_clips
            self._release(reply)
            logger.info("call %s: turn %d committed (%s)", self.call_uuid, turn, stream.action.kind)
            if self.ended:  # the caller hung up or pressed 0 while the turn was being stored
                return
            await self._carry_out(stream.action)

    async def _play_prepared(self, reply: _Reply, parts: list[tuple[str, Audio | None]]) -> None:
        """Play audio that already exists (the greeting, a replay), then give the caller the floor."""
        for index, (text, audio) in enumerate(parts):
            await self._play_part(reply, ReplyPart(index, text, audio))
        reply.produced = True
        self._check_finished(reply, self.now())
        await reply.finished.wait()
        self._last_clips = [sent.clip for sent in reply.clips] or self._last_clips
        self._release(reply)
        self._listening()

    async def _play_part(self, reply: _Reply, part: ReplyPart) -> None:
        reply.texts.append(part.text)
        if part.audio is None or not part.audio.pcm:
            return
        audio = part.audio.resampled(self.sample_rate)
        clip = Clip(f"{reply.seq}.{part.index}", part.text, audio)
        now = self.now()
        pause = self._pause if self._pause is not None and self._pause.reply is reply else None
        # while paused, playback time stands still at the pause (the resume moves the clip by the time held)
        sent = _Sent(clip, now, max(pause.at if pause is not None else now, self._queue_end))
        self._queue_end = sent.est_end
        reply.clips.append(sent)
        self._sent[clip.id] = (reply, sent)
        if pause is None:  # else the resume places it in the echo reference
            self.echo.played(to_float(audio.samples), sent.est_start, key=clip.id)
        self.detector.set_mode(Mode.PLAYING)
        await self.transport.play(clip)
        if reply.first_audio_at is None:
            reply.first_audio_at = self.now()
            first_ms = (reply.first_audio_at - reply.speech_end) * 1000
            reply.timings["first_audio_ms"] = first_ms
            self._state("speaking")
            if reply.caller is not None:
                self._emit(
                    {"type": "latency", "turn": reply.seq, "first_audio_ms": round(first_ms)}
                    | {k: round(v) for k, v in reply.timings.items() if k.endswith("_ms")}
                )

    def _check_finished(self, reply: _Reply, now: float) -> None:
        if not reply.produced or reply.finished.is_set():
            return
        if self._pause is not None and self._pause.reply is reply:
            return  # held: it ends after the resume (or is cut)
        for sent in reply.clips:
            if sent.stopped_at is not None:
                continue
            margin = LOST_REPORT_S if self._reports else UNREPORTED_MARGIN_S
            if now < sent.est_end + margin:
                return
        reply.finished.set()
        if self._reply is reply and not self.ended:
            self.detector.set_mode(Mode.LISTENING)  # the secretary is silent: the caller's voice is a new turn

    async def _carry_out(self, action: Action) -> None:
        if action.kind == "transfer" and action.transfer is not None:
            self.phase = "ending"
            target = action.transfer
            self._emit(
                {
                    "type": "action",
                    "action": "transfer",
                    "destination": target.destination,
                    "context": target.context,
                    "department": target.department,
                }
            )
            ring = getattr(self.transport, "ring", None)
            if callable(ring):  # rings for the rule's time; nobody took the call → back with the secretary
                announcement = await self._announcement() if target.announce else None
                if self._gone:  # the caller left while the line was made
                    await self._came_back(target.destination, target.context, CALLER_LEFT)
                    return
                seconds = ring_time(target.ring_seconds)
                if announcement is not None:
                    cause = await ring(target.destination, target.context, seconds, announcement=announcement)
                else:
                    cause = await ring(target.destination, target.context, seconds)
                if cause is not None:
                    await self._came_back(target.destination, target.context, cause)
                    return
            else:
                await self.transport.transfer(target.destination, target.context)
            self.outcome = "transferred"
            await self.engine.end(
                self.domain_uuid,
                self.call_uuid,
                outcome="transferred",
                destination=target.destination,
                context=target.context,
            )
            self._finish()
        elif action.kind == "hangup":
            self.phase = "ending"
            self._emit({"type": "action", "action": "hangup"})
            await self.transport.hangup()
            self.outcome = "resolved"
            await self.engine.end(self.domain_uuid, self.call_uuid, outcome="resolved")
            self._finish()
        else:
            self._listening()

    async def _announcement(self) -> Clip | None:
        """An announced transfer's line (who is calling and why, "press 1"), made while the caller waits; None —
        the transfer rings unannounced, as in the turn-based flow — when it cannot be made or spoken."""
        try:
            text, audio = await self.engine.announcement(self.domain_uuid, self.call_uuid, sample_rate=self.sample_rate)
        except Exception:  # nothing about the line may keep the caller from the transfer
            logger.warning(
                "call %s: the announcement could not be made: ringing unannounced", self.call_uuid, exc_info=True
            )
            return None
        if audio is None or not audio.pcm:
            return None
        self._emit({"type": "announcement", "text": text})
        return Clip(f"announcement.{self._next_seq()}", text, audio.resampled(self.sample_rate))

    async def _came_back(self, destination: str, context: str | None, cause: str) -> None:
        """The transfer rang and nobody took it (docs/transfers.md): the secretary says what happened (stored, the
        transfer target cleared: the engine's ``transfer_failed``) and the call goes on. A caller who hung up while it
        rang ends the call (``hangup``), not as a failed transfer."""
        if cause == CALLER_LEFT or self._gone:
            self.outcome = "hangup"
            await self.engine.end(self.domain_uuid, self.call_uuid, outcome="hangup")
            self._finish()
            return
        self._emit({"type": "transfer_failed", "destination": destination, "context": context, "cause": cause})
        text, audio = await self.engine.transfer_failed(
            self.domain_uuid,
            self.call_uuid,
            destination=destination,
            context=context,
            cause=cause,
            sample_rate=self.sample_rate,
        )
        if self._gone or self.phase != "ending":  # the caller left while the reply was made
            if self.outcome is None and not self._failed:
                self.outcome = "hangup"
                await self.engine.end(self.domain_uuid, self.call_uuid, outcome="hangup")
                self._finish()
            return
        self.phase = "thinking"  # ours again: the reply below, then the caller's turn
        reply = _Reply(self._next_seq(), None, self.now())
        self._reply = reply
        self._emit({"type": "reply", "text": text, "turn": reply.seq})
        reply.task = self._spawn(self._play_prepared(reply, [(text, audio)]))

    def _interrupt(
        self, reply: _Reply, at: float, *, stop: bool, reaction_ms: float | None = None
    ) -> asyncio.Task[None] | None:
        """Barge-in (``stop``: the transport stops playing), a key, or the caller left: cut ``reply`` at ``at`` (at
        the pause, when it is paused: the caller heard nothing after it). Decided at once (what was heard; else the
        caller's words carry over to the next turn); the transport and the engine are told in a task, which is
        returned (None: nothing to cut)."""
        pause = self._pause
        if pause is not None and pause.reply is reply:
            self._pause = None
            at = min(at, pause.at)
        if reply.cancelled or reply.committed:
            return None
        reply.cancelled = True
        self._release(reply)
        task = reply.task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
        self.echo.cut(at)
        self._queue_end = min(self._queue_end, at)
        heard = _heard(reply, at) if reply.stream is not None else ""
        if not heard:  # the caller heard nothing of it: their words go on into the next turn
            if reply.caller is not None and reply.caller.text:
                self._carry_text = reply.caller.text
            elif reply.start_ms is not None:
                self._carry_start_ms = reply.start_ms
        return self._spawn(self._cut(reply, at, heard, stop and bool(reply.clips), task, reaction_ms))

    async def _cut(
        self,
        reply: _Reply,
        at: float,
        heard: str,
        stop: bool,
        task: asyncio.Task[None] | None,
        reaction_ms: float | None,
    ) -> None:
        if stop:
            await self._control(self.transport.stop_playback)
        if task is not None and task is not asyncio.current_task() and not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        stream = reply.stream
        if stream is None:
            return
        async with self._turn_lock:
            await stream.aclose()
            if not heard:
                logger.info("call %s: reply %d cancelled before the caller heard any of it", self.call_uuid, reply.seq)
                return
            timings = dict(reply.timings)
            timings["interrupted_ms"] = max(at - reply.clips[0].est_start, 0.0) * 1000 if reply.clips else 0.0
            timings["total_ms"] = (at - reply.speech_end) * 1000
            if reaction_ms is not None:
                timings["barge_in_reaction_ms"] = reaction_ms
            reply.committed = True
            turn = await stream.commit(heard=heard, timings=timings)
            self.turns += 1
            self._last_clips = [sent.clip for sent in reply.clips if sent.est_start < at] or self._last_clips
            logger.info("call %s: turn %d interrupted after %r", self.call_uuid, turn, heard)

    def _release(self, reply: _Reply) -> None:
        if self._reply is reply:
            self._reply = None
        # its clips' audio is no longer needed (a late playback report for one of them is ignored): a long call
        # must not keep every clip it ever played
        for clip_id in [key for key, (owner, _) in self._sent.items() if owner is reply]:
            del self._sent[clip_id]

    # -- DTMF ----------------------------------------------------------------------------------------------

    async def _to_operator(self) -> None:
        self._cancel_speculation()
        reply = self._reply
        cut = self._interrupt(reply, self.now(), stop=True) if reply is not None else None
        if cut is not None:
            await asyncio.wait([cut])
        elif self._queue_end > self.now():
            await self.transport.stop_playback()
        started = self.started
        destination = started.operator_destination if started else None
        if not destination:
            await self._fail("the caller pressed 0 and the secretary has no operator destination")
            return
        context = started.operator_context if started else None
        self._emit({"type": "action", "action": "transfer", "destination": destination, "context": context})
        ring = getattr(self.transport, "ring", None)
        if callable(ring):  # the operator rings like a department (the default ring time) and may not answer
            cause = await ring(destination, context, ring_time(None))
            if cause is not None:
                await self._came_back(destination, context, cause)
                return
        else:
            await self.transport.transfer(destination, context)
        self.outcome = "transferred"
        await self.engine.end(
            self.domain_uuid, self.call_uuid, outcome="transferred", destination=destination, context=context
        )
        self._finish()

    async def _replay(self, reply: _Reply) -> None:
        await self._play_prepared(reply, [(clip.text, clip.audio) for clip in self._last_clips])

    # -- timers, state, failures ---------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        reply = self._reply
        if reply is not None:
            self._check_finished(reply, now)
        idle = self.settings.idle_prompt_s
        if (
            self._idle_since is not None
            and self._reply is None
            and not self.detector.machine.in_speech
            and now - self._idle_since >= idle > 0
        ):
            self._silent_turn(now)

    def _listening(self) -> None:
        if self.ended or self._reply is not None:
            return
        self.detector.set_mode(Mode.LISTENING)
        self._idle_since = self.now()
        self._state("listening")

    def _state(self, state: str) -> None:
        if state in ("listening", "thinking", "speaking") and self.phase != state and not self.ended:
            self.phase = state  # type: ignore[assignment]
            self._emit({"type": "state", "state": state})

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _emit(self, event: dict[str, Any]) -> None:
        self._events.put_nowait(event)

    async def _pump_events(self) -> None:
        while (event := await self._events.get()) is not None:
            try:
                await self.transport.emit(event)
            except Exception as exc:  # observers only: a failed emit does not stop the call
                logger.warning("call %s: event not delivered (%s: %s)", self.call_uuid, type(exc).__name__, exc)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("call %s: streaming call failed", self.call_uuid)
            await self._fail(f"{type(exc).__name__}: {exc}")

    async def _fail(self, reason: str, *, end: bool = True) -> None:
        """Hand the caller to the transport's fallback, once; end the conversation as an error, best-effort."""
        if self._failed or self.phase == "ended":
            return
        self._failed = True
        self.phase = "ending"
        self._cancel_speculation()
        # the detail (redacted) goes to the log and the conversation; outside (a FreeSWITCH channel variable, the
        # console's browser) only its category: error texts can name hosts, users or URLs
        reason = redact(reason)
        logger.error("call %s: handed to the fallback: %s", self.call_uuid, reason)
        outward = reason.split(": ", 1)[0][:120]
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        try:
            await self.transport.fail(outward)
        except Exception:
            logger.exception("call %s: the transport's fallback failed", self.call_uuid)
        if end and self.started is not None:
            self.outcome = "error"
            try:
                await self.engine.end(self.domain_uuid, self.call_uuid, outcome="error", error=reason[:500])
            except Exception:
                logger.exception("call %s: ending the conversation after a failure failed", self.call_uuid)
        self._finish()

    def _finish(self) -> None:
        self.phase = "ended"
        self._cancel_speculation(ended=True)
        self._events.put_nowait(None)


def _heard(reply: _Reply, at: float) -> str:
    """What the caller heard of ``reply`` when it was cut at ``at``: whole clips, then the cut clip's share of words."""
    words: list[str] = []
    for sent in reply.clips:
        text = sent.clip.text.split()
        if sent.completed or (sent.stopped_at is None and sent.est_end <= at):
            words.extend(text)
            continue
        end = min(at, sent.stopped_at) if sent.stopped_at is not None else at
        if end > sent.est_start and sent.duration > 0:
            share = min((end - sent.est_start) / sent.duration, 1.0)
            words.extend(text[: round(share * len(text))])
        break
    return " ".join(words)


def _at_start(event: TurnEvent, start_ms: float) -> TurnEvent:
    return TurnEvent(event.kind, event.at_ms, start_ms, event.speech_end_ms, event.forced)


async def _ready(heard: Heard) -> Heard:
    return heard


def _quiet(task: asyncio.Task[Heard]) -> None:
    """A discarded speculative STT's failure is not the call's failure (a used one's is, where it is awaited)."""
    if not task.cancelled():
        task.exception()
