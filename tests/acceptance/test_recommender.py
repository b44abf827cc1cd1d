"""Issue 7 acceptance: the recommender judged in true value, honest off-policy intervals, and
the real randomised trials (Hillstrom, Karlan–List) and the threshold-set bank strategy log.

Every figure is recorded in docs/acceptance.json (``record``)."""

from __future__ import annotations

import os
from datetime import date

import numpy as np
import polars as pl
import pytest

from models import policy_eval as pe
from pipelines import recommend as R
from pipelines.simulate.truth import BATCHES, best_policy_value, fixed_policy, policy_value

EVAL_SEEDS = 20


def monday_of(iso_week: str) -> date:
    return date.fromisocalendar(int(iso_week[:4]), int(iso_week[6:]), 1)


@pytest.fixture(scope="module")
def trained(world):
    settings, home, _, _ = world
    summary = R.trained_recommender(home, settings)
    reg = R.registry(home)
    model = R.loaded_recommender(reg, summary["run_id"])
    policy = reg.meta(R.KIND, summary["run_id"])["policy"]
    return summary, model, policy


@pytest.fixture(scope="module")
def truth_table(world):
    return pl.read_parquet(world[3] / "eval_outcomes.parquet").filter(~pl.col("is_export_week"))


@pytest.fixture(scope="module")
def predictions(world, trained, truth_table):
    """Per truth case-week of the history evaluation weeks: the recommender's choice (what
    production applies), its T-learner values and the rules' allowed actions."""
    settings, home, _, _ = world
    _, model, policy = trained
    cfg = R.RecommenderConfig.of(settings)
    parts = []
    with R.warehouse(home, settings) as con:
        for week in sorted(truth_table["iso_week"].unique()):
            frame = R.week_frame(con, monday_of(week), settings)
            X = R.F.feature_matrix(frame, R.RECOMMENDER_FEATURES)
            allowed = frame.select(R.ALLOW_COLUMNS).to_numpy().astype(bool)
            choice = R.applied_choice(model, policy, X, allowed, cfg)
            mu = model.t_values(X)
            parts.append(
                frame.select("creditor_ref", "case_ref", *R.ALLOW_COLUMNS).with_columns(
                    pl.lit(week).alias("iso_week"),
                    pl.Series("action", [R.ACTIONS[i] for i in choice]),
                    *[pl.Series(f"mu_{a}", mu[:, j]) for j, a in enumerate(R.ACTIONS)],
                )
            )
    return pl.concat(parts)


def learned_policy(truth_table: pl.DataFrame, predictions: pl.DataFrame) -> pl.DataFrame:
    """The recommender's action for every truth case-week (wait for a case it cannot score:
    the truth samples open cases, the recommender scorable ones)."""
    keys = ["iso_week", "creditor_ref", "case_ref"]
    cases = truth_table.select(keys).unique()
    return cases.join(predictions.select(*keys, "action"), on=keys, how="left").with_columns(
        pl.col("action").fill_null("wait")
    )


def test_learned_policy_in_true_value(world, truth_table, predictions, trained, record):
    truth_dir = world[3]
    summary, _, _ = trained
    policy = learned_policy(truth_table, predictions)
    gaps, ratios, ladders, short = [], [], [], []
    for week in sorted(truth_table["iso_week"].unique()):
        rows = truth_table.filter(pl.col("iso_week") == week)
        learned = policy_value(truth_dir, policy.filter(pl.col("iso_week") == week))[0]
        fixed = {a: policy_value(truth_dir, fixed_policy(rows, a))[0] for a in R.ACTIONS}
        best_fixed = max(fixed.values())
        best = best_policy_value(truth_dir, week)[0]
        ladder = policy_value(
            truth_dir,
            rows.filter("is_ladder").select("iso_week", "creditor_ref", "case_ref", "action"),
        )[0]
        try:
            record(
                f"recommender_{week}_learned_minus_best_fixed_cents",
                learned - best_fixed,
                0,
                None,
                "issue 7: learned ≥ best allowed fixed action each week (true value)",
            )
        except AssertionError as exc:
            short.append(str(exc))
        gaps.append((learned - best_fixed) / (best - best_fixed))
        ratios.append(learned / best)
        ladders.append(learned / ladder)
    record("recommender_learned_over_best_possible", float(np.mean(ratios)), None, None, "reported")
    record("recommender_learned_over_ladder", float(np.mean(ladders)), None, None, "reported")
    record("recommender_fallback_fired", float(summary["fallback"]), None, None, "reported")
    record(
        "recommender_gap_closed_mean",
        float(np.mean(gaps)),
        0.25,
        None,
        "issue 7: closes ≥ 25 % of best fixed → best possible (true value, 3 weeks)",
        open_issue="issue 7",
    )
    if short:  # issue 7 is open with this shortfall; the figures above are recorded
        pytest.xfail("issue 7 open: " + "; ".join(short))


