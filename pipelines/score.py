"""``relance score``: run the champion scorer on ``case_snapshots(as_of)`` of the current build
and write ``scores`` into the state store with the run id (a later issue adds the
recommendations).

The default ``as_of`` is the day after the build's latest received date, so every fact in the
build is known. Scores replace earlier scores of the same run and as-of date. Bands: A is the
most likely to pay; the lower bounds of A–D are ``scorer.bands`` in relance.toml.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from pipelines import features as F
from pipelines.home import Home, utc_now
from pipelines.settings import Settings
from pipelines.train import KIND, ScorerError, default_as_of, registry, state, warehouse

BAND_NAMES = ("A", "B", "C", "D", "E")
SCORE_WARMUP_ROWS = 1_000  # bench: rows of the untimed warm-up call before timing the scorer


@dataclass(frozen=True)
class ScoreResult:
    run_id: str
    as_of: date
    cases: int
    by_band: dict[str, int]
    expected_cents: int
    seconds: float


def score_bands(p_pay: np.ndarray, bounds: tuple[float, ...]) -> np.ndarray:
    """Band letter per probability: A when p ≥ bounds[0], … , E below the last bound."""
    if list(bounds) != sorted(bounds, reverse=True) or len(bounds) != len(BAND_NAMES) - 1:
        raise ScorerError(
            f"scorer.bands = {list(bounds)}: give {len(BAND_NAMES) - 1} decreasing lower "
            "bounds of P(pay) for bands A to D"
        )
    index = np.searchsorted(-np.asarray(bounds), -np.asarray(p_pay), side="left")
    return np.asarray(BAND_NAMES)[index]


def scores_frame(
    model, frame: pl.DataFrame, run_id: str, bounds: tuple[float, ...], reasons: bool = True
) -> pl.DataFrame:
    """One row per case of the model frame: the ``scores`` table's columns."""
    X = F.feature_matrix(frame, model.features)
    p, share = model.scores(X)
    expected = model.expected_cents(X, frame["balance_cents"].to_numpy(), p, share)
    if reasons:
        en, fr = model.reasons(X)
    else:
        en = fr = np.full(frame.height, None, dtype=object)
    return pl.DataFrame(
        {
            "run_id": pl.Series([run_id] * frame.height, dtype=pl.String),
            "as_of": frame["as_of"],
            "case_id": frame["case_id"],
            "p_pay": p,
            "expected_cents": expected,
            "score_band": score_bands(p, bounds),
            "reasons_en": pl.Series(en, dtype=pl.String),
            "reasons_fr": pl.Series(fr, dtype=pl.String),
            "scored_at": pl.Series([utc_now()] * frame.height, dtype=pl.Datetime("us")),
        }
    )


def scored(home: Home, settings: Settings, as_of: date | None = None) -> ScoreResult:
    """Score every open case with a positive balance with the champion; write ``scores``."""
    started = time.perf_counter()
    reg = registry(home)
    champion = reg.champion(KIND)
    if champion is None:
        raise ScorerError(
            "no champion scorer; run `relance train scorer`, then `relance promote RUN`"
        )
    model = reg.load(KIND, champion.run_id)
    bounds = tuple(float(b) for b in settings.require("scorer.bands"))
    with warehouse(home, settings) as con:
        day = as_of or default_as_of(con)
        frame = F.model_frame_at(con, day)
    rows = scores_frame(model, frame, champion.run_id, bounds)
    with state(home, settings) as con:
        con.register("new_scores", rows.to_arrow())
        con.execute("begin")
        con.execute("delete from scores where run_id = ? and as_of = ?", [champion.run_id, day])
        con.execute(
            "insert into scores select run_id, as_of, case_id, p_pay, expected_cents, "
            "score_band, reasons_en, reasons_fr, scored_at from new_scores"
        )
        con.execute("commit")
        con.unregister("new_scores")
    counts = rows["score_band"].value_counts()
    by_band = {b: 0 for b in BAND_NAMES} | dict(counts.iter_rows())
    return ScoreResult(
        run_id=champion.run_id,
        as_of=day,
        cases=rows.height,
        by_band=by_band,
        expected_cents=int(rows["expected_cents"].sum()),
        seconds=time.perf_counter() - started,
    )


