"""Train, promote and score on the small simulated home (state store, registry, CLI)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from pipelines import train as T
from pipelines.home import Home
from pipelines.score import score_bands, scored


@pytest.mark.parametrize(
    ("p", "band"), [(0.95, "A"), (0.6, "A"), (0.59, "B"), (0.3, "C"), (0.15, "D"), (0.01, "E")]
)
def test_score_bands(p, band):
    assert score_bands(np.array([p]), (0.6, 0.4, 0.2, 0.1))[0] == band


def test_bands_must_be_four_decreasing_bounds():
    with pytest.raises(T.ScorerError, match="decreasing"):
        score_bands(np.array([0.5]), (0.1, 0.4, 0.2, 0.05))


def test_scoring_without_a_champion_says_what_to_run(settings):
    with pytest.raises(T.ScorerError, match="relance train scorer"):
        scored(Home(settings.home), settings)


@pytest.mark.slow
def test_train_promote_score_and_refuse_a_worse_challenger(small_settings, monkeypatch):
    home = Home(small_settings.home)
    first = T.trained_scorer(home, small_settings)
    assert (first.path / "model_card.md").exists()
    assert {"roc_auc", "ece", "brier_skill", "lift", "deciles", "reliability"} <= set(first.metrics)
    assert first.metrics["oracle_auc"] is None  # the shared small home has no truth
    assert T.promoted(home, small_settings, first.run_id)["previous_run_id"] is None

    result = scored(home, small_settings)
    again = scored(home, small_settings)
    con = duckdb.connect(str(home.state_path), read_only=True)
    try:
        rows = con.execute(
            "select count(*), count(distinct case_id), min(p_pay), max(p_pay), "
            "bool_and(reasons_fr like '%probabilité%'), bool_and(run_id = ?) from scores",
            [first.run_id],
        ).fetchall()[0]
        runs = con.execute("select run_id, primary_metric from model_runs").fetchall()
    finally:
        con.close()
    assert rows[0] == rows[1] == result.cases == again.cases > 0  # re-scoring replaces
    assert 0 <= rows[2] <= rows[3] <= 1 and rows[4] and rows[5]
    assert runs == [(first.run_id, "roc_auc")]

    second = T.trained_scorer(home, small_settings)
    monkeypatch.setattr(
        T,
        "compared",
        lambda *a: {
            "metric": "roc_auc",
            "window_from": "x",
            "window_to": "y",
            "rows": 1,
            "champion": 0.70,
            "challenger": 0.60,
        },
    )
    with pytest.raises(T.ScorerError, match="worse than champion"):
        T.promoted(home, small_settings, second.run_id)
    with pytest.raises(T.ScorerError, match="--reason"):
        T.promoted(home, small_settings, second.run_id, force=True)
    done = T.promoted(home, small_settings, second.run_id, force=True, reason="audit asked")
    assert done["previous_run_id"] == first.run_id and done["forced"]
    con = duckdb.connect(str(home.state_path), read_only=True)
    try:
        promotions = con.execute(
            "select run_id, forced, reason from promotions order by promoted_at"
        ).fetchall()
    finally:
        con.close()
    assert promotions == [(first.run_id, False, None), (second.run_id, True, "audit asked")]
