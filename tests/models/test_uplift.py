"""The uplift learners on seeded synthetic logs with a known uplift."""

from __future__ import annotations

import numpy as np
import pytest

from models.uplift import (
    TLearner,
    UpliftRecommender,
    action_values,
    chosen,
    clipped_weights,
    dr_pseudo_outcomes,
    fold_of_groups,
)

ACTIONS = ("wait", "nudge", "call")
COSTS = {"wait": 0.0, "nudge": 0.12, "call": 0.4}


def logged(n: int, seed: int, randomised: float = 1.0):
    """A log where a nudge helps when x0 > 0 (+0.3 in P(pay)), a call always adds +0.2 but
    costs 0.4; the logging policy takes wait 80 % of the time when x1 > 0 (a confounder that
    also lowers payment) and explores uniformly with probability ``randomised``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    base = 0.3 - 0.1 * (X[:, 1] > 0)
    effect = np.column_stack([np.zeros(n), 0.3 * (X[:, 0] > 0), np.full(n, 0.2)])
    p_pay = np.clip(base[:, None] + effect, 0, 1)
    ladder = np.where(X[:, 1] > 0, 0, 1)
    explore = rng.random(n) < randomised
    drawn = rng.integers(0, 3, n)
    action = np.where(explore, drawn, ladder)
    propensity = randomised / 3 + (1 - randomised) * (action == ladder)
    paid = (rng.random(n) < p_pay[np.arange(n), action]).astype(float)
    return X, action, paid, propensity, p_pay


def test_fold_of_groups_keeps_a_group_in_one_fold():
    groups = np.repeat(np.arange(50), 4)
    folds = fold_of_groups(groups, 3, seed=1)
    assert all(np.unique(folds[groups == g]).size == 1 for g in range(50))
    assert set(np.unique(folds)) == {0, 1, 2}


def test_clipped_weights_refuse_a_zero_propensity():
    assert clipped_weights(np.array([0.5, 0.001]), 100).tolist() == [2.0, 100.0]
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        clipped_weights(np.array([0.0, 0.5]), 100)


def test_t_learner_recovers_a_known_uplift():
    X, action, paid, propensity, _p_pay = logged(10000, seed=0)
    model = TLearner(ACTIONS, "binary", min_samples_leaf=200, max_iter=30).fit(
        X, action, paid, propensity
    )
    pred = model.predict(X)
    uplift = pred[:, 1] - pred[:, 0]
    pos = X[:, 0] > 0
    assert uplift[pos].mean() == pytest.approx(0.3, abs=0.05)
    assert uplift[~pos].mean() == pytest.approx(0.0, abs=0.05)
    assert model.oof_.shape == (10000, 3)


def test_dr_pseudo_outcomes_are_unbiased_with_a_wrong_model():
    # with a useless outcome model (all zeros) the pseudo-outcome still averages the true uplift
    _X, action, paid, propensity, p_pay = logged(60000, seed=1)
    mu = np.zeros((len(paid), 3))
    phi = dr_pseudo_outcomes(mu, action, paid, propensity, baseline=0, weight_clip=100)
    true = (p_pay[:, 1] - p_pay[:, 0]).mean()
    assert phi[:, 1].mean() == pytest.approx(true, abs=0.02)
    assert np.all(phi[:, 0] == 0)


@pytest.mark.parametrize("learner", ["t", "dr"])
def test_recommender_personalises_under_confounded_logging(learner):
    X, action, paid, propensity, _ = logged(8000, seed=2, randomised=0.3)
    model = UpliftRecommender(
        ACTIONS,
        "wait",
        {"paid": "binary"},
        {"paid": 1.0},
        COSTS,
        learner,
        min_samples_leaf=100,
        max_iter=30,
    ).fit(X, action, {"paid": paid}, propensity, np.arange(len(paid)))
    X_new, *_ = logged(2000, seed=3)
    choice = model.recommend(X_new)
    pos = X_new[:, 0] > 0
    # nudge where it works (value 0.3 − 0.12), wait elsewhere; a call never pays its cost
    assert (choice[pos] == 1).mean() > 0.8
    assert (choice[~pos] == 0).mean() > 0.8
    assert (choice == 2).mean() < 0.05
    uplift = model.uplift(X_new)
    assert np.all(uplift[:, 0] == 0)


def test_a_forbidden_action_is_never_recommended():
    X, action, paid, propensity, _ = logged(3000, seed=4)
    model = UpliftRecommender(
        ACTIONS, "wait", {"paid": "binary"}, {"paid": 1.0}, COSTS, "dr", max_iter=30
    ).fit(X, action, {"paid": paid}, propensity)
    allowed = np.ones((3000, 3), dtype=bool)
    allowed[:, 1] = False  # the nudge is forbidden everywhere
    allowed[::2, 2] = False
    choice = model.recommend(X, allowed)
    assert allowed[np.arange(3000), choice].all()
    assert not (choice == 1).any()


def test_chosen_breaks_ties_towards_wait_and_needs_an_allowed_action():
    values = np.array([[1.0, 1.0, 0.5], [0.0, 2.0, 3.0]])
    assert chosen(values).tolist() == [0, 2]
    assert chosen(values, np.array([[1, 1, 1], [1, 1, 0]], bool)).tolist() == [0, 1]
    with pytest.raises(ValueError, match="no allowed action"):
        chosen(values, np.zeros((2, 3), bool))


def test_action_values_combine_outcomes_and_costs():
    responses = {"amount": np.array([[100.0, 200.0]]), "complaint": np.array([[0.0, 0.1]])}
    v = action_values(responses, {"amount": 0.15, "complaint": -5000}, np.array([0.0, 8.0]))
    assert v.tolist() == [[15.0, 30.0 - 500.0 - 8.0]]
