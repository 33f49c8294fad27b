"""How a live call turn's deadline is shared by its stages, and how a fallback chain runs inside a stage.

A turn has one deadline (``VOICE_AI_TURN_DEADLINE_S``). Each stage ends a fixed reserve before it, so that what
comes after still fits: the reply must be spoken and stored, so speech (TTS) and the final transaction keep their
reserves whatever happens before them; the dialog policy keeps a reserve after a configured LLM; Whisper keeps one
after a configured speech-recognition vendor. The built-in defaults are fast: the dialog policy answers in
milliseconds, eSpeak in tens of them, Whisper in about a second.
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
RETRIEVE_MAX_S = 2.0
START_DEADLINE_S = 6.0  # the call flow waits 8 s for a start


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
