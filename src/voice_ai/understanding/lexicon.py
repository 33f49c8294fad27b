"""The tenant's lexicon: the words its callers are likely to say, derived only from the tenant's own data (company
and department names, rule keywords and descriptions, document text) — never from a company-specific table.

Used by speech recognition (Whisper's prompt, n-best rescoring) and by understanding (sound-alike repair of a
transcript, fuzzy intent and keyword matching).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voice_ai.providers.llm.text import STOP_WORDS, fold

_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ0-9][A-Za-zÀ-ÖØ-öø-ÿ0-9$-]*")
_HEADING = re.compile(r"^\s*#+\s*(.+?)\s*$", re.MULTILINE)
MAX_TERMS = 400


@dataclass(frozen=True)
class Lexicon:
    """``words``: accent-folded lower-case word → occurrences in the tenant's text (names count more);
    ``surface``: folded word → its most frequent written form (``"pix"`` → ``"Pix"``);
    ``terms``: the distinctive words and phrases in their written form, most useful first (names, keywords,
    headings, then document words by weight), bounded by ``MAX_TERMS``."""

    words: Mapping[str, int] = field(default_factory=dict)
    surface: Mapping[str, str] = field(default_factory=dict)
    terms: tuple[str, ...] = ()
    # what matching derives from the lexicon once (voice_ai.understanding.match), by purpose and language
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and fold(word) in self.words

    def __bool__(self) -> bool:
        return bool(self.words)

    @classmethod
    def build(
        cls, *, names: Iterable[str] = (), keywords: Iterable[str] = (), documents: Iterable[str] = ()
    ) -> Lexicon:
        """``names``: company and department names; ``keywords``: rule keywords and description phrases;
        ``documents``: the documents' text (Markdown headings become phrases)."""
        counts: Counter[str] = Counter()
        forms: dict[str, Counter[str]] = {}
        phrases: list[str] = []

        def add(text: str, weight: int) -> None:
            for raw in _WORD.findall(text):
                word = raw.strip("-")
                key = fold(word)
                if len(key) < 2:
                    continue
                counts[key] += weight
                forms.setdefault(key, Counter())[word] += 1

        for name in names:
            if name.strip():
                phrases.append(name.strip())
                add(name, 5)
        for keyword in keywords:
            for part in re.split(r"[,;]", keyword):
                if part.strip():
                    phrases.append(part.strip())
                    add(part, 3)
        for document in documents:
            phrases.extend(h for h in _HEADING.findall(document) if len(h) <= 60)
            add(document, 1)
        surface = {key: form.most_common(1)[0][0] for key, form in forms.items()}
        content = [k for k in counts if k not in STOP_WORDS and len(k) >= 3 and not k.isdigit()]
        # capitalised inside a sentence (a name: Pix, MEI) or long words carry the most; frequency breaks ties
        ranked = sorted(content, key=lambda k: (-(surface[k][:1].isupper() + (len(k) >= 7)), -counts[k], k))
        terms: dict[str, str] = {}
        for term in [*phrases, *(surface[k] for k in ranked)]:
            terms.setdefault(fold(term), term)
        return cls(dict(counts), surface, tuple(terms.values())[:MAX_TERMS])
