"""Agency-system rows and the creditors' case updates and account status (see ``frames.py``)."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.kinds import ACTIONS
from pipelines.simulate.contacts import COMPLAINT_REASONS, OUTCOMES
from pipelines.simulate.frames import (
    AGENCY,
    CHANNELS4,
    UPDATE_REASONS,
    UPDATE_TYPES,
    _dates,
    _frame,
    _stamps,
)
from pipelines.simulate.lifecycle import DISPUTE_REASONS, RESOLUTIONS
from pipelines.simulate.params import CAUSE_NAMES, CHANNEL_TONE, NEVER, ZONES, A

ZONE_UTC = np.array([0 if z[2] is None else z[2] for z in ZONES], dtype=float)


def paris_minutes(cal, days, zone, local_minutes) -> np.ndarray:
    """Minutes after midnight (Paris wall clock, may exceed 1440) of a debtor-local time."""
    paris = cal.paris_offset_hours[days]
    shift = np.where(zone == 0, 0.0, paris - ZONE_UTC[zone]) * 60
    return (local_minutes + shift).astype(np.int64)


def agency_frames(
    world, cal, pop, case, ev, rng, chunk, batches, cref, csrc, refs, lag, cred_recv
) -> dict:
    c, d = pop.c, pop.d
    out: dict[tuple[str, str], pl.DataFrame] = {}
    ccase = c["case_ref"]

    def put(kind, frame, source=AGENCY):
        out[(source, kind)] = frame

    a = ev.get("actions")
    if a is not None:
        ch = np.array([CHANNEL_TONE[x][0] for x in ACTIONS[1:]], dtype=object)
        tone = np.array([CHANNEL_TONE[x][1] for x in ACTIONS[1:]], dtype=object)
        zone = case["zone"][a["case"]]
        minute = paris_minutes(cal, a["day"], zone, a["minute"])
        deb = c["debtor"][a["case"]]
        phoned = np.isin(a["action"], [A["sms_nudge"], A["call_nudge"], A["call_formal"]])
        letter = np.isin(a["action"], [A["letter_formal"], A["formal_notice"]])
        iso = np.array([cal.iso_week(int(x)) for x in np.unique(a["day"])], dtype=object)
        week = iso[np.searchsorted(np.unique(a["day"]), a["day"])]
        agent = np.where(
            np.isin(a["action"], [A["call_nudge"], A["call_formal"]]),
            np.char.add("AG", np.char.zfill((1 + a["id"] % 24).astype(str), 2)),
            np.char.add("BATCH-", week.astype(str)),
        )
        obs = np.array([*CAUSE_NAMES, None], dtype=object)[
            np.where(a["observed"] < 0, 7, a["observed"])
        ]
        obs = np.where(obs == "unreachable", None, obs)
        cols = {
            "action_ref": refs("A", a["id"]),
            "creditor_ref": cref[a["case"]],
            "case_ref": ccase[a["case"]],
            "action_at": _stamps(cal, a["day"], minute),
            "channel": ch[a["action"] - 1],
            "tone": tone[a["action"] - 1],
            "direction": np.full(len(deb), "outbound"),
            "outcome": np.array(OUTCOMES, dtype=object)[a["outcome"]],
            "observed_cause": obs,
            "phone": np.where(phoned, d["phone"][deb], None),
            "letter_ref": np.where(letter, refs("L", a["id"]), None),
            "agent_ref": agent,
        }
        put(
            "actions",
            _frame(cal, cols, batches.weekly(a["day"], lag(len(deb))), a["day"], a["case"], AGENCY),
        )
    dec = ev.get("decisions")
    if dec is not None:
        mondays = np.unique(dec["day"])
        iso = np.array([cal.iso_week(int(x)) for x in mondays], dtype=object)
        cols = {
            "creditor_ref": cref[dec["case"]],
            "case_ref": ccase[dec["case"]],
            "iso_week": iso[np.searchsorted(mondays, dec["day"])],
            "action": np.array(ACTIONS, dtype=object)[dec["action"]],
            "propensity": dec["prob"],
            "policy_id": np.full(len(dec["case"]), "champion_ladder_v1"),
            "is_exploration": dec["explore"],
            "decided_at": _stamps(cal, dec["day"], np.full(len(dec["case"]), 420)),
        }
        put(
            "decisions",
            _frame(cal, cols, batches.weekly(dec["day"]), dec["day"], dec["case"], AGENCY),
        )
    pr = ev.get("promises")
    if pr is not None:
        cols = {
            "promise_ref": refs("PTP", pr["id"]),
            "creditor_ref": cref[pr["case"]],
            "case_ref": ccase[pr["case"]],
            "made_date": _dates(cal, pr["day"]),
            "due_date": _dates(cal, pr["due"]),
            "amount": pr["amount"],
            "action_ref": refs("A", pr["action"]),
        }
        put(
            "promises",
            _frame(
                cal,
                cols,
                batches.weekly(pr["day"], lag(len(pr["day"]))),
                pr["day"],
                pr["case"],
                AGENCY,
            ),
        )
    pl_ = ev.get("plans")
    if pl_ is not None:
        agreed = pl_["event"] == 0
        cols = {
            "plan_ref": refs("ECH", pl_["id"]),
            "creditor_ref": cref[pl_["case"]],
            "case_ref": ccase[pl_["case"]],
            "event_date": _dates(cal, pl_["day"]),
            "event": np.array(["agreed", "broken", "completed"], dtype=object)[pl_["event"]],
            "plan_amount": np.where(agreed, pl_["amount"], None),
            "instalments": np.where(agreed, pl_["k"], None),
            "first_due_date": _dates(cal, np.where(agreed, pl_["first_due"], pl_["day"])),
            "frequency_days": np.where(agreed, 30, None),
        }
        cols["first_due_date"] = cols["first_due_date"].zip_with(
            pl.Series(agreed), pl.Series([None] * len(agreed), dtype=pl.Date)
        )
        put("plans", _frame(cal, cols, batches.weekly(pl_["day"]), pl_["day"], pl_["case"], AGENCY))
    di = ev.get("disputes")
    if di is not None:
        opened = di["event"] == 0
        cols = {
            "dispute_ref": refs("LIT", di["id"]),
            "creditor_ref": cref[di["case"]],
            "case_ref": ccase[di["case"]],
            "event_date": _dates(cal, di["day"]),
            "event": np.where(opened, "opened", "resolved"),
            "reason": np.where(
                opened, np.array(DISPUTE_REASONS, dtype=object)[np.maximum(di["reason"], 0)], None
            ),
            "resolution": np.where(
                opened, None, np.array(RESOLUTIONS, dtype=object)[np.maximum(di["resolution"], 0)]
            ),
        }
        put(
            "disputes",
            _frame(
                cal,
                cols,
                batches.weekly(di["day"], lag(len(di["day"]))),
                di["day"],
                di["case"],
                AGENCY,
            ),
        )
    co = ev.get("complaints")
    if co is not None:
        cols = {
            "complaint_ref": refs("REC", co["id"]),
            "creditor_ref": cref[co["case"]],
            "case_ref": ccase[co["case"]],
            "event_date": _dates(cal, co["day"]),
            "event": np.where(co["event"] == 0, "opened", "closed"),
            "channel": np.array(CHANNELS4, dtype=object)[co["channel"]],
            "reason": np.array(COMPLAINT_REASONS, dtype=object)[co["reason"]],
        }
        put(
            "complaints",
            _frame(
                cal,
                cols,
                batches.weekly(co["day"], lag(len(co["day"]))),
                co["day"],
                co["case"],
                AGENCY,
            ),
        )
    put("debtor_events", _debtor_events(cal, pop, case, batches, cref, ccase, refs))
    put("contact_preferences", _preferences(cal, pop, ev.get("prefs"), batches, cref, ccase, refs))
    updates = ev.get("updates")
    if updates is not None:
        for (src, kind), frame in _updates(
            cal, pop, updates, cref, ccase, csrc, refs, cred_recv
        ).items():
            out[(src, kind)] = frame
    return out


def _debtor_events(cal, pop, case, batches, cref, ccase, refs) -> pl.DataFrame:
    c, d = pop.c, pop.d
    rows = []
    types = {
        "over_indebtedness": "over_indebtedness",
        "insolvency": "insolvency",
        "deceased": "deceased",
        "represented": "represented",
        "vulnerable": "vulnerable",
    }
    first_case = np.searchsorted(c["debtor"], np.arange(pop.n_debtors))
    for key, name in types.items():
        day = d[f"ev_{key}"]
        hit = np.flatnonzero(day < NEVER)
        rows.append((hit, day[hit], name, "start"))
        if key == "represented":
            end = d["ev_represented_end"]
            h2 = np.flatnonzero(end < NEVER)
            rows.append((h2, end[h2], name, "end"))
    deb = np.concatenate([r[0] for r in rows])
    day = np.concatenate([r[1] for r in rows])
    kinds = np.concatenate([np.full(len(r[0]), r[2], dtype=object) for r in rows])
    status = np.concatenate([np.full(len(r[0]), r[3], dtype=object) for r in rows])
    cs = first_case[deb]
    recv = batches.weekly(np.maximum(day, c["placed_day"][cs]))
    ids = np.arange(len(deb))
    cols = {
        "event_ref": refs("EVT", ids),
        "creditor_ref": cref[cs],
        "case_ref": ccase[cs],
        "event_date": _dates(cal, day),
        "event_type": kinds,
        "status": status,
    }
    return _frame(cal, cols, recv, day, cs, AGENCY)


def _preferences(cal, pop, prefs, batches, cref, ccase, refs) -> pl.DataFrame:
    c, d = pop.c, pop.d
    first_case = np.searchsorted(c["debtor"], np.arange(pop.n_debtors))
    pd_ = np.flatnonzero(d["preferred"] >= 0)
    cs = first_case[pd_]
    day = c["placed_day"][cs] + 1
    n_opt = 0 if prefs is None else len(prefs["case"])
    ocase = np.zeros(0, int) if prefs is None else prefs["case"]
    oday = np.zeros(0, int) if prefs is None else prefs["day"]
    och = np.zeros(0, int) if prefs is None else prefs["channel"]
    case = np.concatenate([cs, ocase])
    days = np.concatenate([day, oday])
    ids = np.concatenate([np.arange(len(cs)), 1_000_000 + (prefs["id"] if n_opt else ocase)])
    start = np.where(d["preferred"][pd_] == 0, "12:00", "18:00")
    end = np.where(d["preferred"][pd_] == 0, "14:00", "20:00")
    cols = {
        "preference_ref": refs("PREF", ids),
        "creditor_ref": cref[case],
        "case_ref": ccase[case],
        "effective_date": _dates(cal, days),
        "channel": np.concatenate(
            [np.full(len(cs), "call"), np.array(CHANNELS4, dtype=object)[och]]
        ),
        "preference": np.concatenate([np.full(len(cs), "preferred"), np.full(n_opt, "opt_out")]),
        "window_start": np.concatenate([start, np.full(n_opt, None)]),
        "window_end": np.concatenate([end, np.full(n_opt, None)]),
    }
    return _frame(cal, cols, batches.weekly(days), days, case, AGENCY)


def _updates(cal, pop, up, cref, ccase, csrc, refs, cred_recv) -> dict:
    case = up["case"]
    amount = np.where(up["type"] == 2, up["amount"], None)
    inv = np.full(len(case), None, dtype=object)
    cols = {
        "creditor_ref": cref[case],
        "case_ref": ccase[case],
        "update_ref": refs("MAJ", np.arange(len(case))),
        "update_date": _dates(cal, up["day"]),
        "update_type": np.array(UPDATE_TYPES, dtype=object)[up["type"]],
        "invoice_ref": inv,
        "amount": amount,
        "reason": np.array(UPDATE_REASONS, dtype=object)[up["reason"]],
    }
    recv = cred_recv(case, up["day"])
    frame = _frame(cal, cols, recv, up["day"], case, csrc[case])
    return {
        (src, "case_updates"): frame.filter(pl.col("_source") == src)
        for src in frame["_source"].unique().sort()
    }
