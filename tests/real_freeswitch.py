"""A real FreeSWITCH for end-to-end tests and benchmarks (not a test module: tests/test_real_freeswitch.py and
bench/freeswitch_latency.py use it).

The binary comes from ``VOICE_AI_TEST_FREESWITCH`` (``scripts/platform/freeswitch.sh`` installs the build from
``../shared/platform``). Each :class:`FreeSwitch` runs with a configuration of its own in a temp folder: the event
socket on a free loopback port with a random password, no SIP profiles, the loopback endpoint, mod_lua, and the
project's scripts and sounds installed into it by ``voice-ai freeswitch install`` (so the installer is exercised
too). It is driven with ``fs_cli -x`` from the same build: no extra client library, and every command a test sends
is one an operator could type.

A call is a loopback originate: the caller leg (A) runs ``caller.lua`` beside this file with a scenario of steps
(listen for the secretary, speak a WAV, press keys, pause, hang up) and records the whole call in stereo (left:
what the caller heard; right: what the caller said); the other leg (B) enters the dialplan at the secretary's
extension and runs ``secretary_ai.lua``. The test dialplan's operator and department extensions answer, note in
mod_hash which extension and context the caller reached, play a tone and hang up.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import signal
import struct
import subprocess
import time
import uuid
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CALLER_LUA = ROOT / "telephony" / "freeswitch" / "spec" / "real" / "caller.lua"
FIXTURES = ROOT / "telephony" / "freeswitch" / "spec" / "fixtures"
ENV_VAR = "VOICE_AI_TEST_FREESWITCH"
MODULES = (
    "mod_logfile",
    "mod_event_socket",
    "mod_commands",
    "mod_dptools",
    "mod_dialplan_xml",
    "mod_loopback",
    "mod_sndfile",
    "mod_native_file",
    "mod_tone_stream",
    "mod_hash",
    "mod_lua",
)
REACHED_REALM = "voice_ai_reached"
# A test tenant's text-to-speech (the body of ``POST /api/v1/domains/{domain}/providers``): espeak-ng, offline, at
# twice its usual rate. A call plays in real time and the secretary's speech is most of it: the call tests assert
# what was said (the stored texts) and that the caller heard it, never how long it took. (At 400 wpm the caller's
# `hear` — the first pause in the secretary's speech — found none before a reply's end.)
FAST_SPEECH_WPM = 300
FAST_SPEECH: dict[str, Any] = {
    "provider_type": "tts",
    "provider_name": "espeak",
    "is_default": True,
    "config": {"rate_wpm": FAST_SPEECH_WPM},
}


def binary_from_env() -> Path | None:
    """The FreeSWITCH binary named by ``VOICE_AI_TEST_FREESWITCH``; None when unset. A set but unusable value
    raises (a CI that promised FreeSWITCH must fail, not skip)."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return None
    path = Path(value)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise RuntimeError(f"{ENV_VAR}={value} is not an executable file (run scripts/platform/freeswitch.sh)")
    return path


def require_binary() -> Path:
    """For a test fixture: the FreeSWITCH binary; skips when ``VOICE_AI_TEST_FREESWITCH`` is unset (a contributor
    without the platform still runs everything else), fails when it is set but unusable (CI promised one)."""
    import pytest

    try:
        path = binary_from_env()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    if path is None:
        pytest.skip(f"the real FreeSWITCH is not configured: export {ENV_VAR} (scripts/platform/freeswitch.sh)")
    return path


def fs_cli_for(binary: Path) -> Path:
    path = binary.parent / "fs_cli"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing (fs_cli ships with the FreeSWITCH build)")
    return path


def _param(name: str, value: str) -> str:
    return f'<param name="{name}" value="{value}"/>'


def lua_conf(script_directory: str | None) -> str:
    """lua.conf.xml: ``script_directory=None`` is FreeSWITCH's stock file (the line commented out)."""
    if script_directory is None:
        line = '<!-- <param name="script-directory" value="$${script_dir}/?.lua"/> -->'
    else:
        line = _param("script-directory", script_directory)
    return f'<configuration name="lua.conf" description="LUA Configuration"><settings>{line}</settings></configuration>'


