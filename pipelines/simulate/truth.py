"""The truth of a simulated world: outcomes of every action in the evaluation weeks.

For each evaluation week (three inside the history, each at least 14 weeks before the end date,
and the export week after it) and a sample of the cases open that Monday, every action is forced
on the case that week, then the logging policy runs the case and the debtor's other cases for the
horizon. 20 batches of ``replications`` copies each; inside a batch the eight actions share their
random streams (common random numbers). Schema: ``TRUTH.md``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.kinds import ACTIONS
from pipelines.simulate.dynamics import Engine
from pipelines.simulate.history import generator, history, take
from pipelines.simulate.params import N_ACTIONS, SimulationError, load_world, world_hash
from pipelines.simulate.run import calendar

BATCHES = 20
REPLICATIONS = 16
SAMPLE = 20000
_JOB: dict = {}


def eval_mondays(cal, horizon: int) -> list[int]:
    """Three Mondays inside the history (outcomes observable by the end date) and the export
    Monday (the ISO week after the end date)."""
    export = cal.history_days + (7 - int(cal.weekday[cal.history_days])) % 7
    last = cal.history_days - 7 * (-(-(horizon + 7) // 7)) - 7
    last -= int(cal.weekday[last])
    spaced = [last - 26 * 7, last - 13 * 7, last]
    if spaced[0] < 8 * 7:
        step = max(7, (last - 28) // 14 * 7)
        spaced = [max(0, last - 2 * step), max(0, last - step), last]
    if spaced[0] < 0 or len(set(spaced)) < 3:
        raise SimulationError("the history is too short for evaluation weeks; use --months 6+")
    return [*spaced, export]


def _init(job: dict) -> None:
    _JOB.clear()
    _JOB.update(job)


def _init(job: dict) -> None:
    _JOB.clear()
    _JOB.update(job)


def _batch(week: int, batch: int) -> dict:
    """One batch of one evaluation week: mean outcomes per (action, case)."""
    job = _JOB
    e = job["weeks"][week]
    n_base = len(e["src"]) * job["reps"]
    src = np.tile(e["src"], job["reps"])
    N_ACTIONS * n_base
    unit = np.tile(src, N_ACTIONS)
    case = take(job["case"], unit)
    u = take(e["u"], unit)
    groups = e["debtor"]
    n_eval = len(e["eval"])
    rep = np.repeat(np.arange(job["reps"]), len(e["src"]))
    gbase = rep * n_eval + np.tile(e["group"], job["reps"])
    group = np.repeat(np.arange(N_ACTIONS), n_base) * job["reps"] * n_eval + np.tile(
        gbase, N_ACTIONS
    )
    g_src = np.tile(groups, job["reps"] * N_ACTIONS)
    g = take(e["g"], g_src)
    target = np.tile(np.tile(e["is_target"], job["reps"]), N_ACTIONS)
    forced = np.where(target, np.repeat(np.arange(N_ACTIONS), n_base), -1)
    rng = generator(job["seed"], 6, job["chunk"], week, batch)

    def draw(k: int) -> np.ndarray:
        return np.tile(rng.random((k, n_base)), (1, N_ACTIONS))

    engine = Engine(
        job["world"],
        job["settings"],
        job["cal"],
        case,
        group,
        (u, g),
        draw,
        log=False,
        forced=forced,
    )
    engine.start_accumulating(e["monday"], job["horizon"])
    engine.run(e["monday"], e["monday"] + job["horizon"])
    pos = np.flatnonzero(target)  # ordered by (action, rep, eval case)
    out = {}
    for key in ("any", "any14", "amount", "complaint"):
        vals = engine.acc[key][pos].reshape(N_ACTIONS, job["reps"], n_eval).astype(float)
        out[key] = vals.mean(axis=1)
    return {"week": week, "batch": batch, **out}


def _prepare(world, settings, cal, seed, chunk, n, share, mondays) -> dict:
    pop, case, _, snaps, _engine = history(
        world, settings, cal, seed, chunk, n, snapshot_days=tuple(mondays), log=False
    )
    weeks = []
    pick = generator(seed, 7, chunk)
    for _w, monday in enumerate(mondays):
        u, g = snaps[min(monday, cal.history_days)]
        open_ = np.flatnonzero((case["placed_day"] < monday) & (u["closed_day"] > monday))
        k = len(open_) if share >= 1 else round(share * len(open_))
        ev = np.sort(pick.permutation(open_)[:k])
        deb = case["debtor"][ev]
        open_set = np.zeros(len(case["debtor"]), bool)
        open_set[open_] = True
        src, group, is_target = [], [], []
        starts = np.searchsorted(case["debtor"], deb)
        ends = np.searchsorted(case["debtor"], deb, side="right")
        for j, (e_, a, b) in enumerate(zip(ev, starts, ends, strict=True)):
            members = [x for x in range(a, b) if open_set[x]]
            src += members
            group += [j] * len(members)
            is_target += [x == e_ for x in members]
        # what the rules allow and what the ladder would choose, at Monday's state
        probe = Engine(
            world,
            settings,
            cal,
            case,
            case["debtor"],
            (u, g),
            lambda k: np.zeros((k, len(case["debtor"]))),
            log=False,
        )
        days = cal.week_contact_days(monday)
        allowed, ladder, *_ = probe.decide(
            monday, ev, int(days[0]) if len(days) else -1, np.ones((12, len(ev)))
        )
        weeks.append(
            {
                "monday": monday,
                "eval": ev,
                "src": np.array(src, dtype=np.int64),
                "group": np.array(group, dtype=np.int64),
                "debtor": deb,
                "is_target": np.array(is_target, bool),
                "u": u,
                "g": g,
                "allowed": allowed,
                "ladder": ladder,
            }
        )
    return {"pop": pop, "case": case, "weeks": weeks}


def truth_computed(
    home,
    settings,
    progress=None,
    replications: int = REPLICATIONS,
    sample: int = SAMPLE,
    processes: int = 2,
) -> dict:
    """Compute the evaluation-week truth of the world simulated in ``home`` (see TRUTH.md)."""
    started = time.perf_counter()
    meta_path = home.truth / "world.json"
    if not meta_path.exists():
        raise SimulationError(f"{meta_path}: no simulated world here; run `relance simulate`")
    meta = json.loads(meta_path.read_text("utf-8"))
    if meta["world_hash"] != world_hash():
        raise SimulationError("world.toml changed since this home was simulated; simulate again")
    world = load_world()
    cal = calendar(settings, int(meta["months"]))
    horizon = int(settings.get("objective.horizon_days", 90))
    mondays = eval_mondays(cal, horizon)
    sizes = [int(x) for x in meta["chunks"]]
    share = min(1.0, sample / int(meta["cases"]))
    frames = []
    for chunk, n in enumerate(sizes):
        prep = _prepare(world, settings, cal, int(meta["seed"]), chunk, n, share, mondays)
        job = dict(
            world=world,
            settings=settings,
            cal=cal,
            seed=int(meta["seed"]),
            chunk=chunk,
            reps=replications,
            horizon=horizon,
            case=prep["case"],
            weeks=prep["weeks"],
        )
        tasks = [(w, b) for w in range(len(mondays)) for b in range(BATCHES)]
        if processes > 1:
            # spawn, not fork: forking while polars' thread pool runs can deadlock
            ctx = mp.get_context("spawn")
            with ctx.Pool(processes, initializer=_init, initargs=(job,)) as pool:
                results = pool.starmap(_batch, tasks, chunksize=1)
        else:
            _init(job)
            results = [_batch(w, b) for w, b in tasks]
        frames += _frames(world, settings, cal, prep, results)
        if progress:
            progress("truth", chunk + 1, len(sizes))
    table = pl.concat(frames)
    table.write_parquet(home.truth / "eval_outcomes.parquet")
    summary = {
        "seconds": time.perf_counter() - started,
        "replications": replications,
        "batches": BATCHES,
        "eval_weeks": [cal.iso_week(m) for m in mondays],
        **truth_summary(home.truth),
    }
    (home.truth / "eval_summary.json").write_text(json.dumps(summary, indent=1), "utf-8")
    return summary


def _frames(world, settings, cal, prep, results) -> list[pl.DataFrame]:
    commission = float(settings.get("objective.commission", 0.15))
    lam = float(settings.get("objective.complaint_penalty_cents", 5000))
    costs = np.array([float(settings.get(f"objective.cost_cents.{a}", 0)) for a in ACTIONS])
    creds = np.array([c["ref"] for c in world["creditors"]])
    out = []
    for w, e in enumerate(prep["weeks"]):
        res = sorted((r for r in results if r["week"] == w), key=lambda r: r["batch"])
        stack = {k: np.stack([r[k] for r in res]) for k in ("any", "any14", "amount", "complaint")}
        value = commission * stack["amount"] - costs[None, :, None] - lam * stack["complaint"]
        n_eval = len(e["eval"])
        cols = {
            "iso_week": np.full(N_ACTIONS * n_eval, cal.iso_week(e["monday"])),
            "is_export_week": np.full(N_ACTIONS * n_eval, e["monday"] >= cal.history_days),
            "creditor_ref": np.tile(creds[prep["case"]["creditor"][e["eval"]]], N_ACTIONS),
            "case_ref": np.tile(prep["pop"].c["case_ref"][e["eval"]].astype(str), N_ACTIONS),
            "action": np.repeat(np.array(ACTIONS), n_eval),
            "is_allowed": e["allowed"].T.reshape(-1),
            "is_ladder": (np.arange(N_ACTIONS)[:, None] == e["ladder"][None, :]).reshape(-1),
        }
        for name, key in (
            ("p_pay", "any"),
            ("p_pay_14d", "any14"),
            ("e_amount_cents", "amount"),
            ("p_complaint", "complaint"),
        ):
            cols[name] = stack[key].mean(axis=0).reshape(-1)
            cols[name + "_se"] = (stack[key].std(axis=0, ddof=1) / np.sqrt(BATCHES)).reshape(-1)
        cols["value_cents"] = value.mean(axis=0).reshape(-1)
        cols["value_se"] = (value.std(axis=0, ddof=1) / np.sqrt(BATCHES)).reshape(-1)
        for b in range(BATCHES):
            cols[f"v_b{b + 1:02d}"] = value[b].reshape(-1)
        out.append(pl.DataFrame(cols))
    return out


def _table(truth_dir: Path | str) -> pl.DataFrame:
    path = Path(truth_dir) / "eval_outcomes.parquet"
    if not path.exists():
        raise SimulationError(f"{path}: no truth yet; run `relance simulate truth`")
    return pl.read_parquet(path)


def _value(rows: pl.DataFrame, batches: range) -> tuple[float, float]:
    means = np.array([rows[f"v_b{b:02d}"].mean() for b in batches])
    return float(means.mean()), float(means.std(ddof=1) / np.sqrt(len(means)))


def policy_value(truth_dir: Path | str, policy: pl.DataFrame) -> tuple[float, float]:
    """True value (cents per case-week) and Monte Carlo standard error of ``policy``: a frame
    with case_ref (and creditor_ref), iso_week and action, one row per (case, week)."""
    table = _table(truth_dir)
    keys = [k for k in ("creditor_ref", "case_ref", "iso_week") if k in policy.columns]
    rows = table.join(policy.select(*keys, "action"), on=[*keys, "action"], how="inner")
    if rows.height == 0:
        raise SimulationError("the policy names no (case, week) of the truth's evaluation weeks")
    return _value(rows, range(1, BATCHES + 1))


def best_policy_value(truth_dir: Path | str, iso_week: str | None = None) -> tuple[float, float]:
    """The best allowed action per case chosen on batches 1–10, valued on batches 11–20."""
    table = _table(truth_dir)
    if iso_week:
        table = table.filter(pl.col("iso_week") == iso_week)
    return _value(best_rows(table), range(BATCHES // 2 + 1, BATCHES + 1))


def best_rows(table: pl.DataFrame) -> pl.DataFrame:
    half = [f"v_b{b:02d}" for b in range(1, BATCHES // 2 + 1)]
    return (
        table.filter("is_allowed")
        .with_columns(pl.mean_horizontal(half).alias("_pick"))
        .sort("_pick", descending=True, maintain_order=True)
        .unique(["creditor_ref", "case_ref", "iso_week"], keep="first", maintain_order=True)
    )


def fixed_policy(table: pl.DataFrame, action: str) -> pl.DataFrame:
    """Always ``action`` where the rules allow it, else wait."""
    allowed = table.filter(pl.col("action") == action).select(
        "creditor_ref", "case_ref", "iso_week", "is_allowed"
    )
    return allowed.select(
        "creditor_ref",
        "case_ref",
        "iso_week",
        pl.when("is_allowed").then(pl.lit(action)).otherwise(pl.lit("wait")).alias("action"),
    )


def truth_summary(truth_dir: Path | str) -> dict:
    from pipelines.simulate.truth_bands import summary

    return summary(_table(truth_dir), truth_dir)
