"""The built-in dialog policy: a rule-based "LLM" that needs no model, no key and no network.

It answers from the best retrieved passage (sentence extraction), routes to the tenant's transfer targets
(keywords plus, when an embeddings provider is attached, semantic similarity), recognises goodbyes, and says
plainly when it does not know — offering a transfer. It is the offline default and, later, the fast path
in front of a real LLM. It always returns the structured decision of ``decision.DECISION_SCHEMA``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import Field

from voice_ai.providers.base import EmbeddingsProvider, LLMProvider, ProviderSettings, timeout_field
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.llm.policy.answer import Similarity, best_answer
from voice_ai.providers.llm.policy.intents import (
    GOODBYE,
    HUMAN,
    NO,
    QUESTION,
    QUESTION_START,
    REQUEST,
    TRANSFER_VERB,
    YES,
)
from voice_ai.providers.llm.policy.phrases import PHRASES
from voice_ai.providers.llm.policy.routing import route
from voice_ai.providers.llm.text import fold, tokens
from voice_ai.providers.types import Capabilities, ChatMessage, ChatResult, DialogContext, TransferTarget

logger = logging.getLogger(__name__)
NO_OFFER: Any = object()  # the previous turn offered no transfer


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
        match = await route(
            user, words, context.transfer_targets, similarity=self._similarity_or_none(), semantic_weight=self._weight
        )
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
        answer = await best_answer(
            user,
            words,
            context.passages,
            similarity=self._similarity_or_none(),
            answer_threshold=self.settings.answer_threshold,
            semantic_weight=self._weight,
        )
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


SEMANTIC_SCALE = 25.0
VECTOR_CACHE_SIZE = 4096


def _decision(response: str, action: str, department: str | None = None) -> dict[str, Any]:
    return {"response": response, "action": action, "department": department}


def _transfer(target: TransferTarget | None, say: dict[str, str]) -> dict[str, Any]:
    if target is None:
        return _decision(say["operator"], "transfer", None)
    return _decision(say["transfer"].format(department=target.department), "transfer", target.department)
