"""Word error rate for the speech benchmarks: Levenshtein distance over accent-folded words."""

from __future__ import annotations

import re

from voice_ai.providers.llm.text import fold


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words): Levenshtein distance over words."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[len(hyp)], len(ref)
