"""Models: champion and challengers, calibration and lift, drift (PSI per feature against the
run's reference distributions), reason-code frequencies, realised against predicted by month.

``models.registry`` and ``pipelines.features`` are imported lazily: until they are installed
(and until a run exists) the page says what to run.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from app import charts, queries, ui
from app import format as fmt

KIND = "scorer"
NO_RUNS = "No scorer run yet: run `relance train scorer` (then `relance score`)."
METRICS = ("roc_auc", "pr_auc", "brier", "brier_skill", "ece", "base_rate", "oracle_auc")


def runs(home_root: Any) -> list[Any] | None:
    """The registry's scorer runs, or ``None`` while ``models.registry`` is not installed."""
    try:
        from models.registry import Registry
    except ImportError:
        return None
    return list(Registry(home_root / "artifacts" / "models").runs(KIND))


def runs_table(found: list[Any]) -> pl.DataFrame:
    """One row per run: id, created, champion flag and the headline metrics."""
    return pl.DataFrame(
        [
            {
                "run_id": r.run_id,
                "created_at": str(r.created_at),
                "champion": bool(r.is_champion),
                **{m: r.metrics.get(m) for m in METRICS},
            }
            for r in found
        ],
        schema={
            "run_id": pl.String,
            "created_at": pl.String,
            "champion": pl.Boolean,
            **{m: pl.Float64 for m in METRICS},
        },
    )


def render() -> None:
    st.title("Models")
    path = ui.current_build()
    if path is None:
        return
    home = ui.home()
    found = runs(home.root)
    if not found:
        ui.empty(NO_RUNS)
        return
    st.subheader("Champion and challengers")
    st.dataframe(runs_table(found), hide_index=True)
    ids = [r.run_id for r in found]
    champion = next((r.run_id for r in found if r.is_champion), ids[-1])
    chosen_id = st.selectbox("Run", ids, index=ids.index(champion), key="md_run")
    run = next(r for r in found if r.run_id == chosen_id)
    metrics = run.metrics
    left, right = st.columns(2)
    with left:
        st.markdown("**Calibration** (equal-frequency bins, out of time)")
        if metrics.get("reliability"):
            st.altair_chart(charts.reliability(pl.DataFrame(metrics["reliability"])))
        else:
            st.caption("No reliability table in this run's metrics.")
    with right:
        st.markdown("**Lift** (highest scores first)")
        if metrics.get("lift"):
            st.altair_chart(charts.lift_curve(pl.DataFrame(metrics["lift"])))
        else:
            st.caption("No lift table in this run's metrics.")
    if metrics.get("deciles"):
        st.markdown("**Expected against realised amount by decile** (test window)")
        st.altair_chart(charts.decile_bars(pl.DataFrame(metrics["deciles"])), width="stretch")

    st.subheader("Drift (PSI against the run's reference distributions)")
    reference = queries.load_reference(run.path)
    current = queries.cached(queries.feature_frame, path) if reference else None
    if reference is None:
        st.caption("This run has no reference.json: retrain with `relance train scorer`.")
    elif current is None:
        st.caption("The feature encoder (`pipelines.features`) is not installed yet.")
    else:
        psi = queries.drift(reference, current)
        st.caption(
            f"{fmt.number(current.height)} scorable cases at the data end; PSI ≥ 0.1 "
            "watch, ≥ 0.25 act."
        )
        st.altair_chart(charts.psi_bars(psi), width="stretch")

    st.subheader("Reason codes (latest scoring)")
    reasons = queries.reason_frequencies(home)
    if reasons is None or reasons.is_empty():
        ui.empty("No scores yet: run `relance score`.")
    else:
        st.altair_chart(charts.count_bars(reasons.head(20), "reason", "cases"), width="stretch")

    st.subheader("Realised against predicted by month")
    horizon = int(queries.app_settings().get("objective.horizon_days", 90))
    monthly = queries.cached(queries.realised_vs_predicted, path, home, chosen_id, horizon)
    if monthly.is_empty():
        ui.empty(f"Run {chosen_id} has not scored any month yet: run `relance score`.")
    else:
        st.caption(
            f"Σ expected amount of the scored cases against Σ net collected on them in "
            f"the {horizon} days after each scoring (recent months are not complete)."
        )
        st.altair_chart(charts.realised_vs_predicted(monthly), width="stretch")
        st.dataframe(
            ui.euro_table(monthly, money=["expected_cents", "realised_cents"]), hide_index=True
        )
