"""The browser console in headless Chromium with a pt-BR WAV as the fake microphone: the page captures through its
AudioWorklet, streams 16 kHz L16 frames over the WebSocket, shows the transcript, the reply, the latency and the
action, plays the clips and reports them played.

Behind the socket, three ways: a stand-in call (tests/fakes/console_call.py), which answers only once it has heard
voice (the protocol, deterministic); the real :class:`~voice_ai.streaming.call.StreamingCall` (VAD, end of turn)
over the fake engine of tests/streaming (canned transcripts and replies); and everything real — the call over
:class:`~voice_ai.conversation.engine.CallEngine` with the offline providers, the demo secretary."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import test_calls
from chromium import chromium
from fakes.console_call import VOICE_FLOOR, EchoCall, Stats, tone
from streaming.stream_fakes import FakeEngine, reply
from test_console import mint, serve
from voice_ai.main import create_app
from voice_ai.providers.audio import Audio
from voice_ai.runtime import Runtime
from voice_ai.streaming.console.session import streaming_call
from voice_ai.streaming.contracts import StreamSettings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = Path(os.environ.get("VOICE_AI_TEST_OUTPUT", ROOT / "test-output"))
SPEECH = ROOT / "telephony" / "freeswitch" / "spec" / "fixtures" / "question_price.wav"


def microphone_wav(path: Path, *, lead_s: float = 0.0) -> Path:
    """The fixture (8 kHz) as 48 kHz 16-bit mono PCM WAV, a common capture format, after ``lead_s`` of silence and
    with a second of silence after it (Chromium loops the file unless its name is followed by ``%noloop``)."""
    speech = Audio.from_wav(SPEECH.read_bytes()).resampled(48000)
    silence = b"\x00\x00" * 48000
    path.write_bytes(Audio(silence[: int(lead_s * 48000) * 2] + speech.pcm + silence, 48000).wav())
    return path


demo = test_calls.demo  # the seeded demo tenant (a fixture), with its documents indexed

FLAGS = (
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


@pytest.fixture(scope="module")
async def console(runtime: Runtime) -> AsyncIterator[tuple[str, Any]]:
    app = create_app(runtime.settings, runtime=runtime)
    async with serve(app) as base:
        yield base, app


async def console_path(client: httpx.AsyncClient, new_domain: Any, name: str) -> str:
    domain = await new_domain()
    secretary = (await client.post(f"/api/v1/domains/{domain}/secretaries", json={"name": name})).json()
    path: str = (await mint(client, domain, secretary["voice_secretary_uuid"])).json()["console_path"]
    return path


async def test_the_console_talks_with_a_fake_microphone(
    console: tuple[str, Any], client: httpx.AsyncClient, new_domain: Any, tmp_path: Path
) -> None:
    base, app = console
    calls: list[Stats] = []

    def factory(setup: Any) -> EchoCall:
        calls.append(Stats())
        return EchoCall(setup.transport, calls[-1])

    app.state.console_call_factory = factory
    path = await console_path(client, new_domain, "Recepção Console")
    wav = microphone_wav(tmp_path / "microphone.wav")

    def browse() -> dict[str, Any]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        with chromium(tmp_path, *FLAGS, f"--use-file-for-fake-audio-capture={wav}") as driver:
            driver.get(f"{base}{path}")
            assert driver.current_url == f"{base}/console", "the token is taken out of the address bar"
            driver.find_element(By.ID, "start").click()
            wait = WebDriverWait(driver, 60)
            wait.until(lambda d: "Recepção Console" in d.find_element(By.ID, "secretary-name").text)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#log li.reply:not([data-turn='0'])"))
            wait.until(lambda d: d.find_element(By.ID, "latency").text.endswith("ms"))
            wait.until(lambda d: int(d.find_element(By.ID, "played").text) >= 2)  # the greeting and the reply
            seen = {
                "transcript": driver.find_element(By.CSS_SELECTOR, "#log li.transcript").text,
                "reply": driver.find_element(By.CSS_SELECTOR, "#log li.reply:not([data-turn='0'])").text,
                "latency": driver.find_element(By.ID, "latency").text,
                "greeting": driver.find_element(By.CSS_SELECTOR, "#log li.reply[data-turn='0']").text,
            }
            OUTPUT.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(OUTPUT / "console-standin.png"))
            # a 1.5 s clip held for 1 s by pause/resume: it plays on from where it was, so it ends ~1 s late
            driver.find_element(By.CSS_SELECTOR, ".dtmf[data-digit='#']").click()
            wait.until(lambda d: calls[-1].held is not None and len(calls[-1].times.get(calls[-1].held, [])) == 2)
            driver.find_element(By.CSS_SELECTOR, ".dtmf[data-digit='0']").click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#log li.action"))
            seen["action"] = driver.find_element(By.CSS_SELECTOR, "#log li.action").text
            wait.until(lambda d: d.find_element(By.ID, "status").get_attribute("data-state") == "ended")
            seen["status"] = driver.find_element(By.ID, "status").text
            seen["errors"] = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#log li.error")]
            return seen

    seen = await asyncio.to_thread(browse)
    assert "(stand-in)" in seen["transcript"]
    assert "Resposta de teste da secretária." in seen["reply"]
    assert seen["latency"] == "42 ms"
    assert "Olá, teste." in seen["greeting"]
    assert "100" in seen["action"] and "transfer" in seen["action"].lower(), seen["action"]
    assert "transfer" in seen["status"]
    assert seen["errors"] == []
    stats = calls[-1]
    assert stats.frames >= 30 and stats.bytes == stats.frames * 640, "20 ms L16 frames at 16 kHz"
    assert stats.peak_rms > VOICE_FLOOR and stats.voiced_s >= 0.6, "the WAV's speech, not silence"
    completed = [clip for clip, done in stats.stopped if done]
    assert {"clip-1", "clip-2"} <= set(completed), stats.stopped
    assert "clip-1" in stats.started
    assert stats.digits == ["#", "0"]
    held = stats.held
    assert held is not None
    started, stopped = stats.times[held]
    assert stopped - started >= 1.5 + 0.7, "held by the pause, then played to its end"
    assert (held, True) in stats.stopped
    assert (OUTPUT / "console-standin.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_the_console_drives_the_streaming_call(
    console: tuple[str, Any], client: httpx.AsyncClient, new_domain: Any, tmp_path: Path
) -> None:
    """The real StreamingCall behind the page: its VAD hears the WAV's question end (600 ms of silence), the turn is
    transcribed from 16 kHz audio, the reply's sentences play back to back and are reported played."""
    import time

    base, app = console
    engines: list[FakeEngine] = []

    def factory(setup: Any) -> Any:
        log: list[str] = []
        engine = FakeEngine(time.monotonic, log, StreamSettings(end_of_turn_ms=600), greeting=tone(0.3))  # type: ignore[arg-type]
        engine.texts = ["Quanto custa a declaração?"]
        engine.replies = [
            reply(log, ["Custa duzentos reais.", "Posso ajudar em algo mais?"], audio=[tone(0.4), tone(0.3)])
        ]
        engines.append(engine)
        return streaming_call(setup, engine)

    app.state.console_call_factory = factory
    path = await console_path(client, new_domain, "Recepção Streaming")
    wav = f"{microphone_wav(tmp_path / 'microphone.wav', lead_s=1.0)}%noloop"  # one question, then silence

    def browse() -> dict[str, Any]:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        with chromium(tmp_path, *FLAGS, f"--use-file-for-fake-audio-capture={wav}") as driver:
            driver.get(f"{base}{path}")
            driver.find_element(By.ID, "start").click()
            wait = WebDriverWait(driver, 90)
            try:
                wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#log li.transcript"))
                wait.until(lambda d: "Custa duzentos reais." in d.find_element(By.ID, "log").text)
                wait.until(lambda d: d.find_element(By.ID, "latency").text.endswith("ms"))
                wait.until(lambda d: int(d.find_element(By.ID, "played").text) >= 3)  # greeting + the 2 sentences
            except TimeoutException:  # what the page and the call had got to
                body = driver.find_element(By.TAG_NAME, "body").text
                raise AssertionError(f"{body}\nengine: {engines[-1].log} {engines[-1].ends}") from None
            seen = {
                "transcript": driver.find_element(By.CSS_SELECTOR, "#log li.transcript").text,
                "log": driver.find_element(By.ID, "log").text,
                "latency": driver.find_element(By.ID, "latency").text,
                "errors": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#log li.error")],
            }
            driver.find_element(By.ID, "stop").click()
            return seen

    seen = await asyncio.to_thread(browse)
    assert "Quanto custa a declaração?" in seen["transcript"]
    assert "Olá, em que posso ajudar?" in seen["log"], "the greeting"
    assert "Custa duzentos reais. Posso ajudar em algo mais?" in seen["log"]
    assert seen["latency"].endswith(" ms") and int(seen["latency"].split()[0]) >= 0
    assert seen["errors"] == []
    engine = engines[-1]
    _, segment = engine.transcribed[0]
    assert segment.sample_rate == 16000 and segment.duration_s >= 0.5, "the caller's turn, cut by the call's VAD"
    for _ in range(100):  # the page's stop ends the call: the conversation ends (abandoned or hang-up)
        if engine.ends:
            break
        await asyncio.sleep(0.05)
    assert engine.ends and engine.ends[0]["outcome"] in ("hangup", "abandoned"), engine.ends


