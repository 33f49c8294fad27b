"""Building vendor SDK clients without the host's environment.

The official SDKs fill in what they are not given from environment variables (``OPENAI_ORG_ID``,
``ANTHROPIC_BASE_URL``, ``ANTHROPIC_CUSTOM_HEADERS``, …). On a multi-tenant server that would send the host's
settings — or secrets — along with a tenant's request, so clients are built with those variables hidden.
Construction is synchronous (no ``await``), so no other coroutine can observe the hidden variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
VENDOR_PREFIXES = ("OPENAI_", "AZURE_OPENAI_", "ANTHROPIC_", "GROQ_")


@contextmanager
def _hidden(prefixes: tuple[str, ...]) -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(prefixes)}
    try:
        yield
    finally:
        os.environ.update(saved)


def build_client(factory: Callable[..., T], **kwargs: Any) -> T:
    """``factory(**kwargs)`` with the vendors' environment variables out of sight."""
    with _hidden(VENDOR_PREFIXES):
        return factory(**kwargs)
