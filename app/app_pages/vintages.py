"""Vintages: cumulative recovery by months since placement, one line per cohort, per creditor;
days to first payment as a Kaplan–Meier survival curve."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, queries, ui
from app import format as fmt

ALL = "All creditors"


def render() -> None:
    st.title("Vintages")
    path = ui.current_build()
    if path is None:
        return
    options = queries.cached(queries.filter_options, path)
    choice = st.selectbox("Creditor", [ALL, *options["creditors"]], key="vt_creditor")
    creditor = None if choice == ALL else choice
    basis = st.radio("Basis", ["amount", "count"], horizontal=True, key="vt_basis")
    curves = queries.cached(queries.vintage_curves, path, creditor)
    if curves.is_empty():
        ui.empty("No vintage yet: run `relance build` with placements in `raw/`.")
        return
    st.subheader("Cumulative recovery by months since placement")
    st.caption(
        "Recovery rate, cohort, by " + basis + ": Σ collected (net of reversals) on the cases "
        "placed in the cohort month up to age k ÷ Σ placed amount"
        if basis == "amount"
        else "Recovery rate, cohort, by count: cases with ≥ 1 payment up to age k ÷ cases placed"
    )
    rate = "recovery_rate_amount" if basis == "amount" else "recovery_rate_count"
    st.altair_chart(charts.vintage_lines(curves, rate), width="stretch")
    st.subheader("Days to first payment")
    survival = queries.cached(queries.first_payment_survival, path, creditor)
    marks = survival.filter(pl.col("days") <= 90)
    columns = st.columns(3)
    for column, day in zip(columns, (30, 60, 90), strict=True):
        upto = marks.filter(pl.col("days") <= day)["share_unpaid"]
        paying = 1 - upto[-1] if len(upto) else None
        column.metric(
            f"Paying within {day} days",
            fmt.percent(paying),
            help=f"Kaplan–Meier estimate of the share of cases with a first payment within {day} "
            "days of placement; cases without a payment are censored at the data end.",
            border=True,
        )
    st.altair_chart(charts.survival_curve(survival), width="stretch")
