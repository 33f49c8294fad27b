"""The built-in dialog policy: a rule-based "LLM" that needs no model, no key and no network.

It answers from the retrieved passages (the sentence that answers the question's type, :mod:`.answer`), routes to
the tenant's transfer targets (keywords plus, when an embeddings provider is attached, semantic similarity),
recognises goodbyes, and — when it is not sure what the caller asked — does what a good receptionist does instead
of giving up: it confirms the likely meaning ("Só para confirmar: você quer saber o valor de …?") or offers the
closest topics ("Posso ajudar com formas de pagamento, abertura de empresa ou horário de atendimento. Qual
deles?"). It says "não tenho essa informação" only when nothing in the passages relates to the question. It is the
offline default and, later, the fast path in front of a real LLM. It always returns the structured decision of
``decision.DECISION_SCHEMA``; every answer is the documents' own text (one sentence, or two joined).

The dialogue's state is the conversation history: the previous assistant message is read back (a transfer
offer, a confirmation, a choice of topics — the ``*_re`` of :mod:`.phrases`). A yes to a confirmation answers the
question asked before it, within the confirmed section (``conversation.followup`` made that turn's retrieval use
that question and the topic); a no offers the other close topics, or a person.

When to answer, confirm or offer (``PolicySettings``), measured on the evaluation company
(``shared/eval/contabilidade-exata``, real retrieval with e5; 18 in-domain questions, 16 with typical recognition
errors — "quanto curta a declaração", "posso pagar contigo", "menta lidar de" —, 12 out-of-domain ones):

- ``answer_threshold`` 0.34: the coverage (rarity-weighted share of the question's words, plus its asked type)
  from which an answer is *solid*; a sentence with the asked kind of content under a section about it is solid
  too. In-domain questions: all 18 solid (coverage 0.29-1.0). A question naming a word no passage has ("Quanto
  custa um carro?", "Qual o preço da gasolina?") is never solid nor, by text, confirmed: 0 of 12 out-of-domain
  questions answered but one ("vaga de emprego" ~ "empregadores", a stemming collision).
- ``confirm_coverage`` 0.25: from it a non-solid answer is confirmed instead of "não tenho essa informação"
  (the noisy readings that were not solid all had 0.33; out-of-domain ones reach 0.25-0.67 only through the type
  and are kept out by the unknown-word rule unless the reading is weak).
- ``confirm_confidence`` 0.5 and ``sure_coverage`` 0.5: a voice turn is *weak* when the recogniser's confidence
  is below 0.5 or the repaired reading (tenant terms restored) differs from the transcript; a weak turn is answered
  directly only when its answer is solid with coverage ≥ 0.5 (10 of the 18 in-domain questions), else confirmed —
  a confirmation costs a turn, a wrong answer costs the call. A weak turn with nothing to confirm gets the closest
  topics (the retrieved passages' headings, at most ``max_topics``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import Field

from voice_ai.providers.base import EmbeddingsProvider, LLMProvider, ProviderSettings, timeout_field
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.policy.answer import Answer, Similarity, confirmation_topic, find_answer, topics
from voice_ai.providers.llm.policy.intents import (
    QUESTION,
    QUESTION_START,
    REQUEST,
    asks_for_person,
    asks_for_transfer,
    is_goodbye,
    is_no,
    is_yes,
)
from voice_ai.providers.llm.policy.open_now import asks_if_open_now, open_now_reply
from voice_ai.providers.llm.policy.phrases import PHRASES
from voice_ai.providers.llm.policy.routing import keyword_score, route
from voice_ai.providers.llm.text import fold, same_word, tokens
from voice_ai.providers.types import Capabilities, ChatMessage, ChatResult, DialogContext, TransferTarget

logger = logging.getLogger(__name__)
NO_OFFER: Any = object()  # the previous turn offered no transfer
SURE_ROUTE = (
    2.0  # a weak reading routes without asking only from this many times the transfer threshold (two rule words)
)


class PolicySettings(ProviderSettings):
    answer_threshold: float = Field(
        default=0.34, ge=0, le=1, description="Share of the question's words a passage must cover to answer"
    )
    confirm_coverage: float = Field(
        default=0.25, ge=0, le=1, description="Coverage from which a weak answer is confirmed rather than not given"
    )
    sure_coverage: float = Field(
        default=0.5, ge=0, le=1, description="Coverage at which a weakly heard question is answered without confirming"
    )
    confirm_confidence: float = Field(
        default=0.5, ge=0, le=1, description="Speech recognition confidence below which an answer is confirmed first"
    )
    max_topics: int = Field(default=3, ge=1, le=5, description="Topics offered when the caller was not understood")
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
    _query: tuple[str | None, list[float]]

    def __init__(self, settings: ProviderSettings, *, label: str | None = None) -> None:
        super().__init__(settings, label=label)
        self._vectors = {}
        self._query = (None, [])

    def attach_embedder(self, embedder: EmbeddingsProvider | None) -> None:
        if embedder is not self.embedder:
            self._vectors = {}
            self._query = (None, [])
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
        users = [m.content for m in messages if m.role == "user"]
        said = (users[-1] if users else "").strip()
        heard = context.heard
        # a voice turn: the transcript with the tenant's sound-alike terms restored reads better; a reading that
        # differs from what was heard, or a recogniser unsure of it, is weak: confirm before answering
        user = heard.repaired.strip() if heard and heard.repaired and heard.repaired.strip() else said
        weak = heard is not None and (
            fold(user) != fold(said)
            or (heard.confidence is not None and heard.confidence < self.settings.confirm_confidence)
        )
        folded = fold(user)
        words = tokens(user)
        if not words and not is_goodbye(user) and not is_yes(user) and not is_no(user):
            return _decision(say["empty"], "continue")

        last = next((m.content for m in reversed(messages) if m.role == "assistant"), "")
        offered = self._pending_offer(messages, context, say)
        if offered is not NO_OFFER and is_yes(user) and not asks_for_transfer(user):
            return _transfer(offered, say)  # None: the operator was offered
        if offered is not NO_OFFER and is_no(user):
            return _decision(say["declined"], "continue")

        confirming = pending_confirmation(last)
        if confirming is not None and affirms(user) and not asks_for_transfer(user):
            asked = users[-2] if len(users) > 1 else ""
            return await self._confirmed(asked, confirming, context, say)
        if confirming is not None and denies(user) and len(words) <= SHORT_REPLY_WORDS and not is_goodbye(user):
            return self._alternatives(context, say, exclude=confirming)
        chosen = chosen_topic(user, pending_topics(last))
        department = next((t for t in context.transfer_targets if chosen and fold(t.department) == fold(chosen)), None)
        if department is not None:
            return _transfer(department, say)  # a department offered when no document topic was close
        if chosen is not None and not asks_for_transfer(user):
            found = await self._answer(f"{chosen} {user}", tokens(f"{chosen} {user}"), context, within=chosen)
            if found is not None:
                return _decision(found.text, "continue")
        if pending_topics(last) and asks_for_person(user) and len(words) <= SHORT_REPLY_WORDS:
            return _transfer(None, say)

        if not words and not is_goodbye(user):
            return _decision(say["empty"], "continue")  # a bare yes or no to nothing asked

        explicit = asks_for_transfer(user)
        match = await route(
            user,
            words,
            context.transfer_targets,
            similarity=self._similarity_or_none(),
            semantic_weight=self._weight,
            language="en" if say is PHRASES["en"] else "pt",
        )
        if is_goodbye(user) and not explicit:
            return _decision(say["goodbye"], "hangup")
        if explicit:
            if match is not None and match.score >= self.settings.transfer_threshold / 2:
                return _transfer(match.target, say)
            if asks_for_person(user) or match is None:
                return _transfer(None, say)
            return _transfer(match.target, say)

        names = [context.company_name or "", *(t.department for t in context.transfer_targets)]
        if context.opening is not None and asks_if_open_now(user, names):  # only the schedule knows what is open now
            reply = open_now_reply(user, context, say["offer"])
            if reply is not None:
                return _decision(reply, "continue")

        is_question = bool(QUESTION_START.search(folded)) or (
            bool(QUESTION.search(folded)) and not REQUEST.search(folded)
        )
        threshold = self.settings.transfer_threshold
        if (
            not is_question
            and match is not None
            and (match.score >= threshold or (match.score >= 0.75 * threshold and match.margin >= 0.3 * threshold))
        ):
            if weak and match.score < SURE_ROUTE * threshold:
                # a weak reading that merely sounds like a rule's words: ask before moving the caller (a "sim"
                # transfers, a "não" keeps the call here) — a wrong transfer is worse than one more question
                return _decision(say["offer"].format(department=match.target.department), "continue")
            return _transfer(match.target, say)
        answer = await self._answer(user, words, context, focus=followup_words(user, users[:-1], last))
        if answer is not None and answer.solid and (not weak or answer.coverage >= self.settings.sure_coverage):
            return _decision(answer.text, "continue")
        if (
            answer is not None
            and answer.coverage >= self.settings.confirm_coverage
            and (answer.solid or answer.grounded or answer.misspelt or heard is not None)
        ):
            topic = confirmation_topic(answer, "en" if say is PHRASES["en"] else "pt")
            return _decision(say["confirm"].format(topic=topic), "continue")
        if heard is not None:  # by voice, a word the documents lack is likelier misheard than asked
            near = self._near_topics(context) or self._near_departments(words, context)
            if near:
                return _decision(say["topics"].format(topics=_listed(near, say)), "continue")
        if match is not None and match.score >= self.settings.transfer_threshold:
            return _decision(say["unknown"].format(department=match.target.department), "continue")
        return _decision(say["unknown_operator"], "continue")

    async def _answer(
        self,
        text: str,
        words: list[str],
        context: DialogContext,
        *,
        focus: list[str] | None = None,
        within: str | None = None,
    ) -> Answer | None:
        return await find_answer(
            text,
            words,
            context.passages,
            similarity=self._similarity_or_none(),
            semantic_weight=self._weight,
            answer_threshold=self.settings.answer_threshold,
            focus=focus or (),
            within=within,
            company=context.company_name,
        )

    async def _confirmed(
        self, asked: str, confirmed: str, context: DialogContext, say: dict[str, str]
    ) -> dict[str, Any]:
        """The caller said yes to "você quer saber …?": the answer to the question asked before, within the
        confirmed section (the retrieval of this turn used that question and the topic: conversation.followup)."""
        headings = [h for h in topics(context.passages) if fold(h) in fold(confirmed)]
        within = max(headings, key=len) if headings else None
        text = f"{asked} {confirmed}"
        found = await self._answer(text, tokens(text), context, within=within)
        if found is not None:
            return _decision(found.text, "continue")
        return self._alternatives(context, say, exclude=confirmed)

    def _alternatives(self, context: DialogContext, say: dict[str, str], *, exclude: str) -> dict[str, Any]:
        """The caller said no to a confirmation: the closest other topics, or a person."""
        near = [t for t in self._near_topics(context) if fold(t) not in fold(exclude)]
        if near:
            return _decision(say["topics_declined"].format(topics=_listed(near, say)), "continue")
        return _decision(say["declined_confirm"], "continue")

    def _near_departments(self, words: list[str], context: DialogContext) -> list[str]:
        """The departments closest to the caller's words (keyword score, then the rules' order)."""
        order = sorted(context.transfer_targets, key=lambda t: -keyword_score(words, t))
        return [t.department for t in order[: self.settings.max_topics]]

    def _near_topics(self, context: DialogContext) -> list[str]:
        """The retrieved passages' section headings, closest first (the company's own name is no topic)."""
        company = fold(context.company_name or "")
        near = [t for t in topics(context.passages) if not company or fold(t) not in company]
        return near[: self.settings.max_topics]

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

    @property
    def _weight(self) -> float:
        return self.settings.semantic_weight

    def _similarity_or_none(self) -> Similarity | None:
        return self._similarity if self.embedder is not None and self.settings.semantic_weight > 0 else None

    async def _similarity(self, text: str, candidates: list[str]) -> list[float]:
        """How far each candidate's cosine similarity to ``text`` lies above the candidates' mean, scaled:
        e5 similarities sit in a narrow band (~0.75-0.9), so only the relative position carries meaning.
        Candidate vectors (rules, sentences) are cached: they repeat on every turn of every call."""
        assert self.embedder is not None
        try:
            known, vector = self._query  # routing and the answer compare the same words: embed them once
            if known != text:
                vector = (await self.embedder.embed([text], kind="query")).vectors[0]
                self._query = (text, vector)  # concurrent turns each keep their own ``vector``
            missing = [c for c in dict.fromkeys(candidates) if c not in self._vectors]
            fresh = await self.embedder.embed(missing, kind="passage") if missing else None
        except ProviderError as exc:  # the offline policy must not fail because an embeddings vendor did
            logger.warning("policy: embeddings unavailable (%s), routing by keywords only", exc)
            return [0.0] * len(candidates)
        if fresh is not None:
            if len(self._vectors) + len(missing) > VECTOR_CACHE_SIZE:
                self._vectors.clear()
            self._vectors.update(zip(missing, fresh.vectors, strict=True))
        q = vector
        sims = [sum(a * b for a, b in zip(q, self._vectors[c], strict=True)) for c in candidates]
        mean = sum(sims) / len(sims)
        return [max(0.0, s - mean) * SEMANTIC_SCALE for s in sims]


SEMANTIC_SCALE = 25.0
VECTOR_CACHE_SIZE = 4096


def _decision(response: str, action: str, department: str | None = None) -> dict[str, Any]:
    return {"response": response, "action": action, "department": department}


def _transfer(target: TransferTarget | None, say: dict[str, str]) -> dict[str, Any]:
    if target is None:
        return _decision(say["operator"], "transfer", None)
    return _decision(say["transfer"].format(department=target.department), "transfer", target.department)


SHORT_REPLY_WORDS = 4  # content words of a bare yes/no or a choice ("não, obrigado"), more is a new question
AFFIRM = re.compile(
    r"^\s*(e isso|e sim|isso mesmo|exato|exatamente|correto|certo|certinho|positivo|uhum|aham|that'?s right|"
    r"correct|exactly|right|yep)\b"
)
_ORDINALS = (
    ("primeir|first|um\b|1", 0),
    ("segund|second|dois\b|2", 1),
    ("terceir|third|tres\b|3", 2),
    ("ultim|last", -1),
)


def affirms(text: str) -> bool:
    """A yes to the policy's question (garbled or not: :func:`intents.is_yes`), or "é isso", "exato"…"""
    return is_yes(text) or bool(AFFIRM.search(fold(text)))


