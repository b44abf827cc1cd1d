"""End to end on a small simulated portfolio: `relance demo --no-serve`, as a user types it."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from pipelines.home import Home

pytestmark = pytest.mark.slow


def plan_audit(home: Home) -> tuple[str, int, int]:
    """(the planned ISO week, plan_lines rows, decisions rows) from the state store."""
    state = duckdb.connect(str(home.state_path), read_only=True)
    try:
        weeks = state.execute("select distinct iso_week from plan_exports").fetchall()
        lines, decisions = state.execute(
            "select (select count(*) from plan_lines), (select count(*) from decisions)"
        ).fetchall()[0]
    finally:
        state.close()
    assert len(weeks) == 1
    return weeks[0][0], lines, decisions


def test_demo_no_serve_simulates_builds_and_validates(tmp_path):
    home = Home(tmp_path / "home")
    env = {
        **os.environ,
        "RELANCE_HOME": str(home.root),
        "RELANCE_DEMO__CASES": "600",
        "RELANCE_DEMO__MONTHS": "13",  # the scorer needs train, calibration and test months
        "COLUMNS": "160",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "simulated 600 cases" in proc.stdout
    assert "rows in " in proc.stdout and "validation " in proc.stdout
    con = duckdb.connect(str(home.current_path()), read_only=True)
    try:
        raw, staged, quarantined = con.execute(
            "select (select sum(rows) from raw.files), "
            + " + ".join(
                f"(select count(*) from staging.{k})"
                for k in ("placements", "payments", "actions", "decisions")
            )
            + ", (select count(*) from quarantine.rows)"
        ).fetchall()[0]
        cases = con.execute("select count(*) from core.cases").fetchall()[0][0]
    finally:
        con.close()
    assert cases >= 600
    assert raw > staged > 0 and quarantined >= 0
    assert (home.docs / "validation" / "index.html").exists()
    assert "trained and promoted champion" in proc.stdout and "scored " in proc.stdout
    state = duckdb.connect(str(home.state_path), read_only=True)
    try:
        champion_scores, runs, promotions = state.execute(
            "select (select count(*) from scores), (select count(*) from model_runs), "
            "(select count(*) from promotions)"
        ).fetchall()[0]
    finally:
        state.close()
    assert champion_scores > 0 and runs == promotions == 1
    assert list((home.artifacts / "models" / "scorer").glob("*/model_card.md"))
    # this week's plan: the week after the data's end, as `relance plan` chooses it
    from app import queries
    from pipelines import rules
    from pipelines.plan import export_paths, iso_week_of

    week, lines, decisions = plan_audit(home)
    con = duckdb.connect(str(home.current_path()), read_only=True)
    try:
        assert week == iso_week_of(rules.week_start_after(rules.data_date(con)))
    finally:
        con.close()
    paths = export_paths(home, week)
    assert all(path.is_file() for path in paths.values())
    calls = paths["calls_csv"].read_bytes()
    listed = len(calls.decode("utf-8").splitlines()) - 1
    assert listed > 0 and lines > 0 and decisions > 0
    said = " ".join(proc.stdout.split())  # the console wraps long lines
    assert f"call list {paths['calls_csv']} (and .xlsx), {listed:,} debtors listed" in said
    # what the app's Plan page lists and previews
    files = queries.export_files(home)
    assert {f"{week}.csv", f"{week}.xlsx", f"{week}-sms.csv"} <= set(files["name"])
    assert queries.call_list_preview(paths["calls_csv"])[1]["lines"][0] == listed
    again = subprocess.run(
        [sys.executable, "-m", "pipelines", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert "already holds data" in again.stdout
    # the same week with the same inputs: the same rows, its lines and decisions replaced
    assert plan_audit(home) == (week, lines, decisions)
    assert paths["calls_csv"].read_bytes() == calls