def freeswitch_xml(
    *,
    port: int,
    password: str,
    variables: dict[str, str],
    dialplan: str,
    script_dir: str | None,
    modules: Sequence[str] = MODULES,
) -> str:
    pre = "\n".join(f'<X-PRE-PROCESS cmd="set" data="{k}={v}"/>' for k, v in variables.items())
    loads = "".join(f'<load module="{m}"/>' for m in modules)
    configs = [
        '<configuration name="switch.conf"><settings>'
        + _param("loglevel", "debug")
        + _param("max-sessions", "200")
        + _param("sessions-per-second", "200")
        + _param("colorize-console", "false")
        + _param("dump-cores", "no")
        + "</settings></configuration>",
        f'<configuration name="modules.conf"><modules>{loads}</modules></configuration>',
        '<configuration name="event_socket.conf"><settings>'
        + _param("listen-ip", "127.0.0.1")
        + _param("listen-port", str(port))
        + _param("password", password)
        + _param("apply-inbound-acl", "loopback.auto")
        + _param("stop-on-bind-error", "true")
        + "</settings></configuration>",
        '<configuration name="logfile.conf"><settings>'
        + _param("rotate-on-hup", "false")
        + '</settings><profiles><profile name="default"><settings>'
        + _param("rollover", "0")
        + '</settings><mappings><map name="all" value="debug,info,notice,warning,err,crit,alert"/></mappings>'
        + "</profile></profiles></configuration>",
        lua_conf(script_dir),
        '<configuration name="hash.conf"><remotes></remotes></configuration>',
    ]
    return (
        '<?xml version="1.0"?>\n<document type="freeswitch/xml">\n'
        + pre
        + '\n<section name="configuration" description="">\n'
        + "\n".join(configs)
        + '\n</section>\n<section name="dialplan" description="">\n'
        + dialplan
        + "\n</section>\n</document>\n"
    )


def reached_extension(number: str, then: str = "hangup") -> str:
    """A dialplan extension for a person (operator, department): notes where the caller arrived, answers and
    plays a tone. ``then``: "hangup"; "" (its applications just finish and FreeSWITCH ends the call); or
    "transfer <number>" — a blind transfer naming no dialplan or context, as a SIP REFER from the person's phone
    is (sofia: ``switch_ivr_session_transfer(session, number, NULL, NULL)``)."""
    after = {"hangup": '<action application="hangup"/>', "": ""}.get(then)
    if after is None:
        app, _, data = then.partition(" ")
        after = f'<action application="{app}" data="{data}"/>'
    return (
        f'<extension name="person_{number}"><condition field="destination_number" expression="^{number}$">'
        f'<action application="hash" data="insert/{REACHED_REALM}/${{uuid}}/${{destination_number}}@${{context}}"/>'
        # a transfer that comes back rings the person on a leg of its own, which names the call (voice_ai.transfer)
        f'<action application="hash" data="insert/{REACHED_REALM}/via-${{voice_ai_call_uuid}}/'
        '${destination_number}@${context}"/>'
        '<action application="answer"/>'
        '<action application="playback" data="tone_stream://%(400,100,440);loops=3"/>'
        f"{after}</condition></extension>"
    )


def always_continue_extension() -> str:
    """What a plain FreeSWITCH's vanilla ``default`` context (tod_example, global…) and every FusionPBX domain
    context begin with: an extension that matches every call and lets the hunt go on (``continue="true"``)."""
    return (
        '<extension name="always" continue="true"><condition>'
        '<action application="set" data="test_always_ran=true"/></condition></extension>'
    )


def include_body(rendered: str) -> str:
    """The extensions of a dialplan file (``<include>…</include>``, comments dropped), to paste into a context."""
    body = re.sub(r"<!--.*?-->", "", rendered, flags=re.DOTALL)
    return re.sub(r"</?include>", "", body).strip()


