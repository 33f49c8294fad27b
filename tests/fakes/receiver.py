"""A local webhook receiver (like a CRM endpoint): records deliveries; can be switched 'down' (503)."""

from __future__ import annotations

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


class ReceiverServer:
    def __init__(self) -> None:
        self.state = Receiver()
        port = free_port()
        self.state.url = f"http://127.0.0.1:{port}/hooks/voice"

        async def hook(request: Request) -> Any:
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
