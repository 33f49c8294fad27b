"""Small, stateful pieces of audio plumbing for a streaming call: frames of any size in, fixed chunks out; a
2× upsampler that keeps its filter state across chunks; the recent audio of the call, addressable by sample.

Everything here is mono 16-bit little-endian PCM (L16), as the transports deliver it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import firwin, lfilter

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float32]


def to_float(samples: Int16Array) -> FloatArray:
    return (samples.astype(np.float32) / 32768.0).astype(np.float32)


def rms_dbfs(samples: FloatArray) -> float:
    """Root-mean-square level in dB relative to full scale (-120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    return 10.0 * math.log10(power) if power > 1e-12 else -120.0


class Rechunker:
    """Collects frames of any size (even an odd number of bytes) and hands out whole chunks of ``size`` samples."""

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError("chunk size must be positive")
        self.size = size
        self._pending = bytearray()

    def push(self, pcm: bytes) -> list[Int16Array]:
        self._pending += pcm
        whole = len(self._pending) // (2 * self.size)
        if whole == 0:
            return []
        cut = whole * 2 * self.size
        data = np.frombuffer(bytes(self._pending[:cut]), dtype="<i2").astype(np.int16)
        del self._pending[:cut]
        return [data[i * self.size : (i + 1) * self.size] for i in range(whole)]

    @property
    def pending_samples(self) -> int:
        """Samples received but not yet handed out (waiting for a whole chunk)."""
        return len(self._pending) // 2


class Upsampler2x:
    """8 kHz → 16 kHz, chunk by chunk, without edge clicks: zero-stuffing and a linear-phase low-pass FIR whose
    state is carried from one chunk to the next (the output lags the input by the filter's group delay, 15 samples
    at 16 kHz, under a millisecond)."""

    TAPS = 31

    def __init__(self) -> None:
        self._taps = (firwin(self.TAPS, 0.5) * 2.0).astype(np.float64)  # gain 2 makes up for the zeros
        self._state = np.zeros(self.TAPS - 1, dtype=np.float64)

    def __call__(self, samples: FloatArray) -> FloatArray:
        stuffed = np.zeros(samples.size * 2, dtype=np.float64)
        stuffed[::2] = samples
        out, self._state = lfilter(self._taps, [1.0], stuffed, zi=self._state)
        return np.asarray(out, dtype=np.float32)


class AudioHistory:
    """The last ``keep_s`` seconds of the caller's audio, addressed by absolute sample number since the call began
    (what end-of-turn and STT need: "the segment from sample a to sample b")."""

    def __init__(self, sample_rate: int, keep_s: float) -> None:
        self.sample_rate = sample_rate
        self._keep = int(keep_s * sample_rate)
        self._data = bytearray()
        self._first = 0  # absolute index of the first sample held

    @property
    def end(self) -> int:
        """Absolute index one past the newest sample."""
        return self._first + len(self._data) // 2

    def append(self, samples: Int16Array) -> None:
        self._data += samples.astype("<i2").tobytes()
        excess = len(self._data) // 2 - self._keep
        if excess > 0:
            del self._data[: excess * 2]
            self._first += excess

    def pcm(self, start: int, stop: int) -> bytes:
        """L16 bytes of samples ``[start, stop)``, clipped to what is still held."""
        start, stop = max(start, self._first), min(stop, self.end)
        if stop <= start:
            return b""
        return bytes(self._data[(start - self._first) * 2 : (stop - self._first) * 2])

    def samples(self, start: int, stop: int) -> Int16Array:
        return np.frombuffer(self.pcm(start, stop), dtype="<i2").astype(np.int16)
