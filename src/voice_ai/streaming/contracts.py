"""The seams of a streaming call: what the engine offers it, and what a media transport must do for it.

A streaming call (FreeSWITCH ``mod_audio_stream`` over WebSocket, or the browser console) is driven by
:class:`voice_ai.streaming.call.StreamingCall`. It listens to the caller's audio (VAD, end of turn, barge-in),
asks the shared call engine for each reply **as a stream of sentences**, and hands the audio to a
:class:`MediaTransport`, which plays it to the caller and reports what was actually played.

Three parties, three owners:

- the **engine** (:mod:`voice_ai.conversation`) implements :class:`StreamingEngine`: the same stages as a
  turn-based call (start, STT, retrieval, LLM decision, safe action, TTS, storage), reply text cut into sentences
  and synthesised one by one;
- the **call** (:mod:`voice_ai.streaming.call`) owns timing: when a turn ends, when the caller barges in, what the
  caller heard;
- a **transport** (:mod:`voice_ai.streaming.freeswitch`, :mod:`voice_ai.streaming.console`) moves audio and
  carries out actions; it never decides anything.

Audio everywhere here is mono 16-bit little-endian PCM (:class:`voice_ai.providers.audio.Audio`); a transport
states its sample rate (8000 for narrowband telephony, 16000 for wideband and the console) and the call asks the
engine for speech at that rate.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from voice_ai.conversation.actions import Action
from voice_ai.providers.audio import Audio


@dataclass(frozen=True)
class StreamSettings:
    """Per-secretary timing of a streaming call (read from the secretary; these are the defaults)."""

    end_of_turn_ms: int = 600  # silence after speech that closes the caller's turn
    barge_in: bool = True  # caller speech may interrupt the secretary
    barge_in_min_ms: int = 300  # voice needed to interrupt (a cough or "uhum" is shorter)
    idle_prompt_s: float = 10.0  # no speech this long after the secretary spoke → a silent turn ("pode repetir?")


@dataclass
class StreamStart:
    """What :meth:`StreamingEngine.start_stream` returns: the call's conversation and its greeting."""

    conversation_uuid: uuid.UUID
    language: str
    greeting_text: str
    greeting: Audio | None  # None when no TTS could speak (the transport plays nothing; the call goes on)
    operator_destination: str | None
    operator_context: str | None
    settings: StreamSettings = field(default_factory=StreamSettings)


@dataclass(frozen=True)
class Heard:
    """The STT stage's result for one closed (or speculative) segment."""

    text: str
    provider: str | None
    ms: float
    failed: bool = False  # no recogniser could transcribe in time (stored as such; treated like silence)
    confidence: float | None = None  # the recogniser's rough 0..1 (conversation.listen.Listened)
    alternatives: tuple[str, ...] = ()  # its other hypotheses, best first


@dataclass(frozen=True)
class ReplyPart:
    """One sentence of a reply, synthesised: what the call plays next."""

    index: int
    text: str
    audio: Audio | None  # None: no TTS could speak this sentence (the call skips its audio, keeps its text)


class ReplyStream(Protocol):
    """A reply being produced: iterate it for the sentences as soon as each is synthesised.

    When iteration ends, ``action``, ``text``, ``timings`` and ``providers`` are final. A transfer's or a
    hang-up's words come as parts like any other; the call carries out ``action`` after they have played.
    ``commit`` stores the turn (caller's words and the reply) exactly once; ``heard`` is what the caller
    actually heard when they interrupted (``None``: all of it). Closing the iterator early (barge-in) stops the
    remaining LLM/TTS work.
    """

    action: Action
    text: str
    timings: dict[str, float]
    providers: dict[str, str]

    def __aiter__(self) -> AsyncIterator[ReplyPart]: ...

    async def aclose(self) -> None: ...

    async def commit(self, *, heard: str | None = None, timings: dict[str, float] | None = None) -> int:
        """Store the turn; returns its turn index."""
        ...


