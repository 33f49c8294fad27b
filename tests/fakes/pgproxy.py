"""A PostgreSQL that can be "stopped": a Unix-socket forwarder in front of the test server. ``stop()`` resets every
connection and removes the socket, exactly what clients see when PostgreSQL shuts down (connections closed,
then ``FileNotFoundError`` on connect); ``start()`` brings it back (and does nothing while it is up)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile

SOCKET = ".s.PGSQL.5432"


class PgProxy:
    def __init__(self, target_socket_dir: str) -> None:
        self.target = os.path.join(target_socket_dir, SOCKET)
        self.dir = tempfile.mkdtemp(prefix="pgproxy-")
        self.path = os.path.join(self.dir, SOCKET)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.dir}"

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_unix_connection(self.target)
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def start(self) -> None:
        """Listen (again); a no-op while listening, so a ``finally: start()`` after a test body that already
        restarted it does not leave a second server behind."""
        if self._server is None:
            self._server = await asyncio.start_unix_server(self._handle, self.path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await asyncio.sleep(0.1)  # let the forwarding tasks see their sockets closed and finish
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def close(self) -> None:
        await self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
