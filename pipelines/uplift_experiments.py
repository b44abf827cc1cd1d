"""Randomised tests from any source (the ``experiments`` import kind) through the recommender's
learners and evaluation (DESIGN §4, §8; README "The recommender").

``core.experiments`` holds one row per experiment × unit: the arm, its assignment probability,
the outcome, an optional amount and the source's other columns as JSON features. For one
experiment, ``experiment_evaluation``:

1. encodes the features (numbers as numbers, anything else as sorted category codes);
2. splits the units by a seeded shuffle (``share`` to training);
3. fits ``UpliftRecommender`` (arms as actions, the control arm as baseline, value = outcome);
4. on the held-out units: IPS, SNIPS and doubly robust values with bootstrap intervals of the
   learned policy, a naive T-learner argmax, every fixed arm and the uniform random policy;
   Qini coefficient of each arm's uplift against the control with its interval; the fallback
   test (learned − best fixed arm, bootstrap at ``recommender.fallback_level``) and the policy
   finally applied;
5. overlap: with ``estimate_propensity`` (a non-randomised log) the arm probabilities are
   re-estimated from the covariates (cross-fitted gradient boosting) and, when the share of
   units with a propensity in [low, high] is below the floor for some arm, every causal value
   is **refused** (the report says why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from models import policy_eval as pe
from models.uplift import UpliftRecommender, chosen
from pipelines.recommend import RecommenderConfig, RecommenderError
from pipelines.settings import Settings


@dataclass(frozen=True)
class ExperimentData:
    """One experiment's units, encoded."""

    experiment_ref: str
    arms: tuple[str, ...]
    X: np.ndarray
    features: tuple[str, ...]
    arm: np.ndarray
    propensity: np.ndarray
    outcome: np.ndarray
    units: np.ndarray


def experiment_refs(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select distinct experiment_ref from core.experiments order by 1"
        ).fetchall()
    ]


def experiment_rows(con, experiment_ref: str) -> pl.DataFrame:
    """The experiment's units with their JSON features expanded to text columns."""
    frame = con.sql(
        "select unit_ref, arm, propensity, outcome, amount_cents, features "
        "from core.experiments where experiment_ref = ? order by unit_ref",
        params=[experiment_ref],
    ).pl()
    if frame.is_empty():
        raise RecommenderError(
            f"no experiment {experiment_ref!r} in the current build; load it through a source "
            'folder with kind = "experiments" and run `relance build`'
        )
    decoded = pl.DataFrame(
        [{} if f is None else json.loads(f) for f in frame["features"].to_list()]
    )
    if decoded.width:
        decoded = decoded.with_columns(pl.all().cast(pl.String))
        frame = pl.concat([frame.drop("features"), decoded], how="horizontal")
    return frame.drop("features", strict=False)


def encoded(frame: pl.DataFrame, columns: list[str]) -> tuple[np.ndarray, dict]:
    """Feature matrix of ``columns``: a column whose every non-empty value is a number stays
    numeric, any other becomes the code of its value among the sorted distinct values."""
    parts, vocab = [], {}
    for name in columns:
        text = frame[name].replace("", None)
        numbers = text.cast(pl.Float64, strict=False)
        if numbers.null_count() == text.null_count():
            parts.append(numbers.to_numpy())
        else:
            values = sorted(v for v in text.unique().to_list() if v is not None)
            vocab[name] = values
            parts.append(
                text.replace_strict(
                    values, list(range(len(values))), default=None, return_dtype=pl.Float64
                ).to_numpy()
            )
    return np.column_stack(parts) if parts else np.zeros((frame.height, 0)), vocab


def experiment_data(con, experiment_ref: str, control_arm: str) -> ExperimentData:
    frame = experiment_rows(con, experiment_ref)
    features = [
        c
        for c in frame.columns
        if c not in ("unit_ref", "arm", "propensity", "outcome", "amount_cents")
    ]
    X, _ = encoded(frame, features)
    arms_found = sorted(frame["arm"].unique().to_list())
    if control_arm not in arms_found:
        raise RecommenderError(
            f"experiment {experiment_ref}: no arm {control_arm!r} (arms: {', '.join(arms_found)})"
        )
    arms = (control_arm, *[a for a in arms_found if a != control_arm])
    arm = (
        frame["arm"].replace_strict(list(arms), list(range(len(arms)))).to_numpy().astype(np.int64)
    )
    return ExperimentData(
        experiment_ref,
        arms,
        X,
        tuple(features),
        arm,
        frame["propensity"].to_numpy().astype(float),
        frame["outcome"].to_numpy().astype(float),
        frame["unit_ref"].to_numpy(),
    )


def shuffled_split(n: int, share: float, seed: int) -> np.ndarray:
    """Boolean training mask: the first ``share`` of a seeded permutation."""
    order = np.random.default_rng(seed).permutation(n)
    mask = np.zeros(n, dtype=bool)
    mask[order[: round(n * share)]] = True
    return mask


def estimated_propensities(X: np.ndarray, arm: np.ndarray, n_arms: int, seed: int) -> np.ndarray:
    """(n, n_arms) arm probabilities from the covariates, cross-fitted (5 folds)."""
    model = Pipeline(
        [
            (
                "model",
                HistGradientBoostingClassifier(
                    max_iter=100, early_stopping=False, random_state=seed
                ),
            )
        ]
    )
    probs = cross_val_predict(model, X, arm, cv=5, method="predict_proba")
    out = np.zeros((len(arm), n_arms))
    out[:, np.unique(arm)] = probs
    return out


