"""Off-policy estimators, Qini and overlap on literal and seeded data with known values."""

from __future__ import annotations

import numpy as np
import pytest

from models import policy_eval as pe


def randomised_log(n: int, seed: int):
    """Two actions, uniform logging; action 1 adds +1 to the reward where x > 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    action = rng.integers(0, 2, n)
    mean = np.column_stack([np.full(n, 1.0), 1.0 + (x > 0)])
    reward = mean[np.arange(n), action] + rng.normal(0, 1, n)
    return x, action, reward, np.full(n, 0.5), mean


def test_estimators_on_a_literal_log():
    target = pe.one_hot(np.array([1, 1, 0, 0]), 2)
    action = np.array([1, 0, 0, 1])
    reward = np.array([4.0, 2.0, 1.0, 3.0])
    p = np.array([0.5, 0.5, 0.25, 0.5])
    # weights π(A)/p: [2, 0, 4, 0]
    assert pe.estimate("ips", target, action, reward, p) == pytest.approx((8 + 4) / 4)
    assert pe.estimate("snips", target, action, reward, p) == pytest.approx(12 / 6)
    mu = np.full((4, 2), 1.0)
    # direct 1 each + corrections 2·3 and 4·0
    assert pe.estimate("dr", target, action, reward, p, mu) == pytest.approx((4 + 6) / 4)
    with pytest.raises(ValueError, match="mu"):
        pe.estimate("dr", target, action, reward, p)


def test_dr_interval_covers_the_true_value():
    x, action, reward, p, mean = randomised_log(4000, seed=0)
    policy = pe.one_hot((x > 0).astype(int), 2)
    true = (mean * policy).sum(axis=1).mean()
    mu = np.zeros_like(mean)  # a poor model: DR stays unbiased
    out = pe.policy_value(policy, action, reward, p, mu, np.arange(4000), n_boot=200, seed=0)
    for name in ("ips", "snips", "dr"):
        assert out[name]["low"] <= true <= out[name]["high"]
    assert out["dr"]["high"] - out["dr"]["low"] < 0.4


def test_value_difference_detects_a_better_policy():
    x, action, reward, p, mean = randomised_log(4000, seed=1)
    good = pe.one_hot((x > 0).astype(int), 2)
    always0 = pe.one_hot(np.zeros(4000, int), 2)
    diff = pe.value_difference(
        good, always0, action, reward, p, mean, np.arange(4000), n_boot=200, seed=0
    )
    assert diff["low"] > 0.3 and diff["value"] == pytest.approx(0.5, abs=0.1)


def test_qini_ranks_the_responsive_first():
    rng = np.random.default_rng(2)
    n = 6000
    x = rng.normal(size=n)
    treated = rng.random(n) < 0.5
    y = (rng.random(n) < 0.1 + 0.3 * treated * (x > 0)).astype(float)
    good = pe.qini_coefficient(x, y, treated)
    bad = pe.qini_coefficient(-x, y, treated)
    assert good > 0.02 and bad < 0
    curve = pe.qini_curve(x, y, treated)
    assert curve["qini"][0] == 0 and curve["fraction"][-1] == pytest.approx(1.0)
    interval = pe.qini_interval(x, y, treated, np.arange(n), n_boot=100, seed=0)
    assert interval["low"] > 0


def test_random_scores_have_a_qini_near_zero():
    rng = np.random.default_rng(3)
    n = 6000
    treated = rng.random(n) < 0.5
    y = (rng.random(n) < 0.2 + 0.1 * treated).astype(float)
    interval = pe.qini_interval(rng.random(n), y, treated, np.arange(n), n_boot=100, seed=0)
    assert interval["low"] < 0 < interval["high"]


def test_overlap_and_refusal():
    good = pe.overlap(np.full((100, 3), 1 / 3))
    assert good["ok"] and good["share_inside"] == [1.0, 1.0, 1.0]
    deterministic = np.zeros((100, 2))
    deterministic[:60, 0] = 0.99
    deterministic[60:, 1] = 0.99
    bad = pe.overlap(deterministic)
    assert not bad["ok"]
    # a NaN marks an action not in question for that unit: left out of its share
    partial = np.full((4, 2), 0.5)
    partial[:2, 1] = np.nan
    assert pe.overlap(partial)["share_inside"] == [1.0, 1.0]
    assert pe.overlap(partial)["units"] == [4, 2]
    refused = pe.causal_value_or_refusal(bad, {"value": 1.0})
    assert refused["refused"] and "overlap fails" in refused["reason"] and "value" not in refused
    assert pe.causal_value_or_refusal(good, {"value": 1.0}) == {"refused": False, "value": 1.0}


def test_policies_as_probabilities():
    allowed = np.array([[1, 0, 1], [1, 1, 1]], bool)
    assert pe.uniform_over(allowed).tolist() == [[0.5, 0, 0.5], [1 / 3, 1 / 3, 1 / 3]]
    assert pe.fixed_or(allowed, 1, 0).tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        pe.importance_weights(np.ones((1, 2)), np.array([0]), np.array([0.0]))
