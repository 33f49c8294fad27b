"""The telephony contract the Lua call flow relies on (docs/telephony-api.md): silent turns, where a transferred
caller really went, a transfer that did not route, the grace period before the end is reported, stale calls."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import wave
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

import test_calls
from fakes.receiver import ReceiverServer
from test_calls import _say, _start
from voice_ai.conversation.lifecycle import CallLifecycle
from voice_ai.core.unavailable import DatabaseUnavailableError
from voice_ai.jobs import EVERY_MINUTE
from voice_ai.runtime import Runtime

demo = test_calls.demo  # the seeded demo tenant (a fixture)


def _empty_wav(rate: int = 8000) -> bytes:
    """What FreeSWITCH writes when the caller sent no audio: a bare 44-byte header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
    return buffer.getvalue()


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    for _ in range(int(seconds * 20)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def _conversation(db: Any, call: str) -> Any:
    return await db.fetchrow("SELECT * FROM v_voice_conversations WHERE call_uuid = $1", call)


async def test_silent_turns_are_normal_turns(client: httpx.AsyncClient, demo: dict[str, Any], db: Any) -> None:
    call = f"call-{uuid.uuid4()}"
    await _start(client, demo, call)
    url, form = f"/api/v1/calls/{call}/turns", {"domain_uuid": demo["domain"]}
    first = await client.post(url, data={**form, "text": ""})  # the field present and empty
    assert first.status_code == 200, first.text
    assert first.json()["action"] == "continue" and "repetir" in first.json()["response_text"]
    assert first.json()["transcript"] == ""
    second = await client.post(url, data=form, files={"audio": ("turn.wav", _empty_wav(), "audio/wav")})
    assert len(_empty_wav()) == 44 and second.status_code == 200, second.text
    body = second.json()
    assert "stt" not in body["providers"] and "stt_ms" not in body["timings"]  # nothing to transcribe
    assert body["action"] == "transfer" and body["transfer"]["destination"] == "200"  # silence twice → operator
    assert [body["turn"] for body in (first.json(), body)] == [1, 2]

    other = f"call-{uuid.uuid4()}"
    await _start(client, demo, other)
    empty = await client.post(
        f"/api/v1/calls/{other}/turns", data=form, files={"audio": ("turn.wav", b"", "audio/wav")}
    )
    assert empty.status_code == 200 and empty.json()["action"] == "continue"
    nothing = await client.post(f"/api/v1/calls/{other}/turns", data=form)  # neither audio nor text
    assert nothing.status_code == 422 and nothing.json()["detail"][0]["loc"] == ["body", "audio"]
    stored = await db.fetch(
        "SELECT m.text FROM v_voice_messages m JOIN v_voice_conversations c USING (voice_conversation_uuid)"
        " WHERE c.call_uuid = $1 AND m.role = 'user' ORDER BY m.turn_index",
        call,
    )
    assert [r["text"] for r in stored] == ["", ""]


async def test_end_stores_where_the_caller_really_went(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any
) -> None:
    domain = demo["domain"]
    by_rule = f"call-{uuid.uuid4()}"
    await _start(client, demo, by_rule)
    assert (await _say(client, demo, by_rule, "Preciso da segunda via do meu boleto"))["transfer"][
        "destination"
    ] == "203"
    ended = await client.post(f"/api/v1/calls/{by_rule}/end", json={"domain_uuid": domain, "outcome": "transferred"})
    assert ended.json()["transfer"] == {"destination": "203", "context": "demo.localhost", "department": "Financeiro"}
    row = await _conversation(db, by_rule)
    assert (row["transfer_destination"], row["transfer_context"], row["transfer_department"]) == (
        "203",
        "demo.localhost",
        "Financeiro",
    )

    key_zero = f"call-{uuid.uuid4()}"  # the caller pressed 0: the script sent them to the operator itself
    await _start(client, demo, key_zero)
    await _say(client, demo, key_zero, "Vocês abrem no sábado?")
    ended = await client.post(
        f"/api/v1/calls/{key_zero}/end",
        json={"domain_uuid": domain, "outcome": "transferred", "destination": "200", "context": "demo.localhost"},
    )
    assert ended.status_code == 200, ended.text
    row = await _conversation(db, key_zero)
    assert (row["outcome"], row["transfer_destination"], row["transfer_context"]) == (
        "transferred",
        "200",
        "demo.localhost",
    )
    assert row["transfer_department"] is None and row["summary"].endswith("→ operator (200)")

    failed = f"call-{uuid.uuid4()}"  # a turn failed: the script apologised and handed the caller to the operator
    await _start(client, demo, failed)
    await _say(client, demo, failed, "Preciso da segunda via do meu boleto")  # the turn decided Financeiro
    await client.post(
        f"/api/v1/calls/{failed}/end",
        json={"domain_uuid": domain, "outcome": "error", "destination": "200", "context": "demo.localhost"},
    )
    row = await _conversation(db, failed)
    assert (row["outcome"], row["transfer_destination"], row["transfer_department"]) == ("error", "200", None)
    assert row["summary"].endswith("→ operator (200) after an error")
    nobody = f"call-{uuid.uuid4()}"  # a failure with nobody to take the call: the decided transfer never happened
    await _start(client, demo, nobody)
    await _say(client, demo, nobody, "Preciso da segunda via do meu boleto")
    await client.post(f"/api/v1/calls/{nobody}/end", json={"domain_uuid": domain, "outcome": "error"})
    row = await _conversation(db, nobody)
    assert (row["outcome"], row["transfer_destination"]) == ("error", None)

    for bad in ({"destination": "2 00"}, {"destination": "-x"}, {"context": "a'b"}, {"destination": "9" * 65}):
        refused = await client.post(
            f"/api/v1/calls/{key_zero}/end", json={"domain_uuid": domain, "outcome": "transferred", **bad}
        )
        assert refused.status_code == 422, bad


@pytest.fixture
def receiver() -> Any:
    with ReceiverServer() as state:
        yield state


async def test_a_failed_transfer_reopens_the_call_and_the_webhook_tells_the_truth(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any, runtime: Runtime, receiver: Any
) -> None:
    domain = demo["domain"]
    patched = await client.patch(
        f"/api/v1/domains/{domain}/secretaries/{demo['secretary']}", json={"webhook_url": receiver.url}
    )
    assert patched.status_code == 200
    settings = runtime.settings
    runtime.settings = settings.model_copy(update={"end_grace_s": 1.5})
    try:
        call = f"call-{uuid.uuid4()}"
        await _start(client, demo, call)
        await _say(client, demo, call, "Preciso da segunda via do meu boleto")
        first = await client.post(f"/api/v1/calls/{call}/end", json={"domain_uuid": domain, "outcome": "transferred"})
        assert first.json()["outcome"] == "transferred"
        failed = await client.post(
            f"/api/v1/calls/{call}/events",
            json={
                "domain_uuid": domain,
                "event": "transfer_failed",
                "destination": "203",
                "context": "demo.localhost",
                "detail": "NO_ROUTE_DESTINATION",
            },
        )
        assert failed.status_code == 202, failed.text
        reopened = await _conversation(db, call)
        assert reopened["ended_at"] is None and reopened["outcome"] is None
        assert reopened["transfer_destination"] is None
        truth = await client.post(
            f"/api/v1/calls/{call}/end",
            json={"domain_uuid": domain, "outcome": "transferred", "destination": "200", "context": "demo.localhost"},
        )
        assert truth.json()["outcome"] == "transferred" and truth.json()["transfer"]["destination"] == "200"

        async def delivered() -> bool:
            return len(receiver.received) >= 1

        await _until(delivered)
        await asyncio.sleep(2.0)  # the first end's job is due by now too: it must not have reported anything
    finally:
        runtime.settings = settings
    assert len(receiver.received) == 1
    body = json.loads(receiver.received[0].body)
    assert body["outcome"] == "transferred"
    assert body["transfer"] == {"destination": "200", "context": "demo.localhost", "department": None}
    log = await db.fetch(
        "SELECT m.text FROM v_voice_messages m JOIN v_voice_conversations c USING (voice_conversation_uuid)"
        " WHERE c.call_uuid = $1 AND m.role = 'system'",
        call,
    )
    assert [r["text"] for r in log] == ["[transfer_failed] 203@demo.localhost NO_ROUTE_DESTINATION"]


async def test_stale_calls_are_closed_by_a_periodic_job(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any, runtime: Runtime
) -> None:
    silent, talked, fresh = (f"call-{uuid.uuid4()}" for _ in range(3))
    for call in (silent, talked, fresh):
        await _start(client, demo, call)
    await _say(client, demo, talked, "Vocês abrem no sábado?")
    await db.execute(
        "UPDATE v_voice_conversations SET update_date = now() - interval '31 minutes' WHERE call_uuid = ANY($1)",
        [silent, talked],
    )
    assert runtime.settings.stale_call_minutes == 30
    lifecycle = CallLifecycle(runtime)
    # the shared runtime's scheduler may close some of them first (its tick is every minute): what matters is
    # that they end closed, once, with their note — not who closed them
    await lifecycle.close_stale(runtime.settings.stale_call_minutes)
    rows = {call: await _conversation(db, call) for call in (silent, talked, fresh)}
    assert rows[silent]["outcome"] == "abandoned" and rows[talked]["outcome"] == "hangup"
    assert rows[fresh]["ended_at"] is None
    notes = await db.fetchval(
        "SELECT count(*) FROM v_voice_messages WHERE role = 'system' AND text LIKE '[stale]%'"
        " AND voice_conversation_uuid = ANY($1)",
        [rows[silent]["voice_conversation_uuid"], rows[talked]["voice_conversation_uuid"]],
    )
    assert notes == 2  # one each: closed once
    await lifecycle.close_stale(30)  # nothing left to close
    assert (await _conversation(db, fresh))["ended_at"] is None
    assert (
        await db.fetchval(
            "SELECT count(*) FROM v_voice_messages WHERE role = 'system' AND text LIKE '[stale]%'"
            " AND voice_conversation_uuid = ANY($1)",
            [rows[silent]["voice_conversation_uuid"], rows[talked]["voice_conversation_uuid"]],
        )
        == 2
    )
    # the service's worker takes part in the every-minute schedule that runs the closer
    scheduled = await db.fetchval(
        "SELECT expression FROM v_voice_ai_pgqueuer_schedules WHERE entrypoint = $1", EVERY_MINUTE
    )
    assert scheduled == "* * * * *"


async def test_a_transfer_failed_report_reopens_only_a_call_transferred_there(
    client: httpx.AsyncClient, demo: dict[str, Any], db: Any
) -> None:
    """A late or stray transfer_failed (a hangup already reported, a transfer elsewhere) is noted in the log and
    changes nothing else: the end that was reported stands."""
    domain = demo["domain"]

    async def failed(call: str, destination: str | None) -> None:
        body = {"domain_uuid": domain, "event": "transfer_failed", "detail": "NO_ROUTE_DESTINATION"}
        answer = await client.post(
            f"/api/v1/calls/{call}/events", json=body | ({"destination": destination} if destination else {})
        )
        assert answer.status_code == 202, answer.text

    hung_up, elsewhere, transferred = (f"call-{uuid.uuid4()}" for _ in range(3))
    for call in (hung_up, elsewhere, transferred):
        await _start(client, demo, call)
        await _say(client, demo, call, "Preciso da segunda via do meu boleto")  # the turn decides 203
    await client.post(f"/api/v1/calls/{hung_up}/end", json={"domain_uuid": domain, "outcome": "hangup"})
    await client.post(
        f"/api/v1/calls/{elsewhere}/end",
        json={"domain_uuid": domain, "outcome": "transferred", "destination": "200", "context": "demo.localhost"},
    )
    await client.post(f"/api/v1/calls/{transferred}/end", json={"domain_uuid": domain, "outcome": "transferred"})
    await failed(hung_up, "203")
    await failed(elsewhere, "203")  # it went to 200: a report about 203 is not about this call's end
    await failed(transferred, None)  # no destination given: the transfer it ended with
    rows = {call: await _conversation(db, call) for call in (hung_up, elsewhere, transferred)}
    assert rows[hung_up]["outcome"] == "hangup" and rows[hung_up]["ended_at"] is not None
    assert rows[elsewhere]["outcome"] == "transferred" and rows[elsewhere]["transfer_destination"] == "200"
    assert rows[transferred]["ended_at"] is None and rows[transferred]["outcome"] is None  # re-opened
    for call in (hung_up, elsewhere):
        notes = await db.fetch(
            "SELECT text FROM v_voice_messages WHERE voice_conversation_uuid = $1 AND role = 'system'",
            rows[call]["voice_conversation_uuid"],
        )
        assert [n["text"] for n in notes] == ["[transfer_failed] 203 NO_ROUTE_DESTINATION"]


async def test_an_end_whose_job_could_not_be_queued_is_stored_and_its_work_done_later(
    client: httpx.AsyncClient,
    demo: dict[str, Any],
    db: Any,
    runtime: Runtime,
    receiver: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The end is stored before its job is queued: when the queue fails then, ``/end`` still answers 200, and the
    every-minute job queues the summary and the webhook of ends whose work was never done. A webhook whose own
    job was lost is queued again the same way."""
    domain = demo["domain"]
    patched = await client.patch(
        f"/api/v1/domains/{domain}/secretaries/{demo['secretary']}", json={"webhook_url": receiver.url}
    )
    assert patched.status_code == 200
    assert runtime.jobs is not None
    queue = runtime.jobs

    async def down(*_: Any, **__: Any) -> None:
        raise DatabaseUnavailableError("the job queue's database is unavailable (ConnectionRefusedError)")

    call = f"call-{uuid.uuid4()}"
    await _start(client, demo, call)
    await _say(client, demo, call, "Vocês abrem no sábado?")
    monkeypatch.setattr(queue, "finish_call", down)
    ended = await client.post(f"/api/v1/calls/{call}/end", json={"domain_uuid": domain, "outcome": "resolved"})
    assert ended.status_code == 200, ended.text
    monkeypatch.undo()
    row = await _conversation(db, call)
    assert row["outcome"] == "resolved" and row["finished_at"] is None
    await runtime.every_minute()
    assert (await _conversation(db, call))["finished_at"] is None  # within the grace period: not lost yet
    await db.execute(
        "UPDATE v_voice_conversations SET ended_at = ended_at - interval '10 minutes' WHERE call_uuid = $1", call
    )

    monkeypatch.setattr(queue, "webhook", down)  # the webhook's job is lost too
    await runtime.every_minute()

    async def finished() -> bool:
        return (await _conversation(db, call))["finished_at"] is not None

    await _until(finished)
    monkeypatch.undo()
    delivery = await db.fetchrow(
        "SELECT status, attempts FROM v_voice_ai_webhook_deliveries WHERE domain_uuid = $1", uuid.UUID(domain)
    )
    assert (delivery["status"], delivery["attempts"]) == ("pending", 0) and receiver.received == []
    await db.execute(
        "UPDATE v_voice_ai_webhook_deliveries SET update_date = now() - interval '10 minutes' WHERE domain_uuid = $1",
        uuid.UUID(domain),
    )
    await runtime.every_minute()

    async def delivered() -> bool:
        return len(receiver.received) == 1

    await _until(delivered)
    assert json.loads(receiver.received[0].body)["call_uuid"] == call


async def test_line_events_count_as_activity(client: httpx.AsyncClient, demo: dict[str, Any], db: Any) -> None:
    call = f"call-{uuid.uuid4()}"
    await _start(client, demo, call)
    await db.execute(
        "UPDATE v_voice_conversations SET update_date = now() - interval '40 minutes' WHERE call_uuid = $1", call
    )
    await client.post(
        f"/api/v1/calls/{call}/events", json={"domain_uuid": demo["domain"], "event": "dtmf", "digits": "1"}
    )
    recent = await db.fetchval(
        "SELECT update_date > now() - interval '1 minute' FROM v_voice_conversations WHERE call_uuid = $1", call
    )
    assert recent


async def test_one_rule_for_a_dialplan_word_where_it_is_saved_and_where_the_call_flow_reports_it(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    """A transfer rule or an operator is saved, and ``/end`` or ``transfer_failed`` report, with the same token rules
    (those of the call flow's own check): ASCII, no leading flag character; ``@`` is allowed in a context."""
    domain = demo["domain"]
    rules = f"/api/v1/domains/{domain}/transfer-rules"
    call = f"call-{uuid.uuid4()}"
    await _start(client, demo, call)
    samples = [
        ({"destination": "-bleg"}, False),
        ({"destination": "ramal_ç"}, False),
        ({"context": "contexto_ç"}, False),
        ({"destination": "*97", "context": "sales@demo.localhost"}, True),
        ({"destination": "+5541999998888", "context": "demo.localhost"}, True),
    ]
    for target, valid in samples:
        rule = {"department_name": f"D{uuid.uuid4().hex[:6]}", "destination_number": target.get("destination", "200")}
        if "context" in target:
            rule["destination_context"] = target["context"]
        saved = await client.post(rules, json=rule)
        reported = await client.post(
            f"/api/v1/calls/{call}/events", json={"domain_uuid": domain, "event": "transfer_failed", **target}
        )
        assert (saved.status_code == 201, reported.status_code == 202) == (valid, valid), (target, saved.text)
