"""Queries: URL round trip, PSI on literal data, read-only connections, KPIs against the marts."""

from __future__ import annotations

import math

import duckdb
import polars as pl
import pytest

from app import queries
from pipelines.home import Home


# -- filters and the URL (pure) ---
@pytest.mark.parametrize(
    "filters",
    [
        queries.Filters(),
        queries.Filters(creditors=("ENSUD", "MOBIL"), placed_from="2025-01"),
        queries.Filters(debtor_types=("business",), causes=("unknown",), stages=("judicial",)),
        queries.Filters(score_bands=("A", "B"), placed_to="2026-03"),
    ],
)
def test_filters_round_trip_through_the_url(filters):
    assert queries.filters_from_params(queries.filters_to_params(filters)) == filters


def test_a_malformed_link_is_ignored_not_fatal():
    got = queries.filters_from_params({"from": "2025-13", "stage": ["bogus"], "zzz": "1"})
    assert got == queries.Filters()


def test_scope_sql_binds_values_as_parameters():
    sql, params = queries.scope_sql(queries.Filters(creditors=("x'); drop table y; --",)))
    assert "drop table" not in sql and params == ["x'); drop table y; --"]


# -- PSI (pure) ---
def test_psi_of_identical_distributions_is_zero():
    assert queries.psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_psi_by_hand():
    expected = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.6 - 0.5) * math.log(0.6 / 0.5)
    assert queries.psi([0.5, 0.5], [0.4, 0.6]) == pytest.approx(expected)


def test_psi_refuses_different_bins():
    with pytest.raises(ValueError, match="bins"):
        queries.psi([0.5, 0.5], [1.0])


@pytest.mark.parametrize(
    ("reference", "values", "expected"),
    [
        (
            {"edges": [0, 1, 2, 3], "shares": [0.3, 0.3, 0.4]},
            [0.5, 1.5, 1.7, 9.0],
            [0.25, 0.5, 0.25],
        ),
        (
            {"edges": [0, 1, 2], "shares": [0.4, 0.4, 0.2]},
            [0.5, -3.0, None, 1.0],
            [0.5, 0.25, 0.25],
        ),
        (
            {"categories": ["a", "b", None], "shares": [0.5, 0.3, 0.2]},
            [0.0, 0.0, 1.0, None],
            [0.5, 0.25, 0.25],
        ),
        ({"categories": ["a", "b"], "shares": [0.5, 0.5]}, ["a", "a", "c", "b"], [0.5, 0.25]),
    ],
)
def test_current_shares(reference, values, expected):
    assert queries.current_shares(reference, pl.Series(values)) == pytest.approx(expected)


def test_drift_ranks_features_by_psi():
    reference = {
        "same": {"edges": [0, 1, 2], "shares": [0.5, 0.5]},
        "moved": {"edges": [0, 1, 2], "shares": [0.9, 0.1]},
        "absent": {"edges": [0, 1], "shares": [1.0]},
    }
    current = pl.DataFrame({"same": [0.5, 1.5], "moved": [1.5, 1.6]})
    got = queries.drift(reference, current)
    assert got["feature"].to_list() == ["moved", "same"]
    assert got["psi"][1] == 0.0


# -- on the small built home ---


@pytest.mark.slow
def test_the_app_connection_cannot_write(small_home_master):
    path = Home(small_home_master).current_path()
    con = queries.connect(path)
    try:
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            con.execute("create table core.app_write_probe (x int)")
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            con.execute("delete from core.cases")
    finally:
        con.close()


