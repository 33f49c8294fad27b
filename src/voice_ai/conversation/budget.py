"""How a live call turn's deadline is shared by its stages, and how a fallback chain runs inside a stage.

A turn has one deadline (``VOICE_AI_TURN_DEADLINE_S``). Each stage ends a fixed reserve before it, so that what
comes after still fits: the reply must be spoken and stored, so speech (TTS) and the final transaction keep their
reserves whatever happens before them; the dialog policy keeps a reserve after a configured LLM; Whisper keeps one
after a configured speech-recognition vendor. The built-in defaults are fast: the dialog policy answers in
milliseconds, eSpeak in tens of them, Whisper in about a second.

Seen from the deadline ``D`` (default 10 s), a configured provider answers by / the built-in default by:

- speech recognition: D − 6 s (at least 2 s after the turn arrives: ``D`` ≥ 8 s) / Whisper D − 3 s;
- retrieval (the question's embedding): D − 4.5 s and at most 2 s / full-text retrieval only;
- the reply: D − 3 s / the dialog policy D − 2 s;
- speech: D − 1.5 s / eSpeak D − 0.5 s.

A turn waits for its first database connection (and for its call's row lock) only until Whisper could still
transcribe after it (D − 4.5 s): later, the caller gets a 503 (the call flow's apology and the operator) rather than
a turn stored as silence because no recogniser had time. A recogniser that fails is not silence either: the reply is
the same "pode repetir?", but the turn is stored with ``providers.stt = "failed"``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from itertools import takewhile
from typing import Any, TypeVar

from voice_ai.providers import deadline
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.manager import FallbackChain

logger = logging.getLogger(__name__)
R = TypeVar("R")

STORE_RESERVE_S = 0.5  # the final transaction and the answer
TTS_RESERVE_S = 1.5  # speaking the reply: a configured vendor, then eSpeak for its last ESPEAK_RESERVE_S
ESPEAK_RESERVE_S = 1.0  # eSpeak takes tens of milliseconds idle, several hundred on a loaded machine
POLICY_RESERVE_S = 1.0  # the dialog policy when a configured LLM overruns
LLM_MIN_S = 1.5  # the least a configured LLM gets after a configured STT and retrieval
WHISPER_RESERVE_S = 1.5  # the built-in Whisper after a configured STT vendor
STT_MIN_S = 2.0  # the least a configured STT vendor gets, at the shortest turn deadline
RETRIEVE_MAX_S = 2.0
START_DEADLINE_S = 6.0  # the call flow waits 8 s for a start

# Whisper transcribes until this long before the deadline (after it: the reply, its speech, the store)
STT_END_S = STORE_RESERVE_S + TTS_RESERVE_S + POLICY_RESERVE_S
# a configured STT vendor answers by this long before the deadline (then Whisper, then a configured LLM)
STT_VENDOR_END_S = STT_END_S + LLM_MIN_S + WHISPER_RESERVE_S
# a turn's first database connection (and its call's row lock) must come by this long before the deadline, while
# Whisper can still transcribe after it; later the turn answers 503
BEGIN_BY_S = STT_END_S + WHISPER_RESERVE_S
# the shortest turn deadline: a configured STT vendor still gets STT_MIN_S (``Settings.turn_deadline_s``'s floor)
MIN_TURN_DEADLINE_S = STT_VENDOR_END_S + STT_MIN_S


async def run_in_time(
    chain: FallbackChain[Any], call: Callable[[Any], Awaitable[R]], *, until: float, last: float
) -> R:
    """``call`` on a chain within a live call's deadline, in the chain's order.

    The configured providers the chain puts first (the secretary's or the tenant's choice, and its fallbacks) must
    answer by ``until``, so that the built-in default after them still has until ``last``. When the chain starts
    with the built-in default (the tenant chose nothing: a provider not marked default is never tried before it),
    the whole chain runs until ``last`` — the vendors after the built-in one are only its fallbacks."""
    members = chain.members
    leading = list(takewhile(lambda m: m.provider_uuid is not None, members))
    rest = members[len(leading) :]
    if not leading or not rest:
        with deadline.within(last):
            return await chain.run(call)
    part: FallbackChain[Any] = FallbackChain(chain.kind, chain.domain_uuid, leading, chain.limiter)
    try:
        with deadline.within(until):
            return await part.run(call)
    except ProviderError as exc:
        logger.warning("%s: configured providers did not answer in time, built-in fallback: %s", chain.kind, exc)
        failures = [*chain.skipped, exc.message]
    with deadline.within(last):
        return await FallbackChain(chain.kind, chain.domain_uuid, rest, chain.limiter, failures).run(call)
