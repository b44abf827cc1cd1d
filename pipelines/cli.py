"""The ``relance`` command line: thin — parses arguments, calls functions, shows progress.

Every command works on the home (``--home`` / ``RELANCE_HOME``, default from ``relance.toml``)
and exits 0 on success, 1 with one line per problem on a user mistake.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Relance: collections analytics — build the warehouse, train, score, plan, explore.",
)
mappings_app = typer.Typer(no_args_is_help=True, help="Check source mapping files.")
convert_app = typer.Typer(
    no_args_is_help=True, help="Reshape real public datasets into import kinds."
)
simulate_app = typer.Typer(
    help="Write a synthetic portfolio: sources into raw/, truth into truth/.",
    invoke_without_command=True,
)
train_app = typer.Typer(no_args_is_help=True, help="Train a challenger model.")
evaluate_app = typer.Typer(no_args_is_help=True, help="Out-of-time report of a model run.")
app.add_typer(simulate_app, name="simulate")
app.add_typer(mappings_app, name="mappings")
app.add_typer(convert_app, name="convert")
call_outcomes_app = typer.Typer(
    no_args_is_help=True, help="Call outcomes returned by the phone team."
)
app.add_typer(train_app, name="train")
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(call_outcomes_app, name="call-outcomes")

out = Console(highlight=False, markup=False)
err = Console(stderr=True, highlight=False, markup=False)


class UserError(Exception):
    """A problem the user can fix; printed as one line per problem, exit code 1."""


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj["settings"]


def _home(ctx: typer.Context):
    from pipelines.home import Home

    return Home(_settings(ctx).home)


@app.callback()
def main_options(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Product home (default: RELANCE_HOME, else paths.home)."),
    ] = None,
) -> None:
    """Relance: collections analytics — build the warehouse, train, score, plan, explore."""
    settings = load_settings()
    if home is not None:
        settings = settings.with_home(home)
    ctx.obj = {"settings": settings}


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _print_build(result) -> None:
    table = Table(title=f"build {result.build_id} is current", show_header=True)
    table.add_column("kind")
    table.add_column("staged", justify="right")
    table.add_column("quarantined", justify="right")
    for kind, staged in result.layers["staging"].items():
        quarantined = result.layers["quarantine"][kind]
        if staged or quarantined:
            table.add_row(kind, f"{staged:,}", f"{quarantined:,}")
    out.print(table)
    loaded = sum(f.status == "loaded" for f in result.files)
    dupes = [f for f in result.files if f.status == "duplicate_file"]
    out.print(
        f"rows in {result.raw_rows:,} = staged {result.staged_rows:,} + quarantined "
        f"{result.quarantined_rows:,} · {loaded} files"
        + (f" ({len(dupes)} skipped: same bytes as another file)" if dupes else "")
        + f" · {result.elapsed_seconds:.1f} s"
    )
    if result.by_reason:
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in result.by_reason.items())
        out.print(f"quarantined by reason: {reasons}")
    out.print(f"warehouse: {result.path}")
    if result.validation_report:
        out.print(
            f"validation {result.validation['status']}: {result.validation['warnings']} warnings"
            f" · report: {result.validation_report}"
        )
    if result.previous_id:
        out.print(f"previous build {result.previous_id} kept (`relance rollback` returns to it)")


def run_build(settings: Settings):
    from pipelines.build import built
    from pipelines.home import Home

    home = Home(settings.home)
    with _progress() as bar:
        files = bar.add_task("ingest files", total=None)
        steps = bar.add_task("staging · core · marts", total=None)

        def on_progress(stage: str, name: str, info: dict) -> None:
            if stage == "ingest":
                bar.update(
                    files,
                    total=info["total"],
                    completed=info["n"],
                    description=f"ingest {name[-24:]}",
                )
            elif stage == "validate":
                bar.update(steps, description=f"validate {name}"[:28])
            elif stage in ("staging", "core", "marts"):
                bar.advance(steps)
                bar.update(steps, description=f"{stage} {name}")

        return built(home, settings, on_progress)


@app.command()
def build(ctx: typer.Context) -> None:
    """Ingest every raw file, stage, check and publish a new warehouse build."""
    _print_build(run_build(_settings(ctx)))


@app.command("validate")
def validate_command(ctx: typer.Context) -> None:
    """Re-run every suite on the current build; write the report and the reject files."""
    from pipelines.validate import summary_lines, validated_current

    run, report = validated_current(_home(ctx), _settings(ctx))
    for line in summary_lines(run, report):
        out.print(line)
    if run.critical_failures:
        raise UserError(
            f"{len(run.critical_failures)} critical expectation(s) failed on the current build; "
            f"see {report}"
        )


@app.command()
def rollback(
    ctx: typer.Context,
    to: Annotated[
        str | None, typer.Option(help="Build id to make current (default: the previous one).")
    ] = None,
) -> None:
    """Make the previous build (or --to ID) current again."""
    from pipelines.build import rolled_back

    before, after = rolled_back(_home(ctx), _settings(ctx), to)
    out.print(f"current build: {after} (was {before or 'none'})")


@app.command()
def builds(ctx: typer.Context) -> None:
    """List builds from the state store, newest first, marking the current one."""
    home = _home(ctx)
    current = home.current_id()
    with home.state(read_only=True) as con:
        rows = con.execute(
            "select build_id, status, started_at, raw_rows, staged_rows, quarantined_rows, message "
            "from builds order by started_at desc limit 30"
        ).fetchall()
    if not rows:
        out.print(f"no builds yet under {home.root}; run `relance build`")
        return
    table = Table(show_header=True)
    for name in ("", "build", "status", "started (UTC)", "raw", "staged", "quarantined", "message"):
        table.add_column(name)
    on_disk = set(home.published_ids())
    for build_id, status, started, raw, staged, quarantined, message in rows:
        mark = "*" if build_id == current else ("" if build_id in on_disk else "-")
        table.add_row(
            mark,
            build_id,
            status,
            f"{started:%Y-%m-%d %H:%M:%S}",
            *(f"{v:,}" if v is not None else "" for v in (raw, staged, quarantined)),
            (message or "")[:60],
        )
    out.print(table)
    out.print("* current · - no longer on disk")


def _step_progress(description: str):
    """A progress bar for (name, done, total) callbacks, and the callback."""
    bar = _progress()
    task = bar.add_task(description, total=None)

    def on_progress(name: str, done: int, total: int) -> None:
        bar.update(task, total=total, completed=done, description=f"{description} {name}"[:28])

    return bar, on_progress


@simulate_app.callback()
def simulate(
    ctx: typer.Context,
    cases: Annotated[int | None, typer.Option(help="Cases (default: demo.cases).")] = None,
    months: Annotated[
        int | None, typer.Option(help="Months of history (default: demo.months).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: demo.seed).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a non-empty raw/.")] = False,
) -> None:
    """Write a synthetic portfolio: sources into raw/, truth into truth/."""
    if ctx.invoked_subcommand is not None:
        return
    from pipelines.simulate import simulated

    settings = _settings(ctx)
    bar, on_progress = _step_progress("simulate")
    n_cases = cases or int(settings.get("demo.cases"))
    with bar:
        summary = simulated(
            _home(ctx),
            settings,
            n_cases,
            months or int(settings.get("demo.months")),
            settings.get("demo.seed") if seed is None else seed,
            force,
            on_progress,
        )
    _print_simulation(summary, n_cases, _home(ctx))


def _print_simulation(summary: dict, cases: int, home) -> None:
    rows = summary.get("rows", {})
    out.print(
        f"simulated {cases:,} cases: {summary.get('files', 0):,} files, "
        f"{sum(rows.values()):,} rows in {summary.get('seconds', 0):.1f} s → {home.raw}"
    )
    if rows:
        out.print("rows by kind: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    out.print(f"truth (latent traits, planted violations) → {home.truth}")


@simulate_app.command("truth")
def simulate_truth(ctx: typer.Context) -> None:
    """Monte Carlo truth of every action in the evaluation weeks (minutes; outside the demo)."""
    from pipelines.simulate import truth_computed

    bar, on_progress = _step_progress("truth")
    with bar:
        summary = truth_computed(_home(ctx), _settings(ctx), on_progress)
    out.print(f"truth written to {_home(ctx).truth} in {summary.get('seconds', 0):.0f} s")
    for key, value in summary.items():
        if key != "seconds":
            out.print(f"  {key}: {value}")


@mappings_app.command("check")
def mappings_check(ctx: typer.Context) -> None:
    """Validate every source's mapping.toml against its files (no build)."""
    from pipelines.mappingcheck import mapping_report

    lines, problems = mapping_report(_home(ctx).root, _settings(ctx))
    for line in lines:
        out.print(line)
    if problems:
        raise UserError("\n".join(problems))
    out.print("mappings: all files readable")


