"""Chunks of the world and the history run of one chunk."""

from __future__ import annotations

import numpy as np

from pipelines.simulate.dynamics import Engine, fresh_state
from pipelines.simulate.population import Population, population

EV_KEYS = (
    "over_indebtedness",
    "insolvency",
    "deceased",
    "represented",
    "represented_end",
    "vulnerable",
)
DEBTOR_TRAITS = (
    "capacity",
    "willingness",
    "resp_sms",
    "resp_email",
    "answer",
    "sensitivity",
    "firm_affinity",
    "vulnerable",
    "has_phone",
    "phone_valid",
    "mobile",
    "has_email",
    "email_valid",
    "preferred",
    "zone",
)


def chunk_sizes(cases: int, chunk_cases: int) -> list[int]:
    """Cases per chunk: full chunks of ``chunk_cases`` and the rest."""
    full, rest = divmod(cases, chunk_cases)
    return [chunk_cases] * full + ([rest] if rest else [])


def generator(seed: int, stream: int, *keys: int) -> np.random.Generator:
    """An independent generator per (seed, stream, keys…): identical on every machine."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream, *keys])))


def unit_arrays(pop: Population) -> dict:
    """Per-case static arrays with the debtor's traits and events gathered onto each case."""
    c, d = pop.c, pop.d
    deb = c["debtor"]
    out = {k: v for k, v in c.items() if isinstance(v, np.ndarray) and v.dtype != object}
    for k in DEBTOR_TRAITS:
        out[k] = d[k][deb]
    out["is_business"] = d["type"][deb].astype(bool)
    out["ev"] = {k: d[f"ev_{k}"][deb] for k in EV_KEYS}
    return out


def take(arrays: dict, idx: np.ndarray) -> dict:
    """Rows ``idx`` of every array (recursively)."""
    return {k: take(v, idx) if isinstance(v, dict) else v[idx] for k, v in arrays.items()}


def snapshot(engine: Engine) -> tuple[dict, dict]:
    return ({k: v.copy() for k, v in engine.u.items()}, {k: v.copy() for k, v in engine.g.items()})


def history(
    world: dict,
    settings,
    cal,
    seed: int,
    chunk: int,
    n_cases: int,
    snapshot_days: tuple[int, ...] = (),
    log: bool = True,
):
    """Simulate one chunk over the history; return (population, unit arrays, events,
    snapshots by day, the engine at the end)."""
    pop = population(world, cal, chunk, n_cases, generator(seed, 1, chunk))
    case = unit_arrays(pop)
    rng = generator(seed, 2, chunk)
    n = pop.n_cases

    def draw(k: int) -> np.ndarray:
        return rng.random((k, n))

    engine = Engine(
        world, settings, cal, case, case["debtor"], fresh_state(case, pop.n_debtors), draw, log
    )
    snaps = {}
    day = 0
    for stop in sorted(snapshot_days):
        stop = min(stop, cal.history_days)
        engine.run(day, stop)
        snaps[stop] = snapshot(engine)
        day = stop
    engine.run(day, cal.history_days)
    return pop, case, engine.events(), snaps, engine
