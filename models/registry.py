"""Model runs, their artefacts and the champion (DESIGN §8).

Layout under ``root`` (``<home>/artifacts/models``)::

    <kind>/<run id>/model.skops      the fitted model (skops, never pickle)
                    run.json         kind, created_at, sha256 of model.skops, skops version, extra
                    metrics.json     out-of-time metrics (models.evaluate)
                    features.json    the versioned feature list
                    window.json      the training window (train, calibration and test as-of dates)
                    reference.json   reference feature distributions (PSI drift)
                    model_card.md    the model card, with its charts in charts/*.png
    <kind>/champion.json             the champion pointer {run_id, promoted_at, previous_run_id}
    <kind>/promotions.jsonl          every promotion, forced ones with their reason

Loading checks the file's sha256 against ``run.json`` (a tampered file is refused) and loads
with an explicit list of trusted types (``TRUSTED_TYPES``): a file holding any other type — a
foreign artefact — is refused with the offending types named. This module imports nothing
from ``pipelines`` and opens only its own files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import skops
import skops.io as sio

MODEL_FILE = "model.skops"
RUN_FILE = "run.json"
CHAMPION_FILE = "champion.json"
PROMOTIONS_FILE = "promotions.jsonl"
RUN_ID_RE = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")

# every type a scorer artefact may hold beyond skops' defaults, by full path (STACK.md)
TRUSTED_TYPES: tuple[str, ...] = (
    "models.scorer.RecoveryScorer",
    "models.scorer.signed_log1p",
    "models.explain.ReasonCoder",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.frozen._frozen.FrozenEstimator",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn.pipeline.Pipeline",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.dtype",
    "builtins.slice",
    # boosting with categorical features keeps an internal ColumnTransformer whose
    # FunctionTransformer holds partial(check_array, …); skops checks the wrapped function too
    "functools.partial",
    "sklearn.utils.validation.check_array",
)


class RegistryError(RuntimeError):
    """A run or artefact cannot be used as asked (missing, tampered, foreign)."""


@dataclass(frozen=True)
class RunInfo:
    """One stored run."""

    run_id: str
    kind: str
    created_at: str
    path: Path
    metrics: dict
    is_champion: bool


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSS-xxxxxx``: sortable by creation time, unique."""
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path, default=None):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def untrusted_types(path: Path) -> list[str]:
    """Types in a skops file that skops does not trust by default."""
    return sorted(sio.get_untrusted_types(file=path))


def loaded_trusted(path: Path):
    """Load a skops file when every type in it is trusted (skops' defaults + ``TRUSTED_TYPES``),
    else raise ``RegistryError`` naming the foreign types."""
    try:
        found = untrusted_types(path)
    except Exception as exc:  # not a skops zip at all
        raise RegistryError(f"{path}: not a readable skops artefact ({exc})") from None
    foreign = [t for t in found if t not in TRUSTED_TYPES]
    if foreign:
        raise RegistryError(
            f"{path}: refused — it holds type(s) outside the trusted list: {', '.join(foreign)}"
        )
    return sio.load(path, trusted=list(TRUSTED_TYPES))


