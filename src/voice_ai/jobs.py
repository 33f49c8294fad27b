"""Background jobs on PostgreSQL with PgQueuer: document ingestion, webhook deliveries, the post-call
summary by the tenant's LLM, and the every-minute housekeeping (stale calls, lost jobs, expired clips).

No extra server: jobs live in the same database (tables prefixed ``v_voice_ai_``), survive restarts, and any
number of service instances or dedicated workers (``voice-ai worker``) share them. A job whose worker died
is picked up again once its heartbeat is stale.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

PREFIX = "v_voice_ai_"
INGEST = "ingest_document"
WEBHOOK = "deliver_webhook"
FINISH = "finish_call"
EVERY_MINUTE = "every_minute"
EVERY_MINUTE_CRON = "* * * * *"
# Jobs one worker runs at once, by entrypoint; the background database pool opens as many connections (each job
# holds at most one, briefly), so no job ever waits for one.
INGEST_CONCURRENCY = 2
WEBHOOK_CONCURRENCY = 8
FINISH_CONCURRENCY = 4
MAX_CONCURRENT_JOBS = INGEST_CONCURRENCY + WEBHOOK_CONCURRENCY + FINISH_CONCURRENCY + 1  # + the every-minute job
HEARTBEAT_TIMEOUT = timedelta(seconds=60)
ENQUEUE_TIMEOUT_S = 5.0


def _settings() -> Any:
    from pgqueuer.domain.settings import DBSettings

    return DBSettings(prefix=PREFIX)


def _queries(driver: Any) -> Any:
    from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment, QueryQueueBuilder, QuerySchedulerBuilder
    from pgqueuer.queries import Queries

    settings = _settings()
    return Queries(
        driver,
        qbe=QueryBuilderEnvironment(settings=settings),
        qbq=QueryQueueBuilder(settings=settings),
        qbs=QuerySchedulerBuilder(settings=settings),
    )


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def install(dsn: str) -> None:
    """Create the queue's tables once (idempotent; concurrent starters serialise on an advisory lock)."""
    from pgqueuer.db import AsyncpgDriver

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock(7655011)")
        queries = _queries(AsyncpgDriver(conn))
        if not await queries.schema_is_installed():
            await queries.install()
            logger.info("installed the job queue tables (%s*)", PREFIX)
    finally:
        await conn.close()


def _unavailable(exc: BaseException) -> Exception:
    from voice_ai.core.unavailable import DatabaseUnavailableError

    logger.error("job queue unavailable: %s: %s", type(exc).__name__, exc)
    return DatabaseUnavailableError(f"the job queue's database is unavailable ({type(exc).__name__})")


