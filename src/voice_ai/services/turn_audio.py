"""The caller's recording of one turn: where it comes from, and how large it may be.

A turn is at most what the call flow records: ``recordFile`` with at most 120 s (``max_record_seconds`` is
clamped to 120 by the Lua and by the secretary's schema). Anything longer is refused before it is decoded or
transcribed (a 590-second upload once took a minute of both cores). The byte bound follows from it: 120 s of
16-bit mono audio at up to 48 kHz (what FreeSWITCH records on an Opus call), plus room for the WAV header.
"""

from __future__ import annotations

from pathlib import Path

from voice_ai.core.errors import FieldError, ServiceError
from voice_ai.providers.audio import Audio, AudioFormatError, AudioTooLongError

MAX_TURN_SECONDS = 120
TOLERANCE_S = 1.0  # FreeSWITCH stops at the frame after max_secs
MAX_TURN_SAMPLE_RATE = 48000
MAX_TURN_AUDIO_BYTES = MAX_TURN_SECONDS * MAX_TURN_SAMPLE_RATE * 2 + 64 * 1024
MAX_TURN_FORM_BYTES = MAX_TURN_AUDIO_BYTES + 64 * 1024  # the whole multipart form (fields, boundaries)
_MIB = MAX_TURN_AUDIO_BYTES / (1024 * 1024)


class TurnTooLargeError(ServiceError):
    """413: more audio than one turn can hold."""

    status_code = 413


def too_large(what: str) -> TurnTooLargeError:
    return TurnTooLargeError(
        f"{what}; a turn is at most {MAX_TURN_SECONDS} s of 16-bit mono audio at up to "
        f"{MAX_TURN_SAMPLE_RATE // 1000} kHz ({_MIB:.1f} MiB), as the call flow records it"
    )


def read_recording(folder: Path | None, audio_path: str) -> bytes:
    """A recording FreeSWITCH wrote on this host — only inside the configured folder, never elsewhere."""
    if folder is None:
        raise FieldError("audio_path", "file paths are disabled: set VOICE_AI_RECORDINGS_DIR or upload the audio")
    root = folder.resolve()
    target = Path(audio_path).resolve()
    if not target.is_relative_to(root):
        raise FieldError("audio_path", "outside the recordings folder", "forbidden_path")
    if not target.is_file():
        raise FieldError("audio_path", "no such recording")
    size = target.stat().st_size
    if size > MAX_TURN_AUDIO_BYTES:
        raise too_large(f"the recording is {size / (1024 * 1024):.1f} MiB")
    return target.read_bytes()


def decode_turn(data: bytes, sample_rate: int | None, field: str = "audio") -> Audio:
    """WAV (or raw L16 with ``sample_rate``) within a turn's bounds. An empty recording, or a WAV without frames
    (FreeSWITCH's bare 44-byte header when the caller sent no audio), is silence: a normal turn."""
    if not data:
        return Audio(b"", 8000)
    if len(data) > MAX_TURN_AUDIO_BYTES:
        raise too_large(f"the recording is larger than {_MIB:.1f} MiB")
    limit = MAX_TURN_SECONDS + TOLERANCE_S
    try:
        if data[:4] == b"RIFF" or sample_rate is None:
            return Audio.from_wav(data, max_seconds=limit)
        seconds = len(data) / 2 / sample_rate
        if seconds > limit:
            raise AudioTooLongError(seconds, limit)
        return Audio.from_pcm16(data, sample_rate)
    except AudioTooLongError as exc:
        raise too_large(f"the recording is {exc.seconds:.0f} s long") from None
    except AudioFormatError as exc:
        raise FieldError(field, str(exc), "invalid_audio") from None
