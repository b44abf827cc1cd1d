"""Off-policy value, Qini and overlap for the recommender (DESIGN §8).

Kept apart from ``models/evaluate.py`` (the scorer's backtests) so that each module has one
owner. Pure: arrays in, numbers and small dicts out.

Policy value from logged decisions (``action`` taken with probability ``propensity``, realised
``reward``), for a target policy given as (n, n_actions) probabilities ``target`` (one-hot for
a deterministic policy):

* IPS:  mean_i  π(A_i|x_i) / p_i · Y_i
* SNIPS: Σ_i w_i Y_i / Σ_i w_i with w_i = π(A_i|x_i) / p_i
* DR:   mean_i [ Σ_a π(a|x_i) μ(x_i, a) + π(A_i|x_i) / p_i · (Y_i − μ(x_i, A_i)) ]

Intervals are percentile bootstraps over *groups* (a case's weeks are resampled together).
Overlap: the share of units whose propensity lies in ``[low, high]`` (default [0.05, 0.95]); a
causal value is refused (``None`` with a reason) when that share is below a floor.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ESTIMATORS = ("ips", "snips", "dr")


# -- policies as probabilities ---------------------------------------------------------------


def one_hot(choice: np.ndarray, n_actions: int) -> np.ndarray:
    """(n, n_actions) probabilities of a deterministic policy choosing ``choice``."""
    choice = np.asarray(choice, dtype=np.int64)
    out = np.zeros((len(choice), n_actions))
    out[np.arange(len(choice)), choice] = 1.0
    return out


def uniform_over(allowed: np.ndarray) -> np.ndarray:
    """(n, n_actions) probabilities of choosing uniformly among the allowed actions."""
    allowed = np.asarray(allowed, dtype=float)
    return allowed / allowed.sum(axis=1, keepdims=True)


def fixed_or(allowed: np.ndarray, action: int, fallback: int) -> np.ndarray:
    """Choice of the fixed policy "``action`` where allowed, else ``fallback``"."""
    allowed = np.asarray(allowed, dtype=bool)
    return np.where(allowed[:, action], action, fallback)


# -- per-unit contributions ------------------------------------------------------------------


def importance_weights(
    target: np.ndarray, action: np.ndarray, propensity: np.ndarray
) -> np.ndarray:
    """π(A_i|x_i) / p_i for each logged unit."""
    action = np.asarray(action, dtype=np.int64)
    p = np.asarray(propensity, dtype=float)
    if np.any(~(p > 0)) or np.any(p > 1):
        raise ValueError("every propensity must lie in (0, 1]")
    return np.asarray(target, dtype=float)[np.arange(len(action)), action] / p


def dr_terms(
    target: np.ndarray,
    action: np.ndarray,
    reward: np.ndarray,
    propensity: np.ndarray,
    mu: np.ndarray,
) -> np.ndarray:
    """Per-unit doubly robust terms: Σ_a π(a|x)μ(x,a) + π(A|x)/p · (Y − μ(x,A))."""
    action = np.asarray(action, dtype=np.int64)
    mu = np.asarray(mu, dtype=float)
    w = importance_weights(target, action, propensity)
    direct = (np.asarray(target, dtype=float) * mu).sum(axis=1)
    return direct + w * (np.asarray(reward, dtype=float) - mu[np.arange(len(action)), action])


def estimate(
    name: str,
    target: np.ndarray,
    action: np.ndarray,
    reward: np.ndarray,
    propensity: np.ndarray,
    mu: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> float:
    """One policy value by ``name`` (``ips``, ``snips`` or ``dr``); ``sample_weight`` (the
    bootstrap's counts) weighs the units."""
    reward = np.asarray(reward, dtype=float)
    sw = np.ones(len(reward)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if name == "dr":
        if mu is None:
            raise ValueError("the doubly robust estimate needs outcome predictions mu")
        terms = dr_terms(target, action, reward, propensity, mu)
        return float((sw * terms).sum() / sw.sum())
    w = importance_weights(target, action, propensity)
    if name == "ips":
        return float((sw * w * reward).sum() / sw.sum())
    if name == "snips":
        den = (sw * w).sum()
        return float((sw * w * reward).sum() / den) if den > 0 else float("nan")
    raise ValueError(f"unknown estimator {name!r}; known: {', '.join(ESTIMATORS)}")


# -- bootstrap -------------------------------------------------------------------------------


def group_index(groups: np.ndarray) -> tuple[int, np.ndarray]:
    """(number of groups, the group number of each row)."""
    unique, inverse = np.unique(np.asarray(groups), return_inverse=True)
    return unique.size, inverse


def group_counts(
    groups: np.ndarray, rng: np.random.Generator, index: tuple[int, np.ndarray] | None = None
) -> np.ndarray:
    """Per-row weights of one bootstrap draw of the groups (a group drawn k times weighs k)."""
    size, inverse = index or group_index(groups)
    drawn = np.bincount(rng.integers(0, size, size), minlength=size)
    return drawn[inverse].astype(float)


def bootstrap(
    statistic: Callable[[np.ndarray | None], float],
    groups: np.ndarray,
    n_boot: int,
    seed: int,
    level: float = 0.95,
) -> dict:
    """Point value and percentile interval of ``statistic(sample_weight)`` over ``n_boot``
    group bootstraps (``statistic(None)`` is the point value)."""
    rng = np.random.default_rng(seed)
    index = group_index(groups)
    draws = np.array([statistic(group_counts(groups, rng, index)) for _ in range(n_boot)])
    alpha = (1 - level) / 2
    low, high = np.nanquantile(draws, [alpha, 1 - alpha])
    return {
        "value": statistic(None),
        "low": float(low),
        "high": float(high),
        "se": float(np.nanstd(draws, ddof=1)),
        "n_boot": n_boot,
        "level": level,
    }


def policy_value(
    target: np.ndarray,
    action: np.ndarray,
    reward: np.ndarray,
    propensity: np.ndarray,
    mu: np.ndarray,
    groups: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    level: float = 0.95,
) -> dict:
    """IPS, SNIPS and DR values of one target policy with bootstrap intervals (shared draws)."""
    out = {}
    for name in ESTIMATORS:
        out[name] = bootstrap(
            lambda sw, name=name: estimate(name, target, action, reward, propensity, mu, sw),
            groups,
            n_boot,
            seed,
            level,
        )
    return out


def value_difference(
    target_a: np.ndarray,
    target_b: np.ndarray,
    action: np.ndarray,
    reward: np.ndarray,
    propensity: np.ndarray,
    mu: np.ndarray,
    groups: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    level: float = 0.95,
) -> dict:
    """Doubly robust V(a) − V(b) with its group-bootstrap interval."""
    diff = dr_terms(target_a, action, reward, propensity, mu) - dr_terms(
        target_b, action, reward, propensity, mu
    )

    def statistic(sw):
        sw = np.ones(len(diff)) if sw is None else sw
        return float((sw * diff).sum() / sw.sum())

    return bootstrap(statistic, groups, n_boot, seed, level)


# -- Qini and uplift curves ------------------------------------------------------------------


def qini_curve(
    score: np.ndarray,
    y: np.ndarray,
    treated: np.ndarray,
    weight: np.ndarray | None = None,
    points: int = 50,
) -> dict:
    """Qini and uplift curves of a binary comparison (treated against control) ranked by
    ``score`` (higher first). ``weight`` (e.g. ``1 / propensity``) re-weights each arm.

    At the top fraction φ of the ranking: Qini(φ) = Y_t(φ) − Y_c(φ)·N_t(φ)/N_c(φ), in outcome
    units over the whole population (divided by N); the uplift curve is the difference of the
    arms' mean outcomes in the top φ times φ. The random ranking's Qini is φ·Qini(1)."""
    score = np.asarray(score, dtype=float)
    y = np.asarray(y, dtype=float)
    t = np.asarray(treated, dtype=bool)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    order = np.argsort(-score, kind="stable")
    y, t, w = y[order], t[order], w[order]
    wt, wc = w * t, w * ~t
    n_t, n_c = np.cumsum(wt), np.cumsum(wc)
    y_t, y_c = np.cumsum(wt * y), np.cumsum(wc * y)
    total = w.sum()
    idx = np.unique(np.linspace(0, len(y) - 1, points + 1).round().astype(int))
    with np.errstate(divide="ignore", invalid="ignore"):
        qini = np.where(n_c[idx] > 0, y_t[idx] - y_c[idx] * n_t[idx] / n_c[idx], 0.0) / total
        rate = np.where(
            (n_t[idx] > 0) & (n_c[idx] > 0), y_t[idx] / n_t[idx] - y_c[idx] / n_c[idx], 0.0
        )
    fraction = (np.cumsum(w)[idx]) / total
    return {
        "fraction": np.concatenate([[0.0], fraction]),
        "qini": np.concatenate([[0.0], qini]),
        "uplift": np.concatenate([[0.0], rate * fraction]),
        "random": np.concatenate([[0.0], fraction * qini[-1]]),
    }


def qini_coefficient(
    score: np.ndarray,
    y: np.ndarray,
    treated: np.ndarray,
    weight: np.ndarray | None = None,
    points: int = 50,
) -> float:
    """Area between the Qini curve and the random ranking's line (trapezoids over the
    fraction treated), in outcome units per unit; > 0 when the score ranks the responsive
    first."""
    curve = qini_curve(score, y, treated, weight, points)
    gap = curve["qini"] - curve["random"]
    x = curve["fraction"]
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(x)))


