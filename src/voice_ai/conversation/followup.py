"""What to retrieve for a turn that continues the previous one.

A bare "sim" after the secretary asked "Você quer saber o valor de …?" carries no words to search with: the
retrieval must use the question the caller asked before and the confirmed topic, so that the dialog policy finds
the answer on that turn. Likewise "não" (the alternatives come from the same question's passages), a choice among
offered topics ("o segundo", "pagamento") and a short follow-up to an answer ("e aos sábados?" after the hours).
The state is the conversation history itself: the phrases are the dialog policy's
(:mod:`voice_ai.providers.llm.policy.phrases`), read back by its own parsers.
"""

from __future__ import annotations

from collections.abc import Sequence

from voice_ai.providers.llm.policy.dialog import (
    SHORT_REPLY_WORDS,
    affirms,
    chosen_topic,
    denies,
    is_followup,
    pending_confirmation,
    pending_topics,
)
from voice_ai.providers.llm.text import tokens


def retrieval_query(transcript: str, history: Sequence[tuple[str, str]]) -> str:
    """The text to retrieve passages with. ``history``: the call's earlier messages as (role, text), in order,
    without this turn's transcript."""
    text = transcript.strip()
    said = [t.strip() for r, t in history if r == "user" and t.strip()]
    last = next((t for r, t in reversed(history) if r == "assistant" and t.strip()), "")
    if not text or not last:
        return text
    short = len(tokens(text)) <= SHORT_REPLY_WORDS
    confirming = pending_confirmation(last)
    if confirming is not None and said and short and (affirms(text) or denies(text)):
        return f"{said[-1]} {confirming}" if affirms(text) else said[-1]
    chosen = chosen_topic(text, pending_topics(last))
    if chosen is not None:
        return f"{chosen} {text}"
    if is_followup(text, said, last):
        return f"{said[-1]} {text}"
    return text
