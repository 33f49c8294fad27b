"""The Lua side's own checks, driven from pytest so that a failing spec fails CI: the busted specs
(telephony/freeswitch/spec, run as ``lua5.3 /usr/bin/busted``) and luacheck (no accidental globals)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

FS = Path(__file__).resolve().parent.parent / "telephony" / "freeswitch"


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/bootstrap.sh dev as root (Debian: lua5.3 lua-busted lua-check)"
    return path


def test_busted_specs_pass() -> None:
    ran = subprocess.run(
        [_tool("lua5.3"), _tool("busted"), "--output=TAP"],
        cwd=FS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = ran.stdout + ran.stderr
    assert ran.returncode == 0, report
    passed = re.findall(r"^ok \d+", ran.stdout, re.MULTILINE)
    assert len(passed) >= 60, report  # every spec file ran (a spec that fails to load runs nothing)
    assert not re.search(r"^not ok", ran.stdout, re.MULTILINE), report


def test_luacheck_finds_no_globals_or_warnings() -> None:
    ran = subprocess.run(
        [_tool("luacheck"), "--formatter=plain", "--codes", "."],
        cwd=FS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_luacheck_would_catch_a_global(tmp_path: Path) -> None:
    """The check can fail: a module that leaks a global is reported (W111 setting a non-standard global)."""
    module = tmp_path / "scripts" / "voice_ai" / "leaky.lua"
    module.parent.mkdir(parents=True)
    module.write_text("local M = {}\nfunction M.run(session)\n  current = session\nend\nreturn M\n")
    shutil.copy(FS / ".luacheckrc", tmp_path / ".luacheckrc")
    ran = subprocess.run(
        [_tool("luacheck"), "--formatter=plain", "--codes", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode != 0 and "W111" in ran.stdout, ran.stdout


def test_modules_run_under_lua_5_2() -> None:
    """Older FreeSWITCH builds link Lua 5.2: the modules load there, and the specs that do not need the
    (5.3-only) emulator pass there too."""
    lua52 = _tool("lua5.2")
    loaded = subprocess.run(
        [
            lua52,
            "-e",
            'package.path = "scripts/?.lua;" .. package.path '
            'for _, m in ipairs({"callflow", "config", "dtmf", "http", "json", "log", "transfer"}) do require("voice_ai." .. m) end '
            'assert(require("voice_ai.json").decode("[1]")[1] == 1)',
        ],
        cwd=FS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    specs = ["spec/json_spec.lua", "spec/dtmf_spec.lua", "spec/log_spec.lua", "spec/http_spec.lua"]
    ran = subprocess.run(
        [lua52, _tool("busted"), "--output=TAP", *specs],
        cwd=FS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0 and len(re.findall(r"^ok \d+", ran.stdout, re.MULTILINE)) >= 25, ran.stdout + ran.stderr
