"""``relance build`` and ``relance rollback``: a new warehouse file, published atomically.

A build takes the home's build lock, ingests every file under ``raw/`` into a new
``builds/<id>.duckdb.partial``, runs the SQL steps of ``warehouse.py``, checks that nothing was
lost, renames the file and only then switches ``builds/current``. A build that fails or is
killed leaves the previous build current and readable; the ingest ledger and the build history
go to the state store either way.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import ingest, validate, warehouse
from pipelines.home import Home, HomeError, new_build_id, utc_now
from pipelines.settings import Settings

Progress = Callable[[str, str, dict], None]


@dataclass
class BuildResult:
    """What a published build did."""

    build_id: str
    path: Path
    previous_id: str | None
    raw_rows: int
    staged_rows: int
    quarantined_rows: int
    by_reason: dict[str, int]
    layers: dict[str, dict[str, int]]
    files: list[ingest.LoadedFile]
    elapsed_seconds: float
    pruned: list[str] = field(default_factory=list)
    validation_report: Path | None = None
    validation: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "build_id": self.build_id,
            "previous_build_id": self.previous_id,
            "raw_rows": self.raw_rows,
            "staged_rows": self.staged_rows,
            "quarantined_rows": self.quarantined_rows,
            "quarantined_by_reason": self.by_reason,
            "files_loaded": sum(f.status == "loaded" for f in self.files),
            "files_skipped_as_duplicates": sum(f.status == "duplicate_file" for f in self.files),
            "elapsed_seconds": round(self.elapsed_seconds, 2),
            "tables": self.layers,
            "validation": self.validation,
        }


def _record_start(home: Home, settings: Settings, build_id: str) -> None:
    with home.state(settings.get("build.writer_retry_seconds", 10)) as con:
        con.execute(
            "insert into builds (build_id, started_at, status, settings_hash) values (?, ?, ?, ?)",
            [build_id, utc_now(), "running", settings.fingerprint],
        )


def _record_end(
    home: Home,
    settings: Settings,
    build_id: str,
    status: str,
    message: str,
    result: BuildResult | None,
    files: list[ingest.LoadedFile],
    counts: dict[int, tuple[int, int]],
) -> None:
    now = utc_now()
    with home.state(settings.get("build.writer_retry_seconds", 10)) as con:
        con.execute(
            """
            update builds set finished_at = ?, status = ?, message = ?, raw_rows = ?,
              staged_rows = ?, quarantined_rows = ?, summary = ?
            where build_id = ?
            """,
            [
                now,
                status,
                message,
                result.raw_rows if result else None,
                result.staged_rows if result else None,
                result.quarantined_rows if result else None,
                json.dumps(result.summary()) if result else None,
                build_id,
            ],
        )
        rows = []
        for f in files:
            staged, quarantined = counts.get(f.file_id or -1, (None, None))
            rows.append(
                {
                    "build_id": build_id,
                    "source": f.source,
                    "kind": f.kind,
                    "source_file": f.source_file,
                    "file_sha256": f.sha256,
                    "received_date": f.received_date,
                    "bytes": f.bytes,
                    "raw_rows": f.raw_rows,
                    "staged_rows": staged,
                    "quarantined_rows": quarantined,
                    "status": f.status,
                    "message": f.message,
                    "seen_at": now,
                }
            )
        ingest.insert_rows(con, "ingest_ledger", rows)
        if status == "published" and result is not None:
            con.execute(
                "insert into pointer_history values (?, ?, ?, 'publish')",
                [now, build_id, result.previous_id],
            )


def built(home: Home, settings: Settings, progress: Progress | None = None) -> BuildResult:
    """Build the warehouse from ``raw/`` and publish it; return what it did.

    Raises ``HomeError`` when another build holds the lock, ``ingest.IngestError`` when files
    are refused, ``warehouse.BuildError`` when an invariant fails; the previous build stays
    current in every case.
    """
    notify = progress or (lambda stage, name, info: None)
    home.ensure()
    with home.build_lock():
        validate.prewarmed()
        for stale in home.stale_partials():
            stale.unlink(missing_ok=True)
        build_id = new_build_id()
        previous = home.current_id()
        partial = home.partial_path(build_id)
        _record_start(home, settings, build_id)
        started = time.perf_counter()
        files: list[ingest.LoadedFile] = []
        counts: dict[int, tuple[int, int]] = {}
        con = warehouse.connect(partial, settings)
        try:
            # No build-wide transaction: at 1,000,000 cases DuckDB 2.0 did not show later
            # statements every row appended earlier in the same transaction (the nothing-lost
            # check caught it). Statements autocommit; the partial file is private anyway.
            warehouse.create_raw_schema(con)

            def on_file(entry: ingest.LoadedFile, n: int, total: int) -> None:
                files.append(entry)
                notify(
                    "ingest", entry.source_file, {"n": n, "total": total, "rows": entry.raw_rows}
                )

            report = ingest.ingested(con, home.root, settings, partial.parent / ".tmp", on_file)
            layers = warehouse.transformed(
                con, settings, lambda layer, name, c: notify(layer, name, c)
            )
            lost = warehouse.lost_rows(con)
            if lost:
                lines = [f"{f}: raw {r} ≠ staged {s} + quarantined {q}" for f, _, r, s, q in lost]
                raise warehouse.BuildError("rows lost — " + "; ".join(lines))
            run = validate.checked_before_publish(
                con,
                settings,
                lambda name, n, total: notify("validate", name, {"n": n, "total": total}),
            )
            counts = warehouse.file_counts(con)
            by_reason = warehouse.quarantine_by_reason(con)
            con.execute("checkpoint")
            con.close()
            final = home.build_path(build_id)
            partial.rename(final)
            home.switch_current(build_id)
            result = BuildResult(
                build_id=build_id,
                path=final,
                previous_id=previous,
                raw_rows=report.raw_rows,
                staged_rows=sum(layers["staging"].values()),
                quarantined_rows=sum(layers["quarantine"].values()),
                by_reason=by_reason,
                layers=layers,
                files=report.files,
                elapsed_seconds=time.perf_counter() - started,
            )
            result.pruned = home.pruned(int(settings.get("build.keep", 5)))
            notify("publish", build_id, result.summary())
        except BaseException as exc:
            with contextlib.suppress(Exception):  # already failing: the original error matters
                con.close()
            partial.unlink(missing_ok=True)
            for refused in str(exc).splitlines() if isinstance(exc, ingest.IngestError) else []:
                name = refused.split(":", 1)[0]
                files.append(
                    ingest.LoadedFile("", None, name, "", 0, None, "refused", message=refused)
                )
            if isinstance(exc, validate.ContractFailed):
                with contextlib.suppress(Exception):
                    validate.after_validation(
                        home, settings, build_id, exc.run, None, trigger="build", published=False
                    )
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            _record_end(home, settings, build_id, "failed", message, None, files, counts)
            raise
        _record_end(home, settings, build_id, "published", "", result, report.files, counts)
        # after the publish: a state-store hiccup here cannot mark a published build as failed
        result.validation_report = validate.after_validation(
            home, settings, build_id, run, result.path
        )
        result.validation = {
            "status": run.status,
            "failed_critical": 0,
            "warnings": len(run.warnings),
            "seconds": round(run.seconds, 2),
            "report": str(result.validation_report),
        }
        return result


def rolled_back(home: Home, settings: Settings, to: str | None = None) -> tuple[str, str]:
    """Make the previous published build (or ``to``) current; return (from, to)."""
    with home.build_lock():
        current = home.current_id()
        ids = home.published_ids()
        if to is None:
            older = [i for i in ids if current is None or i < current]
            if not older:
                raise HomeError(f"{home.builds}: no earlier build to roll back to")
            to = older[-1]
        elif to not in ids:
            raise HomeError(f"{home.builds}: no build {to}; `relance builds` lists them")
        home.switch_current(to)
        with home.state(settings.get("build.writer_retry_seconds", 10)) as con:
            con.execute(
                "insert into pointer_history values (?, ?, ?, 'rollback')", [utc_now(), to, current]
            )
        return current or "", to
