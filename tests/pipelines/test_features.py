"""Feature encoding, time slices and the leakage guard (DESIGN §3 knowledge time)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines import features as F


def _snapshot_columns() -> set[str]:
    names = set()
    for expr in F._NUMERIC_EXPRESSIONS.values():
        names.update(expr.meta.root_names())
    return names | set(F.CATEGORIES) | set(F.ID_COLUMNS)


def _snapshot(**values) -> pl.DataFrame:
    """A one-row snapshot with every column the encoding reads (0 unless given)."""
    row = {name: 0 for name in _snapshot_columns()}
    row.update(
        case_id="c1",
        as_of=date(2026, 3, 1),
        creditor_ref="CR",
        case_ref="K1",
        currency="EUR",
        last_right_party_date=None,
        debtor_type="individual",
        sector="telecom",
        observed_cause="unknown",
        plan_status="none",
    )
    row.update(values)
    frame = pl.DataFrame([row], infer_schema_length=None)
    return frame.with_columns(pl.col("last_right_party_date").cast(pl.Date))


def test_model_frame_has_every_feature_as_float_in_order():
    frame = F.model_frame(_snapshot(balance_cents=500, corrected_amount_cents=1000))
    assert list(frame.columns) == [*F.ID_COLUMNS, *F.FEATURES]
    assert all(frame.schema[f] == pl.Float64 for f in F.FEATURES)
    assert frame["balance_share"][0] == 0.5


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("sector", "energy", 1.0),
        ("debtor_type", "business", 1.0),
        ("observed_cause", "dispute", 2.0),
        ("plan_status", "broken", 4.0),
        ("sector", "shipping", None),
    ],
)
def test_categories_are_vocabulary_codes_and_unknown_ones_missing(column, value, code):
    assert F.model_frame(_snapshot(**{column: value}))[column][0] == code


def test_ratios_without_a_denominator_are_missing():
    frame = F.model_frame(_snapshot(call_attempts=0, promises_made=0))
    assert frame["answer_rate"][0] is None and frame["promise_kept_rate"][0] is None


def test_days_since_the_last_conversation():
    frame = F.model_frame(_snapshot(last_right_party_date=date(2026, 2, 20)))
    assert frame["days_since_last_right_party"][0] == 9


def test_no_special_category_data_or_proxies_among_the_features():
    assert not {"is_vulnerable", "tz", "debtor_name", "age", "sex"} & set(F.FEATURES)
    assert set(F.EXCLUDED) >= {"is_vulnerable", "tz"}


def test_a_feature_subset_keeps_the_canonical_order():
    spec = F.feature_spec(["sector", "balance_cents"])
    assert spec.features == ("balance_cents", "sector") and spec.categorical == ("sector",)


def test_an_unknown_feature_is_refused():
    with pytest.raises(F.FeatureError, match="unknown feature"):
        F.feature_spec(["age"])


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (
            date(2026, 1, 1),
            date(2026, 3, 1),
            [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
        ),
        (date(2025, 12, 2), date(2026, 1, 31), [date(2026, 1, 1)]),
        (date(2026, 3, 2), date(2026, 3, 30), []),
    ],
)
def test_monthly_dates(first, last, expected):
    assert F.monthly_dates(first, last) == expected


def test_slices_are_separated_by_the_horizon():
    dates = F.monthly_dates(date(2024, 1, 1), date(2026, 1, 1))
    slices = F.time_slices(dates, 90, test_months=3, calibration_months=2)
    assert slices.test == tuple(dates[-3:])
    assert slices.calibration[-1] + timedelta(days=90) <= slices.test[0]
    assert slices.train[-1] + timedelta(days=90) <= slices.calibration[0]
    assert set(slices.train).isdisjoint(slices.calibration)


def test_a_short_history_is_refused_and_then_shrunk():
    dates = F.monthly_dates(date(2026, 1, 1), date(2026, 9, 1))
    with pytest.raises(F.FeatureError, match="cannot hold"):
        F.time_slices(dates, 90, test_months=4, calibration_months=4)
    slices = F.fitting_slices(dates, 90, test_months=4, calibration_months=4)
    assert len(slices.test) < 4 and len(slices.calibration) < 4 and slices.train


def test_capped_rows_are_a_seeded_sample():
    frame = pl.DataFrame({"a": range(100)})
    assert F.capped(frame, 10, seed=1).equals(F.capped(frame, 10, seed=1))
    assert F.capped(frame, 10, seed=1).height == 10 and F.capped(frame, 1000, 1).height == 100


def test_reference_distributions_numeric_and_categorical():
    frame = pl.DataFrame(
        {"balance_cents": [float(i) for i in range(10)] + [None], "sector": [0.0] * 11}
    )
    spec = F.feature_spec(["balance_cents", "sector"])
    ref = F.reference_distributions(frame, spec)
    assert len(ref["balance_cents"]["edges"]) == 11
    assert sum(ref["balance_cents"]["shares"]) == pytest.approx(1.0)
    assert ref["sector"]["categories"][0] == "telecom"
    assert ref["sector"]["shares"][0] == 1.0


# -- on the small simulated home ---------------------------------------------------------------


@pytest.mark.slow
def test_snapshot_frame_of_the_small_home(small_home_master):
    from pipelines.home import Home

    con = duckdb.connect(str(Home(small_home_master).current_path()), read_only=True)
    try:
        frame = F.model_frame_at(con, date(2026, 6, 1))
        labels = F.payment_labels(con, date(2026, 6, 1), 90)
    finally:
        con.close()
    assert frame.height > 300 and frame["case_id"].is_unique().all()
    assert frame["balance_cents"].min() > 0
    assert 0 < labels["paid"].mean() <= 1
    # rows in the data's order (case_id), whatever order the build stored them in: calibration
    # folds are taken in row order
    assert frame["case_id"].to_list() == sorted(frame["case_id"].to_list())
    assert F.labelled(frame.reverse(), labels).equals(F.labelled(frame, labels))


@pytest.mark.slow
def test_leakage_guard_events_after_as_of_change_nothing(small_settings):
    from models.scorer import RecoveryScorer
    from pipelines.home import Home

    path = Home(small_settings.home).current_path()
    work = path.with_name("leak.duckdb")
    shutil.copy(path, work)
    as_of, before = date(2026, 6, 1), date(2026, 3, 1)
    con = duckdb.connect(str(work))
    try:
        train = F.labelled(F.model_frame_at(con, before), F.payment_labels(con, before, 90))
        X = F.feature_matrix(train, F.FEATURES)
        model = RecoveryScorer(features=F.FEATURES, min_samples_leaf=20, reason_sample=0)
        model.fit(X, train["paid"].to_numpy())
        frame = F.model_frame_at(con, as_of)
        frame = frame.sort("case_id")
        scores = model.p_pay(F.feature_matrix(frame, F.FEATURES))
        assert scores.std() > 0, "a constant model could not show leakage"
        paying = F.payment_labels(con, as_of, 90).filter(pl.col("paid"))["case_id"].to_list()
        planted = [c for c in frame["case_id"].to_list() if c in set(paying)][:50]
        assert planted
        payment = con.sql("select * from core.payments limit 1").pl()
        rows = []
        for shift in (0, -1):  # dated on as_of; dated before it but received on as_of
            for case_id in planted:
                rows.append(
                    payment.with_columns(
                        pl.lit(f"planted-{shift}-{case_id}").alias("payment_id"),
                        pl.lit(case_id).alias("case_id"),
                        pl.lit(as_of + timedelta(days=shift)).alias("paid_date"),
                        pl.lit(as_of).alias("received_date"),
                        pl.lit(False).alias("is_reversal"),
                        pl.lit(1_000_000, pl.Int64).alias("amount_cents"),
                    )
                )
        con.register("planted", pl.concat(rows).to_arrow())
        con.execute("insert into core.payments select * from planted")
        again = F.model_frame_at(con, as_of)
        later = F.model_frame_at(con, as_of + timedelta(days=1))
    finally:
        con.close()
    assert again.sort("case_id").equals(frame.sort("case_id"))
    assert np.array_equal(model.p_pay(F.feature_matrix(again.sort("case_id"), F.FEATURES)), scores)
    # the same plant is visible the next day: the guard above could have failed
    seen = later.filter(pl.col("case_id").is_in(planted))
    assert (seen["collected_cents"] >= 1_000_000).all()