def test_truth_allowed_agrees_with_the_rules(truth_table, predictions, record):
    keys = ["iso_week", "creditor_ref", "case_ref"]
    rules = predictions.drop("action").unpivot(
        index=keys, on=list(R.ALLOW_COLUMNS), variable_name="action", value_name="rules_allowed"
    )
    rules = rules.with_columns(pl.col("action").str.strip_prefix("allow_"))
    joined = truth_table.select(*keys, "action", "is_allowed").join(rules, on=[*keys, "action"])
    disagree = float((joined["is_allowed"] != (joined["rules_allowed"] > 0)).mean())
    record(
        "recommender_truth_rules_allowed_disagreement",
        disagree,
        None,
        None,
        "reported: truth is_allowed (policy.py) vs rules.eligibility, per case-week-action",
    )


def test_off_policy_intervals_are_honest(world, truth_table, predictions, trained, record):
    """20 seeds: redraw the evaluation weeks' logged actions from the logging policy (ladder +
    exploration), take outcomes from a random truth batch, estimate a fixed list of policies by
    DR with bootstrap intervals; count coverage of the true value and interval widths."""
    settings = world[0]
    share = float(settings.require("policy.exploration_share"))
    keys = ["iso_week", "creditor_ref", "case_ref"]
    wide = truth_table.sort(keys).pivot(
        on="action",
        index=keys,
        values=[
            "value_cents",
            "is_allowed",
            "is_ladder",
            *[f"v_b{b:02d}" for b in range(1, BATCHES + 1)],
        ],
    )
    frame = wide.join(predictions, on=keys, how="inner")
    n, m = frame.height, len(R.ACTIONS)
    value = frame.select([f"value_cents_{a}" for a in R.ACTIONS]).to_numpy()
    allowed = frame.select([f"is_allowed_{a}" for a in R.ACTIONS]).to_numpy().astype(bool)
    ladder = frame.select([f"is_ladder_{a}" for a in R.ACTIONS]).to_numpy().argmax(axis=1)
    batches = np.stack(
        [
            frame.select([f"v_b{b:02d}_{a}" for a in R.ACTIONS]).to_numpy()
            for b in range(1, BATCHES + 1)
        ]
    )
    mu = frame.select([f"mu_{a}" for a in R.ACTIONS]).to_numpy()
    space = allowed.copy()
    space[:, R.NOTICE] = False
    logging = share * space / np.maximum(space.sum(axis=1, keepdims=True), 1)
    logging[np.arange(n), ladder] += 1 - share
    logging /= logging.sum(axis=1, keepdims=True)
    learned = frame["action"].replace_strict(list(R.ACTIONS), list(range(m))).to_numpy()
    policies = {
        "learned": pe.one_hot(learned, m),
        "ladder": pe.one_hot(ladder, m),
        "random": pe.uniform_over(allowed),
    }
    for j, a in enumerate(R.ACTIONS):
        policies[f"fixed:{a}"] = pe.one_hot(np.where(allowed[:, j], j, R.WAIT), m)
    true = {k: float((p * value).sum(axis=1).mean()) for k, p in policies.items()}
    spread = max(true.values()) - min(true.values())
    groups = frame["case_ref"].to_numpy()

    def intervals(outcome_model: np.ndarray) -> tuple[list[bool], list[float]]:
        covered, widths = [], []
        for seed in range(EVAL_SEEDS):
            rng = np.random.default_rng(1000 + seed)
            action = R.drawn_actions(logging, rng.random(n))
            batch = rng.integers(0, BATCHES, n)
            reward = batches[batch, np.arange(n), action]
            p = logging[np.arange(n), action]
            for name, target in policies.items():
                terms = pe.dr_terms(target, action, reward, p, outcome_model)
                est = pe.bootstrap(
                    lambda sw, t=terms: float(np.average(t, weights=sw)), groups, 200, seed
                )
                covered.append(est["low"] <= true[name] <= est["high"])
                widths.append(est["high"] - est["low"])
        return covered, widths

    covered, widths = intervals(mu)
    # the same intervals with the truth's own expected values as the outcome model: no
    # learner can do better, so this is the floor of the width on this world's logging policy
    _, oracle_widths = intervals(value)
    record(
        "recommender_ope_oracle_median_width_over_spread",
        float(np.median(oracle_widths) / spread),
        None,
        None,
        "reported: the same DR intervals with the truth's expected values as outcome model "
        f"(the floor for any learner); spread {spread:.0f} cents, {n:,} case-weeks, "
        f"exploration share {share}",
    )
    record(
        "recommender_ope_dr_coverage",
        float(np.mean(covered)),
        0.85,
        None,
        "issue 7: DR 95 % interval covers the true value (20 seeds × 11 policies)",
    )
    record(
        "recommender_ope_median_width_over_spread",
        float(np.median(widths) / spread),
        None,
        0.20,
        "issue 7: median DR interval width ≤ 20 % of the best–worst policy spread",
        open_issue="issue 7",
    )


