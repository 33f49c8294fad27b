"""Turn detection: the caller's audio frames in, turn events out — pure, synchronous and deterministic.

:class:`TurnStateMachine` works on VAD chunks (32 ms, one speech probability each) in *stream time* (milliseconds
of caller audio received), so the same audio always gives the same events. :class:`TurnDetector` wraps it for a
call: frames of any size at 8 or 16 kHz, VAD per chunk, echo rejection while our audio plays, and the recent audio
for STT.

Events (:class:`Kind`):

- ``SPEECH_STARTED``: ``min_speech_ms`` since the voice began, at least two thirds of it voiced, with no gap longer
  than ``gap_ms``; shorter bursts (a click, a cough) are dropped. While the secretary speaks or thinks it takes
  ``barge_in_min_ms`` of voiced chunks (``busy_voiced_share`` of it: all of it by default — "~300 ms of voice"
  literally; with two thirds, as before the pause existed, a 220 ms "uhum" with Silero's hangover still cut the
  reply: ``bench/barge_in.py``). The pause at ``VOICE_ONSET`` makes the reaction independent of this, so the
  stricter confirmation costs the caller nothing. ``speech_start_ms`` is where the voice began, not where it was
  confirmed.
- ``PAUSE``: ``pause_ms`` of non-speech after speech: the point where a speculative STT may start.
- ``RESUMED``: voice again after a ``PAUSE`` (a speculative STT of the shorter segment is stale).
- ``TURN_ENDED``: ``end_of_turn_ms`` of non-speech after speech (leading silence never counts: counting starts at
  the end of the last voiced chunk), or ``max_utterance_ms`` of one utterance (``forced``), or :meth:`force_end`
  (key ``#``).
- ``BARGE_IN``: speech started while the call is :attr:`Mode.PLAYING` or :attr:`Mode.THINKING` (always together
  with ``SPEECH_STARTED``); never when the secretary's ``barge_in`` is off — then the caller's voice is ignored
  while the secretary thinks or speaks, as in the turn-based flow.
- ``VOICE_ONSET``: while our audio plays (:attr:`Mode.PLAYING`, ``barge_in`` on), the first reliable voice of a
  possible interruption: ``onset_ms`` (96) of *consecutive* voiced chunks at the raised threshold and past echo
  rejection, long before ``barge_in_min_ms`` can confirm it. The call pauses its audio here (LiveKit Agents'
  "false interruption" handling). At most one per burst of voice.
- ``VOICE_LOST``: after a ``VOICE_ONSET``, the burst died before it was confirmed (a cough, an "uhum": the
  candidate fell silent for ``gap_ms``), or ``onset_timeout_ms`` (600) passed without confirmation (``forced``).
  The call resumes its audio here. A burst confirmed later anyway still gives ``BARGE_IN``.

Thresholds: a chunk is voice at probability ``threshold`` (0.5, Silero's default), and stays voice inside speech
down to ``threshold - release`` (hysteresis); while our audio plays, ``playing_threshold`` (0.75) and echo
rejection apply (:mod:`voice_ai.streaming.echo`).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

import numpy as np

from voice_ai.providers.audio import Audio
from voice_ai.streaming.audio import AudioHistory, Rechunker, rms_dbfs, to_float
from voice_ai.streaming.contracts import StreamSettings
from voice_ai.streaming.echo import EchoGuard
from voice_ai.streaming.vad import CHUNK_MS, Activity, chunk_samples, new_activity

MAX_UTTERANCE_MS = 30_000


class Kind(enum.StrEnum):
    SPEECH_STARTED = "speech_started"
    PAUSE = "pause"
    RESUMED = "resumed"
    TURN_ENDED = "turn_ended"
    BARGE_IN = "barge_in"
    VOICE_ONSET = "voice_onset"
    VOICE_LOST = "voice_lost"


class Mode(enum.StrEnum):
    LISTENING = "listening"  # the caller has the floor
    THINKING = "thinking"  # a reply is being produced, nothing of it played yet
    PLAYING = "playing"  # our audio is (or may be) playing


@dataclass(frozen=True)
class TurnEvent:
    kind: Kind
    at_ms: float  # stream time of the chunk that produced it (its end)
    speech_start_ms: float
    speech_end_ms: float  # end of the last voiced chunk so far
    forced: bool = False  # TURN_ENDED by the utterance limit or by force_end; VOICE_LOST by onset_timeout_ms


class TurnStateMachine:
    """Voice probabilities, one per chunk, → :class:`TurnEvent` (see the module's docstring)."""

    def __init__(
        self,
        settings: StreamSettings,
        *,
        chunk_ms: float = CHUNK_MS,
        pause_ms: float = 200.0,
        min_speech_ms: float = 160.0,
        gap_ms: float = 100.0,
        max_utterance_ms: float = MAX_UTTERANCE_MS,
        threshold: float = 0.5,
        release: float = 0.15,
        playing_threshold: float = 0.75,
        onset_ms: float = 96.0,
        onset_timeout_ms: float = 600.0,
        busy_voiced_share: float = 1.0,
    ) -> None:
        self.settings = settings
        self.chunk_ms = chunk_ms
        self.pause_ms = pause_ms
        self.min_speech_ms = min_speech_ms
        self.gap_ms = gap_ms
        self.max_utterance_ms = max_utterance_ms
        self.threshold = threshold
        self.release = release
        self.playing_threshold = playing_threshold
        self.onset_ms = onset_ms
        self.onset_timeout_ms = onset_timeout_ms
        self.busy_voiced_share = busy_voiced_share
        self.mode = Mode.LISTENING
        self.now_ms = 0.0
        self._state = "silent"  # silent | candidate | speech
        self._start = 0.0  # where the candidate's / speech's voice began
        self._voiced = 0.0  # candidate: voiced ms so far
        self._gap = 0.0  # candidate: current non-voiced run
        self._last_voice = 0.0  # speech: end of the last voiced chunk
        self._paused = False
        self._barge_pending = False
        self._run = 0.0  # candidate: the current run of consecutive voiced chunks
        self._onset_at: float | None = None  # stream time of this candidate's VOICE_ONSET (None: not announced)
        self._onset_spent = False  # this candidate already had its VOICE_ONSET (and lost it by the timeout)

    @property
    def in_speech(self) -> bool:
        return self._state == "speech"

    @property
    def speech_start_ms(self) -> float | None:
        return self._start if self._state == "speech" else None

    @property
    def onset_pending(self) -> bool:
        """A ``VOICE_ONSET`` was announced and neither confirmed (``BARGE_IN``) nor lost (``VOICE_LOST``) yet."""
        return self._onset_at is not None

    def set_mode(self, mode: Mode) -> None:
        if mode == self.mode:
            return
        self.mode = mode
        self._onset_at, self._onset_spent = None, False  # an onset belongs to the playback it would pause
        if mode is Mode.LISTENING:
            self._barge_pending = False
            return
        if not self.settings.barge_in:
            self._state = "silent"  # the caller's voice does not count while the secretary thinks or speaks
            return
        if self._state == "speech":
            self._barge_pending = True  # the caller was already talking: the next voice interrupts

    def voice_threshold(self) -> float:
        base = self.playing_threshold if self.mode is Mode.PLAYING else self.threshold
        return base - self.release if self._state == "speech" else base

    def push(self, probability: float, *, echo: bool = False) -> list[TurnEvent]:
        start = self.now_ms
        self.now_ms = end = start + self.chunk_ms
        voiced = probability >= self.voice_threshold() and not echo
        events: list[TurnEvent] = []
        busy = self.mode is not Mode.LISTENING
        if busy and not self.settings.barge_in:
            return events
        if self._state == "silent":
            if voiced:
                self._state, self._start, self._voiced, self._gap = "candidate", start, self.chunk_ms, 0.0
                self._run, self._onset_at, self._onset_spent = self.chunk_ms, None, False
        elif self._state == "candidate":
            if voiced:
                self._voiced += self.chunk_ms
                self._run += self.chunk_ms
                self._gap = 0.0
            else:
                self._run = 0.0
                self._gap += self.chunk_ms
                if self._gap > self.gap_ms:
                    self._state = "silent"
                    if self._onset_at is not None:  # the burst died unconfirmed: a cough, an "uhum"
                        self._onset_at = None
                        events.append(TurnEvent(Kind.VOICE_LOST, end, self._start, end - self._gap))
        elif voiced:  # speech goes on
            self._last_voice = end
            if self._paused:
                self._paused = False
                events.append(TurnEvent(Kind.RESUMED, end, self._start, end))
            if self._barge_pending and busy:
                self._barge_pending = False
                events.append(TurnEvent(Kind.BARGE_IN, end, self._start, end))
        else:  # silence inside speech
            silence = end - self._last_voice
            if silence >= self.settings.end_of_turn_ms:
                events.append(self._end(end, forced=False))
            elif silence >= self.pause_ms and not self._paused:
                self._paused = True
                events.append(TurnEvent(Kind.PAUSE, end, self._start, self._last_voice))
        if self._state == "candidate":
            needed = self.settings.barge_in_min_ms if busy else self.min_speech_ms
            share = self.busy_voiced_share if busy else 2 / 3
            if end - self._start >= needed and self._voiced >= needed * share:
                self._state, self._last_voice, self._paused, self._barge_pending = "speech", end, False, False
                self._onset_at = None
                events.append(TurnEvent(Kind.SPEECH_STARTED, end, self._start, end))
                if busy:
                    events.append(TurnEvent(Kind.BARGE_IN, end, self._start, end))
            elif self._onset_at is not None:
                if end - self._onset_at >= self.onset_timeout_ms:  # never confirmed: give the audio back
                    self._onset_at, self._onset_spent = None, True
                    events.append(TurnEvent(Kind.VOICE_LOST, end, self._start, end - self._gap, forced=True))
            elif self.mode is Mode.PLAYING and not self._onset_spent and self._run >= self.onset_ms:
                self._onset_at = end
                events.append(TurnEvent(Kind.VOICE_ONSET, end, self._start, end))
        if self._state == "speech" and end - self._start >= self.max_utterance_ms:
            events.append(self._end(end, forced=True, speech_end=end))
        return events

    def force_end(self) -> TurnEvent | None:
        """Close the caller's turn now (key ``#``): the speech so far, even an unconfirmed burst; None if none."""
        if self._state == "speech":
            return self._end(self.now_ms, forced=True)
        if self._state == "candidate":
            self._last_voice = self.now_ms - self._gap
            return self._end(self.now_ms, forced=True)
        return None

    def _end(self, at: float, *, forced: bool, speech_end: float | None = None) -> TurnEvent:
        event = TurnEvent(
            Kind.TURN_ENDED, at, self._start, self._last_voice if speech_end is None else speech_end, forced
        )
        self._state, self._paused, self._barge_pending, self._onset_at = "silent", False, False, None
        return event


class TurnDetector:
    """One call's listening side: frames of any size → :class:`TurnEvent`, plus the audio of a segment.

    ``feed(pcm, now)`` takes the caller's L16 frame and the call clock's time when it arrived (its last sample);
    each chunk's own arrival time is derived from it, which places the caller's audio against what we played
    (echo) and lets the call turn stream times into clock times (:meth:`clock_at`).
    """

    PREROLL_MS = 250  # audio kept before the detected start (Silero's onset lags the first phoneme)
    TAIL_MS = 200  # and after the last voiced chunk
    ECHO_WINDOW_MS = 256
    # A loud transient (a click, a cough, a knock) inside the echo window dominates its energy, so the window no
    # longer correlates with what we played and the echo right after it would count as the caller's voice (measured:
    # a 10 ms click over our echo paused, and even stopped, the reply). The window therefore starts after the last
    # chunk more than TRANSIENT_DB louder than the current one, keeping at least ECHO_MIN_WINDOW_MS (tuned on
    # bench/barge_in.py and tests/streaming/test_echo.py: 10 dB still let a 10 ms click through, 32 ms slowed a
    # real interruption over the echo).
    ECHO_MIN_WINDOW_MS = 64
    TRANSIENT_DB = 6.0

    def __init__(
        self,
        settings: StreamSettings,
        sample_rate: int,
        *,
        activity: Activity | None = None,
        echo: EchoGuard | None = None,
        **machine: float,
    ) -> None:
        self.sample_rate = sample_rate
        self.size = chunk_samples(sample_rate)
        self.activity = activity if activity is not None else new_activity(sample_rate)
        self.echo = echo
        self.machine = TurnStateMachine(settings, chunk_ms=self.size * 1000 / sample_rate, **machine)
        self._rechunker = Rechunker(self.size)
        self._history = AudioHistory(sample_rate, keep_s=self.machine.max_utterance_ms / 1000 + 5)
        self._clock_offset = 0.0  # call clock = offset + stream seconds (as of the last chunk)
        self.echo_rejected_ms = 0.0  # how much voice the echo guard rejected (for logs and tests)
        self._levels: deque[float] = deque(maxlen=max(self.ECHO_WINDOW_MS * sample_rate // 1000 // self.size, 1))

    @property
    def mode(self) -> Mode:
        return self.machine.mode

    def set_mode(self, mode: Mode) -> None:
        self.machine.set_mode(mode)

    @property
    def now_ms(self) -> float:
        return self.machine.now_ms

    def clock_at(self, stream_ms: float) -> float:
        """The call clock's time at stream time ``stream_ms`` (as the last frame placed it)."""
        return self._clock_offset + stream_ms / 1000.0

    def feed(self, pcm: bytes, now: float) -> list[TurnEvent]:
        chunks = self._rechunker.push(pcm)
        behind = self._rechunker.pending_samples + len(chunks) * self.size
        events: list[TurnEvent] = []
        for chunk in chunks:
            behind -= self.size
            self._history.append(chunk)
            end_at = now - behind / self.sample_rate  # when this chunk's last sample arrived
            self._clock_offset = end_at - self._history.end / self.sample_rate
            probability = self.activity.probability(chunk)
            samples = to_float(chunk)
            self._levels.append(rms_dbfs(samples))
            echo = False
            if self.echo is not None and probability >= self.machine.voice_threshold() and self.echo.active(end_at):
                span = self._echo_chunks() * self.size
                window = to_float(self._history.samples(self._history.end - span, self._history.end))
                echo = self.echo.explains(window, end_at)
                if echo:
                    self.echo_rejected_ms += self.machine.chunk_ms
            events.extend(self.machine.push(probability, echo=echo))
        return events

    def _echo_chunks(self) -> int:
        """How many of the latest chunks the echo check looks at: back to the last loud transient (see above)."""
        levels = list(self._levels)
        least = max(round(self.ECHO_MIN_WINDOW_MS * self.sample_rate / 1000 / self.size), 1)
        current, count = levels[-1], 1
        for level in reversed(levels[:-1]):
            if level > current + self.TRANSIENT_DB:
                break
            count += 1
        return min(max(count, least), len(levels)) if len(levels) >= least else len(levels)

    def force_end(self) -> TurnEvent | None:
        return self.machine.force_end()

    def segment(self, event: TurnEvent) -> Audio:
        """The caller's audio for a PAUSE or TURN_ENDED event (with a little before and after)."""
        rate = self.sample_rate
        start = int((event.speech_start_ms - self.PREROLL_MS) * rate / 1000)
        stop = int((event.speech_end_ms + self.TAIL_MS) * rate / 1000)
        return Audio(self._history.pcm(max(start, 0), stop), rate)


def silence(sample_rate: int, ms: float) -> bytes:
    """L16 digital silence (tests, padding)."""
    return np.zeros(int(sample_rate * ms / 1000), dtype="<i2").tobytes()
