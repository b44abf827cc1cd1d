"""A real Streamlit server in a real browser (Debian's chromium), network-free."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.home import Home

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing in CI: .ci/run must install Debian's chromium")
    pytest.skip("needs Debian's chromium (apt-get install chromium); .ci/run installs it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _served(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "RELANCE_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, 9)
    pytest.fail("the Streamlit server did not answer within 60 s")


@pytest.fixture
def browser_page():
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright gives every launch a fresh temporary profile (no --user-data-dir needed).
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith("http://127.0.0.1")
                else route.abort()
            ),
        )
        yield page
        browser.close()


def test_app_serves_on_loopback_and_says_what_to_run_on_an_empty_home(tmp_path, browser_page):
    home = Home(tmp_path / "home").ensure()
    port = _free_port()
    proc = _served(home.root, port)
    try:
        browser_page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        browser_page.get_by_text("No warehouse yet").wait_for(timeout=30_000)
        browser_page.screenshot(path=str(tmp_path / "empty.png"))
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
