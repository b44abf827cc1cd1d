"""Streamlit helpers shared by the pages: the build a page reads, KPI tiles with their
definitions on hover, euro tables, empty states that say what to run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import polars as pl
import streamlit as st

from app import format as fmt
from app import queries
from pipelines.home import Home

NO_BUILD = "No warehouse yet. Run `relance build` (or `make demo`) and reload this page."

# DOMAIN §3: basis, numerator, denominator and frame of every KPI the app shows.
DEFINITIONS: dict[str, str] = {
    "placed": "Amount placed (basis: amount): Σ placed amount of the selected cases "
    "(cohort: the cases placed in the selection, whatever their age).",
    "collected": "Collected (basis: amount): Σ payments net of reversals on the selected "
    "cases, from placement to the data end (cohort frame).",
    "recovery_amount": "Recovery rate by amount (cohort): Σ collected net of reversals ÷ "
    "Σ placed amount of the selected cases, to the data end. Cohorts of different ages are "
    "mixed here: compare them at equal age on the Vintages page.",
    "recovery_count": "Recovery rate by count (cohort): cases with ≥ 1 counting payment "
    "(not a reversal, not fully reversed) ÷ cases placed. Paid in full (net collected ≥ "
    "corrected amount) is shown below it.",
    "active": "Active cases (count, at the data end): selected cases still open "
    "(neither closed nor recalled by the creditor).",
    "promise_kept": "Promise kept rate (count): promises paid in full by their due date ÷ "
    "promises whose due date has passed, on the selected cases.",
    "cure": "Cure rate (count, cohort): selected cases fully regularised — net collected ≥ "
    "corrected amount, or a payment plan completed — ÷ selected cases, to the data end.",
    "cost_to_collect": "Cost to collect (amount): Σ cost of the outbound attempts on the "
    "selected cases ([objective.cost_cents] in relance.toml: calls, SMS, e-mails, letters, "
    "formal notices) ÷ Σ collected on them.",
    "dispute_rate": "Dispute rate: disputes opened on the selected cases per 1,000 selected "
    "cases (cohort, to the data end).",
    "complaint_rate": "Complaint rate: complaints opened on the selected cases per 1,000 "
    "outbound contact attempts on them.",
}


def current_build() -> Path | None:
    """The build this page run reads, or ``None`` after showing what to run."""
    path = queries.current_build()
    if path is None:
        st.info(NO_BUILD)
    return path


def home() -> Home:
    return queries.current_home()


def kpi_tile(label: str, value: str, definition_key: str, caption: str | None = None) -> None:
    """A metric whose hover help is its DOMAIN §3 definition."""
    st.metric(label, value, help=DEFINITIONS[definition_key], border=True)
    if caption:
        st.caption(caption)


def euro_table(
    frame: pl.DataFrame,
    money: Sequence[str] = (),
    rates: Sequence[str] = (),
    extra: Mapping[str, Callable[[object], str]] | None = None,
) -> pl.DataFrame:
    """``frame`` with money columns (cents) as ``1 234,56 €`` and rates as ``12,3 %`` text."""
    conversions = [
        pl.col(c).map_elements(fmt.euros, return_dtype=pl.String) for c in money if c in frame
    ]
    conversions += [
        pl.col(c).map_elements(fmt.percent, return_dtype=pl.String) for c in rates if c in frame
    ]
    for column, function in (extra or {}).items():
        if column in frame:
            conversions.append(pl.col(column).map_elements(function, return_dtype=pl.String))
    return frame.with_columns(conversions) if conversions else frame


def empty(message: str) -> None:
    """An empty state: what is missing and the command that fills it."""
    st.info(message)
