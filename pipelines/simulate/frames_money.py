"""Remittances, fee lines and the creditors' monthly account status (see ``frames.py``)."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.simulate.frames import AGENCY, _dates, _frame
from pipelines.simulate.params import NEVER


def remittance_frame(world, cal, pop, ev, batches, cref, ccase, refs) -> pl.DataFrame | None:
    """One row per payment encashed by the agency or the provider, remitted every other Friday
    (a payment reversed before its remittance is not remitted)."""
    p = ev.get("payments")
    if p is None:
        return None
    mw = world["money"]
    fridays = np.arange(4, cal.n_days, mw["remittance_every_days"])
    own = (p["reporter"] < 2) & (p["reverses"] < 0)
    idx = np.flatnonzero(own)
    when = fridays[np.searchsorted(fridays, p["day"][idx] + mw["remittance_min_days"])]
    rev = p["reverses"] >= 0
    rev_day = dict(zip(p["reverses"][rev].tolist(), p["day"][rev].tolist(), strict=True))
    reversed_before = np.array(
        [rev_day.get(int(i), NEVER) <= w for i, w in zip(p["id"][idx], when, strict=True)],
        dtype=bool,
    )
    idx, when = idx[~reversed_before], when[~reversed_before]
    case = p["case"][idx]
    prefix = np.array(["PSP", "VIR"], dtype=object)[p["reporter"][idx]]
    pref = np.char.add(prefix.astype(str), refs("", p["id"][idx]))
    rem = np.char.add(
        np.char.add("REM-", cref[case].astype(str)),
        np.array([cal.date(int(x)).strftime("-%Y%m%d") for x in when]),
    )
    cols = {
        "remittance_ref": rem,
        "creditor_ref": cref[case],
        "case_ref": ccase[case],
        "payment_ref": pref,
        "remitted_date": _dates(cal, when),
        "amount": p["amount"][idx],
        "_paid_day": p["day"][idx],
    }
    return _frame(cal, cols, batches.weekly(when), when, case, AGENCY)


def fee_frame(world, cal, pop, ev, batches, cref, ccase, refs) -> pl.DataFrame:
    """€40 indemnity per invoice of a business case (10 days after placement) and legal costs
    on cases with a title."""
    c, inv = pop.c, pop.i
    bus = pop.d["type"][c["debtor"]] == 1
    ib = np.flatnonzero(bus[inv["case"]])
    case1 = inv["case"][ib]
    day1 = c["placed_day"][case1] + 10
    up = ev.get("updates")
    titled = np.zeros(0, int) if up is None else up["case"][up["type"] == 3]
    tday = np.zeros(0, int) if up is None else up["day"][up["type"] == 3] + 14
    rng = np.random.default_rng(pop.chunk + 7)
    lo, hi = world["money"]["legal_cost_eur"]
    legal = (rng.uniform(lo, hi, len(titled)) * 100).round().astype(np.int64)
    case = np.concatenate([case1, titled])
    day = np.concatenate([day1, tday])
    cols = {
        "fee_ref": refs("FEE", np.arange(len(case))),
        "creditor_ref": cref[case],
        "case_ref": ccase[case],
        "fee_date": _dates(cal, day),
        "fee_type": np.concatenate(
            [np.full(len(case1), "indemnity_40"), np.full(len(titled), "legal_cost")]
        ),
        "amount": np.concatenate([np.full(len(case1), 4000), legal]),
        "has_title": np.concatenate([np.zeros(len(case1), bool), np.ones(len(titled), bool)]),
    }
    return _frame(cal, cols, batches.weekly(day), day, case, AGENCY)


def status_frames(world, cal, pop, ev, cref, ccase, csrc, cred_recv, closed_day) -> dict:
    """Monthly account status per open case for the creditors that send one."""
    c = pop.c
    wanted = np.isin(cref, world["case_life"]["status_creditors"])
    months = np.array(
        [cal.date(int(x)).year * 12 + cal.date(int(x)).month - 1 for x in range(cal.history_days)]
    )
    first_of = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    m0 = months[0]
    idx = np.flatnonzero(wanted)
    start = months[c["placed_day"][idx]] - m0
    stop = months[np.minimum(closed_day[idx], cal.history_days - 1)] - m0
    n = np.maximum(stop - start, 0)
    case = np.repeat(idx, n)
    mi = np.repeat(start, n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    frame = pl.DataFrame({"_case": case, "mi": mi})
    pay = ev.get("payments")
    paid = (
        pl.DataFrame({"_case": pay["case"], "mi": months[pay["day"]] - m0, "amt": pay["amount"]})
        if pay is not None
        else None
    )
    up = ev.get("updates")
    corr = None
    if up is not None:
        sel = (up["type"] == 2) & (up["day"] < cal.history_days)
        corr = pl.DataFrame(
            {"_case": up["case"][sel], "mi": months[up["day"][sel]] - m0, "amt": up["amount"][sel]}
        )
    for name, src in (("paid_m", paid), ("corr_m", corr)):
        if src is None:
            frame = frame.with_columns(pl.lit(0).alias(name))
            continue
        agg = src.group_by("_case", "mi").agg(pl.col("amt").sum().alias(name))
        frame = frame.join(agg, on=["_case", "mi"], how="left").with_columns(
            pl.col(name).fill_null(0)
        )
    frame = frame.sort("_case", "mi").with_columns(
        pl.col("paid_m").cum_sum().over("_case").alias("paid_c"),
        pl.col("corr_m").cum_sum().over("_case").alias("corr_c"),
    )
    amount = c["amount_cents"][frame["_case"].to_numpy()]
    bal = amount - frame["paid_c"].to_numpy() + frame["corr_c"].to_numpy()
    fc = frame["_case"].to_numpy()
    mi_ = frame["mi"].to_numpy()
    report = first_of[np.minimum(mi_ + 1, len(first_of) - 1)]
    report = np.where(mi_ + 1 < len(first_of), report, NEVER)
    due_m = months[np.clip(c["due_day"][fc], 0, None)] - m0
    code = np.where(bal <= 0, 0, np.maximum(mi_ - due_m, 1))
    mdate = _dates(cal, first_of[mi_])
    cols = {
        "creditor_ref": cref[fc],
        "case_ref": ccase[fc],
        "status_month": mdate,
        "status_code": code,
        "balance": bal,
        "paid_amount": frame["paid_m"].to_numpy(),
    }
    recv = cred_recv(fc, np.where(report < NEVER, report, cal.history_days + 400))
    out = _frame(cal, cols, recv, np.minimum(report, NEVER), fc, csrc[fc])
    return {
        (s, "account_status"): out.filter(pl.col("_source") == s)
        for s in out["_source"].unique().sort()
    }
