"""Read-only queries for the app: short-lived connections, frames aggregated in DuckDB.

Every query here is a plain function ``(source, …) -> pl.DataFrame`` that opens a read-only
connection, runs one SQL statement and closes it (DESIGN §3: a build or a state-store writer
never waits for the app). ``source`` is the build file (``Path``) the page resolved once, so a
page reads one build even if ``current`` switches mid-run. Pages call them through ``cached``
(``st.cache_data``: frames are cached, never connections; the build path is part of the key, so
a new build is never answered from an old one); the bench (``app.bench``) calls them directly,
which is the cache bypassed.

The portfolio "now" is the build's data end: the day after its latest placement, payment or
action date (``data_end``), never the wall clock (DESIGN §7).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.home import Home, HomeError
from pipelines.settings import Settings, load_settings

NO_EXTENSIONS = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


# -- where the app reads -----------------------------------------------------------------------
def app_settings() -> Settings:
    """Settings with the home the app serves (RELANCE_HOME wins, as for every command)."""
    settings = load_settings()
    home = os.environ.get("RELANCE_HOME")
    return settings.with_home(home) if home else settings


def current_home() -> Home:
    """The home the app serves."""
    return Home(app_settings().home)


def current_build(home: Home | None = None) -> Path | None:
    """The live warehouse file, or ``None`` before the first build."""
    try:
        return (home or current_home()).current_path()
    except HomeError:
        return None


def connect(path: Path, settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``path`` (a build or the state store); no extension downloads."""
    settings = settings or app_settings()
    config = {
        **NO_EXTENSIONS,
        "threads": str(settings.get("app.threads", 2)),
        "memory_limit": str(settings.get("app.memory_limit", "2GB")),
    }
    con = duckdb.connect(str(path), read_only=True, config=config)
    con.execute("set TimeZone = 'UTC'")
    return con


