"""Sound-alike and character-level matching of a transcript's words against known words.

Two measures, the larger wins (:func:`similarity`):

- trigram similarity of the accent-folded words — the measure of PostgreSQL ``pg_trgm`` (each word padded with two
  spaces before and one after; shared trigrams over all trigrams): catches letters swapped or lost
  (*declaracao* / *declaração*, *orário* / *horário*);
- similarity of their Portuguese phonetic keys (:mod:`voice_ai.understanding.phonetic`) by normalised edit
  distance: catches words that *sound* alike (*Obricata* / *obrigado*, *pegs* / *Pix*). Keys of one or two letters
  only count when equal (too many words share them).

A known word may match one transcript word or several consecutive ones said as one (*menta lidar de* →
*mensalidade*): :class:`Matcher` scores every span of up to ``MAX_JOIN`` words against its vocabulary, through
an inverted trigram index and key buckets (a turn costs milliseconds even with a few thousand known words).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from voice_ai.providers.llm.text import fold
from voice_ai.understanding.phonetic import phrase_key

MAX_JOIN = 3
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ0-9]+(?:['’-][A-Za-zÀ-ÖØ-öø-ÿ0-9]+)*")


def trigrams(word: str) -> frozenset[str]:
    """pg_trgm's trigrams of one folded word (letters and digits only)."""
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm ``similarity`` of two folded words."""
    if not a or not b:
        return 0.0
    ta, tb = trigrams(a), trigrams(b)
    return len(ta & tb) / len(ta | tb)


def edit_distance(a: str, b: str, cutoff: int | None = None) -> int:
    """Levenshtein distance (keys are a few letters: the plain algorithm is fast enough); past ``cutoff`` it stops
    early and returns ``cutoff + 1``."""
    if len(a) < len(b):
        a, b = b, a
    if cutoff is not None and len(a) - len(b) > cutoff:
        return cutoff + 1
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        if cutoff is not None and min(current) > cutoff:
            return cutoff + 1
        previous = current
    return previous[-1]


def key_similarity(a: str, b: str) -> float:
    """1 - edit distance / longer key; keys of one or two letters count only when equal."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if min(len(a), len(b)) <= 2:
        return 0.0
    return 1.0 - edit_distance(a, b) / max(len(a), len(b))


def similarity(a: str, b: str, language: str = "pt") -> float:
    """How alike two words (or phrases said as one) are, 0..1: trigram or phonetic, whichever is higher."""
    fa, fb = _squash(a), _squash(b)
    if fa == fb:
        return 1.0 if fa else 0.0
    ka = phrase_key(a.split(), language)
    kb = phrase_key(b.split(), language)
    return max(trigram_similarity(fa, fb), key_similarity(ka, kb))


def _squash(text: str) -> str:
    return "".join(re.findall(r"[a-z0-9]+", fold(text)))


@dataclass(frozen=True)
class Word:
    """A transcript word: its text as written, folded, and where it is in the transcript."""

    text: str
    folded: str
    start: int
    end: int


def words_of(text: str) -> list[Word]:
    return [Word(m.group(), _squash(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class Found:
    """A known word found at transcript words ``[first, last)``: ``heard`` is what was written there."""

    first: int
    last: int
    heard: str
    term: str  # the known word, folded
    score: float  # :func:`similarity`
    trigram: float
    phonetic: float

    @property
    def span(self) -> int:
        return self.last - self.first


class Matcher:
    """A vocabulary of folded words prepared for fast sound-alike look-up."""

    def __init__(self, vocabulary: Iterable[str], language: str = "pt") -> None:
        self.language = language
        written: dict[str, str] = {}
        for form in vocabulary:
            squashed = _squash(form)
            if len(squashed) >= 2:
                written.setdefault(squashed, form)
        self.words = sorted(written)
        self._index: dict[str, list[int]] = defaultdict(list)
        self._by_key: dict[str, list[int]] = defaultdict(list)
        self._by_start_len: dict[tuple[str, int], list[int]] = defaultdict(list)
        self._keys = [phrase_key(written[w].split(), language) for w in self.words]
        self._key_letters = [frozenset(k) for k in self._keys]
        self._trigrams = [trigrams(w) for w in self.words]
        for i in range(len(self.words)):
            for gram in self._trigrams[i]:
                self._index[gram].append(i)
            self._by_key[self._keys[i]].append(i)
            if self._keys[i]:
                self._by_start_len[self._keys[i][0], len(self._keys[i])].append(i)

    def __bool__(self) -> bool:
        return bool(self.words)

    def candidates(self, heard: list[str], *, limit: int = 3, floor: float = 0.5) -> list[tuple[str, float, float]]:
        """The known words (folded) most like ``heard`` (one or several words as written, said as one):
        (word, trigram, phonetic) best first, those scoring at least ``floor``."""
        squashed = "".join(_squash(h) for h in heard)
        if not squashed:
            return []
        key = phrase_key(heard, self.language)
        grams = trigrams(squashed)
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for i in self._index.get(gram, ()):
                shared[i] += 1
        scored: dict[int, tuple[float, float]] = {
            i: (n / (len(grams) + len(self._trigrams[i]) - n), 0.0) for i, n in shared.items()
        }
        for i in self._by_key.get(key, ()) if key else ():
            scored[i] = (scored.get(i, (0.0, 0.0))[0], 1.0)
        letters = frozenset(key)
        # sound-alikes by key: shorter keys count only when equal; others must begin with the same sound (telephone
        # and recogniser errors are mostly inside a word) — which also keeps a large vocabulary fast
        if len(key) >= 3:
            spread = int(
                (1 - floor) * len(key) / floor + 1e-9
            )  # a longer key can be this much longer and still reach floor
            for length in range(max(3, len(key) - spread), len(key) + spread + 1):
                for i in self._by_start_len.get((key[0], length), ()):
                    other = self._keys[i]
                    if other == key:
                        continue
                    longest = max(len(key), length)
                    cutoff = int((1 - floor) * longest + 1e-9)
                    if len(letters ^ self._key_letters[i]) > 2 * cutoff:  # each edit changes the letter set by ≤ 2
                        continue
                    distance = edit_distance(key, other, cutoff)
                    if distance <= cutoff:
                        phonetic = 1.0 - distance / longest
                        scored[i] = (scored.get(i, (0.0, 0.0))[0], phonetic)
        ranked = sorted(
            ((self.words[i], tri, pho) for i, (tri, pho) in scored.items() if max(tri, pho) >= floor),
            key=lambda t: (-max(t[1], t[2]), -t[1], t[0]),
        )
        return ranked[:limit]

    def find(self, words: list[Word], *, floor: float = 0.5, max_join: int = MAX_JOIN) -> list[Found]:
        """Every span of 1..``max_join`` consecutive words with its best known word (at least ``floor``)."""
        found: list[Found] = []
        for first in range(len(words)):
            for last in range(first + 1, min(len(words), first + max_join) + 1):
                span = words[first:last]
                best = self.candidates([w.text for w in span], limit=1, floor=floor)
                if best:
                    term, tri, pho = best[0]
                    heard = " ".join(w.text for w in span)
                    found.append(Found(first, last, heard, term, max(tri, pho), tri, pho))
        return found
