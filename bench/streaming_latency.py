"""Perceived latency on the real FreeSWITCH, streaming vs turn-based, same utterances, same run: the end of the
caller's speech → the first audio of the reply, from the caller leg's stereo recording (what a person on the phone
experiences); and the barge-in reaction: the caller starts speaking during a reply → the reply's audio stops (the
streaming call first *pauses* it at its first reliable voice, ~100 ms, then stops it once ``barge_in_min_ms``
confirms; the recording shows the earlier of the two).

    export VOICE_AI_TEST_FREESWITCH=/usr/local/freeswitch/bin/freeswitch   # scripts/platform/freeswitch.sh
    .venv/bin/python bench/streaming_latency.py [--calls 3] [--barge-ins 3]

Starts ``voice-ai serve --demo`` (embedded PostgreSQL, the offline providers: Whisper, espeak-ng, the dialog
policy) with its event socket server, and a FreeSWITCH with mod_audio_stream (tests/real_freeswitch.py). The
secretary answers on 8000 in streaming mode (``voice-ai freeswitch dialplan --mode stream``) and on 8001
turn-based. Each call: the caller waits for the greeting, asks the price twice and says goodbye (pt-BR WAV
fixtures, 8 kHz), waiting for each reply like a person (0.6 s after it ends); calls alternate between the modes.
A barge-in call asks the price and, as soon as the answer is heard, says goodbye over it.

Per turn, perceived latency = first loud frame the caller heard after the last loud frame the caller said. The
turn-based flow's share of it is mostly the secretary's end-of-speech silence (``silence_seconds``, 2 s in the demo);
the streaming call's is its ``end_of_turn_ms`` (600 ms by default) plus STT, the first sentence and its TTS.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import free_port  # noqa: E402
from real_freeswitch import FIXTURES, MODULES, FreeSwitch, Stereo, binary_from_env, reached_extension  # noqa: E402
from voice_ai.telephony.freeswitch import render_dialplan  # noqa: E402

VOICE_AI = str(Path(sys.executable).parent / "voice-ai")
CONTEXT = "demo.localhost"
TURNS = ["listen"] + [
    step
    for name in ("question_price", "question_price", "goodbye")
    for step in (f"say {FIXTURES / name}.wav", "listen")
]
BARGE = ["listen", f"say {FIXTURES / 'question_price.wav'}", "hear", f"say {FIXTURES / 'goodbye.wav'}", "listen"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def start_service(data_dir: Path, esl_port: int) -> tuple[subprocess.Popen[str], str, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_AI_")}
    proc = subprocess.Popen(
        [VOICE_AI, "serve", "--demo", "--port", str(port)],
        env={**env, "VOICE_AI_DATA_DIR": str(data_dir), "VOICE_AI_ESL_PORT": str(esl_port)},
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


def perceived(recording: Path) -> list[float]:
    stereo = Stereo.load(recording)
    out = []
    for _, end in stereo.said_segments():
        reply = stereo.first_heard_after(end)
        if reply is not None:
            out.append((reply - end) / 1000)
    return out


def barge_reaction(recording: Path, marks: list[dict[str, object]]) -> float | None:
    """Seconds from the start of the caller's voice over the reply to the end of the reply's audio (paused or
    stopped), from the caller leg's recording."""
    stereo = Stereo.load(recording)
    says = [int(str(m["t"])) for m in marks if m["step"] == "say_start"]
    if len(says) < 2:
        return None
    voice = next((start for start, _ in stereo.said_segments(gap_ms=300) if start >= says[1] - 100), None)
    if voice is None:
        return None
    playing = [seg for seg in stereo.heard_segments(gap_ms=200) if seg[0] <= voice < seg[1]]
    return (playing[-1][1] - voice) / 1000 if playing else None


STAGES = ("eot_ms", "stt_ms", "retrieve_ms", "llm_first_ms", "tts_first_ms", "first_audio_ms", "total_ms")