def bench_features(ctx) -> dict:
    """Bench stage ``features``: the model frame of one as-of date (the build's default)."""
    from pipelines.home import Home

    home = Home(ctx.home)
    with warehouse(home, ctx.settings) as con:
        day = default_as_of(con)
        started = time.perf_counter()
        frame = F.model_frame_at(con, day)
        seconds = time.perf_counter() - started
    return {
        "rows": frame.height,
        "bytes": frame.estimated_size(),
        "bytes_of": "model frame in memory",
        "as_of": day.isoformat(),
        "frame_seconds": round(seconds, 3),
        "features": len(F.FEATURES),
    }


def scoring_seconds(
    model, X: np.ndarray, balance_cents: np.ndarray, reasons: bool
) -> tuple[float, float]:
    """(wall, CPU) seconds of the model calls alone that score ``X``: P(pay) and the expected
    amount, and the reason codes (English and French) when ``reasons`` — no frame, no table,
    no I/O. The CPU time is the process's (all its threads)."""
    started, cpu = time.perf_counter(), time.process_time()
    p, share = model.scores(X)
    model.expected_cents(X, balance_cents, p, share)
    if reasons:
        model.reasons(X)
    return time.perf_counter() - started, time.process_time() - cpu


def bench_score(ctx) -> dict:
    """Bench stage ``score``: train and promote a scorer when none is champion (timed apart),
    build the model frame of one as-of date (timed apart), then time the model calls alone on
    every case of it — P(pay) + expected amount, then the same with the reason codes — after
    one warm-up of each on the first ``SCORE_WARMUP_ROWS`` rows; last, ``scores_frame`` end to
    end (the ``scores`` table in memory, reasons included)."""
    from pipelines.home import Home
    from pipelines.train import promoted, trained_scorer

    home = Home(ctx.home)
    reg = registry(home)
    train_seconds = None
    if reg.champion(KIND) is None:
        started = time.perf_counter()
        promoted(home, ctx.settings, trained_scorer(home, ctx.settings).run_id)
        train_seconds = round(time.perf_counter() - started, 3)
    champion = reg.champion(KIND)
    model = reg.load(KIND, champion.run_id)
    bounds = tuple(float(b) for b in ctx.settings.require("scorer.bands"))
    with warehouse(home, ctx.settings) as con:
        day = default_as_of(con)
        started = time.perf_counter()
        frame = F.model_frame_at(con, day)
        frame_seconds = time.perf_counter() - started
    X = F.feature_matrix(frame, model.features)
    balance = frame["balance_cents"].to_numpy()
    warm = slice(0, min(SCORE_WARMUP_ROWS, frame.height))
    figures: dict = {
        "train_seconds": train_seconds,
        "as_of": day.isoformat(),
        "frame_seconds": round(frame_seconds, 3),
        "score_rows": frame.height,
    }
    for label, reasons in (("score", False), ("score_with_reasons", True)):
        scoring_seconds(model, X[warm], balance[warm], reasons)
        seconds, cpu = scoring_seconds(model, X, balance, reasons)
        figures[f"{label}_seconds"] = round(seconds, 3)
        figures[f"{label}_cpu_seconds"] = round(cpu, 3)
        figures[f"{label}_cases_per_second"] = round(frame.height / seconds) if seconds else None
    started = time.perf_counter()
    rows = scores_frame(model, frame, champion.run_id, bounds, reasons=True)
    figures["scores_frame_seconds"] = round(time.perf_counter() - started, 3)
    figures.update(rows=frame.height, bytes=rows.estimated_size(), bytes_of="scores in memory")
    return figures
