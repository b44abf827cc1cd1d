"""One bench stage in its own process: ``python -m pipelines.bench_stage <stage> <home> …``.

``pipelines.bench`` starts this module once per stage and measures the process from outside
(wall time, ``ru_maxrss``); the stage itself reports its rows, bytes on disk, the work time
measured inside (without interpreter start-up and imports) and its own peak RSS (``VmHWM``).

Adding a stage is one line in ``STAGES``: a function ``(StageContext) -> dict`` returning at
least ``rows`` and ``bytes`` (import what it needs inside, so the other stages stay light).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.settings import Settings


@dataclass(frozen=True)
class StageContext:
    """What a stage gets: the bench home, its settings, the size asked for and, for stages
    prepared by the bench beforehand, the prepared inputs (parsed JSON)."""

    home: Path
    settings: Settings
    cases: int
    inputs: dict | None = None


def generate(ctx: StageContext) -> dict:
    """Replicate the sample portfolio into ``raw/`` (``pipelines.bench`` docstring)."""
    from pipelines.bench import SCRATCH, replicated
    from pipelines.sample import copy_sample

    sample_raw = ctx.home / SCRATCH / "sample" / "raw"
    shutil.rmtree(sample_raw.parent, ignore_errors=True)
    sample_raw.mkdir(parents=True)
    copy_sample(sample_raw)
    raw = ctx.home / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    done = replicated(sample_raw, raw, ctx.cases, ctx.settings)
    return {
        "rows": done.raw_rows,
        "bytes": done.raw_bytes,
        "bytes_of": "raw/",
        "cases_generated": done.cases,
        "sample_cases": done.sample_cases,
        "copies": done.copies,
        "files": done.files,
    }


def simulate(ctx: StageContext) -> dict:
    """``relance simulate`` at the bench size (months and seed from ``[demo]``) into ``raw/``:
    the simulated portfolio instead of the replicated sample (opt-in: ``--stages simulate,…``)."""
    from pipelines.home import Home
    from pipelines.simulate import simulated

    home = Home(ctx.home)
    summary = simulated(
        home,
        ctx.settings,
        ctx.cases,
        int(ctx.settings.require("demo.months")),
        int(ctx.settings.require("demo.seed")),
        force=True,
    )
    raw_bytes = sum(p.stat().st_size for p in home.raw.rglob("*") if p.is_file())
    return {
        "rows": sum(summary["rows"].values()),
        "bytes": raw_bytes,
        "bytes_of": "raw/",
        "files_written": summary["files"],
        "rows_by_kind": summary["rows"],
    }


def _database_removed(path: Path) -> None:
    """Delete a scratch DuckDB file and its write-ahead log, if there."""
    for leftover in (path, Path(f"{path}.wal")):
        leftover.unlink(missing_ok=True)


def read_floor(ctx: StageContext) -> dict:
    """Read every raw file as text into a fresh on-disk DuckDB file (the build's limits).

    Files with the same delimiter and header line are read by one ``read_csv`` call into one
    table, as ingest reads them: with thousands of weekly files a table per file would measure
    DuckDB's per-table overhead, not reading."""
    from pipelines import warehouse

    if not ctx.inputs:
        raise SystemExit("read_floor needs --inputs (prepared by pipelines.bench)")
    path = ctx.home / ".bench" / "read_floor.duckdb"
    _database_removed(path)
    con = warehouse.connect(path, ctx.settings)
    rows = 0
    groups: dict[tuple[str, bytes], list[str]] = {}
    for entry in ctx.inputs["files"]:
        with open(entry["path"], "rb") as handle:
            header = handle.readline().rstrip(b"\r\n")
        groups.setdefault((entry["delimiter"], header), []).append(entry["path"])
    try:
        for i, ((delimiter, _), paths) in enumerate(groups.items()):
            listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
            delim = delimiter.replace("'", "''")
            con.execute(
                f"create table g{i} as select * from read_csv([{listed}], all_varchar = true, "
                f"delim = '{delim}', header = true, ignore_errors = true)"
            )
            rows += con.execute(f"select count(*) from g{i}").fetchall()[0][0]
        con.execute("checkpoint")
    finally:
        con.close()
    return {
        "rows": rows,
        "bytes": path.stat().st_size,
        "bytes_of": "read-floor DuckDB file",
        "files": len(ctx.inputs["files"]),
        "tables": len(groups),
        "transcoded_files": ctx.inputs.get("transcoded", 0),
    }


LAYERS = ("raw", "staging", "quarantine", "core", "marts")


def layer_writes(ctx: StageContext) -> dict:
    """The write floor of the current build: every stored table of its layers copied as it is
    (same columns in the same storage, no computation) into a fresh on-disk DuckDB file with the
    build's limits, one ``insert … select`` and checkpoint per table; seconds per layer and per
    table.

    With the read floor it shows what a build of these layers must spend however its SQL is
    written: reading the files once (the floor) plus writing each stored layer once (this)."""
    from pipelines import warehouse
    from pipelines.home import Home

    source = Home(ctx.home).current_path()
    path = ctx.home / ".bench" / "layer_writes.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    _database_removed(path)
    con = warehouse.connect(path, ctx.settings)
    layers = ", ".join(f"'{name}'" for name in LAYERS)
    by_layer: dict[str, float] = dict.fromkeys(LAYERS, 0.0)
    tables: dict[str, dict] = {}
    try:
        con.execute(f"attach '{source.as_posix()}' as build (read_only)")
        stored = con.execute(
            f"""
            select schema_name, table_name, sql from duckdb_tables()
            where database_name = 'build' and schema_name in ({layers})
            order by schema_name, table_name
            """
        ).fetchall()
        for schema, table, ddl in stored:
            columns = [
                r[0]
                for r in con.execute(
                    """
                    select column_name from duckdb_columns()
                    where database_name = 'build' and schema_name = ? and table_name = ?
                        and not is_generated
                    order by column_index
                    """,
                    [schema, table],
                ).fetchall()
            ]
            names = ", ".join(f'"{c}"' for c in columns)
            target = f'"{schema}__{table}"'
            con.execute(re.sub(r"^CREATE TABLE [^(]+\(", f"CREATE TABLE {target}(", ddl))
            started = time.perf_counter()
            con.execute(
                f'insert into {target} ({names}) select {names} from build.{schema}."{table}"'
            )
            con.execute("checkpoint")
            seconds = time.perf_counter() - started
            con.execute(f"drop table {target}")
            con.execute("checkpoint")
            rows = con.execute(f'select count(*) from build.{schema}."{table}"').fetchall()[0][0]
            by_layer[schema] += seconds
            tables[f"{schema}.{table}"] = {"rows": rows, "seconds": round(seconds, 3)}
    finally:
        con.close()
        _database_removed(path)
    return {
        "rows": sum(t["rows"] for t in tables.values()),
        "bytes": source.stat().st_size,
        "bytes_of": "the current build (copied table by table)",
        "seconds_by_layer": {name: round(seconds, 3) for name, seconds in by_layer.items()},
        "write_seconds": round(sum(by_layer.values()), 3),
        # the layers written after raw (the read floor already writes the raw text once)
        "write_seconds_after_raw": round(sum(by_layer.values()) - by_layer["raw"], 3),
        "tables": tables,
    }


# Functions of the build timed call by call, as (module, function). A missing one is skipped, so
# the bench survives refactors; time in a timed call made inside another counts in both, and
# only outermost calls of the main thread count towards ``accounted_seconds`` (calls in worker
# threads, e.g. the file checks two at a time, overlap: their step time is a sum of threads).
BUILD_TIMED: tuple[tuple[str, str], ...] = (
    ("pipelines.ingest", "ingested"),
    ("pipelines.ingest", "planned_files"),
    ("pipelines.ingest", "checked_file"),
    ("pipelines.ingest", "loaded_group"),
    ("pipelines.ingest", "loaded_rows"),
    ("pipelines.ingest", "insert_rows"),
    ("pipelines.warehouse", "create_raw_schema"),
    ("pipelines.warehouse", "prepare_functions"),
    ("pipelines.warehouse", "staged_and_quarantined"),
    ("pipelines.warehouse", "materialised"),
    ("pipelines.warehouse", "table_macro"),
    ("pipelines.warehouse", "lost_rows"),
    ("pipelines.warehouse", "file_counts"),
    ("pipelines.warehouse", "quarantine_by_reason"),
    ("pipelines.validate", "checked_before_publish"),
    ("pipelines.validate", "after_validation"),
)
VALIDATION_STEPS = ("checked_before_publish", "after_validation")


def _step_name(function: str, args: tuple) -> str:
    if function == "staged_and_quarantined" and len(args) > 1:
        return f"staging.{args[1]}"
    if function == "materialised" and len(args) > 2:
        return f"{args[1]}.{args[2]}"
    if function == "table_macro" and len(args) > 1:
        return f"marts.{args[1]}()"
    return function


@contextlib.contextmanager
def timed_calls(targets: tuple[tuple[str, str], ...]) -> Iterator[dict]:
    """Wrap ``targets`` so each call adds its time to ``{"steps": {name: [seconds, calls]},
    "accounted": seconds}``; restore them on exit."""
    found: dict = {"steps": {}, "accounted": 0.0}
    local = threading.local()  # call depth per thread
    lock, main = threading.Lock(), threading.main_thread()
    saved = []
    for module_name, function in targets:
        module = importlib.import_module(module_name)
        original = getattr(module, function, None)
        if not callable(original):
            continue

        def wrapper(*args, _original=original, _function=function, **kwargs):
            local.depth = getattr(local, "depth", 0) + 1
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                local.depth -= 1
                with lock:
                    step = found["steps"].setdefault(_step_name(_function, args), [0.0, 0])
                    step[0] += spent
                    step[1] += 1
                    if local.depth == 0 and threading.current_thread() is main:
                        found["accounted"] += spent

        saved.append((module, function, original))
        setattr(module, function, wrapper)
    try:
        yield found
    finally:
        for module, function, original in saved:
            setattr(module, function, original)


def build(ctx: StageContext) -> dict:
    """``relance build`` on the bench home, with the time of every step (``BUILD_TIMED``); the
    rest (transaction commit, checkpoint, state store, publish) is ``unaccounted_seconds``."""
    from pipelines.build import built
    from pipelines.home import Home

    started = time.perf_counter()
    with timed_calls(BUILD_TIMED) as timed:
        result = built(Home(ctx.home), ctx.settings)
    elapsed = time.perf_counter() - started
    validation = sum(
        seconds for name, (seconds, _) in timed["steps"].items() if name in VALIDATION_STEPS
    )
    return {
        "validation_seconds": round(validation, 3),
        "validation_over_rest_of_build": round(validation / (elapsed - validation), 4),
        "rows": result.raw_rows,
        "bytes": result.path.stat().st_size,
        "bytes_of": "build file",
        "staged_rows": result.staged_rows,
        "quarantined_rows": result.quarantined_rows,
        "quarantined_by_reason": result.by_reason,
        "steps": [
            {"step": name, "seconds": round(seconds, 3), "calls": calls}
            for name, (seconds, calls) in timed["steps"].items()
        ],
        "unaccounted_seconds": round(elapsed - timed["accounted"], 3),
    }


STAGES: dict[str, Callable[[StageContext], dict]] = {
    "generate": generate,
    "simulate": simulate,
    "read_floor": read_floor,
    "build": build,
    "layer_writes": layer_writes,
    "app": lambda ctx: importlib.import_module("app.bench").stage(ctx),
    "eligibility": lambda ctx: importlib.import_module("pipelines.rules").eligibility_bench(ctx),
    "plan": lambda ctx: importlib.import_module("pipelines.plan").plan_bench(ctx),
    "features": lambda ctx: importlib.import_module("pipelines.score").bench_features(ctx),
    "score": lambda ctx: importlib.import_module("pipelines.score").bench_score(ctx),
}


def own_peak_rss_mb() -> float | None:
    """This process's peak resident set size in MiB (``VmHWM``), ``None`` off Linux."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+)\s+kB", status)
    return round(int(found.group(1)) / 1024, 1) if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.bench_stage")
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("home", type=Path)
    parser.add_argument("--settings", type=Path, required=True, help="settings as JSON")
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True, help="JSON file for the figures")
    parser.add_argument("--inputs", type=Path, help="prepared inputs as JSON")
    args = parser.parse_args(argv)
    saved = json.loads(args.settings.read_text(encoding="utf-8"))
    settings = Settings(saved["data"], Path(saved["source"]))
    inputs = json.loads(args.inputs.read_text(encoding="utf-8")) if args.inputs else None
    ctx = StageContext(args.home, settings, args.cases, inputs)
    started = time.perf_counter()
    figures = STAGES[args.stage](ctx)
    figures["work_seconds"] = round(time.perf_counter() - started, 3)
    figures["peak_rss_mb"] = own_peak_rss_mb()
    args.result.write_text(json.dumps(figures, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
