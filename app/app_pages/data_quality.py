"""Data quality: builds and which is current, what each layer holds, quarantine by reason and
source, contract results of the current build, the validation report."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from app import charts, queries, ui
from app import format as fmt


def render() -> None:
    st.title("Data quality")
    home = ui.home()
    history = queries.builds(home)
    path = ui.current_build()
    if path is None:
        return
    st.subheader("Builds")
    st.caption(f"Current build: {home.current_id()} (`relance rollback` returns to the previous).")
    if history is not None and not history.is_empty():
        st.dataframe(history, hide_index=True)
    st.subheader("Quarantine by reason and source")
    quarantine = queries.cached(queries.quarantine_by_reason, path)
    if quarantine.is_empty():
        st.success("No quarantined row in this build.")
    else:
        total = int(quarantine["rows"].sum())
        st.metric(
            "Quarantined rows",
            fmt.number(total),
            border=True,
            help="Rows refused by staging (one reason code each, raw values kept in "
            "quarantine.*); per source file, raw rows = staged + quarantined.",
        )
        st.altair_chart(charts.count_bars(quarantine, "reason", "rows", "source"), width="stretch")
        st.dataframe(quarantine, hide_index=True)
    st.subheader("Contract results")
    runs = queries.validation_summary(home, home.current_id())
    if runs is None or runs.is_empty():
        ui.empty("No validation run for this build: run `relance validate`.")
    else:
        latest = runs.row(0, named=True)
        cols = st.columns(3)
        cols[0].metric("Status", str(latest["status"]), border=True)
        cols[1].metric(
            "Critical failures",
            fmt.number(latest["failed_critical"]),
            border=True,
            help="Failed critical expectations: a build with any is not published.",
        )
        cols[2].metric(
            "Warnings",
            fmt.number(latest["failed_warning"]),
            border=True,
            help="Failed warning expectations: recorded, the build is published.",
        )
        failures = queries.validation_failures(home, latest["run_id"])
        if failures is not None and not failures.is_empty():
            st.dataframe(failures, hide_index=True)
        report = Path(latest["report_path"] or home.docs / "validation" / "index.html")
        if report.exists():
            st.markdown(f"Validation report: `{report}` (static, offline; open it in a browser)")
            st.download_button(
                "Download the validation report (HTML)",
                report.read_bytes(),
                file_name=report.name,
                mime="text/html",
            )
        else:
            st.caption("The validation report is missing: run `relance validate`.")
    st.subheader("Tables in the current build")
    counts = queries.cached(queries.table_counts, path)
    st.dataframe(counts.with_columns(pl.col("rows").cast(pl.Int64)), hide_index=True)
