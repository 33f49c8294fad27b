"""Echo rejection: is the voice we hear only our own reply coming back down the line?

Telephone lines (the hybrid at the far end, a speakerphone, a softphone without echo cancelling) send part of
what we play back to us, attenuated and delayed by a few tens to a few hundred milliseconds. Silero calls that
speech, and a secretary that interrupts itself is useless. :class:`EchoGuard` keeps the audio we played, placed on
the call's clock where it started playing, and answers :meth:`EchoGuard.explains`: the caller's last window of
audio is, up to a gain and a little noise, a delayed copy of what we played — the maximum normalised
cross-correlation against the reference over the plausible delays is high (:attr:`EchoGuard.threshold`). When the
caller talks over our audio, their voice is not in the reference: the correlation drops (a voice as loud as the
echo already brings it to about 0.7) and the chunk counts as voice. The streaming call also asks for a higher VAD
probability while its audio plays (:class:`voice_ai.streaming.turns.TurnDetector`).

Delays searched: ``-slack_ms`` .. ``max_delay_ms + slack_ms`` — the line's delay (0–300 ms) plus the jitter
between when a transport reports a clip started and when its echo reaches us. This is a detector, not an echo
canceller: it does not subtract the echo, so speech the caller says *while* a loud echo plays must be clearly
louder than the echo to count (that is what ``barge_in_min_ms`` of voice then confirms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from voice_ai.streaming.audio import FloatArray


@dataclass
class _Played:
    start: float  # call clock, seconds: when its first sample played
    samples: FloatArray
    rate: int
    key: str | None = None

    @property
    def end_at(self) -> float:
        return self.start + self.samples.size / self.rate


class EchoGuard:
    def __init__(
        self,
        sample_rate: int,
        *,
        max_delay_ms: float = 300.0,
        slack_ms: float = 120.0,
        threshold: float = 0.8,
        keep_s: float = 2.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.max_delay_s = max_delay_ms / 1000.0
        self.slack_s = slack_ms / 1000.0
        self.threshold = threshold
        self.keep_s = keep_s
        self._played: list[_Played] = []
        self.last_score = 0.0  # the last maximum correlation seen (for logs and tests)

    def played(self, samples: FloatArray, start: float, key: str | None = None) -> None:
        """Audio that starts playing (or will play, an estimate) at ``start`` on the call's clock."""
        self._played.append(_Played(start, np.asarray(samples, dtype=np.float32), self.sample_rate, key))

    def moved(self, key: str, start: float) -> None:
        """The audio ``key`` really started at ``start``: it and everything queued after it shift with it."""
        delta = None
        for clip in self._played:
            if delta is None and clip.key == key:
                delta = start - clip.start
            if delta is not None:
                clip.start += delta

    def cut(self, at: float) -> None:
        """Playback stopped at ``at``: nothing after it was played (drops what was queued behind it)."""
        kept: list[_Played] = []
        for clip in self._played:
            if clip.start >= at:
                continue
            if clip.end_at > at:
                clip = _Played(
                    clip.start, clip.samples[: int((at - clip.start) * self.sample_rate)], clip.rate, clip.key
                )
            kept.append(clip)
        self._played = kept

    def reset(self) -> None:
        self._played = []

    def active(self, now: float) -> bool:
        """Whether audio we played could still be echoing back at ``now``."""
        self._forget(now)  # also here, not only in explains(): a call whose audio is never checked must not grow
        horizon = now - self.max_delay_s - self.slack_s
        return any(clip.start <= now + self.slack_s and clip.end_at >= horizon for clip in self._played)

    def _reference(self, start: float, stop: float) -> FloatArray:
        """What played between ``start`` and ``stop`` (silence where nothing did)."""
        rate = self.sample_rate
        count = max(round((stop - start) * rate), 0)
        out = np.zeros(count, dtype=np.float32)
        for clip in self._played:
            if clip.end_at <= start or clip.start >= stop:
                continue
            offset = round((clip.start - start) * rate)  # where the clip's first sample falls in ``out``
            lo, hi = max(0, -offset), min(clip.samples.size, count - offset)
            if hi > lo:
                out[offset + lo : offset + hi] = clip.samples[lo:hi]
        return out

    def explains(self, incoming: FloatArray, end: float) -> bool:
        """Whether ``incoming`` (the caller's audio whose last sample arrived at ``end``) is our own audio coming
        back. Also forgets reference audio too old to echo any more."""
        self._forget(end)
        self.last_score = 0.0
        size = incoming.size
        if size == 0 or not self._played:
            return False
        window_s = size / self.sample_rate
        # the echo of audio played at t arrives at t + delay: the incoming window [end - window, end] holds the
        # echo of what played in [end - window - delay, end - delay] for delay in [-slack, max_delay + slack]
        start = end - window_s - self.max_delay_s - self.slack_s
        reference = self._reference(start, end + self.slack_s)
        if reference.size < size:
            return False
        x = incoming.astype(np.float64)
        x_energy = float(np.dot(x, x))
        if x_energy <= 1e-9:
            return False
        r = reference.astype(np.float64)
        dots = fftconvolve(r, x[::-1], mode="valid")  # dots[k] = <r[k:k+size], x>
        squares = np.concatenate([[0.0], np.cumsum(r * r)])
        energies = squares[size:] - squares[:-size]
        valid = energies > 1e-6 * size  # a lag whose reference is (almost) silent explains nothing
        if not np.any(valid):
            return False
        scores = np.abs(dots[valid]) / np.sqrt(energies[valid] * x_energy)
        self.last_score = float(np.max(scores))
        return self.last_score >= self.threshold

    def _forget(self, now: float) -> None:
        horizon = now - self.max_delay_s - self.slack_s - self.keep_s
        if self._played and self._played[0].end_at < horizon:
            self._played = [clip for clip in self._played if clip.end_at >= horizon]
