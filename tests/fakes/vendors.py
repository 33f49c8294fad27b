"""A local HTTP server that speaks the vendors' documented wire protocols (OpenAI Chat Completions and
Embeddings, Anthropic Messages, Gemini; streamed decisions as each vendor's server-sent events), so the real SDKs
can be tested without the internet.

A streamed structured decision is the JSON of ``reply`` with its keys in the order of the requested schema (as
OpenAI's structured outputs and Gemini write them), sent in small pieces; with ``split_after`` set, the first
piece ends right after that text, and with ``gate`` set the server then waits for the gate before sending the rest
(a test sees what arrived before the server goes on); ``stream_fail`` cuts the connection after the first piece.

Behaviour is scripted per test through ``FakeVendors.script``: a queue of responses ("ok", a status code,
"slow", or "hang": no answer until the client gives up) consumed one per request; every request is recorded
with its headers and JSON body.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from helpers import free_port

OPENAI_KEY = "sk-test-openai-key-0000000000000001"
ANTHROPIC_KEY = "sk-ant-test-key-00000000000000000002"
VENDOR_KEY = "test-vendor-key-00000000000000000003"  # Deepgram, Azure, Google, ElevenLabs
TRANSCRIPT = "quero a segunda via do boleto"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    query: dict[str, list[str]] = field(default_factory=dict)
    raw: bytes = b""


@dataclass
class FakeVendors:
    script: list[Any] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    reply: dict[str, Any] = field(
        default_factory=lambda: {"response": "Funcionamos das 8h às 18h.", "action": "continue", "department": None}
    )
    base_url: str = ""
    waiting: int = 0  # "slow" requests being held right now
    split_after: str | None = None
    gate: threading.Event | None = None
    stream_fail: bool = False
    sent_pieces: int = 0  # pieces of the last streamed decision sent so far

    def decision_pieces(self, schema: dict[str, Any] | None) -> list[str]:
        order = list((schema or {}).get("properties", {}))
        ordered = {k: self.reply[k] for k in order if k in self.reply} | {
            k: v for k, v in self.reply.items() if k not in order
        }
        text = json.dumps(ordered, ensure_ascii=False)
        first = len(text)
        if self.split_after and self.split_after in text:
            first = text.index(self.split_after) + len(self.split_after)
        rest = text[first:]
        return [text[:first], *(rest[i : i + 12] for i in range(0, len(rest), 12))]

    async def stream_pieces(self, schema: dict[str, Any] | None) -> Any:
        """The decision's pieces, held at the gate after the first one."""
        self.sent_pieces = 0
        for number, piece in enumerate(self.decision_pieces(schema)):
            if number == 1:
                if self.stream_fail:
                    raise ConnectionResetError("scripted failure mid-stream")
                if self.gate is not None:
                    await asyncio.to_thread(self.gate.wait, 10)
            self.sent_pieces += 1
            yield piece

    def next_step(self) -> Any:
        return self.script.pop(0) if self.script else "ok"

    def reset(self) -> None:
        self.script.clear()
        self.requests.clear()
        self.split_after, self.gate, self.stream_fail, self.sent_pieces = None, None, False, 0


def _bad_key(entry: Recorded) -> JSONResponse:
    """OpenAI's 401, repeating the key it was sent (as some vendors do), to check that it never leaks."""
    sent = entry.headers.get("authorization") or entry.headers.get("api-key") or ""
    key = sent.removeprefix("Bearer ")
    return _error(401, f"Incorrect API key provided: {key}. Header sent: {sent}", "invalid_request_error")


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": None}}, status, headers=headers)


def _tone_pcm(rate: int, seconds: float = 0.5) -> bytes:
    import numpy as np

    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def _wav(rate: int) -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(_tone_pcm(rate))
    return buffer.getvalue()


