"""The real-FusionPBX harness (tests/real_fusionpbx.py) without FusionPBX: when it decides PHP answers, and what
a failure shows. In CI, on a busy machine, every real-FusionPBX test once failed with nginx's 502 for the
installer: the harness had waited only for a static file (robots.txt, served by nginx alone) while PHP-FPM was
not answering yet. A stand-in for nginx here serves that static file at once and the PHP probe with 502s first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from real_fusionpbx import PROBE, Browser, FusionPBX, wait_for_php

APP = Path(__file__).resolve().parent.parent / "fusionpbx" / "app" / "voice_secretary"


class FakeNginx(ThreadingHTTPServer):
    php_ready_at: float = 0.0  # monotonic time from which the PHP probe renders
    probes: int = 0


class Handler(BaseHTTPRequestHandler):
    server: FakeNginx

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self._answer(200, "User-agent: *")
        elif self.path.startswith(f"/{PROBE}"):
            self.server.probes += 1
            ready = time.monotonic() >= self.server.php_ready_at
            self._answer(200, f"{PROBE} ok") if ready else self._answer(502, "<html>502 Bad Gateway</html>")
        else:
            self._answer(502, "<html>502 Bad Gateway</html>")

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def nginx() -> Iterator[FakeNginx]:
    server = FakeNginx(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def alive() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def url(server: FakeNginx, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_it_waits_until_a_php_page_renders_not_only_for_nginx(nginx: FakeNginx, alive: subprocess.Popen[bytes]) -> None:
    nginx.php_ready_at = time.monotonic() + 1.5  # nginx serves files at once; PHP-FPM answers 1.5 s later
    port = nginx.server_address[1]
    wait_for_php([port], [url(nginx, f"/{PROBE}-fusionpbx.php")], [alive], lambda: "", timeout=60)
    assert time.monotonic() >= nginx.php_ready_at, "returned while PHP still answered 502"
    assert nginx.probes >= 2


def test_php_that_never_answers_fails_with_the_servers_logs(nginx: FakeNginx, alive: subprocess.Popen[bytes]) -> None:
    nginx.php_ready_at = float("inf")
    with pytest.raises(AssertionError) as failure:
        wait_for_php(
            [nginx.server_address[1]],
            [url(nginx, f"/{PROBE}-app.php")],
            [alive],
            lambda: "--- php-fpm.log:\nERROR: unable to bind listening socket",
            timeout=1,
        )
    assert "did not render" in str(failure.value)
    assert "unable to bind listening socket" in str(failure.value)


def test_php_fpm_not_listening_is_not_ready(nginx: FakeNginx, alive: subprocess.Popen[bytes]) -> None:
    with pytest.raises(AssertionError, match="did not render"):
        wait_for_php([1], [url(nginx, f"/{PROBE}-app.php")], [alive], lambda: "", timeout=1)  # port 1: closed


def test_a_server_that_exits_fails_at_once_with_the_logs(nginx: FakeNginx) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "raise SystemExit(78)"])
    gone.wait(timeout=30)
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"exited \(78\)[\s\S]*FPM log tail"):
        wait_for_php([nginx.server_address[1]], [], [gone], lambda: "FPM log tail", timeout=60)
    assert time.monotonic() - started < 30


def test_a_gateway_error_on_a_page_shows_the_servers_logs(nginx: FakeNginx) -> None:
    browser = Browser(url(nginx, ""), "voice-a.localhost", lambda: "--- nginx-error.log:\nconnect() failed")
    try:
        assert browser.get("/robots.txt").status == 200
        with pytest.raises(AssertionError, match=r"HTTP 502[\s\S]*connect\(\) failed"):
            browser.get("/core/install/install.php")
    finally:
        browser.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="the app is given to www-data, as root")
def test_an_app_folder_already_there_is_put_back(tmp_path: Path) -> None:
    """Issue 10 review: the clean-up deleted app/voice_secretary whatever had been there before the tests."""
    webroot = tmp_path / "www" / "fusionpbx"
    (webroot / "app" / "voice_secretary").mkdir(parents=True)
    (webroot / "app" / "voice_secretary" / "mine.txt").write_text("the admin's own copy")
    fusionpbx = FusionPBX(webroot)
    try:
        fusionpbx.place_app(APP, "voice_secretary")
        assert (webroot / "app" / "voice_secretary" / "app_config.php").is_file()
        assert not (webroot / "app" / "voice_secretary" / "mine.txt").exists()
        fusionpbx.place_app(APP, "voice_secretary")  # again (a second install in one run): still one backup
        fusionpbx.remove_apps()
    finally:
        shutil.rmtree(fusionpbx.work, ignore_errors=True)
    assert sorted(p.name for p in (webroot / "app" / "voice_secretary").iterdir()) == ["mine.txt"]
    assert [p.name for p in webroot.parent.iterdir()] == ["fusionpbx"], "no backup left behind"