class Registry:
    """Runs and champions of every model kind under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def kind_dir(self, kind: str) -> Path:
        return self.root / kind

    def run_dir(self, kind: str, run_id: str) -> Path:
        return self.kind_dir(kind) / run_id

    # -- writing ---------------------------------------------------------------------------
    def saved(
        self,
        kind: str,
        model,
        *,
        metrics: dict,
        features: dict,
        window: dict,
        reference: dict,
        extra: dict | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        """Store a fitted model and its records as a new run; return it."""
        run_id = run_id or new_run_id()
        path = self.run_dir(kind, run_id)
        path.mkdir(parents=True, exist_ok=False)
        model_path = path / MODEL_FILE
        sio.dump(model, model_path)
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        _write_json(path / "metrics.json", metrics)
        _write_json(path / "features.json", features)
        _write_json(path / "window.json", window)
        _write_json(path / "reference.json", reference)
        _write_json(
            path / RUN_FILE,
            {
                "run_id": run_id,
                "kind": kind,
                "created_at": created_at,
                "model_sha256": file_sha256(model_path),
                "skops_version": skops.__version__,
                **(extra or {}),
            },
        )
        return self.info(kind, run_id)

    # -- reading ---------------------------------------------------------------------------
    def info(self, kind: str, run_id: str) -> RunInfo:
        path = self.run_dir(kind, run_id)
        meta = _read_json(path / RUN_FILE) if RUN_ID_RE.match(run_id) else None
        if meta is None:
            known = ", ".join(r.run_id for r in self.runs(kind)[:5]) or "none"
            raise RegistryError(
                f"no {kind} run {run_id!r} under {self.kind_dir(kind)} (latest: {known}); "
                "see `relance models`"
            )
        champion = self._champion_id(kind)
        return RunInfo(
            run_id=run_id,
            kind=kind,
            created_at=meta["created_at"],
            path=path,
            metrics=_read_json(path / "metrics.json", {}),
            is_champion=run_id == champion,
        )

    def meta(self, kind: str, run_id: str) -> dict:
        """``run.json`` of a run."""
        return _read_json(self.run_dir(kind, run_id) / RUN_FILE, {})

    def read(self, kind: str, run_id: str, name: str) -> dict:
        """One of the run's JSON records (``metrics``, ``features``, ``window``, ``reference``)."""
        return _read_json(self.run_dir(kind, run_id) / f"{name}.json", {})

    def runs(self, kind: str) -> list[RunInfo]:
        """Every run of ``kind``, newest first."""
        folder = self.kind_dir(kind)
        if not folder.exists():
            return []
        ids = sorted(
            (
                p.name
                for p in folder.iterdir()
                if RUN_ID_RE.match(p.name) and (p / RUN_FILE).exists()
            ),
            reverse=True,
        )
        return [self.info(kind, i) for i in ids]

    def _champion_id(self, kind: str) -> str | None:
        pointer = _read_json(self.kind_dir(kind) / CHAMPION_FILE)
        return pointer.get("run_id") if pointer else None

    def champion(self, kind: str) -> RunInfo | None:
        run_id = self._champion_id(kind)
        return self.info(kind, run_id) if run_id else None

    def load(self, kind: str, run_id: str):
        """The fitted model of a run, after checking its hash and its types."""
        self.info(kind, run_id)  # raises for an unknown or malformed run id
        path = self.run_dir(kind, run_id) / MODEL_FILE
        meta = self.meta(kind, run_id)
        if not path.exists() or not meta:
            raise RegistryError(f"{path}: no such model artefact; see `relance models`")
        if file_sha256(path) != meta.get("model_sha256"):
            raise RegistryError(
                f"{path}: refused — its sha256 differs from the one recorded in {RUN_FILE} "
                "(the file was changed after training); retrain with `relance train`"
            )
        return loaded_trusted(path)

    # -- the champion ----------------------------------------------------------------------
    def promote(
        self,
        kind: str,
        run_id: str,
        *,
        forced: bool = False,
        reason: str | None = None,
        user: str | None = None,
        comparison: dict | None = None,
    ) -> str | None:
        """Make ``run_id`` the champion of ``kind``; record it; return the previous champion.

        The comparison itself is the caller's (it needs data); it is recorded as given."""
        self.info(kind, run_id)  # raises when the run does not exist
        previous = self._champion_id(kind)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        record = {
            "kind": kind,
            "run_id": run_id,
            "previous_run_id": previous,
            "promoted_at": now,
            "forced": forced,
            "reason": reason,
            "user": user,
            "comparison": comparison,
        }
        _write_json(self.kind_dir(kind) / CHAMPION_FILE, record)
        with open(self.kind_dir(kind) / PROMOTIONS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
        return previous

    def promotions(self, kind: str) -> list[dict]:
        path = self.kind_dir(kind) / PROMOTIONS_FILE
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# -- the model card ----------------------------------------------------------------------------


def reliability_chart(metrics: dict):
    """Mean predicted against observed rate per equal-frequency bin, with the diagonal."""
    import altair as alt
    import polars as pl

    rows = pl.DataFrame(metrics["reliability"])
    top = max(rows["mean_predicted"].max(), rows["mean_observed"].max(), 0.05)
    diagonal = (
        alt.Chart(pl.DataFrame({"x": [0.0, top], "y": [0.0, top]}))
        .mark_line(strokeDash=[4, 4], color="grey")
        .encode(x="x:Q", y="y:Q")
    )
    points = (
        alt.Chart(rows)
        .mark_line(point=True)
        .encode(
            x=alt.X("mean_predicted:Q", title="mean predicted P(pay)"),
            y=alt.Y("mean_observed:Q", title="observed payment rate"),
        )
    )
    return (diagonal + points).properties(
        width=320, height=260, title=f"Reliability (ECE {metrics['ece']:.3f})"
    )


def lift_chart(metrics: dict):
    """Capture of payers in the top 10/20/30 % by score."""
    import altair as alt
    import polars as pl

    rows = pl.DataFrame(metrics["lift"]).with_columns((pl.col("share") * 100).alias("top %"))
    return (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X("top %:O", title="top % of cases by score"),
            y=alt.Y("capture:Q", title="share of payers captured"),
            tooltip=["lift", "capture"],
        )
        .properties(width=240, height=260, title="Capture at the top of the ranking")
    )


def deciles_chart(metrics: dict):
    """Expected against realised amount per decile of the expected amount."""
    import altair as alt
    import polars as pl

    rows = pl.DataFrame(metrics["deciles"]).unpivot(
        index="decile", on=["expected_cents", "realised_cents"], variable_name="amount"
    )
    rows = rows.with_columns((pl.col("value") / 100).alias("euros"))
    return (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X("decile:O", title="decile of expected amount (1 = highest)"),
            xOffset="amount:N",
            y=alt.Y("euros:Q", title="amount over the horizon"),
            color=alt.Color("amount:N"),
        )
        .properties(width=380, height=260, title="Expected and realised amounts")
    )


