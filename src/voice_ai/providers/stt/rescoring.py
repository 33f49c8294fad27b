"""Choosing among a recogniser's hypotheses the one that best fits the tenant's language.

Whisper's beam search returns several hypotheses with a score each (the mean log-probability per token). Base
Whisper on 8 kHz speech often ranks a common-word guess ("Posso pagar contigo") above the tenant's own word
("Posso pagar com Pix"); the tenant's lexicon (:class:`voice_ai.understanding.lexicon.Lexicon`) knows "Pix".
Each hypothesis gets ``score + weight * fit``, where ``fit`` is the share of its words that are the tenant's
content words: a word of the lexicon (accent-folded, or the same stem) that is not a function word
(:data:`voice_ai.providers.llm.text.STOP_WORDS`: "com", "de", "o" say nothing about the tenant).

Decided (measured with ``bench/stt_vocabulary.py``'s candidates, 30 espeak-ng clips, 5 hypotheses; WER of the
choice): Whisper's order 57.6 %; counting function words as known too 56.2 % at best (weight 0.2-0.5), worse above;
dividing by the longest hypothesis (so that dropping words never helps) 56.7 %; a penalty per unknown word 55.2 %;
this share of content words 55.7 % at weight 0.5-1 and 54.8 % at 1.5-2. The best of the five hypotheses would
have been 53.3 %: rescoring can only choose among what the beam found. No general Portuguese dictionary: none
ships with the project or its wheels, and it would reward every well-formed guess ("contigo" is a fine word) —
exactly what the tenant's words must beat. A share, not a count: a hypothesis cannot win by repeating a lexicon
word (Whisper's loop on a prompt word), and hypotheses of different lengths compare fairly.
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
    """The tenant's content words: the lexicon's folded words and their stems, function words left out."""
    words = {w for w in lexicon.words if w not in STOP_WORDS}
    return frozenset(words | {stem(w) for w in words})


def lexicon_fit(text: str, known: frozenset[str]) -> float:
    """Share of ``text``'s words that are in ``known`` (function words never are; 0 for no words)."""
    words = _WORD.findall(fold(text))
    if not words:
        return 0.0
    return sum(1 for w in words if w not in STOP_WORDS and (w in known or stem(w) in known)) / len(words)


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