def denies(text: str) -> bool:
    return is_no(text)


def _phrase_match(key: str, text: str) -> re.Match[str] | None:
    for say in PHRASES.values():
        found = re.search(say[key], text)
        if found:
            return found
    return None


def pending_confirmation(last_assistant: str) -> str | None:
    """The topic of the confirmation the previous assistant message asked ("o valor de …"), or None."""
    found = _phrase_match("confirm_re", last_assistant)
    return found.group(1).strip() if found else None


def pending_topics(last_assistant: str) -> list[str]:
    """The topics the previous assistant message offered, in order ([] when it offered none)."""
    found = _phrase_match("topics_re", last_assistant)
    if not found:
        return []
    return [t.strip() for t in re.split(r",\s+|\s+(?:ou|or)\s+", found.group(1)) if t.strip()]


def chosen_topic(text: str, offered: list[str]) -> str | None:
    """Which of the offered topics the caller picked: by its words ("o de pagamento") or by its place ("o
    segundo"), or None."""
    if not offered:
        return None
    words = tokens(text)
    best = max(offered, key=lambda t: sum(any(same_word(w, x) for x in tokens(t)) for w in words))
    if any(any(same_word(w, x) for x in tokens(best)) for w in words):
        return best
    folded = fold(text)
    if len(words) <= SHORT_REPLY_WORDS:
        for pattern, index in _ORDINALS:
            if re.search(rf"\b({pattern})", folded) and (index < len(offered)):
                return offered[index]
    return None