def qini_interval(
    score: np.ndarray,
    y: np.ndarray,
    treated: np.ndarray,
    groups: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    n_boot: int,
    seed: int,
    level: float = 0.95,
    points: int = 50,
) -> dict:
    """The Qini coefficient with a group-bootstrap percentile interval (resampled units)."""
    score = np.asarray(score, dtype=float)
    y = np.asarray(y, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    base = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)

    def statistic(sw):
        if sw is None:
            return qini_coefficient(score, y, treated, base, points)
        keep = sw > 0
        return qini_coefficient(score[keep], y[keep], treated[keep], (base * sw)[keep], points)

    return bootstrap(statistic, groups, n_boot, seed, level)


# -- overlap ---------------------------------------------------------------------------------


def overlap(
    propensity: np.ndarray, low: float = 0.05, high: float = 0.95, floor: float = 0.9
) -> dict:
    """Overlap diagnostics of (n,) or (n, n_actions) propensities: per column, the share of
    units with propensity in [low, high] (NaN marks a unit for which the action is not in
    question, e.g. not allowed, and is left out), its minimum and maximum; ``ok`` when every
    column's share reaches ``floor``."""
    p = np.asarray(propensity, dtype=float)
    p = p[:, None] if p.ndim == 1 else p
    known = ~np.isnan(p)
    inside = ((p >= low) & (p <= high)).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
    return {
        "low": low,
        "high": high,
        "floor": floor,
        "share_inside": [float(s) for s in inside],
        "units": [int(k) for k in known.sum(axis=0)],
        "min": [float(v) for v in np.nanmin(np.where(known, p, np.inf), axis=0)],
        "max": [float(v) for v in np.nanmax(np.where(known, p, -np.inf), axis=0)],
        "ok": bool((inside >= floor).all()),
    }


def causal_value_or_refusal(diagnostics: dict, value: dict) -> dict:
    """``value`` when the overlap holds, else a refusal naming the failing share."""
    if diagnostics["ok"]:
        return {"refused": False, **value}
    worst = min(diagnostics["share_inside"])
    return {
        "refused": True,
        "reason": (
            f"overlap fails: only {worst:.1%} of units have a propensity in "
            f"[{diagnostics['low']}, {diagnostics['high']}] (floor {diagnostics['floor']:.0%}); "
            "the assignment is (nearly) deterministic given the covariates, so no causal "
            "value is stated"
        ),
    }
