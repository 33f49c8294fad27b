"""Routing for the dialog policy: which of the tenant's transfer targets a caller's words ask for — keywords and
the department's name, plus (with an embeddings provider) semantic similarity to each target's description.

A keyword or department word the caller's words only *sound* like (speech recognition wrote *poleto* for
*boleto*, *menta lidar de* for *mensalidade*) counts ``FUZZY_WEIGHT`` of an exact hit: see :func:`sound_alike`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from voice_ai.providers.llm.policy.answer import Similarity
from voice_ai.providers.llm.text import STOP_WORDS, fold, same_word, tokens
from voice_ai.providers.types import TransferTarget
from voice_ai.understanding.common import is_common
from voice_ai.understanding.match import MAX_JOIN, Word, trigram_similarity, words_of
from voice_ai.understanding.match import similarity as sound_similarity
from voice_ai.understanding.phonetic import phonetic_key, phrase_key

FUZZY_WEIGHT = 0.6
SOUND_ALIKE = 0.8


@dataclass(frozen=True)
class Match:
    target: TransferTarget
    score: float
    margin: float  # lead over the second-best target


def describe(target: TransferTarget) -> str:
    """The text a target is compared with semantically."""
    return f"{target.department}: {target.description} {' '.join(target.keywords)}".strip()


def sound_alike(wanted: str, heard: list[Word], language: str = "pt") -> bool:
    """Whether a keyword's word (as the tenant wrote it) was said but written as a sound-alike: one caller word
    that is not an ordinary word (*poleto* → *boleto*; *posso* is never *pessoa*), or two or three words said as one
    (*menta lidar de* → *mensalidade*). Both need similarity ≥ ``SOUND_ALIKE`` with letters in common (trigram ≥
    0.3), or the same phonetic key of three letters or more with the same first sound."""
    target = fold(wanted)
    if len(target) < 4 or target in STOP_WORDS:
        return False
    key = phonetic_key(wanted, language)
    for first in range(len(heard)):
        for last in range(first + 1, min(len(heard), first + MAX_JOIN) + 1):
            span = heard[first:last]
            if all(w.folded in STOP_WORDS for w in span):
                continue
            if last - first == 1 and (len(span[0].folded) < 3 or is_common(span[0].text, language)):
                continue
            said = " ".join(w.text for w in span)
            score = sound_similarity(said, wanted, language)
            if score < SOUND_ALIKE:
                continue
            letters = trigram_similarity("".join(w.folded for w in span), target)
            spoken = phrase_key([w.text for w in span], language)
            if letters >= 0.3 or (spoken == key and len(key) >= 3 and last - first == 1):
                return True
    return False


def _hit(wanted: str, words: list[str], heard: list[Word] | None, language: str) -> float:
    """1 for a keyword word the caller said, ``FUZZY_WEIGHT`` for one only sound-alike, else 0."""
    if any(same_word(stem, t) for stem in tokens(wanted) for t in words):
        return 1.0
    return FUZZY_WEIGHT if heard and sound_alike(wanted, heard, language) else 0.0


def _phrase_hit(phrase: str, words: list[str], heard: list[Word] | None, language: str) -> tuple[float, int]:
    """(share of the phrase's content words found, fuzzy ones counting ``FUZZY_WEIGHT``; its content words)."""
    wanted = [w for w in re.findall(r"[^\W_]+", phrase) if tokens(w)]
    if not wanted:
        return 0.0, 0
    return sum(_hit(w, words, heard, language) for w in wanted) / len(wanted), len(wanted)


def keyword_score(
    words: list[str], target: TransferTarget, *, heard: list[Word] | None = None, language: str = "pt"
) -> float:
    """The department's name (1.5) and each keyword phrase found in the caller's words (1 + 0.25 per extra word;
    half a phrase found counts half). ``heard``: the caller's words as written (:func:`words_of`), for
    sound-alike hits; without it, exact (stemmed) words only."""
    score = 0.0
    name, _ = _phrase_hit(target.department, words, heard, language)
    if name == 1:
        score += 1.5
    elif name >= FUZZY_WEIGHT:
        score += 1.5 * name
    phrases = list(target.keywords) or [p for p in re.split(r"[,;]", target.description) if p.strip()]
    for phrase in phrases:
        hit, size = _phrase_hit(phrase, words, heard, language)
        if not size:
            continue
        if hit == 1:
            score += 1.0 + 0.25 * (size - 1)
        elif hit >= FUZZY_WEIGHT and hit * size > size - 1:  # every word there, some only sound-alike
            score += hit * (1.0 + 0.25 * (size - 1))
        elif hit >= 0.5:
            score += hit / 2
    return score


async def route(
    text: str,
    words: list[str],
    targets: Sequence[TransferTarget],
    *,
    similarity: Similarity | None,
    semantic_weight: float,
    language: str = "pt",
) -> Match | None:
    """The best target for the caller's words and its lead over the next, or None when nothing matches."""
    if not targets:
        return None
    heard = words_of(text)
    scores = [keyword_score(words, target, heard=heard, language=language) for target in targets]
    if similarity is not None and semantic_weight > 0:
        semantic = await similarity(text, [describe(t) for t in targets])
        scores = [s + semantic_weight * sim for s, sim in zip(scores, semantic, strict=True)]
    order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
    best, runner_up = order[0], (scores[order[1]] if len(order) > 1 else 0.0)
    return Match(targets[best], scores[best], scores[best] - runner_up) if scores[best] > 0 else None
