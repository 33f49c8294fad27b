"""Streaming calls under load on the real FreeSWITCH, with instant fake providers: the service's own share of the
perceived latency, and how many simultaneous streaming calls one service instance sustains with no lost message.

    export VOICE_AI_TEST_FREESWITCH=/usr/local/freeswitch/bin/freeswitch   # scripts/platform/freeswitch.sh
    .venv/bin/python bench/streaming_load.py [--calls 2] [--concurrency 1 4 8 16] [--stagger 0.3]

Starts ``voice-ai serve --demo`` (embedded PostgreSQL, the demo tenant) with its event socket server, and a
FreeSWITCH with mod_audio_stream (tests/real_freeswitch.py); the secretary answers on 8000 in streaming mode, as in
bench/streaming_latency.py. The providers are the fastest there are, so that what is measured is the service:

- STT: the fake Deepgram of the real-FreeSWITCH tests (tests/fakes/stt.py), a tenant provider marked default. It
  runs in this process (a thread) and recognises the fixture WAVs by waveform correlation in a few ms; its CPU is
  this process's, not the service's.
- LLM: the built-in dialog policy (the demo's; it decides at once, in the service's process).
- TTS: espeak-ng (the demo's; in the service's process, ~10 ms a sentence).

Each call: the caller waits for the greeting, asks the price twice and says goodbye (pt-BR WAV fixtures, 8 kHz),
waiting for each reply like a person (caller.lua's ``listen``: 0.6 s after it ends). One warm-up call first.

1. The service's share: per turn, perceived latency (the first loud frame the caller heard after the last loud frame
   the caller said, from the caller leg's stereo recording) minus the secretary's ``end_of_turn_ms`` (the silence
   the service must wait by design). ``--calls`` calls one after the other (level 1); the stages the service stored
   for those turns (eot_ms, stt_ms, llm_first_ms, tts_first_ms, first_audio_ms: p50).
2. Concurrency: per level N > 1, N calls started ``--stagger`` seconds apart (so their turns overlap without moving
   in lockstep). Per level: perceived latency and the service's share (p50/p95), CPU seconds per call-minute of the
   service (its Python process; its children — the embedded PostgreSQL — apart), of FreeSWITCH and of this process
   (the fake STT, the caller control), and the lost messages:
   - every call's conversation in PostgreSQL (through the API) with its 3 turns: the fixture's words as the user
     turns, ``continue, continue, hangup`` as the replies, outcome ``resolved`` (any other outcome is an error);
   - every reply heard by the caller leg: the greeting, and sound after each of the caller's utterances, from the
     recording (4 per call; caller.lua's last ``listen`` mark says "no" when the secretary hangs up right after the
     farewell, before the 0.6 s of silence it waits for, so the recording is the reference);
   - frames: the service counts the frames it receives (``FreeswitchCallSession.frames``) but exposes the count
     nowhere, and mod_audio_stream counts nothing, so loss is inferred: a caller utterance whose frames did not
     all arrive reaches the STT with a gap, and the fake STT's waveform match (normalised cross-correlation, 1.00
     for an intact copy) falls as soon as 20 ms are missing inside the words. Each level reports the fake's
     requests and the intact whole-utterance segments among them (recognised, at least as long as the fixture,
     score ≥ 0.95): at least one per turn (its final segment) when no frame was lost; with every stored
     transcript being the fixture's words. A backlog
     (frames arriving late rather than lost) shows as perceived latency rising above the stored stages.
   The CPU with no call (``--idle`` s after the warm-up) is printed too: at low N it is a large part of the
   per-call figure (background jobs, FreeSWITCH's timers).
   Levels stop at the first that loses a message, has an error, or whose p95 exceeds twice level 1's; the highest
   level before that is the one sustained.

The load average (1 min) at start and end is printed with the numbers: the cores may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakes.stt import FakeSTT, FakeSTTServer, fixture_texts, provider_config  # noqa: E402
from helpers import free_port  # noqa: E402
from real_freeswitch import (  # noqa: E402
    CALLER_LUA,
    FIXTURES,
    MODULES,
    FreeSwitch,
    Stereo,
    binary_from_env,
    reached_extension,
)
from voice_ai.telephony.freeswitch import render_dialplan  # noqa: E402

VOICE_AI = str(Path(sys.executable).parent / "voice-ai")
CONTEXT = "demo.localhost"
SAID = ("question_price", "question_price", "goodbye")
STEPS = ["listen"] + [step for name in SAID for step in (f"say {FIXTURES / name}.wav", "listen")]
ACTIONS = ["continue", "continue", "hangup"]
STAGES = (
    "eot_ms",
    "stt_ms",
    "stt_wait_ms",
    "retrieve_ms",
    "llm_first_ms",
    "tts_first_ms",
    "first_audio_ms",
    "total_ms",
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def wave_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def postmaster(data_dir: Path, service_pid: int) -> int:
    """The embedded PostgreSQL's postmaster (pg_ctl detaches it from the service: not one of its children)."""
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        named = bool(cmdline) and Path(cmdline[0]).name in ("postgres", "postmaster")
        if named and proc.info["pid"] != service_pid and any(str(data_dir) in arg for arg in cmdline):
            return int(proc.info["pid"])
    raise SystemExit(f"no PostgreSQL process found for {data_dir}")


