"""The call list judged by the truth (issue 8 acceptance), on the default world.

For each of the three in-history evaluation weeks, as of its Monday and at the capacity from
settings (one planned attempt per listed debtor), a list's true value is the Σ over its debtors'
cases of V(the call) − V(the plan's best non-call action) from ``truth/eval_outcomes.parquet``.
Ours is compared with three baselines (largest balance first, oldest debt first, P(pay) ×
balance from the champion scorer) on the pooled 95 % lower bound of the ratio, and with the best
possible list under the same caps (chosen on truth batches 1–10, valued on 11–20).

Every list draws from the same candidates: debtors the rules let us call that week (a call
allowed, a calling window left) with a case in the truth's sample; the baselines and the oracle
use the plan's call tone and non-call action, so only the ranking differs.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from pipelines import plan as P

BATCHES = [f"v_b{b:02d}" for b in range(1, 21)]


def week_lists(con, home, settings, truth: pl.DataFrame, iso_week: str) -> dict[str, pl.DataFrame]:
    """Per list name: ``creditor_ref, case_ref, call_action, non_call_action`` of its cases."""
    as_of = P.week_monday(iso_week)
    figures = P.plan_figures(settings)
    empty = pl.DataFrame(schema={"creditor_ref": pl.String, "case_ref": pl.String})
    plan = P.weekly_plan(con, home, settings, as_of, figures, empty)
    cases = P.open_cases(plan.eligibility)
    sampled = (
        truth.filter(pl.col("iso_week") == iso_week).select("creditor_ref", "case_ref").unique()
    )
    in_truth = cases.join(sampled, on=["creditor_ref", "case_ref"], how="semi")
    feasible = P.feasible_values(
        plan.values.frame, cases, empty.select(pl.lit("").alias("case_id")).clear()
    )
    callable_debtors = plan.windows.filter(pl.col("call_days") > 0).join(
        in_truth.select("debtor_id").unique(), on="debtor_id", how="semi"
    )
    margins = P.call_margins(feasible, callable_debtors)
    attempts = cases.group_by("debtor_id").agg(pl.col("call_attempts_remaining").first())
    calls = (
        feasible.filter(pl.col("action").is_in(P.CALL_ACTIONS))
        .select("case_id", "debtor_id")
        .unique()
    )
    rows = (
        calls.join(margins.select("debtor_id", "call_action"), on="debtor_id")
        .join(plan.non_call_best, on="case_id", how="left")
        .join(cases.select("case_id", "creditor_ref", "case_ref", "balance_cents"), on="case_id")
        .with_columns(pl.col("non_call_action").fill_null("wait"))
    )
    placed = con.sql("select case_id, oldest_due_date from core.cases").pl()
    p_pay = (
        plan.scores.select("case_id", "p_pay")
        if plan.scores is not None
        else pl.DataFrame(schema={"case_id": pl.String, "p_pay": pl.Float64})
    )
    per_debtor = (
        rows.join(placed, on="case_id", how="left")
        .join(p_pay, on="case_id", how="left")
        .group_by("debtor_id")
        .agg(
            pl.col("balance_cents").sum().alias("balance"),
            pl.col("oldest_due_date").min().alias("oldest"),
            (pl.col("p_pay").fill_null(0.0) * pl.col("balance_cents")).sum().alias("expected"),
        )
    )
    capacity = figures.capacity
    ours = P.call_slots(margins, attempts, capacity, 1).select("debtor_id")
    chosen = {
        "ours": ours,
        "largest_balance": per_debtor.sort(["balance", "debtor_id"], descending=[True, False]).head(
            capacity
        ),
        "oldest": per_debtor.sort(["oldest", "debtor_id"], nulls_last=True).head(capacity),
        "ppay_balance": per_debtor.sort(["expected", "debtor_id"], descending=[True, False]).head(
            capacity
        ),
    }
    lists = {
        name: rows.join(d.select("debtor_id"), on="debtor_id", how="semi")
        for name, d in chosen.items()
    }
    lists["_candidates"] = rows
    return lists


def truth_gain(
    rows: pl.DataFrame, truth: pl.DataFrame, iso_week: str, tone: str = "call_action"
) -> pl.DataFrame:
    """Per case of ``rows`` in the truth's sample: batch values of V(call) − V(non-call)."""
    week = truth.filter(pl.col("iso_week") == iso_week)
    call = week.select("creditor_ref", "case_ref", pl.col("action").alias(tone), *BATCHES)
    non = week.select(
        "creditor_ref",
        "case_ref",
        pl.col("action").alias("non_call_action"),
        *[pl.col(b).alias(f"n_{b}") for b in BATCHES],
    )
    joined = rows.join(call, on=["creditor_ref", "case_ref", tone]).join(
        non, on=["creditor_ref", "case_ref", "non_call_action"]
    )
    return joined.select("debtor_id", *[(pl.col(b) - pl.col(f"n_{b}")).alias(b) for b in BATCHES])


