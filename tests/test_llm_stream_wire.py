"""Streamed decisions at the wire level: each vendor's SDK or HTTP client against a local server speaking the
vendor's documented streaming protocol (OpenAI ``chat.completion.chunk`` events, Anthropic's Messages events with
``input_json_delta``, Gemini's ``streamGenerateContent?alt=sse``). The server holds the rest of the reply until the
test saw the first sentence: a stream faked by one whole answer cannot pass."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from fakes.vendors import ANTHROPIC_KEY, OPENAI_KEY, VENDOR_KEY
from voice_ai.conversation.reply import DecisionReader
from voice_ai.providers.errors import ProviderAuthError, ProviderError
from voice_ai.providers.llm.decision import DECISION_SCHEMA
from voice_ai.providers.llm.sentences import SentenceCutter
from voice_ai.providers.registry import provider_class
from voice_ai.providers.types import ChatMessage, DialogContext, Passage

CONTEXT = DialogContext(company_name="Contabilidade Exata", passages=[Passage("Atendemos das 8h às 18h.")])
QUESTION = [ChatMessage("user", "Qual o horário?")]
REPLY = {
    "response": "Funcionamos das 8h às 18h. Aos sábados, das 8h ao meio-dia.",
    "action": "continue",
    "department": None,
}


def _llm(vendors: Any, name: str) -> Any:
    config: dict[str, Any] = {
        "openai": {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1"},
        "anthropic": {"api_key": ANTHROPIC_KEY, "base_url": vendors.base_url},
        "gemini": {"api_key": VENDOR_KEY, "base_url": vendors.base_url},
    }[name]
    return provider_class("llm", name).from_config({**config, "max_retries": 1, "timeout_s": 10})


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
async def test_the_first_sentence_arrives_before_the_vendor_sends_the_rest(vendors: Any, name: str) -> None:
    vendors.reply = dict(REPLY)
    vendors.split_after = "18h. A"
    vendors.gate = threading.Event()
    reader, cutter = DecisionReader(), SentenceCutter()
    stream = _llm(vendors, name).decide_stream(QUESTION, context=CONTEXT, schema=DECISION_SCHEMA)
    first: list[str] = []
    try:
        async for delta in stream:
            reader.feed(delta)
            first = cutter.update(reader.response)
            if first:
                break
        # the server is still holding the rest: only its first piece was sent
        assert first == ["Funcionamos das 8h às 18h."]
        assert vendors.sent_pieces == 1 and "sábados" not in reader.buffer
        # the schema's order: the action was known before the words
        assert list(reader.value)[:3] == ["action", "department", "response"] and reader.action_known()
        vendors.gate.set()
        async for delta in stream:
            reader.feed(delta)
    finally:
        vendors.gate.set()
        await stream.aclose()
    reader.finish()
    assert reader.value == REPLY
    assert cutter.update(reader.response) + cutter.flush() == ["Aos sábados, das 8h ao meio-dia."]
    assert vendors.sent_pieces > 2
    sent = vendors.requests[-1]
    if name == "openai":
        assert sent.body["stream"] is True and sent.body["response_format"]["json_schema"]["schema"] == DECISION_SCHEMA
    elif name == "anthropic":
        assert sent.body["stream"] is True and sent.body["tool_choice"] == {"type": "tool", "name": "respond"}
    else:
        assert sent.path.endswith(":streamGenerateContent") and sent.query["alt"] == ["sse"]
        assert sent.body["generationConfig"]["responseJsonSchema"] == DECISION_SCHEMA


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
async def test_errors_before_the_first_delta_are_retried_then_typed(vendors: Any, name: str) -> None:
    vendors.reply = dict(REPLY)
    llm = _llm(vendors, name)
    vendors.script[:] = [503]
    pieces = [d async for d in llm.decide_stream(QUESTION, schema=DECISION_SCHEMA)]
    assert "".join(pieces).startswith('{"action": "continue"') and len(vendors.requests) == 2
    vendors.reset()
    vendors.script[:] = [500, 500]
    with pytest.raises(ProviderError) as failed:
        _ = [d async for d in llm.decide_stream(QUESTION, schema=DECISION_SCHEMA)]
    assert failed.value.kind == "unavailable" and len(vendors.requests) == 2


async def test_a_bad_key_and_a_stream_cut_mid_way_are_typed_errors(vendors: Any) -> None:
    bad = provider_class("llm", "openai").from_config(
        {"api_key": "sk-wrong-key-000000000000000000", "base_url": f"{vendors.base_url}/v1", "max_retries": 3}
    )
    with pytest.raises(ProviderAuthError):
        _ = [d async for d in bad.decide_stream(QUESTION, schema=DECISION_SCHEMA)]
    assert len(vendors.requests) == 1  # not retried
    vendors.reset()
    vendors.reply = dict(REPLY)
    vendors.split_after = "18h. A"
    vendors.stream_fail = True
    got: list[str] = []
    with pytest.raises(ProviderError):
        async for delta in _llm(vendors, "openai").decide_stream(QUESTION, schema=DECISION_SCHEMA):
            got.append(delta)
    assert got and "18h. A" in "".join(got)  # what came before the cut was handed out; nothing retried after it
    assert len(vendors.requests) == 1


async def test_the_builtin_policy_streams_its_decision_at_once() -> None:
    from voice_ai.providers.types import TransferTarget

    policy = provider_class("llm", "policy").from_config({})
    context = DialogContext(transfer_targets=[TransferTarget("Financeiro", "203", "boletos", ("boleto",))])
    pieces = [
        d
        async for d in policy.decide_stream(
            [ChatMessage("user", "quero falar com o financeiro")], context=context, schema=DECISION_SCHEMA
        )
    ]
    reader = DecisionReader()
    reader.feed(pieces[0])
    assert len(pieces) == 1 and reader.action_known()
    assert list(reader.value) == ["action", "department", "response"] and reader.value["department"] == "Financeiro"
