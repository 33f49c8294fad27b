"""Headless Chromium for page tests: Debian's ``chromium`` and ``chromium-driver`` through Selenium."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/bootstrap.sh dev as root (Debian: php-cli phpunit chromium)"
    return path


@contextlib.contextmanager
def chromium(profile: Path, *extra_flags: str) -> Iterator[Any]:
    """A headless Chromium (1280×1000, no network of its own) whose profile lives in ``profile``; ``extra_flags``
    are added to its command line (fake media devices, host rules)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = tool("chromium")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile / 'chromium'}",
        "--window-size=1280,1000",
        *extra_flags,
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=tool("chromedriver")), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