def oracle_rows(
    candidates: pl.DataFrame, truth: pl.DataFrame, iso_week: str, capacity: int
) -> pl.DataFrame:
    """The best list under the same caps: per debtor the better call tone and the debtors with
    the largest positive gain, both chosen on batches 1–10."""
    best = []
    for tone in P.CALL_ACTIONS:
        gain = truth_gain(
            candidates.with_columns(pl.lit(tone).alias("call_action")), truth, iso_week
        )
        best.append(
            gain.group_by("debtor_id")
            .agg(pl.col(BATCHES).sum())
            .with_columns(pl.lit(tone).alias("tone"))
        )
    both = pl.concat(best).with_columns(pl.mean_horizontal(BATCHES[:10]).alias("_pick"))
    # ties (both tones equally good on batches 1–10) go to the first tone: without the tone in
    # the sort, the row order of the candidates chose, and the oracle moved by up to 0.2 %
    per_debtor = both.sort(
        ["debtor_id", "_pick", "tone"], descending=[False, True, False], maintain_order=True
    ).unique("debtor_id", keep="first", maintain_order=True)
    return (
        per_debtor.filter(pl.col("_pick") > 0)
        .sort(["_pick", "debtor_id"], descending=[True, False])
        .head(capacity)
    )


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, float]:
    """Ratio of batch means and its delta-method standard error (paired batches)."""
    n = len(numerator)
    r = numerator.mean() / denominator.mean()
    se = np.std(numerator - r * denominator, ddof=1) / math.sqrt(n) / abs(denominator.mean())
    return float(r), float(se)


def measured(con, home, settings, truth: pl.DataFrame) -> dict:
    """Pooled batch totals per list over the three history weeks, the ratios and errors."""
    weeks = sorted(truth.filter(~pl.col("is_export_week"))["iso_week"].unique().to_list())
    capacity = P.plan_figures(settings).capacity
    totals: dict[str, np.ndarray] = {}
    listed: dict[str, int] = {}
    for iso_week in weeks:
        lists = week_lists(con, home, settings, truth, iso_week)
        for name, rows in lists.items():
            if name.startswith("_"):
                continue
            gain = truth_gain(rows, truth, iso_week).select(BATCHES).sum().to_numpy()[0]
            totals[name] = totals.get(name, np.zeros(20)) + gain
            listed[name] = listed.get(name, 0) + rows["debtor_id"].n_unique()
        best = oracle_rows(lists["_candidates"], truth, iso_week, capacity)
        totals["oracle"] = (
            totals.get("oracle", np.zeros(20)) + best.select(BATCHES).sum().to_numpy()[0]
        )
        listed["oracle"] = listed.get("oracle", 0) + best.height
    out = {
        "weeks": weeks,
        "listed": listed,
        "value_cents": {k: float(v.mean()) for k, v in totals.items()},
    }
    for name in ("largest_balance", "oldest", "ppay_balance"):
        r, se = ratio(totals["ours"], totals[name])
        out[f"ratio_vs_{name}"] = {"ratio": r, "se": se, "lower_95": r - 1.96 * se}
    best_name = max(("largest_balance", "oldest", "ppay_balance"), key=lambda k: totals[k].mean())
    out["best_baseline"] = best_name
    r, se = ratio(totals["ours"][10:], totals["oracle"][10:])
    out["ratio_vs_oracle"] = {"ratio": r, "se": se, "lower_95": r - 1.96 * se}
    return out


def test_call_list_beats_baselines_and_nears_the_best(world, warehouse, record):
    from pipelines.home import Home
    from pipelines.train import registry

    settings, home, _, truth_dir = world
    home = Home(home.root) if hasattr(home, "root") else Home(home)
    if registry(home).champion("scorer") is None:  # the P(pay) × balance baseline needs one
        from pipelines.train import promoted, trained_scorer

        promoted(home, settings, trained_scorer(home, settings).run_id)
    truth = pl.read_parquet(truth_dir / "eval_outcomes.parquet")
    got = measured(warehouse, home, settings, truth)
    best = got[f"ratio_vs_{got['best_baseline']}"]
    basis = (
        f"pooled over {', '.join(got['weeks'])}; debtors listed {got['listed']}; "
        "policy: recommender champion if any, else the fallback rule"
    )
    # the band that holds first: an open issue's shortfall ends the test (xfail)
    record("plan_vs_oracle", got["ratio_vs_oracle"]["ratio"], 0.60, None, basis)
    record(
        "plan_vs_best_baseline_lower_95", best["lower_95"], 1.10, None, basis, open_issue="issue 8"
    )
