"""A streaming call whose transport fails while the service is alive (FreeSWITCH: the audio WebSocket drops): the
transport has already handed the caller to its fallback (apology + operator), so the call commits what the caller
heard and ends the conversation ``error`` — not ``hangup``/``abandoned`` — without asking the transport to fail again.
The same on the real FreeSWITCH: tests/test_freeswitch_stream_primitives.py (key 6)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "streaming"))

from stream_fakes import Harness, reply, wav

QUESTION = wav("question_price").pcm


async def test_a_transport_failure_mid_reply_commits_what_was_heard_and_ends_as_an_error() -> None:
    h = Harness()
    await h.start()
    await h.quiet(3000)  # the greeting plays out
    words = "Atendemos de segunda a sexta das oito da manhã às seis da tarde"
    h.engine.replies.append(reply(h.log, [words, "Mais alguma coisa?"]))
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    await h.quiet(800)
    await h.call.failed("the audio WebSocket closed")
    stream = h.engine.streams[0]
    assert stream.closed and len(stream.commits) == 1
    assert 0 < len(stream.commits[0]["heard"].split()) < len(words.split())
    assert h.engine.ends == [
        {"outcome": "error", "destination": None, "context": None, "error": "the audio WebSocket closed"}
    ]
    assert h.transport.failures == []  # the transport failed over by itself: not told again
    assert h.call.outcome == "error" and h.call.phase == "ended"
    await h.call.closed("the caller hung up")  # what the link reports afterwards changes nothing
    await h.call.failed("again")
    assert len(h.engine.ends) == 1


async def test_a_transport_failure_before_any_turn_is_an_error_too() -> None:
    h = Harness()
    await h.start()
    await h.call.failed("the audio WebSocket closed")
    assert [e["outcome"] for e in h.engine.ends] == ["error"] and h.transport.failures == []