def load_average() -> float:
    return os.getloadavg()[0]


# The service -------------------------------------------------------------------------------------------------


@dataclass
class Service:
    proc: subprocess.Popen[str]
    base: str
    domain: str
    log: Path

    def get(self, path: str, **params: Any) -> Any:
        answer = httpx.get(f"{self.base}/api/v1/domains/{self.domain}{path}", params=params, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def log_problems(self) -> int:
        text = self.log.read_text(errors="replace") if self.log.is_file() else ""
        return sum(1 for line in text.splitlines() if " ERROR " in line or "Traceback" in line)


def start_service(data_dir: Path, esl_port: int, stt: FakeSTT) -> Service:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_AI_")}
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "service.log"
    with log.open("w") as output:
        proc = subprocess.Popen(
            [VOICE_AI, "serve", "--demo", "--port", str(port)],
            env={**env, "VOICE_AI_DATA_DIR": str(data_dir), "VOICE_AI_ESL_PORT": str(esl_port)},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"the service exited ({proc.returncode}); see {log}")
        time.sleep(0.5)
    else:
        proc.terminate()
        raise SystemExit("the service did not start")
    domain = str(httpx.get(f"{base}/api/v1/domains", params={"name": CONTEXT}).json()["items"][0]["domain_uuid"])
    created = httpx.post(f"{base}/api/v1/domains/{domain}/providers", json=provider_config(stt), timeout=30)
    if created.status_code != 201:
        raise SystemExit(f"the fake STT could not be made the tenant's default: {created.text}")
    return Service(proc, base, domain, log)


# CPU -------------------------------------------------------------------------------------------------------


class Cpu:
    """CPU seconds (user + system) of a process and, apart, of its descendants (live ones read directly, reaped
    ones through the parent's children_* times)."""

    def __init__(self, pid: int, *, live_children: bool = True) -> None:
        self.proc = psutil.Process(pid)
        self.live_children = live_children  # False: only reaped ones (this process: not the service or FreeSWITCH)
        self.seen: dict[int, psutil.Process] = {}

    def read(self) -> tuple[float, float]:
        own = self.proc.cpu_times()
        kids = own.children_user + own.children_system
        for child in self.proc.children(recursive=True) if self.live_children else ():
            self.seen.setdefault(child.pid, child)
        for pid, child in list(self.seen.items()):
            try:
                times = child.cpu_times()
                kids += times.user + times.system
            except psutil.NoSuchProcess:
                del self.seen[pid]
        return own.user + own.system, kids


# Calls ------------------------------------------------------------------------------------------------------


@dataclass
class Call:
    caller_uuid: str
    folder: Path
    started: float = 0.0
    call_uuid: str = ""
    marks: list[dict[str, Any]] = field(default_factory=list)
    failed: str | None = None

    @property
    def recording(self) -> Path:
        return self.folder / "call.wav"

    @property
    def minutes(self) -> float:
        return (int(self.marks[-1]["t"]) / 60000) if self.marks else 0.0

    def replies_heard(self) -> int:
        """The greeting (heard before the caller first spoke) and a reply after each utterance, from the caller's
        recording (caller.lua's last ``listen`` says "no" when the secretary hangs up right after its farewell,
        before the 0.6 s of silence it waits for: the recording is the reference)."""
        stereo = Stereo.load(self.recording)
        first_say = next((int(m["t"]) for m in self.marks if m.get("step") == "say_start"), None)
        greeting = any(start < first_say for start, _ in stereo.heard_segments()) if first_say is not None else False
        return int(greeting) + len(perceived(self))


def originate(fs: FreeSwitch, call: Call, delay: float) -> None:
    time.sleep(delay)
    call.folder.mkdir(parents=True, exist_ok=True)
    (call.folder / "steps.txt").write_text("\n".join(STEPS) + "\n")
    variables = ",".join(
        [
            f"origination_uuid={call.caller_uuid}",
            "origination_caller_id_number=+5531999990000",
            "origination_caller_id_name=Maria",
            "ignore_early_media=true",
            f"test_call_folder={call.folder}",
        ]
    )
    call.started = time.monotonic()
    # bgapi: fs_cli returns at once (a plain ``originate`` keeps an fs_cli process polling for the whole call,
    # ~5 % of a core per call: the benchmark's own load). A call that does not start shows as no marks file.
    try:
        answer = fs.api(f"bgapi originate {{{variables}}}loopback/8000/{CONTEXT} &lua({CALLER_LUA})", timeout=60)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        call.failed = f"originate: {exc}"
        return
    if not answer.startswith("+OK"):
        call.failed = f"originate: {answer}"


def run_calls(fs: FreeSwitch, count: int, stagger: float, timeout: float = 240) -> list[Call]:
    """Start ``count`` calls ``stagger`` s apart; wait (watching the caller scripts' ``done`` files, no polling of
    FreeSWITCH) until every caller leg finished and its secretary leg is gone."""
    calls = [Call(c, fs.root / "calls" / c) for c in (str(uuid.uuid4()) for _ in range(count))]
    threads = [threading.Thread(target=originate, args=(fs, call, i * stagger)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(c.failed or (c.folder / "done").exists() for c in calls):
        for call in calls:
            if not call.failed and time.monotonic() - call.started > 60 and not (call.folder / "marks.jsonl").exists():
                call.failed = "the call did not start (no caller leg within 60 s)"
        time.sleep(0.25)
    for call in calls:
        if call.failed:
            continue
        if not (call.folder / "done").exists():
            call.failed = "the caller's script did not finish"
            fs.api(f"uuid_kill {call.caller_uuid}")
            continue
        marks = call.folder / "marks.jsonl"
        call.marks = [json.loads(line) for line in marks.read_text().splitlines() if line.strip()]
        call.call_uuid = str(call.marks[-1].get("other_uuid") or "")
    settle = time.monotonic() + 15  # the secretary's legs may outlive the callers' by a moment
    while time.monotonic() < settle and not _no_channels(fs):
        time.sleep(0.5)
    return calls


def _no_channels(fs: FreeSwitch) -> bool:
    return fs.api("show channels count").strip().startswith("0 total")


def perceived(call: Call) -> list[float]:
    """Per caller utterance: seconds from its last loud frame to the first loud frame heard after it."""
    stereo = Stereo.load(call.recording)
    out = []
    for _, end in stereo.said_segments():
        reply = stereo.first_heard_after(end)
        if reply is not None:
            out.append((reply - end) / 1000)
    return out


# Checking what was stored ---------------------------------------------------------------------------------


@dataclass
class Checked:
    stored_calls: int = 0
    turns: int = 0
    expected_turns: int = 0
    heard: int = 0
    expected_heard: int = 0
    errors: list[str] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in STAGES})
    eot_setting: list[float] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return (self.expected_turns - self.turns) + (self.expected_heard - self.heard)


def conversations(service: Service) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = service.get("/conversations", limit=500, offset=offset)
        for item in page["items"]:
            found[item["call_uuid"]] = item
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return found


def check(service: Service, calls: list[Call], words: dict[str, str]) -> Checked:
    result = Checked()
    stored = conversations(service)
    for call in calls:
        result.expected_turns += len(SAID)
        result.expected_heard += len(SAID) + 1
        if call.failed:
            result.errors.append(f"{call.caller_uuid}: {call.failed}")
            continue
        result.heard += call.replies_heard()
        item = stored.get(call.call_uuid)
        if item is None:
            result.errors.append(f"{call.call_uuid}: no conversation stored")
            continue
        result.stored_calls += 1
        detail = service.get(f"/conversations/{item['voice_conversation_uuid']}")
        messages = detail["messages"]
        users = [m["text"] for m in messages if m["role"] == "user"]
        replies = [m for m in messages if m["role"] == "assistant" and m["turn_index"] > 0]
        expected_users = [words[name] for name in SAID]
        good = sum(1 for u, e in zip(users, expected_users, strict=False) if u == e)
        good = min(good, sum(1 for r, a in zip(replies, ACTIONS, strict=False) if r["action"] == a))
        result.turns += good
        if detail["outcome"] != "resolved":
            result.errors.append(f"{call.call_uuid}: outcome {detail['outcome']}")
        if users != expected_users or [r["action"] for r in replies] != ACTIONS:
            result.errors.append(f"{call.call_uuid}: stored {users} → {[r['action'] for r in replies]}")
        for reply in replies:
            timings = reply.get("timings") or {}
            if "interrupted_ms" in timings:
                result.errors.append(f"{call.call_uuid}: turn {reply['turn_index']} interrupted")
                continue
            for name in STAGES:
                value = timings.get(name)
                if isinstance(value, int | float):
                    result.stages[name].append(float(value))
    return result


INTACT = 0.95  # an intact copy of a fixture scores 1.00; 20 ms missing inside the words drops it well below


def stt_scores(stt: FakeSTT, since: int, durations: dict[str, float]) -> tuple[int, int, float]:
    """(requests, intact whole-utterance segments, the best score of the whole-utterance segments that are not
    intact, nan if none) among the fake STT's requests from ``since`` on. Whole: recognised as a fixture and at
    least as long as it. Speculative requests (sent at a short pause) may hold part of an utterance and score
    lower; each turn's final segment holds it all: fewer intact segments than turns means frames went missing
    inside some caller's words."""
    whole = [
        r.match.scores[r.match.name]
        for r in stt.requests[since:]
        if r.match.name is not None and r.duration_s >= durations[r.match.name]
    ]
    intact = [score for score in whole if score >= INTACT]
    damaged = [score for score in whole if score < INTACT]
    return len(stt.requests) - since, len(intact), max(damaged, default=float("nan"))


# The run ------------------------------------------------------------------------------------------------------


@dataclass
class Level:
    n: int
    calls: list[Call]
    wall_s: float
    cpu: dict[str, float]
    checked: Checked
    perceived: list[float]
    stt_requests: int
    whole: int
    min_score: float
    service_problems: int
    fs_problems: int


def measure(
    n: int,
    fs: FreeSwitch,
    service: Service,
    stt: FakeSTT,
    meters: dict[str, Cpu],
    words: dict[str, str],
    durations: dict[str, float],
    *,
    sequential: int,
    stagger: float,
) -> Level:
    before = {name: meter.read() for name, meter in meters.items()}
    requests, problems = len(stt.requests), service.log_problems()
    fs_before = len(fs.log_lines("voice_ai_stream_error")) + len(fs.log_lines("[stream] the service closed"))
    started = time.monotonic()
    calls: list[Call] = []
    if n == 1:
        for _ in range(sequential):
            calls += run_calls(fs, 1, 0)
    else:
        calls = run_calls(fs, n, stagger)
    wall = time.monotonic() - started
    after = {name: meter.read() for name, meter in meters.items()}
    cpu = {
        "service": after["service"][0] - before["service"][0],
        "children": after["service"][1] - before["service"][1],
        "postgres": sum(after["postgres"]) - sum(before["postgres"]),
        "freeswitch": after["freeswitch"][0]
        - before["freeswitch"][0]
        + after["freeswitch"][1]
        - before["freeswitch"][1],
        "bench": after["bench"][0] - before["bench"][0],
        "fs_cli": after["bench"][1] - before["bench"][1],
    }
    checked = check(service, calls, words)
    heard = [value for call in calls if not call.failed for value in perceived(call)]
    stt_requests, whole, min_score = stt_scores(stt, requests, durations)
    fs_after = len(fs.log_lines("voice_ai_stream_error")) + len(fs.log_lines("[stream] the service closed"))
    return Level(
        n,
        calls,
        wall,
        cpu,
        checked,
        heard,
        stt_requests,
        whole,
        min_score,
        service.log_problems() - problems,
        fs_after - fs_before,
    )


def report(levels: list[Level], eot_ms: int) -> None:
    first = levels[0]
    share = [v * 1000 - eot_ms for v in first.perceived]
    print()
    print(
        f"1. service's share at 1 call (perceived − end_of_turn_ms {eot_ms}): {len(share)} turns  "
        f"p50 {pct(share, 50):.0f} ms  p95 {pct(share, 95):.0f} ms  (goal p50 ≤ 150 ms)"
    )
    stages = first.checked.stages
    print("   stored stages (p50 ms): " + "  ".join(f"{n[:-3]} {pct(v, 50):.0f}" for n, v in stages.items() if v))
    print()
    print(
        "2.  N  calls  wall s  perceived p50/p95 s   share p50/p95 ms   CPU s per call-minute: service  postgres"
        "  freeswitch  bench fs_cli   stored turns  replies heard  errors  STT requests, intact segments/turns"
        "  log errors svc/fs"
    )
    for level in levels:
        minutes = sum(call.minutes for call in level.calls) or float("nan")
        shares = [v * 1000 - eot_ms for v in level.perceived]
        c = level.checked
        print(
            f"   {level.n:3d}  {len(level.calls):4d}  {level.wall_s:6.1f}  "
            f"{pct(level.perceived, 50):6.2f} / {pct(level.perceived, 95):5.2f}     "
            f"{pct(shares, 50):5.0f} / {pct(shares, 95):5.0f}                         "
            f"{(level.cpu['service'] + level.cpu['children']) / minutes:5.2f}  {level.cpu['postgres'] / minutes:8.2f}"
            f"  {level.cpu['freeswitch'] / minutes:10.2f}  {level.cpu['bench'] / minutes:5.2f}"
            f" {level.cpu['fs_cli'] / minutes:6.2f}"
            f"   {c.turns:3d}/{c.expected_turns:<3d}       {c.heard:3d}/{c.expected_heard:<3d}"
            f"       {len(c.errors):3d}     {level.stt_requests:4d} {level.whole:3d}/{c.expected_turns:<3d}"
            f"              {level.service_problems}/{level.fs_problems}"
            + (f"  (not intact: best {level.min_score:.2f})" if level.whole < c.expected_turns else "")
        )
    print("   stored stages per level, p50/p95 ms:")
    for level in levels:
        stages = level.checked.stages
        print(
            f"   {level.n:3d}  "
            + "  ".join(
                f"{n[:-3]} {pct(v, 50):.0f}/{pct(v, 95):.0f}" for n, v in stages.items() if v and n != "total_ms"
            )
        )
    for level in levels:
        for error in level.checked.errors[:5]:
            print(f"   N={level.n} ! {error}")


def sustained(levels: list[Level]) -> tuple[int, str]:
    base = pct(levels[0].perceived, 95)
    best, why = 0, "every level passed"
    for level in levels:
        c = level.checked
        if c.errors or c.lost or level.whole < c.expected_turns or level.service_problems or level.fs_problems:
            return best, f"N={level.n}: lost messages or errors"
        if level.n > 1 and pct(level.perceived, 95) > 2 * base:
            return best, f"N={level.n}: p95 {pct(level.perceived, 95):.2f} s > 2 × {base:.2f} s"
        best = level.n
    return best, why


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2, help="level 1: calls one after the other (3 turns each)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16], help="levels (calls at once)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of no call, to measure the idle CPU")
    parser.add_argument("--stagger", type=float, default=0.3, help="seconds between the starts of a level's calls")
    args = parser.parse_args()
    levels_wanted = sorted(set(args.concurrency) | {1})
    binary = binary_from_env()
    if binary is None:
        raise SystemExit("set VOICE_AI_TEST_FREESWITCH (scripts/platform/freeswitch.sh installs FreeSWITCH)")
    load_start = load_average()
    work = Path(tempfile.mkdtemp(prefix="voice-ai-bench-load-"))
    # the fake recognises only the fixtures the calls say (half the matching work of all four)
    words = {name: text for name, text in fixture_texts().items() if name in SAID}
    durations = {name: wave_seconds(FIXTURES / f"{name}.wav") for name in words}
    with FakeSTTServer(words) as stt:
        esl_port = free_port()
        service = start_service(work / "data", esl_port, stt)
        secretary = service.get("/secretaries")["items"][0]
        eot_ms = int(secretary["end_of_turn_ms"])
        entry = render_dialplan(
            "fusionpbx",
            domain_uuid=uuid.UUID(service.domain),
            domain_name=CONTEXT,
            extension="8000",
            secretary=str(secretary["voice_secretary_uuid"]),
            fallback_destination="200",
            mode="stream",
        )
        fs = FreeSwitch(
            binary=binary,
            root=work / "freeswitch",
            variables={"voice_ai_url": service.base, "voice_ai_esl": f"127.0.0.1:{esl_port}"},
            dialplan=f'<context name="{CONTEXT}">{entry}{reached_extension("200")}</context>',
            modules=(*MODULES, "mod_audio_stream"),
        )
        try:
            fs.start()
            assert fs.proc is not None
            meters = {
                "service": Cpu(service.proc.pid),
                "postgres": Cpu(postmaster(work / "data", service.proc.pid)),
                "freeswitch": Cpu(fs.proc.pid),
                "bench": Cpu(os.getpid(), live_children=False),  # its reaped children: fs_cli
            }
            print(
                f"{binary} ({fs.api('version')}); streaming, end_of_turn_ms {eot_ms}; STT fake Deepgram, LLM the "
                f"dialog policy, TTS espeak-ng; load average {load_start:.2f} at start; {psutil.cpu_count()} CPUs"
            )
            run_calls(fs, 1, 0)  # warm-up: the greeting cached, the code paths loaded
            idle = {name: meter.read() for name, meter in meters.items()}
            time.sleep(args.idle)
            idle_s = {name: sum(meter.read()) - sum(idle[name]) for name, meter in meters.items()}
            print(
                f"   idle, no call ({args.idle:.0f} s), CPU s per minute: "
                + "  ".join(f"{name} {60 * value / args.idle:.2f}" for name, value in idle_s.items())
            )
            levels: list[Level] = []
            for n in levels_wanted:
                level = measure(
                    n, fs, service, stt, meters, words, durations, sequential=args.calls, stagger=args.stagger
                )
                levels.append(level)
                print(
                    f"   N={n}: {len(level.calls)} calls in {level.wall_s:.0f} s, perceived p95 "
                    f"{pct(level.perceived, 95):.2f} s, {len(level.checked.errors)} errors, load {load_average():.2f}",
                    flush=True,
                )
                if sustained(levels)[0] < n:
                    break
            report(levels, eot_ms)
            best, why = sustained(levels)
            print(f"\nhighest N sustained: {best} ({why}); load average {load_average():.2f} at the end")
            requests = [
                {"fixture": r.match.name, "duration_s": round(r.duration_s, 3), "scores": r.match.scores}
                for r in stt.requests
            ]
            (work / "stt_requests.json").write_text(json.dumps(requests, indent=1))
            print(f"logs: {service.log}  {fs.log_file}  {work / 'stt_requests.json'}")
        finally:
            fs.stop()
            service.proc.terminate()
            service.proc.wait(timeout=60)


if __name__ == "__main__":
    main()
