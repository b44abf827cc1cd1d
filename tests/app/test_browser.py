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

from app import format as fmt
from app import queries
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


# url path -> (its title, whether it draws a chart on the small home)
PAGES = {
    "": ("Portfolio", True),  # the default page is served at the root
    "vintages": ("Vintages", True),
    "channels": ("Channels and tone", True),
    "compliance": ("Compliance", True),
    "models": ("Models", False),
    "plan": ("Plan", False),
    "data-quality": ("Data quality", True),
}


def _wait_rendered(page, title: str, chart: bool) -> None:
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    if chart:
        page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=60_000)


def _state_write(home: Home) -> None:
    with home.state() as con:
        con.execute("create table if not exists app_test_probe (written_at timestamp)")
        con.execute("insert into app_test_probe values (current_timestamp)")


def test_every_page_in_a_real_browser_while_a_build_and_a_state_write_run(
    tmp_path, browser_page, small_settings
):
    home = Home(small_settings.home)
    path = home.current_path()
    placed = queries.frame(path, "select sum(placed_amount_cents)::bigint as c from core.cases")
    port = _free_port()
    proc = _served(home.root, port)
    try:
        started = time.monotonic()
        browser_page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        tile = browser_page.get_by_test_id("stMetric").filter(has_text="Placed").first
        tile.get_by_test_id("stMetricValue").wait_for(timeout=60_000)
        shown = tile.get_by_test_id("stMetricValue").inner_text()
        assert shown == fmt.euros(int(placed["c"][0]), decimals=False), repr(shown)
        first_paint = time.monotonic() - started
        _wait_rendered(browser_page, "Portfolio", chart=True)
        assert first_paint < 60
        assert browser_page.get_by_text("Page not found").count() == 0

        # A build and a state-store write succeed while the app is serving.
        build = subprocess.run(
            [sys.executable, "-m", "pipelines", "--home", str(home.root), "build"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert build.returncode == 0, build.stdout + build.stderr
        assert home.current_path() != path
        _state_write(home)

        for url, (title, chart) in PAGES.items():
            browser_page.goto(f"http://127.0.0.1:{port}/{url}", wait_until="domcontentloaded")
            _wait_rendered(browser_page, title, chart)
            assert browser_page.get_by_test_id("stException").count() == 0, url
            if chart:  # a page with data shows a KPI value or an explanation of what to run
                shown = browser_page.get_by_test_id("stMetricValue").count()
                shown += browser_page.get_by_test_id("stAlert").count()
                assert shown, url
            browser_page.screenshot(
                path=str(tmp_path / f"{url or 'portfolio'}.png"), full_page=True
            )

        # A shared link reproduces a filtered view.
        creditor = queries.frame(path, "select min(creditor_ref) as c from core.cases")["c"][0]
        browser_page.goto(
            f"http://127.0.0.1:{port}/?creditor={creditor}", wait_until="domcontentloaded"
        )
        _wait_rendered(browser_page, "Portfolio", chart=True)
        assert f"creditor={creditor}" in browser_page.url
        browser_page.screenshot(path=str(tmp_path / "portfolio-filtered.png"), full_page=True)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(
        [*(f"{u or 'portfolio'}.png" for u in PAGES), "portfolio-filtered.png"]
    )
