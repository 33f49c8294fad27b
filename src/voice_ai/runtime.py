"""What one running service holds: settings, the database (embedded or external), the secret box.

Built in ``create_app``'s lifespan (and by CLI commands that need the database), never at import time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from types import TracebackType

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from voice_ai import jobs
from voice_ai.core.config import Settings
from voice_ai.core.crypto import SecretBox
from voice_ai.core.errors import ServiceUnavailableError
from voice_ai.db import migrate
from voice_ai.db.embedded import EmbeddedPostgres
from voice_ai.db.engine import create_engine, create_sessionmaker
from voice_ai.db.repositories.audio import AudioRepository
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.providers.base import EmbeddingsProvider
from voice_ai.providers.manager import ProviderManager
from voice_ai.providers.ratelimit import PostgresRateLimiter
from voice_ai.understanding import common as understanding_words

logger = logging.getLogger(__name__)
LOST_JOB_S = 300.0  # a job that should have run this long ago and left no trace was lost: queued again


class DatabaseStartError(RuntimeError):
    """The configured database URL is unusable or the server cannot be reached."""


def _describe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


class Runtime:
    """Start with ``await runtime.start()`` (or ``async with``); ``stop()`` releases everything."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.secret_box = SecretBox.from_settings(
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            settings.resolved_secret_key_file,
        )
        self._embedded: EmbeddedPostgres | None = None
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._background_engine: AsyncEngine | None = None
        self._background_sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self.standalone = False
        self.providers: ProviderManager | None = None
        self.jobs: jobs.JobQueue | None = None
        self.worker: jobs.Worker | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("runtime not started")
        return self._engine

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        if self._sessionmaker is None:
            raise RuntimeError("runtime not started")
        return self._sessionmaker

    @property
    def background_sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for background jobs, on their own small pool (see ``_start``)."""
        if self._background_sessionmaker is None:
            raise RuntimeError("runtime not started")
        return self._background_sessionmaker

    async def start(self, *, migrate_schema: bool | None = None) -> Runtime:
        try:
            return await self._start(migrate_schema)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, migrate_schema: bool | None) -> Runtime:
        # Offline models (the assembled Whisper model) live with the rest of the service's data.
        os.environ.setdefault("VOICE_AI_MODEL_CACHE", str(self.settings.data_dir.resolve() / "models"))
        understanding_words.preload()  # the first turn must not wait for the word lists (voice_ai.understanding)
        url = self.settings.database_url
        if url is None:
            self._embedded = EmbeddedPostgres(self.settings.pgdata_dir)
            url = await asyncio.to_thread(self._embedded.start)
            logger.info("embedded PostgreSQL running at %s", self.settings.pgdata_dir)
        settings = self.settings
        try:
            self._engine = create_engine(
                url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_timeout_s=settings.db_pool_timeout_s,
                connect_timeout_s=settings.db_connect_timeout_s,
            )
            # Background jobs (indexing, summaries, webhooks, the every-minute job) have a pool of their own: they
            # never take the connections calls need. It opens as many connections as the worker runs jobs at once
            # (each job holds at most one, and only while it reads or writes — never while a model or a receiver
            # works), so no job waits for one: a job that raised for want of a connection would not be retried.
            self._background_engine = create_engine(
                url,
                pool_size=2,
                max_overflow=jobs.MAX_CONCURRENT_JOBS - 2,
                connect_timeout_s=settings.db_connect_timeout_s,
            )
        except (ValueError, ArgumentError) as exc:
            raise DatabaseStartError(
                f"VOICE_AI_DATABASE_URL is not a usable PostgreSQL URL ({exc}); expected "
                "postgresql://USER:PASSWORD@HOST:5432/DATABASE"
            ) from None
        self._sessionmaker = create_sessionmaker(self._engine)
        self._background_sessionmaker = create_sessionmaker(self._background_engine)
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, DBAPIError, TimeoutError, ServiceUnavailableError) as exc:
            reason = exc.__cause__ if isinstance(exc, ServiceUnavailableError) else getattr(exc, "orig", None) or exc
            raise DatabaseStartError(
                f"cannot connect to PostgreSQL at {_describe(url)}: {type(reason).__name__}: {reason}"
            ) from None
        dsn = jobs.asyncpg_dsn(str(self._engine.url.render_as_string(hide_password=False)))
        if self.settings.auto_migrate if migrate_schema is None else migrate_schema:
            await migrate.upgrade(self._engine)
            await jobs.install(dsn)
        self.standalone = await self._detect_standalone()
        self.providers = ProviderManager(
            self.sessionmaker, self.secret_box, limiter=PostgresRateLimiter(self.sessionmaker)
        )
        self.jobs = jobs.JobQueue(dsn)
        if self.settings.worker:
            await self.start_worker()
        return self

    async def start_worker(self) -> None:
        """Consume background jobs (document ingestion) in this process."""
        if self.worker is None:
            self.worker = jobs.Worker(
                self.jobs.dsn if self.jobs else "",
                self._ingest,
                self._webhook,
                self._finish_call,
                every_minute=self.every_minute,
            )
            await self.worker.start()

    async def embedder(self, domain_uuid: uuid.UUID, session: AsyncSession | None = None) -> EmbeddingsProvider | None:
        """The tenant's embeddings provider (documents and questions must use the same one)."""
        if self.providers is None:
            return None
        chain = await self.providers.chain(domain_uuid, "embeddings", session=session)
        provider = chain.members[0].provider if chain.members else None
        return provider if isinstance(provider, EmbeddingsProvider) else None

    async def _webhook(self, domain_uuid: uuid.UUID, delivery_uuid: uuid.UUID) -> None:
        from voice_ai.services.webhooks import deliver

        await deliver(self, domain_uuid, delivery_uuid)

    async def _finish_call(
        self, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID, ended_at: datetime | None
    ) -> None:
        from voice_ai.conversation.lifecycle import CallLifecycle

        await CallLifecycle(self).finish(domain_uuid, conversation_uuid, ended_at)

    async def every_minute(self) -> None:
        """The system's housekeeping, run every minute by the job scheduler (one instance per tick): end the calls
        nobody ended, queue the end-of-call work and the webhook deliveries whose jobs were never queued or were
        lost, and delete expired reply clips. Each part runs even when another failed."""
        from voice_ai.conversation.lifecycle import CallLifecycle
        from voice_ai.services.webhooks import queue_overdue

        lifecycle = CallLifecycle(self)
        parts: tuple[tuple[str, Callable[[], Awaitable[int]]], ...] = (
            ("closing stale calls", lambda: lifecycle.close_stale(self.settings.stale_call_minutes)),
            ("queueing unfinished ends", lambda: lifecycle.queue_unfinished(self.settings.end_grace_s + LOST_JOB_S)),
            ("queueing overdue webhooks", lambda: queue_overdue(self, LOST_JOB_S)),
            ("purging expired reply clips", self._purge_clips),
        )
        for what, part in parts:
            try:
                await part()
            except Exception:
                logger.exception("every-minute job: %s failed", what)

    async def _purge_clips(self) -> int:
        """Expired replies (cached phrases never expire)."""
        async with self.background_sessionmaker() as session, session.begin():
            return await AudioRepository(session).purge_expired()

    async def _ingest(self, domain_uuid: uuid.UUID, document_uuid: uuid.UUID) -> None:
        from voice_ai.rag.ingest import ingest_document

        embedder = await self.embedder(domain_uuid)
        await ingest_document(self.background_sessionmaker, domain_uuid, document_uuid, embedder=embedder)

    async def refresh_standalone(self) -> bool:
        """Re-detect the mode when it says "fusionpbx" (e.g. `voice-ai db upgrade` ran after start-up)."""
        if not self.standalone:
            self.standalone = await self._detect_standalone()
        return self.standalone

    async def _detect_standalone(self) -> bool:
        if self.settings.mode != "auto":
            return self.settings.mode == "standalone"
        async with self.sessionmaker() as session:
            return await DomainRepository(session).is_standalone()

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None
        if self.jobs is not None:
            await self.jobs.close()
            self.jobs = None
        if self.providers is not None:
            await self.providers.aclose()
            self.providers = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = self._sessionmaker = None
        if self._background_engine is not None:
            await self._background_engine.dispose()
            self._background_engine = self._background_sessionmaker = None
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)
            self._embedded = None

    async def __aenter__(self) -> Runtime:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