async def test_the_console_talks_to_the_demo_secretary_through_the_real_engine(
    console: tuple[str, Any], client: httpx.AsyncClient, demo: dict[str, Any], db: Any, tmp_path: Path
) -> None:
    """Everything real behind the page: the streaming call and the engine with the offline providers (Whisper,
    the dialog policy, espeak-ng). The words Whisper hears are not asserted (CPUs differ), only that there are some,
    a reply, a latency, and the turn stored in the conversation log like a phone call's."""
    base, app = console
    app.state.console_call_factory = None  # the default: StreamingCall over CallEngine
    path = (await mint(client, demo["domain"], demo["secretary"])).json()["console_path"]
    # one question, then silence: a looping microphone would talk over every reply (Whisper takes its time here)
    wav = f"{microphone_wav(tmp_path / 'microphone.wav', lead_s=1.0)}%noloop"

    def browse() -> dict[str, Any]:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        with chromium(tmp_path, *FLAGS, f"--use-file-for-fake-audio-capture={wav}") as driver:
            driver.get(f"{base}{path}")
            driver.find_element(By.ID, "start").click()
            wait = WebDriverWait(driver, 120)
            try:
                wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#log li.reply:not([data-turn='0'])"))
                wait.until(lambda d: d.find_element(By.ID, "latency").text.endswith("ms"))
            except TimeoutException:
                raise AssertionError(driver.find_element(By.TAG_NAME, "body").text) from None
            seen = {
                "transcript": driver.find_element(By.CSS_SELECTOR, "#log li.transcript").text,
                "reply": driver.find_element(By.CSS_SELECTOR, "#log li.reply:not([data-turn='0'])").text,
                "greeting": driver.find_element(By.CSS_SELECTOR, "#log li.reply[data-turn='0']").text,
                "latency": driver.find_element(By.ID, "latency").text,
                "errors": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#log li.error")],
            }
            OUTPUT.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(OUTPUT / "console.png"))
            driver.find_element(By.ID, "stop").click()
            return seen

    seen = await asyncio.to_thread(browse)
    assert seen["errors"] == []
    assert len(seen["transcript"]) > len("You ") and len(seen["reply"]) > len("Secretary ")
    assert seen["greeting"].strip()
    assert int(seen["latency"].split()[0]) > 0
    rows: list[Any] = []
    for _ in range(200):  # the turn is stored once its reply has played; the stop ends the conversation
        rows = await db.fetch(
            "SELECT c.caller_id_number, c.outcome, m.role, m.text FROM v_voice_conversations c"
            " JOIN v_voice_messages m USING (voice_conversation_uuid) WHERE c.call_uuid LIKE 'console-%'"
            " AND m.turn_index >= 1 ORDER BY m.turn_index"
        )
        if rows and rows[0]["outcome"] is not None:
            break
        await asyncio.sleep(0.1)
    assert rows and {r["role"] for r in rows} >= {"user", "assistant"}, rows
    assert rows[0]["caller_id_number"] == "console" and rows[0]["outcome"] in ("hangup", "abandoned")
    assert (OUTPUT / "console.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