@convert_app.command("uci-taiwan")
def convert_uci_taiwan(
    ctx: typer.Context,
    src: Annotated[
        Path | None, typer.Option(help="UCI_Credit_Card.csv (default: from paths.external_data).")
    ] = None,
    source: Annotated[str, typer.Option(help="Folder name under raw/.")] = "uci_taiwan",
) -> None:
    """Reshape the UCI Taiwan credit-card file into placements, account status and labels."""
    from pipelines.convert.uci_taiwan import UciTaiwanError, converted_uci_taiwan

    settings = _settings(ctx)
    path = src or settings.external_data / "uci_taiwan_credit_card_default" / "UCI_Credit_Card.csv"
    if not path.exists():
        raise UserError(f"{path}: not found; pass --src or set paths.external_data")
    dest = _home(ctx).ensure().raw / source
    try:
        counts = converted_uci_taiwan(path, dest)
    except UciTaiwanError as exc:
        raise UserError(str(exc)) from None
    for name, n in counts.items():
        out.print(f"{dest / name}: {n:,} rows")
    out.print("now run `relance build`")


@convert_app.command("lendingclub")
def convert_lendingclub(
    ctx: typer.Context,
    src_dir: Annotated[
        Path | None,
        typer.Argument(
            help="Folder of the four lc_sample_*.csv files (default: from paths.external_data)."
        ),
    ] = None,
    source: Annotated[str, typer.Option(help="Folder name under raw/.")] = "lendingclub",
) -> None:
    """Reshape the LendingClub charged-off loans into placements, account status and labels."""
    from pipelines.convert.lendingclub import LendingClubError, converted_lendingclub

    settings = _settings(ctx)
    folder = src_dir or settings.external_data / "lendingclub_loan_samples"
    if not folder.is_dir():
        raise UserError(f"{folder}: not found; pass SRC_DIR or set paths.external_data")
    dest = _home(ctx).ensure().raw / source
    try:
        result = converted_lendingclub(folder, dest)
    except LendingClubError as exc:
        raise UserError(str(exc)) from None
    for name, n in result.files.items():
        out.print(f"{dest / name}: {n:,} rows")
    out.print(
        f"{sum(result.charged_off.values()):,} charged-off loans; repeated ids dropped: "
        f"{result.duplicates_dropped:,}; nothing outstanding: {result.skipped_no_outstanding:,}"
    )
    out.print("now run `relance build`")


