"""The compiled forest reproduces scikit-learn's boosted trees bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from models import forest
from models.scorer import RecoveryScorer
from tests.models.conftest import FEATURES


def mixed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Numbers with missing values (some columns mostly missing, so splits send missing values
    both ways), a wide category with unseen codes, and a binary outcome depending on all."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.normal(size=n),
            np.where(rng.random(n) < 0.3, np.nan, rng.exponential(size=n)),
            np.where(rng.random(n) < 0.7, np.nan, rng.normal(size=n)),
            rng.integers(0, 40, n).astype(float),
            rng.integers(0, 1000, n).astype(float),
        ]
    )
    logit = X[:, 0] + np.nan_to_num(X[:, 1], nan=2.0) - np.isnan(X[:, 2]) + (X[:, 3] % 7 - 3) / 3
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


CATEGORICAL = np.array([False, False, False, True, False])


@pytest.fixture(scope="module")
def boosted():
    X, y = mixed(4000, 0)
    classifier = HistGradientBoostingClassifier(
        max_iter=40, max_leaf_nodes=31, categorical_features=CATEGORICAL, random_state=0
    ).fit(X, y)
    regressor = HistGradientBoostingRegressor(max_iter=15, random_state=0).fit(X, X[:, 0] + y)
    return classifier, regressor


def unseen(n: int, seed: int) -> np.ndarray:
    """Rows to score: fresh values, plus categories never seen (40, 2.5, −1, 10⁶), missing
    categories and infinities."""
    X, _ = mixed(n, seed)
    rng = np.random.default_rng(seed)
    X[rng.random(n) < 0.05, 3] = 40.0
    X[rng.random(n) < 0.05, 3] = 2.5
    X[rng.random(n) < 0.05, 3] = -1.0
    X[rng.random(n) < 0.05, 3] = 1e6
    X[rng.random(n) < 0.05, 3] = np.nan
    X[rng.random(n) < 0.02, 0] = np.inf
    X[rng.random(n) < 0.02, 1] = -np.inf
    return X


def test_raw_predictions_are_scikit_learns_bit_for_bit(boosted):
    classifier, regressor = boosted
    X = unseen(3000, 1)
    raw = forest.compiled([classifier, regressor]).raw(X)
    assert raw.shape == (3000, 2)
    assert np.array_equal(raw[:, 0], classifier._raw_predict(X)[:, 0])
    assert np.array_equal(raw[:, 1], regressor.predict(X))


@pytest.mark.parametrize("rows", [0, 1, 255, 256, 257, 1000])
def test_any_number_of_rows_and_any_block(boosted, rows):
    classifier, _ = boosted
    X = unseen(max(rows, 1), 2)[:rows]
    compiled = forest.compiled([classifier])
    expected = classifier._raw_predict(X)[:, 0] if rows else np.empty(0)
    for block in (1, 7, 256):
        assert np.array_equal(compiled.raw(X, block=block)[:, 0], expected)


def test_leaves_are_numbered_left_to_right():
    #        0
    #      1   2
    #     3 4
    left, right = np.array([1, 3, 0, 0, 0]), np.array([2, 4, 0, 0, 0])
    is_leaf = np.array([False, False, True, True, True])
    below = forest.ordered_leaves(left, right, is_leaf)
    assert below == [[0, 1, 2], [0, 1], [2], [0], [1]]


def test_lowest_set_bit_table():
    table = forest.debruijn_table()
    for i in (0, 1, 17, 63):
        x = np.uint64(1) << np.uint64(i) | np.uint64(1) << np.uint64(63)
        with np.errstate(over="ignore"):
            key = int((x & (~x + np.uint64(1))) * np.uint64(0x03F79D71B4CB0A89)) >> 58
        assert table[key] == i


def test_a_tree_with_too_many_leaves_is_not_compiled():
    X, y = mixed(4000, 3)
    wide = HistGradientBoostingClassifier(
        max_iter=2, max_leaf_nodes=80, min_samples_leaf=5, random_state=0
    ).fit(X, y)
    with pytest.raises(forest.NotCompilable, match="more than 64 leaves"):
        forest.compiled([wide])


@pytest.fixture(scope="module")
def fractional():
    """A forest whose category codes are not integers (not reproduced by the kernel)."""
    X, y = mixed(2000, 4)
    X[:, 3] = X[:, 3] / 4
    return HistGradientBoostingClassifier(
        max_iter=3, categorical_features=CATEGORICAL, random_state=0
    ).fit(X, y)


def test_fractional_categories_are_not_compiled(fractional):
    with pytest.raises(forest.NotCompilable, match="integers"):
        forest.compiled([fractional])


def test_the_cache_follows_the_trees(boosted):
    classifier, _ = boosted
    owner = RecoveryScorer()
    first = forest.cached(owner, [classifier])
    assert forest.cached(owner, [classifier]) is first
    X, y = mixed(1000, 5)
    refit = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, y)
    assert forest.cached(owner, [refit]) is not first


def test_an_uncompilable_forest_is_cached_as_none(fractional):
    assert forest.cached(RecoveryScorer(), [fractional]) is None


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid", None])
def test_the_scorer_scores_as_scikit_learn_does(data, calibration):
    X, y, share, _ = data["train"]
    Xc, yc, _, _ = data["calibration"]
    Xt = data["test"][0].copy()
    Xt[::50, 3] = 7.0  # a category never seen
    scorer = RecoveryScorer(
        features=FEATURES,
        categorical=[3],
        min_samples_leaf=20,
        reason_sample=0,
        calibration=calibration or "isotonic",
    )
    if calibration is None:
        scorer.fit(X, y, share)
        expected = scorer.classifier_.predict_proba(Xt)
    else:
        scorer.fit(X, y, share, Xc, yc)
        expected = scorer.calibrated_.predict_proba(Xt)
    assert scorer.compiled_forest() is not None
    assert np.array_equal(scorer.predict_proba(Xt)[:, 1], expected[:, 1])
    p, fitted_share = scorer.scores(Xt)
    assert np.array_equal(p, expected[:, 1])
    assert np.array_equal(fitted_share, np.clip(scorer.amount_.predict(Xt), 0, 1))


def test_the_logistic_baseline_is_scored_by_scikit_learn(data):
    X, y, share, _ = data["train"]
    scorer = RecoveryScorer(model="logistic", categorical=[3], reason_sample=0).fit(X, y, share)
    assert scorer.compiled_forest() is None
    p, _ = scorer.scores(data["test"][0])
    assert np.array_equal(p, scorer.classifier_.predict_proba(data["test"][0])[:, 1])
