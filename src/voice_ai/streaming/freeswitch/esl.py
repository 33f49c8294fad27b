"""FreeSWITCH's event socket (ESL), outbound mode: the wire protocol for one call's connection, over asyncio.

FreeSWITCH's ``socket <host>:<port> async full`` application connects to us once per call; we speak the event
socket protocol on that connection (``mod_event_socket.c``):

- a message is ``Name: value`` header lines, a blank line, then ``Content-Length`` bytes of body if that header
  is present;
- every command we send is answered, in order, by one ``command/reply`` (``Reply-Text: +OK …`` / ``-ERR …``) or,
  for ``api``, one ``api/response`` (the text in the body); events (``text/event-json``: the event as a JSON body,
  with a CUSTOM event's own body under ``_body``) arrive in between at any time;
- ``connect`` answers with the channel's data as headers (values URL-encoded);
- ``text/disconnect-notice`` says FreeSWITCH is closing the connection (the call hung up, or lingering ended).

Why not a library: ``genesis`` (asyncio, maintained) pins typer < 0.13, uvicorn < 0.33 and rich < 14 and pulls in
redis, watchdog and OpenTelemetry exporters — it cannot be installed beside this project's own dependencies; the
other Python ESL clients are gevent-based (greenswitch) or unmaintained for years (aioesl, switchio). What we need
is this small, fully tested module: commands answered in order, events to a queue, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 256 * 1024  # the connect reply carries every channel variable
MAX_BODY_BYTES = 16 * 1024 * 1024


class EslError(RuntimeError):
    """The connection is gone, or FreeSWITCH answered ``-ERR``."""


@dataclass
class EslMessage:
    headers: dict[str, str]
    body: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def reply_text(self) -> str:
        """``Reply-Text`` of a command reply, or the body of an API response."""
        return self.headers.get("Reply-Text", self.body).strip()

    @property
    def ok(self) -> bool:
        return not self.reply_text.startswith("-ERR")


@dataclass
class EslEvent:
    """An event (JSON format): its headers as FreeSWITCH names them, and a CUSTOM event's body."""

    headers: dict[str, Any]
    body: str = ""

    @property
    def name(self) -> str:
        return str(self.headers.get("Event-Name", ""))

    @property
    def subclass(self) -> str:
        return str(self.headers.get("Event-Subclass", ""))

    def get(self, name: str, default: str = "") -> str:
        value = self.headers.get(name, default)
        return value if isinstance(value, str) else str(value)


def parse_headers(block: bytes, *, decode: bool = True) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", errors="replace").split("\n"):
        name, sep, value = line.partition(":")
        if not sep:
            continue
        value = value.strip()
        headers[name.strip()] = unquote(value) if decode else value
    return headers


async def read_message(reader: asyncio.StreamReader) -> EslMessage:
    """One message off the wire; raises :class:`asyncio.IncompleteReadError` at end of stream."""
    while True:
        try:
            block = await reader.readuntil(b"\n\n")
        except asyncio.LimitOverrunError as exc:
            raise EslError(f"an event socket header block over {exc.consumed} bytes") from None
        block = block.strip(b"\r\n")
        if block:  # FreeSWITCH may send stray blank lines between messages
            break
    headers = parse_headers(block)
    length = int(headers.get("Content-Length", "0") or 0)
    if length < 0 or length > MAX_BODY_BYTES:
        raise EslError(f"an event socket body of {length} bytes")
    body = (await reader.readexactly(length)).decode("utf-8", errors="replace") if length else ""
    return EslMessage(headers, body)


def parse_event(message: EslMessage) -> EslEvent | None:
    """The event in a ``text/event-json`` message (None when it is not valid JSON)."""
    try:
        data = json.loads(message.body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    body = data.pop("_body", "")
    return EslEvent({str(k): v for k, v in data.items()}, body if isinstance(body, str) else "")


@dataclass
class EslConnection:
    """One outbound event socket connection. ``start()`` reads the wire in a task; events go to ``events``
    (a ``None`` at the end); commands are answered in the order they were sent."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    events: asyncio.Queue[EslEvent | None] = field(default_factory=asyncio.Queue)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _pending: deque[asyncio.Future[EslMessage]] = field(default_factory=deque)
    _task: asyncio.Task[None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def start(self) -> None:
        self._task = asyncio.create_task(self._read_loop(), name="esl-reader")

    async def _read_loop(self) -> None:
        try:
            while True:
                message = await read_message(self.reader)
                kind = message.content_type
                if kind in ("command/reply", "api/response"):
                    if self._pending:
                        future = self._pending.popleft()
                        if not future.done():
                            future.set_result(message)
                    else:
                        logger.warning("event socket: a reply nobody waited for: %s", message.reply_text)
                elif kind == "text/event-json":
                    event = parse_event(message)
                    if event is not None:
                        self.events.put_nowait(event)
                elif kind == "text/disconnect-notice":
                    logger.debug("event socket: disconnect notice: %s", message.body.strip())
                else:
                    logger.debug("event socket: ignored a %r message", kind)
        except (asyncio.IncompleteReadError, ConnectionError, EslError) as exc:
            logger.debug("event socket closed: %s", exc)
        finally:
            self._finish()

    def _finish(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        while self._pending:
            future = self._pending.popleft()
            if not future.done():
                future.set_exception(EslError("the event socket closed"))
        self.events.put_nowait(None)

    async def send(self, command: str, *, headers: dict[str, str] | None = None, deadline_s: float = 10) -> EslMessage:
        """Send one command (its first line, then ``headers``); returns FreeSWITCH's answer."""
        if "\n" in command or any("\n" in f"{k}{v}" for k, v in (headers or {}).items()):
            raise ValueError("an event socket command or header may not contain a line break")
        lines = [command, *(f"{k}: {v}" for k, v in (headers or {}).items())]
        async with self._lock:  # the future and the bytes must go out in the same order
            if self.closed.is_set():
                raise EslError("the event socket is closed")
            future: asyncio.Future[EslMessage] = asyncio.get_running_loop().create_future()
            self._pending.append(future)
            self.writer.write(("\n".join(lines) + "\n\n").encode())
            try:
                await self.writer.drain()
            except ConnectionError as exc:
                self._finish()
                raise EslError(f"the event socket closed: {exc}") from None
        return await asyncio.wait_for(future, deadline_s)

    async def command(self, command: str, *, headers: dict[str, str] | None = None, deadline_s: float = 10) -> str:
        """A command whose ``-ERR`` answer raises :class:`EslError`; returns the reply text."""
        answer = await self.send(command, headers=headers, deadline_s=deadline_s)
        if not answer.ok:
            raise EslError(f"{command.split(' ', 1)[0]}: {answer.reply_text}")
        return answer.reply_text

    async def api(self, command: str, *, deadline_s: float = 10) -> str:
        """An API command (``api <command>``), as ``fs_cli -x`` would run it; returns its text (``-ERR`` too)."""
        return (await self.send(f"api {command}", deadline_s=deadline_s)).reply_text

    async def execute(self, app: str, arg: str = "", *, event_lock: bool = False) -> str:
        """Queue a dialplan application on the call (``sendmsg`` ``execute``): in async mode it runs after those
        already queued, in order, while the socket application parks the call."""
        headers = {"call-command": "execute", "execute-app-name": app}
        if arg:
            headers["execute-app-arg"] = arg
        if event_lock:
            headers["event-lock"] = "true"
        return await self.command("sendmsg", headers=headers)

    async def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 2)
        self._finish()
