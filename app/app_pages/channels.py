"""Channels and tone: outcomes by action (channel × tone) and segment, observed and randomised
side by side and labelled; contact intensity per debtor."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, queries, ui
from app import format as fmt

SEGMENTS = {"debtor type": "debtor_type", "observed cause": "cause", "stage": "stage"}


def render() -> None:
    st.title("Channels and tone")
    path = ui.current_build()
    if path is None:
        return
    home = ui.home()
    settings = queries.app_settings()
    days = int(settings.get("app.outcome_days", 14))
    options = queries.cached(queries.filter_options, path)
    left, right = st.columns(2)
    creditors = left.multiselect("Creditor", options["creditors"], key="ch_creditor")
    segment = right.selectbox("Segment", list(SEGMENTS), key="ch_segment")
    filters = queries.Filters(creditors=tuple(creditors))
    outcomes = queries.cached(
        queries.channel_outcomes, path, filters, home, SEGMENTS[segment], days
    )
    if outcomes.is_empty():
        ui.empty(
            "No weekly decisions in this build: load the agency's decision exports into "
            "`raw/agency/` and run `relance build`."
        )
    else:
        counts = outcomes.group_by("kind").agg(pl.sum("decisions"))
        by_kind = dict(zip(counts["kind"], counts["decisions"], strict=True))
        left, right = st.columns(2)
        left.metric(
            "Decisions (observed)",
            fmt.number(by_kind.get("observed", 0)),
            help="Weekly decisions logged for the selected cases (one per open case and week).",
            border=True,
        )
        right.metric(
            "Exploration decisions (randomised)",
            fmt.number(by_kind.get("randomised", 0)),
            help="Decisions drawn uniformly among the allowed actions ([policy] "
            "exploration_share): the basis of the causal comparison.",
            border=True,
        )
        st.subheader(f"Payment within {days} days of the weekly decision")
        st.markdown(
            "**Observed** — every logged decision: the champion policy chose most actions "
            "for the cases it expected to respond, so differences mix the action's effect with "
            "who received it (not causal).  \n"
            "**Randomised (causal)** — exploration decisions only, drawn uniformly among the "
            "allowed actions, weighted by 1 / logged propensity (self-normalised IPS): "
            "differences estimate the action's effect."
        )
        st.altair_chart(charts.outcome_bars(outcomes, "payment_rate"), width="stretch")
        st.subheader(f"Complaint within {days} days")
        st.altair_chart(charts.outcome_bars(outcomes, "complaint_rate"), width="stretch")
        st.dataframe(
            ui.euro_table(outcomes, rates=["payment_rate", "complaint_rate"]), hide_index=True
        )
    st.subheader("Contact intensity per debtor")
    cap = int(settings.require("contact.max_outbound_per_7_days"))
    intensity = queries.cached(queries.contact_intensity, path, cap)
    st.caption(
        "Attempts per debtor over rolling 7 and 30 days, across all cases and creditors "
        f"(one row per debtor-day with a contact). Breaches: debtor-days above the cap of {cap} "
        "outbound attempts in 7 days."
    )
    st.dataframe(
        ui.euro_table(intensity, extra={"debtor_days": fmt.number, "breaches": fmt.number}),
        hide_index=True,
    )
    histogram = queries.cached(queries.intensity_histogram, path)
    st.altair_chart(charts.count_bars(histogram, "attempts_7d", "debtor_days"), width="stretch")