def build_app(state: FakeVendors) -> Starlette:
    async def record(request: Request) -> tuple[Recorded, Any]:
        raw = await request.body()
        body: dict[str, Any] = {}
        if request.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(raw)
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        entry = Recorded(request.url.path, {k.lower(): v for k, v in request.headers.items()}, body, query, raw)
        state.requests.append(entry)
        step = state.next_step()
        if step == "slow":
            state.waiting += 1
            try:
                await asyncio.sleep(5)
            finally:
                state.waiting -= 1
        elif step == "hang":  # a vendor that never answers: holds the request until the client gives up
            for _ in range(1200):
                if await request.is_disconnected():
                    break
                await asyncio.sleep(0.05)
        return entry, step

    async def chat_completions(request: Request) -> Response:
        entry, step = await record(request)
        azure = entry.path.startswith("/openai/deployments/")
        if azure and (entry.headers.get("api-key") != OPENAI_KEY or "api-version" not in entry.query):
            return _error(401, "Access denied due to invalid subscription key", "invalid_request_error")
        if not azure and entry.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
            return _bad_key(entry)
        if step == "garbage":
            return Response("<html>Bad gateway</html>", 200, media_type="text/html")
        if isinstance(step, int):
            headers = {"retry-after": "0"} if step == 429 else None
            return _error(step, f"scripted {step}", "server_error", headers)
        content = json.dumps(state.reply) if "response_format" in entry.body else "ok"
        if entry.body.get("stream") and "response_format" in entry.body:
            schema = entry.body["response_format"].get("json_schema", {}).get("schema")

            async def decision_events() -> Any:
                async for piece in state.stream_pieces(schema):
                    chunk = {
                        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": entry.body["model"],
                        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                    }  # fmt: skip
                    yield f"data: {json.dumps(chunk)}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(decision_events(), media_type="text/event-stream")
        if entry.body.get("stream"):

            async def events() -> Any:
                for piece in ("Funcionamos ", "das 8h ", "às 18h."):
                    chunk = {
                        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": entry.body["model"],
                        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                    }  # fmt: skip
                    yield f"data: {json.dumps(chunk)}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": entry.body["model"],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
            }
        )

    async def embeddings(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
            return _bad_key(entry)
        if isinstance(step, int):
            return _error(step, f"scripted {step}", "server_error")
        inputs = entry.body["input"] if isinstance(entry.body["input"], list) else [entry.body["input"]]
        dims = entry.body.get("dimensions", 8)
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t) % 7 + j) / 10 for j in range(dims)]}
            for i, t in enumerate(inputs)
        ]
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": entry.body["model"],
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            }
        )

    async def messages(request: Request) -> Response:
        entry, step = await record(request)
        # the Messages API accepts the key as x-api-key or, with current SDKs, as a bearer token
        if ANTHROPIC_KEY not in (entry.headers.get("x-api-key"), entry.headers.get("authorization", "")[7:]):
            return JSONResponse(
                {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, 401
            )
        if isinstance(step, int):
            kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(step, "api_error")
            return JSONResponse({"type": "error", "error": {"type": kind, "message": f"scripted {step}"}}, step)
        if entry.body.get("tools") and entry.body.get("stream"):
            tool_spec = entry.body["tools"][0]

            def sse(kind: str, data: dict[str, Any]) -> str:
                return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

            async def tool_events() -> Any:
                yield sse(
                    "message_start",
                    {
                        "message": {
                            "id": "msg_1", "type": "message", "role": "assistant", "model": entry.body["model"],
                            "content": [], "stop_reason": None, "stop_sequence": None,
                            "usage": {"input_tokens": 40, "output_tokens": 1},
                        }
                    },
                )  # fmt: skip
                yield sse(
                    "content_block_start",
                    {"index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": tool_spec["name"], "input": {}}},
                )  # fmt: skip
                async for piece in state.stream_pieces(tool_spec["input_schema"]):
                    yield sse(
                        "content_block_delta",
                        {"index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}},
                    )
                yield sse("content_block_stop", {"index": 0})
                yield sse(
                    "message_delta",
                    {"delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 9}},
                )
                yield sse("message_stop", {})

            return StreamingResponse(tool_events(), media_type="text/event-stream")
        if entry.body.get("tools"):
            tool = entry.body["tools"][0]["name"]
            content: list[dict[str, Any]] = [{"type": "tool_use", "id": "toolu_1", "name": tool, "input": state.reply}]
            stop = "tool_use"
        else:
            content, stop = [{"type": "text", "text": "ok"}], "end_turn"
        return JSONResponse(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": entry.body["model"],
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": 40, "output_tokens": 9},
            }
        )

    def vendor_error(step: Any) -> Response | None:
        if step == "garbage":  # a proxy's HTML page instead of the vendor's JSON
            return Response("<html><body>Bad gateway</body></html>", 200, media_type="text/html")
        if isinstance(step, int):
            return JSONResponse({"error": {"message": f"scripted {step}"}}, step, headers={"retry-after": "0"})
        return None

    def unauthorized() -> Response:
        return JSONResponse({"error": {"message": "invalid credentials"}}, 401)

    async def deepgram_listen(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("authorization") != f"Token {VENDOR_KEY}":
            return unauthorized()
        return vendor_error(step) or JSONResponse(
            {"results": {"channels": [{"alternatives": [{"transcript": TRANSCRIPT, "confidence": 0.91}]}]}}
        )

    async def azure_stt(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("ocp-apim-subscription-key") != VENDOR_KEY:
            return unauthorized()
        return vendor_error(step) or JSONResponse(
            {
                "RecognitionStatus": "Success",
                "DisplayText": TRANSCRIPT,
                "NBest": [{"Confidence": 0.88, "Display": TRANSCRIPT}],
            }
        )

    async def google_stt(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("x-goog-api-key") != VENDOR_KEY:
            return unauthorized()
        return vendor_error(step) or JSONResponse(
            {"results": [{"alternatives": [{"transcript": TRANSCRIPT, "confidence": 0.9}]}]}
        )

    async def openai_transcriptions(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
            return _bad_key(entry)
        return vendor_error(step) or JSONResponse({"text": TRANSCRIPT})

    async def openai_speech(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
            return _bad_key(entry)
        return vendor_error(step) or Response(_tone_pcm(24000), media_type="audio/pcm")

    async def elevenlabs(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("xi-api-key") != VENDOR_KEY:
            return JSONResponse({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, 401)
        if "language_code" in entry.body and not entry.body["model_id"].endswith("v2_5"):
            return JSONResponse({"detail": {"status": "invalid_request", "message": "language_code unsupported"}}, 400)
        rate = int(entry.query["output_format"][0].split("_")[1])
        return vendor_error(step) or Response(_tone_pcm(rate), media_type="audio/pcm")

    async def elevenlabs_stream(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("xi-api-key") != VENDOR_KEY:
            return JSONResponse({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, 401)
        if (error := vendor_error(step)) is not None:
            return error
        pcm = _tone_pcm(int(entry.query["output_format"][0].split("_")[1]), seconds=1.0)

        async def pieces() -> Any:
            for start in range(0, len(pcm), 1001):  # odd sizes: the client must re-align samples
                yield pcm[start : start + 1001]
                await asyncio.sleep(0)

        return StreamingResponse(pieces(), media_type="audio/pcm")

    async def azure_tts(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("ocp-apim-subscription-key") != VENDOR_KEY:
            return unauthorized()
        rate = {"riff-8khz-16bit-mono-pcm": 8000, "riff-16khz-16bit-mono-pcm": 16000}.get(
            entry.headers.get("x-microsoft-outputformat", ""), 24000
        )
        return vendor_error(step) or Response(_wav(rate), media_type="audio/wav")

    async def google_tts(request: Request) -> Response:
        import base64

        entry, step = await record(request)
        if entry.headers.get("x-goog-api-key") != VENDOR_KEY:
            return unauthorized()
        rate = entry.body["audioConfig"]["sampleRateHertz"]
        return vendor_error(step) or JSONResponse({"audioContent": base64.b64encode(_wav(rate)).decode()})

    async def gemini(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("x-goog-api-key") != VENDOR_KEY:
            return JSONResponse(
                {"error": {"code": 403, "message": "API key not valid", "status": "PERMISSION_DENIED"}}, 403
            )
        structured = entry.body.get("generationConfig", {}).get("responseMimeType") == "application/json"
        text = json.dumps(state.reply) if structured else "ok"
        return vendor_error(step) or JSONResponse(
            {
                "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 8, "totalTokenCount": 38},
            }
        )

    async def gemini_stream(request: Request) -> Response:
        entry, step = await record(request)
        if entry.headers.get("x-goog-api-key") != VENDOR_KEY:
            return JSONResponse(
                {"error": {"code": 403, "message": "API key not valid", "status": "PERMISSION_DENIED"}}, 403
            )
        if entry.query.get("alt") != ["sse"]:
            return JSONResponse({"error": {"code": 400, "message": "this fake streams only alt=sse"}}, 400)
        if (error := vendor_error(step)) is not None:
            return error
        schema = entry.body.get("generationConfig", {}).get("responseJsonSchema")

        async def events() -> Any:
            async for piece in state.stream_pieces(schema):
                event = {"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}]}
                yield f"data: {json.dumps(event)}\r\n\r\n"
            last = {
                "candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 8, "totalTokenCount": 38},
            }  # fmt: skip
            yield f"data: {json.dumps(last)}\r\n\r\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/v1beta/models/{model}:streamGenerateContent", gemini_stream, methods=["POST"]),
            Route("/v1/listen", deepgram_listen, methods=["POST"]),
            Route("/speech/recognition/conversation/cognitiveservices/v1", azure_stt, methods=["POST"]),
            Route("/v1/speech:recognize", google_stt, methods=["POST"]),
            Route("/v1/audio/transcriptions", openai_transcriptions, methods=["POST"]),
            Route("/v1/audio/speech", openai_speech, methods=["POST"]),
            Route("/v1/text-to-speech/{voice_id}", elevenlabs, methods=["POST"]),
            Route("/v1/text-to-speech/{voice_id}/stream", elevenlabs_stream, methods=["POST"]),
            Route("/cognitiveservices/v1", azure_tts, methods=["POST"]),
            Route("/v1/text:synthesize", google_tts, methods=["POST"]),
            Route("/v1beta/models/{model}:generateContent", gemini, methods=["POST"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/messages", messages, methods=["POST"]),
            # Azure OpenAI: /openai/deployments/{deployment}/chat/completions?api-version=...
            Route("/openai/deployments/{deployment}/chat/completions", chat_completions, methods=["POST"]),
        ]
    )


class VendorServer:
    """Runs the fake vendors on a loopback port in a background thread."""

    def __init__(self) -> None:
        self.state = FakeVendors()
        self.port = free_port()
        self.state.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(build_app(self.state), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeVendors:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake vendor server did not start")
            time.sleep(0.01)
        return self.state

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
