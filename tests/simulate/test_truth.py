"""The Monte Carlo truth on a tiny world: schema, evaluation weeks, policy values."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from pipelines.home import Home
from pipelines.kinds import ACTIONS
from pipelines.settings import load_settings
from pipelines.simulate import SimulationError, best_policy_value, policy_value, simulated
from pipelines.simulate.run import calendar
from pipelines.simulate.truth import BATCHES, eval_mondays, truth_computed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    root = tmp_path_factory.mktemp("truth") / "home"
    settings = load_settings(environ={}).with_home(root)
    home = Home(root)
    simulated(home, settings, 150, 9, seed=3)
    summary = truth_computed(home, settings, replications=1, processes=1)
    return home, settings, summary


def test_eval_weeks_inside_history_and_export_week():
    settings = load_settings(environ={})
    cal = calendar(settings, 36)
    mondays = eval_mondays(cal, 90)
    assert len(mondays) == 4
    assert cal.iso_week(mondays[-1]) == "2026-W47"
    for m in mondays[:3]:
        assert cal.weekday[m] == 0
        assert m + 13 * 7 <= cal.history_days


def test_schema(truth):
    home, _, summary = truth
    table = pl.read_parquet(home.truth / "eval_outcomes.parquet")
    expected = {
        "iso_week",
        "is_export_week",
        "creditor_ref",
        "case_ref",
        "action",
        "is_allowed",
        "is_ladder",
        "p_pay",
        "p_pay_se",
        "p_pay_14d",
        "e_amount_cents",
        "e_amount_cents_se",
        "p_complaint",
        "p_complaint_se",
        "value_cents",
        "value_se",
        *(f"v_b{b:02d}" for b in range(1, BATCHES + 1)),
    }
    assert expected <= set(table.columns)
    assert table["iso_week"].n_unique() == 4
    per_case = table.group_by("iso_week", "creditor_ref", "case_ref").agg(
        pl.col("action").n_unique().alias("n"),
        pl.col("is_ladder").sum().alias("ladder"),
        pl.col("is_allowed").filter(pl.col("action") == "wait").first().alias("wait_ok"),
    )
    assert (per_case["n"] == len(ACTIONS)).all()
    assert (per_case["ladder"] == 1).all()
    assert per_case["wait_ok"].all()
    assert table["p_pay"].is_between(0, 1).all()
    assert len(summary["eval_weeks"]) == 4


def test_fixed_action_value_is_mean_of_its_truth(truth):
    home, _, _ = truth
    table = pl.read_parquet(home.truth / "eval_outcomes.parquet")
    wait = table.filter(pl.col("action") == "wait")
    value, se = policy_value(
        home.truth, wait.select("creditor_ref", "case_ref", "iso_week", "action")
    )
    assert math.isclose(value, wait["value_cents"].mean(), rel_tol=1e-9)
    assert se >= 0
    best, best_se = best_policy_value(home.truth)
    assert np.isfinite(best) and best_se >= 0


def test_policy_naming_nothing_is_refused(truth):
    home, _, _ = truth
    nothing = pl.DataFrame({"case_ref": ["nope"], "iso_week": ["2026-W01"], "action": ["wait"]})
    with pytest.raises(SimulationError):
        policy_value(home.truth, nothing)
