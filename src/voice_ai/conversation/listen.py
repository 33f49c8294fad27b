"""The speech-recognition stage, shared by turn-based and streaming calls."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voice_ai.conversation.budget import STT_END_S, STT_VENDOR_END_S, run_in_time
from voice_ai.conversation.speech import ms_since
from voice_ai.providers.audio import Audio
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.manager import FallbackChain
from voice_ai.providers.stt.context import asked_before

if TYPE_CHECKING:
    from voice_ai.understanding.lexicon import Lexicon

logger = logging.getLogger(__name__)
STT_FAILED = "failed"  # providers.stt of a turn no recogniser could transcribe (told apart from silence)


@dataclass(frozen=True)
class Listened:
    text: str
    provider: str  # who transcribed, or STT_FAILED
    ms: float
    confidence: float | None = None  # the recogniser's rough 0..1 (Whisper: exp of the mean token log-probability)
    alternatives: tuple[str, ...] = ()  # its other hypotheses, best first (Whisper's n-best after rescoring)


async def listen(
    chain: FallbackChain[Any],
    audio: Audio,
    *,
    language: str,
    hints: list[str],
    due: float,
    call_uuid: str,
    lexicon: Lexicon | None = None,
    asked: str | None = None,
) -> Listened:
    """The caller's words: a configured vendor leaves time for Whisper after it, and for a configured LLM after
    both; Whisper itself may take until only the dialog policy fits after it (a slow transcript beats "pode
    repetir?"). When nothing transcribes in time: empty text, stored as ``failed`` (not as silence).
    ``lexicon``: the tenant's, for a recogniser that rescores its hypotheses with it (Whisper); ``asked``: the
    question the caller answers (:func:`question_asked`), the text Whisper hears as coming right before the audio."""
    started = time.perf_counter()
    try:
        with asked_before(asked):
            heard = await run_in_time(
                chain,
                lambda p: p.transcribe(audio, language=language, hints=hints, lexicon=lexicon),
                until=due - STT_VENDOR_END_S,
                last=due - STT_END_S,
            )
    except ProviderError as exc:
        logger.error("call %s: no STT could transcribe in time: %s", call_uuid, exc)
        return Listened("", STT_FAILED, ms_since(started))
    alternatives = tuple(a.strip() for a in heard.alternatives if a.strip() and a.strip() != heard.text.strip())
    return Listened(heard.text.strip(), heard.info.provider, ms_since(started), heard.confidence, alternatives)


def question_asked(history: Sequence[Any]) -> str | None:
    """The secretary's last words when they asked the caller something after the greeting (a confirmation, topics
    to choose from, a transfer offer): the caller's answer is likely short ("sim", "o segundo"), and heard far
    better as an answer to it (bench/stt_replies.py: word error rate on short replies 67 % → 37 %). The
    greeting's "Como posso ajudar?" is no such question: the first request is as open as any (no gain measured)."""
    said = [m for m in history if getattr(m, "role", None) == "assistant" and (m.text or "").strip()]
    if not said or said[-1].turn_index == 0:
        return None
    text = str(said[-1].text).strip()
    return text if text.endswith("?") else None
