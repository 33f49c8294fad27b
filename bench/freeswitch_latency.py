"""Perceived latency of a turn on the real FreeSWITCH: the end of the caller's speech → the first audio of the reply,
measured on the caller leg's stereo recording (what a person on the phone experiences).

    export VOICE_AI_TEST_FREESWITCH=/usr/local/freeswitch/bin/freeswitch   # scripts/platform/freeswitch.sh
    .venv/bin/python bench/freeswitch_latency.py [--calls 3] [--concurrency 1 4] [--scripts-ref GIT_REF]

Starts ``voice-ai serve --demo`` (embedded PostgreSQL, offline providers: Whisper, espeak-ng, the dialog policy)
and a FreeSWITCH with a configuration of its own (tests/real_freeswitch.py), the project's scripts installed by
``voice-ai freeswitch install``. Each call: the caller waits for the greeting, asks the price twice and says
goodbye (pt-BR WAV fixtures, 8 kHz), waiting for each reply like a person (0.6 s after it ends). Per turn:

* perceived latency: from the last loud frame the caller said to the first loud frame the caller heard;
* service round trip: the script's own measure (upload + STT + retrieval + LLM + TTS + JSON), from its log line;
* the rest — end-of-speech detection (the secretary's ``silence_seconds``, 2 s in the demo), fetching the reply's
  audio and starting playback — and its share of the perceived latency.

``--scripts-ref`` installs the Lua scripts of another commit (e.g. the one before a change) to compare.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from real_freeswitch import FIXTURES, FreeSwitch, Stereo, binary_from_env, reached_extension  # noqa: E402
from voice_ai.telephony.freeswitch import render_dialplan  # noqa: E402

VOICE_AI = str(Path(sys.executable).parent / "voice-ai")
CONTEXT = "demo.localhost"
STEPS = ["listen"] + [
    step
    for name in ("question_price", "question_price", "goodbye")
    for step in (f"say {FIXTURES / name}.wav", "listen")
]
# "(cause)" after the turn number since the scripts record with record_session; older scripts log without it
TURN = re.compile(r"turn (\d+)(?: \(([\w-]+)\))?: .* → (\w+) \(service (-?\d+) ms, round trip (\d+) ms\)")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def start_service(data_dir: Path) -> tuple[subprocess.Popen[str], str, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_AI_")}
    proc = subprocess.Popen(
        [VOICE_AI, "serve", "--demo", "--port", str(port)],
        env={**env, "VOICE_AI_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
        time.sleep(0.5)
    else:
        proc.terminate()
        raise SystemExit("the service did not start")
    domain = httpx.get(f"{base}/api/v1/domains", params={"name": CONTEXT}).json()["items"][0]
    return proc, base, str(domain["domain_uuid"])


def scripts_of(ref: str, into: Path) -> Path:
    """The Lua scripts of commit ``ref`` (git archive), to install instead of the working tree's."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "telephony/freeswitch/scripts"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into), "--strip-components=3"], input=archive.stdout, check=True)
    return into


def turns_of(fs: FreeSwitch, call_uuid: str, recording: Path) -> list[dict[str, Any]]:
    """Per turn: perceived latency (from the recording) and the script's round trip (from its log)."""
    # the session's logger puts the call uuid in front of the line; older scripts logged "[voice_ai] [<uuid>]"
    lines = [line for line in fs.log_lines("turn ") if line.startswith(call_uuid) or f"[{call_uuid}]" in line]
    logged = [TURN.search(line) for line in lines]
    trips = [float(m.group(5)) for m in logged if m]
    stereo = Stereo.load(recording)
    said = stereo.said_segments()
    out = []
    for index, (_, end) in enumerate(said):
        reply = stereo.first_heard_after(end)
        if reply is None:
            continue
        out.append({"perceived_ms": reply - end, "trip_ms": trips[index] if index < len(trips) else None})
    return out


def one_call(fs: FreeSwitch) -> list[dict[str, Any]]:
    call = fs.call("8000", CONTEXT, STEPS, timeout=300)
    return turns_of(fs, call.call_uuid, call.recording)


def run(fs: FreeSwitch, calls: int, concurrency: int, silence_s: float) -> None:
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        results = [t for turns in pool.map(lambda _: one_call(fs), range(calls)) for t in turns]
    elapsed = time.perf_counter() - started
    perceived = [t["perceived_ms"] / 1000 for t in results]
    trips = [t["trip_ms"] / 1000 for t in results if t["trip_ms"] is not None]
    rest = [t["perceived_ms"] / 1000 - t["trip_ms"] / 1000 for t in results if t["trip_ms"] is not None]
    print(f"\nconcurrency {concurrency}: {calls} calls, {len(results)} turns in {elapsed:.0f} s")
    print(
        f"  perceived (end of speech → reply audio)  p50 {pct(perceived, 50):5.2f} s  p95 {pct(perceived, 95):5.2f} s"
    )
    print(f"  service round trip (script's measure)    p50 {pct(trips, 50):5.2f} s  p95 {pct(trips, 95):5.2f} s")
    share = pct(rest, 50) / pct(perceived, 50) * 100 if perceived else float("nan")
    print(
        f"  end-of-speech detection + audio fetch    p50 {pct(rest, 50):5.2f} s  p95 {pct(rest, 95):5.2f} s"
        f"  ({share:.0f} % of the perceived p50; silence setting {silence_s:g} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3, help="calls per concurrency level (3 turns each)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--scripts-ref", help="install the Lua scripts of this git commit instead")
    args = parser.parse_args()
    binary = binary_from_env()
    if binary is None:
        raise SystemExit("set VOICE_AI_TEST_FREESWITCH (scripts/platform/freeswitch.sh installs FreeSWITCH)")
    work = Path(tempfile.mkdtemp(prefix="voice-ai-bench-fslat-"))
    proc, base, domain = start_service(work / "data")
    secretary = httpx.get(f"{base}/api/v1/domains/{domain}/secretaries").json()["items"][0]
    entry = render_dialplan(
        "fusionpbx",
        domain_uuid=uuid.UUID(domain),
        domain_name=CONTEXT,
        extension="8000",
        secretary="8000",
        fallback_destination="200",
    )
    people = "".join(reached_extension(n) for n in ("200", "201", "202", "203", "204"))
    fs = FreeSwitch(
        binary=binary,
        root=work / "freeswitch",
        variables={"voice_ai_url": base},
        dialplan=f'<context name="{CONTEXT}">{entry}{people}</context>',
    )
    try:
        fs.configure()
        if args.scripts_ref:
            old = scripts_of(args.scripts_ref, work / "old-scripts")
            subprocess.run(["cp", "-r", f"{old}/.", str(fs.scripts)], check=True)
            print(f"scripts of {args.scripts_ref}")
        fs.start()
        print(f"{binary} ({fs.api('version')}); silence setting {secretary['silence_seconds']} s")
        one_call(fs)  # warm-up: models loaded, fixed phrases cached
        for concurrency in args.concurrency:
            run(fs, max(args.calls, concurrency), concurrency, float(secretary["silence_seconds"]))
    finally:
        fs.stop()
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
