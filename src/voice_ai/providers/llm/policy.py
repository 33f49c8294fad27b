"""The built-in dialog policy: a rule-based "LLM" that needs no model, no key and no network.

It answers from the best retrieved passage (sentence extraction), routes to the tenant's transfer targets
(keywords plus, when an embeddings provider is attached, semantic similarity), recognises goodbyes, and says
plainly when it does not know — offering a transfer. It is the offline default and, later, the fast path
in front of a real LLM. It always returns the structured decision of ``decision.DECISION_SCHEMA``.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from voice_ai.providers.base import EmbeddingsProvider, LLMProvider, ProviderSettings, timeout_field
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.text import contains_phrase, fold, same_word, tokens
from voice_ai.providers.types import Capabilities, ChatMessage, ChatResult, DialogContext, Passage, TransferTarget

logger = logging.getLogger(__name__)
GOODBYE = re.compile(
    r"\b(tchau|xau|ate logo|ate mais|ate a proxima|adeus|so isso|era isso|era so|e so isso|nada mais|mais nada|"
    r"pode desligar|bye|goodbye|that'?s all|nothing else|hang up)\b"
)
HUMAN = re.compile(
    r"\b(atendente|pessoa|humano|alguem|operador|operadora|recepcao|agent|human|person|operator|someone)\b"
)
TRANSFER_VERB = re.compile(
    r"\b(falar com|fala com|transfer\w*|passar para|passa para|me passa|me passe|me coloca|ligar para|"
    r"encaminh\w*|conversar com|talk to|speak to|speak with|connect me|put me through)\b"
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

PHRASES = {
    "pt": {
        "transfer": "Certo, vou transferir sua ligação para {department}. Um momento, por favor.",
        "operator": "Certo, vou transferir sua ligação para um atendente. Um momento, por favor.",
        "goodbye": "Eu que agradeço a ligação. Até logo!",
        "unknown": "Desculpe, não tenho essa informação. Posso transferir você para {department}?",
        "unknown_operator": "Desculpe, não tenho essa informação. Quer que eu transfira para um atendente?",
        "empty": "Desculpe, não entendi. Pode repetir, por favor?",
        "declined": "Tudo bem. Posso ajudar com mais alguma coisa?",
        "offer_re": r"[Pp]osso transferir você para (.+?)\?",
        "offer_operator_re": r"transfira para um atendente\?",
    },
    "en": {
        "transfer": "Sure, I'll transfer your call to {department}. One moment, please.",
        "operator": "Sure, I'll transfer your call to an attendant. One moment, please.",
        "goodbye": "Thank you for calling. Goodbye!",
        "unknown": "Sorry, I don't have that information. Can I transfer you to {department}?",
        "unknown_operator": "Sorry, I don't have that information. Would you like me to transfer you to an attendant?",
        "empty": "Sorry, I didn't catch that. Could you repeat, please?",
        "declined": "All right. Can I help with anything else?",
        "offer_re": r"[Cc]an I transfer you to (.+?)\?",
        "offer_operator_re": r"transfer you to an attendant\?",
    },
}
MAX_ANSWER_CHARS = 280
NO_OFFER: Any = object()  # the previous turn offered no transfer


@dataclass(frozen=True)
class _Match:
    target: TransferTarget
    score: float
    margin: float  # lead over the second-best target


class PolicySettings(ProviderSettings):
    answer_threshold: float = Field(
        default=0.34, ge=0, le=1, description="Share of the question's words a passage must cover to answer"
    )
    transfer_threshold: float = Field(default=1.0, ge=0, description="Keyword score that routes a request")
    semantic_weight: float = Field(default=2.0, ge=0, description="Weight of embedding similarity in routing")
    timeout_s: float = timeout_field(10.0)


class DialogPolicyLLM(LLMProvider):
    name = "policy"
    display_name = "Built-in dialog policy (offline)"
    description = "Answers from the documents and routes by the transfer rules without any model."
    Settings = PolicySettings
    capabilities = Capabilities(offline=True, structured_output=True, languages=("pt-BR", "en-US"))
    settings: PolicySettings
    embedder: EmbeddingsProvider | None = None  # attached by the provider manager when the tenant has one
    _vectors: dict[str, list[float]]

    def __init__(self, settings: ProviderSettings, *, label: str | None = None) -> None:
        super().__init__(settings, label=label)
        self._vectors = {}

    def attach_embedder(self, embedder: EmbeddingsProvider | None) -> None:
        if embedder is not self.embedder:
            self._vectors = {}
        self.embedder = embedder

    async def _chat_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any] | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        context = context or DialogContext()
        lang = "en" if context.language.lower().startswith("en") else "pt"
        decision = await self._decide(messages, context, PHRASES[lang])
        return ChatResult(decision["response"], decision)

    async def _decide(self, messages: list[ChatMessage], context: DialogContext, say: dict[str, str]) -> dict[str, Any]:
        user = next((m.content for m in reversed(messages) if m.role == "user"), "").strip()
        folded = fold(user)
        words = tokens(user)
        if not words and not GOODBYE.search(folded) and not YES.search(folded):
            return _decision(say["empty"], "continue")

        offered = self._pending_offer(messages, context, say)
        if offered is not NO_OFFER and YES.search(folded) and not TRANSFER_VERB.search(folded):
            return _transfer(offered, say)  # None: the operator was offered
        if offered is not NO_OFFER and NO.search(folded):
            return _decision(say["declined"], "continue")

        explicit = bool(TRANSFER_VERB.search(folded))
        match = await self._route(user, words, context.transfer_targets)
        if GOODBYE.search(folded) and not explicit:
            return _decision(say["goodbye"], "hangup")
        if explicit:
            if match is not None and match.score >= self.settings.transfer_threshold / 2:
                return _transfer(match.target, say)
            if HUMAN.search(folded) or match is None:
                return _transfer(None, say)
            return _transfer(match.target, say)

        is_question = bool(QUESTION_START.search(folded)) or (
            bool(QUESTION.search(folded)) and not REQUEST.search(folded)
        )
        threshold = self.settings.transfer_threshold
        if (
            not is_question
            and match is not None
            and (match.score >= threshold or (match.score >= 0.75 * threshold and match.margin >= 0.3 * threshold))
        ):
            return _transfer(match.target, say)
        answer = await self._answer(user, words, context.passages)
        if answer:
            return _decision(answer, "continue")
        if match is not None and match.score >= self.settings.transfer_threshold:
            return _decision(say["unknown"].format(department=match.target.department), "continue")
        return _decision(say["unknown_operator"], "continue")

    @staticmethod
    def _pending_offer(messages: list[ChatMessage], context: DialogContext, say: dict[str, str]) -> Any:
        """The transfer offered in the previous assistant turn: a target, ``None`` for the operator, or
        ``NO_OFFER`` when nothing was offered."""
        last = next((m.content for m in reversed(messages) if m.role == "assistant"), "")
        if re.search(say["offer_operator_re"], last):
            return None
        found = re.search(say["offer_re"], last)
        if found:
            wanted = fold(found.group(1))
            for target in context.transfer_targets:
                if fold(target.department) == wanted:
                    return target
        return NO_OFFER

    async def _route(self, text: str, words: list[str], targets: Any) -> _Match | None:
        if not targets:
            return None
        scores = []
        for target in targets:
            score = 0.0
            if contains_phrase(words, target.department):
                score += 1.5
            phrases = list(target.keywords) or [p for p in re.split(r"[,;]", target.description) if p.strip()]
            for phrase in phrases:
                wanted = tokens(phrase)
                if not wanted:
                    continue
                hit = sum(any(same_word(w, t) for t in words) for w in wanted) / len(wanted)
                if hit == 1:
                    score += 1.0 + 0.25 * (len(wanted) - 1)
                elif hit >= 0.5:
                    score += hit / 2
            scores.append(score)
        if self.embedder is not None and self.settings.semantic_weight > 0:
            similarity = await self._similarity(text, [_describe(t) for t in targets])
            scores = [s + self.settings.semantic_weight * sim for s, sim in zip(scores, similarity, strict=True)]
        order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
        best, runner_up = order[0], (scores[order[1]] if len(order) > 1 else 0.0)
        return _Match(targets[best], scores[best], scores[best] - runner_up) if scores[best] > 0 else None

    async def _similarity(self, text: str, candidates: list[str]) -> list[float]:
        """How far each candidate's cosine similarity to ``text`` lies above the candidates' mean, scaled:
        e5 similarities sit in a narrow band (~0.75-0.9), so only the relative position carries meaning.
        Candidate vectors (rules, sentences) are cached: they repeat on every turn of every call."""
        assert self.embedder is not None
        try:
            query = await self.embedder.embed([text], kind="query")
            missing = [c for c in dict.fromkeys(candidates) if c not in self._vectors]
            fresh = await self.embedder.embed(missing, kind="passage") if missing else None
        except ProviderError as exc:  # the offline policy must not fail because an embeddings vendor did
            logger.warning("policy: embeddings unavailable (%s), routing by keywords only", exc)
            return [0.0] * len(candidates)
        if fresh is not None:
            if len(self._vectors) + len(missing) > VECTOR_CACHE_SIZE:
                self._vectors.clear()
            self._vectors.update(zip(missing, fresh.vectors, strict=True))
        q = query.vectors[0]
        sims = [sum(a * b for a, b in zip(q, self._vectors[c], strict=True)) for c in candidates]
        mean = sum(sims) / len(sims)
        return [max(0.0, s - mean) * SEMANTIC_SCALE for s in sims]

    async def _answer(self, text: str, words: list[str], passages: Any) -> str | None:
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
        if self.embedder is not None and self.settings.semantic_weight > 0 and len(candidates) > 1:
            semantic = await self._similarity(text, [f"{c.heading}: {c.sentence}" for c in candidates])
        total = sum(weight(w) for w in set(words)) or 1.0
        scored = []
        for c, sim in zip(candidates, semantic, strict=True):
            covered = sum(weight(w) for w in set(words) if any(same_word(w, t) for t in c.tokens)) / total
            bonus = min(typed[id(c)], 3) * 0.1 + self.settings.semantic_weight * sim / 10
            scored.append((covered + bonus, covered, -c.passage, -c.position, c.sentence))
        scored.sort(reverse=True)
        _, covered, _, _, best = scored[0]
        if covered < self.settings.answer_threshold and not (wanted_types and typed and covered > 0):
            return None
        return best[:MAX_ANSWER_CHARS].rsplit(" ", 1)[0] + "…" if len(best) > MAX_ANSWER_CHARS else best


SEMANTIC_SCALE = 25.0
VECTOR_CACHE_SIZE = 4096
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


def _describe(target: TransferTarget) -> str:
    return f"{target.department}: {target.description} {' '.join(target.keywords)}".strip()


def _decision(response: str, action: str, department: str | None = None) -> dict[str, Any]:
    return {"response": response, "action": action, "department": department}


def _transfer(target: TransferTarget | None, say: dict[str, str]) -> dict[str, Any]:
    if target is None:
        return _decision(say["operator"], "transfer", None)
    return _decision(say["transfer"].format(department=target.department), "transfer", target.department)
