"""App bench: p95 of each page's queries over filter sets not seen before, cache bypassed, and
the first paint of the Portfolio page in Debian's chromium (``relance bench`` stage ``app``).

Each page's queries are the functions of ``app.queries`` its ``render()`` calls, called directly
(no ``st.cache_data``), so every filter set pays for its SQL. A filter set is drawn at random
(seeded) from the build's own choices; sets are distinct, so none is answered twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import queries
from pipelines.home import Home
from pipelines.settings import Settings

CHROMIUM = "/usr/bin/chromium"


def random_filters(options: dict[str, list[str]], rng: random.Random) -> queries.Filters:
    """One random Portfolio filter set drawn from the build's choices."""

    def some(values: list[str]) -> tuple[str, ...]:
        if not values or rng.random() < 0.4:
            return ()
        return tuple(sorted(rng.sample(values, rng.randint(1, len(values)))))

    months = options["months"]
    start = end = None
    if months and rng.random() < 0.6:
        i, j = sorted(rng.sample(range(len(months)), 2)) if len(months) > 1 else (0, 0)
        start, end = months[i], months[j]
    return queries.Filters(
        creditors=some(options["creditors"]),
        debtor_types=some(options["debtor_types"]),
        causes=some(options["causes"]),
        placed_from=start,
        placed_to=end,
        stages=some(list(queries.STAGES)),
    )


def distinct_filter_sets(options: dict[str, list[str]], n: int, seed: int) -> list[queries.Filters]:
    """``n`` distinct random filter sets (none repeated: no answer could come from a cache)."""
    rng = random.Random(seed)
    found: dict[queries.Filters, None] = {}
    for _ in range(n * 50):
        found.setdefault(random_filters(options, rng), None)
        if len(found) == n:
            break
    return list(found)


def page_queries(
    path: Path, home: Home, settings: Settings
) -> dict[str, Callable[[queries.Filters], Any]]:
    """Per page, a function running that page's queries for one filter set."""
    costs = {k: int(v) for k, v in settings.require("objective.cost_cents").items()}
    cap = int(settings.require("contact.max_outbound_per_7_days"))
    alert = int(settings.get("limitation.alert_days", 90))
    has_rules = queries.has_tables(path, queries.COMPLIANCE_TABLES)

    def creditor(f: queries.Filters) -> str | None:
        return f.creditors[0] if f.creditors else None

    def compliance(f: queries.Filters) -> None:
        queries.has_tables(path, queries.COMPLIANCE_TABLES)
        queries.open_item_ageing(path)
        if has_rules:
            queries.compliance_tiles(path)
            queries.limitation_upcoming(path, alert)

    return {
        "portfolio": lambda f: (
            queries.filter_options(path),
            queries.portfolio_kpis(path, f, home, costs),
            queries.portfolio_monthly(path, f, home),
        ),
        "vintages": lambda f: (
            queries.vintage_curves(path, creditor(f)),
            queries.first_payment_survival(path, creditor(f)),
        ),
        "channels": lambda f: (
            queries.channel_outcomes(
                path, queries.Filters(creditors=f.creditors), home, "debtor_type"
            ),
            queries.contact_intensity(path, cap),
            queries.intensity_histogram(path),
        ),
        "compliance": compliance,
        "models": lambda f: (queries.reason_frequencies(home), queries.latest_score_bands(home)),
        "plan": lambda f: queries.export_files(home),
        "data_quality": lambda f: (
            queries.builds(home),
            queries.quarantine_by_reason(path),
            queries.table_counts(path),
            queries.validation_summary(home, home.current_id()),
        ),
    }


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def query_latencies(
    home: Home, settings: Settings, sets: int = 20, seed: int = 9
) -> dict[str, dict[str, float]]:
    """Per page: p50, p95 and max seconds of its queries over ``sets`` fresh filter sets."""
    path = home.current_path()
    filter_sets = distinct_filter_sets(queries.filter_options(path), sets, seed)
    out: dict[str, dict[str, float]] = {}
    for page, run in page_queries(path, home, settings).items():
        times = []
        for filters in filter_sets:
            started = time.perf_counter()
            run(filters)
            times.append(time.perf_counter() - started)
        out[page] = {
            "p50_s": round(sorted(times)[len(times) // 2], 3),
            "p95_s": round(p95(times), 3),
            "max_s": round(max(times), 3),
            "filter_sets": len(times),
        }
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_paint_seconds(home: Home, timeout: float = 120) -> float | None:
    """Seconds from opening the Portfolio page in chromium to its first KPI value shown, with a
    cold server (fresh process, empty cache); ``None`` without chromium or playwright."""
    if not Path(CHROMIUM).exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    port = _free_port()
    env = {**os.environ, "RELANCE_HOME": str(home.root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )  # playwright gives every launch a fresh temporary profile
            page = browser.new_page()
            started = time.monotonic()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            page.get_by_test_id("stMetricValue").first.wait_for(timeout=timeout * 1000)
            seconds = time.monotonic() - started
            browser.close()
        return round(seconds, 2)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def app_figures(home: Home, settings: Settings, sets: int = 20) -> dict[str, Any]:
    """Every app bench figure of ``home``'s current build."""
    path = home.current_path()
    cases = queries.frame(path, "select count(*) as n from core.cases")["n"][0]
    return {
        "cases": int(cases),
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "queries": query_latencies(home, settings, sets),
        "portfolio_first_paint_s": first_paint_seconds(home),
    }


def stage(ctx: Any) -> dict[str, Any]:
    """The ``app`` stage of ``relance bench`` (``pipelines.bench_stage.STAGES``)."""
    home = Home(ctx.home)
    figures = app_figures(home, ctx.settings)
    return {
        "rows": figures["cases"],
        "bytes": home.current_path().stat().st_size,
        "bytes_of": "the current build",
        **figures,
    }


if __name__ == "__main__":  # python -m app.bench <home>: print the figures as JSON
    from pipelines.settings import load_settings

    root = Path(sys.argv[1])
    print(json.dumps(app_figures(Home(root), load_settings().with_home(root)), indent=2))
