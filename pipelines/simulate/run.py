"""``simulated``: the world's sources into ``raw/`` and its latent side into ``truth/``."""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date

import numpy as np
import polars as pl

from pipelines.home import Home
from pipelines.settings import Settings
from pipelines.simulate import bands, defects, violations
from pipelines.simulate.frames import chunk_frames
from pipelines.simulate.history import chunk_sizes, generator, history
from pipelines.simulate.params import (
    CAUSES,
    NEVER,
    ZONES,
    Calendar,
    SimulationError,
    history_start,
    load_world,
    world_hash,
)
from pipelines.simulate.writer import Writer


def calendar(settings: Settings, months: int) -> Calendar:
    end = date.fromisoformat(str(settings.get("time.end_date", "2026-11-15")))
    horizon = int(settings.get("objective.horizon_days", 90))
    return Calendar(history_start(end, months), end, extra_days=horizon + 40)


def _check_home(home: Home, force: bool) -> None:
    if home.raw.exists() and any(home.raw.iterdir()):
        if not force:
            raise SimulationError(
                f"{home.raw} is not empty; use --force to replace its sources with a simulation"
            )
        shutil.rmtree(home.raw)
    if home.truth.exists():
        shutil.rmtree(home.truth)
    home.raw.mkdir(parents=True, exist_ok=True)
    home.truth.mkdir(parents=True, exist_ok=True)


def simulated(
    home: Home,
    settings: Settings,
    cases: int,
    months: int,
    seed: int,
    force: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    processes: int = 2,
    chunk_cases: int | None = None,
) -> dict:
    """Write a simulated portfolio of ``cases`` cases over ``months`` months into ``home``.

    Returns a summary: files written, rows per import kind, seconds. Raises ``SimulationError``
    when ``raw/`` is not empty and ``force`` is false. Chunks of ``chunk_cases`` cases (default:
    world.toml) are simulated independently (``processes`` workers); the bytes depend on the seed
    and the chunk size only.
    """
    if cases < 1 or months < 3:
        raise SimulationError("simulate needs at least 1 case and 3 months of history")
    started = time.perf_counter()
    _check_home(home, force)
    world = load_world()
    cal = calendar(settings, months)
    writer = Writer(home.raw, world)
    writer.write_mappings()
    sizes = chunk_sizes(cases, int(chunk_cases or world["meta"]["chunk_cases"]))
    counts: dict[str, float] = {}
    planted: list[dict] = []
    debtor_parts, case_parts = [], []
    grace = int(settings.get("exclusions.promise_grace_days", 3))
    jobs = [(world, settings, cal, seed, chunk, n, grace) for chunk, n in enumerate(sizes)]
    for chunk, part in enumerate(_chunks(jobs, processes)):
        if chunk == 0:
            planted = part["planted"]
        for (source, prefix), frame in sorted(part["frames"].items()):
            writer.append(source, prefix, frame)
        for k, v in part["counts"].items():
            counts[k] = counts.get(k, 0) + v
        debtor_parts.append(part["debtors"])
        case_parts.append(part["cases"])
        del part
        if progress:
            progress("simulate", chunk + 1, len(sizes))
    file_defects = defects.applied(
        home.raw, writer.sources, writer.files, cal.end, world, generator(seed, 5)
    )
    truth = home.truth
    pl.concat(debtor_parts).write_parquet(truth / "debtors.parquet")
    pl.concat(case_parts).write_parquet(truth / "cases.parquet")
    pl.DataFrame(planted, schema=list(violations.FIELDS)).write_csv(truth / "violations.csv")
    pl.DataFrame(
        file_defects, schema=["source", "file", "source_row", "kind", "defect", "expected_reason"]
    ).write_csv(truth / "file_defects.csv")
    expected: dict[str, int] = {}
    for row in file_defects:
        expected[row["expected_reason"]] = expected.get(row["expected_reason"], 0) + 1
    observed = bands.observed_bands(counts)
    summary = {
        "world_hash": world_hash(),
        "world": world,
        "seed": seed,
        "cases": cases,
        "months": months,
        "start_date": cal.start.isoformat(),
        "end_date": cal.end.isoformat(),
        "chunks": sizes,
        "violations": _count(planted, "category"),
        "expected_quarantine": expected,
        "observed_bands": observed,
        "observed_counts": counts,
    }
    (truth / "world.json").write_text(json.dumps(summary, indent=1, default=str), "utf-8")
    rows = dict(sorted(writer.rows.items()))
    return {
        "files": len(writer.files),
        "rows": rows,
        "seconds": time.perf_counter() - started,
        "bands": observed,
        "violations": summary["violations"],
        "expected_quarantine": expected,
        "raw": str(home.raw),
        "truth": str(truth),
    }


