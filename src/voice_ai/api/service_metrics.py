"""Gauges of the service's own state, refreshed when ``/metrics`` is scraped: the database connection pool
(size, checked out, overflow, waiters, capacity) and the job queue (jobs per entrypoint and status)."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import Gauge

from voice_ai.db.engine import pool_state

logger = logging.getLogger(__name__)

POOL = Gauge(
    "voice_ai_db_pool_connections",
    "Database pool of the request path: size (kept open), checked_out (in use), overflow (opened beyond size), "
    "waiting (requests waiting for a connection), capacity (size + max overflow)",
    ["state"],
)
QUEUE = Gauge("voice_ai_job_queue_jobs", "Jobs in the queue by entrypoint and status", ["entrypoint", "status"])
QUEUE_UP = Gauge("voice_ai_job_queue_up", "1 when the job queue's state could be read at the last scrape")


async def refresh(runtime: Any) -> None:
    for state, value in pool_state(runtime.engine).items():
        POOL.labels(state).set(value)
    QUEUE.clear()
    if runtime.jobs is None:
        QUEUE_UP.set(0)
        return
    try:
        sizes = await runtime.jobs.sizes()
    except Exception as exc:  # a scrape reports, it does not fail (the database may be down)
        logger.warning("job queue state unavailable: %s: %s", type(exc).__name__, exc)
        QUEUE_UP.set(0)
        return
    QUEUE_UP.set(1)
    for entrypoint, status, count in sizes:
        QUEUE.labels(entrypoint, status).inc(count)
