"""Liveness (``/health``: the process answers) and readiness (``/ready``: it can serve calls)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from voice_ai import __version__
from voice_ai.api import service_metrics
from voice_ai.api.deps import RuntimeDep
from voice_ai.api.responses import errors
from voice_ai.db import migrate

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process is up (no dependencies checked)")
async def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get(
    "/metrics",
    summary="Prometheus metrics (providers; database pool and job queue state; 503s answered)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    await service_metrics.refresh(runtime)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/ready", summary="Readiness: database reachable, migrations at head, pgvector present", responses=errors(503)
)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    checks: dict[str, Any] = {"database": False, "migrations": False, "pgvector": False}
    errors: list[str] = []
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            checks["database"] = True
            current, head = await migrate.current_revision(conn), migrate.head_revision()
            checks["migrations"] = current == head
            if current != head:
                errors.append(f"schema at revision {current}, expected {head}: run 'voice-ai db upgrade'")
            has_vector = await conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'"))
            checks["pgvector"] = bool(has_vector)
            if not has_vector:
                errors.append("the 'vector' extension is missing from the database")
    except Exception as exc:  # readiness reports, it does not raise
        errors.append(f"database unreachable: {type(exc).__name__}")
    ok = all(checks.values())
    body = {"status": "ready" if ok else "not_ready", "checks": checks, "errors": errors}
    return JSONResponse(body, status_code=200 if ok else 503)