class JobQueue:
    """Enqueue side, used by API routes."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._pool: asyncpg.Pool | None = None

    async def _queries(self) -> Any:
        from pgqueuer.db import AsyncpgPoolDriver

        if self._pool is None:
            try:
                self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=4, timeout=ENQUEUE_TIMEOUT_S)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                raise _unavailable(exc) from exc
        return _queries(AsyncpgPoolDriver(self._pool))

    async def _enqueue(self, entrypoint: str, payload: bytes, **options: Any) -> None:
        queries = await self._queries()
        try:
            async with asyncio.timeout(ENQUEUE_TIMEOUT_S):
                await queries.enqueue(entrypoint, payload, **options)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise _unavailable(exc) from exc

    async def sizes(self) -> list[tuple[str, str, int]]:
        """(entrypoint, status, jobs) of the queue, for /metrics."""
        queries = await self._queries()
        async with asyncio.timeout(ENQUEUE_TIMEOUT_S):
            stats = await queries.queue_size()
        return [(str(s.entrypoint), str(s.status), int(s.count)) for s in stats]

    async def ingest(self, domain_uuid: uuid.UUID, document_uuid: uuid.UUID) -> None:
        payload = json.dumps({"domain_uuid": str(domain_uuid), "document_uuid": str(document_uuid)}).encode()
        # No dedupe key: a re-index asked while the previous job's row still exists must not be dropped,
        # and indexing twice is harmless (a document's chunks are replaced in one transaction).
        await self._enqueue(INGEST, payload)

    async def webhook(self, domain_uuid: uuid.UUID, delivery_uuid: uuid.UUID, *, attempt: int, delay_s: float) -> None:
        payload = json.dumps({"domain_uuid": str(domain_uuid), "delivery_uuid": str(delivery_uuid)}).encode()
        await self._enqueue(
            WEBHOOK,
            payload,
            execute_after=timedelta(seconds=delay_s),
            dedupe_key=f"webhook:{delivery_uuid}:{attempt}",
            on_conflict="skip",
        )

    async def finish_call(
        self, domain_uuid: uuid.UUID, conversation_uuid: uuid.UUID, ended_at: datetime | None, *, delay_s: float = 0
    ) -> None:
        """The LLM summary (then the webhook) of a call that ended, off the call's critical path, after a grace
        period. One job per end (``ended_at``): a call re-opened and ended again gets a job of its own."""
        payload = json.dumps(
            {
                "domain_uuid": str(domain_uuid),
                "conversation_uuid": str(conversation_uuid),
                "ended_at": ended_at.isoformat() if ended_at else None,
            }
        ).encode()
        stamp = ended_at.isoformat() if ended_at else "-"
        await self._enqueue(
            FINISH,
            payload,
            execute_after=timedelta(seconds=delay_s),
            dedupe_key=f"finish:{conversation_uuid}:{stamp}",
            on_conflict="skip",
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


Handler = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]
FinishHandler = Callable[[uuid.UUID, uuid.UUID, datetime | None], Awaitable[None]]
Periodic = Callable[[], Awaitable[None]]


class Worker:
    """Consumes jobs in this process until ``stop()``; with ``every_minute`` it also takes part in the every-minute
    housekeeping (PgQueuer's scheduler: one instance runs each tick, whichever gets it first)."""

    def __init__(
        self,
        dsn: str,
        ingest: Handler,
        webhook: Handler,
        finish: FinishHandler,
        *,
        every_minute: Periodic | None = None,
    ) -> None:
        self.dsn, self._ingest, self._webhook, self._finish = dsn, ingest, webhook, finish
        self._every_minute = every_minute
        self._manager: Any = None
        self._scheduler: Any = None
        self._conn: asyncpg.Connection | None = None
        self._schedule_conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._schedule_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.models import Job
        from pgqueuer.qm import QueueManager
        from pgqueuer.types import Channel

        self._conn = await asyncpg.connect(self.dsn)
        manager = QueueManager(_queries(AsyncpgDriver(self._conn)), channel=Channel(_settings().channel))

        @manager.entrypoint(INGEST, concurrency_limit=INGEST_CONCURRENCY)
        async def ingest(job: Job) -> None:
            data = json.loads(job.payload or b"{}")
            await self._ingest(uuid.UUID(data["domain_uuid"]), uuid.UUID(data["document_uuid"]))

        @manager.entrypoint(WEBHOOK, concurrency_limit=WEBHOOK_CONCURRENCY)
        async def webhook(job: Job) -> None:
            data = json.loads(job.payload or b"{}")
            await self._webhook(uuid.UUID(data["domain_uuid"]), uuid.UUID(data["delivery_uuid"]))

        @manager.entrypoint(FINISH, concurrency_limit=FINISH_CONCURRENCY)
        async def finish(job: Job) -> None:
            data = json.loads(job.payload or b"{}")
            ended_at = datetime.fromisoformat(data["ended_at"]) if data.get("ended_at") else None
            await self._finish(uuid.UUID(data["domain_uuid"]), uuid.UUID(data["conversation_uuid"]), ended_at)

        self._manager = manager
        self._task = asyncio.create_task(
            manager.run(heartbeat_timeout=HEARTBEAT_TIMEOUT, dequeue_timeout=timedelta(seconds=5)),
            name="voice-ai-worker",
        )
        if self._every_minute is not None:
            await self._start_scheduler(self._every_minute)

    async def _start_scheduler(self, every_minute: Periodic) -> None:
        from pgqueuer.core.sm import SchedulerManager
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.models import Schedule

        self._schedule_conn = await asyncpg.connect(self.dsn)
        scheduler = SchedulerManager(_queries(AsyncpgDriver(self._schedule_conn)))

        @scheduler.schedule(EVERY_MINUTE, EVERY_MINUTE_CRON)
        async def housekeeping(_: Schedule) -> None:
            await every_minute()

        self._scheduler = scheduler
        self._schedule_task = asyncio.create_task(scheduler.run(), name="voice-ai-scheduler")

    async def run_until_stopped(self) -> None:
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        for manager in (self._manager, self._scheduler):
            if manager is not None:
                manager.shutdown.set()
        for task in (self._task, self._schedule_task):
            if task is None:
                continue
            try:
                await asyncio.wait_for(task, timeout=30)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                logger.exception("job worker stopped with an error")
        for conn in (self._conn, self._schedule_conn):
            if conn is not None:
                await conn.close()
        self._manager = self._task = self._conn = None
        self._scheduler = self._schedule_task = self._schedule_conn = None
