"""Routing for the dialog policy: which of the tenant's transfer targets a caller's words ask for — keywords and
the department's name, plus (with an embeddings provider) semantic similarity to each target's description."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from voice_ai.providers.llm.policy.answer import Similarity
from voice_ai.providers.llm.text import contains_phrase, same_word, tokens
from voice_ai.providers.types import TransferTarget


@dataclass(frozen=True)
class Match:
    target: TransferTarget
    score: float
    margin: float  # lead over the second-best target


def describe(target: TransferTarget) -> str:
    """The text a target is compared with semantically."""
    return f"{target.department}: {target.description} {' '.join(target.keywords)}".strip()


def keyword_score(words: list[str], target: TransferTarget) -> float:
    """The department's name (1.5) and each keyword phrase found in the caller's words (1 + 0.25 per extra word;
    half a phrase found counts half)."""
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
    return score


async def route(
    text: str,
    words: list[str],
    targets: Sequence[TransferTarget],
    *,
    similarity: Similarity | None,
    semantic_weight: float,
) -> Match | None:
    """The best target for the caller's words and its lead over the next, or None when nothing matches."""
    if not targets:
        return None
    scores = [keyword_score(words, target) for target in targets]
    if similarity is not None and semantic_weight > 0:
        semantic = await similarity(text, [describe(t) for t in targets])
        scores = [s + semantic_weight * sim for s, sim in zip(scores, semantic, strict=True)]
    order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
    best, runner_up = order[0], (scores[order[1]] if len(order) > 1 else 0.0)
    return Match(targets[best], scores[best], scores[best] - runner_up) if scores[best] > 0 else None