EXPERIMENT_FOLDERS = {
    "hillstrom": "hillstrom_email",
    "karlan-list": "karlan_list_2007_charitable_mail",
    "bank-debt-recovery": "bank_debt_recovery_strategy",
}


@convert_app.command("experiment")
def convert_experiment(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="hillstrom, karlan-list or bank-debt-recovery.")],
    source: Annotated[
        str | None, typer.Option(help="Folder name under raw/ (default: the dataset's name).")
    ] = None,
) -> None:
    """Reshape a public randomised trial (or strategy log) into the `experiments` import kind."""
    from pipelines.convert.experiments import converted

    if dataset not in EXPERIMENT_FOLDERS:
        raise UserError(f"{dataset!r}: choose one of {', '.join(EXPERIMENT_FOLDERS)}")
    settings = _settings(ctx)
    dest = _home(ctx).ensure().raw / (source or dataset.replace("-", "_"))
    try:
        counts = converted(settings.external_data, EXPERIMENT_FOLDERS[dataset], dest)
    except FileNotFoundError as exc:
        raise UserError(f"{exc}; set paths.external_data") from None
    for name, n in counts.items():
        out.print(f"{dest / name}: {n:,} rows" if isinstance(n, int) else f"{name}: {n}")
    out.print("now run `relance build`")


