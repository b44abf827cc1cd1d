"""Compliance: the tiles that must read 0, drill-down lists with pseudonymised ids, dispute and
complaint ageing, limitation deadlines in the next days (``[limitation] alert_days``)."""

from __future__ import annotations

import streamlit as st

from app import charts, queries, ui
from app import format as fmt
from pipelines.privacy import pseudonym_key, pseudonymised

RULES_MISSING = (
    "This build predates the rules engine: run `relance build` to rebuild it with the "
    "compliance tiles."
)


def render() -> None:
    st.title("Compliance")
    path = ui.current_build()
    if path is None:
        return
    settings = queries.app_settings()
    key = pseudonym_key(settings)
    has_rules = queries.cached(queries.has_tables, path, queries.COMPLIANCE_TABLES)
    if not has_rules:
        ui.empty(RULES_MISSING)
    else:
        tiles = queries.cached(queries.compliance_tiles, path)
        st.subheader("Tiles (target 0)")
        columns = st.columns(max(1, min(6, tiles.height)))
        for i, tile in enumerate(tiles.iter_rows(named=True)):
            columns[i % len(columns)].metric(
                tile["label"],
                fmt.number(tile["breaches"]),
                help=tile["description"],
                border=True,
                delta="breach" if tile["breaches"] else None,
                delta_color="inverse",
            )
        breached = [t["tile"] for t in tiles.iter_rows(named=True) if t["breaches"]]
        if breached:
            labels = dict(zip(tiles["tile"], tiles["label"], strict=True))
            chosen = st.selectbox("Drill down", breached, format_func=labels.get, key="cp_tile")
            rows = queries.cached(queries.compliance_breaches, path, chosen)
            st.caption("Ids are pseudonymised (keyed hash, stable across builds).")
            st.dataframe(pseudonymised(rows, ["case_id", "debtor_id"], key), hide_index=True)
        else:
            st.success("Every tile reads 0.")
    st.subheader("Open disputes and complaints by age")
    ageing = queries.cached(queries.open_item_ageing, path)
    if ageing.is_empty():
        st.caption("No open dispute or complaint at the data end.")
    else:
        st.altair_chart(charts.count_bars(ageing, "age_bucket", "items", "kind"), width="stretch")
    days = int(settings.get("limitation.alert_days", 90))
    st.subheader(f"Limitation deadlines in the next {days} days")
    if has_rules:
        upcoming = queries.cached(queries.limitation_upcoming, path, days)
        if upcoming.is_empty():
            st.caption(f"No limitation deadline in the next {days} days.")
        else:
            st.dataframe(pseudonymised(upcoming, ["invoice_id", "case_id"], key), hide_index=True)
    else:
        ui.empty("Limitation deadlines come with the rules engine: run `relance build`.")
