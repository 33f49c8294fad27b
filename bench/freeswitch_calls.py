"""Whole calls through the real Lua call flow (FreeSWITCH emulator, virtual media time) against a real service.

    .venv/bin/python bench/freeswitch_calls.py [--calls 10] [--concurrency 1 4]

Starts ``voice-ai serve --demo`` (embedded PostgreSQL, offline providers) on a free port, then runs calls of
three turns (two questions and a goodbye, pt-BR WAV fixtures at 8 kHz) through
``telephony/freeswitch/spec/support/run_call.lua``. Media takes no wall-clock time in the emulator, so what is
measured is what the script adds on top of the service:

* per turn: the service's own time (``timings.total_ms``) and the script's round trip (multipart upload of the
  recording + the service + JSON), and their difference (the Lua/HTTP overhead);
* per call: wall time of the whole script minus the sum of its turns' round trips (start, greeting and reply
  downloads, end, process start-up).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
FS = ROOT / "telephony" / "freeswitch"
VOICE_AI = str(Path(sys.executable).parent / "voice-ai")
TURN = re.compile(r"turn \d+: .* → (\w+) \(service (\d+) ms, round trip (\d+) ms\)")
STEPS = ["question_price", "question_saturday", "goodbye"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def start_service(data_dir: Path) -> tuple[subprocess.Popen[str], str, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [VOICE_AI, "serve", "--demo", "--port", str(port)],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("VOICE_AI_")},
            "VOICE_AI_DATA_DIR": str(data_dir),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.terminate()
        raise SystemExit("service did not start")
    domain = httpx.get(f"{base}/api/v1/domains", params={"name": "demo.localhost"}).json()["items"][0]
    return proc, base, str(domain["domain_uuid"])


def one_call(base: str, domain: str, work: Path) -> dict[str, Any]:
    call_uuid = str(uuid.uuid4())
    folder = work / call_uuid
    folder.mkdir()
    scenario = {
        "script": str(FS / "scripts" / "secretary_ai.lua"),
        "argv": ["8000"],
        "uuid": call_uuid,
        "variables": {"domain_uuid": domain, "domain_name": "demo.localhost", "caller_id_number": "+5541"},
        "globals": {
            "voice_ai_url": base,
            "temp_dir": str(folder),
            "voice_ai_sounds_dir": str(FS / "sounds" / "voice_ai"),
        },
        "caller": {"steps": [{"say": str(FS / "spec" / "fixtures" / f"{s}.wav")} for s in STEPS]},
    }
    (folder / "scenario.json").write_text(json.dumps(scenario))
    started = time.perf_counter()
    subprocess.run(
        [
            "lua5.3",
            str(FS / "spec" / "support" / "run_call.lua"),
            str(folder / "scenario.json"),
            str(folder / "t.json"),
        ],
        check=True,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    transcript = json.loads((folder / "t.json").read_text())
    turns = [TURN.search(line["text"]) for line in transcript["logs"]]
    found = [(m.group(1), float(m.group(2)), float(m.group(3))) for m in turns if m]
    ending = [e for e in transcript["events"] if e["op"] in ("transfer", "hangup")][-1]
    return {"wall_ms": wall_ms, "turns": found, "ending": ending.get("by") or ending.get("destination")}


def run(base: str, domain: str, calls: int, concurrency: int, work: Path) -> None:
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda _: one_call(base, domain, work), range(calls)))
    elapsed = time.perf_counter() - started
    service = [t[1] for r in results for t in r["turns"]]
    trip = [t[2] for r in results for t in r["turns"]]
    overhead = [t[2] - t[1] for r in results for t in r["turns"]]
    per_call = [r["wall_ms"] - sum(t[2] for t in r["turns"]) for r in results]
    endings: dict[str, int] = {}
    for r in results:
        endings[str(r["ending"])] = endings.get(str(r["ending"]), 0) + 1
    print(f"\nconcurrency {concurrency}: {calls} calls, {len(trip)} turns in {elapsed:.1f} s, endings {endings}")
    print(f"  service per turn     p50 {pct(service, 50):7.0f} ms  p95 {pct(service, 95):7.0f} ms")
    print(f"  round trip per turn  p50 {pct(trip, 50):7.0f} ms  p95 {pct(trip, 95):7.0f} ms")
    print(
        f"  Lua+HTTP overhead    p50 {pct(overhead, 50):7.1f} ms  p95 {pct(overhead, 95):7.1f} ms"
        f"  ({statistics.fmean(overhead) / statistics.fmean(service) * 100:.2f} % of service time)"
    )
    print(f"  rest of a call       p50 {pct(per_call, 50):7.0f} ms  p95 {pct(per_call, 95):7.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="voice-ai-bench-fs-"))
    proc, base, domain = start_service(work / "data")
    try:
        one_call(base, domain, work)  # warm-up: models loaded, phrases cached
        for concurrency in args.concurrency:
            run(base, domain, args.calls, concurrency, work)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
