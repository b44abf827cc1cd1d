"""Acceptance of the recovery scorer on real recoveries (issue 6): the LendingClub charged-off
loans through the ordinary import route (``convert lendingclub``, ``build``), cross-validated.

Report only (no band): the AUC of "any recovery" and the recovery-rate MAE and R² (published
recovery models reach R² 4–43 %), with base-rate references. The features are the ones the
import route gives these loans at their file's data date — the amount outstanding at
charge-off and the time since the first missed instalment; the statement history (one
statement, the last payment before charge-off) falls inside the six feature months for
almost no loan, and no import kind carries the loans' credit-file columns.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from models.scorer import RecoveryScorer
from pipelines import features as F
from pipelines.build import built
from pipelines.convert.lendingclub import (
    LABEL_ANY,
    LABEL_RATE,
    SAMPLE_FILES,
    converted_lendingclub,
)
from pipelines.home import Home
from pipelines.settings import load_settings

LC_FEATURES = ("placed_amount_cents", "days_since_due")
FOLDS = 5
SEED = 0


def labelled_delivery(con, received: date) -> pl.DataFrame:
    """The model frame of the loans of the delivery received on ``received``, at the day
    after it (everything in that delivery known), with their two outcome labels."""
    frame = F.model_frame_at(con, received + timedelta(days=1))
    labels = con.sql(
        f"select case_id, "
        f"max(value) filter (where label = '{LABEL_ANY}') as recovered_any, "
        f"max(value) filter (where label = '{LABEL_RATE}') as recovery_rate "
        f"from core.labels where received_date = date '{received.isoformat()}' group by case_id"
    ).pl()
    return frame.join(labels, on="case_id")


@pytest.fixture(scope="module")
def lendingclub(tmp_path_factory) -> pl.DataFrame:
    settings = load_settings()
    src = settings.external_data / "lendingclub_loan_samples"
    if not all((src / name).exists() for name in SAMPLE_FILES):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{src} lacks the LendingClub samples in CI")
        pytest.skip(f"real dataset absent: {src}")
    root = tmp_path_factory.mktemp("lendingclub") / "home"
    settings = settings.with_home(root)
    home = Home(root).ensure()
    converted_lendingclub(src, home.raw / "lendingclub")
    result = built(home, settings)
    from pipelines.warehouse import connect

    con = connect(result.path, settings, read_only=True)
    try:
        deliveries = con.execute(
            "select distinct received_date from core.labels order by 1"
        ).fetchall()
        frame = pl.concat([labelled_delivery(con, day) for (day,) in deliveries])
    finally:
        con.close()
    return frame.sort(pl.col("case_ref").cast(pl.Int64))


def test_lendingclub_charged_off_loans_cross_validated(lendingclub, record):
    y = lendingclub["recovered_any"].cast(pl.Int64).to_numpy()
    rate = lendingclub["recovery_rate"].to_numpy()
    balance = lendingclub["balance_cents"].to_numpy()
    spec = F.feature_spec(LC_FEATURES)
    X = F.feature_matrix(lendingclub, spec.features)
    groups = lendingclub["case_id"].to_numpy()
    aucs, predicted, base = [], np.zeros(len(y)), np.zeros(len(y))
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(X, y):
        model = RecoveryScorer(features=spec.features, reason_sample=0, random_state=SEED)
        model.fit(X[train], y[train], share=rate[train], groups=groups[train])
        aucs.append(roc_auc_score(y[test], model.p_pay(X[test])))
        # the scorer's expected-amount path: P(pay) × E[share | pay] × balance, as a rate
        predicted[test] = model.expected_cents(X[test], balance[test]) / balance[test]
        base[test] = rate[train].mean()
    basis = (
        f"{len(y):,} LendingClub charged-off loans (files a-c observed Mar-2019, d Jan-2016), "
        f"features {', '.join(spec.features)} from the ordinary import route at each file's "
        f"data date; {FOLDS}-fold stratified CV seed {SEED} (one label date per loan: random "
        "folds, not out of time); RecoveryScorer defaults, its amount model fitted on the "
        "recovery rate clipped to [0, 1]"
    )
    pooled = basis + ", pooled out-of-fold predictions"
    record("lendingclub_charged_off_loans", len(y), None, None, basis)
    record("lendingclub_any_recovery_base_rate", float(y.mean()), None, None, basis)
    record(
        "lendingclub_any_recovery_auc", float(np.mean(aucs)), None, None, basis + ", mean of folds"
    )
    record(
        "lendingclub_recovery_rate_mae",
        float(mean_absolute_error(rate, predicted)),
        None,
        None,
        pooled + "; rate = P(pay) x E[share | pay] (expected_cents / balance)",
    )
    record(
        "lendingclub_recovery_rate_r2",
        float(r2_score(rate, predicted)),
        None,
        None,
        pooled + "; published recovery models reach R2 0.04-0.43",
    )
    record(
        "lendingclub_base_recovery_rate_mae",
        float(mean_absolute_error(rate, base)),
        None,
        None,
        pooled + "; the training folds' mean rate for every loan",
    )