_ELLIPSIS = re.compile(r"^\s*(e|and|what about|how about|tambem|e quanto|e para|e pra)\b")


def is_followup(text: str, previous_users: list[str], last_assistant: str) -> bool:
    """A short follow-up to an answer ("e aos sábados?", "e a completa?"): it continues the previous question."""
    folded = fold(text)
    if not previous_users or not last_assistant or QUESTION_START.search(folded):
        return False
    if re.search(PHRASES["pt"]["confirm_re"], last_assistant) or re.search(PHRASES["en"]["confirm_re"], last_assistant):
        return False
    words = tokens(text)
    return bool(words) and len(words) <= 3 and (bool(_ELLIPSIS.search(folded)) or len(words) <= 2)


def followup_words(text: str, previous_users: list[str], last_assistant: str) -> list[str]:
    """The words a follow-up adds: its answer should cover one of them (the previous topic comes from retrieval)."""
    return tokens(text) if is_followup(text, previous_users, last_assistant) else []


def _listed(items: list[str], say: dict[str, str]) -> str:
    items = [_lower(i) for i in items]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {say['or']} {items[-1]}"


def _lower(text: str) -> str:
    first, _, rest = text.partition(" ")
    if first[:1].isupper() and first[1:] == first[1:].lower():
        first = first.lower()
    return f"{first} {rest}".strip()
