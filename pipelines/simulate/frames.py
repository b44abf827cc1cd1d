"""Events of one chunk → canonical rows per (source, kind), typed, with their received date.

Columns are the import kinds' canonical names (``pipelines/kinds.py``) with Python-typed values
(dates, datetimes, cents); ``writer.py`` formats them in each source's dialect. ``_recv`` is the
received date of the batch a row arrives in (events reported late arrive in a later batch),
``_days`` the event day (for the planted defects), ``_case`` the chunk-local case index.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.simulate.dynamics import METHODS
from pipelines.simulate.params import NEVER

UPDATE_TYPES = ("recall", "closure", "amount_correction", "title_obtained")
UPDATE_REASONS = (
    "paid in full",
    "end of mandate",
    "deceased",
    "judgment obtained",
    "dispute settled",
    "invoice corrected",
)
CHANNELS4 = ("sms", "email", "call", "letter")
AGENCY = "agency"


class Batches:
    """Received dates: weekly Sunday batches (agency, weekly creditors) or monthly report days."""

    def __init__(self, cal, world: dict):
        self.cal = cal
        days = np.arange(cal.history_days)
        self.sundays = days[cal.weekday[: cal.history_days] == 6]
        self.monthly = {}
        for c in world["creditors"]:
            if c["reports"] == "weekly":
                self.monthly[c["ref"]] = self.sundays
            else:
                kind, arg = c["rhythm"].split(":")
                dom = int(arg) if kind == "monthly" else 1
                hits = np.array([d for d in days if cal.date(int(d)).day == dom])
                self.monthly[c["ref"]] = hits

    def weekly(self, day: np.ndarray, lag_weeks: np.ndarray | int = 0) -> np.ndarray:
        i = np.searchsorted(self.sundays, day) + lag_weeks
        return np.where(
            i < len(self.sundays), self.sundays[np.minimum(i, len(self.sundays) - 1)], NEVER
        )

    def creditor(self, ref: str, day: np.ndarray) -> np.ndarray:
        hits = self.monthly[ref]
        i = np.searchsorted(hits, day, side="right")
        return np.where(i < len(hits), hits[np.minimum(i, len(hits) - 1)], NEVER)


def _dates(cal, days) -> pl.Series:
    return pl.Series(np.datetime64(cal.start, "D") + np.asarray(days, dtype="int64"))


def _stamps(cal, days, minutes) -> pl.Series:
    base = np.datetime64(cal.start, "m") + np.asarray(days, "int64") * 1440
    return pl.Series((base + np.asarray(minutes, "int64")).astype("datetime64[us]"))


def _frame(
    cal, cols: dict, recv: np.ndarray, days: np.ndarray, case: np.ndarray, source
) -> pl.DataFrame:
    keep = (recv <= cal.history_days - 1) & (days <= cal.history_days - 1)
    data = {
        k: (v.filter(pl.Series(keep)) if isinstance(v, pl.Series) else np.asarray(v)[keep])
        for k, v in cols.items()
    }
    for k, v in data.items():
        if isinstance(v, np.ndarray) and v.dtype == object:
            data[k] = pl.Series(k, v.tolist(), strict=False)
        elif isinstance(v, np.ndarray) and v.dtype.kind == "U":
            data[k] = pl.Series(k, v.tolist(), dtype=pl.String)
    data["_recv"] = _dates(cal, recv[keep])
    data["_days"] = days[keep]
    data["_case"] = case[keep]
    src = source[keep] if isinstance(source, np.ndarray) else np.full(keep.sum(), source)
    data["_source"] = pl.Series("_source", [str(x) for x in src], dtype=pl.String)
    return pl.DataFrame(data)


def chunk_frames(world, cal, pop, case_arrays, ev, rng, chunk: int, closed_day) -> dict:
    """{(source, kind): frame} for one chunk."""
    c, d = pop.c, pop.d
    creds = world["creditors"]
    cref = np.array([k["ref"] for k in creds], dtype=object)[c["creditor"]]
    csrc = np.array([k["source"] for k in creds], dtype=object)[c["creditor"]]
    batches = Batches(cal, world)
    late_share = world["files"]["late_share"]
    out: dict[tuple[str, str], list[pl.DataFrame]] = {}

    def add(kind, frame, by_source=True):
        if by_source:
            for src in frame["_source"].unique().sort():
                out.setdefault((src, kind), []).append(frame.filter(pl.col("_source") == src))
        else:
            out.setdefault((AGENCY, kind), []).append(frame)

    def lag(n):
        u = rng.random(n)
        return np.where(u < late_share / 2, 2, np.where(u < late_share, 1, 0))

    def cred_recv(idx, days):
        recv = np.full(len(idx), NEVER)
        for ref in np.unique(cref[idx]) if len(idx) else []:
            sel = cref[idx] == ref
            recv[sel] = batches.creditor(ref, days[sel])
        return recv

    # placements: one row per invoice, received on the placement day
    inv = pop.i
    ic = inv["case"]
    deb = c["debtor"][ic]
    ph_ok = d["has_phone"][deb]
    email = np.where(
        d["email_valid"][deb] | ~d["has_email"][deb], d["email"][deb], d["email_bad"][deb]
    )
    email = np.where(d["email_malformed"][deb], d["email_malformed_text"][deb], email)
    email = np.where(d["has_email"][deb] | d["email_malformed"][deb], email, None)
    sector = np.array([k["sector"] for k in creds], dtype=object)[c["creditor"][ic]]
    cname = np.array([k["name"] for k in creds], dtype=object)[c["creditor"][ic]]
    title = c["title_u"][ic] < -1  # titles arrive later as case updates
    cols = {
        "creditor_ref": cref[ic],
        "case_ref": c["case_ref"][ic],
        "invoice_ref": np.char.add(
            c["case_ref"][ic].astype(str), np.char.add("-", (inv["no"] + 1).astype(str))
        ),
        "creditor_name": cname,
        "creditor_sector": sector,
        "debtor_ref": c["debtor_ref"][ic],
        "debtor_key": d["key"][deb],
        "debtor_type": np.where(d["type"][deb] == 1, "business", "individual"),
        "debtor_name": d["name"][deb],
        "placed_date": _dates(cal, c["placed_day"][ic]),
        "invoice_date": _dates(cal, inv["invoice_day"]),
        "due_date": _dates(cal, inv["due_day"]),
        "amount": inv["amount_cents"],
        "title_date": np.where(title, "", None),
        "arrears_status": np.where(inv["due_day"] < c["placed_day"][ic] - 90, "R3", "R2"),
        "phone": np.where(ph_ok, d["phone"][deb], None),
        "phone_2": np.where(d["has_phone2"][deb], d["phone2"][deb], None),
        "email": email,
        "address_line": d["address"][deb],
        "postcode": d["postcode"][deb],
        "city": d["city"][deb],
        "country": np.full(len(ic), "FR"),
    }
    cols["title_date"] = pl.Series([None] * len(ic), dtype=pl.Date)
    add("placements", _frame(cal, cols, c["placed_day"][ic], c["placed_day"][ic], ic, csrc[ic]))

    def refs(prefix, ids):
        return np.char.add(f"{prefix}{chunk:03d}", np.char.zfill(ids.astype(str), 7))

    # payments: by reporter
    p = ev.get("payments")
    if p is not None:
        rep = p["reporter"]
        prefix = np.array(["PSP", "VIR", "P"], dtype=object)[rep]
        pref = np.char.add(prefix.astype(str), refs("", p["id"]))
        rev = np.where(
            p["reverses"] >= 0,
            np.char.add(prefix.astype(str), refs("", np.maximum(p["reverses"], 0))),
            None,
        )
        cols = {
            "payment_ref": pref,
            "creditor_ref": cref[p["case"]],
            "case_ref": c["case_ref"][p["case"]],
            "paid_at": _stamps(cal, p["day"], p["minute"]),
            "amount": p["amount"],
            "method": np.array(METHODS, dtype=object)[p["method"]],
            "reverses_ref": rev,
        }
        for r, name in ((0, "payments_provider"), (1, "payments_agency")):
            sel = rep == r
            recv = batches.weekly(p["day"][sel], lag(int(sel.sum())))
            add(
                name,
                _frame(
                    cal,
                    {
                        k: (v.filter(pl.Series(sel)) if isinstance(v, pl.Series) else v[sel])
                        for k, v in cols.items()
                    },
                    recv,
                    p["day"][sel],
                    p["case"][sel],
                    AGENCY,
                ),
                by_source=False,
            )
        sel = rep == 2
        recv = cred_recv(p["case"][sel], p["day"][sel])
        add(
            "payments",
            _frame(
                cal,
                {
                    k: (v.filter(pl.Series(sel)) if isinstance(v, pl.Series) else v[sel])
                    for k, v in cols.items()
                },
                recv,
                p["day"][sel],
                p["case"][sel],
                csrc[p["case"][sel]],
            ),
        )
    out_frames = {k: pl.concat(v, how="vertical_relaxed") for k, v in out.items()}
    from pipelines.simulate.frames_agency import agency_frames
    from pipelines.simulate.frames_money import fee_frame, remittance_frame, status_frames

    more = agency_frames(
        world, cal, pop, case_arrays, ev, rng, chunk, batches, cref, csrc, refs, lag, cred_recv
    )
    rem = remittance_frame(world, cal, pop, ev, batches, cref, c["case_ref"], refs)
    if rem is not None:
        more[(AGENCY, "remittances")] = rem
    more[(AGENCY, "fees")] = fee_frame(world, cal, pop, ev, batches, cref, c["case_ref"], refs)
    more.update(
        status_frames(world, cal, pop, ev, cref, c["case_ref"], csrc, cred_recv, closed_day)
    )
    for key, frame in more.items():
        out_frames[key] = (
            pl.concat([out_frames[key], frame], how="vertical_relaxed")
            if key in out_frames
            else frame
        )
    return out_frames
