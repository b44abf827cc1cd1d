"""Charts on tiny literal frames: the spec encodes what the page promises; wrong frames fail."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from app import charts

D1, D2 = dt.date(2026, 1, 1), dt.date(2026, 2, 1)


def _spec(chart) -> dict:
    return chart.to_dict()


def test_monthly_trend_sums_other_columns_into_euros():
    frame = pl.DataFrame(
        {
            "month": [D1, D1, D2],
            "creditor_ref": ["A", "B", "A"],
            "placed_cents": [100, 200, 0],
            "collected_cents": [0, 50, 25],
        }
    )
    spec = _spec(charts.monthly_trend(frame))
    rows = next(iter(spec["datasets"].values()))
    placed = {r["month"]: r["euros"] for r in rows if r["measure"] == "placed"}
    assert sorted(placed.values()) == [0.0, 3.0]
    assert spec["encoding"]["y"]["axis"]["format"] == charts.EURO


def test_vintage_lines_one_colour_per_cohort():
    frame = pl.DataFrame(
        {
            "cohort_month": [D1, D1, D2],
            "age_months": [0, 1, 0],
            "recovery_rate_amount": [0.1, 0.2, 0.05],
        }
    )
    spec = _spec(charts.vintage_lines(frame))
    assert spec["encoding"]["color"]["field"] == "cohort"
    cohorts = {r["cohort"] for r in next(iter(spec["datasets"].values()))}
    assert cohorts == {"2026-01", "2026-02"}


def test_survival_curve_is_a_step_line_on_0_1():
    frame = pl.DataFrame({"days": [0, 10], "share_unpaid": [1.0, 0.8]})
    spec = _spec(charts.survival_curve(frame))
    assert spec["mark"]["interpolate"] == "step-after"
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 1]


def test_outcome_bars_split_observed_and_randomised():
    frame = pl.DataFrame(
        {
            "kind": ["observed", "randomised"],
            "action": ["sms_nudge", "sms_nudge"],
            "segment": ["individual", "individual"],
            "payment_rate": [0.1, 0.05],
        }
    )
    spec = _spec(charts.outcome_bars(frame))
    assert spec["encoding"]["column"]["field"] == "kind"


def test_psi_bars_levels():
    frame = pl.DataFrame({"feature": ["a", "b", "c"], "psi": [0.01, 0.15, 0.4]})
    spec = _spec(charts.psi_bars(frame))
    rows = next(iter(d for d in spec["datasets"].values() if "level" in d[0]))
    assert {r["feature"]: r["level"] for r in rows} == {"a": "stable", "b": "watch", "c": "act"}


@pytest.mark.parametrize(
    ("function", "frame"),
    [
        (charts.reliability, pl.DataFrame({"mean_predicted": [0.1], "mean_observed": [0.2]})),
        (charts.lift_curve, pl.DataFrame({"share": [0.1], "lift": [2.0]})),
        (
            charts.realised_vs_predicted,
            pl.DataFrame({"month": [D1], "expected_cents": [100], "realised_cents": [90]}),
        ),
        (
            charts.decile_bars,
            pl.DataFrame({"decile": [1], "expected_cents": [100], "realised_cents": [90]}),
        ),
        (charts.count_bars, pl.DataFrame({"x": ["a"], "n": [1]})),
    ],
)
def test_charts_build_a_vega_lite_spec(function, frame):
    args = ("x", "n") if function is charts.count_bars else ()
    assert "$schema" in _spec(function(frame, *args))


@pytest.mark.parametrize(
    "function",
    [charts.monthly_trend, charts.vintage_lines, charts.survival_curve, charts.psi_bars],
)
def test_a_frame_without_the_columns_is_refused(function):
    with pytest.raises(ValueError, match="lacks column"):
        function(pl.DataFrame({"other": [1]}))
