"""The browser console in headless Chromium with a pt-BR WAV as the fake microphone: the page captures through its
AudioWorklet, streams 16 kHz L16 frames over the WebSocket, shows the transcript, the reply, the latency and the
action, plays the clips and reports them played. A stand-in call (tests/fakes/console_call.py) is behind the socket:
it answers only once it has heard voice, so a reply on the page means the microphone's audio reached the server."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chromium import chromium
from fakes.console_call import VOICE_FLOOR, EchoCall, Stats
from test_console import mint, serve
from voice_ai.main import create_app
from voice_ai.providers.audio import Audio
from voice_ai.runtime import Runtime

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = Path(os.environ.get("VOICE_AI_TEST_OUTPUT", ROOT / "test-output"))
SPEECH = ROOT / "telephony" / "freeswitch" / "spec" / "fixtures" / "question_price.wav"


def microphone_wav(path: Path) -> Path:
    """The fixture (8 kHz) as 48 kHz 16-bit mono PCM WAV, a common capture format, with a second of silence after
    it (Chromium loops the file)."""
    speech = Audio.from_wav(SPEECH.read_bytes()).resampled(48000)
    path.write_bytes(Audio(speech.pcm + b"\x00\x00" * 48000, 48000).wav())
    return path


@pytest.fixture(scope="module")
async def console(runtime: Runtime) -> AsyncIterator[tuple[str, list[Stats]]]:
    app = create_app(runtime.settings, runtime=runtime)
    calls: list[Stats] = []

    def factory(setup: Any) -> EchoCall:
        calls.append(Stats())
        return EchoCall(setup.transport, calls[-1])

    app.state.console_call_factory = factory
    async with serve(app) as base:
        yield base, calls


async def test_the_console_talks_with_a_fake_microphone(
    console: tuple[str, list[Stats]], client: httpx.AsyncClient, new_domain: Any, tmp_path: Path
) -> None:
    base, calls = console
    domain = await new_domain()
    secretary = (await client.post(f"/api/v1/domains/{domain}/secretaries", json={"name": "Recepção Console"})).json()
    path = (await mint(client, domain, secretary["voice_secretary_uuid"])).json()["console_path"]
    wav = microphone_wav(tmp_path / "microphone.wav")

    def browse() -> dict[str, Any]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        flags = (
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
            "--autoplay-policy=no-user-gesture-required",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        )
        with chromium(tmp_path, *flags) as driver:
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
            driver.save_screenshot(str(OUTPUT / "console.png"))
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
    assert stats.digits == ["0"]
    assert (OUTPUT / "console.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
