"""The validation report in a real browser (Debian's chromium) with every request to the network
aborted: the page is one file and every suite name is rendered."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipelines import reports
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


def test_report_renders_every_suite_with_the_network_blocked(sample_run, tmp_path):
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    home = Home(tmp_path / "home").ensure()
    page_path = reports.written_report(home, "20260101T000000-abcdef", sample_run, [])
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", route)
            page.goto(page_path.as_uri(), wait_until="load")
            text = page.inner_text("body")
            for name in sample_run.suites:
                assert page.locator(f"a[href='#{name}']").count() == 1, name
                assert name in text
            assert "Failing expectations" in text
            page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        finally:
            browser.close()
    assert blocked == []
