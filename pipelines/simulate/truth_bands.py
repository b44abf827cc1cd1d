"""Policy values and the latent plausibility bands, from ``truth/eval_outcomes.parquet``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipelines.kinds import ACTIONS

KEYS = ["creditor_ref", "case_ref", "iso_week"]


def _value(rows: pl.DataFrame, lo: int = 1, hi: int = 20) -> tuple[float, float]:
    means = np.array([rows[f"v_b{b:02d}"].mean() for b in range(lo, hi + 1)])
    return float(means.mean()), float(means.std(ddof=1) / np.sqrt(len(means)))


def _fixed(table: pl.DataFrame, action: str) -> pl.DataFrame:
    """Rows of the policy 'always ``action`` where allowed, else wait'."""
    chosen = table.filter(pl.col("action") == action).select(
        *KEYS, pl.when("is_allowed").then(pl.lit(action)).otherwise(pl.lit("wait")).alias("action")
    )
    return table.join(chosen, on=[*KEYS, "action"], how="inner")


def _best(table: pl.DataFrame, column: str) -> pl.DataFrame:
    return (
        table.filter("is_allowed")
        .sort(column, descending=True, maintain_order=True)
        .unique(KEYS, keep="first", maintain_order=True)
    )


def week_summary(table: pl.DataFrame) -> dict:
    """Values (cents per case) of the ladder, each fixed action and the best possible policy,
    with their standard errors and the personalisation shares."""
    out: dict = {"cases": table.select(KEYS).unique().height}
    ladder = table.filter("is_ladder")
    out["ladder"] = _value(ladder)
    fixed = {a: _value(_fixed(table, a)) for a in ACTIONS}
    out["fixed"] = fixed
    best_a = max(fixed, key=lambda a: fixed[a][0])
    out["best_fixed_action"] = best_a
    half = [f"v_b{b:02d}" for b in range(1, 11)]
    picked = _best(table.with_columns(pl.mean_horizontal(half).alias("_pick")), "_pick")
    out["best_possible"] = _value(picked, 11, 20)
    out["best_fixed_on_11_20"] = _value(_fixed(table, best_a), 11, 20)
    out["ladder_on_11_20"] = _value(ladder, 11, 20)
    own = _best(table, "value_cents")
    fixed_rows = _fixed(table, best_a).select(*KEYS, pl.col("action").alias("_fixed"))
    own = own.join(fixed_rows, on=KEYS)
    n_allowed = table.group_by(KEYS).agg(pl.col("is_allowed").sum().alias("_n"))
    own = own.join(n_allowed, on=KEYS)
    choice = own.filter(pl.col("_n") > 1)
    out["cases_with_choice"] = choice.height
    out["best_fixed_is_own_best_share"] = float((choice["action"] == choice["_fixed"]).mean())
    out["wait_best_share"] = float((choice["action"] == "wait").mean())
    out["wait_best_share_all"] = float((own["action"] == "wait").mean())
    out["own_best_mix"] = dict(choice["action"].value_counts().sort("action").iter_rows())
    bp, bf, lad = out["best_possible"][0], out["best_fixed_on_11_20"][0], out["ladder_on_11_20"][0]
    out["best_over_best_fixed"] = bp / bf - 1 if bf else float("nan")
    out["best_over_ladder"] = bp / lad - 1 if lad else float("nan")
    out["ladder_se_share"] = out["ladder"][1] / abs(out["ladder"][0])
    out["best_fixed_se_share"] = fixed[best_a][1] / abs(fixed[best_a][0])
    return out


def sms_lift(table: pl.DataFrame, truth_dir: Path | str) -> dict:
    """14-day payment rate with an SMS nudge minus with waiting, in points, for responsive
    small-debt consumers (SMS attention ≥ 0.5, placed ≤ €200, cash-flow or administrative cause,
    SMS allowed)."""
    cases = pl.read_parquet(Path(truth_dir) / "cases.parquet")
    debtors = pl.read_parquet(Path(truth_dir) / "debtors.parquet")
    who = (
        cases.join(debtors, on="debtor_key")
        .filter(
            pl.col("debtor_type") == "individual",
            pl.col("resp_sms") >= 0.5,
            pl.col("amount_cents") <= 20000,
            pl.col("is_phone_valid"),
            pl.col("cause").is_in(["cash_flow", "administrative"]),
        )
        .select("creditor_ref", "case_ref")
    )
    rows = table.join(who, on=["creditor_ref", "case_ref"])
    ok = rows.filter(pl.col("action") == "sms_nudge", "is_allowed").select(KEYS)
    rows = rows.join(ok, on=KEYS)
    sms = rows.filter(pl.col("action") == "sms_nudge")["p_pay_14d"].mean()
    wait = rows.filter(pl.col("action") == "wait")["p_pay_14d"].mean()
    n = rows.filter(pl.col("action") == "wait").height
    if not n:
        return {"cases": 0, "points": float("nan")}
    return {"cases": n, "wait": wait, "sms": sms, "points": 100 * (sms - wait)}


def summary(table: pl.DataFrame, truth_dir: Path | str) -> dict:
    weeks = {
        w: week_summary(table.filter(pl.col("iso_week") == w))
        for w in table["iso_week"].unique().sort()
    }
    history = table.filter(~pl.col("is_export_week"))
    return {
        "weeks": weeks,
        "history_weeks": week_summary(history),
        "sms_lift": sms_lift(table, truth_dir),
    }
