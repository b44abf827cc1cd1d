"""The recommender on a home: windows, propensities, training, evaluation, recommendations."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from pipelines import recommend as R
from pipelines.settings import load_settings

# a small home has 12 months of history: hold out 8 weeks, train on every week, small boosting
SMALL = {
    "RELANCE_RECOMMENDER__HOLDOUT_WEEKS": "8",
    "RELANCE_RECOMMENDER__TRAIN_WEEK_STEP": "1",
    "RELANCE_RECOMMENDER__N_FOLDS": "2",
    "RELANCE_RECOMMENDER__BOOTSTRAP": "30",
    "RELANCE_RECOMMENDER__PARAMS__MAX_ITER": "20",
    "RELANCE_RECOMMENDER__PARAMS__MIN_SAMPLES_LEAF": "50",
}


def test_windows_hold_out_the_last_weeks_and_leave_a_horizon_gap():
    cfg = R.RecommenderConfig.of(load_settings(environ={}))
    mondays = [date(2025, 1, 6) + timedelta(weeks=k) for k in range(80)]
    w = R.windows(mondays, cfg)
    assert w.holdout == mondays[-cfg.holdout_weeks :]
    assert max(w.train) + timedelta(days=cfg.horizon_days) <= w.holdout[0]
    assert w.train == sorted(w.train)
    with pytest.raises(R.RecommenderError, match="holdout_weeks"):
        R.windows(mondays[: cfg.holdout_weeks], cfg)


@pytest.mark.parametrize(
    ("action", "nudge"),
    [
        ("call_formal", "call_nudge"),
        ("email_formal", "email_nudge"),
        ("letter_formal", None),
        ("formal_notice", None),
        ("sms_nudge", None),
        ("wait", None),
    ],
)
def test_a_formal_action_has_its_channels_nudge_as_counterpart(action, nudge):
    assert R.nudge_counterpart(action) == nudge


def test_conditional_propensity_recovers_one_over_the_explorable_count():
    share = 0.07
    # |E| = 5: explored action differs from the ladder's (0.014) or equals it (0.944)
    logged = np.array([share / 5, 1 - share + share / 5, 1.0])
    assert R.conditional_propensity(logged, share) == pytest.approx([0.2, 0.2, 1.0])


def test_policy_probabilities_explore_never_formal_notices_and_hold_out_controls():
    allowed = np.ones((3, len(R.ACTIONS)), dtype=bool)
    allowed[1, 1:] = False  # only wait
    recommended = np.array([R.ACTIONS.index("call_nudge"), R.WAIT, R.NOTICE])
    holdout = np.array([False, False, True])
    probs = R.policy_probabilities(recommended, allowed, 0.1, False, holdout)
    assert probs.sum(axis=1) == pytest.approx([1, 1, 1])
    assert probs[0, R.ACTIONS.index("call_nudge")] == pytest.approx(0.9 + 0.1 / 7)
    assert probs[0, R.NOTICE] == 0
    assert probs[1, R.WAIT] == 1 and probs[2, R.WAIT] == 1
    drawn = R.drawn_actions(probs, np.array([0.999, 0.5, 0.0]))
    assert allowed[np.arange(3), drawn].all()
    # the plan turns a call into an SMS (capacity): the SMS's final probability adds both
    mapping = np.tile(np.arange(len(R.ACTIONS)), (3, 1))
    mapping[0, R.ACTIONS.index("call_nudge")] = R.ACTIONS.index("sms_nudge")
    final = R.final_propensity(
        probs, np.array([R.ACTIONS.index("sms_nudge"), R.WAIT, R.WAIT]), mapping
    )
    assert final[0] == pytest.approx(0.9 + 0.2 / 7)
    assert final[1] == 1 and final[2] == 1


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_home_master):
    """One recommender trained on a private copy of the small home (module-wide)."""
    import shutil

    copy = tmp_path_factory.mktemp("rec") / "home"
    shutil.copytree(small_home_master, copy, ignore=shutil.ignore_patterns("*.lock", ".tmp"))
    settings = load_settings(environ=SMALL).with_home(copy)
    from pipelines.home import Home

    home = Home(copy)
    summary = R.trained_recommender(home, settings)
    return home, settings, summary


@pytest.mark.slow
def test_training_stores_a_run_with_its_report(trained):
    home, settings, summary = trained
    reg = R.registry(home)
    info = reg.info(R.KIND, summary["run_id"])
    metrics = info.metrics
    assert metrics["primary_metric"] == "dr_value_heldout_randomised"
    assert isinstance(summary["fallback"], bool)
    assert {"learned", "learned_t", "random", "ladder"} <= set(metrics["values"])
    assert all(f"fixed:{a}" in metrics["values"] for a in R.ACTIONS)
    dr = metrics["values"]["learned"]["dr"]
    assert dr["low"] <= dr["value"] <= dr["high"]
    report = (info.path / "report.md").read_text(encoding="utf-8")
    assert ("Fallback fired" in report) == summary["fallback"]
    # a formal best single action is kept only when it beats its channel's nudge
    estimated, tone = metrics["best_fixed_by_estimate"], metrics["formal_vs_nudge"]
    if tone is None:
        assert metrics["best_fixed_action"] == estimated
        assert R.nudge_counterpart(estimated) is None
    else:
        kept = tone["low"] > 0
        expected = estimated if kept else R.nudge_counterpart(estimated)
        assert metrics["best_fixed_action"] == expected
        assert "Formal only where it earns its cost" in report
    # the stored model loads with the explicit trusted list and predicts like the fitted one
    model = R.loaded_recommender(reg, summary["run_id"])
    assert model.learner == settings.get("recommender.learner")


@pytest.mark.slow
def test_evaluate_and_promote(trained):
    home, settings, summary = trained
    again = R.evaluated_recommender(home, settings, summary["run_id"])
    assert again["dr_value_learned"]["value"] == pytest.approx(summary["dr_value_learned"]["value"])
    result = R.promoted_recommender(home, settings, summary["run_id"])
    assert result["previous_run_id"] is None
    assert R.registry(home).champion(R.KIND).run_id == summary["run_id"]
    with pytest.raises(R.RecommenderError, match="already the champion"):
        R.promoted_recommender(home, settings, summary["run_id"])


@pytest.mark.slow
def test_the_plan_ranks_on_a_champion_only_when_it_personalises(trained, tmp_path):
    """A champion whose run fell back to one action has declared its per-case values unproven:
    the plan then ranks by the documented fallback rule and says why; a personalising champion's
    values are the plan's."""
    import shutil

    from pipelines.home import Home
    from pipelines.plan import planned

    home, settings, summary = trained
    copy = tmp_path / "home"
    shutil.copytree(home.root, copy, ignore=shutil.ignore_patterns("*.lock", ".tmp"))
    local, settings = Home(copy), settings.with_home(copy)
    reg = R.registry(local)
    if reg.champion(R.KIND) is None:
        R.promoted_recommender(local, settings, summary["run_id"])
    champion = reg.champion(R.KIND).run_id
    fell_back = reg.meta(R.KIND, champion)["policy"]["mode"] == "fallback"
    result = planned(local, settings)
    if fell_back:
        assert result.policy_source == "fallback"
        assert f"recommender champion {champion} fell back" in result.note
    else:
        assert result.policy_source == "recommender"


