"""Provider metrics for Prometheus (``GET /metrics``): latency and usage of every provider call.

Labels are the provider *type* (``openai``, ``whisper``), never the tenant or the row id, to keep the
number of series bounded on a server with thousands of tenants.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CALL_SECONDS = Histogram(
    "voice_ai_provider_call_seconds",
    "Duration of provider calls, retries included",
    ["kind", "provider", "operation", "outcome"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
)
ATTEMPTS = Counter("voice_ai_provider_attempts_total", "Provider attempts, retries included", ["kind", "provider"])
USAGE = Counter("voice_ai_provider_usage_total", "Provider usage by unit", ["kind", "provider", "unit"])


def record(kind: str, provider: str, operation: str, outcome: str, seconds: float, attempts: int) -> None:
    CALL_SECONDS.labels(kind, provider, operation, outcome).observe(seconds)
    ATTEMPTS.labels(kind, provider).inc(attempts)


def record_usage(kind: str, provider: str, usage: dict[str, float]) -> None:
    for unit, amount in usage.items():
        if amount:
            USAGE.labels(kind, provider, unit).inc(amount)
