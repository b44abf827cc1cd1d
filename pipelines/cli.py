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
app.add_typer(simulate_app, name="simulate")
app.add_typer(mappings_app, name="mappings")
app.add_typer(convert_app, name="convert")

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
    from pipelines.convert.uci_taiwan import converted_uci_taiwan

    settings = _settings(ctx)
    path = src or settings.external_data / "uci_taiwan_credit_card_default" / "UCI_Credit_Card.csv"
    if not path.exists():
        raise UserError(f"{path}: not found; pass --src or set paths.external_data")
    dest = _home(ctx).ensure().raw / source
    counts = converted_uci_taiwan(path, dest)
    for name, n in counts.items():
        out.print(f"{dest / name}: {n:,} rows")
    out.print("now run `relance build`")


@app.command()
def demo(
    ctx: typer.Context,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after the pipeline; do not start the app.")
    ] = False,
    port: Annotated[int | None, typer.Option(help="App port (default: app.port).")] = None,
) -> None:
    """Simulate the default portfolio, build it, then serve the app."""
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
    if not no_serve:
        serve(settings, port)


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
    from pipelines.bench import BenchError
    from pipelines.home import HomeError
    from pipelines.ingest import IngestError
    from pipelines.mappings.loader import MappingError
    from pipelines.simulate import SimulationError
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
