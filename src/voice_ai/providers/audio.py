"""WAV in and out, and resampling: the small amount of audio handling every provider shares.

Telephony audio is 16-bit mono PCM; FreeSWITCH records 8 kHz (narrowband) or 16 kHz (wideband) WAV files.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from math import gcd

import numpy as np
import numpy.typing as npt

MAX_AUDIO_SECONDS = 600


class AudioFormatError(ValueError):
    """The bytes are not audio this service can use; the message says what was wrong."""


class AudioTooLongError(AudioFormatError):
    """Audio longer than allowed, known from the header before anything is decoded."""

    def __init__(self, seconds: float, limit: float) -> None:
        super().__init__(f"audio longer than {limit:g} s ({seconds:.0f} s)")
        self.seconds, self.limit = seconds, limit


@dataclass(frozen=True)
class Audio:
    """Mono 16-bit PCM with its sample rate. ``wav`` renders a complete WAV file."""

    pcm: bytes
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate

    @property
    def samples(self) -> npt.NDArray[np.int16]:
        return np.frombuffer(self.pcm, dtype=np.int16)

    def wav(self) -> bytes:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.pcm)
        return buffer.getvalue()

    def resampled(self, rate: int) -> Audio:
        if rate == self.sample_rate:
            return self
        return Audio.from_float(resample(self.float32(), self.sample_rate, rate), rate)

    def float32(self) -> npt.NDArray[np.float32]:
        return (self.samples.astype(np.float32) / 32768.0).astype(np.float32)

    @classmethod
    def from_float(cls, samples: npt.NDArray[np.floating], sample_rate: int) -> Audio:
        clipped = np.clip(np.asarray(samples, dtype=np.float32) * 32768.0, -32768, 32767).astype("<i2")
        return cls(clipped.tobytes(), sample_rate)

    @classmethod
    def from_wav(cls, data: bytes, *, max_seconds: float = MAX_AUDIO_SECONDS) -> Audio:
        """Parse a PCM WAV file (mono or stereo, 8/16-bit); stereo is mixed down. Audio longer than
        ``max_seconds`` is refused from its header, before its samples are read."""
        if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
            raise AudioFormatError("not a WAV file (expected a RIFF/WAVE header)")
        try:
            with wave.open(io.BytesIO(data), "rb") as src:
                channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
                frames = src.getnframes()
                if rate < 4000 or rate > 192000:
                    raise AudioFormatError(f"unsupported sample rate {rate} Hz")
                if frames / rate > max_seconds:
                    raise AudioTooLongError(frames / rate, max_seconds)
                raw = src.readframes(frames)
        except (wave.Error, EOFError) as exc:
            raise AudioFormatError(f"corrupt or unsupported WAV ({exc}); send 16-bit PCM WAV") from None
        if width == 2:
            samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int32)
        elif width == 1:
            samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128) << 8
        else:
            raise AudioFormatError(f"unsupported sample width {width * 8} bit; send 16-bit PCM WAV")
        if channels > 1:
            samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1).astype(np.int32)
        return cls(samples.astype("<i2").tobytes(), rate)

    @classmethod
    def from_pcm16(cls, data: bytes, sample_rate: int) -> Audio:
        """Raw little-endian 16-bit mono samples (L16), e.g. from a telephony stream."""
        return cls(data[: len(data) // 2 * 2], sample_rate)


def resample(samples: npt.NDArray[np.floating], source: int, target: int) -> npt.NDArray[np.float32]:
    """Polyphase resampling (anti-aliased), e.g. 22050 → 8000 Hz for telephony, 8000 → 16000 for Whisper."""
    from scipy.signal import resample_poly

    factor = gcd(source, target)
    return np.asarray(resample_poly(samples, target // factor, source // factor), dtype=np.float32)
