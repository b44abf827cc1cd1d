"""Out-of-time evaluation of a probability forecast and its expected amounts (DESIGN §8).

Pure functions over arrays: ``y`` the realised outcome (0/1), ``p`` the forecast probability,
``groups`` the case of each row (bootstrap by case, since a case appears in several monthly
snapshots). Equal-frequency bins sort by ``p`` and cut the rows into ``bins`` groups of sizes
differing by at most one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def brier_skill(y: np.ndarray, p: np.ndarray) -> float:
    """1 − Brier(p) ÷ Brier(base rate): > 0 when the forecast beats the constant base rate."""
    y = np.asarray(y, dtype=float)
    base = y.mean()
    reference = float(np.mean((base - y) ** 2))
    if reference == 0:
        return float("nan")
    return 1.0 - float(brier_score_loss(y, p)) / reference


def equal_frequency_bins(p: np.ndarray, bins: int) -> list[np.ndarray]:
    """Row indices per bin, rows sorted by ``p`` (stable), bin sizes differing by ≤ 1."""
    order = np.argsort(np.asarray(p), kind="stable")
    return [part for part in np.array_split(order, bins) if part.size]


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean forecast and observed rate per equal-frequency bin (the reliability curve)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    return [
        {
            "bin": i + 1,
            "mean_predicted": float(p[idx].mean()),
            "mean_observed": float(y[idx].mean()),
            "n": int(idx.size),
        }
        for i, idx in enumerate(equal_frequency_bins(p, bins))
    ]


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Σ over equal-frequency bins of (bin share) × |mean forecast − observed rate|."""
    rows = reliability(y, p, bins)
    n = sum(r["n"] for r in rows)
    return float(sum(r["n"] / n * abs(r["mean_predicted"] - r["mean_observed"]) for r in rows))


def lift_table(
    y: np.ndarray, p: np.ndarray, shares: Sequence[float] = (0.1, 0.2, 0.3)
) -> list[dict]:
    """For the top ``share`` of rows by ``p``: lift (their rate ÷ the base rate) and capture
    (their positives ÷ all positives)."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
    base = y.mean()
    total = y.sum()
    out = []
    for share in shares:
        top = order[: max(1, round(share * y.size))]
        rate = y[top].mean()
        out.append(
            {
                "share": float(share),
                "lift": float(rate / base) if base > 0 else float("nan"),
                "capture": float(y[top].sum() / total) if total > 0 else float("nan"),
            }
        )
    return out


def amount_deciles(expected: np.ndarray, realised: np.ndarray) -> list[dict]:
    """Σ expected and Σ realised cents per decile of the expected amount (decile 1 = highest)."""
    expected = np.asarray(expected, dtype=float)
    realised = np.asarray(realised, dtype=float)
    parts = equal_frequency_bins(-expected, 10)
    return [
        {
            "decile": i + 1,
            "expected_cents": round(float(expected[idx].sum())),
            "realised_cents": round(float(realised[idx].sum())),
        }
        for i, idx in enumerate(parts)
    ]


def case_weights(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row weights of one case bootstrap: each case drawn with replacement as many times as
    there are cases, its rows weighted by how often it was drawn."""
    _, inverse = np.unique(groups, return_inverse=True)
    n_cases = inverse.max() + 1
    drawn = np.bincount(rng.integers(0, n_cases, n_cases), minlength=n_cases)
    return drawn[inverse].astype(float)


def bootstrap_auc_gain(
    y: np.ndarray,
    p_model: np.ndarray,
    p_baseline: np.ndarray,
    groups: np.ndarray,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of AUC(model) − AUC(baseline), bootstrapping cases."""
    y = np.asarray(y).astype(int)
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(n_boot):
        w = case_weights(np.asarray(groups), rng)
        keep = w > 0
        yk = y[keep]
        if yk.min() == yk.max():
            continue
        gains.append(
            roc_auc_score(yk, p_model[keep], sample_weight=w[keep])
            - roc_auc_score(yk, p_baseline[keep], sample_weight=w[keep])
        )
    alpha = (1 - level) / 2
    lo, hi = np.quantile(gains, [alpha, 1 - alpha])
    return float(lo), float(hi)


def classification_metrics(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """ROC AUC, PR AUC, Brier, Brier skill, ECE, base rate, reliability and lift."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "brier_skill": brier_skill(y, p),
        "ece": expected_calibration_error(y, p, bins),
        "base_rate": float(y.mean()),
        "mean_predicted": float(p.mean()),
        "n_test_rows": int(y.size),
        "reliability": reliability(y, p, bins),
        "lift": lift_table(y, p),
    }


def scorer_metrics(
    y: np.ndarray,
    p: np.ndarray,
    p_baseline: np.ndarray,
    expected_cents: np.ndarray,
    realised_cents: np.ndarray,
    groups: np.ndarray,
    *,
    bins: int = 10,
    n_boot: int = 200,
    seed: int = 0,
) -> dict:
    """Every figure of a scorer run's ``metrics.json`` (oracle fields are added by the caller)."""
    out = classification_metrics(y, p, bins)
    out["n_test_cases"] = int(np.unique(groups).size)
    out["baseline_roc_auc"] = float(roc_auc_score(np.asarray(y).astype(int), p_baseline))
    out["baseline_brier"] = float(brier_score_loss(np.asarray(y).astype(int), p_baseline))
    lo, hi = bootstrap_auc_gain(y, p, p_baseline, groups, n_boot, seed)
    out["auc_gain_ci95"] = [lo, hi]
    out["deciles"] = amount_deciles(expected_cents, realised_cents)
    out["expected_total_cents"] = int(np.asarray(expected_cents).sum())
    out["realised_total_cents"] = int(np.asarray(realised_cents).sum())
    return out


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict:
    """MAE and R² of a continuous prediction (recovery rates)."""
    y = np.asarray(y, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    residual = float(np.sum((y - predicted) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(y - predicted))),
        "r2": 1.0 - residual / total if total > 0 else float("nan"),
    }