def frame(
    path: Path,
    sql: str,
    params: Sequence[Any] | None = None,
    tables: Mapping[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Run ``sql`` on ``path`` with a short-lived read-only connection (``tables`` registered)."""
    con = connect(path)
    try:
        for name, table in (tables or {}).items():
            con.register(name, table)
        return con.sql(sql, params=list(params or [])).pl()
    finally:
        con.close()


def has_tables(path: Path, names: Sequence[str]) -> bool:
    """Whether every ``schema.table`` of ``names`` exists (table or view) in ``path``."""
    found = frame(
        path,
        "select schema_name || '.' || table_name as name from duckdb_tables() "
        "union all select schema_name || '.' || view_name from duckdb_views()",
    )
    return set(names) <= set(found["name"].to_list())


def state_frame(home: Home, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame | None:
    """Run ``sql`` on the state store read-only; ``None`` when it (or the table) does not exist."""
    if not home.state_path.exists():
        return None
    try:
        return frame(home.state_path, sql, params)
    except duckdb.CatalogException:
        return None


# -- filters and the URL ------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """The Portfolio filters; empty means "all". Months are ``YYYY-MM`` (inclusive)."""

    creditors: tuple[str, ...] = ()
    debtor_types: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    score_bands: tuple[str, ...] = ()
    placed_from: str | None = None
    placed_to: str | None = None
    stages: tuple[str, ...] = field(default=())


URL_KEYS = {
    "creditors": "creditor",
    "debtor_types": "debtor_type",
    "causes": "cause",
    "score_bands": "band",
    "placed_from": "from",
    "placed_to": "to",
    "stages": "stage",
}
STAGES = ("amicable", "judicial")


def filters_to_params(filters: Filters) -> dict[str, list[str] | str]:
    """The query parameters of ``filters`` (lists repeat their key; empty filters are left out)."""
    params: dict[str, list[str] | str] = {}
    for f in fields(Filters):
        value = getattr(filters, f.name)
        if value:
            params[URL_KEYS[f.name]] = list(value) if isinstance(value, tuple) else value
    return params


def _month_or_none(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m").strftime("%Y-%m")
    except ValueError:
        return None


def filters_from_params(params: Mapping[str, Sequence[str] | str]) -> Filters:
    """``Filters`` from query parameters (``st.query_params.to_dict()`` shape or lists).

    Unknown keys and malformed months are ignored: a shared link never breaks the page.
    """

    def values(key: str) -> tuple[str, ...]:
        raw = params.get(key, ())
        items = [raw] if isinstance(raw, str) else list(raw)
        return tuple(dict.fromkeys(v for v in items if v))

    def single(key: str) -> str | None:
        found = values(key)
        return _month_or_none(found[-1]) if found else None

    return Filters(
        creditors=values("creditor"),
        debtor_types=values("debtor_type"),
        causes=values("cause"),
        score_bands=values("band"),
        placed_from=single("from"),
        placed_to=single("to"),
        stages=tuple(s for s in values("stage") if s in STAGES),
    )


def _month_end(month: str) -> dt.date:
    start = dt.datetime.strptime(month, "%Y-%m").date()
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def scope_sql(filters: Filters, banded: bool = False) -> tuple[str, list[Any]]:
    """The cases a filter selects, as a SELECT over ``core.cases`` and its parameters.

    Columns: case_id, creditor_ref, debtor_type, placed_date, placed_amount_cents,
    corrected_amount_cents, status, observed_cause, stage. observed_cause is the latest cause
    stated on a contact, 'unknown' when none (as in ``marts.case_snapshots``); stage is
    'judicial' once an invoice of the case has an enforceable title, else 'amicable'.
    With ``banded`` the caller registers ``app_banded(case_id)`` (the score-band filter).
    """
    where, params = ["true"], []
    for column, chosen in (
        ("c.creditor_ref", filters.creditors),
        ("c.debtor_type", filters.debtor_types),
        ("coalesce(k.observed_cause, 'unknown')", filters.causes),
    ):
        if chosen:
            where.append(f"{column} in ({', '.join('?' * len(chosen))})")
            params.extend(chosen)
    if filters.stages and set(filters.stages) != set(STAGES):
        where.append(
            "t.case_id is not null" if filters.stages == ("judicial",) else "t.case_id is null"
        )
    if filters.placed_from:
        where.append("c.placed_date >= ?")
        params.append(dt.datetime.strptime(filters.placed_from, "%Y-%m").date())
    if filters.placed_to:
        where.append("c.placed_date < ?")
        params.append(_month_end(filters.placed_to))
    if banded:
        where.append("c.case_id in (select case_id from app_banded)")
    sql = f"""
        select c.case_id, c.creditor_ref, c.debtor_type, c.placed_date, c.placed_amount_cents,
               c.corrected_amount_cents, c.status,
               coalesce(k.observed_cause, 'unknown') as observed_cause,
               case when t.case_id is null then 'amicable' else 'judicial' end as stage
        from core.cases as c
        left join (
            select case_id, arg_max(observed_cause, (action_at, action_id)) as observed_cause
            from core.actions where observed_cause is not null group by case_id
        ) as k using (case_id)
        left join (
            select distinct case_id from core.invoices where title_date is not null
        ) as t using (case_id)
        where {" and ".join(where)}
    """
    return sql, params


def facts_where(filters: Filters, banded: bool = False) -> tuple[str, list[Any]]:
    """The WHERE condition selecting ``filters``' cases on a mart carrying the case filter
    dimensions (``marts.case_facts``, ``marts.case_attempts``, ``marts.decision_outcomes``:
    creditor_ref, debtor_type, observed_cause, stage, placed_month), and its parameters.

    The same cases as ``scope_sql`` (months are whole, so placed_month bounds equal the
    placed_date bounds). With ``banded`` the caller registers ``app_banded(case_id)``.
    """
    where, params = ["true"], []
    for column, chosen in (
        ("creditor_ref", filters.creditors),
        ("debtor_type", filters.debtor_types),
        ("observed_cause", filters.causes),
        ("stage", filters.stages),
    ):
        if chosen:
            where.append(f"{column} in ({', '.join('?' * len(chosen))})")
            params.extend(chosen)
    if filters.placed_from:
        where.append("placed_month >= ?")
        params.append(dt.datetime.strptime(filters.placed_from, "%Y-%m").date())
    if filters.placed_to:
        where.append("placed_month < ?")
        params.append(_month_end(filters.placed_to))
    if banded:
        where.append("case_id in (select case_id from app_banded)")
    return " and ".join(where), params


# -- score bands (state store, written by `relance score`) -------------------------------------
def latest_score_bands(home: Home) -> pl.DataFrame | None:
    """case_id, score_band of the latest scoring (newest ``scored_at``), or ``None``."""
    return state_frame(
        home,
        "select case_id, any_value(score_band) as score_band from scores "
        "where (run_id, as_of) = (select (run_id, as_of) from scores order by scored_at desc "
        "limit 1) group by case_id",
    )


def _scope_tables(home: Home, filters: Filters) -> dict[str, pl.DataFrame]:
    if not filters.score_bands:
        return {}
    bands = latest_score_bands(home)
    if bands is None:
        bands = pl.DataFrame(schema={"case_id": pl.String, "score_band": pl.String})
    chosen = bands.filter(pl.col("score_band").is_in(list(filters.score_bands)))
    return {"app_banded": chosen.select("case_id")}


# -- portfolio ---------------------------------------------------------------------------------
def data_end(path: Path) -> dt.date:
    """The day after the build's latest placement, payment or action (the portfolio's "now")."""
    got = frame(
        path,
        "select greatest((select max(placed_date) from core.cases), "
        "(select max(paid_date) from core.payments), "
        "(select max(action_date) from core.actions)) + 1 as as_of",
    )
    value = got["as_of"][0]
    return value if value is not None else dt.date.today()


def filter_options(path: Path) -> dict[str, list[str]]:
    """Choices of the Portfolio filters: creditors, debtor types, causes, placement months."""
    got = frame(
        path,
        """
        select
          (select list(distinct creditor_ref order by creditor_ref) from core.cases) as creditors,
          (select list(distinct debtor_type order by debtor_type) from core.cases) as debtor_types,
          (select list(distinct observed_cause order by observed_cause) from core.actions
             where observed_cause is not null) as causes,
          (select list(m order by m) from (select distinct strftime(placed_date, '%Y-%m') as m
             from core.cases)) as months
        """,
    )
    row = got.row(0, named=True)
    causes = sorted({*(row["causes"] or []), "unknown"})
    return {
        "creditors": row["creditors"] or [],
        "debtor_types": row["debtor_types"] or [],
        "causes": causes,
        "months": row["months"] or [],
    }


def cost_values_sql(costs: Mapping[str, int]) -> str:
    """``(values ('sms_nudge', 8), …)`` from ``[objective.cost_cents]`` (ints only, so literal)."""
    rows = ", ".join(f"('{str(a).replace(chr(39), '')}', {int(c)})" for a, c in costs.items())
    return f"(select * from (values {rows}) as t(action, cost_cents))"


def portfolio_kpis(
    path: Path, filters: Filters, home: Home, costs: Mapping[str, int], grace_days: int = 0
) -> pl.DataFrame:
    """One row of Portfolio KPIs (DOMAIN §3) for the cases ``filters`` selects.

    Frame: the cohort of selected cases followed to the data end. placed_cents, collected_cents
    (net of reversals), recovery_rate_amount = collected ÷ placed; cases, cases_paid (≥ 1
    counting payment: not a reversal, not fully reversed), recovery_rate_count = cases_paid ÷
    cases; cases_paid_in_full (net ≥ corrected amount); active_cases (status open);
    promises_due (due before the data end − grace) and promises_kept, promise_kept_rate;
    cured (paid in full or a completed plan), cure_rate = cured ÷ cases; cost_cents (Σ
    ``[objective.cost_cents]`` of outbound attempts), cost_to_collect = cost ÷ collected;
    disputes per 1,000 cases, complaints per 1,000 outbound attempts.

    Read from the build-time marts ``marts.case_facts`` (one row per case) and
    ``marts.case_attempts`` (case × action); only promises, which depend on the grace, are
    counted from ``core.promises``. A build without those marts is answered from core.*.
    """
    banded = bool(filters.score_bands)
    where, params = facts_where(filters, banded)
    sql = f"""
    with scope as (select * from marts.case_facts where {where}),
    as_of as (
        select greatest((select max(placed_date) from core.cases),
                        (select max(paid_date) from core.payments),
                        (select max(action_date) from core.actions)) + 1 as d
    ),
    acts as (
        select sum(a.attempts) as attempts,
               sum(a.attempts * coalesce(k.cost_cents, 0)) as cost_cents
        from marts.case_attempts as a left join {cost_values_sql(costs)} as k using (action)
        where {where}
    ),
    prom as (
        select count(*) filter (where due_date + ? < (select d from as_of)) as promises_due,
               count(*) filter (where due_date + ? < (select d from as_of) and is_kept)
                 as promises_kept
        from core.promises semi join scope using (case_id)
    ),
    final as (
        select
          count(*) as cases,
          coalesce(sum(placed_amount_cents), 0)::bigint as placed_cents,
          coalesce(sum(collected_cents), 0)::bigint as collected_cents,
          sum(collected_cents) / nullif(sum(placed_amount_cents), 0) as recovery_rate_amount,
          count(*) filter (where is_paid) as cases_paid,
          count(*) filter (where is_paid) / nullif(count(*), 0) as recovery_rate_count,
          count(*) filter (where is_paid_in_full) as cases_paid_in_full,
          count(*) filter (where is_open) as active_cases,
          count(*) filter (where is_cured) as cured,
          count(*) filter (where is_cured) / nullif(count(*), 0) as cure_rate,
          (select promises_due from prom) as promises_due,
          (select promises_kept from prom) as promises_kept,
          (select promises_kept from prom) / nullif((select promises_due from prom), 0)
            as promise_kept_rate,
          coalesce((select cost_cents from acts), 0)::bigint as cost_cents,
          coalesce((select attempts from acts), 0)::bigint as outbound_attempts,
          (select cost_cents from acts) / nullif(sum(collected_cents), 0) as cost_to_collect,
          coalesce(sum(disputes), 0)::bigint as disputes,
          coalesce(sum(disputes), 0) / nullif(count(*), 0) as dispute_rate,
          coalesce(sum(complaints), 0)::bigint as complaints,
          coalesce(sum(complaints), 0)
            / nullif(coalesce((select attempts from acts), 0), 0) as complaint_rate
        from scope
    )
    select * from final
    """
    tables = _scope_tables(home, filters)
    try:
        return frame(path, sql, [*params, *params, grace_days, grace_days], tables)
    except duckdb.CatalogException:
        return _portfolio_kpis_scan(path, filters, home, costs, grace_days)


def portfolio_monthly(path: Path, filters: Filters, home: Home) -> pl.DataFrame:
    """month, creditor_ref, placed_cases, placed_cents, collected_cents (net, by paid month),
    liquidation_rate_amount_period (collected ÷ placed in the month: distorted by inflow).

    The selected cases come from ``marts.case_facts``; a build without it is answered from
    core.*."""
    where, params = facts_where(filters, bool(filters.score_bands))
    sql = f"""
    with scope as (
        select case_id, creditor_ref, placed_month, placed_amount_cents
        from marts.case_facts where {where}
    ),
    placed as (
        select placed_month as month, creditor_ref,
               count(*) as placed_cases, sum(placed_amount_cents)::bigint as placed_cents
        from scope group by all
    ),
    collected as (
        select date_trunc('month', p.paid_date)::date as month, s.creditor_ref,
               sum(p.amount_cents)::bigint as collected_cents
        from core.payments as p join scope as s using (case_id) group by all
    ),
    final as (
        select month, creditor_ref,
               coalesce(placed_cases, 0) as placed_cases,
               coalesce(placed_cents, 0)::bigint as placed_cents,
               coalesce(collected_cents, 0)::bigint as collected_cents,
               collected_cents / nullif(placed_cents, 0) as liquidation_rate_amount_period
        from placed full join collected using (month, creditor_ref)
    )
    select * from final order by month, creditor_ref
    """
    try:
        return frame(path, sql, params, _scope_tables(home, filters))
    except duckdb.CatalogException:
        return _portfolio_monthly_scan(path, filters, home)


def _portfolio_kpis_scan(
    path: Path, filters: Filters, home: Home, costs: Mapping[str, int], grace_days: int = 0
) -> pl.DataFrame:
    """``portfolio_kpis`` over core.* (a build without ``marts.case_facts``)."""
    scope, params = scope_sql(filters, banded=bool(filters.score_bands))
    sql = f"""
    with scope as ({scope}),
    as_of as (
        select greatest((select max(placed_date) from core.cases),
                        (select max(paid_date) from core.payments),
                        (select max(action_date) from core.actions)) + 1 as d
    ),
    pay as (
        select p.case_id, sum(p.amount_cents) as collected_cents,
               count(*) filter (where not p.is_reversal and not p.is_fully_reversed) as n_counting
        from core.payments as p semi join scope using (case_id)
        group by p.case_id
    ),
    per_case as (
        select s.*, coalesce(p.collected_cents, 0) as collected_cents,
               coalesce(p.n_counting, 0) > 0 as is_paid,
               coalesce(p.collected_cents, 0) >= s.corrected_amount_cents as is_paid_in_full
        from scope as s left join pay as p using (case_id)
    ),
    plans as (
        select distinct case_id from core.payment_plans semi join scope using (case_id)
        where completed_date is not null
    ),
    acts as (
        select count(*) as attempts, sum(coalesce(k.cost_cents, 0)) as cost_cents
        from core.actions as a semi join scope using (case_id)
        left join {cost_values_sql(costs)} as k using (action)
        where a.is_attempt and a.direction = 'outbound'
    ),
    prom as (
        select count(*) filter (where due_date + ? < (select d from as_of)) as promises_due,
               count(*) filter (where due_date + ? < (select d from as_of) and is_kept)
                 as promises_kept
        from core.promises semi join scope using (case_id)
    ),
    disp as (select count(*) as n from core.disputes semi join scope using (case_id)),
    comp as (select count(*) as n from core.complaints semi join scope using (case_id)),
    final as (
        select
          count(*) as cases,
          coalesce(sum(placed_amount_cents), 0)::bigint as placed_cents,
          coalesce(sum(collected_cents), 0)::bigint as collected_cents,
          sum(collected_cents) / nullif(sum(placed_amount_cents), 0) as recovery_rate_amount,
          count(*) filter (where is_paid) as cases_paid,
          count(*) filter (where is_paid) / nullif(count(*), 0) as recovery_rate_count,
          count(*) filter (where is_paid_in_full) as cases_paid_in_full,
          count(*) filter (where status = 'open') as active_cases,
          count(*) filter (where is_paid_in_full or case_id in (select case_id from plans))
            as cured,
          count(*) filter (where is_paid_in_full or case_id in (select case_id from plans))
            / nullif(count(*), 0) as cure_rate,
          (select promises_due from prom) as promises_due,
          (select promises_kept from prom) as promises_kept,
          (select promises_kept from prom) / nullif((select promises_due from prom), 0)
            as promise_kept_rate,
          coalesce((select cost_cents from acts), 0)::bigint as cost_cents,
          (select attempts from acts) as outbound_attempts,
          (select cost_cents from acts) / nullif(sum(collected_cents), 0) as cost_to_collect,
          (select n from disp) as disputes,
          (select n from disp) / nullif(count(*), 0) as dispute_rate,
          (select n from comp) as complaints,
          (select n from comp) / nullif((select attempts from acts), 0) as complaint_rate
        from per_case
    )
    select * from final
    """
    return frame(path, sql, [*params, grace_days, grace_days], _scope_tables(home, filters))


def _portfolio_monthly_scan(path: Path, filters: Filters, home: Home) -> pl.DataFrame:
    """``portfolio_monthly`` over core.* (a build without ``marts.case_facts``)."""
    scope, params = scope_sql(filters, banded=bool(filters.score_bands))
    sql = f"""
    with scope as ({scope}),
    placed as (
        select date_trunc('month', placed_date)::date as month, creditor_ref,
               count(*) as placed_cases, sum(placed_amount_cents)::bigint as placed_cents
        from scope group by all
    ),
    collected as (
        select date_trunc('month', p.paid_date)::date as month, s.creditor_ref,
               sum(p.amount_cents)::bigint as collected_cents
        from core.payments as p join scope as s using (case_id) group by all
    ),
    final as (
        select month, creditor_ref,
               coalesce(placed_cases, 0) as placed_cases,
               coalesce(placed_cents, 0)::bigint as placed_cents,
               coalesce(collected_cents, 0)::bigint as collected_cents,
               collected_cents / nullif(placed_cents, 0) as liquidation_rate_amount_period
        from placed full join collected using (month, creditor_ref)
    )
    select * from final order by month, creditor_ref
    """
    return frame(path, sql, params, _scope_tables(home, filters))


# -- vintages ----------------------------------------------------------------------------------
def vintage_curves(path: Path, creditor: str | None) -> pl.DataFrame:
    """cohort_month, age_months, cases, recovery_rate_amount (cumulative, net), is_partial_month
    from ``marts.vintage_recovery``, for one creditor or all creditors summed (``None``)."""
    where, params = ("where creditor_ref = ?", [creditor]) if creditor else ("", [])
    return frame(
        path,
        f"""
        select cohort_month, age_months, sum(cases)::bigint as cases,
               sum(collected_cum_cents) / nullif(sum(placed_cents), 0) as recovery_rate_amount,
               sum(cases_paid_cum) / nullif(sum(cases), 0) as recovery_rate_count,
               bool_or(is_partial_month) as is_partial_month
        from marts.vintage_recovery {where}
        group by cohort_month, age_months order by cohort_month, age_months
        """,
        params,
    )


def first_payment_survival(path: Path, creditor: str | None, max_days: int = 365) -> pl.DataFrame:
    """Kaplan–Meier curve of days from placement to the first counting payment.

    days, at_risk, paid (events that day), share_unpaid = S(days); a case without a payment is
    censored at the data end (or at ``max_days``). The first payment date per case is read from
    ``marts.case_facts``; a build without it is answered from core.*.
    """
    where, params = ("where c.creditor_ref = ?", [creditor]) if creditor else ("", [])
    sql = f"""
        with as_of as (
            select greatest((select max(placed_date) from core.cases),
                            (select max(paid_date) from core.payments)) + 1 as d
        ),
        durations as (
            select least(coalesce(c.first_paid_date, (select d from as_of)) - c.placed_date, ?)
                     as days,
                   c.first_paid_date is not null and c.first_paid_date - c.placed_date <= ?
                     as is_paid
            from marts.case_facts as c {where}
        ),
        by_day as (
            select days, count(*) filter (where is_paid) as paid, count(*) as leaving
            from durations where days >= 0 group by days
        ),
        final as (
            select days, paid,
                   (sum(leaving) over (order by days desc))::bigint as at_risk
            from by_day
        )
        select days, at_risk, paid,
               product(1 - paid / at_risk) over (order by days) as share_unpaid
        from final order by days
        """
    try:
        return frame(path, sql, [max_days, max_days, *params])
    except duckdb.CatalogException:
        return _first_payment_survival_scan(path, creditor, max_days)


def _first_payment_survival_scan(
    path: Path, creditor: str | None, max_days: int = 365
) -> pl.DataFrame:
    """``first_payment_survival`` over core.* (a build without ``marts.case_facts``)."""
    where, params = ("where c.creditor_ref = ?", [creditor]) if creditor else ("", [])
    return frame(
        path,
        f"""
        with as_of as (
            select greatest((select max(placed_date) from core.cases),
                            (select max(paid_date) from core.payments)) + 1 as d
        ),
        firsts as (
            select case_id, min(paid_date) as first_paid from core.payments
            where not is_reversal and not is_fully_reversed group by case_id
        ),
        durations as (
            select least(coalesce(f.first_paid, (select d from as_of)) - c.placed_date, ?)
                     as days,
                   f.first_paid is not null and f.first_paid - c.placed_date <= ? as is_paid
            from core.cases as c left join firsts as f using (case_id) {where}
        ),
        by_day as (
            select days, count(*) filter (where is_paid) as paid, count(*) as leaving
            from durations where days >= 0 group by days
        ),
        final as (
            select days, paid,
                   (sum(leaving) over (order by days desc))::bigint as at_risk
            from by_day
        )
        select days, at_risk, paid,
               product(1 - paid / at_risk) over (order by days) as share_unpaid
        from final order by days
        """,
        [max_days, max_days, *params],
    )


# -- channels and tone -------------------------------------------------------------------------
OUTCOME_MAX_DAYS = 92  # marts.decision_outcomes keeps outcome days 0 … 91


def channel_outcomes(
    path: Path, filters: Filters, home: Home, segment: str = "debtor_type", days: int = 14
) -> pl.DataFrame:
    """Payment and complaint within ``days`` of each weekly decision, by action and segment.

    kind 'observed': every logged decision (the champion policy chose most of them: confounded);
    kind 'randomised': exploration decisions only (drawn uniformly among allowed actions),
    weighted by 1 / propensity (self-normalised IPS) — the causal comparison.

    Read from ``marts.decision_outcomes`` (decisions aggregated at build time with the days to
    their first payment and complaint); score bands (case-level), horizons over
    ``OUTCOME_MAX_DAYS`` and builds without that mart are answered from core.*.
    """
    column = {"debtor_type": "debtor_type", "cause": "observed_cause", "stage": "stage"}[segment]
    if filters.score_bands or days > OUTCOME_MAX_DAYS:
        return _channel_outcomes_scan(path, filters, home, segment, days)
    where, params = facts_where(filters)
    sql = f"""
    with o as (
        select action, {column} as segment, is_exploration, outcome, days, decisions,
               ips_decisions, ips_weight
        from marts.decision_outcomes where {where}
    ),
    observed as (
        select 'observed' as kind, action, segment,
               sum(decisions) filter (where outcome = 'decision') as decisions,
               coalesce(sum(decisions) filter (where outcome = 'payment' and days < ?), 0)
                 as paid,
               coalesce(sum(decisions) filter (where outcome = 'complaint' and days < ?), 0)
                 as complained
        from o group by all
    ),
    randomised as (
        select 'randomised' as kind, action, segment,
               sum(ips_decisions) filter (where outcome = 'decision') as decisions,
               sum(ips_weight) filter (where outcome = 'decision') as weight,
               coalesce(sum(ips_weight) filter (where outcome = 'payment' and days < ?), 0)
                 as paid,
               coalesce(sum(ips_weight) filter (where outcome = 'complaint' and days < ?), 0)
                 as complained
        from o where is_exploration group by all
    ),
    final as (
        select kind, action, segment, decisions::bigint as decisions,
               paid / decisions as payment_rate, complained / decisions as complaint_rate
        from observed where decisions > 0
        union all
        select kind, action, segment, decisions::bigint,
               paid / weight, complained / weight
        from randomised where decisions > 0
    )
    select * from final order by kind, action, segment
    """
    try:
        return frame(path, sql, [*params, days, days, days, days])
    except duckdb.CatalogException:
        return _channel_outcomes_scan(path, filters, home, segment, days)


def _channel_outcomes_scan(
    path: Path, filters: Filters, home: Home, segment: str = "debtor_type", days: int = 14
) -> pl.DataFrame:
    """``channel_outcomes`` over core.decisions, core.payments and core.complaints (score
    bands, horizons beyond the mart's, builds without ``marts.decision_outcomes``)."""
    column = {"debtor_type": "s.debtor_type", "cause": "s.observed_cause", "stage": "s.stage"}[
        segment
    ]
    scope, params = scope_sql(filters, banded=bool(filters.score_bands))
    sql = f"""
    with scope as ({scope}),
    d as (
        select dd.case_id, dd.action, dd.week_start_date, dd.propensity,
               dd.is_exploration, {column} as segment
        from core.decisions as dd join scope as s using (case_id)
    ),
    o as (
        select d.*,
          exists (select 1 from core.payments as p where p.case_id = d.case_id
                    and not p.is_reversal and p.paid_date >= d.week_start_date
                    and p.paid_date < d.week_start_date + ?)::int as paid,
          exists (select 1 from core.complaints as c where c.case_id = d.case_id
                    and c.opened_date >= d.week_start_date
                    and c.opened_date < d.week_start_date + ?)::int as complained
        from d
    ),
    final as (
        select 'observed' as kind, action, segment, count(*) as decisions,
               avg(paid) as payment_rate, avg(complained) as complaint_rate
        from o group by all
        union all
        select 'randomised', action, segment, count(*),
               sum(paid / propensity) / sum(1 / propensity),
               sum(complained / propensity) / sum(1 / propensity)
        from o where is_exploration and propensity > 0 group by all
    )
    select * from final order by kind, action, segment
    """
    return frame(path, sql, [*params, days, days], _scope_tables(home, filters))


def contact_intensity(path: Path, cap_7d: int) -> pl.DataFrame:
    """Attempts per debtor over rolling 7 and 30 days (``marts.contact_pressure``): p50, p95,
    max and the debtor-days above the 7-day cap, for all channels and for calls.

    Read from ``marts.contact_intensity`` (debtor-days per measure and value): the quantiles
    are ``quantile_cont``'s, interpolated between the values at ranks ⌊(n − 1)·q⌋ and
    ⌈(n − 1)·q⌉ of the sorted debtor-days. A build without that mart reads the debtor-days.
    """
    sql = """
    with h as (
        select measure, value, debtor_days,
               sum(debtor_days) over (partition by measure order by value) as cum,
               sum(debtor_days) over (partition by measure) as total
        from marts.contact_intensity
    ),
    ranks as (
        select measure, q, (total - 1) * q as pos
        from (select distinct measure, total from h), (values (0.5), (0.95)) as t(q)
    ),
    at_rank as (
        select r.measure, r.q,
               r.pos - floor(r.pos) as frac,
               (select min(value) from h where h.measure = r.measure and h.cum > floor(r.pos))
                 as lo,
               (select min(value) from h where h.measure = r.measure and h.cum > ceil(r.pos))
                 as hi
        from ranks as r
    ),
    quantiles as (
        select measure,
               any_value(lo + (hi - lo) * frac) filter (where q = 0.5) as p50,
               any_value(lo + (hi - lo) * frac) filter (where q = 0.95) as p95
        from at_rank group by measure
    ),
    final as (
        select measure, q.p50::double as p50, q.p95::double as p95, max(value) as max,
               coalesce(sum(debtor_days) filter (where measure like '%7d' and value > ?), 0)
                 ::bigint as breaches,
               sum(debtor_days)::bigint as debtor_days
        from h join quantiles as q using (measure)
        group by measure, q.p50, q.p95
    )
    select * from final order by measure
    """
    try:
        return frame(path, sql, [cap_7d])
    except duckdb.CatalogException:
        return _contact_intensity_scan(path, cap_7d)


def intensity_histogram(path: Path) -> pl.DataFrame:
    """attempts_7d, debtor_days: the distribution of the rolling 7-day attempts per debtor
    (``marts.contact_intensity``; a build without it reads ``marts.contact_pressure``)."""
    sql = (
        "select value as attempts_7d, debtor_days::bigint as debtor_days "
        "from marts.contact_intensity where measure = 'attempts_7d' order by 1"
    )
    try:
        return frame(path, sql)
    except duckdb.CatalogException:
        return _intensity_histogram_scan(path)


def _contact_intensity_scan(path: Path, cap_7d: int) -> pl.DataFrame:
    """``contact_intensity`` over marts.contact_pressure (a build without
    ``marts.contact_intensity``)."""
    return frame(
        path,
        """
        select measure, quantile_cont(v, 0.5) as p50, quantile_cont(v, 0.95) as p95,
               max(v) as max, count(*) filter (where measure like '%7d' and v > ?) as breaches,
               count(*) as debtor_days
        from (
            unpivot (select attempts_7d, attempts_30d, call_attempts_7d
                     from marts.contact_pressure)
            on attempts_7d, attempts_30d, call_attempts_7d into name measure value v
        )
        group by measure order by measure
        """,
        [cap_7d],
    )


def _intensity_histogram_scan(path: Path) -> pl.DataFrame:
    """``intensity_histogram`` over marts.contact_pressure (a build without
    ``marts.contact_intensity``)."""
    return frame(
        path,
        "select attempts_7d, count(*) as debtor_days from marts.contact_pressure "
        "group by 1 order by 1",
    )


# -- compliance --------------------------------------------------------------------------------
COMPLIANCE_TABLES = (
    "marts.compliance_tiles",
    "marts.compliance_breaches",
    "marts.limitation_deadlines",
)


def compliance_tiles(path: Path) -> pl.DataFrame:
    """tile, label, breaches, description (``marts.compliance_tiles``, issue 4)."""
    return frame(path, "select tile, label, breaches, description from marts.compliance_tiles")


def compliance_breaches(path: Path, tile: str, limit: int = 500) -> pl.DataFrame:
    """The breaches of one tile, newest first (raw ids: pseudonymise before showing)."""
    return frame(
        path,
        "select tile, case_id, debtor_id, creditor_ref, ref, event_date, detail "
        "from marts.compliance_breaches where tile = ? order by event_date desc limit ?",
        [tile, limit],
    )


def limitation_upcoming(path: Path, days: int) -> pl.DataFrame:
    """Invoices whose limitation deadline falls within ``days`` of the data end."""
    return frame(
        path,
        """
        with as_of as (
            select greatest((select max(placed_date) from core.cases),
                            (select max(paid_date) from core.payments),
                            (select max(action_date) from core.actions)) + 1 as d
        )
        select invoice_id, case_id, creditor_ref, debtor_type, basis, start_date, deadline_date,
               deadline_date - (select d from as_of) as days_left
        from marts.limitation_deadlines
        where deadline_date >= (select d from as_of)
          and deadline_date < (select d from as_of) + ?
        order by deadline_date
        """,
        [days],
    )


AGE_BUCKETS = ((0, 30, "0–30 d"), (31, 60, "31–60 d"), (61, 90, "61–90 d"), (91, None, "> 90 d"))


def open_item_ageing(path: Path) -> pl.DataFrame:
    """kind (dispute, complaint), age_bucket, items: open disputes and complaints at the data
    end by days since opened."""
    buckets = " ".join(
        f"when age >= {lo}" + (f" and age <= {hi}" if hi is not None else "") + f" then '{name}'"
        for lo, hi, name in AGE_BUCKETS
    )
    order = " ".join(f"when '{name}' then {i}" for i, (_, _, name) in enumerate(AGE_BUCKETS))
    return frame(
        path,
        f"""
        with as_of as (
            select greatest((select max(placed_date) from core.cases),
                            (select max(paid_date) from core.payments),
                            (select max(action_date) from core.actions)) + 1 as d
        ),
        items as (
            select 'dispute' as kind, (select d from as_of) - opened_date as age
            from core.disputes where is_open
            union all
            select 'complaint', (select d from as_of) - opened_date from core.complaints
            where is_open
        ),
        final as (
            select kind, case {buckets} end as age_bucket, count(*) as items from items
            group by all
        )
        select * from final order by kind, case age_bucket {order} end
        """,
    )


# -- data quality ------------------------------------------------------------------------------
def builds(home: Home) -> pl.DataFrame | None:
    """The build history (state store), newest first, with ``is_current``."""
    got = state_frame(
        home,
        "select build_id, status, started_at, finished_at, raw_rows, staged_rows, "
        "quarantined_rows, message from builds order by started_at desc",
    )
    if got is None:
        return None
    return got.with_columns(is_current=pl.col("build_id") == (home.current_id() or ""))


def quarantine_by_reason(path: Path) -> pl.DataFrame:
    """kind, source, reason, rows of ``quarantine.rows`` (source = the raw/<source>/ folder)."""
    return frame(
        path,
        """
        select kind, split_part(source_file, '/', 2) as source, reason, count(*) as rows
        from quarantine.rows group by all order by rows desc, kind, source, reason
        """,
    )


def table_counts(path: Path) -> pl.DataFrame:
    """layer, table, rows (estimated) of the build's tables."""
    return frame(
        path,
        "select schema_name as layer, table_name as table, estimated_size as rows "
        "from duckdb_tables() where schema_name in ('staging', 'quarantine', 'core', 'marts') "
        "order by 1, 2",
    )


def validation_summary(home: Home, build_id: str | None) -> pl.DataFrame | None:
    """The validation runs of ``build_id`` (state store), newest first."""
    return state_frame(
        home,
        "select run_id, trigger, started_at, seconds, suites, expectations, failed_critical, "
        "failed_warning, status, report_path from validation_runs where build_id = ? "
        "order by started_at desc",
        [build_id or ""],
    )


def validation_failures(home: Home, run_id: str) -> pl.DataFrame | None:
    """Failed expectations of one validation run, critical first."""
    return state_frame(
        home,
        "select severity, layer, table_name, expectation_type, column_name, unexpected_count, "
        "checked_rows, message from validation_results where run_id = ? and not success "
        "order by severity = 'critical' desc, layer, table_name",
        [run_id],
    )


# -- models ------------------------------------------------------------------------------------
def psi(reference_shares: Sequence[float], current_shares: Sequence[float]) -> float:
    """Population stability index Σ (c − r) · ln(c / r) over matching bins.

    Empty bins are floored at 1e-4 on both sides so a bin seen on one side only counts (a large
    but finite term) instead of an infinite one. Raises ``ValueError`` on different bin counts.
    """
    if len(reference_shares) != len(current_shares):
        raise ValueError(
            f"psi: {len(reference_shares)} reference bins but {len(current_shares)} current bins"
        )
    floor = 1e-4
    total = 0.0
    for r, c in zip(reference_shares, current_shares, strict=True):
        r, c = max(float(r), floor), max(float(c), floor)
        total += (c - r) * math.log(c / r)
    return total


def current_shares(reference: Mapping[str, Any], values: pl.Series) -> list[float]:
    """Shares of ``values`` in the bins of one feature's reference distribution (``reference.json``
    of a model run, written by ``pipelines.features.reference_distributions``).

    Numeric: ``edges`` (n + 1 edges, n bins; values outside fall in the end bins; fewer than two
    edges is one bin) and, when ``shares`` has n + 1 entries, a last bin for missing values.
    Categorical: ``categories`` (``None`` is the missing bin); numeric ``values`` are vocabulary
    codes (position in ``categories``), strings are matched by name. Shares are of all rows.
    """
    n = len(values)
    if "categories" in reference:
        cats = list(reference["categories"])
        if n == 0:
            return [0.0] * len(cats)
        if values.dtype.is_numeric():
            series = values.cast(pl.Float64).fill_nan(None).cast(pl.Int64)
            keys: list[Any] = [None if c is None else i for i, c in enumerate(cats)]
        else:
            series = values.cast(pl.String)
            keys = [None if c is None else str(c) for c in cats]
        counts = series.value_counts()
        lookup = dict(
            zip(counts[counts.columns[0]].to_list(), counts["count"].to_list(), strict=True)
        )
        return [lookup.get(k, 0) / n for k in keys]
    edges = [float(e) for e in reference.get("edges", [])]
    bins = max(len(edges) - 1, 1)
    with_missing = len(reference.get("shares", [])) == bins + 1
    if n == 0:
        return [0.0] * (bins + with_missing)
    numbers = values.cast(pl.Float64).fill_nan(None)
    present = numbers.drop_nulls()
    if len(edges) >= 2:
        inner = pl.Series(edges[1:-1], dtype=pl.Float64)
        positions = inner.search_sorted(present, side="right")
    else:
        positions = pl.Series([0] * len(present), dtype=pl.UInt32)
    counts = positions.value_counts()
    lookup = dict(zip(counts[counts.columns[0]].to_list(), counts["count"].to_list(), strict=True))
    shares = [lookup.get(i, 0) / n for i in range(bins)]
    if with_missing:
        shares.append((n - len(present)) / n)
    return shares


def drift(reference: Mapping[str, Mapping[str, Any]], current: pl.DataFrame) -> pl.DataFrame:
    """feature, psi for every feature of ``reference`` present in ``current``."""
    rows = [
        {"feature": name, "psi": psi(ref["shares"], current_shares(ref, current[name]))}
        for name, ref in reference.items()
        if name in current.columns and "shares" in ref
    ]
    return pl.DataFrame(rows, schema={"feature": pl.String, "psi": pl.Float64}).sort(
        "psi", descending=True
    )


def feature_frame(path: Path) -> pl.DataFrame | None:
    """The current model frame (``pipelines.features``) at the day after the data end, or
    ``None`` while that module is not installed."""
    try:
        from pipelines import features
    except ImportError:
        return None
    con = connect(path)
    try:
        end = features.data_end_date(con)
        if end is None:
            return None
        return features.model_frame_at(con, end + dt.timedelta(days=1))
    finally:
        con.close()


def load_reference(run_path: Path) -> dict[str, Any] | None:
    """``reference.json`` of a model run, or ``None`` when absent."""
    file = Path(run_path) / "reference.json"
    if not file.exists():
        return None
    return json.loads(file.read_text(encoding="utf-8"))


def realised_vs_predicted(path: Path, home: Home, run_id: str, horizon_days: int) -> pl.DataFrame:
    """month, as_of, cases, expected_cents, realised_cents for one run's scorings: Σ expected
    amount against Σ net payments on the same cases in ``[as_of, as_of + horizon)``."""
    scored = state_frame(
        home, "select case_id, as_of, expected_cents from scores where run_id = ?", [run_id]
    )
    schema = {
        "month": pl.Date,
        "as_of": pl.Date,
        "cases": pl.Int64,
        "expected_cents": pl.Int64,
        "realised_cents": pl.Int64,
    }
    if scored is None or scored.is_empty():
        return pl.DataFrame(schema=schema)
    return frame(
        path,
        """
        with realised as (
            select s.case_id, s.as_of, sum(p.amount_cents) as cents
            from app_scored as s join core.payments as p
              on p.case_id = s.case_id and p.paid_date >= s.as_of
             and p.paid_date < s.as_of + ?
            group by all
        )
        select date_trunc('month', s.as_of)::date as month, s.as_of, count(*) as cases,
               sum(s.expected_cents)::bigint as expected_cents,
               coalesce(sum(greatest(r.cents, 0)), 0)::bigint as realised_cents
        from app_scored as s left join realised as r using (case_id, as_of)
        group by all order by s.as_of
        """,
        [horizon_days],
        {"app_scored": scored},
    ).cast(schema)


def reason_frequencies(home: Home, language: str = "en") -> pl.DataFrame | None:
    """reason, cases: how often each reason code appears in the latest scoring."""
    column = "reasons_fr" if language == "fr" else "reasons_en"
    return state_frame(
        home,
        f"""
        with latest as (
            select {column} as reasons from scores
            where (run_id, as_of) = (select (run_id, as_of) from scores
                                     order by scored_at desc limit 1)
        )
        select trim(r) as reason, count(*) as cases
        from latest, unnest(string_split(cast(reasons as varchar), ';')) as t(r)
        where trim(r) <> '' group by 1 order by cases desc, reason
        """,
    )


# -- plan exports ------------------------------------------------------------------------------
def export_files(home: Home) -> pl.DataFrame:
    """folder, name, bytes, modified of the files under ``exports/calls`` and
    ``exports/batches`` (newest first); the app lists them, it never creates one."""
    rows = []
    for folder in ("calls", "batches"):
        base = home.exports / folder
        if not base.is_dir():
            continue
        for file in sorted(base.iterdir()):
            if file.is_file() and not file.name.startswith("."):
                stat = file.stat()
                rows.append(
                    {
                        "folder": folder,
                        "name": file.name,
                        "bytes": stat.st_size,
                        "modified": dt.datetime.fromtimestamp(stat.st_mtime),
                        "path": str(file),
                    }
                )
    schema = {
        "folder": pl.String,
        "name": pl.String,
        "bytes": pl.Int64,
        "modified": pl.Datetime,
        "path": pl.String,
    }
    return pl.DataFrame(rows, schema=schema).sort("modified", descending=True)


def call_list_preview(csv_path: Path, limit: int = 200) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the first ``limit`` rows, a one-row summary: lines, debtors' amount due) of a call list."""
    con = duckdb.connect(":memory:", config=NO_EXTENSIONS)
    try:
        rows = con.sql(
            "select * from read_csv(?, header = true, all_varchar = true) limit ?",
            params=[str(csv_path), limit],
        ).pl()
        summary = con.sql(
            "select count(*) as lines from read_csv(?, header = true, all_varchar = true)",
            params=[str(csv_path)],
        ).pl()
    finally:
        con.close()
    return rows, summary


# -- caching -----------------------------------------------------------------------------------
def cached(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args)`` through ``st.cache_data`` (ttl and max entries from ``[app]``).

    Arguments are the cache key: pass the build path (never a connection), so a new build is a
    new key. Home objects hash by their root.
    """
    return _cached_call(function.__module__, function.__name__, args, tuple(kwargs.items()))


def _resolve(module: str, name: str) -> Callable[..., Any]:
    import importlib

    return getattr(importlib.import_module(module), name)


def _make_cached() -> Callable[..., Any]:
    import streamlit as st

    settings = load_settings()

    @st.cache_data(
        ttl=int(settings.get("app.cache_ttl_seconds", 300)),
        max_entries=int(settings.get("app.cache_max_entries", 256)),
        show_spinner=False,
        hash_funcs={Home: lambda home: str(home.root)},
    )
    def call(module: str, name: str, args: tuple, kwargs: tuple) -> Any:
        return _resolve(module, name)(*args, **dict(kwargs))

    return call


_CACHED: list[Callable[..., Any]] = []


def _cached_call(module: str, name: str, args: tuple, kwargs: tuple) -> Any:
    if not _CACHED:
        _CACHED.append(_make_cached())
    return _CACHED[0](module, name, args, kwargs)
