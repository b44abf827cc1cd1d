"""Tiny seeded data for the model tests: a known logistic world with one categorical column."""

from __future__ import annotations

import numpy as np
import pytest


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, share, balance): y depends on x0 (strongly), x1 (weakly) and the category x3;
    x2 is noise with 10 % missing."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.normal(size=n),
            rng.normal(size=n),
            np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            rng.integers(0, 3, n).astype(float),
        ]
    )
    logit = -0.5 + 1.5 * X[:, 0] + 0.3 * X[:, 1] + np.array([0.0, 0.8, -0.8])[X[:, 3].astype(int)]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    share = np.clip(0.3 + 0.2 * X[:, 0] + rng.normal(0, 0.05, n), 0, 1)
    balance = rng.integers(1_000, 100_000, n).astype(float)
    return X, y, share, balance


FEATURES = ("x0", "x1", "x2", "x3")


@pytest.fixture(scope="module")
def data():
    return {
        "train": synthetic(3000, 0),
        "calibration": synthetic(1500, 1),
        "test": synthetic(1500, 2),
    }


@pytest.fixture(scope="module")
def fitted(data):
    from models.scorer import RecoveryScorer

    X, y, share, _ = data["train"]
    Xc, yc, _, _ = data["calibration"]
    return RecoveryScorer(
        features=FEATURES, categorical=[3], min_samples_leaf=20, reason_sample=200
    ).fit(X, y, share, Xc, yc)
