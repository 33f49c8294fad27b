"""A deadline for the provider calls made on behalf of one live call turn.

A call turn has one deadline (``VOICE_AI_TURN_DEADLINE_S``) that every stage must respect: the engine gives each
stage an end time (:func:`within`), and :class:`~voice_ai.providers.base.Provider` bounds each attempt by the time
left (a provider's own ``timeout_s`` is for admin calls and background work), retries only when a retry still
fits, and fails at once when no time is left, so the caller's turn can fall back in time.

The deadline lives in a context variable: it follows the turn's task (and the tasks it starts) and never leaks to
other requests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("voice_ai_provider_deadline", default=None)


def now() -> float:
    return time.monotonic()


@contextmanager
def within(deadline: float) -> Iterator[None]:
    """Provider calls in this block end by ``deadline`` (a :func:`now` value); an outer, earlier one still holds."""
    outer = _deadline.get()
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline, or None outside any."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - now()
