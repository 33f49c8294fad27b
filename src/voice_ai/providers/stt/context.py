"""What a recogniser may know about the moment of a transcription besides the audio: the question the caller is
answering (set by the STT stage, read by Whisper for its prompt; other recognisers ignore it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_asked: ContextVar[str | None] = ContextVar("voice_ai_stt_asked", default=None)


@contextmanager
def asked_before(question: str | None) -> Iterator[None]:
    """Transcriptions in this block (and the tasks and threads they start) answer ``question``, the secretary's
    last words when they asked something; None: nothing was asked."""
    token = _asked.set(question)
    try:
        yield
    finally:
        _asked.reset(token)


def current_question() -> str | None:
    return _asked.get()
