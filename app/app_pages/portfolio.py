"""Portfolio: KPI tiles (DOMAIN §3), the monthly trend and the filtered table.

The filters live in the URL (``?creditor=ENSUD&creditor=MOBIL&from=2025-01…``): a link
reproduces the view. Widgets are seeded from the URL when they have no state yet (first load,
or coming back from another page) and the URL is rewritten from the widgets on every run.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, queries, ui
from app import format as fmt

ANY = "(any)"


def _seed(key: str, value: object) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def filter_widgets(options: dict[str, list[str]], bands: list[str]) -> queries.Filters:
    """The filter widgets (sidebar), seeded from the URL; returns the chosen filters."""
    params = st.query_params
    initial = queries.filters_from_params({k: params.get_all(k) for k in params})
    months = options["months"]
    _seed("pf_creditor", [c for c in initial.creditors if c in options["creditors"]])
    _seed("pf_debtor_type", [d for d in initial.debtor_types if d in options["debtor_types"]])
    _seed("pf_cause", [c for c in initial.causes if c in options["causes"]])
    _seed("pf_band", [b for b in initial.score_bands if b in bands])
    _seed("pf_from", initial.placed_from if initial.placed_from in months else ANY)
    _seed("pf_to", initial.placed_to if initial.placed_to in months else ANY)
    _seed("pf_stage", list(initial.stages))

    side = st.sidebar
    side.header("Filters")
    creditors = side.multiselect("Creditor", options["creditors"], key="pf_creditor")
    debtor_types = side.multiselect("Debtor type", options["debtor_types"], key="pf_debtor_type")
    causes = side.multiselect(
        "Observed cause",
        options["causes"],
        key="pf_cause",
        help="The latest cause stated on a contact; 'unknown' until someone learns it.",
    )
    score_bands = side.multiselect(
        "Score band",
        bands or ["A", "B", "C", "D", "E"],
        key="pf_band",
        disabled=not bands,
        help=None if bands else "No scores yet: run `relance score` to filter by score band.",
    )
    placed_from = side.selectbox("Placed from (month)", [ANY, *months], key="pf_from")
    placed_to = side.selectbox("Placed to (month)", [ANY, *months], key="pf_to")
    stages = side.multiselect(
        "Stage",
        list(queries.STAGES),
        key="pf_stage",
        help="judicial once an invoice of the case has an enforceable title, else amicable.",
    )
    chosen = queries.Filters(
        creditors=tuple(creditors),
        debtor_types=tuple(debtor_types),
        causes=tuple(causes),
        score_bands=tuple(score_bands) if bands else (),
        placed_from=None if placed_from == ANY else placed_from,
        placed_to=None if placed_to == ANY else placed_to,
        stages=tuple(stages),
    )
    wanted = queries.filters_to_params(chosen)
    current = {k: params.get_all(k) for k in params}
    normalised = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}
    if normalised != current:
        st.query_params.from_dict(wanted)
    return chosen


def kpi_tiles(row: dict) -> None:
    """The ten Portfolio tiles, each with its definition on hover."""
    first = st.columns(5)
    second = st.columns(5)
    with first[0]:
        ui.kpi_tile(
            "Placed",
            fmt.euros(row["placed_cents"], decimals=False),
            "placed",
            f"{fmt.euros(row['placed_cents'])} · {fmt.number(row['cases'])} cases",
        )
    with first[1]:
        ui.kpi_tile(
            "Collected",
            fmt.euros(row["collected_cents"], decimals=False),
            "collected",
            fmt.euros(row["collected_cents"]),
        )
    with first[2]:
        ui.kpi_tile("Recovery €", fmt.percent(row["recovery_rate_amount"]), "recovery_amount")
    with first[3]:
        paid_in_full = row["cases_paid_in_full"] / row["cases"] if row["cases"] else None
        ui.kpi_tile(
            "Recovery #",
            fmt.percent(row["recovery_rate_count"]),
            "recovery_count",
            f"paid in full: {fmt.percent(paid_in_full)}",
        )
    with first[4]:
        ui.kpi_tile("Active cases", fmt.number(row["active_cases"]), "active")
    with second[0]:
        ui.kpi_tile(
            "PTP kept",
            fmt.percent(row["promise_kept_rate"]),
            "promise_kept",
            f"{fmt.number(row['promises_due'])} promises due",
        )
    with second[1]:
        ui.kpi_tile("Cure rate", fmt.percent(row["cure_rate"]), "cure")
    with second[2]:
        ui.kpi_tile(
            "Cost to collect",
            fmt.percent(row["cost_to_collect"]),
            "cost_to_collect",
            f"cost {fmt.euros(row['cost_cents'])}",
        )
    with second[3]:
        ui.kpi_tile(
            "Dispute rate", fmt.per_thousand(row["dispute_rate"]), "dispute_rate", "per 1,000 cases"
        )
    with second[4]:
        ui.kpi_tile(
            "Complaint rate",
            fmt.per_thousand(row["complaint_rate"]),
            "complaint_rate",
            "per 1,000 attempts",
        )


def render() -> None:
    st.title("Portfolio")
    path = ui.current_build()
    if path is None:
        return
    home = ui.home()
    settings = queries.app_settings()
    options = queries.cached(queries.filter_options, path)
    bands_frame = queries.latest_score_bands(home)
    bands = sorted(bands_frame["score_band"].unique().to_list()) if bands_frame is not None else []
    filters = filter_widgets(options, bands)
    costs = {k: int(v) for k, v in settings.require("objective.cost_cents").items()}
    grace = int(settings.get("app.promise_grace_days", 0))
    kpis = queries.cached(queries.portfolio_kpis, path, filters, home, costs, grace)
    row = kpis.row(0, named=True)
    if not row["cases"]:
        ui.empty("No case matches these filters: widen them in the sidebar.")
        return
    as_of = queries.cached(queries.data_end, path)
    st.caption(
        f"Data end {as_of:%Y-%m-%d} · build {path.stem} · filters are in the URL: "
        "copy it to share this view."
    )
    kpi_tiles(row)
    monthly = queries.cached(queries.portfolio_monthly, path, filters, home)
    st.subheader("Monthly trend")
    st.caption("Placed by placement month; collected (net of reversals) by payment month.")
    st.altair_chart(charts.monthly_trend(monthly), width="stretch")
    st.subheader("Filtered table")
    st.caption(
        "Liquidation rate = collected in the month ÷ placed in the month (distorted by "
        "inflow: compare recovery on the Vintages page)."
    )
    st.dataframe(
        ui.euro_table(
            monthly,
            money=["placed_cents", "collected_cents"],
            rates=["liquidation_rate_amount_period"],
        ),
        hide_index=True,
    )
    st.download_button(
        "Download the filtered table (CSV)",
        data=monthly.with_columns(pl.col("month").cast(pl.String)).write_csv(),
        file_name="portfolio_monthly.csv",
        mime="text/csv",
    )
