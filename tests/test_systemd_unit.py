"""The systemd unit shipped for the service (deploy/systemd/voice-ai.service): it runs `voice-ai serve`, and
systemd itself finds nothing wrong with it (``systemd-analyze verify``, pointed at this checkout's venv)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "systemd" / "voice-ai.service"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser


def test_the_unit_runs_the_service() -> None:
    unit = _unit()
    assert unit["Service"]["ExecStart"].endswith("/.venv/bin/voice-ai serve")
    assert "VOICE_AI_DATA_DIR=" in unit["Service"]["Environment"]
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    venv = Path(sys.executable).parent.parent
    text = UNIT.read_text().replace("/opt/voice-ai/.venv", str(venv)).replace("/opt/voice-ai", str(venv.parent))
    unit = tmp_path / "voice-ai.service"
    unit.write_text(text)
    ran = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False)
    problems = [line for line in (ran.stdout + ran.stderr).splitlines() if "voice-ai.service" in line]
    assert ran.returncode == 0 and not problems, ran.stdout + ran.stderr
