"""Per-action response models, uplift against ``wait`` and the policy (DESIGN §5, §8).

The data are *logged decisions*: one row per decision unit (a case-week, or an experiment's
unit) with its covariates ``X``, the action taken (an index into ``actions``), the probability
with which the logging policy took it (``propensity``, in (0, 1]) and the outcomes that
followed (for collections: any payment, amount collected, complaint over the horizon).

Two learners, both cross-fitted on folds of *groups* (a case's weeks never straddle folds):

* **T-learner** (``TLearner``) — one gradient-boosted model per action and outcome, fitted on
  the rows that took that action, each weighted by ``1 / propensity`` clipped at
  ``weight_clip`` (``UpliftRecommender.response_weight_clip``; a clip of 1 fits unweighted,
  which conditioning on the covariates justifies when the logging policy is a function of
  them). Predictions for new units average the fold models;
  out-of-fold predictions (``oof_``) feed the second learner.
* **Doubly robust learner** (``UpliftRecommender(learner="dr")``) — for each action *a* ≠ wait,
  the pseudo-outcome (Kennedy 2023, "DR-learner")::

      φ_a = μ_a(x) − μ_w(x) + 1[A = a]·(Y − μ_a(x)) / p − 1[A = wait]·(Y − μ_w(x)) / p

  built from the out-of-fold T-learner values μ and the logged propensity p of the action
  taken, is regressed on ``x`` (over the rows where *a* was allowed); its fit is the uplift
  τ_a(x) = V(a) − V(wait). Where the logging policy is a known randomisation, φ_a is unbiased
  for the uplift whatever the quality of μ.

The value of an action is linear in the outcomes (DESIGN §5)::

    V(a) = Σ_k coefficient_k × E[outcome_k | a] − cost(a)

(collections: coefficient ``commission`` on the amount, ``−λ`` on the complaint, 0 on the
payment, which is modelled for reporting; an experiment: 1 on its outcome, no costs). The
policy takes the allowed action with the highest estimated value (``chosen``); ties go to the
earlier action of ``actions``, so ``wait`` wins a tie.

Everything here is pure: arrays in, fitted estimators and arrays out. Nothing opens a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

LEARNERS = ("t", "dr")
KINDS = ("binary", "continuous")


def fold_of_groups(groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """A fold number in ``[0, n_folds)`` per row, drawn per *group* so that all rows of a group
    share a fold (cross-fitting by case)."""
    unique, inverse = np.unique(np.asarray(groups), return_inverse=True)
    folds = np.random.default_rng(seed).permutation(unique.size) % n_folds
    return folds[inverse]


def without_empty_columns(X: np.ndarray) -> np.ndarray:
    """``X`` with its all-missing columns set to 0 (boosting cannot bin an empty column; such a
    column carries no information in that fit, and missing values at prediction time then
    follow the majority branch)."""
    empty = np.isnan(X).all(axis=0)
    if not empty.any():
        return X
    X = X.copy()
    X[:, empty] = 0.0
    return X


def clipped_weights(propensity: np.ndarray, clip: float) -> np.ndarray:
    """``1 / propensity`` capped at ``clip`` (inverse-propensity weights of the taken actions)."""
    p = np.asarray(propensity, dtype=float)
    if np.any(~(p > 0)) or np.any(p > 1):
        raise ValueError("every propensity must lie in (0, 1]")
    return np.minimum(1.0 / p, clip)


def response_pipeline(
    kind: str,
    *,
    learning_rate: float,
    max_iter: int,
    max_leaf_nodes: int,
    min_samples_leaf: int,
    l2_regularization: float,
    random_state: int,
) -> Pipeline:
    """A gradient-boosting pipeline for one response: a classifier (``binary``: predicts the
    probability of 1) or a squared-error regressor (``continuous``). Missing values are handled
    natively by the trees, so the pipeline needs no other step."""
    common = {
        "learning_rate": learning_rate,
        "max_iter": max_iter,
        "max_leaf_nodes": max_leaf_nodes,
        "min_samples_leaf": min_samples_leaf,
        "l2_regularization": l2_regularization,
        "early_stopping": False,
        "random_state": random_state,
    }
    if kind == "binary":
        model = HistGradientBoostingClassifier(**common)
    elif kind == "continuous":
        model = HistGradientBoostingRegressor(**common)
    else:
        raise ValueError(f"unknown response kind {kind!r}; known: {', '.join(KINDS)}")
    return Pipeline([("model", model)])


def predicted(model: Pipeline, X: np.ndarray, kind: str) -> np.ndarray:
    """The response of a fitted pipeline: P(1) for a classifier, the mean for a regressor."""
    if kind == "binary":
        estimator = model[-1]
        if len(estimator.classes_) == 1:  # every training row had the same outcome
            return np.full(len(X), float(estimator.classes_[0]))
        return model.predict_proba(X)[:, 1]
    return model.predict(X)


class TLearner(BaseEstimator):
    """Cross-fitted per-action response models for one outcome (a T-learner).

    Parameters
    ----------
    actions : the action names; ``fit``'s ``action`` indexes into them.
    kind : ``"binary"`` (probability of 1) or ``"continuous"`` (mean).
    n_folds : cross-fitting folds (by group). Each fold model is fitted on the other folds.
    weight_clip : cap of the inverse-propensity weights.
    min_rows : an action with fewer training rows in a fold predicts the weighted mean of
        those rows (or of all rows when it has none) instead of a model.
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization : boosting.
    random_state : seed of the folds and of the boosting.

    Attributes
    ----------
    models_ : dict action → list of ``n_folds`` fitted pipelines (``None`` where a constant).
    constants_ : dict action → list of the per-fold constants used where a model is ``None``.
    folds_ : the fold of each training row.
    oof_ : (n, n_actions) out-of-fold predictions of every action for the training rows.
    """

    def __init__(
        self,
        actions: Sequence[str] = ("wait", "act"),
        kind: str = "binary",
        *,
        n_folds: int = 3,
        weight_clip: float = 100.0,
        min_rows: int = 50,
        learning_rate: float = 0.1,
        max_iter: int = 100,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        random_state: int = 0,
    ):
        self.actions = actions
        self.kind = kind
        self.n_folds = n_folds
        self.weight_clip = weight_clip
        self.min_rows = min_rows
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def _pipeline(self) -> Pipeline:
        return response_pipeline(
            self.kind,
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            random_state=self.random_state,
        )

    def fit(
        self,
        X: np.ndarray,
        action: np.ndarray,
        y: np.ndarray,
        propensity: np.ndarray,
        groups: np.ndarray | None = None,
        folds: np.ndarray | None = None,
    ) -> TLearner:
        X = np.asarray(X, dtype=float)
        action = np.asarray(action, dtype=np.int64)
        y = np.asarray(y, dtype=float)
        n = len(X)
        if not (len(action) == len(y) == len(propensity) == n):
            raise ValueError("X, action, y and propensity must have the same length")
        if n_bad := int(((action < 0) | (action >= len(self.actions))).sum()):
            raise ValueError(f"{n_bad} action index(es) outside 0…{len(self.actions) - 1}")
        weight = clipped_weights(propensity, self.weight_clip)
        if folds is None:
            groups = np.arange(n) if groups is None else np.asarray(groups)
            folds = fold_of_groups(groups, self.n_folds, self.random_state)
        self.folds_ = np.asarray(folds)
        self.models_: dict[str, list[Pipeline | None]] = {}
        self.constants_: dict[str, list[float]] = {}
        self.oof_ = np.zeros((n, len(self.actions)))
        overall = float(np.average(y, weights=weight))
        for j, name in enumerate(self.actions):
            models: list[Pipeline | None] = []
            constants: list[float] = []
            for k in range(self.n_folds):
                train = (self.folds_ != k) & (action == j)
                if train.sum() >= self.min_rows and np.unique(y[train]).size > 1:
                    model = self._pipeline().fit(
                        without_empty_columns(X[train]),
                        y[train],
                        model__sample_weight=weight[train],
                    )
                    constant = float(np.average(y[train], weights=weight[train]))
                else:
                    model = None
                    constant = (
                        float(np.average(y[train], weights=weight[train]))
                        if train.any()
                        else overall
                    )
                models.append(model)
                constants.append(constant)
                held = self.folds_ == k
                if held.any():
                    self.oof_[held, j] = self._one(model, constant, X[held])
            self.models_[name] = models
            self.constants_[name] = constants
        return self

    def _one(self, model: Pipeline | None, constant: float, X: np.ndarray) -> np.ndarray:
        if model is None:
            return np.full(len(X), constant)
        return predicted(model, X, self.kind)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, n_actions): each action's response, the mean of the fold models."""
        check_is_fitted(self, "models_")
        X = np.asarray(X, dtype=float)
        out = np.zeros((len(X), len(self.actions)))
        for j, name in enumerate(self.actions):
            parts = [
                self._one(m, c, X)
                for m, c in zip(self.models_[name], self.constants_[name], strict=True)
            ]
            out[:, j] = np.mean(parts, axis=0)
        return out


