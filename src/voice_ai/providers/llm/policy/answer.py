"""Answer selection for the dialog policy: the sentence of the retrieved passages that answers the question.

A question's *type* (a price, hours, an address, a duration, a date, a phone, an e-mail, payment means) is read
from its wording; a sentence that has that kind of content (an amount, times and days, a street, ...) is preferred
to one that merely repeats the question's words. The answer is always the documents' own text: one sentence, or
two joined when the answer spans them (the question asks for two things, or the next sentence goes on with the
same subject). Markdown and list markers are stripped; the spoken rendering (amounts, times, phone numbers) is
:mod:`voice_ai.conversation.spoken`'s, right before speech.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches

from voice_ai.providers.llm.text import fold, same_word, tokens
from voice_ai.providers.types import Passage

MAX_ANSWER_CHARS = 280
MAX_PASSAGES = 4
TYPE_WEIGHT = 0.5  # in ranking: having the asked kind of content weighs half of covering all that is asked about
MISSPELT_SIMILARITY = 0.8  # difflib ratio: "orario"/"horario" 0.92, "contigo"/"contato" 0.71
Similarity = Callable[[str, list[str]], Awaitable[list[float]]]


@dataclass(frozen=True)
class AnswerType:
    """``ask``: how a question asks for it; ``looks``: what such an answer contains; ``topic``: heading words of a
    section about it (all on accent-folded text); ``what``: how a confirmation names it (pt, en)."""

    name: str
    ask: re.Pattern[str]
    looks: re.Pattern[str]
    topic: re.Pattern[str]
    what: tuple[str, str]
    strong: re.Pattern[str] | None = None  # the most telling content (clock times for hours), counted again


_DAYS = r"segunda(?! via)|terca|quarta|quinta|sexta|sabados?|domingos?|feriados?|monday|tuesday|wednesday|thursday|friday|saturdays?|sundays?|holidays?"
_MONTHS = r"janeiro|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro"
ANSWER_TYPES = (
    AnswerType(
        "address",
        re.compile(r"\b(onde fica\w*|onde|endereco|localiza\w*|como chego|como chegar|where|address|located)\b"),
        re.compile(
            r"\b(rua|avenida|av|alameda|travessa|rodovia|estrada|praca|cep|bairro|sala|andar|bloco|edificio|predio|"
            r"quadra|esquina|shopping|km|street|road|avenue|suite|floor|building|block|corner)\b|\d{5}-\d{3}"
        ),
        re.compile(
            r"\b(endereco|localizacao|local|contato|como chegar|onde (estamos|ficamos|fica)|address|location|contact|"
            r"where we are|directions)\b"
        ),
        ("o endereço", "the address"),
    ),
    AnswerType(
        "price",
        re.compile(
            r"\b(quanto custa\w*|quanto sai|quanto fica|quanto e|quanto ta|quanto esta|quanto vale|quanto pag\w*|"
            r"quanto cobra\w*|custa\w*|cobra\w*|valor\w*|preco\w*|"
            r"how much|price|cost|costs|fee|fees|charge)\b"
        ),
        re.compile(r"r\$\s*\d|\$\s*\d|\breais\b|\bdollars?\b|\d+,\d{2}\b|\bgratuit\w*|\bgratis\b|\bfree\b"),
        re.compile(r"\b(preco|precos|valor|valores|tabela|custo|custos|servicos e precos|prices?|fees|pricing)\b"),
        ("o valor", "the price"),
    ),
    AnswerType(
        "duration",
        re.compile(r"\b(quanto tempo|demora\w*|prazo|leva|levam|em quantos dias|how long|how many days)\b"),
        re.compile(
            r"\b\d+\s*(dias?|horas?|semanas?|meses|minutos?|sessoes|sessao|etapas?|days?|hours?|weeks?|months?|"
            r"minutes?|sessions?)\b"
        ),
        re.compile(r"\b(prazo|prazos|tempo|duracao|deadline|time)\b"),
        ("o prazo", "how long it takes"),
    ),
    AnswerType(
        "hours",
        re.compile(
            r"\b(horario\w*|que horas|abre|abrem|aberto|abertos|fecha|fecham|fechado|funcionamento|funciona|funcionam|atende|"
            r"atendem|durante a semana|na semana|dias? de semana|dias? ute?is|fim de semana|finais de semana|"
            r"expediente|hours|open|opens|close|closes|closed)\b"
        ),
        re.compile(rf"\b\d{{1,2}}\s*h(\d{{2}})?\b|\b\d{{1,2}}:\d{{2}}\b|\b\d{{1,2}}\s*(am|pm)\b|\b({_DAYS})\b"),
        re.compile(r"\b(horario|horarios|funcionamento|atendimento|expediente|hours|opening)\b"),
        ("o horário", "the opening hours"),
        re.compile(r"\b\d{1,2}\s*h(\d{2})?\b|\b\d{1,2}:\d{2}\b|\b\d{1,2}\s*(am|pm)\b"),
    ),
    AnswerType(
        "date",
        re.compile(r"\b(quando|que dia|qual dia|qual a data|vence\w*|vencimento|data|when|what day|due|deadline)\b"),
        re.compile(rf"\bdia \d{{1,2}}\b|\b\d{{1,2}} de ({_MONTHS})\b|\b\d{{1,2}}/\d{{1,2}}\b|\b(every|on the) \d"),
        re.compile(r"\b(data|datas|vencimento|calendario|prazo|dates?|due)\b"),
        ("a data", "the date"),
    ),
    AnswerType(
        "phone",
        re.compile(r"\b(telefone|fone|whatsapp|celular|numero|ligar|contato|phone|number|call)\b"),
        re.compile(r"\(\d{2}\)\s*\d|\b\d{4,5}-\d{4}\b|\b0800\b|\+\d{2}"),
        re.compile(r"\b(contato|telefone|telefones|contact|phone)\b"),
        ("o telefone", "the phone number"),
    ),
    AnswerType(
        "email",
        re.compile(r"\b(e ?-?mail|email|correio eletronico)\b"),
        re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
        re.compile(r"\b(contato|contact|e-?mail)\b"),
        ("o e-mail", "the e-mail address"),
    ),
    AnswerType(
        "payment",
        re.compile(
            r"\b(pagar|pago|pagamento\w*|aceita\w*|parcela\w*|parcelar|forma de pagamento|formas de pagamento|pay|"
            r"payment|accept|accepts)\b"
        ),
        re.compile(
            r"\b(pix|boleto|cartao|cartoes|credito|debito|dinheiro|especie|transferencia|parcela\w*|vezes|cheque|"
            r"cash|card|cards|credit|debit|installments?|check)\b"
        ),
        re.compile(r"\b(pagamento|pagamentos|payment|payments)\b"),
        ("as formas de pagamento", "the payment options"),
    ),
)
_TYPES = {t.name: t for t in ANSWER_TYPES}
_WEEKDAYS_ASKED = re.compile(r"\b(durante a semana|na semana|dias? de semana|dias? ute?is|weekdays?|during the week)\b")
_WEEKDAY = re.compile(r"\b(segunda(?! via)|terca|quarta|quinta|sexta|monday|tuesday|wednesday|thursday|friday)\b")
WEEKDAY_BONUS = 0.2
# a next sentence that goes on with the same subject
_CONTINUES = re.compile(
    r"^(depois|apos|alem disso|tambem|porem|mas|no entanto|entretanto|contudo|nesse caso|neste caso|nesses casos|"
    r"nestes casos|para isso|caso contrario|exceto|isso|esse|essa|esses|essas|este|esta|ele|ela|eles|elas|o mesmo|"
    r"a mesma|however|but|also|this|these|it|they|after that|otherwise|except|in that case)\b"
)
# words of asking itself, not of what is asked, and of the business itself: never "a word the documents lack"
_FILLER = frozenset(
    tokens(
        "saber sabe informacao informacoes informar duvida duvidas pergunta perguntar consultar dizer diga "
        "gente senhor senhora moco moca know tell information question ask "
        # the business itself: "onde fica o escritório?" asks for the address wherever the word is written
        "escritorio loja sede consultorio estabelecimento lugar office store shop place premises"
    )
)
_ABBREVIATION = re.compile(
    r"\b(av|dr|dra|sr|sra|srs|prof|profa|n|no|nº|tel|cel|ltda|st|mr|mrs|ms|vol|p|pg|ex)\.$", re.I
)
_MARKUP = re.compile(r"^\s*(#+|[-*•+]|\d+[.)])\s+")
_EMPHASIS = re.compile(r"\*\*|__|`|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class _Candidate:
    sentence: str
    heading: str
    passage: int
    section: int  # sentences under the same heading of the same passage share it
    position: int
    tokens: list[str]  # the heading's and the sentence's
    own: list[str]  # the sentence's only
    kinds: dict[str, int] = field(default_factory=dict)  # answer type → how many such things it contains


@dataclass(frozen=True)
class Answer:
    """The best answer found. ``text``: the documents' sentence (or two); ``coverage``: the share (0..1) of the
    question that it covers — the question's words weighted by rarity, plus its asked type when it has one;
    ``solid``: good enough to say without asking (see :func:`find_answer`); ``topic``: what it is about, for a
    confirmation (the section's heading, else the matched words); ``kind``: the answer type it satisfies."""

    text: str
    coverage: float
    solid: bool
    topic: str
    kind: str | None
    heading: str
    grounded: bool  # the question names nothing the passages lack, or the sentence covers one of its own words
    misspelt: bool = False  # a word the passages lack looks like one they have ("orário"): a weak reading


def clean(line: str) -> str:
    """A document line without Markdown: list markers, headings' hashes, emphasis, links (their text stays)."""
    line = _LINK.sub(r"\1", line)
    line = _MARKUP.sub("", line)
    return re.sub(r"\s+", " ", _EMPHASIS.sub("", line)).strip()


def _split(paragraph: str) -> list[str]:
    pieces = re.split(r"(?<=[.!?])\s+(?=[A-ZÁÉÍÓÚÂÊÔÃÕÇ0-9(\"“])", paragraph)
    out: list[str] = []
    for piece in pieces:
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"  # "Av. Brasil" is no sentence end
        else:
            out.append(piece)
    return [p.strip() for p in out if len(p.strip()) > 3]


def sections(passage: Passage) -> list[tuple[str, list[str]]]:
    """(heading, sentences) of a passage, in order. Consecutive text lines form a paragraph (a sentence may break
    across lines); each list item stands alone; a Markdown heading starts a section (``A > B`` headings of
    retrieved chunks count by their last part)."""
    out: list[tuple[str, list[str]]] = []
    heading = ""
    paragraph: list[str] = []
    sentences: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            sentences.extend(_split(" ".join(paragraph)))
            paragraph.clear()

    for raw in passage.content.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#"):
            flush_paragraph()
            if sentences:
                out.append((heading, list(sentences)))
                sentences.clear()
            heading = stripped.strip("# \t").split(">")[-1].strip()
            continue
        if not stripped:
            flush_paragraph()
            continue
        if _MARKUP.match(raw) and not stripped.startswith("#"):
            flush_paragraph()
            sentences.extend(_split(clean(raw)))
            continue
        paragraph.append(clean(raw))
    flush_paragraph()
    if sentences:
        out.append((heading, list(sentences)))
    return out


def topics(passages: Sequence[Passage], *, exclude: Sequence[str] = ()) -> list[str]:
    """The distinct section headings of the passages, in their order (the closest topics first)."""
    seen = {fold(e) for e in exclude}
    out: list[str] = []
    for passage in passages:
        for heading, _ in sections(passage):
            if heading and fold(heading) not in seen:
                seen.add(fold(heading))
                out.append(heading)
    return out


def wanted_types(folded: str) -> list[AnswerType]:
    return [t for t in ANSWER_TYPES if t.ask.search(folded)]


def _candidates(passages: Sequence[Passage]) -> list[_Candidate]:
    out: list[_Candidate] = []
    section = 0
    for index, passage in enumerate(passages[:MAX_PASSAGES]):
        for heading, sentences in sections(passage):
            section += 1
            for sentence in sentences:
                folded = fold(sentence)
                kinds = {t.name: _evidence(t, folded) for t in ANSWER_TYPES if t.looks.search(folded)}
                own = tokens(sentence)
                out.append(_Candidate(sentence, heading, index, section, len(out), tokens(heading) + own, own, kinds))
    return out


def _evidence(kind: AnswerType, folded: str) -> int:
    """How much of the kind's content a sentence has: its matches (at most 3) and the strong ones (at most 2)."""
    strong = len(kind.strong.findall(folded)) if kind.strong else 0
    return min(len(kind.looks.findall(folded)), 3) + min(strong, 2)


def _covers(words: Sequence[str], have: Sequence[str]) -> set[str]:
    return {w for w in words if any(same_word(w, t) for t in have)}


async def find_answer(
    text: str,
    words: list[str],
    passages: Sequence[Passage],
    *,
    similarity: Similarity | None,
    semantic_weight: float,
    answer_threshold: float,
    focus: Sequence[str] = (),
    within: str | None = None,
    company: str | None = None,
) -> Answer | None:
    """The sentence of the retrieved passages that best answers ``text`` (``words``: its content tokens).

    Ranking: the coverage of what the question is about (its words beyond those that ask for a kind of answer;
    rarer words weigh more; the heading counts as context), then the question's answer type (a "where" wants a
    sentence with an address, ``TYPE_WEIGHT``) and, with an embeddings provider attached, semantic similarity.
    "Vocês cobram juros?" → the payment sentence with "sem juros", not another price. ``focus``: words one of which the
    answer should cover when any sentence does (the new words of a follow-up); ``within``: a section heading to
    prefer (a confirmed topic); ``company``: the company's name, whose words name the business itself ("o e-mail da
    clínica") rather than what is asked about.

    ``solid`` when the coverage reaches ``answer_threshold``, or when the sentence has the asked type of content
    and the question names nothing the passages lack while the sentence covers one of its specific words or sits
    in a section about that type ("Onde fica o escritório?" → the street under "Endereço e contato"). A question
    with words the passages lack ("Quanto custa um carro?") is never solid on its type alone. None when no
    sentence covers anything.
    """
    if not words or not passages:
        return None
    candidates = _candidates(passages)
    if not candidates:
        return None
    document_freq = Counter(w for c in candidates for w in set(c.tokens))
    idf = {w: math.log(1 + len(candidates) / n) for w, n in document_freq.items()}
    unseen = math.log(1 + len(candidates))

    def weight(word: str) -> float:
        return max((v for w, v in idf.items() if same_word(word, w)), default=unseen)

    folded = fold(text)
    wanted = wanted_types(folded)
    cue_words = {w for t in wanted for m in t.ask.finditer(folded) for w in tokens(m.group(0))}
    unique = list(dict.fromkeys(words))
    specific = [w for w in unique if w not in cue_words]
    vocabulary = {t for c in candidates for t in c.tokens}
    filler = _FILLER | set(tokens(company or ""))
    unknown = [w for w in specific if w not in filler and not any(same_word(w, t) for t in vocabulary)]
    pool = candidates
    if within:
        inside = [c for c in pool if fold(c.heading) == fold(within)]
        pool = inside or pool
    if focus:
        focused = [c for c in pool if _covers(focus, c.tokens)]
        pool = focused or pool
    semantic = [0.0] * len(pool)
    if similarity is not None and semantic_weight > 0 and len(pool) > 1:
        semantic = await similarity(text, [f"{c.heading}: {c.sentence}" for c in pool])
    type_weight = sum(weight(w) for w in unique) / len(unique) if wanted else 0.0
    total = sum(weight(w) for w in unique) + type_weight or 1.0
    asked = [w for w in specific if w not in filler]  # what the question is about, beyond what kind of answer
    asked_total = sum(weight(w) for w in asked)
    weekdays = bool(_WEEKDAYS_ASKED.search(folded))  # "durante a semana": Monday to Friday, not the weekend
    scored = []
    for c, sim in zip(pool, semantic, strict=True):
        hits = sum(c.kinds.get(t.name, 0) for t in wanted)
        covered = (sum(weight(w) for w in _covers(unique, c.tokens)) + (type_weight if hits else 0.0)) / total
        about = sum(weight(w) for w in _covers(asked, c.tokens)) / asked_total if asked_total else 0.0
        on_topic = any(t.topic.search(fold(c.heading)) for t in wanted)
        rank = (
            about
            + (TYPE_WEIGHT if hits else 0.0)
            + hits * 0.1
            + (0.1 if on_topic else 0.0)
            + (WEEKDAY_BONUS if weekdays and _WEEKDAY.search(fold(c.sentence)) else 0.0)
            + semantic_weight * sim / 10
        )
        scored.append((rank, covered, -c.passage, -c.position, c))
    scored.sort(key=lambda s: s[:4], reverse=True)
    _, covered, _, _, best = scored[0]
    if covered <= 0:
        return None
    kind = next((t.name for t in wanted if best.kinds.get(t.name)), None)
    covers_specific = bool(_covers(specific, best.tokens))
    on_topic = any(t.topic.search(fold(best.heading)) for t in wanted if best.kinds.get(t.name))
    grounded = not unknown or covers_specific
    solid = grounded and (covered >= answer_threshold or (kind is not None and (covers_specific or on_topic)))
    text_out = _join(best, candidates, unique, specific, wanted)
    topic = best.heading or " ".join(_surface(best.sentence, unique))
    misspelt = any(get_close_matches(w, list(vocabulary), n=1, cutoff=MISSPELT_SIMILARITY) for w in unknown)
    return Answer(_shorten(text_out), round(covered, 3), solid, topic, kind, best.heading, grounded, misspelt)


def _join(
    best: _Candidate, candidates: list[_Candidate], words: list[str], specific: list[str], wanted: list[AnswerType]
) -> str:
    """The best sentence, and a second when the answer spans two: the question asks for two types and another
    sentence has the one the best lacks, or the next sentence of the same section continues it (a connective, or
    the question's words the best one lacks)."""
    missing = [t for t in wanted if not best.kinds.get(t.name)]
    if missing and best.kinds:
        others = [
            c
            for c in candidates
            if c is not best
            and any(
                c.kinds.get(t.name) and (t.topic.search(fold(c.heading)) or _covers(specific, c.own)) for t in missing
            )
        ]
        if others:
            other = max(others, key=lambda c: (len(_covers(words, c.tokens)), c.section == best.section, -c.position))
            first, second = sorted((best, other), key=lambda c: c.position)
            return f"{first.sentence} {second.sentence}"
    after = next((c for c in candidates if c.position == best.position + 1 and c.section == best.section), None)
    if after is not None and len(best.sentence) + len(after.sentence) < MAX_ANSWER_CHARS:
        extra = _covers(words, after.own) - _covers(words, best.own)
        if _CONTINUES.match(fold(after.sentence)) or (extra and _covers(words, best.own)):
            return f"{best.sentence} {after.sentence}"
    return best.sentence


def _surface(sentence: str, words: Sequence[str]) -> list[str]:
    """The sentence's own spelling of the question's words it contains (for a topic without a heading)."""
    out: list[str] = []
    for raw in re.findall(r"[\wÀ-ÿ-]+", sentence):
        folded = tokens(raw)
        if folded and any(same_word(folded[0], w) for w in words) and raw not in out:
            out.append(raw)
    return out[:3]


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_ANSWER_CHARS else text[:MAX_ANSWER_CHARS].rsplit(" ", 1)[0] + "…"


def confirmation_topic(answer: Answer, language: str) -> str:
    """How a confirmation names what the caller seems to ask (after "Você quer saber"): the type's noun and the
    section ("o valor de contabilidade mensal para empresas"), or "sobre" and the section when the section already
    names the type ("sobre horário de atendimento"). Generic and gender-neutral: built from the tenant's own heading
    or, without one, the matched words."""
    en = language == "en"
    kind = _TYPES.get(answer.kind or "")
    topic = _lower_first(answer.topic)
    about = "about" if en else "sobre"
    if kind is None:
        return f"{about} {topic}"
    what = kind.what[1 if en else 0]
    if not topic:
        return what
    if kind.topic.search(fold(topic)):
        return f"{about} {topic}"
    return f"{what} {'for' if en else 'de'} {topic}"


def _lower_first(text: str) -> str:
    first, _, rest = text.partition(" ")
    if first and not first.isupper() and first[:1].isupper() and first[1:] == first[1:].lower():
        first = first.lower()
    return f"{first} {rest}".strip()
