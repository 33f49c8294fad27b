"""Tools at the wire level: each vendor's function-calling protocol (the real SDKs for OpenAI and Anthropic, HTTP for
Gemini) against a local server, and a real HTTP call to a local tool with its secret header — the loop until the
decision, the bounds (calls per turn, time, size), failures the model reads, and the built-in policy that never
calls a tool."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fakes.tool_servers import TOOL_KEY, ToolServer, ToolServers
from fakes.vendors import ANTHROPIC_KEY, OPENAI_KEY, VENDOR_KEY
from voice_ai.providers import deadline
from voice_ai.providers.llm.decision import DECISION_SCHEMA
from voice_ai.providers.registry import provider_class
from voice_ai.providers.types import ChatMessage, DialogContext
from voice_ai.tools.spec import ToolSpec
from voice_ai.tools.toolbox import Toolbox
from voice_ai.tools.urls import networks

QUESTION = [ChatMessage("user", "Qual o status do meu pedido 123?")]
CONTEXT = DialogContext(company_name="Loja Exata")
ORDER_PARAMETERS = {
    "type": "object",
    "properties": {"order": {"type": "string", "maxLength": 20, "description": "The order number"}},
    "required": ["order"],
    "additionalProperties": False,
}
LOOPBACK = networks("127.0.0.1/32")


@pytest.fixture(scope="module")
def tool_server() -> Iterator[ToolServers]:
    with ToolServer() as state:
        yield state


@pytest.fixture
def servers(tool_server: ToolServers) -> ToolServers:
    tool_server.reset()
    return tool_server


def toolbox(servers: ToolServers, path: str = "orders/{order}", **extra: Any) -> Toolbox:
    spec = ToolSpec(
        "order_status",
        "Looks up an order's delivery status by its number.",
        ORDER_PARAMETERS,
        f"{servers.base_url}/tool/{path}",
        headers={"X-Api-Key": TOOL_KEY},
        **extra,
    )
    return Toolbox([spec], allow=LOOPBACK)


def llm(servers: ToolServers, name: str, **extra: Any) -> Any:
    configs = {
        "openai": {"api_key": OPENAI_KEY, "base_url": f"{servers.base_url}/v1"},
        "anthropic": {"api_key": ANTHROPIC_KEY, "base_url": servers.base_url},
        "gemini": {"api_key": VENDOR_KEY, "base_url": servers.base_url},
    }
    return provider_class("llm", name).from_config({**configs[name], **extra})


VENDORS = ("openai", "anthropic", "gemini")


@pytest.mark.parametrize("vendor", VENDORS)
async def test_the_model_calls_the_tool_and_decides_with_its_result(servers: ToolServers, vendor: str) -> None:
    box = toolbox(servers)
    result = await llm(servers, vendor).chat(QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA, tools=box)
    assert result.data == {"action": "continue", "department": None, "response": "Seu pedido 123 está enviado."}
    assert result.text == "Seu pedido 123 está enviado."
    assert result.info.usage == {"input_tokens": 20, "output_tokens": 10}  # both rounds counted
    # the tool was called once, over HTTP, with its secret header and the argument in its URL
    assert [(r.path, r.headers["x-api-key"]) for r in servers.tool_requests] == [("/tool/orders/123", TOOL_KEY)]
    assert len(servers.vendor_requests) == 2
    first, second = (r.body for r in servers.vendor_requests)
    assert "ferramentas" in json.dumps(first, ensure_ascii=False)  # the tools' instructions, in the call's language
    assert box.log == [
        {"tool": "order_status", "arguments": {"order": "123"}, "ok": True, "status": 200, "ms": box.log[0]["ms"]}
    ]
    tool_body = json.dumps({"order": "123", "status": "enviado"}, separators=(",", ":"))
    if vendor == "openai":
        assert first["tools"] == [
            {
                "type": "function",
                "function": {
                    "name": "order_status",
                    "description": "Looks up an order's delivery status by its number.",
                    "parameters": ORDER_PARAMETERS,
                },
            }
        ]
        assert first["tool_choice"] == "auto" and first["response_format"]["type"] == "json_schema"
        call, answer = second["messages"][-2:]
        assert call["role"] == "assistant" and call["tool_calls"][0]["function"]["name"] == "order_status"
        assert answer == {"role": "tool", "tool_call_id": call["tool_calls"][0]["id"], "content": tool_body}
    elif vendor == "anthropic":
        assert [t["name"] for t in first["tools"]] == ["order_status", "respond"]
        assert first["tools"][0]["input_schema"] == ORDER_PARAMETERS and first["tool_choice"] == {"type": "any"}
        call, answer = second["messages"][-2:]
        assert call["role"] == "assistant" and call["content"][0]["type"] == "tool_use"
        assert answer["role"] == "user"
        assert answer["content"] == [
            {"type": "tool_result", "tool_use_id": call["content"][0]["id"], "content": tool_body, "is_error": False}
        ]
    else:
        declarations = first["tools"][0]["functionDeclarations"]
        assert [d["name"] for d in declarations] == ["order_status", "respond"]
        assert declarations[0]["parametersJsonSchema"] == ORDER_PARAMETERS
        assert declarations[1]["parametersJsonSchema"] == DECISION_SCHEMA
        assert first["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
        call, answer = second["contents"][-2:]
        assert call["role"] == "model" and call["parts"][0]["functionCall"]["name"] == "order_status"
        assert answer == {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "order_status",
                        "response": {"order": "123", "status": "enviado"},
                        "id": call["parts"][0]["functionCall"]["id"],
                    }
                }
            ],
        }


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_failing_tool_is_an_error_the_model_reads_and_the_call_goes_on(
    servers: ToolServers, vendor: str
) -> None:
    box = toolbox(servers, "fail")
    result = await llm(servers, vendor).chat(QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA, tools=box)
    assert result.data is not None and result.data["action"] == "continue"
    assert result.text.startswith("Desculpe, não consegui consultar agora")
    assert box.log[0]["ok"] is False and box.log[0]["status"] == 500 and box.log[0]["error"] == "HTTP 500"
    sent = json.dumps(servers.vendor_requests[-1].body, ensure_ascii=False)
    assert "the tool failed" in sent and "database down" in sent  # the model knows what happened
    if vendor == "anthropic":
        assert servers.vendor_requests[-1].body["messages"][-1]["content"][0]["is_error"] is True


@pytest.mark.parametrize("vendor", VENDORS)
async def test_tool_calls_per_turn_are_bounded_and_the_last_round_must_decide(
    servers: ToolServers, vendor: str
) -> None:
    servers.always_call = True  # a model that would call tools forever
    box = toolbox(servers)
    box.max_calls = 2
    result = await llm(servers, vendor).chat(QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA, tools=box)
    assert result.data is not None and result.data["action"] == "continue"
    assert len(servers.tool_requests) == 2  # the limit, not one more
    last = servers.vendor_requests[-1].body
    if vendor == "openai":
        assert last["tool_choice"] == "none"
    elif vendor == "anthropic":
        assert last["tool_choice"] == {"type": "tool", "name": "respond"}
    else:
        assert last["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == ["respond"]
    assert len(servers.vendor_requests) <= box.max_calls + 2


async def test_a_retried_llm_call_does_not_run_the_tool_twice(servers: ToolServers) -> None:
    """The vendor fails after the tool ran (second request: 500); the retry asks again and gets the same tool call:
    the tool (which could open a ticket) is not called a second time."""
    servers.script[:] = [None, 500]
    box = toolbox(servers)
    result = await llm(servers, "openai", max_retries=1).chat(
        QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA, tools=box
    )
    assert result.text == "Seu pedido 123 está enviado." and result.info.attempts == 2
    assert len(servers.vendor_requests) == 4 and len(servers.tool_requests) == 1


async def test_arguments_that_do_not_fit_the_schema_are_not_sent(servers: ToolServers) -> None:
    servers.calls = [("order_status", {"order": 12})]
    box = toolbox(servers)
    result = await llm(servers, "openai").chat(QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA, tools=box)
    assert servers.tool_requests == []
    assert box.log[0]["error"] == "invalid arguments" and result.text.startswith("Desculpe")
    assert "is not of type" in servers.vendor_requests[-1].body["messages"][-1]["content"]


async def test_a_slow_tool_is_cut_by_its_timeout(servers: ToolServers) -> None:
    box = toolbox(servers, "slow", timeout_s=0.5)
    result = await llm(servers, "anthropic").chat(QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA, tools=box)
    assert box.log[0]["ok"] is False and box.log[0]["error"].startswith("timeout after 0.5")
    assert box.log[0]["ms"] < 3000 and result.text.startswith("Desculpe")


async def test_a_tool_gets_only_what_the_call_turn_has_left(servers: ToolServers) -> None:
    """Inside a live turn the tool's own timeout (8 s) is cut to the turn's remaining time minus the model's final
    round (1.5 s); with no time left it is not even called. Either way the model still answers within the turn."""
    box = toolbox(servers, "slow", timeout_s=8)
    with deadline.within(deadline.now() + 2.7):
        result = await llm(servers, "openai", max_retries=0).chat(
            QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA, tools=box
        )
    assert len(servers.tool_requests) == 1 and result.text.startswith("Desculpe")
    error = box.log[0]["error"]
    assert error.startswith("timeout after") and float(error.split()[2]) <= 1.2, error

    servers.reset()
    box = toolbox(servers, "slow", timeout_s=8)
    with deadline.within(deadline.now() + 1.0):
        result = await llm(servers, "openai", max_retries=0).chat(
            QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA, tools=box
        )
    assert servers.tool_requests == [] and box.log[0]["error"] == "no time left"
    assert result.text.startswith("Desculpe")


async def test_the_built_in_policy_never_calls_a_tool(servers: ToolServers) -> None:
    box = toolbox(servers)
    policy = provider_class("llm", "policy").from_config({})
    result = await policy.chat(QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA, tools=box)
    assert result.data is not None and result.data["action"] in ("continue", "transfer", "hangup")
    assert servers.tool_requests == [] and box.log == []


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_streamed_decision_comes_after_the_tool_rounds(servers: ToolServers, vendor: str) -> None:
    """A streaming call's decision with tools: OpenAI and Anthropic stream every round (the tool call's arguments in
    pieces, then the decision's JSON in pieces, spoken as they come); Gemini gives it whole after the rounds."""
    box = toolbox(servers)
    deltas = [
        d
        async for d in llm(servers, vendor).decide_stream(QUESTION, context=CONTEXT, schema=DECISION_SCHEMA, tools=box)
    ]
    assert json.loads("".join(deltas)) == {
        "action": "continue",
        "department": None,
        "response": "Seu pedido 123 está enviado.",
    }
    assert [r.path for r in servers.tool_requests] == ["/tool/orders/123"]
    if vendor == "openai":
        assert len(deltas) > 3  # streamed, not one piece
        assert all(r.body["stream"] is True for r in servers.vendor_requests) and len(servers.vendor_requests) == 2
        call = servers.vendor_requests[1].body["messages"][-2]["tool_calls"][0]
        assert call["function"] == {"name": "order_status", "arguments": '{"order": "123"}'}  # the pieces, joined
    elif vendor == "anthropic":
        assert len(deltas) > 3
        assert all(r.body["stream"] is True for r in servers.vendor_requests) and len(servers.vendor_requests) == 2
        call, answer = servers.vendor_requests[1].body["messages"][-2:]
        assert call["content"] == [
            {"type": "tool_use", "id": call["content"][0]["id"], "name": "order_status", "input": {"order": "123"}}
        ]
        assert answer["content"][0]["tool_use_id"] == call["content"][0]["id"]
    else:
        assert len(deltas) == 1
