"""Plan: this week's call list preview and summary, and the exported files to download.

The app never creates an export (``relance plan`` does); it lists ``exports/calls`` and
``exports/batches`` and previews the newest call list CSV.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from app import format as fmt
from app import queries, ui

NO_PLAN = "No exported plan yet: run `relance plan` (it writes `exports/calls/<ISO week>.csv`)."


def render() -> None:
    st.title("Plan")
    home = ui.home()
    files = queries.export_files(home)
    if files.is_empty():
        ui.empty(NO_PLAN)
        return
    calls = files.filter((pl.col("folder") == "calls") & pl.col("name").str.ends_with(".csv"))
    if calls.is_empty():
        st.info("No call list CSV under `exports/calls/`: run `relance plan`.")
    else:
        newest = calls.row(0, named=True)
        rows, summary = queries.call_list_preview(Path(newest["path"]))
        st.subheader(f"Call list {Path(newest['name']).stem}")
        lines = summary["lines"][0]
        left, right = st.columns(2)
        left.metric(
            "Lines",
            fmt.number(lines),
            border=True,
            help="Debtors to call this week (one line per debtor, all their cases).",
        )
        if "amount_due_cents" in rows.columns:
            due = rows["amount_due_cents"].cast(pl.Int64, strict=False).sum()
            right.metric(
                "Amount due (previewed lines)",
                fmt.euros(due),
                border=True,
                help="Σ amount due of the lines shown below.",
            )
        st.dataframe(rows, hide_index=True)
    st.subheader("Exported files")
    for row in files.iter_rows(named=True):
        file = Path(row["path"])
        st.download_button(
            f"{row['folder']}/{row['name']} ({fmt.number(row['bytes'])} bytes)",
            data=file.read_bytes(),
            file_name=row["name"],
            key=f"dl_{row['folder']}_{row['name']}",
        )
