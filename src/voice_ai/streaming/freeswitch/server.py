"""The service's event socket server for streaming calls (FreeSWITCH's ``socket`` application connects here, one
connection per call), and what the WebSocket route needs to find a call: started in the app's lifespan.

Bind: ``VOICE_AI_ESL_HOST`` (default 127.0.0.1) / ``VOICE_AI_ESL_PORT`` (default 8084; 0 turns streaming off).
The protocol has no authentication in outbound mode — whoever connects *is* a FreeSWITCH call — so keep it on
loopback, or on a private address that only the FreeSWITCH host can reach (firewall): docs/streaming.md. A port
that cannot be bound does not stop the service (turn-based calls go on); the log says why, and calls in streaming
mode get the entry script's fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging

from voice_ai.core.config import Settings
from voice_ai.streaming.freeswitch.esl import EslConnection
from voice_ai.streaming.freeswitch.pairing import Pairings
from voice_ai.streaming.freeswitch.session import ControllerFactory, FreeswitchCallSession

logger = logging.getLogger(__name__)

_WILDCARD = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 (names of the wildcard address, bound to nothing here)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks(spec: str) -> tuple[Network, ...]:
    """``VOICE_AI_ESL_ALLOW`` parsed: addresses or networks, comma-separated (a bad entry is a start-up error)."""
    networks = []
    for item in (part.strip() for part in spec.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"VOICE_AI_ESL_ALLOW: {item!r} is not an address or a network") from None
    return tuple(networks)


def peer_allowed(peer: object, networks: tuple[Network, ...]) -> bool:
    host = peer[0] if isinstance(peer, tuple) and peer else None
    if not isinstance(host, str):
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.5 on a dual-stack socket
    return any(address in network for network in networks)


def ws_base(settings: Settings) -> str:
    """How FreeSWITCH reaches this service's WebSocket: ``VOICE_AI_STREAM_WS_URL``, else the service's own address
    (loopback when it listens on every address)."""
    if settings.stream_ws_url:
        return settings.stream_ws_url.rstrip("/")
    host = "127.0.0.1" if settings.host in _WILDCARD else settings.host
    return f"ws://{host}:{settings.port}"


class FreeswitchStreaming:
    def __init__(
        self, *, host: str, port: int, ws_base: str, factory: ControllerFactory, allow: str = "127.0.0.1,::1"
    ) -> None:
        self.host, self.port, self.ws_base = host, port, ws_base
        self.allow = allowed_networks(allow)
        self.factory = factory
        self.pairings = Pairings()
        self.sessions: set[FreeswitchCallSession] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> bool:
        try:
            self._server = await asyncio.start_server(
                self._accept, self.host, self.port, limit=512 * 1024, reuse_address=True
            )
        except OSError as exc:
            logger.warning(
                "streaming calls are off: the event socket server cannot listen on %s:%s (%s); set "
                "VOICE_AI_ESL_PORT to a free port (docs/streaming.md)",
                self.host,
                self.port,
                exc,
            )
            return False
        bound = self._server.sockets[0].getsockname()
        self.port = int(bound[1])
        logger.info("event socket server for streaming calls on %s:%s", self.host, self.port)
        return True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not peer_allowed(peer, self.allow):
            # the protocol has no authentication: whoever connects would be trusted as a call of any tenant
            logger.warning("event socket: refused a connection from %s (not in VOICE_AI_ESL_ALLOW)", peer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        session = FreeswitchCallSession(
            EslConnection(reader, writer), pairings=self.pairings, ws_base=self.ws_base, factory=self.factory
        )
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        except Exception:
            logger.exception("call %s: the streaming session failed", session.uuid)
            with contextlib.suppress(Exception):
                await session.esl.close()  # FreeSWITCH resumes the entry script: its fallback
        finally:
            self.sessions.discard(session)
            if task is not None:
                self._tasks.discard(task)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        for session in list(self.sessions):
            with contextlib.suppress(Exception):
                await session.esl.close()
        for task in list(self._tasks):
            task.cancel()
