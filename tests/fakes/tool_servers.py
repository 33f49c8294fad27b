"""A local server for tools at the wire level: the LLM vendors' function-calling protocols (OpenAI Chat Completions
``tools``/``tool_calls``/``tool`` messages, Anthropic Messages ``tool_use``/``tool_result``, Gemini
``functionDeclarations``/``functionCall``/``functionResponse``) and a tenant's HTTP tool (``/tool/...``).

The fake model behaves like a real one following the protocol: while tools are allowed (``tool_choice`` auto/any,
no ``allowedFunctionNames``) and it has not seen a tool's result yet, it calls the scripted tool ``calls``
(``always_call``: it keeps calling, with new arguments each round); then it gives the decision, built from the last
tool result it received: the order's status when the tool answered, an apology when the result was an error. A
numeric step in ``script`` answers that status instead (one per vendor request).

The tool: ``GET /tool/orders/{order}`` needs ``X-Api-Key: TOOL_KEY``; ``/tool/slow`` answers after 5 s,
``/tool/big`` sends 100 KB, ``/tool/redirect`` redirects, ``/tool/fail`` is a 500, ``/tool/echo`` answers the
request's headers back (as they came, and base64; ``?status=`` sets its status), ``/tool/drip`` sends one byte
every 0.3 s for 6 s. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from fakes.vendors import ANTHROPIC_KEY, OPENAI_KEY, VENDOR_KEY
from helpers import free_port

TOOL_KEY = "tool-secret-key-0000000000000000004"


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any
    query: dict[str, str]


@dataclass
class ToolServers:
    base_url: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=lambda: [("order_status", {"order": "123"})])
    always_call: bool = False
    script: list[Any] = field(default_factory=list)
    vendor_requests: list[Seen] = field(default_factory=list)
    tool_requests: list[Seen] = field(default_factory=list)
    rounds: int = 0

    def reset(self) -> None:
        self.calls = [("order_status", {"order": "123"})]
        self.always_call, self.rounds = False, 0
        self.script.clear()
        self.vendor_requests.clear()
        self.tool_requests.clear()

    def next_calls(self) -> list[tuple[str, dict[str, Any]]]:
        self.rounds += 1
        if self.always_call:
            return [("order_status", {"order": str(100 + self.rounds)})]
        return self.calls

    @staticmethod
    def decision(result: Any) -> dict[str, Any]:
        if isinstance(result, str):
            try:
                result = json.loads(result)
            except ValueError:
                result = {"text": result}
        if isinstance(result, dict) and result.get("status") and "error" not in result:
            text = f"Seu pedido {result.get('order')} está {result['status']}."
        else:
            text = "Desculpe, não consegui consultar agora. Quer que eu transfira para um atendente?"
        return {"action": "continue", "department": None, "response": text}


async def _seen(request: Request) -> Seen:
    raw = await request.body()
    body = json.loads(raw) if raw and "json" in request.headers.get("content-type", "") else raw.decode()
    return Seen(request.url.path, {k.lower(): v for k, v in request.headers.items()}, body, dict(request.query_params))


async def _openai_events(model: str, message: dict[str, Any], finish: str) -> Any:
    """A Chat Completions answer as ``chat.completion.chunk`` events: the content in 12-character pieces, or each
    tool call's id and name first and its arguments in pieces (as OpenAI streams them)."""

    def chunk(delta: dict[str, Any], reason: str | None = None) -> str:
        body = {
            "id": "chatcmpl-s", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
        }  # fmt: skip
        return f"data: {json.dumps(body)}\n\n"

    if message.get("tool_calls"):
        for index, call in enumerate(message["tool_calls"]):
            head = {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            yield chunk({"role": "assistant", "tool_calls": [{"index": index, **head}]})
            arguments = call["function"]["arguments"]
            for start in range(0, len(arguments), 5):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[start : start + 5]}}]})
    else:
        content = message["content"]
        for start in range(0, len(content), 12):
            yield chunk({"content": content[start : start + 12]})
    yield chunk({}, finish)
    yield "data: [DONE]\n\n"