@pytest.mark.slow
def test_portfolio_kpis_equal_the_mart_for_one_creditor(small_home_master, monkeypatch):
    monkeypatch.setenv("RELANCE_HOME", str(small_home_master))
    home = Home(small_home_master)
    path = home.current_path()
    creditor = queries.frame(path, "select min(creditor_ref) as c from core.cases")["c"][0]
    mart = queries.frame(
        path,
        "select sum(placed_cents)::bigint as placed, "
        "sum(cohort_collected_to_date_cents)::bigint as collected, "
        "sum(cohort_cases_paid_to_date)::bigint as paid, sum(placed_cases)::bigint as cases "
        "from marts.kpi_monthly where creditor_ref = ?",
        [creditor],
    ).row(0, named=True)
    costs = queries.app_settings().require("objective.cost_cents")
    got = queries.portfolio_kpis(path, queries.Filters(creditors=(creditor,)), home, costs)
    row = got.row(0, named=True)
    assert (row["placed_cents"], row["collected_cents"], row["cases_paid"], row["cases"]) == (
        mart["placed"],
        mart["collected"],
        mart["paid"],
        mart["cases"],
    )
    everything = queries.portfolio_kpis(path, queries.Filters(), home, costs).row(0, named=True)
    assert everything["placed_cents"] > row["placed_cents"]


@pytest.mark.slow
def test_survival_curve_falls_and_ends_above_zero(small_home_master, monkeypatch):
    monkeypatch.setenv("RELANCE_HOME", str(small_home_master))
    path = Home(small_home_master).current_path()
    curve = queries.first_payment_survival(path, None)
    shares = curve["share_unpaid"].to_list()
    assert shares == sorted(shares, reverse=True)
    assert 0 < shares[-1] < 1


@pytest.mark.slow
def test_channel_outcomes_label_observed_and_randomised(small_home_master, monkeypatch):
    monkeypatch.setenv("RELANCE_HOME", str(small_home_master))
    home = Home(small_home_master)
    got = queries.channel_outcomes(home.current_path(), queries.Filters(), home)
    assert set(got["kind"]) == {"observed", "randomised"}
    assert got["payment_rate"].is_between(0, 1).all()


# -- build-time marts answer as the scans did (tiny synthetic builds) ---
def test_contact_intensity_from_its_mart_equals_the_scan(tmp_path):
    from pipelines import warehouse

    path = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        "create table marts.contact_pressure as select "
        "(hash(i) % 7)::bigint as attempts_7d, (hash(i * 3) % 23)::bigint as attempts_30d, "
        "case when i % 11 = 0 then null else (hash(i * 5) % 3)::bigint end as call_attempts_7d "
        "from range(1, 1003) as t(i)"
    )
    warehouse.materialised(con, "marts", "contact_intensity")
    con.close()
    for cap in (0, 2, 5):
        got = queries.contact_intensity(path, cap)
        want = queries._contact_intensity_scan(path, cap)
        assert got.equals(want), (got, want)
    assert queries.intensity_histogram(path).equals(queries._intensity_histogram_scan(path))


@pytest.mark.slow
@pytest.mark.parametrize(
    "filters",
    [
        queries.Filters(),
        queries.Filters(causes=("unknown",), stages=("amicable",), placed_from="2024-06"),
        queries.Filters(debtor_types=("business",), placed_to="2025-03", stages=("judicial",)),
    ],
)
def test_mart_backed_queries_equal_the_scans(small_home_master, monkeypatch, filters):
    from polars.testing import assert_frame_equal

    monkeypatch.setenv("RELANCE_HOME", str(small_home_master))
    home = Home(small_home_master)
    path = home.current_path()
    costs = queries.app_settings().require("objective.cost_cents")
    assert_frame_equal(
        queries.portfolio_kpis(path, filters, home, costs, 3),
        queries._portfolio_kpis_scan(path, filters, home, costs, 3),
    )
    assert_frame_equal(
        queries.portfolio_monthly(path, filters, home),
        queries._portfolio_monthly_scan(path, filters, home),
    )
    for segment in ("debtor_type", "cause", "stage"):
        assert_frame_equal(
            queries.channel_outcomes(path, filters, home, segment, 10),
            queries._channel_outcomes_scan(path, filters, home, segment, 10),
            rel_tol=1e-9,
        )
    assert_frame_equal(
        queries.first_payment_survival(path, None), queries._first_payment_survival_scan(path, None)
    )
