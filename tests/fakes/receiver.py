"""A local webhook receiver (like a CRM endpoint): records deliveries; can be switched 'down' (503)."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from helpers import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    up: bool = True
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    url: str = ""
    delay_s: float = 0.0  # a slow receiver: each request waits this long before it is answered
    in_flight: int = 0


class ReceiverServer:
    def __init__(self) -> None:
        self.state = Receiver()
        port = free_port()
        self.state.url = f"http://127.0.0.1:{port}/hooks/voice"

        async def hook(request: Request) -> Any:
            if self.state.delay_s:
                self.state.in_flight += 1
                try:
                    await asyncio.sleep(self.state.delay_s)
                finally:
                    self.state.in_flight -= 1
            if not self.state.up:
                self.state.refused += 1
                return JSONResponse({"error": "maintenance"}, 503)
            self.state.received.append(
                Received({k.lower(): v for k, v in request.headers.items()}, await request.body())
            )
            return JSONResponse({"ok": True})

        app = Starlette(routes=[Route("/hooks/voice", hook, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self.state

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
