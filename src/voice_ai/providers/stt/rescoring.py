"""Choosing among a recogniser's hypotheses the one that best fits the tenant's language.

Whisper's beam search returns several hypotheses with a score each (the mean log-probability per token). Base
Whisper on 8 kHz speech often ranks a common-word guess ("Posso pagar contigo") above the tenant's own word
("Posso pagar com Pix"); the tenant's lexicon (:class:`voice_ai.understanding.lexicon.Lexicon`) knows "Pix".
Each hypothesis gets ``score + weight * fit``, where ``fit`` is the share of its words the tenant's language
knows: a word of the lexicon (accent-folded, or the same stem), or a Portuguese/English function word
(:data:`voice_ai.providers.llm.text.STOP_WORDS`).

Decided: no general Portuguese dictionary. None ships with the project or its wheels, and a dictionary would
reward every well-formed Portuguese guess ("contigo" is a fine word) — exactly what the tenant's words must beat.
Unknown words therefore only lower the share; they are not penalised further. A share, not a count: a
hypothesis cannot win by repeating a lexicon word (Whisper's loop on a prompt word), and hypotheses of
different lengths compare fairly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voice_ai.providers.llm.text import STOP_WORDS, fold, stem

if TYPE_CHECKING:
    from voice_ai.understanding.lexicon import Lexicon

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Hypothesis:
    text: str
    score: float  # the recogniser's: Whisper's mean log-probability per token (<= 0)
    fit: float = 0.0  # share of its words the tenant's language knows (0..1)
    total: float = 0.0  # score + weight * fit: what the choice sorts by


def known_words(lexicon: Lexicon) -> frozenset[str]:
    """The folded words and their stems that count as the tenant's language."""
    words = set(lexicon.words)
    return frozenset(words | {stem(w) for w in words} | STOP_WORDS)


def lexicon_fit(text: str, known: frozenset[str]) -> float:
    """Share of ``text``'s words in ``known`` (0 for no words)."""
    words = _WORD.findall(fold(text))
    if not words:
        return 0.0
    return sum(1 for w in words if w in known or stem(w) in known) / len(words)


def rescore(hypotheses: Iterable[tuple[str, float]], lexicon: Lexicon | None, weight: float) -> list[Hypothesis]:
    """The hypotheses (text, score), best first by ``score + weight * fit``; equal totals keep the recogniser's
    order. Texts that are the same once folded are kept once (the first, best-scored). No lexicon (or an empty
    one): Whisper's own order."""
    known = known_words(lexicon) if lexicon else frozenset()
    seen: set[str] = set()
    scored: list[Hypothesis] = []
    for text, score in hypotheses:
        key = " ".join(_WORD.findall(fold(text)))
        if key in seen:
            continue
        seen.add(key)
        fit = lexicon_fit(text, known) if known else 0.0
        scored.append(Hypothesis(text, score, fit, score + weight * fit))
    return sorted(scored, key=lambda h: -h.total)  # stable: ties keep the recogniser's order


def alternatives(ranked: Sequence[Hypothesis], limit: int = 4) -> tuple[str, ...]:
    """The other hypotheses' texts, best first (what ``Transcript.alternatives`` carries)."""
    return tuple(h.text for h in ranked[1 : 1 + limit] if h.text)
