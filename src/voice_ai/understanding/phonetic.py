"""A phonetic key for Portuguese words (English-safe), for matching what speech recognition wrote against what the
caller meant.

In the spirit of Metaphone-pt and BuscaBR, but tuned for *telephone* speech recognition errors rather than
spelling variants: sounds a recogniser confuses share a key. The rules, applied in order to a lower-case word:

1. ``ç`` → ``s`` (before accents are folded away, which would make it a ``c``); then accents are folded.
2. Digraphs: ``tch``/``ch``/``sh`` → X (the "x" of *xícara*); ``lh`` → L, ``nh`` → N, ``ph`` → F,
   ``rr`` → R, ``ss`` → S, ``sc``/``xc`` before e/i → S, ``qu``/``gu`` before e/i → K/G, ``qu`` → K.
3. ``c`` before e/i/y → S, else K; ``k``/``q`` → K; ``g`` before e/i → J; ``z`` → S; ``w`` → V; ``y`` → i.
4. ``x``: at the end of a word → KS (*Pix*, *tórax*); ``ex`` at the start → S (*exame*, *explicar*); else X.
5. Silent ``h``; ``l`` before a consonant or at the end is a vowel (*Brasil* ≈ *Brasiu*); ``m`` before a consonant or
   at the end → N (nasal: *tem* ≈ *ten*); a final ``r`` is dropped (*falar* ≈ *falá*).
6. Voiced/unvoiced pairs merge, because a telephone line and a recogniser confuse them: b/p → P, d/t → T,
   g/k → K, v/f → F (and z/s, already S). ``j`` stays apart from X (*já* is not *chá*).
7. Vowels: a word's first letter, when a vowel, becomes ``A`` (*imposto* ≈ *emposto*); all other vowels go.
   Repeated letters collapse.

English words get the same treatment with ``th`` → T, ``gh`` silent, ``ck`` → K, ``wh`` → V, ``x`` → KS and no
Portuguese-only rules (final ``l``, final ``r``, ``ex``) — good enough for the universal words (*bye*, *agent*) and
for names.

Examples: *obrigado* and *Obricata* → ``APRKT``; *tchau*, *Chau*, *xau* → ``X``; *Pix* and *pegs* → ``PKS``;
*mensalidade* → ``MNSLT``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_VOWELS = frozenset("aeiou")
_PT_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"tch|ch|sh", "X"),
        (r"lh", "l"),
        (r"nh", "n"),
        (r"ph", "f"),
        (r"rr", "r"),
        (r"ss", "s"),
        (r"[sx]c(?=[eiy])", "s"),
        (r"qu(?=[eiy])", "k"),
        (r"gu(?=[eiy])", "g"),
        (r"qu", "k"),
        (r"c(?=[eiy])", "s"),
        (r"[ckq]", "k"),
        (r"g(?=[eiy])", "j"),
        (r"x$", "ks"),
        (r"^ex", "es"),
        (r"x", "X"),
        (r"z", "s"),
        (r"w", "v"),
        (r"y", "i"),
        (r"h", ""),
        (r"l(?=[^aeiou]|$)", "u"),
        (r"m(?=[^aeiou]|$)", "n"),
        (r"(?<=.)r$", ""),
    )
)
_EN_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"tch|ch|sh", "X"),
        (r"th", "t"),
        (r"ph", "f"),
        (r"wh", "v"),
        (r"ck", "k"),
        (r"(?<=.)gh", ""),
        (r"c(?=[eiy])", "s"),
        (r"[ckq]", "k"),
        (r"x", "ks"),
        (r"z", "s"),
        (r"w", "v"),
        (r"y(?=.)", "i"),
        (r"h", ""),
        (r"m(?=[^aeiou]|$)", "n"),
    )
)
_MERGE = str.maketrans({"b": "p", "d": "t", "g": "k", "v": "f"})
_LETTERS = re.compile(r"[^a-z]")


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower().replace("ç", "s"))
    return _LETTERS.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)))


@functools.lru_cache(maxsize=65536)
def phonetic_key(word: str, language: str = "pt") -> str:
    """The word's key (upper-case consonant classes, ``A`` for a leading vowel); ``""`` for no letters."""
    folded = _fold(word)
    if not folded:
        return ""
    rules = _EN_RULES if language.lower().startswith("en") else _PT_RULES
    for pattern, repl in rules:
        folded = pattern.sub(repl, folded)
    folded = folded.translate(_MERGE)
    out: list[str] = []
    for i, ch in enumerate(folded):
        if ch in _VOWELS or ch == "u":
            if i == 0:
                out.append("A")
            continue
        letter = ch.upper()
        if not out or out[-1] != letter:
            out.append(letter)
    return "".join(out)


def phrase_key(words: list[str], language: str = "pt") -> str:
    """The key of consecutive words said as one ("menta lidar de" ≈ "mensalidade"): the words' keys joined, a
    later word's leading-vowel mark dropped (it is mid-word once joined)."""
    keys = [phonetic_key(w, language) for w in words]
    joined = keys[0] if keys else ""
    for key in keys[1:]:
        key = key.removeprefix("A")
        joined += key[1:] if joined and key and joined[-1] == key[0] else key
    return joined
