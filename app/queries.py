"""Read-only queries for the app: short-lived connections, cached frames (never connections)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl

from pipelines.home import Home, HomeError
from pipelines.settings import load_settings


def current_home() -> Home:
    """The home the app serves (RELANCE_HOME, else settings)."""
    return Home(Path(os.environ.get("RELANCE_HOME") or load_settings().home))


def frame(sql: str, params: list | None = None, home: Home | None = None) -> pl.DataFrame:
    """Run ``sql`` on the current build with a short-lived read-only connection."""
    path = (home or current_home()).current_path()
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql, params or []).pl()
    finally:
        con.close()


def build_overview(home: Home | None = None) -> tuple[str, pl.DataFrame] | None:
    """(current build id, row counts per layer table), or ``None`` before the first build."""
    home = home or current_home()
    try:
        home.current_path()
    except HomeError:
        return None
    counts = frame(
        "select table_schema as layer, table_name as table, estimated_size as rows "
        "from duckdb_tables() where table_schema in ('staging', 'quarantine', 'core', 'marts') "
        "order by 1, 2",
        home=home,
    )
    return home.current_id() or "", counts
