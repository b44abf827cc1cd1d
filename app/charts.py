"""Frame -> Altair chart, pure: no query, no Streamlit, no I/O.

Money arrives in integer cents and is shown in euros; rates arrive as ratios and are shown as
percentages (Vega-Lite's ``%`` format; the French grouping of ``app.format`` is for text).
Every chart raises ``ValueError`` naming the missing columns when handed the wrong frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

EURO = ",.0f"


def _require(frame: pl.DataFrame, columns: Sequence[str], chart: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{chart}: the frame lacks column(s) {', '.join(missing)}")


def monthly_trend(frame: pl.DataFrame) -> alt.Chart:
    """Placed and collected euros by month (lines), from month, placed_cents, collected_cents
    (summed over any other column, e.g. creditor_ref)."""
    _require(frame, ["month", "placed_cents", "collected_cents"], "monthly_trend")
    long = (
        frame.group_by("month")
        .agg(placed=pl.sum("placed_cents") / 100, collected=pl.sum("collected_cents") / 100)
        .unpivot(index="month", variable_name="measure", value_name="euros")
        .sort("month")
    )
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T", title="month"),
            y=alt.Y("euros:Q", title="€", axis=alt.Axis(format=EURO)),
            color=alt.Color("measure:N", title=None),
            tooltip=["month:T", "measure:N", alt.Tooltip("euros:Q", format=",.2f")],
        )
    )


def vintage_lines(frame: pl.DataFrame, rate: str = "recovery_rate_amount") -> alt.Chart:
    """Cumulative recovery by months since placement, one line per cohort month."""
    _require(frame, ["cohort_month", "age_months", rate], "vintage_lines")
    data = frame.with_columns(cohort=pl.col("cohort_month").dt.strftime("%Y-%m"))
    return (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=alt.X("age_months:Q", title="months since placement"),
            y=alt.Y(f"{rate}:Q", title="cumulative recovery", axis=alt.Axis(format="%")),
            color=alt.Color("cohort:O", title="cohort", scale=alt.Scale(scheme="viridis")),
            tooltip=["cohort:O", "age_months:Q", alt.Tooltip(f"{rate}:Q", format=".1%")],
        )
    )


def survival_curve(frame: pl.DataFrame) -> alt.Chart:
    """Kaplan–Meier share of cases still without a payment by days since placement (steps)."""
    _require(frame, ["days", "share_unpaid"], "survival_curve")
    return (
        alt.Chart(frame)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("days:Q", title="days since placement"),
            y=alt.Y(
                "share_unpaid:Q",
                title="share without a payment",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=["days:Q", alt.Tooltip("share_unpaid:Q", format=".1%")],
        )
    )


def outcome_bars(frame: pl.DataFrame, measure: str = "payment_rate") -> alt.Chart:
    """Rate by action, coloured by segment, one column per kind (observed | randomised)."""
    _require(frame, ["kind", "action", "segment", measure], "outcome_bars")
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("action:N", title=None),
            xOffset="segment:N",
            y=alt.Y(f"{measure}:Q", title=measure.replace("_", " "), axis=alt.Axis(format="%")),
            color=alt.Color("segment:N"),
            column=alt.Column("kind:N", title=None),
            tooltip=["kind:N", "action:N", "segment:N", alt.Tooltip(f"{measure}:Q", format=".2%")],
        )
    )


def count_bars(frame: pl.DataFrame, x: str, y: str, color: str | None = None) -> alt.Chart:
    """Counts as bars: ``y`` by ``x`` (optionally coloured), e.g. quarantine rows by reason."""
    _require(frame, [x, y, *([color] if color else [])], "count_bars")
    encoding = {
        "x": alt.X(f"{x}:N", title=x.replace("_", " "), sort=None),
        "y": alt.Y(f"{y}:Q", title=y.replace("_", " ")),
        "tooltip": [f"{x}:N", f"{y}:Q", *([f"{color}:N"] if color else [])],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N")
    return alt.Chart(frame).mark_bar().encode(**encoding)


def reliability(frame: pl.DataFrame) -> alt.Chart:
    """Calibration: mean observed against mean predicted per bin, with the diagonal."""
    _require(frame, ["mean_predicted", "mean_observed"], "reliability")
    diagonal = (
        alt.Chart(pl.DataFrame({"p": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="grey")
        .encode(x="p:Q", y="p:Q")
    )
    points = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("mean_predicted:Q", title="mean predicted", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("mean_observed:Q", title="mean observed", scale=alt.Scale(domain=[0, 1])),
            tooltip=[c for c in ("bin", "mean_predicted", "mean_observed", "n") if c in frame],
        )
    )
    return diagonal + points


def lift_curve(frame: pl.DataFrame) -> alt.Chart:
    """Lift by share of cases targeted (highest scores first)."""
    _require(frame, ["share", "lift"], "lift_curve")
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("share:Q", title="share of cases targeted", axis=alt.Axis(format="%")),
            y=alt.Y("lift:Q", title="lift"),
            tooltip=[c for c in ("share", "lift", "capture") if c in frame],
        )
    )


def psi_bars(frame: pl.DataFrame, warn: float = 0.1, alert: float = 0.25) -> alt.Chart:
    """PSI per feature with the usual thresholds (0.1 watch, 0.25 act) as rules."""
    _require(frame, ["feature", "psi"], "psi_bars")
    data = frame.with_columns(
        level=pl.when(pl.col("psi") >= alert)
        .then(pl.lit("act"))
        .when(pl.col("psi") >= warn)
        .then(pl.lit("watch"))
        .otherwise(pl.lit("stable"))
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("psi:Q", title="PSI"),
            y=alt.Y("feature:N", sort="-x", title=None),
            color=alt.Color(
                "level:N",
                scale=alt.Scale(
                    domain=["stable", "watch", "act"], range=["#4c78a8", "#f58518", "#e45756"]
                ),
            ),
            tooltip=["feature:N", alt.Tooltip("psi:Q", format=".3f"), "level:N"],
        )
    )
    rules = (
        alt.Chart(pl.DataFrame({"threshold": [warn, alert]}))
        .mark_rule(strokeDash=[4, 4])
        .encode(x="threshold:Q")
    )
    return bars + rules


def realised_vs_predicted(frame: pl.DataFrame) -> alt.Chart:
    """Expected and realised euros by month (lines)."""
    _require(frame, ["month", "expected_cents", "realised_cents"], "realised_vs_predicted")
    long = (
        frame.select(
            "month",
            predicted=pl.col("expected_cents") / 100,
            realised=pl.col("realised_cents") / 100,
        )
        .unpivot(index="month", variable_name="measure", value_name="euros")
        .sort("month")
    )
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T"),
            y=alt.Y("euros:Q", title="€", axis=alt.Axis(format=EURO)),
            color=alt.Color("measure:N", title=None),
            tooltip=["month:T", "measure:N", alt.Tooltip("euros:Q", format=",.2f")],
        )
    )


def decile_bars(frame: pl.DataFrame) -> alt.Chart:
    """Expected against realised euros per score decile (from a run's metrics)."""
    _require(frame, ["decile", "expected_cents", "realised_cents"], "decile_bars")
    long = frame.select(
        "decile",
        predicted=pl.col("expected_cents") / 100,
        realised=pl.col("realised_cents") / 100,
    ).unpivot(index="decile", variable_name="measure", value_name="euros")
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("decile:O"),
            xOffset="measure:N",
            y=alt.Y("euros:Q", title="€", axis=alt.Axis(format=EURO)),
            color=alt.Color("measure:N", title=None),
        )
    )
