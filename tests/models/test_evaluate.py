from __future__ import annotations

import numpy as np
import pytest

from models.evaluate import (
    amount_deciles,
    bootstrap_auc_gain,
    brier_skill,
    case_weights,
    equal_frequency_bins,
    expected_calibration_error,
    lift_table,
    regression_metrics,
    reliability,
)


def test_equal_frequency_bins_differ_by_at_most_one():
    sizes = [b.size for b in equal_frequency_bins(np.arange(23) / 23, 10)]
    assert sum(sizes) == 23 and max(sizes) - min(sizes) <= 1


def test_ece_of_a_perfect_forecast_is_zero_and_of_a_shifted_one_is_the_shift():
    p = np.repeat([0.2, 0.8], 10)
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] + [1] * 8 + [0, 0])
    assert expected_calibration_error(y, p, bins=2) == pytest.approx(0.0)
    assert expected_calibration_error(y, p + 0.1, bins=2) == pytest.approx(0.1)


def test_reliability_rows():
    rows = reliability(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.7, 0.9]), bins=2)
    assert rows == [
        {"bin": 1, "mean_predicted": pytest.approx(0.15), "mean_observed": 0.5, "n": 2},
        {"bin": 2, "mean_predicted": pytest.approx(0.8), "mean_observed": 0.5, "n": 2},
    ]


@pytest.mark.parametrize(("p", "sign"), [([0.9, 0.1, 0.9, 0.1], 1), ([0.5, 0.5, 0.5, 0.5], 0)])
def test_brier_skill_against_the_base_rate(p, sign):
    y = np.array([1, 0, 1, 0])
    skill = brier_skill(y, np.array(p))
    assert np.sign(round(skill, 9)) == sign


def test_brier_skill_is_negative_for_a_wrong_forecast():
    assert brier_skill(np.array([1, 0]), np.array([0.1, 0.9])) < 0


def test_lift_and_capture():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    p = np.linspace(1, 0, 10)
    rows = lift_table(y, p, shares=(0.1, 0.2))
    assert rows[0] == {"share": 0.1, "lift": 5.0, "capture": 0.5}
    assert rows[1] == {"share": 0.2, "lift": 5.0, "capture": 1.0}


def test_deciles_sum_both_amounts_highest_first():
    expected = np.arange(20, dtype=float)
    rows = amount_deciles(expected, expected * 2)
    assert rows[0] == {"decile": 1, "expected_cents": 37, "realised_cents": 74}
    assert sum(r["expected_cents"] for r in rows) == expected.sum()


def test_case_weights_weigh_all_rows_of_a_case_alike():
    groups = np.array(["a", "a", "b", "c", "c", "c"])
    w = case_weights(groups, np.random.default_rng(0))
    assert w[0] == w[1] and w[3] == w[4] == w[5]
    assert w[[0, 2, 3]].sum() == 3


def test_auc_gain_interval_is_positive_for_a_better_model_and_spans_zero_for_the_same():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    good = y + rng.normal(0, 0.8, 2000)
    poor = y + rng.normal(0, 2.0, 2000)
    groups = np.arange(2000) // 2
    lo, hi = bootstrap_auc_gain(y, good, poor, groups, n_boot=100)
    assert 0 < lo < hi
    lo, hi = bootstrap_auc_gain(y, good, good, groups, n_boot=20)
    assert lo == hi == 0


def test_regression_metrics():
    out = regression_metrics(np.array([0.0, 1.0]), np.array([0.0, 0.5]))
    assert out == {"mae": 0.25, "r2": 0.5}
