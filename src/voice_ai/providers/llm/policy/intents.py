"""What a caller's words ask for, independent of the tenant: goodbyes, a person, a transfer verb, a request,
a question, yes and no (accent-folded text, pt-BR and English).

The regular expressions read clean text; the functions (:func:`is_goodbye`, :func:`asks_for_person`,
:func:`asks_for_transfer`, :func:`is_yes`, :func:`is_no`, :func:`is_thanks`) take the caller's words as written and
also recognise the intents' key words garbled by speech recognition.
"""

from __future__ import annotations

import re

from voice_ai.providers.llm.text import fold
from voice_ai.understanding.common import is_common
from voice_ai.understanding.match import similarity, trigram_similarity, words_of
from voice_ai.understanding.phonetic import phonetic_key

GOODBYE = re.compile(
    r"\b(tchau|xau|ate logo|ate mais|ate a proxima|adeus|so isso|era isso|era so|e so isso|nada mais|mais nada|"
    r"pode desligar|bye|goodbye|that'?s all|nothing else|hang up)\b"
)
HUMAN = re.compile(
    r"\b(atendente|pessoa|humano|alguem|operador|operadora|recepcao|agent|human|person|operator|someone)\b"
)
TRANSFER_VERB = re.compile(
    r"\b(falar com|fala com|transfer\w*|passar (para|pra|pro)|passa (para|pra|pro)|me passa|me passe|me coloca|"
    r"ligar (para|pra|pro)|encaminh\w*|conversar com|talk to|speak to|speak with|connect me|put me through)\b"
)
REQUEST = re.compile(
    r"\b(quero|queria|gostaria|preciso|precisava|desejo|solicito|i want|i need|i'd like|i would like)\b"
)
QUESTION_START = re.compile(
    r"^\s*(qual|quais|quanto|quanta|quantos|quantas|quando|onde|como|que|quem|por que|"
    r"what|when|where|how|which|who|why)\b"
)
QUESTION = re.compile(
    r"(\?|\b(qual|quais|quanto|quanta|quantos|quantas|quando|onde|como|que horas|quem|posso|podem|tem|tenho que|"
    r"aceitam|aceita|voces|abre|abrem|funciona|what|when|where|how|which|who|do you|can i|is there)\b)"
)
YES = re.compile(r"^\s*(sim|pode|pode sim|isso|claro|por favor|quero|ok|yes|sure|please|yeah)\b")
NO = re.compile(r"^\s*(nao|no|nope)\b")

# -- the same intents when speech recognition garbled their words ----------------------------------------------------
# Universal words (not a tenant's): a small fixed pt/en list is matched by sound (voice_ai.understanding.match).
# Only a word that is not itself an ordinary pt/en word is taken for a garbled one (posso is not pessoa, chá is not
# tchau). A word whose phonetic key has one or two letters (tchau: X) must match it exactly and be about as long;
# longer keys by similarity. A garbled goodbye word counts as the last word said.
_GOODBYE_WORDS = ("tchau", "xau", "adeus", "bye", "goodbye")
_THANKS_WORDS = ("obrigado", "obrigada", "brigado", "thanks", "thank")
_HUMAN_WORDS = (
    "atendente",
    "pessoa",
    "humano",
    "operador",
    "operadora",
    "recepcao",
    "recepcionista",
    "agent",
    "human",
    "person",
    "operator",
)
_TRANSFER_WORDS = ("transferir", "transfere", "transfira", "encaminhar", "encaminha", "transfer")
_YES_WORDS = ("sim", "claro", "isso", "pode", "yes", "sure", "yeah")
_NO_WORDS = ("nao", "no", "nope")
_SOUND_ALIKE = 0.8


def _sounds_like(word: str, wanted: tuple[str, ...]) -> bool:
    """Whether one transcript word sounds like one of ``wanted`` (see the comment above)."""
    folded = fold(word)
    if folded in wanted:
        return True
    if len(folded) < 3 or is_common(word, "pt") or is_common(word, "en"):
        return False
    heard = phonetic_key(word)
    for target in wanted:
        key = phonetic_key(target)
        if len(key) <= 2:
            if heard == key and abs(len(folded) - len(target)) <= 2:
                return True
        elif (similarity(word, target) >= _SOUND_ALIKE and trigram_similarity(folded, target) >= 0.2) or heard == key:
            return True
    return False


def _words(text: str) -> list[str]:
    return [w.text for w in words_of(text)]


def is_goodbye(text: str) -> bool:
    """The caller ends the call: the goodbye phrases, or a goodbye word garbled by recognition as the last word
    ("da Saísa Obricata, Chau.")."""
    folded = fold(text)
    if GOODBYE.search(folded):
        return True
    words = _words(text)
    return bool(words) and _sounds_like(words[-1], _GOODBYE_WORDS)


def is_thanks(text: str) -> bool:
    """A thank-you (obrigado, thanks), garbled or not ("Obricata"): with nothing else asked, a closing."""
    return any(_sounds_like(w, _THANKS_WORDS) for w in _words(text))


def asks_for_person(text: str) -> bool:
    """A person is named (atendente, pessoa, operador, human…), garbled or not."""
    return bool(HUMAN.search(fold(text))) or any(_sounds_like(w, _HUMAN_WORDS) for w in _words(text))


def asks_for_transfer(text: str) -> bool:
    """A transfer verb (falar com, me passa, transferir…), or a garbled transfer/encaminhar."""
    return bool(TRANSFER_VERB.search(fold(text))) or any(_sounds_like(w, _TRANSFER_WORDS) for w in _words(text))


def is_yes(text: str) -> bool:
    """A yes at the start of the answer (sim, pode, claro, yes…), garbled or not."""
    if YES.search(fold(text)):
        return True
    words = _words(text)
    return bool(words) and _sounds_like(words[0], _YES_WORDS) and not is_no(text)


def is_no(text: str) -> bool:
    """A no at the start of the answer (não, no, nope)."""
    if NO.search(fold(text)):
        return True
    words = _words(text)
    return bool(words) and _sounds_like(words[0], _NO_WORDS)
