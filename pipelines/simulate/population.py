"""Debtors and cases of one chunk: identities, contact points, latent traits, exogenous events.

Everything here is drawn once per chunk from the chunk's generator, before any day is simulated,
so the history and the Monte Carlo truth start from the same population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.simulate import names
from pipelines.simulate.params import CAUSES, NEVER, SECTORS, Calendar, by_name

MAX_CASES_PER_DEBTOR = 4


@dataclass
class Population:
    """Arrays of one chunk: ``d_*`` per debtor (m), ``c_*`` per case (n), ``i_*`` per invoice."""

    chunk: int
    d: dict[str, np.ndarray]
    c: dict[str, np.ndarray]
    i: dict[str, np.ndarray]

    @property
    def n_cases(self) -> int:
        return len(self.c["debtor"])

    @property
    def n_debtors(self) -> int:
        return len(self.d["type"])


def placement_days(rhythm: str, cal: Calendar) -> np.ndarray:
    """The creditor's placement days inside the history."""
    kind, arg = rhythm.split(":")
    days = np.arange(cal.history_days)
    if kind == "monthly":
        dom = np.array([cal.date(int(x)).day for x in days])
        return days[dom == int(arg)]
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(arg)
    hits = days[cal.weekday[: cal.history_days] == weekday]
    return hits[::2]


def _beta(rng: np.random.Generator, ab, size: int) -> np.ndarray:
    return rng.beta(float(ab[0]), float(ab[1]), size)


def _counts(rng, lam: float, target: int) -> np.ndarray:
    """Cases per debtor, summing exactly to ``target``."""
    counts = np.empty(0, dtype=np.int64)
    while counts.sum() < target:
        more = 1 + np.minimum(rng.poisson(lam, max(16, int(target / (1 + lam)))), 3)
        counts = np.concatenate([counts, more])
    cum = np.cumsum(counts)
    m = int(np.searchsorted(cum, target) + 1)
    counts = counts[:m]
    counts[-1] -= int(cum[m - 1] - target)
    return counts