def _chunk(job) -> dict:
    """Simulate one chunk and turn it into rows (runs in a worker process for big worlds)."""
    world, settings, cal, seed, chunk, n, grace = job
    pop, case, ev, _, engine = history(world, settings, cal, seed, chunk, n)
    frames = chunk_frames(
        world, cal, pop, case, ev, generator(seed, 3, chunk), chunk, engine.u["closed_day"]
    )
    planted = []
    if chunk == 0:
        planted = violations.planted(world, cal, pop, case, frames, generator(seed, 4))
    return {
        "frames": frames,
        "planted": planted,
        "counts": bands.observed_counts(pop, case, ev, cal.history_days, grace),
        "debtors": _debtor_truth(pop, cal),
        "cases": _case_truth(pop, world, cal, engine),
    }


def _chunks(jobs: list, processes: int) -> Iterator[dict]:
    """Chunk results in chunk order; with several chunks, computed by worker processes with at
    most ``processes + 1`` results waiting, so memory stays flat."""
    if processes <= 1 or len(jobs) == 1:
        for job in jobs:
            yield _chunk(job)
        return
    # spawn, not fork: forking a process whose polars thread pool is running can deadlock
    with mp.get_context("spawn").Pool(processes) as pool:
        pending = deque()
        for job in jobs:
            pending.append(pool.apply_async(_chunk, (job,)))
            if len(pending) > processes:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _count(rows: list[dict], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r[key]] = out.get(r[key], 0) + 1
    return out


def _dates(cal: Calendar, days: np.ndarray) -> pl.Series:
    days = np.asarray(days)
    ok = days < NEVER // 2
    values = np.datetime64(cal.start, "D") + np.where(ok, days, 0)
    return pl.Series(values).cast(pl.Date).scatter(np.flatnonzero(~ok), None)


def _debtor_truth(pop, cal) -> pl.DataFrame:
    d = pop.d
    cols = {
        "debtor_key": d["key"].astype(str),
        "debtor_type": np.where(d["type"] == 1, "business", "individual"),
        "tz": np.array([z[1] for z in ZONES])[d["zone"]],
        "profile_cause": np.array(CAUSES)[d["profile_cause"]],
    }
    for k in (
        "capacity",
        "willingness",
        "resp_sms",
        "resp_email",
        "answer",
        "sensitivity",
        "firm_affinity",
    ):
        cols[k] = d[k]
    for k in ("vulnerable", "has_phone", "phone_valid", "mobile", "has_email", "email_valid"):
        cols["is_" + k if not k.startswith("has_") else k] = d[k].astype(bool)
    frame = pl.DataFrame(cols)
    for k in (
        "over_indebtedness",
        "insolvency",
        "deceased",
        "represented",
        "represented_end",
        "vulnerable",
    ):
        frame = frame.with_columns(_dates(cal, d[f"ev_{k}"]).alias(f"{k}_date"))
    return frame


def _case_truth(pop, world, cal, engine) -> pl.DataFrame:
    c = pop.c
    creds = world["creditors"]
    return pl.DataFrame(
        {
            "creditor_ref": np.array([k["ref"] for k in creds])[c["creditor"]],
            "case_ref": c["case_ref"].astype(str),
            "debtor_key": pop.d["key"][c["debtor"]].astype(str),
            "cause": np.array(CAUSES)[c["cause"]],
            "placed_date": _dates(cal, c["placed_day"]),
            "amount_cents": c["amount_cents"],
            "collected_cents": engine.u["paid"],
            "closed_date": _dates(cal, engine.u["closed_day"]),
        }
    )
