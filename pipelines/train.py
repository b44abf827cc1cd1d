"""``relance train scorer``, ``evaluate scorer``, ``models`` and ``promote``: the scorer's runs.

Training reads the current build read-only: monthly snapshots of every open case with a
positive balance (``pipelines.features``), labels over the horizon, three slices separated in
time by at least the horizon (train, calibration, test: ``[scorer]`` in relance.toml), gradient
boosting and the logistic baseline fitted on the same rows, both calibrated on the calibration
slice, evaluated on the test slice (``models.evaluate``), the run stored by
``models.registry`` with its model card, and recorded in the state store (``model_runs``).

On a simulated home (``truth/eval_outcomes.parquet`` present) the metrics also carry the
oracle AUC: the true probability of payment under the logging policy (the ladder's action in
the truth's evaluation weeks) against what happened, beside the model's AUC on the same cases.
"""

from __future__ import annotations

import contextlib
import getpass
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from models.evaluate import classification_metrics, scorer_metrics
from models.registry import Registry, RunInfo, written_model_card
from models.scorer import RecoveryScorer
from pipelines import features as F
from pipelines.home import Home
from pipelines.settings import Settings
from pipelines.warehouse import current_read_only

KIND = "scorer"
LOWER_IS_BETTER = {"brier", "ece"}

MODEL_DDL = (
    """
    create table if not exists model_runs (
      run_id varchar primary key,
      kind varchar not null,
      created_at timestamp not null,
      as_of date,
      horizon_days integer,
      primary_metric varchar,
      primary_value double,
      path varchar
    )
    """,
    """
    create table if not exists promotions (
      kind varchar not null,
      run_id varchar not null,
      previous_run_id varchar,
      promoted_at timestamp not null,
      forced boolean not null,
      reason varchar,
      "user" varchar
    )
    """,
    """
    create table if not exists scores (
      run_id varchar not null,
      as_of date not null,
      case_id varchar not null,
      p_pay double,
      expected_cents bigint,
      score_band varchar,
      reasons_en varchar,
      reasons_fr varchar,
      scored_at timestamp not null
    )
    """,
)

Progress = Callable[[str], None]


class ScorerError(RuntimeError):
    """A scorer command cannot run as asked (no champion, no window, a worse challenger…)."""


@dataclass(frozen=True)
class ScorerConfig:
    """``[scorer]``, ``objective.horizon_days`` and ``models.max_training_rows``."""

    horizon_days: int
    max_training_rows: int
    test_months: int
    calibration_months: int
    label_lag_days: int
    calibration: str
    bins: int
    bootstrap: int
    seed: int
    primary_metric: str
    promote_tolerance: float
    bands: tuple[float, ...]
    reason_sample: int
    params: dict

    @classmethod
    def of(cls, settings: Settings, horizon_days: int | None = None) -> ScorerConfig:
        params = dict(settings.require("scorer.params"))
        return cls(
            horizon_days=int(horizon_days or settings.require("objective.horizon_days")),
            max_training_rows=int(settings.require("models.max_training_rows")),
            test_months=int(settings.require("scorer.test_months")),
            calibration_months=int(settings.require("scorer.calibration_months")),
            label_lag_days=int(settings.require("scorer.label_lag_days")),
            calibration=str(settings.require("scorer.calibration")),
            bins=int(settings.require("scorer.bins")),
            bootstrap=int(settings.require("scorer.bootstrap")),
            seed=int(settings.require("scorer.seed")),
            primary_metric=str(settings.require("scorer.primary_metric")),
            promote_tolerance=float(settings.require("scorer.promote_tolerance")),
            bands=tuple(float(b) for b in settings.require("scorer.bands")),
            reason_sample=int(settings.require("scorer.reason_sample")),
            params=params,
        )

    def estimator(self, model: str, spec: F.FeatureSpec, reasons: bool = True) -> RecoveryScorer:
        categorical = [spec.features.index(c) for c in spec.categorical]
        p = self.params
        return RecoveryScorer(
            model=model,
            features=spec.features,
            categorical=categorical,
            calibration=self.calibration,
            learning_rate=float(p["learning_rate"]),
            max_iter=int(p["max_iter"]),
            max_leaf_nodes=int(p["max_leaf_nodes"]),
            min_samples_leaf=int(p["min_samples_leaf"]),
            l2_regularization=float(p["l2_regularization"]),
            n_iter_no_change=int(p["n_iter_no_change"]),
            validation_share=float(p["validation_share"]),
            amount_max_iter=int(p["amount_max_iter"]),
            C=float(p["logistic_C"]),
            reason_sample=self.reason_sample if reasons else 0,
            random_state=self.seed,
        )