@dataclass
class CallResult:
    caller_uuid: str
    call_uuid: str  # the secretary's leg (what the service stores as call_uuid)
    recording: Path  # stereo: left = heard by the caller, right = said by the caller
    marks: list[dict[str, Any]]  # the caller script's timeline (step, ms since the recording started)
    hangup_cause: str | None
    reached: str | None  # "<extension>@<context>" of the person who answered, if any


@dataclass
class FreeSwitch:
    binary: Path
    root: Path
    variables: dict[str, str] = field(default_factory=dict)
    dialplan: str = ""
    script_directory: str | None = "$${script_dir}/?.lua;;"
    install_env: dict[str, str] | None = None
    modules: Sequence[str] = MODULES  # MODULES + ("mod_audio_stream",) for streaming calls
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    proc: subprocess.Popen[bytes] | None = None
    configured: bool = False

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def scripts(self) -> Path:
        return self.root / "scripts"

    @property
    def sounds(self) -> Path:
        return self.root / "sounds"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "freeswitch.log"

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def configure(self) -> None:
        from helpers import free_port, run_cli

        for name in ("conf", "scripts", "sounds", "log", "db", "run", "temp", "recordings", "storage", "cache"):
            self.folder(name)
        (self.conf / "autoload_configs").mkdir(exist_ok=True)
        self.port = self.port or free_port()
        (self.conf / "autoload_configs" / "lua.conf.xml").write_text(lua_conf(self.script_directory))
        installed = run_cli(
            "freeswitch",
            "install",
            "--scripts-dir",
            str(self.scripts),
            "--sounds-dir",
            str(self.sounds),
            "--conf-dir",
            str(self.conf),
            env=self.install_env or _clean_env(),
        )
        if installed.returncode != 0:
            raise RuntimeError(f"voice-ai freeswitch install failed:\n{installed.stdout}{installed.stderr}")
        self.install_output = installed.stdout + installed.stderr
        self.configured = True
        self._write_xml()

    def _write_xml(self) -> None:
        (self.conf / "freeswitch.xml").write_text(
            freeswitch_xml(
                port=self.port,
                password=self.password,
                variables=self.variables,
                dialplan=self.dialplan,
                script_dir=self.script_directory,
                modules=self.modules,
            )
        )

    def set_dialplan(self, dialplan: str) -> None:
        """Replace the dialplan of the running FreeSWITCH (its XML rewritten, then ``reloadxml``): calls placed
        after it use the new one."""
        self.dialplan = dialplan
        self._write_xml()
        answer = self.api("reloadxml")
        if not answer.startswith("+OK"):
            raise RuntimeError(f"reloadxml: {answer}\n{self.tail()}")

    def start(self, timeout: float = 60) -> None:
        """Start FreeSWITCH in the foreground (a child of this process) and wait until the event socket answers.
        Configures it first unless :meth:`configure` already ran (then the scripts may have been changed)."""
        if not self.configured:
            self.configure()
        args = [str(self.binary), "-nf", "-nc", "-nonat", "-nocal"]
        for flag, name in (
            ("-conf", "conf"),
            ("-log", "log"),
            ("-db", "db"),
            ("-run", "run"),
            ("-scripts", "scripts"),
            ("-sounds", "sounds"),
            ("-temp", "temp"),
            ("-recordings", "recordings"),
            ("-storage", "storage"),
            ("-cache", "cache"),
            ("-certs", "conf"),
        ):
            args += [flag, str(self.root / name)]
        env = _clean_env()
        self.proc = subprocess.Popen(
            args,
            env=env,
            cwd=self.root,  # Lua's default search path has ./?.lua: nothing of ours may be found there by chance
            stdin=subprocess.DEVNULL,
            stdout=(self.root / "stdout.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"FreeSWITCH exited at start ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(RuntimeError):
                if "UP" in self.api("status", timeout=5):
                    self.api("fsctl loglevel debug")
                    return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"FreeSWITCH did not answer on its event socket within {timeout:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        """Stop FreeSWITCH. It exits at once (``fsctl shutdown now``): nothing of a test's FreeSWITCH is kept but its
        folder (logs, recordings), and the orderly shutdown takes ~5 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.api("fsctl shutdown now", timeout=10)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def api(self, command: str, timeout: float = 30) -> str:
        """One API command over the event socket (fs_cli -x); returns its text."""
        ran = subprocess.run(
            [str(fs_cli_for(self.binary)), "-H", "127.0.0.1", "-P", str(self.port), "-p", self.password, "-x", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if ran.returncode != 0:
            raise RuntimeError(f"fs_cli -x {command!r}: {ran.stdout}{ran.stderr}".strip())
        return ran.stdout.strip()

    def tail(self, lines: int = 80) -> str:
        texts = []
        for path in (self.root / "stdout.log", self.log_file):
            if path.is_file():
                texts.append("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(texts)

    def log_lines(self, needle: str) -> list[str]:
        if not self.log_file.is_file():
            return []
        return [line for line in self.log_file.read_text(errors="replace").splitlines() if needle in line]

    def call(
        self,
        extension: str,
        context: str,
        steps: Sequence[str],
        *,
        caller_id: str = "+5531999990000",
        variables: dict[str, str] | None = None,
        timeout: float = 180,
    ) -> CallResult:
        """Place one call and wait until both legs are gone. ``steps`` are caller.lua's (see that file)."""
        caller_uuid = str(uuid.uuid4())
        folder = self.folder(f"calls/{caller_uuid}")
        recording, marks = folder / "call.wav", folder / "marks.jsonl"
        script = folder / "steps.txt"
        script.write_text("\n".join(steps) + "\n")
        variables = ",".join(
            [
                f"origination_uuid={caller_uuid}",
                f"origination_caller_id_number={caller_id}",
                "origination_caller_id_name=Maria",
                "ignore_early_media=true",
                f"test_call_folder={folder}",
                # loopback hands originate's variables to the other leg too: the secretary's channel gets them
                *(f"{k}={v}" for k, v in (variables or {}).items()),
            ]
        )
        answer = self.api(f"originate {{{variables}}}loopback/{extension}/{context} &lua({CALLER_LUA})", timeout=60)
        if not answer.startswith("+OK"):
            raise AssertionError(f"originate failed: {answer}\n{self.tail()}")
        deadline = time.monotonic() + timeout
        done = folder / "done"
        while time.monotonic() < deadline and not done.exists():
            time.sleep(0.2)
            if "true" not in self.api(f"uuid_exists {caller_uuid}"):
                time.sleep(0.5)
                break
        if not done.exists():
            self.api(f"uuid_kill {caller_uuid}")
            raise AssertionError(f"the caller's script did not finish within {timeout:.0f} s\n{self.tail()}")
        events = [json.loads(line) for line in marks.read_text().splitlines() if line.strip()]
        summary = events[-1]
        call_uuid = str(summary.get("other_uuid") or "")
        # the secretary's leg may outlive the caller's by a moment (its script posts /end)
        deadline = time.monotonic() + 15
        while call_uuid and time.monotonic() < deadline and "true" in self.api(f"uuid_exists {call_uuid}"):
            time.sleep(0.2)
        reached = self.api(f"hash select/{REACHED_REALM}/{call_uuid}") if call_uuid else ""
        if (
            not reached or reached.startswith("-ERR")
        ) and call_uuid:  # not transferred: put through on a leg of its own?
            reached = self.api(f"hash select/{REACHED_REALM}/via-{call_uuid}")
        if reached.startswith("-ERR"):  # no such key: nobody answered
            reached = ""
        return CallResult(
            caller_uuid=caller_uuid,
            call_uuid=call_uuid,
            recording=recording,
            marks=events,
            hangup_cause=summary.get("hangup_cause"),
            reached=reached or None,
        )


def _clean_env() -> dict[str, str]:
    """This process's environment without LUA_PATH/LUA_CPATH (mod_lua would inherit them) or VOICE_AI_*."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("VOICE_AI_", "LUA_PATH", "LUA_CPATH", "LUA_INIT"))}


# Reading the caller's recording --------------------------------------------------------------------------


@dataclass
class Stereo:
    rate: int
    heard: list[int]  # mean |sample| per 20 ms frame, left channel
    said: list[int]  # right channel

    FRAME_MS = 20

    @classmethod
    def load(cls, path: Path) -> Stereo:
        with wave.open(str(path), "rb") as wav:
            assert wav.getnchannels() == 2, f"{path} is not stereo"
            rate, raw = wav.getframerate(), wav.readframes(wav.getnframes())
        samples = struct.unpack(f"<{len(raw) // 2}h", raw)
        per_frame = rate * cls.FRAME_MS // 1000
        heard, said = [], []
        for start in range(0, len(samples) // 2 - per_frame + 1, per_frame):
            left = samples[2 * start : 2 * (start + per_frame) : 2]
            right = samples[2 * start + 1 : 2 * (start + per_frame) : 2]
            heard.append(sum(abs(s) for s in left) // per_frame)
            said.append(sum(abs(s) for s in right) // per_frame)
        return cls(rate, heard, said)

    def heard_ms(self, threshold: int = 300) -> int:
        """How long the caller heard something louder than ``threshold``."""
        return sum(1 for e in self.heard if e >= threshold) * self.FRAME_MS

    def heard_segments(self, threshold: int = 300, gap_ms: int = 700) -> list[tuple[int, int]]:
        """Stretches (start ms, end ms) of what the caller heard, split at gaps of at least ``gap_ms``."""
        return self._segments(self.heard, threshold, gap_ms)

    def said_segments(self, threshold: int = 300, gap_ms: int = 700) -> list[tuple[int, int]]:
        """Stretches (start ms, end ms) of what the caller said."""
        return self._segments(self.said, threshold, gap_ms)

    def _segments(self, frames: list[int], threshold: int, gap_ms: int) -> list[tuple[int, int]]:
        segments: list[tuple[int, int]] = []
        for index, energy in enumerate(frames):
            if energy < threshold:
                continue
            at = index * self.FRAME_MS
            if segments and at - segments[-1][1] < gap_ms:
                segments[-1] = (segments[-1][0], at + self.FRAME_MS)
            else:
                segments.append((at, at + self.FRAME_MS))
        return segments

    def first_heard_after(self, ms: int, threshold: int = 300) -> int | None:
        """When (ms) the caller first heard sound at or after ``ms``."""
        for index in range(math.ceil(ms / self.FRAME_MS), len(self.heard)):
            if self.heard[index] >= threshold:
                return index * self.FRAME_MS
        return None

    def last_said_before(self, ms: int, threshold: int = 300) -> int | None:
        """The end (ms) of the caller's last sound before ``ms``."""
        for index in range(min(len(self.said), ms // self.FRAME_MS) - 1, -1, -1):
            if self.said[index] >= threshold:
                return (index + 1) * self.FRAME_MS
        return None


@contextlib.contextmanager
def running(fs: FreeSwitch) -> Iterator[FreeSwitch]:
    fs.start()
    try:
        yield fs
    finally:
        fs.stop()


def stored_call(dsn: str, domain_uuid: str, call_uuid: str) -> dict[str, Any]:
    """The conversation the service stored for ``call_uuid``, with its messages (read from PostgreSQL)."""
    import asyncio

    import asyncpg

    async def _fetch() -> dict[str, Any]:
        conn = await asyncpg.connect(dsn)
        try:
            row = await conn.fetchrow(
                "SELECT * FROM v_voice_conversations WHERE domain_uuid = $1 AND call_uuid = $2",
                uuid.UUID(domain_uuid),
                call_uuid,
            )
            assert row is not None, f"no conversation stored for {call_uuid}"
            messages = await conn.fetch(
                "SELECT turn_index, role, text, action FROM v_voice_messages"
                " WHERE domain_uuid = $1 AND voice_conversation_uuid = $2 ORDER BY turn_index, insert_date",
                uuid.UUID(domain_uuid),
                row["voice_conversation_uuid"],
            )
            return {**dict(row), "messages": [dict(m) for m in messages]}
        finally:
            await conn.close()

    return asyncio.run(_fetch())