@app.command()
def demo(
    ctx: typer.Context,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after the pipeline; do not start the app.")
    ] = False,
    port: Annotated[int | None, typer.Option(help="App port (default: app.port).")] = None,
) -> None:
    """Simulate the default portfolio, build, train and promote a scorer, score, plan the week,
    then serve."""
    from pipelines.demo import simulated_demo_raw

    settings = _settings(ctx)
    bar, on_progress = _step_progress("simulate")
    with bar:
        summary = simulated_demo_raw(_home(ctx), settings, on_progress)
    if summary is None:
        out.print(f"{_home(ctx).raw} already holds data: building it as it is")
    else:
        _print_simulation(summary, int(settings.require("demo.cases")), _home(ctx))
    _print_build(run_build(settings))
    from pipelines.demo import demo_champion

    info, result = demo_champion(_home(ctx), settings, lambda message: err.print(message))
    if info is not None:
        out.print(f"scorer run {info.run_id} trained and promoted champion")
        _print_metrics(info.metrics)
    _print_scores(result)
    from pipelines.demo import demo_closing, demo_plan

    week = demo_plan(_home(ctx), settings)
    _print_plan(week)
    out.print(demo_closing(week, _home(ctx)))
    if not no_serve:
        serve(settings, port)


# -- the scorer: train, evaluate, models, promote, score --------------------------------------


def _as_of(text: str | None):
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--as-of {text!r}: give a date as YYYY-MM-DD") from None


def _fmt(value, spec: str = "{:.3f}") -> str:
    return "n/a" if value is None else spec.format(value)


def _print_metrics(metrics: dict) -> None:
    window = metrics.get("training_window", {})
    ci = metrics.get("auc_gain_ci95") or [None, None]
    out.print(
        f"test {window.get('test_from')} → {window.get('test_to')}: "
        f"{metrics.get('n_test_rows', 0):,} rows, {metrics.get('n_test_cases', 0):,} cases, "
        f"base rate {_fmt(metrics.get('base_rate'))}"
    )
    out.print(
        f"ROC AUC {_fmt(metrics.get('roc_auc'))} (logistic baseline "
        f"{_fmt(metrics.get('baseline_roc_auc'))}, gain 95 % CI [{_fmt(ci[0])}, {_fmt(ci[1])}])"
        f" · PR AUC {_fmt(metrics.get('pr_auc'))} · Brier {_fmt(metrics.get('brier'))} "
        f"(skill {_fmt(metrics.get('brier_skill'))}) · ECE {_fmt(metrics.get('ece'))}"
        + (
            f" · oracle AUC {_fmt(metrics.get('oracle_auc'))} (model on the same cases "
            f"{_fmt(metrics.get('oracle_model_auc'))})"
            if metrics.get("oracle_auc") is not None
            else ""
        )
    )


def _print_scores(result) -> None:
    bands = " ".join(f"{band} {n:,}" for band, n in result.by_band.items())
    out.print(
        f"scored {result.cases:,} open cases as of {result.as_of} with run {result.run_id} "
        f"({result.seconds:.1f} s): {bands}; expected {result.expected_cents / 100:,.0f} "
        "over the horizon"
    )