def action_values(
    responses: Mapping[str, np.ndarray],
    coefficients: Mapping[str, float],
    costs: np.ndarray,
) -> np.ndarray:
    """V(a) = Σ_k coefficient_k × response_k(a) − cost(a), for (n, n_actions) responses."""
    total = None
    for name, coefficient in coefficients.items():
        part = coefficient * np.asarray(responses[name], dtype=float)
        total = part if total is None else total + part
    if total is None:
        raise ValueError("no outcome has a coefficient")
    return total - np.asarray(costs, dtype=float)[None, :]


def realised_values(
    outcomes: Mapping[str, np.ndarray],
    coefficients: Mapping[str, float],
    costs: np.ndarray,
    action: np.ndarray,
) -> np.ndarray:
    """The realised value of each logged row: Σ_k coefficient_k × outcome_k − cost(action)."""
    total = sum(c * np.asarray(outcomes[k], dtype=float) for k, c in coefficients.items())
    return total - np.asarray(costs, dtype=float)[np.asarray(action, dtype=np.int64)]


def dr_pseudo_outcomes(
    mu: np.ndarray,
    action: np.ndarray,
    value: np.ndarray,
    propensity: np.ndarray,
    baseline: int,
    weight_clip: float,
) -> np.ndarray:
    """(n, n_actions) doubly robust pseudo-outcomes of the uplift of each action over
    ``baseline`` (column ``baseline`` is 0): μ_a − μ_b + 1[A=a]·(Y−μ_a)/p − 1[A=b]·(Y−μ_b)/p."""
    n, m = mu.shape
    rows = np.arange(n)
    action = np.asarray(action, dtype=np.int64)
    weight = clipped_weights(propensity, weight_clip)
    residual = (np.asarray(value, dtype=float) - mu[rows, action]) * weight
    out = mu - mu[:, [baseline]]
    taken = np.zeros((n, m))
    taken[rows, action] = residual
    out += taken
    out -= (action == baseline)[:, None] * residual[:, None]
    out[:, baseline] = 0.0
    return out


