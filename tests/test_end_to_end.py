"""End to end on a small simulated portfolio: `relance demo --no-serve`, as a user types it."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from pipelines.home import Home

pytestmark = pytest.mark.slow


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
