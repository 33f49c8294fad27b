"""Two service instances on different ports, one database: they serve alternate turns of one call and the
conversation continues as if one process had it (all call state lives in PostgreSQL)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from conftest import TEST_SECRET_KEY
from helpers import VOICE_AI, cli_env, free_port, run_cli, wait_http

pytestmark = pytest.mark.slow


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [VOICE_AI, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


async def test_two_instances_share_one_call(fresh_database: Callable[..., Awaitable[str]], tmp_path: Path) -> None:
    url = await fresh_database()
    env = cli_env(
        VOICE_AI_DATABASE_URL=url,
        VOICE_AI_DATA_DIR=str(tmp_path),
        VOICE_AI_SECRET_KEY=TEST_SECRET_KEY,
        VOICE_AI_WORKER="false",
    )
    assert run_cli("demo", "seed", env=env).returncode == 0
    ports = [free_port(), free_port()]
    procs = [_serve(env, port) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, proc in zip(bases, procs, strict=True):
            wait_http(f"{base}/ready", proc)
        domain = httpx.get(f"{bases[0]}/api/v1/domains", params={"name": "demo.localhost"}).json()["items"][0][
            "domain_uuid"
        ]
        started = httpx.post(
            f"{bases[0]}/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": "shared-1"}
        )
        assert started.status_code == 201

        def say(i: int, text: str) -> dict[str, object]:
            response = httpx.post(
                f"{bases[i % 2]}/api/v1/calls/shared-1/turns", data={"domain_uuid": domain, "text": text}, timeout=60
            )
            assert response.status_code == 200, response.text
            return dict(response.json())

        # instance B offers a transfer it cannot answer; instance A understands "sim" from the stored history
        offer = say(1, "Vocês fazem tradução juramentada de documentos em alemão?")
        assert offer["action"] == "continue" and "transfira" in str(offer["response_text"])
        accepted = say(0, "Sim, por favor")
        assert accepted["action"] == "transfer" and accepted["turn"] == 2
        audio = httpx.get(str(accepted["audio_url"]).replace(bases[0], bases[1]))  # any instance serves any clip
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
        ended = httpx.post(
            f"{bases[1]}/api/v1/calls/shared-1/end", json={"domain_uuid": domain, "outcome": "transferred"}
        )
        assert ended.json()["outcome"] == "transferred"
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.communicate(timeout=60)