def population(world: dict, cal: Calendar, chunk: int, n_cases: int, rng) -> Population:
    """Draw the chunk's debtors and cases (``n_cases`` exactly)."""
    creditors = world["creditors"]
    share = np.array([c["share"] for c in creditors], dtype=float)
    share /= share.sum()
    bshare = np.array([c["business_share"] for c in creditors])
    counts = _counts(rng, world["debtors"]["extra_cases_mean"], n_cases)
    m = len(counts)
    # first creditor and debtor type
    first = rng.choice(len(creditors), m, p=share)
    dtype = (rng.random(m) < bshare[first]).astype(np.int8)
    debtor = np.repeat(np.arange(m), counts)
    rank = np.arange(n_cases) - np.repeat(np.cumsum(counts) - counts, counts)
    cred = first[debtor].copy()
    extra = rank > 0
    same = rng.random(n_cases) < world["debtors"]["extra_same_creditor"]
    for t in (0, 1):
        ok = bshare > 0 if t == 1 else bshare < 1
        p = np.where(ok, share, 0.0)
        sel = extra & ~same & (dtype[debtor] == t)
        cred[sel] = rng.choice(len(creditors), int(sel.sum()), p=p / p.sum())
    # placement days on each creditor's rhythm
    pdays = [placement_days(c["rhythm"], cal) for c in creditors]
    base = rng.random(m)
    spread = world["debtors"]["extra_case_spread_days"]
    placed = np.empty(n_cases, dtype=np.int64)
    first_day = np.empty(m, dtype=np.int64)
    for k, days in enumerate(pdays):
        sel = ~extra & (cred == k)
        placed[sel] = days[(base[debtor[sel]] * len(days)).astype(int)]
    first_day[:] = placed[~extra]
    for k, days in enumerate(pdays):
        sel = extra & (cred == k)
        want = first_day[debtor[sel]] + rng.integers(-spread // 3, spread, int(sel.sum()))
        idx = np.clip(np.searchsorted(days, want), 0, len(days) - 1)
        placed[sel] = days[idx]
    # cases of a debtor in placement order (rank 0 = first placed)
    order = np.lexsort((placed, debtor))
    debtor, cred, placed = debtor[order], cred[order], placed[order]
    rank = np.arange(n_cases) - np.repeat(np.cumsum(counts) - counts, counts)
    sector = np.array([SECTORS.index(creditors[k]["sector"]) for k in cred])
    d = _debtors(world, rng, dtype, first_day, chunk)
    c = _cases(world, cal, rng, d, debtor, rank, cred, sector, placed, chunk)
    i = _invoices(world, cal, rng, c, creditors)
    c["amount_cents"] = np.bincount(i["case"], weights=i["amount_cents"], minlength=n_cases)
    c["amount_cents"] = c["amount_cents"].astype(np.int64)
    c["due_day"] = np.full(n_cases, NEVER, dtype=np.int64)
    np.minimum.at(c["due_day"], i["case"], i["due_day"])
    return Population(chunk, d, c, i)


def _debtors(world, rng, dtype, first_day, chunk) -> dict[str, np.ndarray]:
    m = len(dtype)
    tr, cp, ev = world["traits"], world["contact_points"], world["events"]
    bus = dtype == 1
    d: dict[str, np.ndarray] = {"type": dtype, "first_day": first_day}
    d["capacity"] = np.where(
        bus, _beta(rng, tr["capacity_business"], m), _beta(rng, tr["capacity_individual"], m)
    )
    d["willingness"] = _beta(rng, tr["willingness"], m)
    d["resp_sms"] = _beta(rng, tr["resp_sms"], m)
    d["resp_email"] = np.where(
        bus, _beta(rng, tr["resp_email_business"], m), _beta(rng, tr["resp_email_individual"], m)
    )
    d["answer"] = np.where(
        bus, _beta(rng, tr["answer_business"], m), _beta(rng, tr["answer_individual"], m)
    )
    d["sensitivity"] = rng.gamma(tr["pressure_sensitivity"][0], tr["pressure_sensitivity"][1], m)
    profile = np.empty(m, dtype=np.int8)
    for t, key in ((0, "individual"), (1, "business")):
        table = world["causes"][key]
        p = by_name(table, CAUSES)
        sel = dtype == t
        profile[sel] = rng.choice(len(CAUSES), int(sel.sum()), p=p / p.sum())
    d["profile_cause"] = profile
    mean_aff = by_name(world["causes"]["firm_affinity_mean"], CAUSES)
    d["firm_affinity"] = mean_aff[profile] + rng.normal(0, tr["firm_affinity_sd"], m)
    hardship = profile == CAUSES.index("hardship")
    unreach = profile == CAUSES.index("unreachable")
    pv = tr["vulnerable_share"] * np.where(hardship, tr["vulnerable_hardship_mult"], 1.0)
    d["vulnerable"] = (rng.random(m) < pv) & ~bus
    # contact points
    u = rng.random((6, m))
    miss = np.where(unreach, cp["unreachable_phone_missing"], cp["phone_missing"])
    d["has_phone"] = u[0] >= miss
    d["phone_valid"] = d["has_phone"] & ~unreach & (u[1] >= cp["phone_wrong"])
    d["mobile"] = d["has_phone"] & (~bus | (u[2] < cp["business_mobile"]))
    emiss = np.where(
        unreach,
        cp["unreachable_email_missing"],
        np.where(bus, cp["email_missing_business"], cp["email_missing_individual"]),
    )
    d["has_email"] = u[3] >= emiss
    d["email_malformed"] = d["has_email"] & (u[4] < cp["email_malformed"])
    d["email_valid"] = d["has_email"] & ~d["email_malformed"] & ~unreach & (u[5] >= cp["email_bad"])
    d["has_email"] &= ~d["email_malformed"]
    d["has_phone2"] = d["has_phone"] & (rng.random(m) < cp["phone2_share"])
    # zone and identity
    overseas = rng.random(m) < world["debtors"]["overseas_share"]
    d["zone"] = np.where(overseas, rng.integers(1, 6, m), 0).astype(np.int8)
    d["preferred"] = np.where(
        (rng.random(m) < world["case_life"]["preferred_share"]) & d["has_phone"],
        rng.integers(0, 2, m),
        -1,
    ).astype(np.int8)
    d.update(names.identities(rng, dtype, d["zone"], d["mobile"], chunk))
    # exogenous debtor events (days; NEVER when none)
    within = ev["within_days"]
    mult = np.where(hardship, ev["hardship_mult"], 1.0)

    def when(p):
        hit = rng.random(m) < p
        return np.where(hit, first_day + rng.integers(7, within, m), NEVER)

    d["ev_over_indebtedness"] = when(np.where(bus, 0.0, ev["over_indebtedness"] * mult))
    d["ev_insolvency"] = when(np.where(bus, ev["insolvency"] * mult, 0.0))
    d["ev_deceased"] = when(np.where(bus, 0.0, ev["deceased"]))
    d["ev_represented"] = when(ev["represented"])
    d["ev_vulnerable"] = np.where(
        d["vulnerable"] & (rng.random(m) < ev["vulnerable_reported"]),
        first_day + rng.integers(0, 200, m),
        NEVER,
    )
    lo, hi = ev["end_after_days"]
    ends = rng.random(m) < 0.5
    d["ev_represented_end"] = np.where(
        ends & (d["ev_represented"] < NEVER), d["ev_represented"] + rng.integers(lo, hi, m), NEVER
    )
    return d


def _cases(world, cal, rng, d, debtor, rank, cred, sector, placed, chunk):
    n = len(debtor)
    creditors = world["creditors"]
    cause = d["profile_cause"][debtor].copy()
    sec_names = [SECTORS[s] for s in sector]
    pdis = np.array([world["causes"]["dispute"][s] for s in sec_names])
    padm = np.array([world["causes"]["administrative"][s] for s in sec_names])
    u = rng.random(n)
    cause[u < pdis] = CAUSES.index("dispute")
    cause[(u >= pdis) & (u < pdis + padm)] = CAUSES.index("administrative")
    mandate = np.array([creditors[k]["mandate_months"] for k in cred]) * 30.4
    cl = world["case_life"]
    recall = np.where(
        rng.random(n) < cl["recall_share"],
        placed + (rng.random(n) * mandate).astype(np.int64),
        NEVER,
    )
    c = {
        "debtor": debtor,
        "rank": rank.astype(np.int8),
        "creditor": cred.astype(np.int8),
        "sector": sector.astype(np.int8),
        "placed_day": placed,
        "cause": cause.astype(np.int8),
        "mandate_end_day": placed + mandate.astype(np.int64),
        "recall_day": recall,
        "title_u": rng.random(n),
        "title_after": rng.integers(*cl["title_after_days"], n),
    }
    c.update(names.case_refs(creditors, cred, debtor, d["type"], chunk))
    return c


def _invoices(world, cal, rng, c, creditors) -> dict[str, np.ndarray]:
    n = len(c["debtor"])
    inv_max = np.array([creditors[k]["invoices_max"] for k in c["creditor"]])
    k = 1 + (rng.random(n) * rng.random(n) * inv_max).astype(np.int64)
    case = np.repeat(np.arange(n), k)
    ni = len(case)
    cr = c["creditor"][case]
    med = np.array([creditors[j]["amount_median"] for j in range(len(creditors))])[cr]
    sig = np.array([creditors[j]["amount_sigma"] for j in range(len(creditors))])[cr]
    amount = np.exp(np.log(med) + sig * rng.standard_normal(ni))
    amount = np.maximum(np.round(amount * 100), 500).astype(np.int64)
    lo, hi = world["debtors"]["due_before_placement_days"]
    due = c["placed_day"][case] - rng.integers(lo, hi, ni)
    no = np.arange(ni) - np.repeat(np.cumsum(k) - k, k)
    return {
        "case": case,
        "no": no,
        "amount_cents": amount,
        "due_day": due,
        "invoice_day": due - 30,
    }