def test_feature_ceiling_reported(world, truth_table, record):
    """How much of the gap any policy on the recommender's features could close: gradient
    boosting fitted on the truth's *expected* values (no outcome noise, no confounding; an
    oracle no learner has), cross-fitted in two folds by case, its argmax among the allowed
    actions valued in truth. Reported beside the learned policy's gap closed (no band)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    settings, home, _, truth_dir = world
    keys = ["iso_week", "creditor_ref", "case_ref"]
    parts = []
    with R.warehouse(home, settings) as con:
        for week in sorted(truth_table["iso_week"].unique()):
            frame = R.week_frame(con, monday_of(week), settings)
            parts.append(
                frame.select("creditor_ref", "case_ref", *R.RECOMMENDER_FEATURES).with_columns(
                    pl.lit(week).alias("iso_week")
                )
            )
    wide = truth_table.pivot(on="action", index=keys, values=["value_cents", "is_allowed"])
    frame = wide.join(pl.concat(parts), on=keys, how="inner").sort(keys)
    X = R.F.feature_matrix(frame, R.RECOMMENDER_FEATURES)
    value = frame.select([f"value_cents_{a}" for a in R.ACTIONS]).to_numpy()
    allowed = frame.select([f"is_allowed_{a}" for a in R.ACTIONS]).to_numpy().astype(bool)
    cases = np.unique(frame["case_ref"].to_numpy(), return_inverse=True)[1]
    fold = np.random.default_rng(0).integers(0, 2, cases.max() + 1)[cases]
    predicted = np.zeros_like(value)
    for j in range(len(R.ACTIONS)):
        for k in (0, 1):
            model = HistGradientBoostingRegressor(
                learning_rate=0.05, max_iter=200, min_samples_leaf=100, random_state=0
            ).fit(X[fold != k], value[fold != k, j])
            predicted[fold == k, j] = model.predict(X[fold == k])
    choice = np.where(allowed, predicted, -np.inf).argmax(axis=1)
    policy = frame.select(keys).with_columns(pl.Series("action", [R.ACTIONS[i] for i in choice]))
    gaps = []
    for week in sorted(frame["iso_week"].unique()):
        rows = truth_table.filter(pl.col("iso_week") == week)
        ours = policy_value(truth_dir, policy.filter(pl.col("iso_week") == week))[0]
        best_fixed = max(policy_value(truth_dir, fixed_policy(rows, a))[0] for a in R.ACTIONS)
        best = best_policy_value(truth_dir, week)[0]
        gaps.append((ours - best_fixed) / (best - best_fixed))
    record(
        "recommender_feature_ceiling_gap_closed_mean",
        float(np.mean(gaps)),
        None,
        None,
        f"reported: boosting fitted on the truth's expected values ({frame.height:,} case-weeks, "
        "2 folds by case), argmax over allowed actions; the ceiling of a feature-based policy",
    )


# -- real trials through the experiments kind -------------------------------------------------


@pytest.fixture(scope="module")
def experiments_home(world, tmp_path_factory):
    """A home holding Hillstrom, Karlan–List and the bank strategy log, loaded by mapping."""
    from pipelines.build import built
    from pipelines.convert.experiments import converted
    from pipelines.home import Home

    settings = world[0]
    external = settings.external_data
    if not (external / "hillstrom_email").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{external}: external datasets missing")
        pytest.skip(f"{external}: external datasets missing")
    root = tmp_path_factory.mktemp("experiments") / "home"
    home = Home(root).ensure()
    for folder, source in (
        ("hillstrom_email", "hillstrom"),
        ("karlan_list_2007_charitable_mail", "karlan_list"),
        ("bank_debt_recovery_strategy", "bank"),
    ):
        converted(external, folder, home.raw / source)
    local = settings.with_home(root)
    built(home, local)
    return home, local


def _trial(experiments_home, ref, control, reference, record, name, **kw):
    from pipelines.uplift_experiments import experiment_evaluation

    home, settings = experiments_home
    with R.warehouse(home, settings) as con:
        result = experiment_evaluation(con, ref, control, settings, reference_arm=reference, **kw)
    record(f"{name}_fallback_fired", float(result["fallback"]), None, None, "reported")
    diff = result["applied_minus_reference"]
    naive = result["naive_minus_reference"]
    record(f"{name}_applied_minus_{reference}_points", 100 * diff["value"], None, None, "reported")
    record(
        f"{name}_applied_minus_{reference}_low_points",
        100 * diff["low"],
        -0.3,
        None,
        "issue 7: 95 % lower bound ≥ −0.3 points",
    )
    record(
        f"{name}_naive_t_minus_{reference}_points",
        100 * naive["value"],
        None,
        None,
        "reported: naive T-learner argmax beside ours",
    )
    return result


def test_hillstrom(experiments_home, record):
    result = _trial(
        experiments_home, "hillstrom_visit", "no_email", "mens_email", record, "hillstrom"
    )
    q = result["qini"]["womens_email"]
    record(
        "hillstrom_womens_qini_low",
        q["low"],
        0.0,
        None,
        "issue 7: women's e-mail Qini 95 % interval above 0",
    )
    record("hillstrom_womens_qini", q["value"], None, None, "reported")


def test_karlan_list(experiments_home, record):
    result = _trial(
        experiments_home, "karlan_list_2007", "standard", "match", record, "karlan_list"
    )
    q = result["qini"]["match"]
    record("karlan_list_match_qini", q["value"], None, None, "reported")
    record("karlan_list_match_qini_low", q["low"], None, None, "reported")


def test_bank_strategy_refuses_a_causal_value(experiments_home, record):
    from pipelines.uplift_experiments import experiment_evaluation

    home, settings = experiments_home
    with R.warehouse(home, settings) as con:
        result = experiment_evaluation(
            con,
            "bank_debt_recovery",
            "level_0",
            settings,
            outcome_kind="continuous",
            estimate_propensity=True,
        )
    share = min(result["overlap"]["share_inside"])
    record("bank_overlap_min_share_inside", share, None, None, "reported: worst arm")
    record(
        "bank_causal_value_refused",
        float(result.get("refused", {}).get("refused", False)),
        1,
        1,
        "issue 7: strategy set by thresholds → overlap fails → no causal value",
    )
    assert "values" not in result
