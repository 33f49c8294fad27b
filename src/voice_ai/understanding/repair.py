"""Transcript repair: the tenant's own terms restored where speech recognition wrote a sound-alike.

:func:`repair` replaces, precision first (a false correction is worse than none):

- one transcript word by a tenant word when they are alike (:func:`~voice_ai.understanding.match.similarity`
  ≥ ``REPAIR_SCORE``) and the heard word is neither a tenant word nor an ordinary word of the language
  (:func:`~voice_ai.understanding.common.is_common`): *pegs* → *Pix*, never *posso* → *pessoa*. A match resting on
  a key of three letters or less (*PKS*) must be exact and start with the same letter;
- two or three consecutive words said as one tenant word (*menta lidar de* → *mensalidade*): both measures must
  agree (phonetic ≥ ``REPAIR_SCORE`` *and* trigram ≥ ``SPAN_TRIGRAM``), the word must be long (a key of four
  letters or more) and no word of the span may be a tenant word itself.

:func:`expand` returns the terms a weaker match suggests (one per heard word or span), to *add* to a retrieval or
routing query without replacing anything. Both use only the lexicon they are given — one tenant's.
"""

from __future__ import annotations

from dataclasses import dataclass

from voice_ai.providers.llm.text import STOP_WORDS
from voice_ai.understanding.common import is_common, language_code
from voice_ai.understanding.lexicon import Lexicon
from voice_ai.understanding.match import Found, Matcher, Word, words_of
from voice_ai.understanding.phonetic import phonetic_key

REPAIR_SCORE = 0.8
SPAN_TRIGRAM = 0.3
EXPAND_SCORE = 0.7
EXPAND_SPAN_TRIGRAM = 0.25
MAX_EXPANSIONS = 8


@dataclass(frozen=True)
class Repaired:
    text: str
    replaced: list[tuple[str, str, float]]  # (heard, term as the tenant writes it, score)

    @property
    def changed(self) -> bool:
        return bool(self.replaced)


def matcher(lexicon: Lexicon, language: str = "pt") -> Matcher:
    """The lexicon's content words (three letters or more, no stop words) prepared for matching, built once per
    lexicon and language."""
    code = language_code(language)
    key = ("matcher", code)
    found = lexicon.cache.get(key)
    if not isinstance(found, Matcher):
        vocabulary = [lexicon.surface.get(w, w) for w in lexicon.words if len(w) >= 3 and w not in STOP_WORDS]
        found = lexicon.cache[key] = Matcher(vocabulary, code)
    return found


def analyse(text: str, lexicon: Lexicon, language: str = "pt") -> tuple[Repaired, list[str]]:
    """:func:`repair` and :func:`expand` at once (one pass over the transcript's word runs)."""
    words = words_of(text)
    match = matcher(lexicon, language) if lexicon else None
    if not words or not match:
        return Repaired(text, []), []
    found = match.find(words, floor=EXPAND_SCORE)
    chosen = _choose([f for f in found if f.score >= REPAIR_SCORE and _repairs(f, words, lexicon, language)])
    out, at = [], 0
    replaced: list[tuple[str, str, float]] = []
    for f in sorted(chosen, key=lambda f: f.first):
        start, end = words[f.first].start, words[f.last - 1].end
        term = lexicon.surface.get(f.term, f.term)
        out += [text[at:start], term]
        at = end
        replaced.append((text[start:end], term, round(f.score, 3)))
    out.append(text[at:])
    terms: dict[str, None] = {}
    for f in _choose([f for f in found if _suggests(f, words, lexicon, language)]):
        if not any(w.folded == f.term for w in words):
            terms.setdefault(lexicon.surface.get(f.term, f.term), None)
    return Repaired("".join(out), replaced), list(terms)[:MAX_EXPANSIONS]


def repair(text: str, lexicon: Lexicon, language: str = "pt") -> Repaired:
    """``text`` with strong sound-alikes of the tenant's words replaced by them (see the module docstring)."""
    return analyse(text, lexicon, language)[0]


def expand(text: str, lexicon: Lexicon, language: str = "pt") -> list[str]:
    """Tenant terms (as the tenant writes them) that the transcript's unknown words or word runs resemble — weaker
    evidence than :func:`repair` asks for, so they are *added* to a query, never substituted. At most one per word
    or run, best first."""
    return analyse(text, lexicon, language)[1]


def _known(word: Word, lexicon: Lexicon) -> bool:
    return word.folded in lexicon.words


def _evidence(found: Found, language: str) -> float:
    """The match's score, where a phonetic key of one or two letters (*X*, *FL*: shared by many words) counts only
    half, the trigram similarity the other half (*orário* ≈ *horário*: 0.75, *fical* ≈ *fica*: 0.79)."""
    if len(phonetic_key(found.term, language)) <= 2:
        return max(found.trigram, (found.trigram + found.phonetic) / 2)
    return found.score


def _repairs(found: Found, words: list[Word], lexicon: Lexicon, language: str) -> bool:
    span = words[found.first : found.last]
    if found.span == 1:
        word = span[0]
        if word.folded == found.term or len(word.folded) < 3 or _known(word, lexicon) or is_common(word.text, language):
            return False
        if _evidence(found, language) < REPAIR_SCORE:
            return False
        if found.trigram >= SPAN_TRIGRAM:
            return True
        # sound alone (pegs → Pix): an exact key of three letters or more, the same first sound, a similar length
        heard_key, term_key = phonetic_key(word.text, language), phonetic_key(found.term, language)
        return (
            heard_key == term_key
            and len(term_key) >= 3
            and heard_key[:1] == term_key[:1]
            and abs(len(word.folded) - len(found.term)) <= 2
        )
    if any(_known(w, lexicon) and w.folded not in STOP_WORDS for w in span):
        return False
    return (
        found.phonetic >= REPAIR_SCORE
        and found.trigram >= SPAN_TRIGRAM
        and len(phonetic_key(found.term, language)) >= 4
        and not all(w.folded in STOP_WORDS for w in span)
    )


def _suggests(found: Found, words: list[Word], lexicon: Lexicon, language: str) -> bool:
    span = words[found.first : found.last]
    if any(_known(w, lexicon) and w.folded not in STOP_WORDS for w in span):
        return False
    if all(w.folded in STOP_WORDS for w in span) or _evidence(found, language) < EXPAND_SCORE:
        return False
    if found.span == 1:
        word = span[0]
        if len(word.folded) < 3 or word.folded == found.term:
            return False
        # an ordinary word suggests a term only when letters agree too (curta is not cartão)
        return found.trigram >= SPAN_TRIGRAM or not is_common(word.text, language)
    return found.trigram >= EXPAND_SPAN_TRIGRAM and found.phonetic >= EXPAND_SCORE


def _choose(found: list[Found]) -> list[Found]:
    """Non-overlapping matches, the strongest first (score, then trigram evidence, then the longer span)."""
    taken: set[int] = set()
    chosen: list[Found] = []
    for f in sorted(found, key=lambda f: (-f.score, -f.trigram, -f.span, f.first)):
        cover = set(range(f.first, f.last))
        if not cover & taken:
            taken |= cover
            chosen.append(f)
    return chosen