@train_app.command("scorer")
def train_scorer(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option(help="Train on what was known before this date (default: everything)."),
    ] = None,
    horizon: Annotated[
        int | None, typer.Option(help="Label horizon in days (default: objective.horizon_days).")
    ] = None,
) -> None:
    """Train a challenger scorer on the current build; write artefacts, metrics, model card."""
    from pipelines.train import trained_scorer

    if horizon is not None and horizon < 1:
        raise UserError(f"--horizon {horizon}: give a positive number of days")
    info = trained_scorer(
        _home(ctx), _settings(ctx), _as_of(as_of), horizon, lambda m: err.print(m)
    )
    out.print(f"scorer run {info.run_id} written to {info.path}")
    _print_metrics(info.metrics)
    out.print(f"model card: {info.path / 'model_card.md'}")
    out.print(f"make it champion: relance promote {info.run_id}")


@evaluate_app.command("scorer")
def evaluate_scorer(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option(help="Run id (default: the champion).")] = None,
) -> None:
    """Re-evaluate a scorer run on its test months of the current build (default: champion)."""
    from pipelines.train import evaluated

    info, metrics = evaluated(_home(ctx), _settings(ctx), run)
    out.print(f"scorer run {info.run_id}{' (champion)' if info.is_champion else ''}")
    _print_metrics({**info.metrics, **metrics})
    out.print(f"model card: {info.path / 'model_card.md'}")


@train_app.command("recommender")
def train_recommender(ctx: typer.Context) -> None:
    """Train a challenger recommender (uplift per action) on the current build's decision log."""
    from pipelines.recommend import trained_recommender

    summary = trained_recommender(_home(ctx), _settings(ctx), lambda m: err.print(m))
    _print_recommender(summary)
    out.print(f"make it champion: relance promote {summary['run_id']}")


@evaluate_app.command("recommender")
def evaluate_recommender(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option(help="Run id (default: the champion).")] = None,
) -> None:
    """Off-policy report of a recommender run on its held-out randomised decisions."""
    from pipelines.recommend import evaluated_recommender

    _print_recommender(evaluated_recommender(_home(ctx), _settings(ctx), run))


def _print_recommender(summary: dict) -> None:
    shown = (
        "run_id",
        "fallback",
        "best_fixed_action",
        "dr_value_learned",
        "dr_value_best_fixed",
        "difference_vs_best_fixed",
        "rows",
        "training_rows",
        "report",
        "path",
    )
    for key in shown:
        if key in summary:
            out.print(f"{key}: {summary[key]}")


def _print_recommender_runs(home) -> None:
    from pipelines.recommend import KIND, registry

    runs = registry(home).runs(KIND)
    if not runs:
        out.print("no recommender runs yet; run `relance train recommender`")
        return
    out.print("recommender runs (* champion; DR value on held-out randomised decisions, cents):")
    for r in runs:
        value = r.metrics.get("dr_value_heldout_randomised")
        out.print(
            f"{'*' if r.is_champion else ' '} {r.run_id}  {r.created_at}  {_fmt(value, '{:.0f}')}"
        )


@app.command()
def models(ctx: typer.Context) -> None:
    """List model runs, newest first, marking the champion."""
    from pipelines.train import run_rows

    _print_recommender_runs(_home(ctx))
    rows = run_rows(_home(ctx))
    if not rows:
        out.print("no scorer runs yet; run `relance train scorer`")
        return
    table = Table(show_header=True, title="scorer runs")
    for name in ("", "run", "created (UTC)", "as of", "AUC", "baseline", "Brier skill", "ECE"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            "*" if r["champion"] else "",
            r["run_id"],
            r["created_at"],
            r["as_of"] or "",
            _fmt(r["roc_auc"]),
            _fmt(r["baseline_roc_auc"]),
            _fmt(r["brier_skill"]),
            _fmt(r["ece"]),
        )
    out.print(table)
    out.print("* champion")


