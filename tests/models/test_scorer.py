from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from models.scorer import RecoveryScorer, signed_log1p, validation_rows, without_empty_columns
from tests.models.conftest import FEATURES


def test_boosting_ranks_and_calibrates(fitted, data):
    X, y, _, _ = data["test"]
    p = fitted.p_pay(X)
    assert p.min() >= 0.0 and p.max() <= 1.0
    assert roc_auc_score(y, p) > 0.75
    assert abs(p.mean() - y.mean()) < 0.03
    assert fitted.calibrated_ is not None


@pytest.mark.parametrize("model", ["hgb", "logistic"])
def test_both_models_fit_and_beat_chance(model, data):
    X, y, _, _ = data["train"]
    Xt, yt, _, _ = data["test"]
    scorer = RecoveryScorer(model=model, features=FEATURES, categorical=[3], reason_sample=0)
    scorer.fit(X, y)
    assert scorer.calibrated_ is None
    assert roc_auc_score(yt, scorer.p_pay(Xt)) > 0.75


def test_expected_amount_is_probability_times_share_times_balance(fitted, data):
    X, _, _, balance = data["test"]
    p = fitted.p_pay(X)
    expected = fitted.expected_cents(X, balance)
    assert np.array_equal(expected, np.rint(p * fitted.expected_share(X) * balance))
    assert expected.dtype == np.int64 and (expected >= 0).all()


def test_amount_model_follows_the_share(fitted, data):
    X, _, share, _ = data["test"]
    assert np.corrcoef(fitted.expected_share(X), share)[0, 1] > 0.8


def test_unknown_model_is_refused(data):
    X, y, _, _ = data["train"]
    with pytest.raises(ValueError, match="model must be one of"):
        RecoveryScorer(model="forest").fit(X, y)


def test_reasons_need_a_reason_sample(data):
    X, y, _, _ = data["train"]
    scorer = RecoveryScorer(categorical=[3], reason_sample=0).fit(X, y)
    with pytest.raises(ValueError, match="without reasons"):
        scorer.reasons(X)


def test_a_column_empty_among_the_payers_only_is_fitted(data):
    """The amount model fits on the payers alone: a column known only for non-payers (all
    missing among the payers) must not break its binning."""
    X, y, share, balance = data["train"]
    X = X.copy()
    X[y == 1, 0] = np.nan
    scorer = RecoveryScorer(
        features=FEATURES, categorical=[3], min_samples_leaf=20, reason_sample=0
    ).fit(X, y, share)
    assert scorer.amount_ is not None
    assert (scorer.expected_cents(X, balance) >= 0).all()


def test_empty_columns_become_zero_and_others_stay():
    X = np.array([[np.nan, 1.0], [np.nan, np.nan]])
    out = without_empty_columns(X)
    assert out[:, 0].tolist() == [0.0, 0.0]
    assert np.isnan(out[1, 1]) and np.isnan(X[0, 0])


def test_validation_rows_keep_a_case_together():
    groups = np.array(["a", "a", "b", "b", "c", "c"] * 50)
    held = validation_rows(groups, 0.5, seed=3)
    for g in np.unique(groups):
        assert len(set(held[groups == g])) == 1


@pytest.mark.parametrize(("x", "expected"), [(0.0, 0.0), (-1.0, -np.log(2)), (99.0, np.log(100))])
def test_signed_log1p(x, expected):
    assert signed_log1p(np.array([x]))[0] == pytest.approx(expected)
