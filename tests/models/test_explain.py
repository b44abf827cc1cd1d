from __future__ import annotations

import numpy as np
import pytest

from models.explain import ReasonCoder, reason_phrases


def test_the_strong_feature_leads_with_the_right_direction(fitted, data):
    X, _, _, _ = data["test"]
    index, raises = fitted.reasons_.top_reasons(X)
    assert index.shape == (X.shape[0], 3)
    extreme = np.abs(X[:, 0]) > 2
    assert (index[extreme, 0] == 0).mean() > 0.9
    assert (raises[extreme, 0] == (X[extreme, 0] > 0)).all()


def test_reasons_in_english_and_french(fitted, data):
    X, _, _, _ = data["test"]
    en, fr = fitted.reasons(X[:5])
    assert len(en) == len(fr) == 5
    assert all(text.count(" · ") == 2 for text in en)
    assert "likelihood of payment" in en[0] and "probabilité de paiement" in fr[0]


def test_missing_values_have_their_own_contribution(fitted):
    X = np.array([[0.0, 0.0, np.nan, 0.0], [0.0, 0.0, 0.0, 0.0]])
    contributions = fitted.reasons_.contributions(X)
    assert np.isfinite(contributions).all()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Promises to pay kept: raises the likelihood of payment"),
        ("fr", "Promesses de paiement tenues : augmente la probabilité de paiement"),
    ],
)
def test_phrases(language, expected):
    assert reason_phrases(["promises_kept"], language)[0] == expected


def test_fit_needs_a_prediction_function():
    with pytest.raises(ValueError, match="predict_proba"):
        ReasonCoder(features=("a",)).fit(np.zeros((3, 1)))


def test_top_reasons_are_the_largest_contributions_largest_first(fitted, data):
    X = data["test"][0].copy()
    X[::7, 2] = np.nan
    X[::11, 0] = np.inf
    index, raises = fitted.reasons_.top_reasons(X)
    contributions = fitted.reasons_.contributions(X)
    expected = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :3]
    assert np.array_equal(index, expected)
    assert np.array_equal(raises, np.take_along_axis(contributions, expected, axis=1) > 0)


def test_ties_go_to_the_feature_listed_first():
    coder = ReasonCoder(features=("a", "b", "c"), top=2)
    coder.grids_ = [np.array([0.0, 1.0])] * 3
    coder.tables_ = [np.array([-1.0, 1.0, 0.0])] * 3
    coder.centres_ = np.zeros(3)
    index, raises = coder.top_reasons(np.array([[1.0, 1.0, 0.0], [np.nan, 0.0, 5.0]]))
    assert index.tolist() == [[0, 1], [1, 2]]
    assert raises.tolist() == [[True, True], [False, True]]