@app.command()
def promote(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run id to make champion.")],
    force: Annotated[
        bool, typer.Option("--force", help="Promote even a worse challenger (needs --reason).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why (recorded with the promotion).")] = None,
) -> None:
    """Make a run champion after comparing it with the current one on unseen months."""
    from pipelines.recommend import promoted_recommender, registry
    from pipelines.train import promoted

    home = _home(ctx)
    if (registry(home).kind_dir("recommender") / run).is_dir():
        done = promoted_recommender(home, _settings(ctx), run, force, reason)
        out.print(f"recommender champion: {run}")
        for key, value in done.items():
            out.print(f"  {key}: {value}")
        return
    done = promoted(home, _settings(ctx), run, force, reason)
    comparison = done["comparison"]
    if comparison:
        out.print(
            f"{comparison['metric']} on {comparison['window_from']} → "
            f"{comparison['window_to']} ({comparison['rows']:,} rows): challenger "
            f"{comparison['challenger']:.4f}, champion {comparison['champion']:.4f}"
        )
    out.print(
        f"scorer champion: {run} (was {done['previous_run_id'] or 'none'})"
        + (" — forced, reason recorded" if done["forced"] else "")
    )


@app.command()
def score(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option(help="Snapshot date (default: the day after the build's latest data)."),
    ] = None,
) -> None:
    """Score every open case with the champion; write scores to the state store."""
    from pipelines.score import scored

    _print_scores(scored(_home(ctx), _settings(ctx), _as_of(as_of)))


# -- the weekly plan: plan, approve, call outcomes --------------------------------------------


def _euros(cents: int) -> str:
    """``1 234,56 €`` (narrow no-break space between thousands, as the app shows money)."""
    text = f"{cents / 100:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0€"


def _print_plan(result) -> None:
    out.print(
        f"plan {result.iso_week} (as of {result.as_of}, build {result.build_id}): "
        f"{result.policy_source} · policy {result.policy_id}"
        + (
            f" · runs {', '.join(f'{k} {v}' for k, v in result.run_ids.items())}"
            if result.run_ids
            else ""
        )
    )
    if result.note:
        out.print(f"note: {result.note}")
    out.print(
        f"{result.open_cases:,} open cases · {result.eligible:,} eligible · "
        f"{result.specialist:,} to the specialist queue"
    )
    for reason, n in sorted(result.excluded_by_reason.items(), key=lambda kv: -kv[1]):
        out.print(f"  excluded, {reason}: {n:,}")
    out.print(
        f"call list: {result.listed:,} debtors, {result.attempts_planned:,} of "
        f"{result.capacity:,} attempts ({result.capacity_used:.0%} of capacity), expected "
        f"incremental value {_euros(result.expected_incremental_cents)} over each debtor's "
        f"best non-call action; the whole plan {_euros(result.plan_uplift_cents)} over waiting "
        "(value = commission × amount − cost − λ × complaints)"
    )
    batches = " · ".join(f"{channel} {n:,}" for channel, n in result.batches.items())
    out.print(
        f"batches: {batches} · formal notices {result.formal_notices_approved:,} approved of "
        f"{result.formal_notices_requested:,} requested · explored {result.explored:,} · "
        f"control holdout {result.holdout:,}"
    )
    out.print(f"list {result.list_id} ({result.seconds:.1f} s):")
    for path in result.files:
        out.print(f"  {path}")


@app.command()
def plan(
    ctx: typer.Context,
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W47 (default: the week after the data's end)."),
    ] = None,
    capacity: Annotated[
        int | None,
        typer.Option(help="Call attempts this week (default: team size × attempts per day)."),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Who exports the plan (default: the login name).")
    ] = None,
) -> None:
    """The weekly contact plan: call list, channel batches, specialist queue, approvals."""
    from pipelines.plan import planned

    if capacity is not None and capacity < 0:
        raise UserError(f"--capacity {capacity}: give a number of call attempts (0 or more)")
    _print_plan(planned(_home(ctx), _settings(ctx), week, capacity, user))