def registry(home: Home) -> Registry:
    return Registry(home.artifacts / "models")


warehouse = current_read_only  # read-only connection to the current build (one helper)


@contextlib.contextmanager
def state(home: Home, settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The state store (writer, with retries) with the model tables created."""
    with home.state(float(settings.get("build.writer_retry_seconds", 10))) as con:
        for ddl in MODEL_DDL:
            con.execute(ddl)
        yield con


def label_end_date(con, lag_days: int) -> date:
    """The last day whose payments are complete enough to label: the data's end − the lag."""
    end = F.data_end_date(con)
    if end is None:
        raise ScorerError("the current build has no payments or actions; nothing to label")
    return end - timedelta(days=lag_days)


def default_as_of(con) -> date:
    """The day after the build's latest received date (everything in the build is known)."""
    end = F.data_end_date(con)
    if end is None:
        raise ScorerError("the current build has no payments or actions; nothing to score")
    return end + timedelta(days=1)


def labelled_dates(con, cfg: ScorerConfig, as_of: date | None) -> list[date]:
    """Monthly as-of dates whose label window ends by the label end (and by ``as_of``)."""
    last_day = label_end_date(con, cfg.label_lag_days)
    if as_of is not None:
        last_day = min(last_day, as_of - timedelta(days=1))
    first = con.execute("select min(placed_date) from core.cases").fetchall()[0][0]
    if first is None:
        raise ScorerError("the current build has no cases")
    last_as_of = last_day - timedelta(days=cfg.horizon_days - 1)
    return F.monthly_dates(first + timedelta(days=1), last_as_of)


def with_share(frame: pl.DataFrame) -> pl.DataFrame:
    """The amount target: collected over the horizon ÷ the balance at as-of, in [0, 1]."""
    return frame.with_columns(
        (pl.col("label_cents") / pl.col("balance_cents").clip(1)).clip(0.0, 1.0).alias("share")
    )


@dataclass
class Training:
    """What a training produced before it is stored."""

    model: RecoveryScorer
    baseline: RecoveryScorer
    spec: F.FeatureSpec
    slices: F.TimeSlices
    metrics: dict
    reference: dict
    counts: dict
    test: pl.DataFrame


def fitted_pair(
    train: pl.DataFrame, calibration: pl.DataFrame, cfg: ScorerConfig, spec: F.FeatureSpec
) -> tuple[RecoveryScorer, RecoveryScorer]:
    """Gradient boosting (with reasons) and the logistic baseline, fitted and calibrated."""
    X, y = F.feature_matrix(train, spec.features), train["paid"].to_numpy()
    Xc, yc = F.feature_matrix(calibration, spec.features), calibration["paid"].to_numpy()
    share, groups = train["share"].to_numpy(), train["case_id"].to_numpy()
    model = cfg.estimator("hgb", spec).fit(X, y, share, Xc, yc, groups=groups)
    baseline = cfg.estimator("logistic", spec, reasons=False).fit(X, y, None, Xc, yc)
    return model, baseline


def trained(
    con,
    cfg: ScorerConfig,
    as_of: date | None = None,
    spec: F.FeatureSpec | None = None,
    progress: Progress | None = None,
) -> Training:
    """Fit and evaluate the scorer on the warehouse behind ``con`` (no side effects)."""
    say = progress or (lambda message: None)
    spec = spec or F.feature_spec()
    dates = labelled_dates(con, cfg, as_of)
    slices = F.fitting_slices(dates, cfg.horizon_days, cfg.test_months, cfg.calibration_months)
    say(f"snapshots: {len(slices.train)} + {len(slices.calibration)} + {len(slices.test)} months")
    train = with_share(F.labelled_frame(con, slices.train, cfg.horizon_days))
    train = F.capped(train, cfg.max_training_rows, cfg.seed)
    calibration = F.labelled_frame(con, slices.calibration, cfg.horizon_days)
    test = with_share(F.labelled_frame(con, slices.test, cfg.horizon_days))
    say(f"fitting on {train.height:,} rows, calibrating on {calibration.height:,}")
    model, baseline = fitted_pair(train, calibration, cfg, spec)
    Xt = F.feature_matrix(test, spec.features)
    p = model.p_pay(Xt)
    say(f"evaluating on {test.height:,} rows")
    metrics = scorer_metrics(
        test["paid"].to_numpy(),
        p,
        baseline.p_pay(Xt),
        model.expected_cents(Xt, test["balance_cents"].to_numpy(), p),
        test["label_cents"].to_numpy(),
        test["case_id"].to_numpy(),
        bins=cfg.bins,
        n_boot=cfg.bootstrap,
        seed=cfg.seed,
    )
    metrics["training_window"] = slices.window()
    metrics["horizon_days"] = cfg.horizon_days
    metrics["oracle_auc"] = None
    metrics["oracle_model_auc"] = None
    counts = {
        "n_train_rows": train.height,
        "n_train_cases": train["case_id"].n_unique(),
        "n_calibration_rows": calibration.height,
        "n_test_rows": test.height,
    }
    reference = F.reference_distributions(train, spec)
    return Training(model, baseline, spec, slices, metrics, reference, counts, test)


def truth_weeks(truth_dir: Path) -> pl.DataFrame:
    """The truth's true P(pay) under the logging policy: the ladder's row of each case in the
    history evaluation weeks, with the week's Monday as ``as_of``."""
    truth = pl.read_parquet(
        truth_dir / "eval_outcomes.parquet",
        columns=["iso_week", "is_export_week", "creditor_ref", "case_ref", "is_ladder", "p_pay"],
    )
    rows = truth.filter(pl.col("is_ladder") & ~pl.col("is_export_week"))
    return rows.with_columns(
        pl.col("iso_week")
        .map_elements(
            lambda w: date.fromisocalendar(int(w[:4]), int(w[6:]), 1), return_dtype=pl.Date
        )
        .alias("as_of")
    ).select("as_of", "creditor_ref", "case_ref", pl.col("p_pay").alias("true_p_pay"))


def oracle_figures(
    con, model: RecoveryScorer, spec: F.FeatureSpec, truth_dir: Path, cfg: ScorerConfig
) -> dict:
    """Oracle AUC (true probabilities against realised payment) and the model's AUC on the
    same cases and dates, over the truth's history evaluation weeks whose horizon is labelled."""
    from sklearn.metrics import roc_auc_score

    weeks = truth_weeks(truth_dir)
    last = label_end_date(con, cfg.label_lag_days) - timedelta(days=cfg.horizon_days - 1)
    parts = []
    for (day,), rows in weeks.group_by("as_of", maintain_order=True):
        if day > last:
            continue
        frame = F.labelled(F.model_frame_at(con, day), F.payment_labels(con, day, cfg.horizon_days))
        parts.append(frame.join(rows, on=["creditor_ref", "case_ref"], how="inner"))
    if not parts:
        return {"oracle_auc": None, "oracle_model_auc": None, "oracle_rows": 0}
    joined = pl.concat(parts)
    y = joined["paid"].to_numpy()
    if y.min() == y.max():
        return {"oracle_auc": None, "oracle_model_auc": None, "oracle_rows": joined.height}
    p = model.p_pay(F.feature_matrix(joined, spec.features))
    return {
        "oracle_auc": float(roc_auc_score(y, joined["true_p_pay"].to_numpy())),
        "oracle_model_auc": float(roc_auc_score(y, p)),
        "oracle_rows": joined.height,
        "oracle_weeks": sorted({d.isoformat() for d in joined["as_of"].to_list()}),
    }


def primary_value(metrics: dict, name: str) -> float:
    value = metrics.get(name)
    if not isinstance(value, int | float):
        raise ScorerError(f"scorer.primary_metric = {name!r} is not a metric of the scorer")
    return float(value)


def trained_scorer(
    home: Home,
    settings: Settings,
    as_of: date | None = None,
    horizon_days: int | None = None,
    progress: Progress | None = None,
) -> RunInfo:
    """Train a challenger on the current build, store the run and its model card; return it."""
    cfg = ScorerConfig.of(settings, horizon_days)
    with warehouse(home, settings) as con:
        result = trained(con, cfg, as_of, progress=progress)
        if (home.truth / "eval_outcomes.parquet").exists():
            result.metrics.update(oracle_figures(con, result.model, result.spec, home.truth, cfg))
    window = result.slices.window()
    window["as_of_dates"] = {
        "train": [d.isoformat() for d in result.slices.train],
        "calibration": [d.isoformat() for d in result.slices.calibration],
        "test": [d.isoformat() for d in result.slices.test],
    }
    extra = {
        "purpose": "Recovery-likelihood scorer: P(any payment) and expected amount.",
        "as_of": (as_of or result.slices.test[-1]).isoformat(),
        "horizon_days": cfg.horizon_days,
        "build_id": home.current_id(),
        "settings_hash": settings.fingerprint,
        "calibration": cfg.calibration,
        "primary_metric": cfg.primary_metric,
        **result.counts,
    }
    reg = registry(home)
    info = reg.saved(
        KIND,
        result.model,
        metrics=result.metrics,
        features=result.spec.as_dict(),
        window=window,
        reference=result.reference,
        extra=extra,
    )
    written_model_card(info, result.metrics, window, result.spec.as_dict(), extra)
    with state(home, settings) as con:
        con.execute(
            "insert into model_runs values (?, ?, cast(? as timestamptz), ?, ?, ?, ?, ?)",
            [
                info.run_id,
                KIND,
                info.created_at,
                extra["as_of"],
                cfg.horizon_days,
                cfg.primary_metric,
                primary_value(result.metrics, cfg.primary_metric),
                str(info.path),
            ],
        )
    return info


def run_of_kind_or_champion(
    home: Home, kind: str, run_id: str | None, error: type[Exception], hint: str
) -> RunInfo:
    """Run ``run_id`` of ``kind``, or the kind's champion; ``error`` naming ``hint`` (what to
    run) when there is none. One lookup for every model kind."""
    reg = registry(home)
    if run_id:
        return reg.info(kind, run_id)
    champion = reg.champion(kind)
    if champion is None:
        raise error(f"no champion {kind} yet; run {hint}")
    return champion


def run_or_champion(home: Home, run_id: str | None) -> RunInfo:
    return run_of_kind_or_champion(
        home,
        KIND,
        run_id,
        ScorerError,
        "`relance train scorer` then `relance promote RUN` (or `relance demo`)",
    )


def promotion_champion(
    reg: Registry,
    kind: str,
    run_id: str,
    force: bool,
    reason: str | None,
    error: type[Exception],
) -> RunInfo | None:
    """The checks before any promotion: the run exists, ``--force`` carries a reason, the run
    is not the champion already. Returns the current champion (``None`` for the first)."""
    reg.info(kind, run_id)
    if force and not (reason or "").strip():
        raise error('--force needs --reason "…" (it is recorded with the promotion)')
    champion = reg.champion(kind)
    if champion is not None and champion.run_id == run_id:
        raise error(f"run {run_id} is already the champion {kind}")
    return champion


def promoting_user() -> str:
    """Who promotes: ``RELANCE_USER``, else the login."""
    return os.environ.get("RELANCE_USER") or getpass.getuser()


def recorded_promotion(
    reg: Registry,
    kind: str,
    run_id: str,
    force: bool,
    reason: str | None,
    comparison: dict | None,
    user: str,
) -> dict:
    """Make ``run_id`` the champion of ``kind`` in the registry; return what was decided."""
    previous = reg.promote(
        kind, run_id, forced=force, reason=reason, user=user, comparison=comparison
    )
    return {
        "run_id": run_id,
        "previous_run_id": previous,
        "forced": force,
        "comparison": comparison,
    }


def evaluated(home: Home, settings: Settings, run_id: str | None = None) -> tuple[RunInfo, dict]:
    """Re-evaluate a run (default: the champion) on its own test months of the current build."""
    info = run_or_champion(home, run_id)
    reg = registry(home)
    model = reg.load(KIND, info.run_id)
    window = reg.read(KIND, info.run_id, "window")
    meta = reg.meta(KIND, info.run_id)
    dates = [date.fromisoformat(d) for d in window["as_of_dates"]["test"]]
    with warehouse(home, settings) as con:
        frame = F.labelled_frame(con, dates, int(meta["horizon_days"]))
    if frame.is_empty():
        raise ScorerError(f"run {info.run_id}: its test months have no cases in the current build")
    y = frame["paid"].to_numpy()
    p = model.p_pay(F.feature_matrix(frame, model.features))
    metrics = classification_metrics(y, p, int(settings.require("scorer.bins")))
    metrics["n_test_cases"] = frame["case_id"].n_unique()
    return info, metrics


def comparison_dates(con, cfg: ScorerConfig, windows: list[dict], horizon_days: int) -> list[date]:
    """Monthly as-of dates neither run trained or calibrated on: at least the horizon after
    both runs' last calibration date, with complete labels."""
    start = max(date.fromisoformat(w["calibration_to"]) for w in windows) + timedelta(
        days=horizon_days
    )
    return [d for d in labelled_dates(con, cfg, None) if d >= start]


def promoted(
    home: Home,
    settings: Settings,
    run_id: str,
    force: bool = False,
    reason: str | None = None,
) -> dict:
    """Make ``run_id`` the champion after comparing it with the current one on a window
    neither trained on (the primary metric of ``[scorer]``); refuse a worse challenger unless
    forced with a reason. Return what was decided."""
    cfg = ScorerConfig.of(settings)
    reg = registry(home)
    champion = promotion_champion(reg, KIND, run_id, force, reason, ScorerError)
    comparison = None
    if champion is not None:
        comparison = compared(home, settings, cfg, champion.run_id, run_id)
        worse = comparison["challenger"] < comparison["champion"] - cfg.promote_tolerance
        if cfg.primary_metric in LOWER_IS_BETTER:
            worse = comparison["challenger"] > comparison["champion"] + cfg.promote_tolerance
        comparison["challenger_is_worse"] = bool(worse)
        if worse and not force:
            raise ScorerError(
                f"run {run_id} is worse than champion {champion.run_id} on "
                f"{cfg.primary_metric} ({comparison['challenger']:.4f} vs "
                f"{comparison['champion']:.4f} on {comparison['window_from']} → "
                f'{comparison["window_to"]}); not promoted (override: --force --reason "…")'
            )
    user = promoting_user()
    done = recorded_promotion(reg, KIND, run_id, force, reason, comparison, user)
    with state(home, settings) as con:
        con.execute(
            "insert into promotions values (?, ?, ?, current_timestamp, ?, ?, ?)",
            [KIND, run_id, done["previous_run_id"], force, reason, user],
        )
    return done


def compared(
    home: Home, settings: Settings, cfg: ScorerConfig, champion_id: str, challenger_id: str
) -> dict:
    """Both runs' primary metric on the months neither trained on (current build)."""
    reg = registry(home)
    windows = [reg.read(KIND, r, "window") for r in (champion_id, challenger_id)]
    horizon = max(int(reg.meta(KIND, r)["horizon_days"]) for r in (champion_id, challenger_id))
    with warehouse(home, settings) as con:
        dates = comparison_dates(con, cfg, windows, horizon)
        if not dates:
            raise ScorerError(
                f"no labelled month after both runs' calibration (+{horizon} days) to compare "
                f"{challenger_id} with champion {champion_id}; promote with --force --reason "
                '"…" or wait for more data'
            )
        frame = F.labelled_frame(con, dates, horizon)
    y = frame["paid"].to_numpy()
    figures = {}
    for role, rid in (("champion", champion_id), ("challenger", challenger_id)):
        model = reg.load(KIND, rid)
        p = model.p_pay(F.feature_matrix(frame, model.features))
        figures[role] = primary_value(classification_metrics(y, p, cfg.bins), cfg.primary_metric)
    return {
        "metric": cfg.primary_metric,
        "window_from": dates[0].isoformat(),
        "window_to": dates[-1].isoformat(),
        "rows": frame.height,
        **figures,
    }


def run_rows(home: Home) -> list[dict]:
    """Every scorer run for ``relance models``, newest first."""
    reg = registry(home)
    rows = []
    for info in reg.runs(KIND):
        meta = reg.meta(KIND, info.run_id)
        rows.append(
            {
                "run_id": info.run_id,
                "champion": info.is_champion,
                "created_at": info.created_at,
                "as_of": meta.get("as_of"),
                "roc_auc": info.metrics.get("roc_auc"),
                "brier_skill": info.metrics.get("brier_skill"),
                "ece": info.metrics.get("ece"),
                "baseline_roc_auc": info.metrics.get("baseline_roc_auc"),
                "oracle_auc": info.metrics.get("oracle_auc"),
            }
        )
    return rows
