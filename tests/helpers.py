"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

VOICE_AI = str(Path(sys.executable).parent / "voice-ai")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_AI_")}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VOICE_AI, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