def rendered_png(chart, path: Path) -> Path:
    """Render an Altair chart to PNG offline (vl-convert)."""
    import vl_convert as vlc

    path.write_bytes(vlc.vegalite_to_png(chart.to_json(), scale=1))
    return path


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def model_card_text(info: RunInfo, metrics: dict, window: dict, features: dict, extra: dict) -> str:
    """The model card in Markdown (charts referenced from ``charts/``)."""
    ci = metrics.get("auc_gain_ci95") or [None, None]
    lines = [
        f"# Model card — {info.kind} {info.run_id}",
        "",
        f"Created {info.created_at}. {extra.get('purpose', '')}".rstrip(),
        "",
        "## Intended use",
        "",
        "Ranks open cases by the probability of any payment within the horizon and estimates the",
        "amount expected. It only ranks and recommends: escalation, refusing a plan or abandoning",
        "a case needs a recorded human decision (GDPR Art. 22). Every score carries its top three",
        "reasons in French and English.",
        "",
        "## Data and window",
        "",
        f"- horizon: {extra.get('horizon_days')} days; monthly snapshots (one per case a month)",
        f"- train: {window.get('train_from')} → {window.get('train_to')} "
        f"({extra.get('n_train_rows', 'n/a')} rows)",
        f"- calibration: {window.get('calibration_from')} → {window.get('calibration_to')} "
        f"({extra.get('n_calibration_rows', 'n/a')} rows, {extra.get('calibration')})",
        f"- test: {window.get('test_from')} → {window.get('test_to')} "
        f"({metrics.get('n_test_rows')} rows, {metrics.get('n_test_cases')} distinct cases)",
        "- slices separated by at least the horizon, so no label window reaches the next slice",
        f"- build: {extra.get('build_id', 'n/a')}; "
        f"settings hash {extra.get('settings_hash', 'n/a')}",
        "",
        "## Out-of-time performance (test slice)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| ROC AUC (gradient boosting) | {_pct(metrics.get('roc_auc'))} |",
        f"| ROC AUC (logistic baseline) | {_pct(metrics.get('baseline_roc_auc'))} |",
        f"| AUC gain, 95 % CI (bootstrap by case) | [{_pct(ci[0])}, {_pct(ci[1])}] |",
        f"| oracle AUC (true probabilities, simulated homes) | {_pct(metrics.get('oracle_auc'))} |",
        f"| model AUC on the oracle's cases | {_pct(metrics.get('oracle_model_auc'))} |",
        f"| PR AUC | {_pct(metrics.get('pr_auc'))} |",
        f"| Brier score | {_pct(metrics.get('brier'))} |",
        f"| Brier skill vs base rate | {_pct(metrics.get('brier_skill'))} |",
        f"| expected calibration error (10 equal-frequency bins) | {_pct(metrics.get('ece'))} |",
        f"| base rate | {_pct(metrics.get('base_rate'))} |",
        "",
        "![reliability](charts/reliability.png) ![capture](charts/lift.png)",
        "",
        "| top share | lift | capture |",
        "|---|---|---|",
        *(
            f"| {r['share']:.0%} | {r['lift']:.2f} | {r['capture']:.2f} |"
            for r in metrics.get("lift", [])
        ),
        "",
        "![amounts](charts/deciles.png)",
        "",
        "| decile | expected (€) | realised (€) |",
        "|---|---|---|",
        *(
            f"| {r['decile']} | {r['expected_cents'] / 100:,.0f} "
            f"| {r['realised_cents'] / 100:,.0f} |"
            for r in metrics.get("deciles", [])
        ),
        "",
        "## Features",
        "",
        f"Feature list version {features.get('version')}: {len(features.get('features', []))} "
        "features, all about the debt and its handling:",
        "",
        ", ".join(f"`{f}`" for f in features.get("features", [])),
        "",
        "Deliberately excluded (DOMAIN §4):",
        "",
        *(f"- `{k}`: {v}" for k, v in features.get("excluded", {}).items()),
        "",
        "## Limits",
        "",
        "- trained on the history the logging policy produced: scores describe what happens under",
        "  that policy, not the effect of an action (that is the recommender's job)",
        "- drift: compare live feature distributions with `reference.json` (PSI)",
        "",
    ]
    return "\n".join(lines)


def written_model_card(
    info: RunInfo, metrics: dict, window: dict, features: dict, extra: dict
) -> Path:
    """Write ``model_card.md`` and its PNG charts into the run folder."""
    charts = info.path / "charts"
    charts.mkdir(exist_ok=True)
    rendered_png(reliability_chart(metrics), charts / "reliability.png")
    rendered_png(lift_chart(metrics), charts / "lift.png")
    rendered_png(deciles_chart(metrics), charts / "deciles.png")
    card = info.path / "model_card.md"
    card.write_text(model_card_text(info, metrics, window, features, extra), encoding="utf-8")
    return card