@pytest.fixture(scope="module")
def week_recommendations(trained):
    home, settings, _ = trained
    from pipelines import rules

    run = R.champion_run(home) if R.registry(home).champion(R.KIND) else None
    if run is None:
        reg = R.registry(home)
        latest = reg.runs(R.KIND)[0]
        run = {
            "run_id": latest.run_id,
            "model": R.loaded_recommender(reg, latest.run_id),
            "policy": {"mode": "learned"},
        }
    parts = []
    with R.warehouse(home, settings) as con:
        # the plan week, and mid-history Mondays where contact caps bind
        days = [rules.week_start_after(rules.data_date(con)), *R.decision_mondays(con)[-12::3]]
        for as_of in days:
            recs = R.recommendations(con, as_of, settings, run)
            elig = rules.eligibility(con, as_of, settings).drop("case_ref", "creditor_ref")
            parts.append(recs.join(elig, on="case_id", how="left", suffix="_elig"))
    return pl.concat(parts, how="diagonal_relaxed")


RULES = {
    "excluded (dispute, plan, promise, insolvency, …)": (pl.col("is_excluded"), R.ACTIONS[1:]),
    "no valid phone or call opt-out": (~pl.col("can_call"), ("call_nudge", "call_formal")),
    "no valid mobile or SMS opt-out": (~pl.col("can_sms"), ("sms_nudge",)),
    "no valid e-mail or e-mail opt-out": (~pl.col("can_email"), ("email_nudge", "email_formal")),
    "contact cap reached": (pl.col("outbound_remaining") <= 0, R.ACTIONS[1:]),
    "no call attempt left": (pl.col("call_attempts_remaining") <= 0, ("call_nudge", "call_formal")),
    "formal notice not allowed (no nudge yet, …)": (
        ~pl.col("allow_formal_notice"),
        ("formal_notice",),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("rule", list(RULES))
def test_a_forbidden_action_is_never_recommended(week_recommendations, rule):
    condition, forbidden = RULES[rule]
    rows = week_recommendations.filter(condition.fill_null(False))
    if rows.is_empty():
        pytest.skip(f"no case of the small home falls under {rule!r} this week")
    for column in ("recommended_action", "action"):
        assert not rows[column].is_in(list(forbidden)).any(), f"{rule}: {column} forbidden"


@pytest.mark.slow
def test_every_decision_has_a_propensity_and_a_reason(week_recommendations):
    recs = week_recommendations
    assert recs.height > 0
    p = recs["propensity"]
    assert ((p > 0) & (p <= 1)).all()
    assert (
        recs.select(
            pl.struct("action", "allowed_actions").map_elements(
                lambda r: r["action"] in r["allowed_actions"], return_dtype=pl.Boolean
            )
        )
        .to_series()
        .all()
    )
    assert recs["reason_code"].is_in(list(R.REASONS)).all()
    assert recs["reason_en"].str.len_chars().min() > 0
    explored = recs.filter(pl.col("is_exploration"))
    assert not (explored["action"] == "formal_notice").any()
    holdout = recs.filter(pl.col("is_control_holdout"))
    assert (holdout["action"] == "wait").all() and (holdout["propensity"] == 1).all()


@pytest.mark.slow
@pytest.mark.parametrize("action", R.ACTIONS[1:])
def test_an_action_the_mart_forbids_is_never_recommended(week_recommendations, action):
    forbidden = week_recommendations.filter(~pl.col(f"allow_{action}").fill_null(False))
    assert forbidden.height > 0
    assert not (forbidden["recommended_action"] == action).any()
    assert not (forbidden["action"] == action).any()