def chosen(values: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Index of the best allowed action per row (the first on a tie). A row with no allowed
    action is an error: ``wait`` is always allowed."""
    values = np.asarray(values, dtype=float)
    if allowed is None:
        return np.argmax(values, axis=1)
    allowed = np.asarray(allowed, dtype=bool)
    if not allowed.any(axis=1).all():
        raise ValueError("a row has no allowed action (wait is always allowed)")
    return np.argmax(np.where(allowed, values, -np.inf), axis=1)


class UpliftRecommender(BaseEstimator):
    """Response models for each outcome, the uplift of each action over the baseline and the
    policy that takes the best allowed action by value.

    Parameters
    ----------
    actions : action names (``fit``'s ``action`` indexes into them).
    baseline : the action uplift is measured against (``wait``; an experiment's control arm).
    outcomes : outcome name → ``"binary"`` or ``"continuous"``.
    coefficients : outcome name → its weight in the value (outcomes absent weigh 0).
    costs : action name → cost in the value's unit (absent: 0).
    learner : ``"t"`` (values from the T-learners) or ``"dr"`` (the baseline's T-learner value
        plus the doubly robust uplift).
    weight_clip : cap of the inverse-propensity weights of the DR pseudo-outcomes.
    response_weight_clip : cap of the T-learners' training weights ``1 / propensity`` (1 fits
        them unweighted: right when the logging policy depends only on the covariates, as a
        ladder does, and far less noisy when exploration propensities are small).
    n_folds, min_rows, learning_rate, max_iter, max_leaf_nodes, min_samples_leaf,
    l2_regularization, random_state : as in ``TLearner`` (the DR stage uses the same boosting).

    Attributes
    ----------
    responses_ : dict outcome → fitted ``TLearner``.
    uplift_models_ : dict action → fitted DR pipeline (``None`` for the baseline or where
        the action was never taken).
    costs_ : (n_actions,) costs in action order.
    oof_values_ : (n, n_actions) out-of-fold T-learner values of the training rows.
    pseudo_outcomes_ : (n, n_actions) the DR pseudo-outcomes of the training rows.
    """

    def __init__(
        self,
        actions: Sequence[str] = ("wait", "act"),
        baseline: str = "wait",
        outcomes: Mapping[str, str] | None = None,
        coefficients: Mapping[str, float] | None = None,
        costs: Mapping[str, float] | None = None,
        learner: str = "dr",
        *,
        n_folds: int = 3,
        weight_clip: float = 100.0,
        response_weight_clip: float = 100.0,
        min_rows: int = 50,
        learning_rate: float = 0.1,
        max_iter: int = 100,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        random_state: int = 0,
    ):
        self.actions = actions
        self.baseline = baseline
        self.outcomes = outcomes
        self.coefficients = coefficients
        self.costs = costs
        self.learner = learner
        self.n_folds = n_folds
        self.weight_clip = weight_clip
        self.response_weight_clip = response_weight_clip
        self.min_rows = min_rows
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    # -- parameters resolved ---------------------------------------------------------------
    def _outcomes(self) -> dict[str, str]:
        return dict(self.outcomes or {"outcome": "binary"})

    def _coefficients(self) -> dict[str, float]:
        return {k: float(v) for k, v in (self.coefficients or {"outcome": 1.0}).items()}

    def _costs(self) -> np.ndarray:
        costs = dict(self.costs or {})
        return np.array([float(costs.get(a, 0.0)) for a in self.actions])

    def _boosting(self) -> dict:
        return {
            "learning_rate": self.learning_rate,
            "max_iter": self.max_iter,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
            "random_state": self.random_state,
        }

    @property
    def baseline_index(self) -> int:
        return list(self.actions).index(self.baseline)

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        action: np.ndarray,
        outcomes: Mapping[str, np.ndarray],
        propensity: np.ndarray,
        groups: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
    ) -> UpliftRecommender:
        """Fit on logged decisions: ``outcomes`` maps each outcome name to its (n,) values;
        ``allowed`` (n, n_actions) restricts each action's DR stage to the rows that allowed it."""
        if self.learner not in LEARNERS:
            raise ValueError(f"unknown learner {self.learner!r}; known: {', '.join(LEARNERS)}")
        if self.baseline not in self.actions:
            raise ValueError(f"the baseline {self.baseline!r} is not one of the actions")
        kinds = self._outcomes()
        coefficients = self._coefficients()
        unknown = [k for k in coefficients if k not in kinds]
        if unknown:
            raise ValueError(f"coefficient(s) for unknown outcome(s): {', '.join(unknown)}")
        X = np.asarray(X, dtype=float)
        action = np.asarray(action, dtype=np.int64)
        n = len(X)
        groups = np.arange(n) if groups is None else np.asarray(groups)
        folds = fold_of_groups(groups, self.n_folds, self.random_state)
        self.costs_ = self._costs()
        self.responses_: dict[str, TLearner] = {}
        for name, kind in kinds.items():
            self.responses_[name] = TLearner(
                self.actions,
                kind,
                n_folds=self.n_folds,
                weight_clip=self.response_weight_clip,
                min_rows=self.min_rows,
                **self._boosting(),
            ).fit(X, action, outcomes[name], propensity, folds=folds)
        oof = {k: t.oof_ for k, t in self.responses_.items()}
        self.oof_values_ = action_values(oof, coefficients, self.costs_)
        value = realised_values(outcomes, coefficients, self.costs_, action)
        self.pseudo_outcomes_ = dr_pseudo_outcomes(
            self.oof_values_, action, value, propensity, self.baseline_index, self.weight_clip
        )
        self.uplift_models_: dict[str, Pipeline | None] = {}
        for j, name in enumerate(self.actions):
            rows = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed)[:, j]
            if j == self.baseline_index or not (action == j).any() or rows.sum() < self.min_rows:
                self.uplift_models_[name] = None
                continue
            self.uplift_models_[name] = response_pipeline("continuous", **self._boosting()).fit(
                without_empty_columns(X[rows]), self.pseudo_outcomes_[rows, j]
            )
        return self

    # -- predicting ------------------------------------------------------------------------
    def responses(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Outcome name → (n, n_actions) predicted response of every action (T-learner)."""
        check_is_fitted(self, "responses_")
        return {k: t.predict(X) for k, t in self.responses_.items()}

    def t_values(self, X: np.ndarray) -> np.ndarray:
        """(n, n_actions) values from the T-learners."""
        return action_values(self.responses(X), self._coefficients(), self.costs_)

    def dr_uplift(self, X: np.ndarray, t_values: np.ndarray | None = None) -> np.ndarray:
        """(n, n_actions) doubly robust uplift over the baseline (T-learner uplift where an
        action has no DR model)."""
        check_is_fitted(self, "uplift_models_")
        X = np.asarray(X, dtype=float)
        t_values = self.t_values(X) if t_values is None else t_values
        out = t_values - t_values[:, [self.baseline_index]]
        for j, name in enumerate(self.actions):
            model = self.uplift_models_.get(name)
            if model is not None:
                out[:, j] = model.predict(X)
        return out

    def values(self, X: np.ndarray, learner: str | None = None) -> np.ndarray:
        """(n, n_actions) estimated value of each action by ``learner`` (default: the
        estimator's)."""
        learner = learner or self.learner
        t_values = self.t_values(X)
        if learner == "t":
            return t_values
        if learner == "dr":
            return t_values[:, [self.baseline_index]] + self.dr_uplift(X, t_values)
        raise ValueError(f"unknown learner {learner!r}; known: {', '.join(LEARNERS)}")

    def uplift(self, X: np.ndarray, learner: str | None = None) -> np.ndarray:
        """(n, n_actions) estimated uplift V(a) − V(baseline)."""
        values = self.values(X, learner)
        return values - values[:, [self.baseline_index]]

    def recommend(
        self, X: np.ndarray, allowed: np.ndarray | None = None, learner: str | None = None
    ) -> np.ndarray:
        """Index of the best allowed action per row by estimated value."""
        return chosen(self.values(X, learner), allowed)
