"""A streaming call end to end inside the service: ``StreamingCall`` over the real ``CallEngine`` (real PostgreSQL,
the demo tenant, the offline providers: Whisper, the dialog policy, eSpeak), with a recording transport.

The words Whisper hears differ between CPUs, so nothing here asserts them: only that a spoken question became a
stored turn with a reply that was played, sentence by sentence, with the streaming timings, and that the call's
end is stored like a turn-based call's.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from stream_fakes import FakeClock, FakeTransport, silence, wav

import test_calls
from voice_ai.conversation.engine import CallEngine
from voice_ai.runtime import Runtime
from voice_ai.streaming.call import CallerInfo, StreamingCall

demo = test_calls.demo  # the seeded demo tenant (a fixture)
RATE = 8000
STEP = RATE * 20 // 1000 * 2  # one 20 ms frame of L16


async def _feed(call: StreamingCall, clock: FakeClock, pcm: bytes) -> None:
    for i in range(0, len(pcm), STEP):
        clock.t += 0.02
        call.feed(pcm[i : i + STEP])
        await asyncio.sleep(0)


async def _until(check: Any, call: StreamingCall, clock: FakeClock, *, limit_s: float = 90.0) -> None:
    """Feed silence in (fake) real time while the engine works, until ``check()`` holds."""
    ends = time.monotonic() + limit_s
    while not check():
        assert time.monotonic() < ends, "the streaming call did not get there in time"
        await _feed(call, clock, silence(20))
        await asyncio.sleep(0.01)


async def test_a_spoken_question_is_answered_and_stored_like_a_turn(
    runtime: Runtime, demo: dict[str, Any], db: Any
) -> None:
    clock, log = FakeClock(), []
    transport = FakeTransport(log, sample_rate=RATE)
    call_uuid = f"stream-{uuid.uuid4()}"
    call = StreamingCall(
        CallEngine(runtime),
        transport,
        uuid.UUID(demo["domain"]),
        call_uuid,
        "8000",
        CallerInfo("5531999990000", "Maria", "8000"),
        clock=clock,
    )
    started = await call.start()
    assert started is not None
    await _until(lambda: bool(transport.played), call, clock, limit_s=10)  # the greeting is played
    greeting = transport.played[0]
    assert greeting.audio.sample_rate == RATE and greeting.audio.pcm
    # the greeting plays (the transport does not report playback: the call estimates it), then the caller asks
    await _feed(call, clock, silence(greeting.audio.duration_s * 1000 + 700))
    await _feed(call, clock, wav("question_saturday").pcm + silence(200))
    await _until(lambda: len(transport.played) > 1, call, clock)
    reply_clips = transport.played[1:]
    assert all(clip.audio.sample_rate == RATE and clip.audio.pcm for clip in reply_clips)
    # the reply plays out, then its turn is stored
    rows: list[Any] = []

    async def stored() -> None:
        rows[:] = await db.fetch(
            "SELECT m.turn_index, m.role, m.text, m.timings, m.providers_used FROM v_voice_messages m"
            " JOIN v_voice_conversations c USING (voice_conversation_uuid) WHERE c.call_uuid = $1"
            " ORDER BY m.turn_index, m.role DESC",
            call_uuid,
        )

    async def has_turn() -> bool:
        await stored()
        return any(r["turn_index"] == 1 and r["role"] == "assistant" for r in rows)

    deadline = time.monotonic() + 60
    while not await has_turn():
        assert time.monotonic() < deadline, "the streamed turn was never stored"
        await _feed(call, clock, silence(200))
        await asyncio.sleep(0.02)
    caller = next(r for r in rows if r["turn_index"] == 1 and r["role"] == "user")
    answer = next(r for r in rows if r["turn_index"] == 1 and r["role"] == "assistant")
    assert caller["text"].strip(), "the caller's words were transcribed"
    assert answer["text"].strip()
    timings = json.loads(answer["timings"]) if isinstance(answer["timings"], str) else answer["timings"]
    for key in ("eot_ms", "stt_ms", "first_audio_ms", "total_ms"):
        assert key in timings, f"{key} missing from {sorted(timings)}"
    print("streamed turn timings:", timings)
    assert timings["eot_ms"] >= 500, "the turn closed only after the end-of-turn silence"
    events = {event["type"] for event in transport.events}
    assert {"transcript", "reply", "latency"} <= events
    # the caller hangs up: the conversation ends as a turn-based call's would
    await call.closed("caller hung up")
    await call.wait()
    ended = await db.fetchrow("SELECT outcome, ended_at FROM v_voice_conversations WHERE call_uuid = $1", call_uuid)
    assert ended is not None and ended["ended_at"] is not None and ended["outcome"] == "hangup"