@app.command()
def approve(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The approvals file (from exports/approvals/).")],
    user: Annotated[str, typer.Option(help="Who approves.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with each approval).")],
) -> None:
    """Record human approvals of formal notices (GDPR Art. 22) with user and reason."""
    from pipelines.approvals import approved

    result = approved(_home(ctx), _settings(ctx), file, user, reason)
    weeks = ", ".join(result.weeks)
    out.print(
        f"{result.rows:,} approval(s) recorded for {weeks} by {result.approved_by}; "
        f"run `relance plan --week {result.weeks[0] if result.weeks else 'W'}` to send them"
    )


@call_outcomes_app.command("load")
def call_outcomes_load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Outcomes keyed by list and line ids.")],
) -> None:
    """Check call outcomes against the exported lists and stage them as agency files."""
    from pipelines.call_outcomes import call_outcomes_loaded

    result = call_outcomes_loaded(_home(ctx), _settings(ctx), file)
    counts = " · ".join(f"{outcome} {n:,}" for outcome, n in sorted(result.by_outcome.items()))
    out.print(f"{result.rows:,} call outcomes: {counts}")
    for path in result.files:
        out.print(f"  {path}")
    out.print("run `relance build` to ingest them")


def serve(settings: Settings, port: int | None) -> None:
    """Run the Streamlit app on 127.0.0.1 (headless, no usage statistics) until interrupted."""
    script = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
    chosen = port or int(settings.get("app.port", 8501))
    address = str(settings.get("app.address", "127.0.0.1"))
    env = {**os.environ, "RELANCE_HOME": str(settings.home.resolve())}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.address",
        address,
        "--server.port",
        str(chosen),
    ]
    out.print(f"Relance app on http://{address}:{chosen} (Ctrl+C stops it)")
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run(command, env=env, check=False)


@app.command("app")
def app_command(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option(help="Port (default: app.port in relance.toml).")
    ] = None,
) -> None:
    """Serve the Streamlit app on 127.0.0.1 (headless, no usage statistics)."""
    serve(_settings(ctx), port)


@app.command()
def bench(
    ctx: typer.Context,
    cases: Annotated[int, typer.Option(help="Portfolio size in cases.")] = 100_000,
    out_file: Annotated[Path, typer.Option("--out", help="JSON file for the figures.")] = Path(
        "docs/bench.json"
    ),
    stages: Annotated[
        str | None, typer.Option(help="Comma-separated stages (default: all).")
    ] = None,
    reuse_home: Annotated[
        bool, typer.Option("--reuse-home", help="Keep and reuse the bench home's raw files.")
    ] = False,
) -> None:
    """Measure every stage at N cases (time, peak RSS, rows/s, bytes, read floor) into JSON."""
    from pipelines.bench import benchmarked

    result = benchmarked(_settings(ctx), cases, out_file, stages, reuse_home, out)
    out.print(f"bench figures written to {out_file} ({len(result['stages'])} stages)")


def main() -> None:
    """Console entry point: run the app, turning user mistakes into one-line errors."""
    from models.registry import RegistryError
    from pipelines.bench import BenchError
    from pipelines.features import FeatureError
    from pipelines.home import HomeError
    from pipelines.ingest import IngestError
    from pipelines.mappings.loader import MappingError
    from pipelines.plan import PlanError
    from pipelines.recommend import RecommenderError
    from pipelines.simulate import SimulationError
    from pipelines.train import ScorerError
    from pipelines.warehouse import BuildError

    user_errors = (
        UserError,
        HomeError,
        IngestError,
        MappingError,
        SettingsError,
        BuildError,
        SimulationError,
        BenchError,
        ScorerError,
        RegistryError,
        FeatureError,
        PlanError,
        RecommenderError,
    )
    try:
        app(standalone_mode=False)
    except user_errors as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            err.print(f"error: {line}", soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
