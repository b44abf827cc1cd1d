"""Validation on the pipelines side: run the data contracts on a warehouse, gate the publish,
keep the history in the state store, and write the report and the reject files.

* ``checked_before_publish(con, settings)`` — inside ``build.built``, after ``lost_rows`` and
  before the commit/rename: runs every suite on the build's connection and raises
  ``ContractFailed`` (a ``warehouse.BuildError``) when a critical expectation fails, so the
  previous build stays current.
* ``after_validation(home, settings, build_id, run, warehouse_path, trigger)`` — records the run
  in the state store (``validation_runs``, ``validation_results``) and writes
  ``<home>/docs/validation/<build id>.html`` (and ``index.html`` for a published build) and the
  per-creditor reject files; returns the report path.
* ``validated_current(home, settings)`` — ``relance validate``: every suite on the current build.

Settings (``[validation]`` in relance.toml): ``sample_rows`` (default 50,000 — the rows GX sees per
table; SQL checks always read every row) and ``seed`` (the reservoir sample's seed).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from data_contracts.gate import ContractError, gate, gate_message
from data_contracts.runner import DEFAULT_SAMPLE_ROWS, DEFAULT_SEED, ValidationRun, validated
from data_contracts.suites import Suite, loaded_suites
from pipelines import warehouse
from pipelines.home import Home, utc_now
from pipelines.ingest import MOJIBAKE
from pipelines.kinds import KINDS, ImportKind
from pipelines.settings import Settings

VALIDATION_DDL = (
    """
    create table if not exists validation_runs (
      run_id varchar primary key,
      build_id varchar,
      trigger varchar not null,         -- build, revalidate
      started_at timestamp not null,
      seconds double,
      sample_rows bigint,
      suites integer,
      expectations integer,
      failed_critical integer,
      failed_warning integer,
      status varchar not null,          -- passed, warnings, failed
      report_path varchar
    )
    """,
    """
    create table if not exists validation_results (
      run_id varchar not null,
      build_id varchar,
      suite varchar not null,
      layer varchar not null,
      table_name varchar not null,
      expectation_index integer not null,
      expectation_type varchar not null,
      column_name varchar,
      severity varchar not null,
      rule varchar,
      engine varchar not null,          -- sql (whole table) or gx (sample)
      success boolean not null,
      unexpected_count bigint,
      checked_rows bigint,
      sampled boolean,
      examples json,
      error varchar,
      message varchar
    )
    """,
)


class ContractFailed(warehouse.BuildError):
    """A critical expectation failed; the build is not published. ``run`` has every outcome."""

    def __init__(self, message: str, run: ValidationRun) -> None:
        super().__init__(message)
        self.run = run


@dataclass(frozen=True)
class Options:
    sample_rows: int
    seed: int


def options(settings: Settings) -> Options:
    return Options(
        int(settings.get("validation.sample_rows", DEFAULT_SAMPLE_ROWS)),
        int(settings.get("validation.seed", DEFAULT_SEED)),
    )


# -- file-level profiles ----------------------------------------------------------------------


def _text_columns(k: ImportKind) -> list[str]:
    return [c.name for c in k.columns if c.type == "text"]


def file_profile_sql(k: ImportKind) -> str:
    """One row per received file of kind ``k`` (the relation of suite ``files.<kind>``):
    ``source_file, data_rows, malformed_rows, readable_share, missing_required,
    mojibake_rows``."""
    missing = ", ".join(
        f"case when count(r.{c}) = 0 then '{c}' end" for c in k.required if c in k.column_names
    )
    text = _text_columns(k)
    pattern = MOJIBAKE.pattern.replace("'", "''")
    joined = ", ".join(f"r.{c}" for c in text)
    mojibake = (
        f"count(*) filter (where regexp_matches(concat_ws('|', {joined}), '{pattern}'))"
        if text
        else "0"
    )
    return (
        "(select f.source_file, count(r.file_id)::bigint as data_rows, "
        "count(r.reader_error)::bigint as malformed_rows, "
        "1.0 - count(r.reader_error) / greatest(count(r.file_id), 1) as readable_share, "
        f"nullif(concat_ws(', ', {missing or 'null'}), '') as missing_required, "
        f"{mojibake}::bigint as mojibake_rows "
        f"from raw.files as f left join raw.{k.name} as r using (file_id) "
        f"where f.kind = '{k.name}' group by f.source_file)"
    )


def sources() -> dict[str, str]:
    """The relation of every file-level suite (the others read ``<layer>.<table>``)."""
    return {f"files.{name}": file_profile_sql(k) for name, k in KINDS.items()}


# -- running ----------------------------------------------------------------------------------


def validation_of(
    con,
    settings: Settings,
    suites: list[Suite] | None = None,
    on_suite: Callable[[str, int, int], None] | None = None,
) -> ValidationRun:
    """Every suite (or ``suites``) on the warehouse behind ``con``; never raises on failures."""
    opts = options(settings)
    return validated(
        con,
        loaded_suites() if suites is None else suites,
        sample_rows=opts.sample_rows,
        seed=opts.seed,
        sources=sources(),
        on_suite=on_suite,
    )


def checked_before_publish(
    con, settings: Settings, on_suite: Callable[[str, int, int], None] | None = None
) -> ValidationRun:
    """Validate the build on its own connection; raise ``ContractFailed`` (first line: table,
    column, rule, expectation, example value) when a critical expectation failed."""
    run = validation_of(con, settings, on_suite=on_suite)
    try:
        return gate(run)
    except ContractError as exc:
        raise ContractFailed(str(exc), run) from None


def validated_current(
    home: Home, settings: Settings, on_suite: Callable[[str, int, int], None] | None = None
) -> tuple[ValidationRun, Path]:
    """``relance validate``: every suite on the current build (read-only), recorded in the state
    store and rendered; return the run and the report path (the caller decides the exit code
    from ``run.status``)."""
    path = home.current_path()
    build_id = home.current_id()
    con = warehouse.connect(path, settings, read_only=True)
    try:
        run = validation_of(con, settings, on_suite=on_suite)
    finally:
        con.close()
    report = after_validation(home, settings, build_id, run, path, trigger="revalidate")
    return run, report


# -- history, report, rejects -----------------------------------------------------------------


def recorded(
    home: Home,
    settings: Settings,
    build_id: str | None,
    run: ValidationRun,
    trigger: str,
    report_path: Path | None = None,
) -> str:
    """Write the run and every outcome to the state store; return the run id."""
    from pipelines.ingest import insert_rows

    run_id = f"{utc_now():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    with home.state(settings.get("build.writer_retry_seconds", 10)) as con:
        for ddl in VALIDATION_DDL:
            con.execute(ddl)
        con.execute(
            "insert into validation_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                build_id,
                trigger,
                run.started_at,
                round(run.seconds, 3),
                run.sample_rows,
                len(run.suites),
                len(run.outcomes),
                len(run.critical_failures),
                len(run.warnings),
                run.status,
                str(report_path) if report_path else None,
            ],
        )
        insert_rows(
            con,
            "validation_results",
            [
                {
                    "run_id": run_id,
                    "build_id": build_id,
                    "suite": o.suite,
                    "layer": o.layer,
                    "table_name": o.table,
                    "expectation_index": o.index,
                    "expectation_type": o.expectation,
                    "column_name": o.column,
                    "severity": o.severity,
                    "rule": o.rule,
                    "engine": o.engine,
                    "success": o.success,
                    "unexpected_count": o.unexpected_count,
                    "checked_rows": o.checked_rows,
                    "sampled": o.sampled,
                    "examples": json.dumps(o.examples, ensure_ascii=False),
                    "error": o.error,
                    "message": o.message,
                }
                for o in run.outcomes
            ],
        )
    return run_id


def after_validation(
    home: Home,
    settings: Settings,
    build_id: str | None,
    run: ValidationRun,
    warehouse_path: Path | None,
    trigger: str = "build",
    published: bool = True,
) -> Path:
    """Write the reject files (from ``warehouse_path`` when it still exists) and the report, then
    record the run; return the report path (``docs/validation/index.html`` when ``published``,
    else ``docs/validation/<build id>.html``)."""
    from pipelines import reports

    rejects: list[reports.RejectFile] = []
    if warehouse_path is not None and Path(warehouse_path).exists() and published:
        con = warehouse.connect(warehouse_path, settings, read_only=True)
        try:
            rejects = reports.written_rejects(con, home)
        finally:
            con.close()
    report = reports.written_report(home, build_id, run, rejects, published=published)
    recorded(home, settings, build_id, run, trigger, report)
    return report


def summary_lines(run: ValidationRun, report: Path | None = None) -> list[str]:
    """What the CLI prints: totals, each failed expectation (critical first), the report."""
    total = len(run.outcomes)
    lines = [
        f"validation {run.status}: {len(run.suites)} suites, {total:,} expectations, "
        f"{len(run.critical_failures)} critical and {len(run.warnings)} warning failures "
        f"in {run.seconds:.1f} s (GX sample ≤ {run.sample_rows:,} rows a table)"
    ]
    for o in run.critical_failures + run.warnings:
        lines.append(f"  {o.severity}: {o.message}")
    if report is not None:
        lines.append(f"validation report: {report}")
    return lines


__all__ = [
    "VALIDATION_DDL",
    "ContractFailed",
    "after_validation",
    "checked_before_publish",
    "file_profile_sql",
    "gate_message",
    "recorded",
    "sources",
    "summary_lines",
    "validated_current",
    "validation_of",
]


def prewarmed():
    """Start importing Great Expectations in a background thread (≈2.5 s of imports) so that
    the gate does not pay for it after the SQL steps; return the thread. Call at the start of
    a build; importing twice is harmless (Python's import lock serialises it)."""
    import threading

    from data_contracts import runner

    thread = threading.Thread(target=runner._gx, name="gx-import", daemon=True)
    thread.start()
    return thread
