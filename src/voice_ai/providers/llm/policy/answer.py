"""Answer selection for the dialog policy: the sentence of the retrieved passages that answers the question."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from voice_ai.providers.llm.text import fold, same_word, tokens
from voice_ai.providers.types import Passage

MAX_ANSWER_CHARS = 280
Similarity = Callable[[str, list[str]], Awaitable[list[float]]]

# (what the question asks for, what such an answer looks like), on accent-folded text
ANSWER_TYPES = [
    (
        re.compile(r"\b(onde|endereco|localiza\w*|where|address|located)\b"),
        re.compile(
            r"\b(rua|avenida|av|alameda|travessa|rodovia|praca|cep|bairro|sala|street|road|avenue|suite)\b|\d{5}-\d{3}"
        ),
    ),
    (
        re.compile(r"\b(quanto custa|custa|valor|preco|how much|price|cost)\b"),
        re.compile(r"r\$\s*\d|\$\s*\d|\breais\b|\d+,\d{2}\b"),
    ),
    (
        re.compile(r"\b(quanto tempo|demora|prazo|leva|how long)\b"),
        re.compile(r"\b\d+\s*(dias?|horas?|semanas?|meses|minutos?|days?|hours?|weeks?|months?)\b"),
    ),
    (
        re.compile(r"\b(horario|que horas|abre|abrem|funciona\w*|atende\w*|hours|open)\b"),
        re.compile(
            r"\b\d{1,2}\s*h\b|\b\d{1,2}:\d{2}\b|\b(segunda|terca|quarta|quinta|sexta|sabados?|domingos?|feriados?|monday|friday|saturday|sunday)\b"
        ),
    ),
    (
        re.compile(r"\b(telefone|whatsapp|numero|phone)\b"),
        re.compile(r"\(\d{2}\)\s*\d|\d{4,5}-\d{4}"),
    ),
]


@dataclass(frozen=True)
class _Candidate:
    sentence: str
    heading: str
    passage: int
    position: int
    tokens: list[str]


_MARKUP = re.compile(r"^\s*(#+|[-*•]|\d+[.)])\s*|\*\*|__|`")


def _sentences(passage: Passage, index: int) -> list[_Candidate]:
    """Sentences of a passage; Markdown headings become the context of the sentences under them."""
    out: list[_Candidate] = []
    heading = ""
    for raw in passage.content.splitlines():
        if raw.lstrip().startswith("#"):
            heading = raw.strip("# \t")
            continue
        line = _MARKUP.sub("", raw).strip()
        if not line:
            continue
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-ZÁÉÍÓÚÂÊÔÃÕÇ0-9])", line):
            sentence = sentence.strip()
            if len(sentence) > 3:
                out.append(_Candidate(sentence, heading, index, len(out), tokens(f"{heading} {sentence}")))
    return out


async def best_answer(
    text: str,
    words: list[str],
    passages: Any,
    *,
    similarity: Similarity | None,
    answer_threshold: float,
    semantic_weight: float,
) -> str | None:
    """The sentence of the retrieved passages that best answers: word coverage (the heading counts as
    context), the expected kind of answer (a place, a price, a duration, a time, a phone number) and,
    with an embeddings provider attached, semantic similarity."""
    if not words or not passages:
        return None
    candidates = [c for index, p in enumerate(passages[:3]) for c in _sentences(p, index)]
    if not candidates:
        return None
    document_freq = Counter(w for c in candidates for w in set(c.tokens))
    idf = {w: math.log(1 + len(candidates) / n) for w, n in document_freq.items()}

    def weight(word: str) -> float:
        return max((v for w, v in idf.items() if same_word(word, w)), default=math.log(1 + len(candidates)))

    folded = fold(text)
    wanted_types = [kind for ask, kind in ANSWER_TYPES if ask.search(folded)]
    typed = {id(c): sum(len(kind.findall(fold(c.sentence))) for kind in wanted_types) for c in candidates}
    if wanted_types and any(typed.values()):
        candidates = [c for c in candidates if typed[id(c)]]  # a "where" wants an address, not any sentence
    semantic = [0.0] * len(candidates)
    if similarity is not None and semantic_weight > 0 and len(candidates) > 1:
        semantic = await similarity(text, [f"{c.heading}: {c.sentence}" for c in candidates])
    total = sum(weight(w) for w in set(words)) or 1.0
    scored = []
    for c, sim in zip(candidates, semantic, strict=True):
        covered = sum(weight(w) for w in set(words) if any(same_word(w, t) for t in c.tokens)) / total
        bonus = min(typed[id(c)], 3) * 0.1 + semantic_weight * sim / 10
        scored.append((covered + bonus, covered, -c.passage, -c.position, c.sentence))
    scored.sort(reverse=True)
    _, covered, _, _, best = scored[0]
    if covered < answer_threshold and not (wanted_types and typed and covered > 0):
        return None
    return best[:MAX_ANSWER_CHARS].rsplit(" ", 1)[0] + "…" if len(best) > MAX_ANSWER_CHARS else best
