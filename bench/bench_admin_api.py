"""Admin API latency on the embedded PostgreSQL, in one process (ASGI, no network).

    .venv/bin/python bench/bench_admin_api.py [--requests 300]

Prints p50/p95/p99 per operation and each operation's p50 relative to /health (the framework floor),
all measured in this run. The database is a fresh embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from voice_ai.core.config import Settings
from voice_ai.main import create_app
from voice_ai.runtime import Runtime


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(n: int, call: Callable[[int], Awaitable[httpx.Response]], expect: int) -> list[float]:
    for i in range(min(20, n)):  # warm-up: connection pool, prepared statements
        assert (await call(i)).status_code == expect
    out = []
    for i in range(n):
        start = time.perf_counter()
        response = await call(i)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == expect, response.text
    return out


async def main(n: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="voice-ai-bench-"))
    settings = Settings(data_dir=data, secret_key=Fernet.generate_key().decode(), _env_file=None)  # type: ignore[call-arg]
    async with Runtime(settings) as runtime:
        app = create_app(settings, runtime=runtime)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http,
        ):
            domain = (await http.post("/api/v1/domains", json={"domain_name": "bench.example.com"})).json()[
                "domain_uuid"
            ]
            base = f"/api/v1/domains/{domain}"
            for i in range(20):
                await http.post(f"{base}/secretaries", json={"name": f"S{i}", "extension": str(8000 + i)})
            for i in range(50):
                await http.post(
                    f"{base}/transfer-rules", json={"department_name": f"D{i}", "destination_number": str(200 + i)}
                )
            provider = (
                await http.post(
                    f"{base}/providers",
                    json={"provider_type": "llm", "provider_name": "openai", "config": {"api_key": "sk-" + "x" * 40}},
                )
            ).json()["voice_ai_provider_uuid"]
            secretary = (await http.get(f"{base}/secretaries", params={"limit": 1})).json()["items"][0][
                "voice_secretary_uuid"
            ]

            operations: dict[str, Callable[[int], Awaitable[httpx.Response]]] = {
                "GET /health": lambda i: http.get("/health"),
                "GET /ready": lambda i: http.get("/ready"),
                "GET secretaries (20)": lambda i: http.get(f"{base}/secretaries"),
                "GET secretary": lambda i: http.get(f"{base}/secretaries/{secretary}"),
                "GET transfer-rules (50)": lambda i: http.get(f"{base}/transfer-rules"),
                "POST transfer-rule": lambda i: http.post(
                    f"{base}/transfer-rules", json={"department_name": f"N{i}", "destination_number": "300"}
                ),
                "PATCH provider (encrypt)": lambda i: http.patch(
                    f"{base}/providers/{provider}", json={"config": {"api_key": f"sk-{uuid.uuid4().hex}"}}
                ),
                "GET other tenant (404)": lambda i: http.get(f"/api/v1/domains/{uuid.uuid4()}/secretaries"),
            }
            results = {
                name: await _measure(n, call, 404 if "404" in name else 201 if name.startswith("POST") else 200)
                for name, call in operations.items()
            }

    floor = statistics.median(results["GET /health"])
    print(f"admin API, in-process ASGI, embedded PostgreSQL 18, {n} requests per operation")
    print(f"{'operation':28} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'p50/health':>11}")
    for name, samples in results.items():
        p50 = statistics.median(samples)
        print(
            f"{name:28} {p50:8.2f} {_pct(samples, 0.95):8.2f} {_pct(samples, 0.99):8.2f} "
            f"{1000 / statistics.fmean(samples):8.0f} {p50 / floor:10.1f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(main(parser.parse_args().requests))