async def _anthropic_events(model: str, content: list[dict[str, Any]]) -> Any:
    """A Messages answer as server-sent events: each ``tool_use`` block started with an empty input, its input as
    ``input_json_delta`` pieces, then stopped (as Anthropic streams tool use)."""

    def sse(kind: str, data: dict[str, Any]) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    yield sse(
        "message_start",
        {
            "message": {
                "id": "msg_s", "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1},
            }
        },
    )  # fmt: skip
    for index, block in enumerate(content):
        yield sse("content_block_start", {"index": index, "content_block": {**block, "input": {}}})
        text = json.dumps(block["input"], ensure_ascii=False)
        for start in range(0, len(text), 12):
            piece = {"type": "input_json_delta", "partial_json": text[start : start + 12]}
            yield sse("content_block_delta", {"index": index, "delta": piece})
        yield sse("content_block_stop", {"index": index})
    yield sse(
        "message_delta", {"delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 5}}
    )
    yield sse("message_stop", {})


def build_app(state: ToolServers) -> Starlette:
    def scripted() -> Response | None:
        step = state.script.pop(0) if state.script else None
        if isinstance(step, int):
            return JSONResponse({"error": {"message": f"scripted {step}", "type": "api_error"}}, step)
        return None

    async def openai(request: Request) -> Response:
        seen = await _seen(request)
        state.vendor_requests.append(seen)
        if seen.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
            return JSONResponse({"error": {"message": "bad key"}}, 401)
        failure = scripted()
        if failure is not None:
            return failure
        body = seen.body
        results = [m for m in body["messages"] if m["role"] == "tool"]
        fresh = body["messages"][-1]["role"] != "tool"
        if body.get("tools") and body.get("tool_choice") != "none" and (fresh or state.always_call):
            calls = [
                {
                    "id": f"call_{state.rounds}_{i}",
                    "type": "function",
                    "function": {"name": n, "arguments": json.dumps(a)},
                }
                for i, (n, a) in enumerate(state.next_calls())
            ]
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": calls}
            finish = "tool_calls"
        else:
            decision = state.decision(results[-1]["content"] if results else {})
            message, finish = {"role": "assistant", "content": json.dumps(decision, ensure_ascii=False)}, "stop"
        if body.get("stream"):
            return StreamingResponse(_openai_events(body["model"], message, finish), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-t", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        )  # fmt: skip

    async def anthropic(request: Request) -> Response:
        seen = await _seen(request)
        state.vendor_requests.append(seen)
        if ANTHROPIC_KEY not in (seen.headers.get("x-api-key"), seen.headers.get("authorization", "")[7:]):
            return JSONResponse({"type": "error", "error": {"type": "authentication_error", "message": "bad"}}, 401)
        failure = scripted()
        if failure is not None:
            return failure
        body = seen.body
        last = body["messages"][-1]
        results = [
            block
            for m in body["messages"]
            if m["role"] == "user" and isinstance(m["content"], list)
            for block in m["content"]
            if block.get("type") == "tool_result"
        ]
        fresh = not (isinstance(last["content"], list) and last["content"][0].get("type") == "tool_result")
        if body.get("tool_choice", {}).get("type") == "any" and (fresh or state.always_call):
            content = [
                {"type": "tool_use", "id": f"toolu_{state.rounds}_{i}", "name": n, "input": a}
                for i, (n, a) in enumerate(state.next_calls())
            ]
        else:
            result = results[-1] if results else {}
            decision = state.decision({"error": "x"} if result.get("is_error") else result.get("content", {}))
            content = [{"type": "tool_use", "id": "toolu_final", "name": "respond", "input": decision}]
        if body.get("stream"):
            return StreamingResponse(_anthropic_events(body["model"], content), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "msg_t", "type": "message", "role": "assistant", "model": body["model"], "content": content,
                "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5},
            }
        )  # fmt: skip

    async def gemini(request: Request) -> Response:
        seen = await _seen(request)
        state.vendor_requests.append(seen)
        if seen.headers.get("x-goog-api-key") != VENDOR_KEY:
            return JSONResponse({"error": {"message": "bad key"}}, 401)
        failure = scripted()
        if failure is not None:
            return failure
        body = seen.body
        answers = [p["functionResponse"] for c in body["contents"] for p in c["parts"] if "functionResponse" in p]
        fresh = "functionResponse" not in body["contents"][-1]["parts"][0]
        config = body.get("toolConfig", {}).get("functionCallingConfig", {})
        if body.get("tools") and "allowedFunctionNames" not in config and (fresh or state.always_call):
            parts = [
                {"functionCall": {"name": n, "args": a, "id": f"fc_{state.rounds}_{i}"}}
                for i, (n, a) in enumerate(state.next_calls())
            ]
        else:
            decision = state.decision(answers[-1]["response"] if answers else {})
            parts = [{"functionCall": {"name": "respond", "args": decision}}]
        return JSONResponse(
            {
                "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5},
            }
        )

    async def tool(request: Request) -> Response:
        seen = await _seen(request)
        state.tool_requests.append(seen)
        if seen.headers.get("x-api-key") != TOOL_KEY:
            return JSONResponse({"error": "unauthorized"}, 401)
        rest = request.path_params["rest"]
        if rest == "slow":
            await asyncio.sleep(5)
        if rest == "big":
            return Response(b"x" * 100_000, media_type="text/plain")
        if rest == "redirect":
            return RedirectResponse("/tool/orders/1", 302)
        if rest == "echo":
            echoed = {k: [v, base64.b64encode(v.encode()).decode()] for k, v in seen.headers.items()}
            return JSONResponse({"headers": echoed}, int(seen.query.get("status", "200")))
        if rest == "drip":

            async def drip() -> Any:
                for _ in range(20):
                    yield b" "
                    await asyncio.sleep(0.3)

            return StreamingResponse(drip(), media_type="text/plain")
        if rest == "fail":
            return JSONResponse({"message": "database down"}, 500)
        if rest.startswith("orders/"):
            return JSONResponse({"order": rest.split("/", 1)[1], "status": "enviado"})
        return JSONResponse({"ok": True, "received": seen.body, "query": seen.query})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", openai, methods=["POST"]),
            Route("/v1/messages", anthropic, methods=["POST"]),
            Route("/v1beta/models/{model}:generateContent", gemini, methods=["POST"]),
            Route("/tool/{rest:path}", tool, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]
    )


class ToolServer:
    """Runs :func:`build_app` on a loopback port in a background thread."""

    def __init__(self) -> None:
        self.state = ToolServers()
        self.port = free_port()
        self.state.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(build_app(self.state), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ToolServers:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake tool server did not start")
            time.sleep(0.01)
        return self.state

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