def experiment_evaluation(
    con, experiment_ref: str, control_arm: str, settings: Settings, **kw
) -> dict:
    """Fit the recommender on a random half of an experiment and evaluate it on the other
    (module docstring; keyword options as in ``evaluated_experiment``), with the boosting's
    threads limited to ``recommender.threads``."""
    with threadpool_limits(int(settings.require("recommender.threads"))):
        return evaluated_experiment(con, experiment_ref, control_arm, settings, **kw)


def evaluated_experiment(
    con,
    experiment_ref: str,
    control_arm: str,
    settings: Settings,
    *,
    outcome_kind: str = "binary",
    share: float = 0.5,
    split_seed: int = 0,
    estimate_propensity: bool = False,
    reference_arm: str | None = None,
) -> dict:
    """Fit the recommender on a random half of an experiment and evaluate it on the other
    (module docstring). ``reference_arm``: report the applied policy minus always that arm."""
    cfg = RecommenderConfig.of(settings)
    data = experiment_data(con, experiment_ref, control_arm)
    n_arms = len(data.arms)
    train = shuffled_split(len(data.arm), share, split_seed)
    test = ~train
    boot = {"n_boot": cfg.bootstrap, "seed": cfg.seed, "level": cfg.level}
    if estimate_propensity:
        probs = estimated_propensities(data.X, data.arm, n_arms, cfg.seed)
        propensity = np.clip(probs[np.arange(len(data.arm)), data.arm], 1e-6, 1.0)
    else:
        probs = None
        propensity = data.propensity
    diagnostics = pe.overlap(
        probs if probs is not None else propensity,
        cfg.overlap_low,
        cfg.overlap_high,
        cfg.overlap_floor,
    )
    model = UpliftRecommender(
        actions=data.arms,
        baseline=control_arm,
        outcomes={"outcome": outcome_kind},
        coefficients={"outcome": 1.0},
        learner=cfg.learner,
        n_folds=cfg.n_folds,
        weight_clip=cfg.weight_clip,
        response_weight_clip=cfg.response_weight_clip,
        min_rows=cfg.min_rows,
        random_state=cfg.seed,
        **cfg.boosting,
    ).fit(
        data.X[train],
        data.arm[train],
        {"outcome": data.outcome[train]},
        propensity[train],
        data.units[train],
    )
    Xt, at, yt, pt, gt = (
        data.X[test],
        data.arm[test],
        data.outcome[test],
        propensity[test],
        data.units[test],
    )
    mu = model.t_values(Xt)
    values = model.values(Xt)
    policies = {
        "learned": pe.one_hot(chosen(values), n_arms),
        "naive_t_argmax": pe.one_hot(chosen(mu), n_arms),
        "random": np.full((len(at), n_arms), 1 / n_arms),
    }
    for j, name in enumerate(data.arms):
        policies[f"fixed:{name}"] = pe.one_hot(np.full(len(at), j), n_arms)
    result: dict = {
        "experiment_ref": experiment_ref,
        "arms": list(data.arms),
        "control_arm": control_arm,
        "units": len(data.arm),
        "train_units": int(train.sum()),
        "test_units": int(test.sum()),
        "features": list(data.features),
        "propensity_source": "estimated from covariates" if estimate_propensity else "logged",
        "overlap": diagnostics,
    }
    if not diagnostics["ok"]:
        result["refused"] = pe.causal_value_or_refusal(diagnostics, {})
        result["naive_t_argmax_share"] = {
            a: float((chosen(mu) == j).mean()) for j, a in enumerate(data.arms)
        }
        return result
    result["values"] = {
        name: pe.policy_value(target, at, yt, pt, mu, gt, **boot)
        for name, target in policies.items()
    }
    fixed = {k: v["dr"]["value"] for k, v in result["values"].items() if k.startswith("fixed:")}
    best_fixed = max(fixed, key=fixed.get)
    difference = pe.value_difference(
        policies["learned"],
        policies[best_fixed],
        at,
        yt,
        pt,
        mu,
        gt,
        n_boot=cfg.bootstrap,
        seed=cfg.seed,
        level=cfg.fallback_level,
    )
    fallback = not difference["low"] > 0
    applied = policies[best_fixed] if fallback else policies["learned"]
    result.update(
        {
            "best_fixed_arm": best_fixed.removeprefix("fixed:"),
            "difference_vs_best_fixed": difference,
            "fallback": fallback,
            "applied": best_fixed.removeprefix("fixed:") if fallback else "learned",
            "learned_arm_share": {
                a: float((chosen(values) == j).mean()) for j, a in enumerate(data.arms)
            },
        }
    )
    reference = reference_arm or result["best_fixed_arm"]
    ref_policy = policies[f"fixed:{reference}"]
    result["applied_minus_reference"] = {
        "reference": reference,
        **pe.value_difference(applied, ref_policy, at, yt, pt, mu, gt, **boot),
    }
    result["naive_minus_reference"] = {
        "reference": reference,
        **pe.value_difference(policies["naive_t_argmax"], ref_policy, at, yt, pt, mu, gt, **boot),
    }
    uplift = model.uplift(Xt)
    result["qini"] = {}
    for j, name in enumerate(data.arms):
        if name == control_arm:
            continue
        rows = np.isin(at, [j, 0])
        result["qini"][name] = pe.qini_interval(
            uplift[rows, j], yt[rows], at[rows] == j, gt[rows], weight=1 / pt[rows], **boot
        )
    return result
