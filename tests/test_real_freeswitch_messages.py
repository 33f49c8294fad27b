"""A caller leaves a message through the real FreeSWITCH 1.10.12 running the project's Lua, against the real
service (issue 13): the turn-based call flow needs nothing of its own for it — the capture is the service's, each
of its turns an ordinary ``continue`` — and the message is stored, confirmed, with the caller ID read back.

FreeSWITCH, the service and the fake STT are the session's (tests/real_freeswitch_fixtures.py; the fake STT
recognises the fixture WAVs and answers their known words: exact on every run and CPU). Skips without
``VOICE_AI_TEST_FREESWITCH``.
"""

from __future__ import annotations

import httpx
import pytest

from real_freeswitch import FIXTURES, FreeSwitch
from real_freeswitch_fixtures import CONTEXT, Service  # the session's FreeSWITCH, service and fake STT
from test_real_freeswitch import WORDS, heard, replies, transcripts
from voice_ai.conversation.phrases import phrase

pytestmark = pytest.mark.slow

SAID = ("leave_message", "caller_name", "yes", "message_body", "confirmed")
CALLER_ID = "+5531999990000"


def test_a_caller_leaves_a_message_on_the_real_freeswitch(freeswitch: FreeSwitch, service: Service) -> None:
    steps = ["listen"]
    for name in (*SAID, "goodbye"):  # the caller says goodbye after the message: the secretary ends the call
        steps += [f"say {FIXTURES / name}.wav", "listen"]
    call = freeswitch.call("8000", CONTEXT, steps, caller_id=CALLER_ID)
    stored = service.stored(call)
    said = "\n".join(f"{m['role']}: {m['text']} ({m['action']})" for m in stored["messages"])
    assert call.reached is None, said  # the secretary kept the call: nobody was rung
    assert transcripts(stored) == [WORDS[name] for name in (*SAID, "goodbye")]
    assert stored["outcome"] == "resolved"
    spoken = [m["text"] for m in replies(stored)]
    assert spoken[0] == phrase("pt", "message_ask_name")
    assert spoken[1] == "Obrigada, Ana Lima. Podemos retornar a ligação para o número 5 5 3 1 9 9 9 9 9 0 0 0 0?"
    assert spoken[2] == phrase("pt", "message_ask_body")
    assert spoken[3].startswith("Anotei: recado de Ana Lima, retorno no número 5 5 3 1 9 9 9 9 9 0 0 0 0:")
    assert spoken[4] == phrase("pt", "message_taken")
    assert [m["action"] for m in replies(stored)] == ["continue"] * 5 + ["hangup"]
    assert len(heard(call)) >= 7  # the greeting and the six replies reached the caller

    left = httpx.get(
        f"{service.base}/api/v1/domains/{service.domain}/caller-messages",
        params={"conversation_uuid": str(stored["voice_conversation_uuid"])},
        timeout=30,
    ).json()["items"]
    assert [(m["caller_name"], m["callback_number"], m["body"], m["confirmed"], m["status"]) for m in left] == [
        ("Ana Lima", "5531999990000", "A reunião de amanhã mudou para as quinze horas", True, "new")
    ]
