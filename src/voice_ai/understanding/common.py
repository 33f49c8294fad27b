"""Whether a word is an ordinary word of the language: a transcript's ordinary word is never "repaired" into a
tenant term (a false correction is worse than none).

Word frequencies come from ``wordfreq`` (its small lists: every word at least once per million words, Zipf ≥ 3),
looked up as written (accents matter: *horário* is common, *horario* is not a word) and accent-folded; plus the
dialog's stop words (pt + en), which are common in any language the secretary speaks.
"""

from __future__ import annotations

import functools
import logging
import threading

from voice_ai.providers.llm.text import STOP_WORDS, fold

logger = logging.getLogger(__name__)
COMMON_ZIPF = 3.0
PRELOADED = ("pt", "en")
_preloading: threading.Thread | None = None


def preload() -> None:
    """Load the word lists in the background (the first look-up reads them: ~0.2 s that a call's first turn should
    not pay). Idempotent; returns at once."""
    global _preloading
    if _preloading is None:
        _preloading = threading.Thread(
            target=lambda: [_zipf("de", code) for code in PRELOADED], name="wordfreq-preload", daemon=True
        )
        _preloading.start()


def language_code(language: str | None) -> str:
    """``pt-BR`` → ``pt``; ``en-US`` → ``en``; unknown → ``pt`` (the product's default)."""
    code = (language or "pt").split("-")[0].lower()
    return code if code.isalpha() and len(code) == 2 else "pt"


@functools.lru_cache(maxsize=8192)
def is_common(word: str, language: str = "pt") -> bool:
    lower = word.lower()
    if fold(lower) in STOP_WORDS:
        return True
    return _zipf(lower, language_code(language)) >= COMMON_ZIPF


def _zipf(word: str, code: str) -> float:
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # pragma: no cover - a declared dependency; a stripped install repairs nothing single
        return 8.0
    try:
        return float(zipf_frequency(word, code, wordlist="small"))
    except LookupError:  # a language wordfreq has no list for: only stop words count as common
        return 0.0