class StreamingEngine(Protocol):
    """The call engine's face for streaming calls (implemented by ``voice_ai.conversation``)."""

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
    ) -> StreamStart: ...

    async def transcribe(self, domain_uuid: uuid.UUID, call_uuid: str, audio: Audio) -> Heard:
        """The STT stage alone (the tenant's chain, Whisper as the offline fallback), bounded by its deadline.
        Stores nothing, so the call may run it speculatively on a pause and discard the result."""
        ...

    def respond(self, domain_uuid: uuid.UUID, call_uuid: str, heard: Heard, *, sample_rate: int) -> ReplyStream:
        """Retrieval, the LLM's decision streamed and cut into sentences, each synthesised at ``sample_rate``.
        An empty ``heard.text`` is a silent turn ("pode repetir?", the operator at the second in a row)."""
        ...

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
        """The call ended (same meaning as ``POST /v1/calls/{call_uuid}/end``: the caller hanging up is ``hangup``
        after a turn, ``abandoned`` before any, as the turn-based flow reports it)."""
        ...

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
        """A transfer nobody took (``cause``: FreeSWITCH's hangup cause): the same as ``POST
        /v1/calls/{call_uuid}/transfer-failed`` (noted, the transfer target cleared, the reply stored); returns what
        the secretary says now and its samples at ``sample_rate``."""
        ...

    async def announcement(
        self, domain_uuid: uuid.UUID, call_uuid: str, *, sample_rate: int
    ) -> tuple[str, Audio | None]:
        """An announced transfer's line (who is calling and why, "press 1"): the same as ``POST
        /v1/calls/{call_uuid}/announcement`` (noted in the call's log); the text and its samples at ``sample_rate``
        (None: it could not be spoken, and the transfer rings unannounced)."""
        ...


@dataclass(frozen=True)
class Clip:
    """Audio handed to a transport, with an id the transport reports back when it starts and stops."""

    id: str
    text: str
    audio: Audio


CALLER_LEFT = "ORIGINATOR_CANCEL"  # MediaTransport.ring: the caller hung up while the destination rang
RING_DEFAULT_S = (
    30  # a rule without its own ring time: the turn-based flow's (transfer.lua; routes/calls.py uses this one)
)
RING_MIN_S, RING_MAX_S = 5, 120


def ring_time(seconds: int | None) -> int:
    """A rule's ring time as the call flows use it: the default when unset, bounded 5–120 s."""
    return min(max(seconds or RING_DEFAULT_S, RING_MIN_S), RING_MAX_S)


class MediaTransport(Protocol):
    """Where a streaming call's audio goes and its actions are carried out.

    The transport feeds the call with :meth:`StreamingCall.feed` (caller audio, any frame size, at
    ``sample_rate``), :meth:`StreamingCall.dtmf`, :meth:`StreamingCall.playback_started` /
    :meth:`StreamingCall.playback_stopped` (when it knows), and :meth:`StreamingCall.closed` when the caller
    or the link goes away.
    """

    sample_rate: int

    async def play(self, clip: Clip) -> None:
        """Queue a clip to play after those already queued; returns once queued, not once played."""
        ...

    async def stop_playback(self) -> None:
        """Barge-in: stop what is playing now and drop everything queued, at once (also ends a pause)."""
        ...

    async def pause_playback(self) -> None:
        """Possible barge-in (the caller's first ~100 ms of voice over our audio): hold playback at once, keeping the
        current clip's position and everything queued; clips queued while paused wait too. Followed by
        :meth:`resume_playback` (it was a cough, an "uhum") or :meth:`stop_playback` (a real interruption).

        Optional: :class:`~voice_ai.streaming.call.StreamingCall` checks for it (and :meth:`resume_playback`) with
        ``getattr``; a transport without both only gets :meth:`stop_playback`, once the voice is confirmed."""
        ...

    async def resume_playback(self) -> None:
        """Continue after :meth:`pause_playback`: the held clip from where it stopped, then the queue, in order.
        A transport reporting playback keeps reporting it as usual (a held clip does not report a stop)."""
        ...

    async def transfer(self, destination: str, context: str | None) -> None:
        """Hand the caller over (FreeSWITCH: a dialplan transfer with the turn-based flow's no-route guard)."""
        ...

    async def hangup(self) -> None: ...

    async def fail(self, reason: str) -> None:
        """The service cannot go on with this call (engine or database failure): hand the caller to the local
        fallback — on FreeSWITCH the entry script's apology and the operator, exactly as when the service dies."""
        ...

    async def emit(self, event: dict[str, Any]) -> None:
        """A live event for observers (the console shows transcript, actions and per-turn latency); a
        telephony transport may ignore it."""
        ...


class RingingTransport(Protocol):
    """A transport that can ring a destination and take the caller back (FreeSWITCH); the call checks for
    ``ring`` with ``getattr``: one without it (the browser console) only has :meth:`MediaTransport.transfer`."""

    async def ring(self, destination: str, context: str | None, ring_seconds: int) -> str | None:
        """Ring ``destination`` for at most ``ring_seconds`` while the caller hears ringback: None when somebody
        answered (the caller is connected and the call is no longer ours, as after :meth:`transfer`), else the
        failure cause (``NO_ANSWER``, ``USER_BUSY``…; :data:`CALLER_LEFT` when the caller hung up while it rang)
        and the call goes on."""
        ...
