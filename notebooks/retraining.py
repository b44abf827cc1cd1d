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
# # Retraining the recovery scorer
#
# A walkthrough for analysts: load point-in-time snapshots from the current build, train a
# challenger, check its calibration, read its reasons, and compare it with the champion.
# The home is `RELANCE_HOME` (default from `relance.toml`); the tests run this notebook on the
# small simulated home.

# %%
import polars as pl

from pipelines import features as F
from pipelines import train as T
from pipelines.home import Home
from pipelines.settings import load_settings

settings = load_settings()
home = Home(settings.home)
cfg = T.ScorerConfig.of(settings)
print(f"home {home.root}, build {home.current_id()}, horizon {cfg.horizon_days} days")

# %% [markdown]
# ## 1. Snapshots: what was known at each monthly as-of date
#
# `marts.case_snapshots(as_of)` is the single point-in-time implementation; `features.py` only
# encodes it. Labels look 90 days ahead.

# %%
with T.warehouse(home, settings) as con:
    dates = T.labelled_dates(con, cfg, None)
    slices = F.fitting_slices(dates, cfg.horizon_days, cfg.test_months, cfg.calibration_months)
    latest = F.labelled(
        F.model_frame_at(con, slices.test[-1]),
        F.payment_labels(con, slices.test[-1], cfg.horizon_days),
    )
print(slices.window())
latest.select("case_id", "balance_cents", "days_since_due", "observed_cause", "paid").head()

# %%
latest.group_by("observed_cause").agg(
    pl.len().alias("cases"), pl.col("paid").mean().alias("payment_rate")
).sort("observed_cause")

# %% [markdown]
# ## 2. Train a challenger (gradient boosting beside the logistic baseline)

# %%
with T.warehouse(home, settings) as con:
    training = T.trained(con, cfg)
m = training.metrics
{k: m[k] for k in ("roc_auc", "baseline_roc_auc", "auc_gain_ci95", "brier_skill", "ece")}

# %% [markdown]
# ## 3. Calibration: predicted against observed, ten equal-frequency bins

# %%
pl.DataFrame(m["reliability"])

# %% [markdown]
# ## 4. Reasons, in French and English

# %%
X = F.feature_matrix(training.test, training.spec.features)
english, french = training.model.reasons(X[:3])
for en, fr in zip(english, french, strict=True):
    print(en)
    print(fr)
    print()

# %% [markdown]
# ## 5. Compare with the champion
#
# Store the challenger (`relance train scorer` does the same), then compare it with the
# champion on months neither trained on; `relance promote RUN` refuses a worse challenger.

# %%
run = T.trained_scorer(home, settings)
champion = T.registry(home).champion(T.KIND)
if champion is None:
    print(f"no champion yet: `relance promote {run.run_id}` makes this run the first one")
else:
    try:
        print(T.compared(home, settings, cfg, champion.run_id, run.run_id))
    except T.ScorerError as exc:
        print(f"no comparison possible: {exc}")
print(f"model card: {run.path / 'model_card.md'}")