def stages(base: str, domain: str, calls: set[str]) -> None:
    """The streaming turns' stage timings, as the service stored them (p50 per stage, ms)."""
    listed = httpx.get(f"{base}/api/v1/domains/{domain}/conversations", params={"limit": 100}, timeout=30).json()
    values: dict[str, list[float]] = {name: [] for name in STAGES}
    for item in listed["items"]:
        if item["call_uuid"] not in calls:
            continue
        detail = httpx.get(
            f"{base}/api/v1/domains/{domain}/conversations/{item['voice_conversation_uuid']}", timeout=30
        ).json()
        for message in detail.get("messages", []):
            timings = message.get("timings") or {}
            if message["role"] == "assistant" and message["turn_index"] > 0 and "interrupted_ms" not in timings:
                for name in STAGES:
                    if isinstance(timings.get(name), int | float):
                        values[name].append(float(timings[name]))
    print("stream stages (p50 ms): " + "  ".join(f"{n[:-3]} {pct(v, 50):.0f}" for n, v in values.items() if v))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3, help="calls per mode (3 turns each)")
    parser.add_argument("--barge-ins", type=int, default=3, help="barge-in calls (streaming)")
    args = parser.parse_args()
    binary = binary_from_env()
    if binary is None:
        raise SystemExit("set VOICE_AI_TEST_FREESWITCH (scripts/platform/freeswitch.sh installs FreeSWITCH)")
    work = Path(tempfile.mkdtemp(prefix="voice-ai-bench-stream-"))
    esl_port = free_port()
    proc, base, domain = start_service(work / "data", esl_port)
    secretary = httpx.get(f"{base}/api/v1/domains/{domain}/secretaries").json()["items"][0]
    entries = "".join(
        render_dialplan(
            "fusionpbx",
            domain_uuid=uuid.UUID(domain),
            domain_name=CONTEXT,
            extension=extension,
            secretary=str(secretary["voice_secretary_uuid"]),
            fallback_destination="200",
            mode=mode,  # type: ignore[arg-type]
        )
        for extension, mode in (("8000", "stream"), ("8001", "turn"))
    )
    people = "".join(reached_extension(n) for n in ("200", "201", "202", "203", "204"))
    fs = FreeSwitch(
        binary=binary,
        root=work / "freeswitch",
        variables={"voice_ai_url": base, "voice_ai_esl": f"127.0.0.1:{esl_port}"},
        dialplan=f'<context name="{CONTEXT}">{entries}{people}</context>',
        modules=(*MODULES, "mod_audio_stream"),
    )
    try:
        fs.start()
        print(f"{binary} ({fs.api('version')}); turn-based silence {secretary['silence_seconds']} s")
        for extension in ("8000", "8001"):  # warm-up: models loaded, fixed phrases cached
            fs.call(extension, CONTEXT, TURNS, timeout=300)
        results: dict[str, list[float]] = {"stream": [], "turn": []}
        streamed: set[str] = set()
        for _ in range(args.calls):
            for extension, mode in (("8000", "stream"), ("8001", "turn")):
                call = fs.call(extension, CONTEXT, TURNS, timeout=300)
                results[mode].extend(perceived(call.recording))
                if mode == "stream":
                    streamed.add(call.call_uuid)
        for mode, values in results.items():
            print(
                f"{mode:6s} perceived (end of speech → reply audio): {len(values)} turns  "
                f"p50 {pct(values, 50):5.2f} s  p95 {pct(values, 95):5.2f} s  max {max(values, default=0):5.2f} s"
            )
        stages(base, domain, streamed)
        reactions = []
        for _ in range(args.barge_ins):
            call = fs.call("8000", CONTEXT, BARGE, timeout=300)
            reaction = barge_reaction(call.recording, call.marks)
            if reaction is not None:
                reactions.append(reaction)
        print(
            f"barge-in (caller's voice starts → reply audio pauses/stops): {len(reactions)} of {args.barge_ins} "
            f"calls  p50 {pct(reactions, 50):5.2f} s  p95 {pct(reactions, 95):5.2f} s  "
            f"max {max(reactions, default=0):5.2f} s"
        )
    finally:
        fs.stop()
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
