"""The streaming face of the call engine (``start_stream``, ``transcribe``, ``respond``, ``end``) against the real
database, with the offline providers and, for a streamed model, a local server speaking OpenAI's protocol that
holds the rest of the reply until the test has the first sentence's audio."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import httpx
import pytest

import test_calls
from fakes.vendors import OPENAI_KEY
from voice_ai.conversation.engine import CallEngine
from voice_ai.conversation.phrases import phrase
from voice_ai.core.errors import NotFoundError
from voice_ai.providers.audio import Audio
from voice_ai.runtime import Runtime
from voice_ai.streaming.contracts import Heard, ReplyPart, ReplyStream, StreamingEngine

demo = test_calls.demo  # the seeded demo tenant (a fixture)
ASKED = Heard("Qual o horário de funcionamento?", "test-stt", 12.5)
TWO_SENTENCES = {
    "response": "Funcionamos das 8h às 18h. Aos sábados, das 8h ao meio-dia.",
    "action": "continue",
    "department": None,
}


async def _call(engine: CallEngine, demo: dict[str, Any], rate: int = 16000) -> tuple[uuid.UUID, str]:
    domain, call = uuid.UUID(demo["domain"]), f"call-{uuid.uuid4()}"
    started = await engine.start_stream(
        domain, "8000", call, caller_id_number="1000", caller_id_name=None, destination_number="8000", sample_rate=rate
    )
    assert started.greeting is not None and started.greeting.sample_rate == rate and started.greeting.pcm
    assert started.language == "pt-BR" and started.operator_destination == "200"
    return domain, call


async def _parts(reply: ReplyStream) -> list[ReplyPart]:
    return [part async for part in reply]


async def _stored(db: Any, call: str) -> list[Any]:
    return list(
        await db.fetch(
            "SELECT m.turn_index, m.role, m.text, m.action, m.timings, m.providers_used FROM v_voice_messages m"
            " JOIN v_voice_conversations c USING (voice_conversation_uuid) WHERE c.call_uuid = $1"
            " ORDER BY m.turn_index, m.role DESC",
            call,
        )
    )


async def _use_model(client: httpx.AsyncClient, demo: dict[str, Any], vendors: Any) -> None:
    config = {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "model": "streamer", "max_retries": 1}
    created = await client.post(
        f"/api/v1/domains/{demo['domain']}/providers",
        json={"provider_type": "llm", "provider_name": "openai_compatible", "is_default": True, "config": config},
    )
    assert created.status_code == 201, created.text


async def test_the_first_sentence_is_spoken_before_the_model_finished(
    client: httpx.AsyncClient, demo: dict[str, Any], runtime: Runtime, vendors: Any, db: Any
) -> None:
    await _use_model(client, demo, vendors)
    engine: StreamingEngine = CallEngine(runtime)
    domain, call = await _call(engine, demo)  # type: ignore[arg-type]
    vendors.reply, vendors.split_after, vendors.gate = dict(TWO_SENTENCES), "18h. A", threading.Event()
    reply = engine.respond(domain, call, ASKED, sample_rate=16000)
    iterator = aiter(reply)
    try:
        first = await anext(iterator)
        # the server still holds the rest of the reply: this sentence was spoken from the first piece alone
        assert vendors.sent_pieces == 1
        assert first.index == 0 and first.text == "Funcionamos das 8h às 18h."
        assert first.audio is not None and first.audio.sample_rate == 16000 and first.audio.duration_s > 0.5
        vendors.gate.set()
        rest = [part async for part in iterator]
    finally:
        vendors.gate.set()
    assert [p.text for p in rest] == ["Aos sábados, das 8h ao meio-dia."] and rest[0].index == 1
    assert reply.action.kind == "continue" and reply.text == TWO_SENTENCES["response"]
    assert reply.providers["llm"].startswith("openai_compatible#") and reply.providers["stt"] == "test-stt"
    assert {"stt_ms", "retrieve_ms", "llm_first_ms", "llm_ms", "tts_first_ms", "tts_ms", "total_ms"} <= set(
        reply.timings
    )
    assert reply.timings["llm_first_ms"] <= reply.timings["llm_ms"]
    assert await reply.commit(timings={"eot_ms": 600.0}) == 1
    assert await reply.commit() == 1  # stored once
    rows = await _stored(db, call)
    assert [(r["turn_index"], r["role"]) for r in rows] == [(0, "assistant"), (1, "user"), (1, "assistant")]
    assert rows[1]["text"] == ASKED.text and "stt_ms" in rows[1]["timings"]
    assert rows[2]["text"] == TWO_SENTENCES["response"] and rows[2]["action"] == "continue"
    assert '"eot_ms": 600.0' in rows[2]["timings"] and "llm_first_ms" in rows[2]["timings"]

    # a model that fails before its first word: the next in the chain (the dialog policy) answers, in time
    vendors.reset()
    vendors.script[:] = [500, 500]
    fallback = engine.respond(domain, call, ASKED, sample_rate=8000)
    parts = await _parts(fallback)
    assert parts and fallback.providers["llm"] == "policy" and fallback.action.kind == "continue"
    assert await fallback.commit() == 2

    # a stream cut after the first sentence: the reply ends with what was said, the action stands
    vendors.reset()
    vendors.reply, vendors.split_after, vendors.stream_fail = dict(TWO_SENTENCES), "18h. A", True
    cut = engine.respond(domain, call, ASKED, sample_rate=8000)
    assert [p.text for p in await _parts(cut)] == ["Funcionamos das 8h às 18h."]
    assert cut.providers["llm_error"] == "unavailable" and cut.action.kind == "continue"
    assert cut.text == "Funcionamos das 8h às 18h."

    # barge-in: the call closes the reply from another task while it waits for the next sentence; the model's
    # stream is dropped at once (the server still holds its rest) and what the caller heard is stored
    vendors.reset()
    vendors.reply, vendors.split_after, vendors.gate = dict(TWO_SENTENCES), "18h. A", threading.Event()
    interrupted = engine.respond(domain, call, ASKED, sample_rate=8000)
    got: list[ReplyPart] = []
    first_came = asyncio.Event()

    async def play() -> None:
        async for part in interrupted:
            got.append(part)
            first_came.set()

    player = asyncio.create_task(play())
    try:
        await asyncio.wait_for(first_came.wait(), 30)
        await interrupted.aclose()
        await asyncio.wait_for(player, 5)
        assert [p.text for p in got] == ["Funcionamos das 8h às 18h."] and vendors.sent_pieces == 1
    finally:
        vendors.gate.set()
    index = await interrupted.commit(heard="Funcionamos das 8h", timings={"interrupted_ms": 900.0})
    stored = (await _stored(db, call))[-1]
    assert stored["turn_index"] == index == 3 and stored["text"] == "Funcionamos das 8h"

    # a transfer the model asks for: the fixed phrase at once, to a configured department only
    vendors.reset()
    vendors.reply = {"action": "transfer", "department": "Financeiro", "response": "Claro, transferindo agora!"}
    transfer = engine.respond(domain, call, Heard("segunda via do boleto", "test-stt", 5.0), sample_rate=8000)
    assert [p.text for p in await _parts(transfer)] == [phrase("pt-BR", "transfer", department="Financeiro")]
    assert transfer.action.transfer is not None and transfer.action.transfer.destination == "203"


async def test_transfer_silence_and_what_the_caller_heard(
    client: httpx.AsyncClient, demo: dict[str, Any], runtime: Runtime, db: Any
) -> None:
    engine = CallEngine(runtime)
    # a turn-based transfer first: its phrase is then in the audio cache (8 kHz), decoded for a 16 kHz call
    domain, call = await _call(engine, demo)
    said = await test_calls._say(client, demo, call, "Preciso da segunda via do meu boleto")
    assert said["action"] == "transfer" and said["turn"] == 1

    transfer = engine.respond(domain, call, Heard("Preciso da segunda via do meu boleto", "x", 1.0), sample_rate=16000)
    parts = await _parts(transfer)
    assert [p.text for p in parts] == [phrase("pt-BR", "transfer", department="Financeiro")] == [said["response_text"]]
    assert parts[0].audio is not None and parts[0].audio.sample_rate == 16000
    assert transfer.providers["tts"] == "cache"
    assert transfer.action.kind == "transfer" and transfer.action.transfer is not None
    assert (transfer.action.transfer.destination, transfer.action.transfer.department) == ("203", "Financeiro")
    assert await transfer.commit() == 2
    target = await db.fetchval("SELECT transfer_destination FROM v_voice_conversations WHERE call_uuid = $1", call)
    assert target == "203"

    # an interrupted reply: what the caller heard is what the history keeps
    answer = engine.respond(domain, call, ASKED, sample_rate=8000)
    spoken = await _parts(answer)
    assert spoken and answer.action.kind == "continue"
    heard = spoken[0].text.split()[:3]
    assert await answer.commit(heard=" ".join(heard), timings={"interrupted_ms": 420.0}) == 3
    stored = (await _stored(db, call))[-1]
    assert stored["text"] == " ".join(heard) != answer.text and '"interrupted_ms": 420.0' in stored["timings"]

    # silence: "pode repetir?", then the operator at the second silent turn in a row
    silent = engine.respond(domain, call, Heard("", None, 0.0), sample_rate=8000)
    assert [p.text for p in await _parts(silent)] == [phrase("pt-BR", "not_understood")]
    assert silent.action.kind == "continue" and await silent.commit() == 4
    again = engine.respond(domain, call, Heard("", None, 0.0, failed=True), sample_rate=8000)
    assert [p.text for p in await _parts(again)] == [phrase("pt-BR", "operator")]
    assert again.action.transfer is not None and again.action.transfer.destination == "200"
    assert again.providers["stt"] == "failed"
    await again.commit()

    await engine.end(domain, call, outcome="transferred", destination="200")
    ended = await db.fetchrow(
        "SELECT outcome, transfer_destination FROM v_voice_conversations WHERE call_uuid = $1", call
    )
    assert tuple(ended) == ("transferred", "200")


async def test_a_transfer_the_caller_talked_over_is_stored_as_not_carried_out(
    client: httpx.AsyncClient, demo: dict[str, Any], runtime: Runtime, db: Any
) -> None:
    engine = CallEngine(runtime)
    domain, call = await _call(engine, demo, rate=8000)
    transfer = engine.respond(domain, call, Heard("Preciso da segunda via do meu boleto", "x", 1.0), sample_rate=8000)
    parts = await _parts(transfer)
    assert transfer.action.kind == "transfer" and parts
    await transfer.commit(heard=" ".join(parts[0].text.split()[:2]), timings={"interrupted_ms": 300.0})
    stored = (await _stored(db, call))[-1]
    assert stored["role"] == "assistant" and stored["action"] == "continue"
    target = await db.fetchval("SELECT transfer_destination FROM v_voice_conversations WHERE call_uuid = $1", call)
    assert target is None


async def test_another_tenants_call_is_not_found_and_transcribe_stores_nothing(
    client: httpx.AsyncClient, demo: dict[str, Any], runtime: Runtime, new_domain: Any, db: Any
) -> None:
    engine = CallEngine(runtime)
    domain, call = await _call(engine, demo, rate=8000)
    other = uuid.UUID(await new_domain())
    with pytest.raises(NotFoundError):
        await _parts(engine.respond(other, call, ASKED, sample_rate=8000))
    with pytest.raises(NotFoundError):
        await engine.transcribe(other, call, Audio(b"\x00\x01" * 8000, 8000))
    with pytest.raises(NotFoundError):
        await engine.end(other, call, outcome="abandoned")
    with pytest.raises(NotFoundError):
        await _parts(engine.respond(domain, "no-such-call", ASKED, sample_rate=8000))

    spoken = await client.post(
        f"/api/v1/domains/{demo['domain']}/synthesize", json={"text": "Qual é o horário de funcionamento?"}
    )
    audio = Audio.from_wav(spoken.content)
    heard = await engine.transcribe(domain, call, audio)
    assert heard.text and heard.provider and not heard.failed and heard.ms > 0  # not the exact words (CPUs differ)
    assert len(await _stored(db, call)) == 1  # the greeting only: transcribing stores nothing


async def test_a_streaming_reply_to_the_secretarys_question_is_heard_as_an_answer_to_it(
    client: httpx.AsyncClient, demo: dict[str, Any], runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in a turn-based call (conversation.listen.question_asked): after the greeting the recogniser hears no
    question; once the stored reply asks one, the next segment is transcribed as an answer to it."""
    from voice_ai.conversation import engine as engine_module

    asked: list[str | None] = []
    listen = engine_module.listen

    async def recording(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("asked"))
        return await listen(*args, **kwargs)

    monkeypatch.setattr(engine_module, "listen", recording)
    engine = CallEngine(runtime)
    domain, call = await _call(engine, demo, rate=8000)
    audio = Audio(b"\x00\x01" * 8000, 8000)
    await engine.transcribe(domain, call, audio)
    question = "Posso transferir você para o Financeiro?"
    reply = engine.respond(domain, call, ASKED, sample_rate=8000)
    await _parts(reply)
    await reply.commit()
    await engine.transcribe(domain, call, audio)  # the stored reply states a fact: still no question
    said = engine.respond(domain, call, Heard("quero falar com alguém", "x", 1.0), sample_rate=8000)
    await _parts(said)
    await said.commit(heard=question)  # what the caller heard is what the history keeps
    await engine.transcribe(domain, call, audio)
    assert asked == [None, None, question]
