"""Recovery likelihood and expected amount (DESIGN §8).

``RecoveryScorer`` is a scikit-learn estimator over a numeric feature matrix (the model frame
of ``pipelines.features``: numbers, booleans as 0/1, categoricals as vocabulary codes, missing
as NaN). It holds three fitted parts:

* ``classifier_`` — a ``Pipeline`` with its preprocessing inside: gradient boosting
  (``HistGradientBoostingClassifier``, missing values and categorical codes handled natively)
  or, with ``model="logistic"``, the baseline (imputation with missing indicators, a signed
  log transform and scaling for numbers, one-hot codes for categoricals, then
  ``LogisticRegression``);
* ``calibrated_`` — the classifier frozen (``FrozenEstimator``) and calibrated on a later slice
  (``CalibratedClassifierCV``, isotonic or sigmoid); without a calibration slice it is ``None``
  and probabilities are the classifier's own;
* ``amount_`` — gradient-boosted regression of the share of the balance collected over the
  horizon, fitted on the rows that paid: E[amount | pay] = share × balance.

The expected amount is P(pay) × E[share | pay] × balance (``expected_cents``).

Scoring evaluates the boosted trees of both models in one compiled pass (``models.forest``),
bit for bit what scikit-learn computes, then applies scikit-learn's own calibrators; a model
the compiled pass cannot reproduce is scored by scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from models import forest
from models.explain import ReasonCoder

MODELS = ("hgb", "logistic")
CALIBRATORS = ("isotonic", "sigmoid")  # calibrations whose output ``calibrated_p_pay`` reproduces


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """sign(x) · log(1 + |x|): tames amounts in cents for a linear model."""
    return np.sign(x) * np.log1p(np.abs(x))


def without_empty_columns(X: np.ndarray) -> np.ndarray:
    """A copy of ``X`` whose all-missing columns are 0 (boosting cannot bin an empty column;
    such a column carries no information, and missing values at prediction time then follow
    the majority branch)."""
    empty = np.isnan(X).all(axis=0)
    if not empty.any():
        return X
    X = X.copy()
    X[:, empty] = 0.0
    return X


def validation_rows(groups: np.ndarray, share: float, seed: int) -> np.ndarray:
    """A boolean mask choosing ``share`` of the *groups* (cases) at random: a case's monthly
    snapshots fall all in or all out, so early stopping does not reward memorising cases."""
    unique, inverse = np.unique(np.asarray(groups), return_inverse=True)
    chosen = np.random.default_rng(seed).random(unique.size) < share
    return chosen[inverse]


def categorical_mask(n_features: int, categorical: Sequence[int]) -> np.ndarray:
    """A boolean mask of length ``n_features``, true at the ``categorical`` positions."""
    mask = np.zeros(n_features, dtype=bool)
    mask[list(categorical)] = True
    return mask


def boosting_pipeline(
    mask: np.ndarray,
    *,
    learning_rate: float,
    max_iter: int,
    max_leaf_nodes: int,
    min_samples_leaf: int,
    l2_regularization: float,
    n_iter_no_change: int,
    random_state: int,
) -> Pipeline:
    """Gradient boosting with native missing-value and categorical handling."""
    return Pipeline(
        [
            (
                "model",
                HistGradientBoostingClassifier(
                    learning_rate=learning_rate,
                    max_iter=max_iter,
                    max_leaf_nodes=max_leaf_nodes,
                    min_samples_leaf=min_samples_leaf,
                    l2_regularization=l2_regularization,
                    categorical_features=mask if mask.any() else None,
                    early_stopping=True,
                    n_iter_no_change=n_iter_no_change,
                    random_state=random_state,
                ),
            )
        ]
    )


def logistic_pipeline(mask: np.ndarray, *, C: float) -> Pipeline:
    """The baseline: imputed, log-transformed, scaled numbers and one-hot categoricals."""
    numeric = np.flatnonzero(~mask).tolist()
    categorical = np.flatnonzero(mask).tolist()
    numbers = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("log", FunctionTransformer(signed_log1p)),
            ("scale", StandardScaler()),
        ]
    )
    codes = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value=-1.0)),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    transformers = [("numbers", numbers, numeric)]
    if categorical:
        transformers.append(("codes", codes, categorical))
    return Pipeline(
        [
            ("prepare", ColumnTransformer(transformers)),
            ("model", LogisticRegression(C=C, max_iter=2000)),
        ]
    )


class RecoveryScorer(ClassifierMixin, BaseEstimator):
    """P(any payment over the horizon) and the expected amount collected.

    Parameters
    ----------
    model : {"hgb", "logistic"}
        Gradient boosting (the scorer) or the logistic baseline.
    features : sequence of str
        Names of the columns of ``X`` (the versioned feature list), used by the reasons.
    categorical : sequence of int
        Column positions holding categorical codes.
    calibration : {"isotonic", "sigmoid"}
        Calibration method on the calibration slice.
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization
        Gradient-boosting parameters (classifier and amount model).
    n_iter_no_change, validation_share
        Early stopping of the boosting on ``validation_share`` of the cases (``groups`` of
        ``fit``; rows when no groups are given), held out of its fit.
    amount_max_iter : int
        Boosting iterations of the amount model (few: it is scored on every case).
    C : float
        Inverse regularisation of the logistic baseline.
    reason_sample : int
        Reference rows of the reason codes (0: no reasons).
    random_state : int
        Seed of the boosting's early-stopping split and of the reasons' sample.
    """

    def __init__(
        self,
        model: str = "hgb",
        features: Sequence[str] = (),
        categorical: Sequence[int] = (),
        calibration: str = "isotonic",
        learning_rate: float = 0.06,
        max_iter: int = 300,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 80,
        l2_regularization: float = 1.0,
        n_iter_no_change: int = 20,
        validation_share: float = 0.2,
        amount_max_iter: int = 60,
        C: float = 1.0,
        reason_sample: int = 400,
        random_state: int = 0,
    ):
        self.model = model
        self.features = features
        self.categorical = categorical
        self.calibration = calibration
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.n_iter_no_change = n_iter_no_change
        self.validation_share = validation_share
        self.amount_max_iter = amount_max_iter
        self.C = C
        self.reason_sample = reason_sample
        self.random_state = random_state

    def _boosting_params(self) -> dict:
        return {
            "learning_rate": self.learning_rate,
            "max_iter": self.max_iter,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
            "n_iter_no_change": self.n_iter_no_change,
            "random_state": self.random_state,
        }

    def fit(
        self,
        X,
        y,
        share=None,
        X_calibration=None,
        y_calibration=None,
        groups=None,
    ) -> RecoveryScorer:
        """Fit the classifier on ``(X, y)``; the amount model on the rows with ``y == 1`` and
        their ``share`` (collected ÷ balance, in [0, 1]); calibrate on the later slice
        ``(X_calibration, y_calibration)`` when given. ``groups`` (the case of each row) keeps
        a case's rows together when holding out the early-stopping rows."""
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        X = without_empty_columns(np.asarray(X, dtype=float))
        y = np.asarray(y).astype(int)
        self.n_features_in_ = X.shape[1]
        mask = categorical_mask(X.shape[1], self.categorical)
        if self.model == "hgb":
            held = validation_rows(
                np.arange(X.shape[0]) if groups is None else groups,
                self.validation_share,
                self.random_state,
            )
            classifier = boosting_pipeline(mask, **self._boosting_params())
            self.classifier_ = classifier.fit(
                without_empty_columns(X[~held]),
                y[~held],
                model__X_val=X[held],
                model__y_val=y[held],
            )
        else:
            self.classifier_ = logistic_pipeline(mask, C=self.C).fit(X, y)
        self.classes_ = self.classifier_.classes_
        self.calibrated_ = None
        if X_calibration is not None and y_calibration is not None:
            self.calibrated_ = CalibratedClassifierCV(
                FrozenEstimator(self.classifier_), method=self.calibration
            ).fit(np.asarray(X_calibration, dtype=float), np.asarray(y_calibration).astype(int))
        self.amount_ = None
        self.mean_share_ = None
        if share is not None:
            share = np.clip(np.asarray(share, dtype=float), 0.0, 1.0)
            payers = y == 1
            self.mean_share_ = float(share[payers].mean()) if payers.any() else 0.0
            if payers.sum() >= 4 * self.min_samples_leaf:
                # a column empty among the payers alone would break the binning too
                params = self._boosting_params() | {"max_iter": self.amount_max_iter}
                self.amount_ = HistGradientBoostingRegressor(
                    **params,
                    categorical_features=mask if mask.any() else None,
                    early_stopping=True,
                ).fit(without_empty_columns(X[payers]), share[payers])
        self.reasons_ = None
        if self.reason_sample > 0:
            reference = X if X_calibration is None else np.asarray(X_calibration, dtype=float)
            self.reasons_ = ReasonCoder(
                features=tuple(self.features) or tuple(f"x{j}" for j in range(X.shape[1])),
                sample_size=self.reason_sample,
                random_state=self.random_state,
            ).fit(reference, predict_proba=self.p_pay)
        return self

    def compiled_forest(self, amount: bool = True) -> forest.CompiledForest | None:
        """The classifier's trees, and the amount model's with ``amount``, compiled for one
        pass (built on first use, kept beside the model, never saved); ``None`` for the
        logistic baseline and for a model ``models.forest`` cannot reproduce."""
        check_is_fitted(self, "classifier_")
        if self.model != "hgb" or len(self.classifier_) != 1:
            return None
        classifier = self.classifier_[-1]
        if classifier.n_trees_per_iteration_ != 1:
            return None
        if self.calibrated_ is not None and self.calibrated_.method not in CALIBRATORS:
            return None
        parts = [classifier]
        if amount and self.amount_ is not None:
            if self.amount_.loss != "squared_error":
                return None
            parts.append(self.amount_)
        return forest.cached(self, parts)

    def calibrated_p_pay(self, log_odds: np.ndarray) -> np.ndarray:
        """P(pay) from the classifier's log-odds, as ``predict_proba`` computes it: the mean
        over the calibrators (scikit-learn's own), or the logistic function without them."""
        if self.calibrated_ is None:
            return expit(log_odds)
        total = np.zeros(log_odds.size)
        for part in self.calibrated_.calibrated_classifiers_:
            (calibrator,) = part.calibrators
            p = calibrator.predict(log_odds)
            p[(p > 1.0) & (p <= 1.0 + 1e-5)] = 1.0  # as CalibratedClassifierCV does
            total += p
        return total / len(self.calibrated_.calibrated_classifiers_)

    def scores(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(P(pay), E[share | pay]) of every row of ``X``, the trees of both models evaluated
        in one compiled pass when they can be."""
        check_is_fitted(self, "classifier_")
        X = np.asarray(X, dtype=float)
        compiled = self.compiled_forest()
        if compiled is None:
            return self.predict_proba(X)[:, 1], self.expected_share(X)
        raw = compiled.raw(X)
        p = self.calibrated_p_pay(raw[:, 0])
        if self.amount_ is None:
            return p, np.full(X.shape[0], self.mean_share_ or 0.0)
        return p, np.clip(raw[:, 1], 0.0, 1.0)

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated class probabilities, columns ``classes_`` (1 = pays)."""
        check_is_fitted(self, "classifier_")
        X = np.asarray(X, dtype=float)
        compiled = self.compiled_forest(amount=False)
        if compiled is not None:
            p = self.calibrated_p_pay(compiled.raw(X)[:, 0])
            return np.column_stack([1.0 - p, p])
        if self.calibrated_ is not None:
            return self.calibrated_.predict_proba(X)
        return self.classifier_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def p_pay(self, X) -> np.ndarray:
        """P(any payment over the horizon)."""
        return self.predict_proba(X)[:, 1]

    def raw_p_pay(self, X) -> np.ndarray:
        """The uncalibrated classifier's P(pay) (for ranking diagnostics)."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.predict_proba(np.asarray(X, dtype=float))[:, 1]

    def expected_share(self, X) -> np.ndarray:
        """E[share of the balance collected | pay], in [0, 1]."""
        check_is_fitted(self, "classifier_")
        X = np.asarray(X, dtype=float)
        if self.amount_ is None:
            return np.full(X.shape[0], self.mean_share_ or 0.0)
        return np.clip(self.amount_.predict(X), 0.0, 1.0)

    def reasons(self, X) -> tuple[np.ndarray, np.ndarray]:
        """The top three reasons of each row: (English, French) texts."""
        check_is_fitted(self, "reasons_")
        if self.reasons_ is None:
            raise ValueError("this scorer was fitted without reasons (reason_sample=0)")
        return self.reasons_.reasons(X)

    def expected_cents(
        self,
        X,
        balance_cents,
        p_pay: np.ndarray | None = None,
        share: np.ndarray | None = None,
    ) -> np.ndarray:
        """Expected amount = P(pay) × E[share | pay] × balance, in whole cents (``p_pay`` and
        ``share`` from ``scores`` when already computed)."""
        if share is None:
            p_both, share = self.scores(X)
            p_pay = p_both if p_pay is None else p_pay
        elif p_pay is None:
            p_pay = self.p_pay(X)
        balance = np.clip(np.asarray(balance_cents, dtype=float), 0.0, None)
        return np.rint(p_pay * share * balance).astype(np.int64)
