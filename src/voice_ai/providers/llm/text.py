"""Text helpers for the dialog policy: accent-insensitive tokens, crude stems, stop words (pt + en)."""

from __future__ import annotations

import re
import unicodedata

STOP_WORDS = frozenset(
    """a o as os um uma uns umas de do da dos das no na nos nas em para pra pro por com sem e ou que se me
    meu minha meus minhas seu sua seus suas voce voces vc vcs eu ele ela nos eles elas isso esse essa este
    esta aqui ai la ja nao sim muito mais menos tem ter ha sobre como qual quais quanto quanta quantos
    quando onde quem porque pois entao tambem so ate ao aos à às é e foi ser sou era estou esta estao
    gostaria queria quero preciso precisava poderia pode posso favor obrigado obrigada oi ola bom dia boa
    tarde noite falar fala ligar conversar
    the an of to in on for with and or is are was be i you we it this that my your me please can could
    would like want need do does how what when where which who hi hello""".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case without accents: 'Férias' → 'ferias'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(word: str) -> str:
    """A deliberately small stemmer: enough to match plural/singular and verb/noun pairs in pt and en."""
    for suffix in ("mente", "coes", "cao", "oes", "ais", "eis", "res", "ing", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(fold(text)) if w not in STOP_WORDS and len(w) > 1]


def same_word(a: str, b: str) -> bool:
    """Token equality allowing one word to be the other's root (mensal ~ mensalidade): the shared prefix
    must cover at least three quarters of the shorter word, and five letters (funcionamento is not
    funcionario)."""
    if a == b:
        return True
    shortest = min(len(a), len(b))
    if shortest < 5:
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= max(5, 0.75 * shortest) and abs(len(a) - len(b)) <= 6


def contains_phrase(text_tokens: list[str], phrase: str) -> bool:
    wanted = tokens(phrase)
    return bool(wanted) and all(any(same_word(w, t) for t in text_tokens) for w in wanted)
