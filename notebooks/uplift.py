# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Evaluating the channel-and-tone recommender (uplift)
#
# A walkthrough for analysts: which action works for whom, and is the evidence good enough to
# personalise? We train a challenger on the current build, read its off-policy values on the
# held-out *randomised* decisions (the exploration draws), look at each action's Qini curve,
# check overlap, and see whether the run fell back to the best single action.
# The home is `RELANCE_HOME` (default from `relance.toml`); the tests run this notebook on the
# small simulated home with smaller settings (`RELANCE_RECOMMENDER__…` variables).

# %%
import altair as alt
import numpy as np
import polars as pl

from models import policy_eval as pe
from pipelines import recommend as R
from pipelines.home import Home
from pipelines.settings import load_settings

settings = load_settings()
home = Home(settings.home)
cfg = R.RecommenderConfig.of(settings)
print(f"home {home.root}, build {home.current_id()}, learner {cfg.learner}")
print(
    f"value = {cfg.commission} × amount − cost − {cfg.complaint_penalty_cents:.0f} × P(complaint)"
)

# %% [markdown]
# ## 1. The logged decisions
#
# Every case-week has one decision, `wait` included, with the probability the logging policy
# gave it. Exploration draws (`is_exploration`) are the randomised evidence.

# %%
with R.warehouse(home, settings) as con:
    mondays = R.closed_mondays(con, cfg.horizon_days)
    w = R.windows(mondays, cfg)
    holdout = R.logged_frame(con, w.holdout, settings, cfg.horizon_days)
print(f"{len(w.train)} training weeks, {len(w.holdout)} held-out weeks")
holdout.group_by("action").agg(
    pl.len().alias("decisions"),
    pl.col("is_exploration").sum().alias("explored"),
    pl.col("paid").mean().alias("paid_rate"),
    (pl.col("amount").mean() / 100).round(2).alias("mean_amount_eur"),
).sort("action")

# %% [markdown]
# ## 2. Train a challenger
#
# Per-action response models (payment, amount, complaint), cross-fitted by case, weighted by the
# inverse of the logged propensity; a doubly robust second stage gives each action's uplift
# over `wait`. Training also evaluates the run on the held-out randomised decisions.

# %%
summary = R.trained_recommender(home, settings)
reg = R.registry(home)
model = R.loaded_recommender(reg, summary["run_id"])
metrics = reg.info(R.KIND, summary["run_id"]).metrics
print(
    summary["run_id"], "fallback:", summary["fallback"], "best fixed:", summary["best_fixed_action"]
)

# %% [markdown]
# ## 3. Policy values: IPS, self-normalised IPS and doubly robust
#
# Cents per case-week, with 95 % case-bootstrap intervals. IPS re-weights the randomised
# decisions that agree with the policy; SNIPS normalises those weights; DR adds the model's
# prediction and corrects it with the weighted residuals. The ladder's value is its on-policy mean.

# %%
rows = []
for name, v in metrics["values"].items():
    if "dr" in v:
        rows.append(
            {
                "policy": name,
                **{k: v[k]["value"] for k in ("ips", "snips", "dr")},
                "dr_low": v["dr"]["low"],
                "dr_high": v["dr"]["high"],
            }
        )
    else:
        o = v["on_policy"]
        rows.append(
            {
                "policy": name,
                "ips": None,
                "snips": None,
                "dr": o["value"],
                "dr_low": o["low"],
                "dr_high": o["high"],
            }
        )
values = pl.DataFrame(rows).sort("dr", descending=True)
values  # noqa: B018 (the cell shows the table)

# %% [markdown]
# ## 4. Personalise or fall back?
#
# The learned policy is kept only when the bootstrap interval of (learned − best fixed action)
# lies above zero. Otherwise production recommends the best fixed action and the report says so.

# %%
diff = metrics["difference_vs_best_fixed"]
print(
    f"learned − {metrics['best_fixed_action']}: {diff['value']:.1f} cents "
    f"[{diff['low']:.1f}, {diff['high']:.1f}] at {diff['level']:.0%}"
)
print((reg.run_dir(R.KIND, summary["run_id"]) / "report.md").read_text(encoding="utf-8")[:800])

# %% [markdown]
# ## 5. Qini curves
#
# For one action against `wait`, rank the randomised decisions where both were possible by the
# estimated uplift; the Qini curve is the incremental value gained as we treat more of them.
# Above the diagonal (random ranking) the model ranks responsive cases first.

# %%
explored = holdout.filter(pl.col("is_exploration"))
m = R.matrices(explored)
c = model._coefficients()
reward = c["amount"] * m["amount"] + c["complaint"] * m["complaint"] - model.costs_[m["action"]]
p = R.conditional_propensity(m["propensity"], cfg.exploration_share)
uplift = model.uplift(m["X"])
curves = []
for j, action in enumerate(R.ACTIONS):
    rows = np.isin(m["action"], [j, R.WAIT]) & m["allowed"][:, j]
    if j == R.WAIT or (m["action"][rows] == j).sum() < 5:
        continue
    curve = pe.qini_curve(uplift[rows, j], reward[rows], m["action"][rows] == j, 1 / p[rows], 20)
    curves.append(
        pl.DataFrame(
            {
                "action": action,
                "fraction": curve["fraction"],
                "qini": curve["qini"],
                "random": curve["random"],
            }
        )
    )
qini = pl.concat(curves)
qini.group_by("action").agg(pl.col("qini").last().alias("qini_at_100pct")).sort("action")

# %%
base = alt.Chart(qini).encode(x=alt.X("fraction:Q", title="share of cases treated"))
(
    base.mark_line().encode(
        y=alt.Y("qini:Q", title="incremental value (cents per case)"), color="action:N"
    )
    + base.mark_line(strokeDash=[4, 4]).encode(y="random:Q", color="action:N")
)

# %% [markdown]
# ## 6. Overlap
#
# A causal value needs each action to have been possible for the units it is claimed for.
# Among randomised decisions the propensity of each explorable action is 1/|E|; the share in
# [0.05, 0.95] is reported, and below the floor no causal value is stated.

# %%
metrics["overlap"]
